//! A comparison as GitHub Actions workflow commands: `::warning file=PATH,line=N,title=...::message`
//! per regressed function or line, `::notice` per improved one, on the after version's line with its
//! path relative to the repository root; then plain lines (a summary and the noise statement). GitHub
//! shows at most 10 annotations of each level per step, so the rest are counted in a plain line.

use std::fmt::Write as _;

use super::{CiContext, findings, noise_statement, overall_changes};
use crate::engine::profile::compare::report::{Comparison, Verdict};

/// Annotations of one level GitHub shows per step.
pub const MAX_PER_LEVEL: usize = 10;

/// Escapes a command's message (GitHub's `escapeData`: `%`, `\r`, `\n`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a command property's value (GitHub's `escapeProperty`: also `:` and `,`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow commands of a comparison, one per line.
pub fn render(comparison: &Comparison, context: &CiContext) -> String {
    let noise = noise_statement(comparison);
    let mut out = String::new();
    let (mut warnings, mut notices) = (0usize, 0usize);
    let (mut left_warnings, mut left_notices) = (0usize, 0usize);
    for (verdict, text) in overall_changes(comparison) {
        let (command, title) = if verdict == Verdict::Regressed { ("warning", "scalene-lsp: the whole run regressed") } else { ("notice", "scalene-lsp: the whole run improved") };
        let counter = if verdict == Verdict::Regressed { &mut warnings } else { &mut notices };
        *counter += 1;
        let _ = writeln!(out, "::{command} title={}::{}", escape_property(title), escape_data(&format!("{text}, {}. Beyond the noise: {noise}.", verdict.as_str())));
    }
    for finding in findings(comparison, context) {
        let regression = finding.kind.is_regression();
        let (shown, left) = if regression { (&mut warnings, &mut left_warnings) } else { (&mut notices, &mut left_notices) };
        if *shown >= MAX_PER_LEVEL {
            *left += 1;
            continue;
        }
        *shown += 1;
        let _ = writeln!(
            out,
            "::{} file={},line={},title={}::{}",
            if regression { "warning" } else { "notice" },
            escape_property(&finding.path),
            finding.line,
            escape_property(&finding.title()),
            escape_data(&finding.message(&noise)),
        );
    }
    if left_warnings + left_notices > 0 {
        let _ = writeln!(
            out,
            "scalene-lsp compare: {left_warnings} more regressions and {left_notices} more improvements are not annotated (GitHub shows {MAX_PER_LEVEL} of each per step): see the SARIF or Markdown report"
        );
    }
    let verdict = comparison.summary.verdict;
    if warnings + notices + left_warnings + left_notices == 0 && verdict != Verdict::Regressed {
        let _ = writeln!(out, "scalene-lsp compare: no regressions beyond the noise ({noise}).");
    } else {
        let _ = writeln!(out, "scalene-lsp compare: {}", comparison.summary.text.replace(['\r', '\n'], " "));
        let _ = writeln!(out, "scalene-lsp compare: beyond the noise means: {noise}.");
    }
    out
}
