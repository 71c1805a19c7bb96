//! A suite run's tests as tool output (`profile_tests`, `slowest_tests`): slowest first, bounded, paths
//! relative to the workspace, numbers rounded.

use std::path::Path;

use super::super::params::suite::{OutcomeCount, SlowestTests, TestLineView, TestView};
use crate::engine::CachedProfile;
use crate::engine::profile::suite::TestSuite;
use crate::engine::workspace::Roots;

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Hottest lines listed per test.
const LINES_PER_TEST: usize = 3;

/// The tests of `suite` (only those defined in `file` when given), slowest first, at most `limit`.
pub fn slowest(entry: &CachedProfile, suite: &TestSuite, roots: &Roots, file: Option<&Path>, limit: usize) -> SlowestTests {
    let profile = &entry.profile;
    let mut outcomes: Vec<OutcomeCount> = Vec::new();
    for test in &suite.tests {
        match outcomes.iter_mut().find(|count| count.outcome == test.outcome.as_str()) {
            Some(count) => count.count += 1,
            None => outcomes.push(OutcomeCount { outcome: test.outcome.as_str().to_string(), count: 1 }),
        }
    }
    let ranked: Vec<_> = suite.ranked().into_iter().filter(|test| file.is_none_or(|file| test.file == file)).collect();
    let tests: Vec<TestView> = ranked
        .iter()
        .take(limit)
        .map(|test| {
            let total = test.total();
            let hottest = test
                .hottest
                .iter()
                .take(LINES_PER_TEST)
                .map(|line| TestLineView {
                    path: roots.display(&line.file),
                    line: line.line,
                    source: profile.file(&line.file).and_then(|file| file.line(line.line)).map(|stats| stats.text.trim().to_string()).filter(|text| !text.is_empty()),
                    seconds: round(line.cpu_s, 3),
                    percent_of_test: round(line.samples / total.samples.max(1.0) * 100.0, 1),
                })
                .collect();
            TestView {
                node_id: test.node_id.clone(),
                path: roots.display(&test.file),
                line: test.line,
                outcome: test.outcome.as_str().to_string(),
                message: test.message.clone(),
                seconds: round(total.cpu_s, 3),
                percent_of_suite: round(suite.share(test) * 100.0, 1),
                setup_s: round(test.setup.cpu_s, 3),
                call_s: round(test.call.cpu_s, 3),
                teardown_s: round(test.teardown.cpu_s, 3),
                wall_s: round(total.wall_s, 3),
                peak_mb: test.peak_mb.map(|mb| round(mb, 1)),
                hottest,
            }
        })
        .collect();
    let outside = if suite.samples > 0.0 { suite.outside_samples() / suite.samples * 100.0 } else { 0.0 };
    let mut notes: Vec<String> = profile.notes.iter().chain(&suite.notes).cloned().collect();
    notes.extend(suite.collection_errors.iter().map(|(node, message)| format!("not collected: {node}: {}", message.lines().last().unwrap_or(""))));
    SlowestTests {
        profile_id: entry.id.to_string(),
        run_id: None,
        status: profile.status.as_str().to_string(),
        elapsed_s: round(profile.elapsed_s, 3),
        tests_run: suite.tests.len(),
        outcomes,
        samples: suite.samples,
        outside_percent: round(outside, 1),
        omitted: suite.tests.len() - tests.len(),
        tests,
        notes,
    }
}
