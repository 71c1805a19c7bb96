//! The comparison report: the types of the comparison JSON (docs/schema.md, shared by the CLI, MCP and
//! the editor) and the sentences that describe a change.


use schemars::JsonSchema;
use serde::Serialize;

/// Version of the comparison JSON layout.
pub const COMPARISON_SCHEMA: u32 = 1;

/// What a comparison says about one thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Slower (CPU seconds) or bigger (peak MB), beyond the noise rule.
    Regressed,
    /// Faster or smaller, beyond the noise rule (and nothing regressed).
    Improved,
    /// Within the noise rule.
    Unchanged,
    /// Only in the after profile (a line or function that did not exist, with a cost above the floors).
    New,
    /// Only in the before profile.
    Removed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::New => "new",
            Verdict::Removed => "removed",
        }
    }

    pub const ALL: [Verdict; 5] = [Verdict::Regressed, Verdict::Improved, Verdict::Unchanged, Verdict::New, Verdict::Removed];

    pub fn parse(text: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|verdict| verdict.as_str() == text)
    }

    /// Regressed beats improved beats unchanged.
    pub fn combine(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Regressed, _) | (_, Verdict::Regressed) => Verdict::Regressed,
            (Verdict::Improved, _) | (_, Verdict::Improved) => Verdict::Improved,
            _ => Verdict::Unchanged,
        }
    }
}

/// The min and max over repeated runs of each metric.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct Ranges {
    /// How many runs.
    pub runs: u32,
    pub cpu_percent: [f64; 2],
    pub cpu_s: [f64; 2],
    pub peak_mb: [f64; 2],
    pub alloc_mb: [f64; 2],
}

/// One side's numbers for a line, function or file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct Metrics {
    /// Share of the run's CPU time, percent (python + native + system).
    pub cpu_percent: f64,
    /// CPU seconds: the share times the run's elapsed time (the mean over runs for repeated runs).
    pub cpu_s: f64,
    /// Peak memory, MB (0 when memory was not profiled).
    pub peak_mb: f64,
    /// MB allocated, cumulative.
    pub alloc_mb: f64,
    /// Present when the profile is the mean of repeated runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Ranges>,
}

/// after − before.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct Delta {
    pub cpu_s: f64,
    /// Percentage points of the run's CPU time.
    pub cpu_percent: f64,
    pub peak_mb: f64,
    pub alloc_mb: f64,
    /// The CPU seconds' change relative to before, percent; null when before is 0.
    pub cpu_change_percent: Option<f64>,
    /// The peak's change relative to before, percent; null when before is 0.
    pub peak_change_percent: Option<f64>,
}

/// A line of the after version (or of the before version, when removed).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct LineChange {
    /// The file (the after path; the before path for a removed file).
    pub path: String,
    /// Set when the before file had another path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_path: Option<String>,
    pub before_line: Option<u32>,
    pub after_line: Option<u32>,
    /// The line's text (after; before when removed), trimmed.
    pub source: String,
    /// The before text, when the line was edited in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_source: Option<String>,
    /// The innermost function around the line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    pub before: Option<Metrics>,
    pub after: Option<Metrics>,
    pub delta: Delta,
    pub verdict: Verdict,
    /// The CPU part of the verdict (regressed, improved, unchanged; new/removed as the verdict).
    pub cpu: Verdict,
    /// The memory part: MB allocated (unchanged when either side did not profile memory).
    pub memory: Verdict,
    /// How the CPU verdict was reached (absent when CPU was not judged, e.g. across profiling modes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_test: Option<CpuTest>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct FunctionChange {
    /// Qualified name (`Class.method`).
    pub name: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_path: Option<String>,
    /// The `def` line in each version.
    pub before_line: Option<u32>,
    pub after_line: Option<u32>,
    pub before: Option<Metrics>,
    pub after: Option<Metrics>,
    pub delta: Delta,
    pub verdict: Verdict,
    pub cpu: Verdict,
    pub memory: Verdict,
    /// How the CPU verdict was reached; its `detectable_percent` is the smallest change this comparison
    /// could have named in the function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_test: Option<CpuTest>,
}

