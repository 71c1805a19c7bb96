//! Run-to-run comparison: two profiles (before, after) → per-line, per-function, per-file and overall
//! deltas with a verdict each (`regressed`, `improved`, `unchanged`, `new`, `removed`), under a
//! documented noise rule. The result is the comparison JSON of docs/schema.md (shared by the CLI and
//! MCP; the editor reads the same structure).
//!
//! Matching: files by path (else the profiled programs with each other, else a unique longest common
//! path tail); lines by a diff of the two profiled source texts (`remap::align_lines`: unchanged lines,
//! and lines edited in place), never by number alone; functions by qualified name (in order when a
//! name repeats).
//!
//! The noise rule (`NoiseRule`): CPU is compared in seconds (share of the run × the run's elapsed time),
//! memory by peak MB. A change counts only when it is at least the absolute floor (CPU: 2% of the
//! longer run's elapsed time; memory: 10 MB, about Scalene's allocation sampling interval) and, for
//! single runs, at least 10% of the before value and at least three times its sampling error (Scalene's
//! CPU numbers are counts of samples taken every 0.01 s, so a difference of `d` seconds between lines of
//! `b` and `a` seconds is noise unless `d >= 3 * sqrt(0.01 * (b + a))`); when a side has repeated runs,
//! instead of those two, its range (min..max over the runs) must not overlap the other side's range
//! (or value).

use std::collections::HashMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;

use super::model::{FileProfile, FunctionStats, LineStats, MetricSpread, Profile};
use super::remap::{Aligned, align_lines};

/// Version of the comparison JSON layout.
pub const COMPARISON_SCHEMA: u32 = 1;

/// When a difference counts as a change. See the module documentation and docs/schema.md.
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseRule {
    /// A single-run change must be at least this percent of the before value.
    pub min_change_percent: f64,
    /// A CPU change must be at least this percent of the longer run's elapsed time (in seconds).
    pub min_cpu_percent: f64,
    /// A memory change must be at least this many MB.
    pub min_mb: f64,
    /// Scalene's CPU sampling interval in seconds: a single-run CPU change must be at least three times
    /// its sampling error, `3 * sqrt(interval * (before + after))` seconds. 0 turns this test off.
    pub sample_interval_s: f64,
}

/// How many sampling errors a single-run CPU change must exceed (three: a steady line is flagged by
/// chance about 3 times in 1,000).
pub const SAMPLING_ERRORS: f64 = 3.0;

/// Scalene's default CPU sampling interval (`--cpu-sampling-rate`).
pub const SCALENE_SAMPLE_INTERVAL_S: f64 = 0.01;

impl Default for NoiseRule {
    fn default() -> NoiseRule {
        NoiseRule { min_change_percent: 10.0, min_cpu_percent: 2.0, min_mb: 10.0, sample_interval_s: SCALENE_SAMPLE_INTERVAL_S }
    }
}

