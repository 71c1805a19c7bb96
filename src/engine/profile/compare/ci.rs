//! Comparison reports for CI systems: the regressed and improved functions and lines of a comparison as
//! findings on the after version's lines, with paths relative to the repository root, rendered as SARIF
//! 2.1.0 (`sarif`), GitHub Actions workflow commands (`github`) and a pull-request comment in Markdown
//! (`markdown`). Pure: the caller (the CLI) finds the repository root and reads the environment, and
//! passes what it found in a `CiContext`.

pub mod github;
pub mod markdown;
pub mod sarif;

use std::collections::HashMap;

use super::report::{Comparison, CpuTest, Delta, Metrics, Verdict, describe, rule_sentence};

/// What the reports need beyond the comparison.
#[derive(Clone, Debug, Default)]
pub struct CiContext {
    /// Each compared path (as the comparison spells it) → its path relative to the repository root, with
    /// `/` separators. A path not in it lies outside the root and is shown as it is.
    pub relative: HashMap<String, String>,
    /// The repository root, absolute, when known (SARIF's `SRCROOT`).
    pub root: Option<String>,
    /// The start of a link to a file at the compared commit, ending with `/`
    /// (`https://github.com/o/r/blob/SHA/`); None: links are relative (`path#L12`).
    pub blob_base: Option<String>,
    /// scalene-lsp's version (SARIF's tool.driver.version).
    pub tool_version: String,
}

impl CiContext {
    /// The path to show for a compared path, and whether it is relative to the root.
    pub fn path(&self, path: &str) -> (String, bool) {
        match self.relative.get(path) {
            Some(relative) => (relative.clone(), true),
            None => (path.to_string(), false),
        }
    }
}

/// The kinds of finding, one SARIF rule each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingKind {
    CpuRegression,
    MemoryRegression,
    CpuImprovement,
    MemoryImprovement,
}

impl FindingKind {
    pub const ALL: [FindingKind; 4] = [FindingKind::CpuRegression, FindingKind::MemoryRegression, FindingKind::CpuImprovement, FindingKind::MemoryImprovement];

    pub fn id(self) -> &'static str {
        match self {
            FindingKind::CpuRegression => "cpu-regression",
            FindingKind::MemoryRegression => "memory-regression",
            FindingKind::CpuImprovement => "cpu-improvement",
            FindingKind::MemoryImprovement => "memory-improvement",
        }
    }

    /// SARIF's rule name (PascalCase by convention).
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::CpuRegression => "CpuRegression",
            FindingKind::MemoryRegression => "MemoryRegression",
            FindingKind::CpuImprovement => "CpuImprovement",
            FindingKind::MemoryImprovement => "MemoryImprovement",
        }
    }

    pub fn is_regression(self) -> bool {
        matches!(self, FindingKind::CpuRegression | FindingKind::MemoryRegression)
    }

    /// What happened, after the subject: "got slower".
    pub fn verb(self) -> &'static str {
        match self {
            FindingKind::CpuRegression => "got slower",
            FindingKind::MemoryRegression => "allocates more memory",
            FindingKind::CpuImprovement => "got faster",
            FindingKind::MemoryImprovement => "allocates less memory",
        }
    }

    pub fn short_description(self) -> &'static str {
        match self {
            FindingKind::CpuRegression => "A function or line takes more CPU time than before, beyond the sampling noise",
            FindingKind::MemoryRegression => "A function or line allocates more memory than before, beyond the noise floors",
            FindingKind::CpuImprovement => "A function or line takes less CPU time than before, beyond the sampling noise",
            FindingKind::MemoryImprovement => "A function or line allocates less memory than before, beyond the noise floors",
        }
    }

    pub fn full_description(self) -> &'static str {
        match self {
            FindingKind::CpuRegression | FindingKind::CpuImprovement => {
                "scalene-lsp compare judges CPU per loop region and per function from Scalene's sample counts: a change is named when it is beyond the sampling error plus the measured run-to-run jitter, with the machine's overall slowdown taken out, under an error budget shared by the whole comparison (docs/compare.md, \"The noise rule\"). A line takes the verdict of its outermost loop, because Scalene spreads a loop's samples over its lines."
            }
            FindingKind::MemoryRegression | FindingKind::MemoryImprovement => {
                "scalene-lsp compare judges memory by the MB a function or line allocated, against the noise floors (a minimum change in MB and in percent) and Scalene's allocation sampling (docs/compare.md, \"The noise rule\")."
            }
        }
    }

    fn of(verdict: Verdict, cpu: Verdict) -> Option<FindingKind> {
        match (verdict, cpu) {
            (Verdict::Regressed, Verdict::Regressed) => Some(FindingKind::CpuRegression),
            (Verdict::Regressed, _) => Some(FindingKind::MemoryRegression),
            (Verdict::Improved, Verdict::Improved) => Some(FindingKind::CpuImprovement),
            (Verdict::Improved, _) => Some(FindingKind::MemoryImprovement),
            _ => None,
        }
    }
}

/// What a finding is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// A function, by its qualified name (located on its `def` line).
    Function(String),
    /// A line, with its text and the function around it.
    Line { source: String, function: Option<String> },
}