/// How a CPU verdict was reached. Scalene measures a loop as one (it spreads a loop's samples over its
/// lines), so a line is judged with its outermost loop, and a function as a whole.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct CpuTest {
    /// The lines judged together, `[first, last]` in the after version (the before version's when the
    /// after side has none).
    pub region: [u32; 2],
    /// after ÷ before of the region's CPU seconds, with the machine factor (`rule.machine_factor`) taken
    /// out.
    pub ratio: f64,
    /// The ratio's interval at the comparison's error rate.
    pub interval: [f64; 2],
    /// The test's two-sided p-value, before the correction for the number of things judged.
    pub p_value: f64,
    /// The smallest change, percent either way, that this comparison would have named here.
    pub detectable_percent: f64,
    /// CPU samples behind the numbers (all runs), before and after.
    pub samples: [f64; 2],
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct FileChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_path: Option<String>,
    pub before: Option<Metrics>,
    pub after: Option<Metrics>,
    pub delta: Delta,
    pub verdict: Verdict,
    pub cpu: Verdict,
    pub memory: Verdict,
}

/// A whole-run number before and after.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct OverallChange {
    pub before: f64,
    pub after: f64,
    pub delta: f64,
    /// Relative to before, percent; null when before is 0.
    pub change_percent: Option<f64>,
    /// [min, max] over repeated runs, per side, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_range: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_range: Option<[f64; 2]>,
    /// False when the numbers were shown but not judged (elapsed time from a single run on either side:
    /// wall-clock time moves with the machine's load, so only repeated runs can tell).
    pub judged: bool,
    /// The test's p-value, when judged by a test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Overall {
    /// Wall-clock seconds.
    pub elapsed_s: OverallChange,
    /// Peak memory footprint, MB (unchanged when either side did not profile memory).
    pub peak_mb: OverallChange,
}

/// One side as a whole.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RunSummary {
    /// What it is: a saved name (`baseline`), a profile id (`p3`) or a file.
    pub label: String,
    pub program: String,
    /// ok | program_failed | too_short | cancelled | timed_out
    pub status: String,
    pub elapsed_s: f64,
    pub peak_mb: f64,
    pub memory: bool,
    /// How many runs the numbers are the mean of.
    pub runs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scalene_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
}

/// The noise rule as applied (docs/schema.md, "Noise rule").
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RuleJson {
    /// How the verdicts were reached, in a sentence.
    pub method: String,
    /// The chance that an unchanged program gets any line or function named, percent (the error budget
    /// of the whole comparison, shared by everything judged).
    pub error_rate_percent: f64,
    pub min_change_percent: f64,
    pub min_cpu_percent: f64,
    /// The CPU floor in seconds for this comparison (min_cpu_percent of the longer elapsed time).
    pub min_cpu_s: f64,
    pub min_mb: f64,
    /// How much slower (>1) or faster the whole machine ran the after side, estimated from the code that
    /// did not change and taken out of every CPU ratio.
    pub machine_factor: f64,
    /// The run-to-run jitter of a region's CPU time beyond sampling, percent (measured; see
    /// benches/compare_quality.py).
    pub jitter_percent: f64,
    /// How many regions and functions were judged for CPU.
    pub judged: usize,
    /// False when CPU was not judged at all (the sides were profiled in different modes).
    pub cpu_compared: bool,
    /// How many runs each side's numbers are the mean of, before and after.
    pub runs: [u32; 2],
}

/// How many of each verdict.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct Counts {
    pub regressed: usize,
    pub improved: usize,
    pub unchanged: usize,
    pub new: usize,
    pub removed: usize,
}