impl NoiseRule {
    /// Checks the values (each a finite number >= 0); the error names the field.
    pub fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("min_change_percent", self.min_change_percent),
            ("min_cpu_percent", self.min_cpu_percent),
            ("min_mb", self.min_mb),
            ("sample_interval_s", self.sample_interval_s),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{name} must be a number >= 0, not {value}"));
            }
        }
        Ok(())
    }
}

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
    fn combine(self, other: Verdict) -> Verdict {
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
    /// The memory part (unchanged when either side did not profile memory).
    pub memory: Verdict,
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

/// The noise rule as applied.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RuleJson {
    pub min_change_percent: f64,
    pub min_cpu_percent: f64,
    /// The CPU floor in seconds for this comparison (min_cpu_percent of the longer elapsed time).
    pub min_cpu_s: f64,
    pub min_mb: f64,
    /// The CPU sampling interval the sampling-error test assumed (0: test off).
    pub sample_interval_s: f64,
    /// True when ranges of repeated runs replaced the relative and sampling-error tests.
    pub ranges: bool,
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
    fn add(&mut self, verdict: Verdict) {
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

/// Per-side context for computing metrics.
struct Side<'a> {
    profile: &'a Profile,
}

impl Side<'_> {
    fn cpu_seconds(&self, share: f64, spread: Option<&MetricSpread>) -> f64 {
        spread.map_or(share / 100.0 * self.profile.elapsed_s, |spread| spread.cpu_s.mean)
    }

    fn metrics(&self, cpu_percent: f64, peak_mb: f64, alloc_mb: f64, spread: Option<&MetricSpread>) -> Metrics {
        Metrics {
            cpu_percent,
            cpu_s: self.cpu_seconds(cpu_percent, spread),
            peak_mb: if self.profile.memory { peak_mb } else { 0.0 },
            alloc_mb,
            range: spread.map(|spread| Ranges {
                runs: self.profile.spread.as_ref().map_or(1, |s| s.runs),
                cpu_percent: [spread.cpu_percent.min, spread.cpu_percent.max],
                cpu_s: [spread.cpu_s.min, spread.cpu_s.max],
                peak_mb: [spread.peak_mb.min, spread.peak_mb.max],
                alloc_mb: [spread.alloc_mb.min, spread.alloc_mb.max],
            }),
        }
    }

    fn file_spread(&self, path: &Path) -> Option<&super::model::FileSpread> {
        self.profile.spread.as_ref()?.file(path)
    }

    fn line(&self, file: &FileProfile, line: &LineStats) -> Metrics {
        let spread = self.file_spread(&file.path).and_then(|spread| spread.line(line.line));
        self.metrics(line.cpu_total(), line.peak_mb, line.alloc_mb, spread)
    }

    /// A matched line without activity on this side: zeros (with zero ranges when repeated).
    fn quiet(&self) -> Metrics {
        let spread = self.profile.spread.as_ref().map(|_| MetricSpread::default());
        self.metrics(0.0, 0.0, 0.0, spread.as_ref())
    }

    fn function(&self, file: &FileProfile, function: &FunctionStats) -> Metrics {
        let spread = self.file_spread(&file.path).and_then(|spread| spread.function(&function.name, function.line));
        self.metrics(function.cpu_total(), function.peak_mb, function.alloc_mb, spread)
    }

    fn file(&self, file: &FileProfile) -> Metrics {
        let spread = self.file_spread(&file.path).map(|spread| &spread.total);
        let peak = file.lines.iter().map(|line| line.peak_mb).fold(0.0, f64::max);
        let alloc = file.lines.iter().map(|line| line.alloc_mb).sum();
        self.metrics(file.cpu_percent, peak, alloc, spread)
    }
}

/// The noise rule applied to one comparison.
struct Judge {
    rule: NoiseRule,
    min_cpu_s: f64,
    memory: bool,
}

/// Up, down, or no change beyond the rule: `floor` always; then either the ranges (when known) or the
/// relative test and the sampling error (`sample_interval` > 0: a CPU value in seconds).
fn judge_value(
    (before, after): (f64, f64),
    (before_range, after_range): (Option<[f64; 2]>, Option<[f64; 2]>),
    floor: f64,
    relative: f64,
    sample_interval: f64,
) -> Verdict {
    let delta = after - before;
    if delta.abs() < floor || delta == 0.0 {
        return Verdict::Unchanged;
    }
    let within = |value: f64, range: [f64; 2]| value >= range[0] && value <= range[1];
    let noise = match (before_range, after_range) {
        (Some(b), Some(a)) => a[0] <= b[1] && b[0] <= a[1],
        (Some(b), None) => within(after, b),
        (None, Some(a)) => within(before, a),
        (None, None) => {
            let too_small = before > 0.0 && delta.abs() / before * 100.0 < relative;
            let sampling_error = (sample_interval * (before + after).max(0.0)).sqrt();
            too_small || delta.abs() < SAMPLING_ERRORS * sampling_error
        }
    };
    if noise {
        Verdict::Unchanged
    } else if delta > 0.0 {
        Verdict::Regressed
    } else {
        Verdict::Improved
    }
}

