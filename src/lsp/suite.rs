//! After a pytest suite run (`scalene.profileTests` in commands.rs, started like any run), each test
//! function of an open test file gets a lens with its cost from the newest suite run that ran it
//! (`ProfileCache::latest_suite`, in the document's snapshot): all its cases together.

use std::path::{Path, PathBuf};

use tower_lsp_server::ls_types::{CodeLens, Command as LspCommand, Position, Range};

use super::convert;
use super::session::{DocumentSnapshot, uri_path};
use crate::engine::profile::suite::{Outcome, TestSuite};

/// One test function's cost in a suite run: all its cases (parametrizations) together.
pub struct TestSummary {
    pub cases: usize,
    pub cpu_s: f64,
    pub share: f64,
    /// The worst outcome among its cases (failed before unfinished before skipped before passed).
    pub outcome: Outcome,
    /// Its hottest line over all cases: file name and profiled line.
    pub hottest: Option<(String, u32)>,
}

/// Sums the cases of the test `name` (`test_x`, `TestA::test_b`) of `file` in a suite.
pub fn summary(suite: &TestSuite, file: &Path, name: &str) -> Option<TestSummary> {
    let canonical = file.canonicalize().ok();
    let mut found: Option<TestSummary> = None;
    let mut lines: Vec<((PathBuf, u32), f64)> = Vec::new();
    for test in suite.tests.iter().filter(|test| test.file == file || Some(&test.file) == canonical.as_ref()) {
        let node_name = test.node_id.split_once("::").map_or("", |(_, rest)| rest);
        let node_name = node_name.split_once('[').map_or(node_name, |(base, _)| base);
        if node_name != name {
            continue;
        }
        let summary = found.get_or_insert(TestSummary { cases: 0, cpu_s: 0.0, share: 0.0, outcome: Outcome::Passed, hottest: None });
        summary.cases += 1;
        summary.cpu_s += test.total().cpu_s;
        summary.share += suite.share(test);
        if severity(test.outcome) > severity(summary.outcome) {
            summary.outcome = test.outcome;
        }
        for line in &test.hottest {
            match lines.iter_mut().find(|(key, _)| key.0 == line.file && key.1 == line.line) {
                Some((_, samples)) => *samples += line.samples,
                None => lines.push(((line.file.clone(), line.line), line.samples)),
            }
        }
    }
    let summary = found.as_mut()?;
    lines.sort_by(|a, b| b.1.total_cmp(&a.1));
    summary.hottest = lines.first().map(|((file, line), _)| (file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(), *line));
    found
}

fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Passed | Outcome::XFailed => 0,
        Outcome::Skipped => 1,
        Outcome::XPassed => 2,
        Outcome::Unfinished => 3,
        Outcome::Error | Outcome::Failed => 4,
    }
}

/// A lens above each test function of the document that the newest suite run ran.
pub fn test_lenses(snapshot: &DocumentSnapshot, tests: &[(u32, String)]) -> Vec<CodeLens> {
    let (Some(entry), Some(path)) = (snapshot.suite.as_ref(), uri_path(&snapshot.uri)) else { return Vec::new() };
    let Some(suite) = entry.profile.tests.as_deref() else { return Vec::new() };
    tests
        .iter()
        .filter_map(|(line0, name)| {
            let summary = summary(suite, &path, name)?;
            Some(CodeLens {
                range: Range { start: Position { line: *line0, character: 0 }, end: Position { line: *line0, character: 0 } },
                command: Some(LspCommand { title: convert::test_lens_title(summary.outcome, summary.cases, summary.cpu_s, summary.share, summary.hottest.as_ref().map(|(file, line)| (file.as_str(), *line))), command: String::new(), arguments: None }),
                data: None,
            })
        })
        .collect()
}