impl Counts {
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Regressed => self.regressed += 1,
            Verdict::Improved => self.improved += 1,
            Verdict::Unchanged => self.unchanged += 1,
            Verdict::New => self.new += 1,
            Verdict::Removed => self.removed += 1,
        }
    }

    pub fn get(&self, verdict: Verdict) -> usize {
        match verdict {
            Verdict::Regressed => self.regressed,
            Verdict::Improved => self.improved,
            Verdict::Unchanged => self.unchanged,
            Verdict::New => self.new,
            Verdict::Removed => self.removed,
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Summary {
    /// regressed when anything regressed (a line, function, file, elapsed time or peak); else improved
    /// when anything improved; else unchanged.
    pub verdict: Verdict,
    pub lines: Counts,
    pub functions: Counts,
    pub files: Counts,
    /// A few sentences naming the biggest changes (bounded, for people and agents).
    pub text: String,
    /// What this comparison could not have seen in the hottest functions ("Changes under ±35% in crunch
    /// (0.12 s CPU) cannot be seen: ..."); also the end of `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<String>,
}

/// The comparison JSON (docs/schema.md). Numbers are unrounded.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Comparison {
    /// Always 1 for this layout.
    pub schema: u32,
    pub before: RunSummary,
    pub after: RunSummary,
    pub rule: RuleJson,
    pub overall: Overall,
    pub files: Vec<FileChange>,
    /// Every function measured on either side (matched by name).
    pub functions: Vec<FunctionChange>,
    /// Every line with activity on either side (matched by content), by path and after line; removed
    /// lines after the others of their file.
    pub lines: Vec<LineChange>,
    /// Things a reader should know (partial runs, files whose lines could not be matched, ...).
    pub notes: Vec<String>,
    pub summary: Summary,
}

/// The JSON Schema of `Comparison` (embedded in docs/schema.md; a test keeps the two equal).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Comparison)).expect("a schema always serializes")
}

pub fn summarize(overall: &Overall, files: &[FileChange], functions: &[FunctionChange], lines: &[LineChange]) -> Summary {
    let mut line_counts = Counts::default();
    lines.iter().for_each(|line| line_counts.add(line.verdict));
    let mut function_counts = Counts::default();
    functions.iter().for_each(|function| function_counts.add(function.verdict));
    let mut file_counts = Counts::default();
    files.iter().for_each(|file| file_counts.add(file.verdict));
    let all = [overall.elapsed_s.verdict, overall.peak_mb.verdict]
        .into_iter()
        .chain(files.iter().map(|f| f.verdict))
        .chain(functions.iter().map(|f| f.verdict))
        .chain(lines.iter().map(|l| l.verdict));
    let verdict = all.fold(Verdict::Unchanged, Verdict::combine);
    let text = summary_text(overall, functions, lines, &line_counts, &function_counts, verdict);
    Summary { verdict, lines: line_counts, functions: function_counts, files: file_counts, text, limits: None }
}

pub(super) fn file_name(path: &str) -> &str {
    crate::engine::units::short_name_str(path)
}

/// `0.31 s → 0.95 s CPU (+206%)`, `12.0 → 52.0 MB peak (+333%)`.
pub fn describe_cpu(before: Option<&Metrics>, after: Option<&Metrics>, delta: &Delta) -> String {
    let value = |metrics: Option<&Metrics>| metrics.map_or("–".to_string(), |m| format!("{:.2} s", m.cpu_s));
    let change = delta.cpu_change_percent.map(|percent| format!(" ({percent:+.0}%)")).unwrap_or_default();
    format!("{} → {} CPU{change}", value(before), value(after))
}

pub fn describe_memory(before: Option<&Metrics>, after: Option<&Metrics>, _delta: &Delta) -> String {
    let value = |metrics: Option<&Metrics>| metrics.map_or("–".to_string(), |m| format!("{:.1}", m.alloc_mb));
    let change = match (before, after) {
        (Some(b), Some(a)) if b.alloc_mb > 0.0 => format!(" ({:+.0}%)", (a.alloc_mb - b.alloc_mb) / b.alloc_mb * 100.0),
        _ => String::new(),
    };
    format!("{} → {} MB allocated{change}", value(before), value(after))
}