fn change_percent(before: f64, after: f64) -> Option<f64> {
    (before > 0.0).then(|| (after - before) / before * 100.0)
}

impl Judge {
    /// (verdict, cpu verdict, memory verdict, delta) of a matched pair.
    fn pair(&self, before: &Metrics, after: &Metrics) -> (Verdict, Verdict, Verdict, Delta) {
        let cpu = judge_value(
            (before.cpu_s, after.cpu_s),
            (before.range.as_ref().map(|r| r.cpu_s), after.range.as_ref().map(|r| r.cpu_s)),
            self.min_cpu_s,
            self.rule.min_change_percent,
            self.rule.sample_interval_s,
        );
        let memory = if self.memory {
            judge_value(
                (before.peak_mb, after.peak_mb),
                (before.range.as_ref().map(|r| r.peak_mb), after.range.as_ref().map(|r| r.peak_mb)),
                self.rule.min_mb,
                self.rule.min_change_percent,
                0.0,
            )
        } else {
            Verdict::Unchanged
        };
        (cpu.combine(memory), cpu, memory, delta(Some(before), Some(after)))
    }

    /// True when a one-sided thing costs enough to be worth a `new`/`removed` verdict.
    fn notable(&self, metrics: &Metrics) -> bool {
        metrics.cpu_s >= self.min_cpu_s.max(f64::MIN_POSITIVE) || (self.memory && metrics.peak_mb >= self.rule.min_mb.max(f64::MIN_POSITIVE))
    }
}

fn delta(before: Option<&Metrics>, after: Option<&Metrics>) -> Delta {
    let zero = Metrics::default();
    let (b, a) = (before.unwrap_or(&zero), after.unwrap_or(&zero));
    Delta {
        cpu_s: a.cpu_s - b.cpu_s,
        cpu_percent: a.cpu_percent - b.cpu_percent,
        peak_mb: a.peak_mb - b.peak_mb,
        alloc_mb: a.alloc_mb - b.alloc_mb,
        cpu_change_percent: change_percent(b.cpu_s, a.cpu_s),
        peak_change_percent: change_percent(b.peak_mb, a.peak_mb),
    }
}

fn summary_of(label: &str, profile: &Profile) -> RunSummary {
    let git = profile.context.as_ref().and_then(|context| context.git.as_ref());
    RunSummary {
        label: label.to_string(),
        program: profile.program.clone(),
        status: profile.status.as_str().to_string(),
        elapsed_s: profile.elapsed_s,
        peak_mb: profile.peak_mb,
        memory: profile.memory,
        runs: profile.spread.as_ref().map_or(1, |spread| spread.runs),
        scalene_version: profile.scalene_version.clone(),
        git_commit: git.map(|git| git.commit.clone()),
        git_dirty: git.map(|git| git.dirty),
    }
}

