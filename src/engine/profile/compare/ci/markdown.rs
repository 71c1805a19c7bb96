//! A comparison as a short pull-request comment in Markdown: the verdict, the top regressions and
//! improvements as tables with links to their lines (`path#L12`, or full blob links when the caller
//! knows the repository and commit), what the comparison could not see, and how to reproduce it.

use std::fmt::Write as _;

use super::{CiContext, Finding, Subject, findings, noise_statement, overall_changes};
use crate::engine::profile::compare::report::{Comparison, RunSummary, Verdict};

/// Rows per table; the rest are counted.
pub const MAX_ROWS: usize = 10;

pub fn render(comparison: &Comparison, context: &CiContext) -> String {
    let noise = noise_statement(comparison);
    let found = findings(comparison, context);
    let (regressions, improvements): (Vec<&Finding<'_>>, Vec<&Finding<'_>>) = found.iter().partition(|finding| finding.kind.is_regression());
    let overall = overall_changes(comparison);
    let overall_regressed = overall.iter().any(|(verdict, _)| *verdict == Verdict::Regressed);
    let mut out = String::new();
    if regressions.is_empty() && !overall_regressed {
        let _ = writeln!(out, "### ✅ scalene-lsp: no regressions beyond the noise\n");
    } else {
        let _ = writeln!(out, "### 🔺 scalene-lsp: {} beyond the noise\n", count_text(&regressions, overall_regressed));
    }
    let mut verdict_line = format!("**{}** · {} → {}", comparison.summary.verdict.as_str(), side_text(&comparison.before), side_text(&comparison.after));
    for (verdict, text) in &overall {
        let _ = write!(verdict_line, " · {text} {}", verdict.as_str());
    }
    if improvements.is_empty() && regressions.is_empty() {
        verdict_line.push_str(" · no function or line changed beyond the noise");
    }
    let _ = writeln!(out, "{verdict_line}\n");
    for (title, list) in [("Regressions", &regressions), ("Improvements", &improvements)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "#### {title} ({})\n", list.len());
        let _ = writeln!(out, "| | Where | What | Before → after |\n|---|---|---|---|");
        for finding in list.iter().take(MAX_ROWS) {
            let marker = if finding.kind.is_regression() { "▲" } else { "▼" };
            let _ = writeln!(out, "| {marker} | {} | {} | {} |", link(finding, context), cell(&what(finding)), cell(&finding.change));
        }
        if list.len() > MAX_ROWS {
            let _ = writeln!(out, "\n…and {} more (`--format sarif` or `--format json` lists them all).", list.len() - MAX_ROWS);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "<details><summary>What this comparison could not see</summary>\n");
    for item in unseen(comparison) {
        let _ = writeln!(out, "- {}", item.replace('\n', " "));
    }
    let _ = writeln!(out, "- Beyond the noise means: {noise}.");
    let _ = writeln!(out, "\n</details>\n");
    let _ = writeln!(out, "<details><summary>Reproduce locally</summary>\n\n```sh");
    out.push_str(&reproduce(comparison, context));
    let _ = writeln!(out, "```\n\n</details>");
    out
}

