//! Compare mode's state: a comparison of a saved baseline with a newer profile, indexed by file and
//! line for the features (hints, diagnostics, hover, lenses) that show it instead of plain numbers.
//! Kept in the session until `scalene.exitCompare` or the next comparison; a document shows it while
//! the compared profile is still the newest one covering it (a plain profile run shows plain numbers).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::keep::cache::CachedProfile;
use crate::engine::profile::compare::{Comparison, FunctionChange, LineChange};
use crate::engine::profile::model::FileProfile;
use crate::engine::profile::remap::LineMap;

/// A comparison shown in the editor.
pub struct CompareMode {
    /// The baseline's saved name.
    pub baseline: String,
    /// When the baseline was saved (RFC 3339).
    pub saved_at: String,
    /// The profile compared with the baseline (kept alive while shown).
    pub after: Arc<CachedProfile>,
    pub comparison: Comparison,
    files: HashMap<PathBuf, FileIndex>,
}

/// One after file's entries: indexes into `comparison.lines` / `.functions` by after line.
#[derive(Default)]
struct FileIndex {
    after_file: usize,
    lines: Vec<(u32, usize)>,
    functions: Vec<(u32, usize)>,
}

impl CompareMode {
    pub fn new(baseline: String, saved_at: String, after: Arc<CachedProfile>, comparison: Comparison) -> CompareMode {
        let mut files: HashMap<PathBuf, FileIndex> = HashMap::new();
        for (index, file) in after.profile.files.iter().enumerate() {
            files.insert(file.path.clone(), FileIndex { after_file: index, ..FileIndex::default() });
        }
        for (index, line) in comparison.lines.iter().enumerate() {
            if let (Some(after_line), Some(file)) = (line.after_line, files.get_mut(Path::new(&line.path))) {
                file.lines.push((after_line, index));
            }
        }
        for (index, function) in comparison.functions.iter().enumerate() {
            if let (Some(after_line), Some(file)) = (function.after_line, files.get_mut(Path::new(&function.path))) {
                file.functions.push((after_line, index));
            }
        }
        CompareMode { baseline, saved_at, after, comparison, files }
    }

    /// The after file for `path` (as given, else canonical) and its key.
    fn index_of(&self, path: &Path) -> Option<(&PathBuf, &FileIndex)> {
        self.files.get_key_value(path).or_else(|| {
            let canonical = path.canonicalize().ok()?;
            self.files.iter().find(|(key, _)| **key == canonical || key.canonicalize().is_ok_and(|other| other == canonical))
        })
    }

    /// The after profile's file for `path`, if the comparison covers it.
    pub fn after_file(&self, path: &Path) -> Option<&FileProfile> {
        let (_, index) = self.index_of(path)?;
        Some(&self.after.profile.files[index.after_file])
    }

    /// The document view of `path` with `line_map` (the after file's text → the document's text).
    pub fn view(self: &Arc<Self>, path: &Path, line_map: Arc<LineMap>) -> Option<CompareView> {
        let (key, _) = self.index_of(path)?;
        Some(CompareView { mode: self.clone(), path: key.clone(), line_map })
    }
}

/// Compare mode as one document sees it.
pub struct CompareView {
    pub mode: Arc<CompareMode>,
    /// The after profile's path of the document.
    path: PathBuf,
    /// After profile line → the document's current line.
    pub line_map: Arc<LineMap>,
}

impl CompareView {
    fn index(&self) -> &FileIndex {
        &self.mode.files[&self.path]
    }

    /// Every compared line of the document with its current 1-based line (edited-away lines left out).
    pub fn lines(&self) -> impl Iterator<Item = (&LineChange, u32)> {
        self.index()
            .lines
            .iter()
            .filter_map(|(after_line, index)| Some((&self.mode.comparison.lines[*index], self.line_map.map(*after_line)?)))
    }

    /// Every compared function whose `def` line is still in the document, with that current line.
    pub fn functions(&self) -> impl Iterator<Item = (&FunctionChange, u32)> {
        self.index()
            .functions
            .iter()
            .filter_map(|(after_line, index)| Some((&self.mode.comparison.functions[*index], self.line_map.map(*after_line)?)))
    }

    /// The compared line now at 1-based `current`.
    pub fn line_at(&self, current: u32) -> Option<&LineChange> {
        self.lines().find(|(_, line)| *line == current).map(|(change, _)| change)
    }

    /// The innermost compared function around after line `after_line`.
    pub fn function_around(&self, after_line: u32) -> Option<&FunctionChange> {
        let file = self.mode.after_file(&self.path)?;
        let function = file.function_at(after_line)?;
        self.index()
            .functions
            .iter()
            .map(|(_, index)| &self.mode.comparison.functions[*index])
            .find(|change| change.after_line == Some(function.line) && change.name == function.name)
    }

    /// The compared function whose `def` line is now at 1-based `current`.
    pub fn function_at(&self, current: u32) -> Option<&FunctionChange> {
        self.functions().find(|(_, line)| *line == current).map(|(change, _)| change)
    }
}