/// Pairs the files of the two profiles: (before index, after index).
fn match_files(before: &Profile, after: &Profile) -> Vec<(Option<usize>, Option<usize>)> {
    let mut pairs = Vec::new();
    let mut after_used = vec![false; after.files.len()];
    let mut before_used = vec![false; before.files.len()];
    for (b, file) in before.files.iter().enumerate() {
        if let Ok(a) = after.files.binary_search_by(|other| other.path.cmp(&file.path)) {
            pairs.push((Some(b), Some(a)));
            before_used[b] = true;
            after_used[a] = true;
        }
    }
    // The profiled programs are the same program, wherever each was.
    let program_index = |profile: &Profile, used: &[bool]| {
        profile.files.iter().position(|file| file.path == Path::new(&profile.program)).filter(|index| !used[*index])
    };
    if let (Some(b), Some(a)) = (program_index(before, &before_used), program_index(after, &after_used)) {
        pairs.push((Some(b), Some(a)));
        before_used[b] = true;
        after_used[a] = true;
    }
    // Else the unique longest common tail of the paths (a checkout elsewhere, a profile from CI).
    let tail = |x: &Path, y: &Path| x.components().rev().zip(y.components().rev()).take_while(|(p, q)| p == q).count();
    let best = |path: &Path, candidates: &[&FileProfile], used: &[bool]| -> Option<usize> {
        let scored: Vec<(usize, usize)> =
            candidates.iter().enumerate().filter(|(i, _)| !used[*i]).map(|(i, file)| (i, tail(path, &file.path))).filter(|(_, n)| *n > 0).collect();
        let top = scored.iter().map(|(_, n)| *n).max()?;
        let winners: Vec<usize> = scored.iter().filter(|(_, n)| *n == top).map(|(i, _)| *i).collect();
        (winners.len() == 1).then(|| winners[0])
    };
    let before_files: Vec<&FileProfile> = before.files.iter().collect();
    let after_files: Vec<&FileProfile> = after.files.iter().collect();
    for b in 0..before.files.len() {
        if before_used[b] {
            continue;
        }
        if let Some(a) = best(&before.files[b].path, &after_files, &after_used)
            && best(&after.files[a].path, &before_files, &before_used) == Some(b)
        {
            pairs.push((Some(b), Some(a)));
            before_used[b] = true;
            after_used[a] = true;
        }
    }
    pairs.extend((0..before.files.len()).filter(|b| !before_used[*b]).map(|b| (Some(b), None)));
    pairs.extend((0..after.files.len()).filter(|a| !after_used[*a]).map(|a| (None, Some(a))));
    pairs
}

fn line_text(file: &FileProfile, line: u32, stats: Option<&LineStats>) -> String {
    stats
        .map(|stats| stats.text.trim().to_string())
        .filter(|text| !text.is_empty())
        .or_else(|| file.source.lines().nth((line as usize).wrapping_sub(1)).map(|text| text.trim().to_string()))
        .unwrap_or_default()
}