/// One regressed or improved function or line, on the after version's line.
#[derive(Clone, Debug)]
pub struct Finding<'a> {
    pub kind: FindingKind,
    pub subject: Subject,
    /// The path to show: relative to the repository root when `relative`.
    pub path: String,
    pub relative: bool,
    pub line: u32,
    /// The line in the before version, when it had another number.
    pub before_line: Option<u32>,
    /// `0.31 s → 0.95 s CPU (+206%)`, with memory when it changed.
    pub change: String,
    pub cpu_test: Option<&'a CpuTest>,
    pub before: Option<&'a Metrics>,
    pub after: Option<&'a Metrics>,
    pub delta: &'a Delta,
}

impl Finding<'_> {
    /// `slow()` or `line 12 (in slow)`.
    pub fn subject_text(&self) -> String {
        match &self.subject {
            Subject::Function(name) => format!("{name}()"),
            Subject::Line { function: Some(function), .. } => format!("line {} (in {function})", self.line),
            Subject::Line { function: None, .. } => format!("line {}", self.line),
        }
    }

    /// A title for an annotation: `slow() got slower`.
    pub fn title(&self) -> String {
        format!("{} {}", self.subject_text(), self.kind.verb())
    }

    /// The CPU test in words: `after ÷ before 3.02 (interval 2.71-3.36)`, for CPU findings.
    pub fn ratio_text(&self) -> Option<String> {
        let test = self.cpu_test.filter(|_| matches!(self.kind, FindingKind::CpuRegression | FindingKind::CpuImprovement))?;
        Some(format!("after ÷ before {:.2} on a like-for-like machine, interval {:.2}–{:.2}", test.ratio, test.interval[0], test.interval[1]))
    }

    /// The whole message: what, where, before → after, the test, and the noise statement.
    pub fn message(&self, noise: &str) -> String {
        let location = format!("{}:{}", self.path, self.line);
        let moved = self.before_line.map(|line| format!(", line {line} before")).unwrap_or_default();
        let ratio = self.ratio_text().map(|text| format!(" ({text})")).unwrap_or_default();
        format!("{} {} ({location}{moved}): {}{ratio}. Beyond the noise: {noise}.", self.subject_text(), self.kind.verb(), self.change)
    }
}

/// The regressed and improved functions and lines with a line in the after version: regressions first,
/// then improvements; functions before lines; the biggest CPU change first.
pub fn findings<'a>(comparison: &'a Comparison, context: &CiContext) -> Vec<Finding<'a>> {
    let mut found = Vec::new();
    for function in &comparison.functions {
        let (Some(kind), Some(line)) = (FindingKind::of(function.verdict, function.cpu), function.after_line) else { continue };
        let (path, relative) = context.path(&function.path);
        found.push(Finding {
            kind,
            subject: Subject::Function(function.name.clone()),
            path,
            relative,
            line,
            before_line: function.before_line.filter(|before| *before != line),
            change: describe(function.cpu, function.memory, function.before.as_ref(), function.after.as_ref(), &function.delta),
            cpu_test: function.cpu_test.as_ref(),
            before: function.before.as_ref(),
            after: function.after.as_ref(),
            delta: &function.delta,
        });
    }
    for change in &comparison.lines {
        let (Some(kind), Some(line)) = (FindingKind::of(change.verdict, change.cpu), change.after_line) else { continue };
        let (path, relative) = context.path(&change.path);
        found.push(Finding {
            kind,
            subject: Subject::Line { source: change.source.clone(), function: change.function.clone() },
            path,
            relative,
            line,
            before_line: change.before_line.filter(|before| *before != line),
            change: describe(change.cpu, change.memory, change.before.as_ref(), change.after.as_ref(), &change.delta),
            cpu_test: change.cpu_test.as_ref(),
            before: change.before.as_ref(),
            after: change.after.as_ref(),
            delta: &change.delta,
        });
    }
    found.sort_by(|a, b| {
        let is_line = |f: &Finding<'_>| matches!(f.subject, Subject::Line { .. });
        (!a.kind.is_regression())
            .cmp(&!b.kind.is_regression())
            .then(is_line(a).cmp(&is_line(b)))
            .then(b.delta.cpu_s.abs().total_cmp(&a.delta.cpu_s.abs()))
            .then(b.delta.alloc_mb.abs().total_cmp(&a.delta.alloc_mb.abs()))
            .then(a.path.cmp(&b.path))
            .then(a.line.cmp(&b.line))
    });
    found
}

/// The noise statement every report carries: the rule as applied, with its error rate.
pub fn noise_statement(comparison: &Comparison) -> String {
    rule_sentence(&comparison.rule)
}

/// The whole-run changes a report names apart from findings: `elapsed 1.02 → 2.95 s (+189%)` when the
/// elapsed time (of repeated runs) or the peak regressed or improved.
pub fn overall_changes(comparison: &Comparison) -> Vec<(Verdict, String)> {
    let overall = &comparison.overall;
    let mut out = Vec::new();
    for (name, change, unit, digits) in [("elapsed time", &overall.elapsed_s, "s", 2), ("peak memory", &overall.peak_mb, "MB", 1)] {
        if matches!(change.verdict, Verdict::Regressed | Verdict::Improved) {
            let percent = change.change_percent.map(|p| format!(" ({p:+.0}%)")).unwrap_or_default();
            out.push((change.verdict, format!("{name} {:.digits$} → {:.digits$} {unit}{percent}", change.before, change.after)));
        }
    }
    out
}

#[cfg(test)]
mod tests;