/// `1 function and 3 lines got slower or bigger`.
fn count_text(regressions: &[&Finding<'_>], overall_regressed: bool) -> String {
    let functions = regressions.iter().filter(|f| matches!(f.subject, Subject::Function(_))).count();
    let lines = regressions.len() - functions;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (functions, lines) {
        (0, 0) if overall_regressed => "the whole run got slower or bigger".into(),
        (0, lines) => format!("{} got slower or bigger", plural(lines, "line")),
        (functions, 0) => format!("{} got slower or bigger", plural(functions, "function")),
        (functions, lines) => format!("{} and {} got slower or bigger", plural(functions, "function"), plural(lines, "line")),
    }
}

/// `` `before.json` (git 1a2b3c4d5e6f, mean of 3 runs) ``.
fn side_text(side: &RunSummary) -> String {
    let mut parts = Vec::new();
    if let Some(commit) = &side.git_commit {
        parts.push(format!("git {}{}", &commit[..commit.len().min(12)], if side.git_dirty == Some(true) { "+dirty" } else { "" }));
    }
    if side.runs > 1 {
        parts.push(format!("mean of {} runs", side.runs));
    }
    let label = code(&side.label);
    if parts.is_empty() { label } else { format!("{label} ({})", parts.join(", ")) }
}

fn what(finding: &Finding<'_>) -> String {
    match &finding.subject {
        Subject::Function(name) => format!("{} (function)", code(&format!("{name}()"))),
        Subject::Line { source, function } => {
            let short: String = source.chars().take(60).collect();
            let short = if short.len() < source.len() { format!("{short}…") } else { short };
            match function {
                Some(function) => format!("{} in {}", code(&short), code(function)),
                None => code(&short),
            }
        }
    }
}

/// A link to the finding's line: the blob URL when known, else relative (`path#L12`); a path outside
/// the repository is not linked.
fn link(finding: &Finding<'_>, context: &CiContext) -> String {
    let text = format!("{}:{}", finding.path, finding.line);
    if !finding.relative {
        return cell(&code(&text));
    }
    let target = format!("{}{}#L{}", context.blob_base.as_deref().unwrap_or(""), super::sarif::encode_path(&finding.path), finding.line);
    format!("[{}]({target})", cell(&text.replace('[', "\\[").replace(']', "\\]")))
}

/// Inline code that survives any text (backticks inside get a longer fence).
fn code(text: &str) -> String {
    if text.contains('`') { format!("`` {text} ``") } else { format!("`{text}`") }
}

/// A table cell: `|` escaped, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// What the comparison could not see or did not judge.
fn unseen(comparison: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(limits) = &comparison.summary.limits {
        out.push(limits.clone());
    }
    if comparison.rule.cpu_compared && !(comparison.before.memory && comparison.after.memory) {
        out.push("Memory was not compared: profile both sides with `--mode memory` (the default) to judge allocations and the peak.".into());
    }
    if !comparison.overall.elapsed_s.judged {
        out.push("The elapsed time was not judged (single runs: wall-clock time moves with the machine's load); `--repeat 3` on both sides judges it.".into());
    }
    let (lines, functions) = (&comparison.summary.lines, &comparison.summary.functions);
    if lines.new + lines.removed + functions.new + functions.removed > 0 {
        out.push(format!(
            "New and removed code is listed, not judged: {} new and {} removed functions, {} new and {} removed lines with a cost above the floors (`scalene-lsp compare` shows them).",
            functions.new, functions.removed, lines.new, lines.removed
        ));
    }
    out.extend(comparison.notes.iter().cloned());
    out
}

/// The commands that make the same comparison on a developer's machine.
fn reproduce(comparison: &Comparison, context: &CiContext) -> String {
    let (program, _) = context.path(&comparison.after.program);
    let mode = if comparison.before.memory && comparison.after.memory { "memory" } else { "cpu" };
    let runs = comparison.before.runs.max(comparison.after.runs);
    let repeat = if runs > 1 { format!(" --repeat {runs}") } else { String::new() };
    let mut out = String::new();
    for (side, name) in [(&comparison.before, "before"), (&comparison.after, "after")] {
        match &side.git_commit {
            Some(commit) => {
                let _ = writeln!(out, "git checkout {commit}");
            }
            None => {
                let _ = writeln!(out, "# check out the {name} version");
            }
        }
        let _ = writeln!(out, "scalene-lsp profile --mode {mode}{repeat} --json {} > {name}.json", shell_word(&program));
    }
    let _ = writeln!(out, "scalene-lsp compare before.json after.json");
    out
}

/// A word for a POSIX shell: as it is when safe, else single-quoted.
fn shell_word(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._/+=:@%".contains(&b)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
