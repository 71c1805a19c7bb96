//! The terminal view of a suite run (`profile --tests`): the slowest tests ranked by the CPU samples
//! taken while each ran, each with its three hottest lines, setup and teardown apart, outcome. A profile
//! in, text out (a hot line of a test file, which Scalene lists without text, is read from disk).

use std::fmt::Write;
use std::path::Path;

use super::paint::Paint;
use crate::engine::Profile;
use crate::engine::profile::suite::{Outcome, TestCost, TestSuite};

/// At most this many tests are listed (`--json` has them all).
pub const SHOWN_TESTS: usize = 20;
/// Hottest lines shown per test.
pub const LINES_PER_TEST: usize = 3;

/// The suite view of a profile with tests; `root` shortens paths (the working directory).
pub fn render(profile: &Profile, suite: &TestSuite, root: &Path, color: bool) -> String {
    let paint = Paint { color };
    let mut out = String::new();
    let mut counts: Vec<(Outcome, usize)> = Vec::new();
    for test in &suite.tests {
        match counts.iter_mut().find(|(outcome, _)| *outcome == test.outcome) {
            Some((_, count)) => *count += 1,
            None => counts.push((test.outcome, 1)),
        }
    }
    let said: Vec<String> = counts.iter().map(|(outcome, count)| format!("{count} {}", outcome.as_str())).collect();
    let _ = writeln!(out, "{} {}", paint.bold("Scalene profile of the pytest suite"), paint.dim(&format!("({})", profile.program)));
    let _ = writeln!(
        out,
        "status {} · {} tests ({}) · elapsed {:.2} s · {} samples, {:.2} CPU s",
        paint.status(profile.status),
        suite.tests.len(),
        if said.is_empty() { "none ran".to_string() } else { said.join(", ") },
        profile.elapsed_s,
        suite.samples,
        suite.cpu_s
    );
    let ranked = suite.ranked();
    if !ranked.is_empty() {
        let _ = writeln!(out, "\n{}", paint.bold("Slowest tests (CPU seconds while each ran; setup and teardown include their fixtures; wall s: pytest's clock; hot lines from Scalene's samples)"));
        let _ = writeln!(out, "{:>3}  {:>7} {:>6}  {:>7} {:>7} {:>7} {:>7}  {:<10} test", "#", "CPU s", "share", "setup", "call", "teardwn", "wall s", "outcome");
    }
    for (rank, test) in ranked.iter().take(SHOWN_TESTS).enumerate() {
        let share = suite.share(test) * 100.0;
        let outcome = match test.outcome {
            Outcome::Failed | Outcome::Error | Outcome::Unfinished => paint.bold(test.outcome.as_str()),
            _ => test.outcome.as_str().to_string(),
        };
        let _ = writeln!(
            out,
            "{:>3}  {:>7.3} {} {:>7.3} {:>7.3} {:>7.3} {:>7.3}  {:<10} {}",
            rank + 1,
            test.total().cpu_s,
            paint.heat(share, &format!("{share:>5.1}%")),
            test.setup.cpu_s,
            test.call.cpu_s,
            test.teardown.cpu_s,
            test.total().wall_s,
            outcome,
            test.node_id
        );
        for line in hot_lines(profile, test, root) {
            let _ = writeln!(out, "{}", paint.dim(&line));
        }
        if let Some(message) = &test.message {
            let _ = writeln!(out, "{:>16}{}", "", paint.dim(message));
        }
    }
    if ranked.len() > SHOWN_TESTS {
        let _ = writeln!(out, "… {} more tests (`--json` lists them all)", ranked.len() - SHOWN_TESTS);
    }
    let outside = suite.outside_samples();
    if suite.samples > 0.0 {
        let _ = writeln!(out, "\noutside the tests (start-up, collection, between tests): {:.1}% of the samples", outside / suite.samples * 100.0);
    }
    for (node, message) in &suite.collection_errors {
        let last = message.lines().last().unwrap_or("");
        let _ = writeln!(out, "not collected: {node}: {last}");
    }
    for note in profile.notes.iter().chain(&suite.notes) {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// A test's hottest lines: `      work.py:10  0.412 s  83%  total += (i * i) % 7`.
fn hot_lines(profile: &Profile, test: &TestCost, root: &Path) -> Vec<String> {
    let total = test.total().samples.max(1.0);
    test.hottest
        .iter()
        .take(LINES_PER_TEST)
        .map(|line| {
            let shown = line.file.strip_prefix(root).unwrap_or(&line.file).display().to_string();
            // Scalene's copy of the line; a test file's own lines (no samples of their own) from disk.
            let text = profile
                .file(&line.file)
                .and_then(|file| file.line(line.line))
                .map(|stats| stats.text.clone())
                .or_else(|| std::fs::read_to_string(&line.file).ok()?.lines().nth(line.line.checked_sub(1)? as usize).map(str::to_string))
                .map(|text| text.trim().chars().take(60).collect::<String>())
                .unwrap_or_default();
            format!("{:>16}{:<28} {:>7.3} s {:>4.0}%  {text}", "", format!("{shown}:{}", line.line), line.cpu_s, line.samples / total * 100.0)
        })
        .collect()
}