/// Compares `before` with `after` under `rule`. The labels say what each side is (`baseline`, `p3`, a path).
pub fn compare(before: &Profile, before_label: &str, after: &Profile, after_label: &str, rule: &NoiseRule) -> Comparison {
    let (b_side, a_side) = (Side { profile: before }, Side { profile: after });
    let longer = before.elapsed_s.max(after.elapsed_s);
    let judge = Judge { rule: rule.clone(), min_cpu_s: rule.min_cpu_percent / 100.0 * longer, memory: before.memory && after.memory };
    let ranges = before.spread.is_some() || after.spread.is_some();
    let mut notes = Vec::new();
    for (label, profile) in [(before_label, before), (after_label, after)] {
        if profile.status != super::RunStatus::Ok {
            notes.push(format!("{label} is {}: its numbers cover only part of the run", profile.status.as_str()));
        }
    }
    if before.memory != after.memory {
        notes.push("only one side profiled memory: memory is not compared (profile both in the same mode)".into());
    }
    let mut files = Vec::new();
    let mut functions = Vec::new();
    let mut lines = Vec::new();
    let mut n_quiet = 0;
    for (b, a) in match_files(before, after) {
        let (b_file, a_file) = (b.map(|i| &before.files[i]), a.map(|i| &after.files[i]));
        let path = a_file.or(b_file).expect("a pair has a side").path.display().to_string();
        let before_path = match (b_file, a_file) {
            (Some(b_file), Some(a_file)) if b_file.path != a_file.path => Some(b_file.path.display().to_string()),
            _ => None,
        };
        // The file.
        let (b_metrics, a_metrics) = (b_file.map(|f| b_side.file(f)), a_file.map(|f| a_side.file(f)));
        let (verdict, cpu, memory, file_delta) = match (&b_metrics, &a_metrics) {
            (Some(bm), Some(am)) => judge.pair(bm, am),
            (None, _) => (Verdict::New, Verdict::New, Verdict::New, delta(None, a_metrics.as_ref())),
            (_, None) => (Verdict::Removed, Verdict::Removed, Verdict::Removed, delta(b_metrics.as_ref(), None)),
        };
        files.push(FileChange { path: path.clone(), before_path: before_path.clone(), before: b_metrics, after: a_metrics, delta: file_delta, verdict, cpu, memory });

        // Functions, by name (the k-th of a name with the k-th).
        let mut by_name: HashMap<&str, Vec<&FunctionStats>> = HashMap::new();
        if let Some(b_file) = b_file {
            for function in &b_file.functions {
                by_name.entry(function.name.as_str()).or_default().push(function);
            }
        }
        for list in by_name.values_mut() {
            list.reverse();
        }
        let mut file_functions = Vec::new();
        if let Some(a_file) = a_file {
            for function in &a_file.functions {
                let matched = by_name.get_mut(function.name.as_str()).and_then(Vec::pop);
                let am = a_side.function(a_file, function);
                let (bm, verdict, cpu, memory, function_delta) = match (matched, b_file) {
                    (Some(old), Some(b_file)) => {
                        let bm = b_side.function(b_file, old);
                        let (verdict, cpu, memory, d) = judge.pair(&bm, &am);
                        (Some((bm, old.line)), verdict, cpu, memory, d)
                    }
                    _ => {
                        if !judge.notable(&am) {
                            continue;
                        }
                        (None, Verdict::New, Verdict::New, Verdict::New, delta(None, Some(&am)))
                    }
                };
                file_functions.push(FunctionChange {
                    name: function.name.clone(),
                    path: path.clone(),
                    before_path: before_path.clone(),
                    before_line: bm.as_ref().map(|(_, line)| *line),
                    after_line: Some(function.line),
                    before: bm.map(|(metrics, _)| metrics),
                    after: Some(am),
                    delta: function_delta,
                    verdict,
                    cpu,
                    memory,
                });
            }
        }
        if let Some(b_file) = b_file {
            let mut removed: Vec<&FunctionStats> = by_name.into_values().flatten().collect();
            removed.sort_by_key(|function| function.line);
            for function in removed {
                let bm = b_side.function(b_file, function);
                if !judge.notable(&bm) {
                    continue;
                }
                let function_delta = delta(Some(&bm), None);
                file_functions.push(FunctionChange {
                    name: function.name.clone(),
                    path: path.clone(),
                    before_path: before_path.clone(),
                    before_line: Some(function.line),
                    after_line: None,
                    before: Some(bm),
                    after: None,
                    delta: function_delta,
                    verdict: Verdict::Removed,
                    cpu: Verdict::Removed,
                    memory: Verdict::Removed,
                });
            }
        }
        functions.extend(file_functions);

        // Lines, by content.
        let line_changes = compare_lines(&judge, (&b_side, b_file), (&a_side, a_file), &path, before_path.as_deref(), &mut notes, &mut n_quiet);
        lines.extend(line_changes);
    }
    if n_quiet > 0 {
        notes.push(format!("{n_quiet} new or removed lines and functions cost less than the noise floors and are left out"));
    }
    let overall = Overall {
        elapsed_s: overall_change(
            before.elapsed_s,
            after.elapsed_s,
            before.spread.as_ref().map(|s| [s.elapsed_s.min, s.elapsed_s.max]),
            after.spread.as_ref().map(|s| [s.elapsed_s.min, s.elapsed_s.max]),
            judge.min_cpu_s,
            rule.min_change_percent,
            true,
        ),
        peak_mb: overall_change(
            before.peak_mb,
            after.peak_mb,
            before.spread.as_ref().map(|s| [s.peak_mb.min, s.peak_mb.max]),
            after.spread.as_ref().map(|s| [s.peak_mb.min, s.peak_mb.max]),
            rule.min_mb,
            rule.min_change_percent,
            judge.memory,
        ),
    };
    let summary = summarize(&overall, &files, &functions, &lines);
    Comparison {
        schema: COMPARISON_SCHEMA,
        before: summary_of(before_label, before),
        after: summary_of(after_label, after),
        rule: RuleJson {
            min_change_percent: rule.min_change_percent,
            min_cpu_percent: rule.min_cpu_percent,
            min_cpu_s: judge.min_cpu_s,
            min_mb: rule.min_mb,
            sample_interval_s: rule.sample_interval_s,
            ranges,
        },
        overall,
        files,
        functions,
        lines,
        notes,
        summary,
    }
}