/// The parts of a change its verdict is about: CPU (also when nothing changed), memory when it changed.
pub fn describe(cpu: Verdict, memory: Verdict, before: Option<&Metrics>, after: Option<&Metrics>, delta: &Delta) -> String {
    let mut parts = Vec::new();
    if cpu != Verdict::Unchanged || memory == Verdict::Unchanged {
        parts.push(describe_cpu(before, after, delta));
    }
    if memory != Verdict::Unchanged {
        parts.push(describe_memory(before, after, delta));
    }
    parts.join(", ")
}

fn summary_text(overall: &Overall, functions: &[FunctionChange], lines: &[LineChange], line_counts: &Counts, function_counts: &Counts, verdict: Verdict) -> String {
    const NAMED: usize = 3;
    let mut text = format!(
        "{}: {} functions and {} lines regressed, {} functions and {} lines improved, {} new and {} removed lines; elapsed {:.2} s → {:.2} s",
        verdict.as_str(),
        function_counts.regressed,
        line_counts.regressed,
        function_counts.improved,
        line_counts.improved,
        line_counts.new,
        line_counts.removed,
        overall.elapsed_s.before,
        overall.elapsed_s.after,
    );
    if let Some(percent) = overall.elapsed_s.change_percent {
        let judged = if overall.elapsed_s.judged { overall.elapsed_s.verdict.as_str() } else { "not judged: single runs" };
        text.push_str(&format!(" ({percent:+.0}%, {judged})"));
    }
    text.push('.');
    for (wanted, word) in [(Verdict::Regressed, "Slower or bigger"), (Verdict::Improved, "Faster or smaller")] {
        let mut named: Vec<String> = Vec::new();
        let mut picked: Vec<&FunctionChange> = functions.iter().filter(|f| f.verdict == wanted).collect();
        picked.sort_by(|a, b| b.delta.cpu_s.abs().total_cmp(&a.delta.cpu_s.abs()));
        for function in picked.iter().take(NAMED) {
            named.push(format!(
                "{} ({}:{}) {}",
                function.name,
                file_name(&function.path),
                function.after_line.unwrap_or(0),
                describe(function.cpu, function.memory, function.before.as_ref(), function.after.as_ref(), &function.delta)
            ));
        }
        if named.is_empty() {
            let mut picked: Vec<&LineChange> = lines.iter().filter(|l| l.verdict == wanted).collect();
            picked.sort_by(|a, b| b.delta.cpu_s.abs().total_cmp(&a.delta.cpu_s.abs()));
            for line in picked.iter().take(NAMED) {
                named.push(format!(
                    "{}:{} {}",
                    file_name(&line.path),
                    line.after_line.or(line.before_line).unwrap_or(0),
                    describe(line.cpu, line.memory, line.before.as_ref(), line.after.as_ref(), &line.delta)
                ));
            }
        }
        if !named.is_empty() {
            text.push_str(&format!(" {word}: {}.", named.join("; ")));
        }
    }
    text
}


/// The rule in one sentence, for the CLI and the editor: "a change counts from 10% and 0.05 s CPU (2% of
/// the longer run) or 10 MB, beyond the noise at a 1% error rate for the whole comparison".
pub fn rule_sentence(rule: &RuleJson) -> String {
    if !rule.cpu_compared {
        return "CPU and memory not judged: the two sides were profiled in different modes".into();
    }
    let machine = if (rule.machine_factor - 1.0).abs() >= 0.02 {
        format!("; the after run's machine was {:.0}% {}, taken out", (rule.machine_factor - 1.0).abs() * 100.0, if rule.machine_factor > 1.0 { "slower" } else { "faster" })
    } else {
        String::new()
    };
    format!(
        "a change counts from {}% and {:.2} s CPU ({}% of the longer run) or {} MB, beyond the sampling noise at a {}% error rate for the whole comparison{machine}",
        rule.min_change_percent, rule.min_cpu_s, rule.min_cpu_percent, rule.min_mb, rule.error_rate_percent
    )
}
