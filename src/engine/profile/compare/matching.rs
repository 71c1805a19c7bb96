//! Matching the two sides of a comparison: files (by path, else the profiled programs, else a unique
//! longest common path tail), lines (a diff of the two profiled texts, then a diff inside each function
//! matched by name, so that reordered code pairs by content), and functions (by qualified name, the k-th
//! of a name with the k-th; a function that got no sample on one side pairs with its `def` there).

use std::collections::HashMap;
use std::path::Path;

use crate::engine::profile::model::{FileProfile, FunctionStats, Profile};
use crate::engine::profile::remap::{Aligned, align_lines};

/// Pairs the files of the two profiles: (before index, after index).
pub fn match_files(before: &Profile, after: &Profile) -> Vec<(Option<usize>, Option<usize>)> {
    let mut pairs = Vec::new();
    let mut after_used = vec![false; after.files.len()];
    let mut before_used = vec![false; before.files.len()];
    for (b, file) in before.files.iter().enumerate() {
        if let Ok(a) = after.files.binary_search_by(|other| other.path.cmp(&file.path)) {
            pairs.push((Some(b), Some(a)));
            before_used[b] = true;
            after_used[a] = true;
        }
    }
    // The profiled programs are the same program, wherever each was.
    let program_index = |profile: &Profile, used: &[bool]| {
        profile.files.iter().position(|file| file.path == Path::new(&profile.program)).filter(|index| !used[*index])
    };
    if let (Some(b), Some(a)) = (program_index(before, &before_used), program_index(after, &after_used)) {
        pairs.push((Some(b), Some(a)));
        before_used[b] = true;
        after_used[a] = true;
    }
    // Else the unique longest common tail of the paths (a checkout elsewhere, a profile from CI).
    let tail = |x: &Path, y: &Path| x.components().rev().zip(y.components().rev()).take_while(|(p, q)| p == q).count();
    let best = |path: &Path, candidates: &[&FileProfile], used: &[bool]| -> Option<usize> {
        let scored: Vec<(usize, usize)> =
            candidates.iter().enumerate().filter(|(i, _)| !used[*i]).map(|(i, file)| (i, tail(path, &file.path))).filter(|(_, n)| *n > 0).collect();
        let top = scored.iter().map(|(_, n)| *n).max()?;
        let winners: Vec<usize> = scored.iter().filter(|(_, n)| *n == top).map(|(i, _)| *i).collect();
        (winners.len() == 1).then(|| winners[0])
    };
    let before_files: Vec<&FileProfile> = before.files.iter().collect();
    let after_files: Vec<&FileProfile> = after.files.iter().collect();
    for b in 0..before.files.len() {
        if before_used[b] {
            continue;
        }
        if let Some(a) = best(&before.files[b].path, &after_files, &after_used)
            && best(&after.files[a].path, &before_files, &before_used) == Some(b)
        {
            pairs.push((Some(b), Some(a)));
            before_used[b] = true;
            after_used[a] = true;
        }
    }
    pairs.extend((0..before.files.len()).filter(|b| !before_used[*b]).map(|b| (Some(b), None)));
    pairs.extend((0..after.files.len()).filter(|a| !after_used[*a]).map(|a| (None, Some(a))));
    pairs
}

/// Both directions of a file pair's line alignment (index = line - 1).
pub struct Lines {
    pub old_to_new: Vec<Option<Aligned>>,
    pub new_to_old: Vec<Option<Aligned>>,
    /// False when a side's profiled text is unknown (lines then pair only where number and text agree).
    pub by_text: bool,
}

impl Lines {
    pub fn new_to_old(&self, line: u32) -> Option<Aligned> {
        self.new_to_old.get((line as usize).wrapping_sub(1)).copied().flatten()
    }

    pub fn old_to_new(&self, line: u32) -> Option<Aligned> {
        self.old_to_new.get((line as usize).wrapping_sub(1)).copied().flatten()
    }
}

