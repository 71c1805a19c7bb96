//! The lines of a comparison: every line with activity on either side, matched by content, each with
//! its region's CPU verdict and its own allocation verdict.

use super::report::{CpuTest, LineChange, Metrics, Verdict};
use super::sides::Side;
use super::{FilePair, delta};
use crate::engine::profile::model::{FileProfile, LineStats};

pub type CpuJudge<'a> = dyn Fn(usize, f64, [u32; 2]) -> (Verdict, Option<CpuTest>) + 'a;

/// Every line with activity on either side, matched by content; each takes its region's CPU verdict and
/// its own allocation verdict.
pub fn compare_lines(
    file: &FilePair<'_>,
    (b_side, a_side): (&Side<'_>, &Side<'_>),
    out: &mut Vec<LineChange>,
    n_quiet: &mut usize,
    cpu: &CpuJudge<'_>,
    alloc: &dyn Fn(f64, f64) -> Verdict,
    notable: &dyn Fn(&Metrics) -> bool,
) {
    let make = |before: Option<(&FileProfile, u32, Option<&LineStats>)>, after: Option<(&FileProfile, u32, Option<&LineStats>)>, edited: bool| {
        let bm = before.map(|(f, _, stats)| stats.map_or_else(|| b_side.quiet(), |stats| b_side.line(f, stats)));
        let am = after.map(|(f, _, stats)| stats.map_or_else(|| a_side.quiet(), |stats| a_side.line(f, stats)));
        let (verdict, cpu_part, memory_part, test) = match (&bm, &am) {
            (Some(bm), Some(am)) => {
                let unit = after.and_then(|(_, line, _)| file.after_units.get(&line)).or_else(|| before.and_then(|(_, line, _)| file.before_units.get(&line))).copied();
                let (cpu_part, test) = match unit {
                    Some(unit) => {
                        let region = file.after_extent.get(&unit).or_else(|| file.before_extent.get(&unit)).copied().unwrap_or([0, 0]);
                        cpu(unit, am.cpu_s - bm.cpu_s, region)
                    }
                    None => (Verdict::Unchanged, None),
                };
                let memory_part = alloc(bm.alloc_mb, am.alloc_mb);
                (cpu_part.combine(memory_part), cpu_part, memory_part, test)
            }
            (None, _) => (Verdict::New, Verdict::New, Verdict::New, None),
            (_, None) => (Verdict::Removed, Verdict::Removed, Verdict::Removed, None),
        };
        let shown = after.or(before).expect("a line has a side");
        LineChange {
            path: file.path.clone(),
            before_path: file.before_path.clone(),
            before_line: before.map(|(_, line, _)| line),
            after_line: after.map(|(_, line, _)| line),
            source: line_text(shown.0, shown.1, shown.2),
            before_source: before.filter(|_| edited).map(|(f, line, stats)| line_text(f, line, stats)),
            function: shown.0.function_at(shown.1).map(|function| function.name.clone()),
            delta: delta(bm.as_ref(), am.as_ref()),
            before: bm,
            after: am,
            verdict,
            cpu: cpu_part,
            memory: memory_part,
            cpu_test: test,
        }
    };
    let mut changes = Vec::new();
    let mut removed = Vec::new();
    match (file.before, file.after, &file.lines) {
        (Some(b_file), Some(a_file), Some(lines)) => {
            let mut paired_before = std::collections::HashSet::new();
            for line in &a_file.lines {
                match lines.new_to_old(line.line) {
                    Some(aligned) => {
                        paired_before.insert(aligned.line);
                        changes.push(make(Some((b_file, aligned.line, b_file.line(aligned.line))), Some((a_file, line.line, Some(line))), aligned.edited));
                    }
                    None => {
                        let change = make(None, Some((a_file, line.line, Some(line))), false);
                        if notable(change.after.as_ref().expect("after side")) {
                            changes.push(change);
                        } else {
                            *n_quiet += 1;
                        }
                    }
                }
            }
            for line in b_file.lines.iter().filter(|line| !paired_before.contains(&line.line)) {
                match lines.old_to_new(line.line) {
                    Some(aligned) => changes.push(make(Some((b_file, line.line, Some(line))), Some((a_file, aligned.line, None)), aligned.edited)),
                    None => {
                        let change = make(Some((b_file, line.line, Some(line))), None, false);
                        if notable(change.before.as_ref().expect("before side")) {
                            removed.push(change);
                        } else {
                            *n_quiet += 1;
                        }
                    }
                }
            }
            changes.sort_by_key(|change| change.after_line);
        }
        (None, Some(a_file), _) => changes.extend(a_file.lines.iter().map(|line| make(None, Some((a_file, line.line, Some(line))), false))),
        (Some(b_file), None, _) => removed.extend(b_file.lines.iter().map(|line| make(Some((b_file, line.line, Some(line))), None, false))),
        _ => {}
    }
    out.extend(changes);
    out.extend(removed);
}

fn line_text(file: &FileProfile, line: u32, stats: Option<&LineStats>) -> String {
    stats
        .map(|stats| stats.text.trim().to_string())
        .filter(|text| !text.is_empty())
        .or_else(|| file.source.lines().nth((line as usize).wrapping_sub(1)).map(|text| text.trim().to_string()))
        .unwrap_or_default()
}

