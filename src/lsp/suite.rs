//! After a pytest suite run (`scalene.profileTests` in commands.rs, started like any run), each test
//! function of an open test file gets a lens with its cost from the newest suite run that ran it
//! (`ProfileCache::latest_suite`, in the document's snapshot): all its cases together. And
//! `scalene/tests` (request): the newest suite run's tests, slowest first, for lists (Neovim's quickfix).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::{CodeLens, Command as LspCommand, Position, Range, Uri};

use super::convert;
use super::session::{DocumentSnapshot, Session, uri_path};
use crate::engine::profile::suite::{Outcome, TestSuite};

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 500;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestsParams {
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestsResult {
    /// The suite run's profile (absent when no suite run is in memory).
    pub profile_id: Option<String>,
    pub status: Option<String>,
    /// Tests that ran; `items` holds the slowest `limit` of them.
    pub total: usize,
    pub items: Vec<TestItem>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestItem {
    pub node_id: String,
    pub uri: Option<Uri>,
    /// 0-based: the test function's first line (its first decorator, else its `def`), as profiled.
    pub line: u32,
    pub outcome: String,
    pub seconds: f64,
    /// Its part of the run's samples, 0..1.
    pub share: f64,
    /// Its hottest lines (at most 3), hottest first; `line` 0-based, as profiled.
    pub hottest: Vec<TestHotLine>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestHotLine {
    pub uri: Option<Uri>,
    pub line: u32,
    pub seconds: f64,
    pub source: String,
}

/// `scalene/tests {limit?}`: the newest suite run's tests, slowest first.
pub fn handle_tests(session: &Session, params: TestsParams) -> TestsResult {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let Some(entry) = session.engine.cache().latest_suite(None) else {
        return TestsResult { profile_id: None, status: None, total: 0, items: Vec::new() };
    };
    let profile = &entry.profile;
    let Some(suite) = profile.tests.as_deref() else { return TestsResult { profile_id: None, status: None, total: 0, items: Vec::new() } };
    let items = suite
        .ranked()
        .into_iter()
        .take(limit)
        .map(|test| TestItem {
            node_id: test.node_id.clone(),
            uri: Uri::from_file_path(&test.file),
            line: test.line.saturating_sub(1),
            outcome: test.outcome.as_str().to_string(),
            seconds: test.total().cpu_s,
            share: suite.share(test),
            hottest: test
                .hottest
                .iter()
                .take(3)
                .map(|line| TestHotLine {
                    uri: Uri::from_file_path(&line.file),
                    line: line.line.saturating_sub(1),
                    seconds: line.cpu_s,
                    source: profile.file(&line.file).and_then(|file| file.line(line.line)).map(|stats| stats.text.trim().to_string()).unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    TestsResult { profile_id: Some(entry.id.to_string()), status: Some(profile.status.as_str().to_string()), total: suite.tests.len(), items }
}

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