/// Aligns the lines of two versions of a file: a diff of the whole texts, then, for each function
/// whose `def` lines pair by name but whose body the diff left unpaired (the function moved), a diff of
/// the two bodies.
pub fn align(before: &FileProfile, after: &FileProfile) -> Lines {
    if before.source.is_empty() || after.source.is_empty() {
        let (old_to_new, new_to_old) = by_number_and_text(before, after);
        return Lines { old_to_new, new_to_old, by_text: false };
    }
    let alignment = align_lines(&before.source, &after.source);
    let mut lines = Lines { old_to_new: alignment.old_to_new, new_to_old: alignment.new_to_old, by_text: true };
    let old_text: Vec<&str> = before.source.lines().collect();
    let new_text: Vec<&str> = after.source.lines().collect();
    for (old, new) in pair_functions(before, after, None).into_iter().filter_map(|(b, a)| Some((b?, a?))) {
        let (old, new) = (&before.functions[old], &after.functions[new]);
        let old_range = old.line as usize - 1..(old.end_line as usize).min(old_text.len());
        let new_range = new.line as usize - 1..(new.end_line as usize).min(new_text.len());
        if old_range.is_empty() || new_range.is_empty() {
            continue;
        }
        let unpaired = new_range.clone().filter(|i| lines.new_to_old[*i].is_none()).count();
        if unpaired * 2 < new_range.len() {
            continue;
        }
        let body = align_lines(&(old_text[old_range.clone()].join("\n") + "\n"), &(new_text[new_range.clone()].join("\n") + "\n"));
        for (offset, found) in body.new_to_old.iter().enumerate() {
            let (new_index, Some(found)) = (new_range.start + offset, found) else { continue };
            let old_index = old_range.start + found.line as usize - 1;
            if lines.new_to_old[new_index].is_none() && lines.old_to_new[old_index].is_none() {
                lines.new_to_old[new_index] = Some(Aligned { line: old_index as u32 + 1, edited: found.edited });
                lines.old_to_new[old_index] = Some(Aligned { line: new_index as u32 + 1, edited: found.edited });
            }
        }
    }
    lines
}

/// Fallback when a source text is unknown: lines pair only where the number and the text agree.
fn by_number_and_text(before: &FileProfile, after: &FileProfile) -> (Vec<Option<Aligned>>, Vec<Option<Aligned>>) {
    let size = |file: &FileProfile| file.lines.last().map_or(0, |line| line.line as usize);
    let mut old_to_new = vec![None; size(before)];
    let mut new_to_old = vec![None; size(after)];
    for line in &before.lines {
        if let Some(other) = after.line(line.line)
            && !line.text.trim().is_empty()
            && line.text == other.text
        {
            old_to_new[line.line as usize - 1] = Some(Aligned { line: line.line, edited: false });
            new_to_old[line.line as usize - 1] = Some(Aligned { line: line.line, edited: false });
        }
    }
    (old_to_new, new_to_old)
}

/// Pairs functions by qualified name (the k-th of a name with the k-th), in after order, then the
/// before-only ones. With `lines`, a function listed on one side only (Scalene lists functions that got
/// samples) pairs with a `def` of the same name on the aligned line of the other side: (before, after)
/// indices, where an index past the side's `functions` means "the `def` is there, without samples" and
/// is resolved by `quiet_def`.
pub fn pair_functions(before: &FileProfile, after: &FileProfile, lines: Option<&Lines>) -> Vec<(Option<usize>, Option<usize>)> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, function) in before.functions.iter().enumerate().rev() {
        by_name.entry(function.name.as_str()).or_default().push(index);
    }
    let mut pairs = Vec::new();
    let mut before_used = vec![false; before.functions.len()];
    for (a, function) in after.functions.iter().enumerate() {
        let found = by_name.get_mut(function.name.as_str()).and_then(Vec::pop);
        if let Some(b) = found {
            before_used[b] = true;
        }
        pairs.push((found, Some(a)));
    }
    pairs.extend((0..before.functions.len()).filter(|b| !before_used[*b]).map(|b| (Some(b), None)));
    if let Some(lines) = lines {
        for pair in &mut pairs {
            match *pair {
                (None, Some(a)) if defines(&before.source, lines.new_to_old(after.functions[a].line), &after.functions[a].name) => {
                    pair.0 = Some(usize::MAX);
                }
                (Some(b), None) if defines(&after.source, lines.old_to_new(before.functions[b].line), &before.functions[b].name) => {
                    pair.1 = Some(usize::MAX);
                }
                _ => {}
            }
        }
    }
    pairs
}

/// True when line `at` of `source` is the `def` of the function whose qualified name is `name`.
fn defines(source: &str, at: Option<Aligned>, name: &str) -> bool {
    let Some(at) = at.filter(|at| !at.edited) else { return false };
    let Some(text) = source.lines().nth(at.line as usize - 1) else { return false };
    let short = name.rsplit('.').next().unwrap_or(name);
    let text = text.trim_start();
    let text = text.strip_prefix("async ").unwrap_or(text);
    text.strip_prefix("def ").is_some_and(|rest| rest.trim_start().strip_prefix(short).is_some_and(|rest| rest.trim_start().starts_with('(')))
}

/// The stand-in for a function whose `def` is on `line` of a side that gave it no samples.
pub fn quiet_def(template: &FunctionStats, line: u32) -> FunctionStats {
    let length = template.end_line.saturating_sub(template.line);
    FunctionStats { name: template.name.clone(), line, end_line: line + length, ..FunctionStats::default() }
}