fn overall_change(before: f64, after: f64, b_range: Option<[f64; 2]>, a_range: Option<[f64; 2]>, floor: f64, relative: f64, compared: bool) -> OverallChange {
    let verdict = if compared { judge_value((before, after), (b_range, a_range), floor, relative, 0.0) } else { Verdict::Unchanged };
    OverallChange {
        before,
        after,
        delta: after - before,
        change_percent: change_percent(before, after),
        before_range: b_range,
        after_range: a_range,
        verdict,
    }
}

fn compare_lines(
    judge: &Judge,
    (b_side, b_file): (&Side<'_>, Option<&FileProfile>),
    (a_side, a_file): (&Side<'_>, Option<&FileProfile>),
    path: &str,
    before_path: Option<&str>,
    notes: &mut Vec<String>,
    n_quiet: &mut usize,
) -> Vec<LineChange> {
    let function_name = |file: &FileProfile, line: u32| file.function_at(line).map(|function| function.name.clone());
    let make = |before: Option<(&FileProfile, u32, Option<&LineStats>)>, after: Option<(&FileProfile, u32, Option<&LineStats>)>, edited: bool| {
        let bm = before.map(|(file, _, stats)| stats.map_or_else(|| b_side.quiet(), |stats| b_side.line(file, stats)));
        let am = after.map(|(file, _, stats)| stats.map_or_else(|| a_side.quiet(), |stats| a_side.line(file, stats)));
        let (verdict, cpu, memory, line_delta) = match (&bm, &am) {
            (Some(bm), Some(am)) => judge.pair(bm, am),
            (None, _) => (Verdict::New, Verdict::New, Verdict::New, delta(None, am.as_ref())),
            (_, None) => (Verdict::Removed, Verdict::Removed, Verdict::Removed, delta(bm.as_ref(), None)),
        };
        let shown = after.or(before).expect("a line has a side");
        LineChange {
            path: path.to_string(),
            before_path: before_path.map(str::to_string),
            before_line: before.map(|(_, line, _)| line),
            after_line: after.map(|(_, line, _)| line),
            source: line_text(shown.0, shown.1, shown.2),
            before_source: before.filter(|_| edited).map(|(file, line, stats)| line_text(file, line, stats)),
            function: function_name(shown.0, shown.1),
            before: bm,
            after: am,
            delta: line_delta,
            verdict,
            cpu,
            memory,
        }
    };
    let mut out = Vec::new();
    let mut removed = Vec::new();
    match (b_file, a_file) {
        (Some(b_file), Some(a_file)) => {
            let (old_to_new, new_to_old) = if b_file.source.is_empty() || a_file.source.is_empty() {
                notes.push(format!(
                    "{path}: the profiled source text is missing on one side, so its lines are matched only where number and text agree"
                ));
                by_number_and_text(b_file, a_file)
            } else {
                let alignment = align_lines(&b_file.source, &a_file.source);
                (alignment.old_to_new, alignment.new_to_old)
            };
            let lookup = |map: &[Option<Aligned>], line: u32| map.get((line as usize).wrapping_sub(1)).copied().flatten();
            // Every after line with activity, with its before line when it has one.
            let mut paired_before = std::collections::HashSet::new();
            for line in &a_file.lines {
                match lookup(&new_to_old, line.line) {
                    Some(aligned) => {
                        paired_before.insert(aligned.line);
                        let before = b_file.line(aligned.line);
                        out.push(make(Some((b_file, aligned.line, before)), Some((a_file, line.line, Some(line))), aligned.edited));
                    }
                    None => {
                        let change = make(None, Some((a_file, line.line, Some(line))), false);
                        if judge.notable(change.after.as_ref().expect("after side")) {
                            out.push(change);
                        } else {
                            *n_quiet += 1;
                        }
                    }
                }
            }
            // Before lines with activity whose after line has none (quiet now), or that are gone.
            for line in &b_file.lines {
                if paired_before.contains(&line.line) {
                    continue;
                }
                match lookup(&old_to_new, line.line) {
                    Some(aligned) => out.push(make(Some((b_file, line.line, Some(line))), Some((a_file, aligned.line, None)), aligned.edited)),
                    None => {
                        let change = make(Some((b_file, line.line, Some(line))), None, false);
                        if judge.notable(change.before.as_ref().expect("before side")) {
                            removed.push(change);
                        } else {
                            *n_quiet += 1;
                        }
                    }
                }
            }
            out.sort_by_key(|change| change.after_line);
        }
        (None, Some(a_file)) => {
            out.extend(a_file.lines.iter().map(|line| make(None, Some((a_file, line.line, Some(line))), false)));
        }
        (Some(b_file), None) => {
            removed.extend(b_file.lines.iter().map(|line| make(Some((b_file, line.line, Some(line))), None, false)));
        }
        (None, None) => {}
    }
    out.extend(removed);
    out
}

/// Fallback when a source text is unknown: lines pair only where the number and the text agree.
fn by_number_and_text(before: &FileProfile, after: &FileProfile) -> (Vec<Option<Aligned>>, Vec<Option<Aligned>>) {
    let size = |file: &FileProfile| file.lines.last().map_or(0, |line| line.line as usize);
    let mut old_to_new = vec![None; size(before)];
    let mut new_to_old = vec![None; size(after)];
    for line in &before.lines {
        if let Some(other) = after.line(line.line)
            && !line.text.trim().is_empty()
            && line.text == other.text
        {
            old_to_new[line.line as usize - 1] = Some(Aligned { line: line.line, edited: false });
            new_to_old[line.line as usize - 1] = Some(Aligned { line: line.line, edited: false });
        }
    }
    (old_to_new, new_to_old)
}

fn summarize(overall: &Overall, files: &[FileChange], functions: &[FunctionChange], lines: &[LineChange]) -> Summary {
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
    Summary { verdict, lines: line_counts, functions: function_counts, files: file_counts, text }
}

fn file_name(path: &str) -> &str {
    Path::new(path).file_name().and_then(|name| name.to_str()).unwrap_or(path)
}

/// `0.31 s → 0.95 s CPU (+206%)`, `12.0 → 52.0 MB peak (+333%)`.
pub fn describe_cpu(before: Option<&Metrics>, after: Option<&Metrics>, delta: &Delta) -> String {
    let value = |metrics: Option<&Metrics>| metrics.map_or("–".to_string(), |m| format!("{:.2} s", m.cpu_s));
    let change = delta.cpu_change_percent.map(|percent| format!(" ({percent:+.0}%)")).unwrap_or_default();
    format!("{} → {} CPU{change}", value(before), value(after))
}

pub fn describe_memory(before: Option<&Metrics>, after: Option<&Metrics>, delta: &Delta) -> String {
    let value = |metrics: Option<&Metrics>| metrics.map_or("–".to_string(), |m| format!("{:.1}", m.peak_mb));
    let change = delta.peak_change_percent.map(|percent| format!(" ({percent:+.0}%)")).unwrap_or_default();
    format!("{} → {} MB peak{change}", value(before), value(after))
}

fn describe(cpu: Verdict, memory: Verdict, before: Option<&Metrics>, after: Option<&Metrics>, delta: &Delta) -> String {
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
        text.push_str(&format!(" ({percent:+.0}%, {})", overall.elapsed_s.verdict.as_str()));
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

#[cfg(test)]
mod tests;
