//! The in-memory profile model: compact, only lines with activity, built by `parse` and read by every
//! front end. Not serialized directly: `schema.rs` owns the wire format.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::engine::profile::call_paths::CallPaths;
use crate::engine::profile::metrics::LineMetrics;

mod attached;

pub use attached::{ATTACHED_SOURCE, Attached, ThreadSamples};

/// How a run ended. The profile (possibly partial or empty) is kept in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// The program ran to completion with exit code 0 and Scalene collected samples.
    Ok,
    /// Non-zero exit or uncaught exception: the profile up to the failure is kept.
    ProgramFailed,
    /// Scalene wrote `{}`: the program finished before it could be sampled.
    TooShort,
    /// The run was cancelled; whatever Scalene wrote when told to stop is kept.
    Cancelled,
    /// The run hit its wall-clock limit; whatever Scalene wrote when told to stop is kept.
    TimedOut,
    /// The run is still going: a live snapshot of the run so far (replaced by the final profile).
    Running,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::ProgramFailed => "program_failed",
            RunStatus::TooShort => "too_short",
            RunStatus::Cancelled => "cancelled",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Running => "running",
        }
    }

    /// True when the numbers cover only part of the program's run.
    pub fn is_partial(self) -> bool {
        matches!(self, RunStatus::ProgramFailed | RunStatus::Cancelled | RunStatus::TimedOut | RunStatus::Running)
    }
}

/// The profiling mode, from fastest to most complete. The one representation of a mode: the CLI, the
/// editor settings and commands, and MCP all parse and describe it through this type (`cpu`, `memory`,
/// `gpu`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// CPU time only: fastest, lowest overhead (`--cpu-only`).
    Cpu,
    /// CPU time and memory (peak, allocations, leaks): the default (`--memory`).
    #[default]
    Memory,
    /// CPU, memory and GPU (`--memory --gpu`).
    Gpu,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Cpu, Mode::Memory, Mode::Gpu];
    /// The names, in order: what a user types.
    pub const NAMES: [&'static str; 3] = ["cpu", "memory", "gpu"];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cpu => "cpu",
            Mode::Memory => "memory",
            Mode::Gpu => "gpu",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// `cpu`, `memory` or `gpu`; the error says which values are accepted.
    fn from_str(text: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or_else(|| format!("the mode must be cpu, memory or gpu, not {text:?}"))
    }
}

/// One Scalene profile: the whole run, every file it covers.
#[derive(Clone, Debug)]
pub struct Profile {
    pub status: RunStatus,
    /// The profiled program as Scalene recorded it (absolute path), or the module name.
    pub program: String,
    pub args: Vec<String>,
    /// The program's exit code when the profile came from a run here (None for a loaded JSON or a signal).
    pub exit_code: Option<i32>,
    /// Wall-clock seconds (Scalene's `elapsed_time_sec`).
    pub elapsed_s: f64,
    /// Peak memory footprint in MB (`max_footprint_mb`).
    pub peak_mb: f64,
    pub peak_at: Option<SourceLocation>,
    pub memory: bool,
    pub gpu: bool,
    pub scalene_version: Option<String>,
    /// Memory footprint over time, `(seconds since start, MB)`, at most `TIMELINE_POINTS` points.
    pub timeline: Vec<(f64, f64)>,
    /// Sorted by path.
    pub files: Vec<FileProfile>,
    /// Human-readable notes about the run (why it is too short, values that were not numbers, ...).
    pub notes: Vec<String>,
    /// The last bytes of the program's stderr and stdout, when it ran here.
    pub stderr_tail: Option<String>,
    pub stdout_tail: Option<String>,
    /// When the profile was produced or loaded.
    pub created: SystemTime,
    /// How the run was made (interpreter, versions, mode, project, git state); None for a loaded JSON.
    pub context: Option<RunContext>,
    /// Per-line and per-function ranges over repeated runs (`--repeat N`); None for a single run.
    /// The profile's own numbers are then the means over the runs.
    pub spread: Option<std::sync::Arc<Spread>>,
    /// Scalene's CPU sampling interval for this run (`--cpu-sampling-rate`), when known.
    pub cpu_sampling_s: Option<f64>,
    /// Who called what, from Scalene's stacks; None when it recorded none (before Scalene 2.3, or a
    /// profile normalized before call paths were kept).
    pub call_paths: Option<std::sync::Arc<CallPaths>>,
    /// Set when py-spy, not Scalene, made the numbers: samples of a running process that scalene-lsp
    /// attached to and did not start (`scalene-lsp attach`). None for a Scalene profile.
    pub attached: Option<std::sync::Arc<Attached>>,
    /// A pytest suite run's tests with their costs (`profile --tests`); None for any other run.
    pub tests: Option<std::sync::Arc<crate::engine::profile::suite::TestSuite>>,
}

/// Where and how a profile was made here: what a saved profile records next to the numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunContext {
    pub interpreter: PathBuf,
    pub python_version: String,
    pub mode: Mode,
    pub project_root: Option<PathBuf>,
    pub git: Option<GitState>,
}

/// The git state of the project when the run started.
#[derive(Clone, Debug, PartialEq)]
pub struct GitState {
    pub commit: String,
    /// True when tracked files had uncommitted changes.
    pub dirty: bool,
}

/// The mean, smallest and largest value of a metric over repeated runs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    /// A single value (no spread).
    pub fn point(value: f64) -> Stat {
        Stat { mean: value, min: value, max: value }
    }

    /// Over `values` (each run's value; an empty slice gives zeros).
    pub fn of(values: &[f64]) -> Stat {
        if values.is_empty() {
            return Stat::default();
        }
        let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        Stat { mean: values.iter().sum::<f64>() / values.len() as f64, min, max }
    }
}

/// The metrics a comparison weighs, over repeated runs: CPU as a share of the run and in seconds
/// (share × the run's elapsed time), peak and allocated MB.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MetricSpread {
    pub cpu_percent: Stat,
    pub cpu_s: Stat,
    pub peak_mb: Stat,
    pub alloc_mb: Stat,
}

/// Ranges over the runs of a repeated profile (`Engine::profile_repeated`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spread {
    pub runs: u32,
    pub elapsed_s: Stat,
    pub peak_mb: Stat,
    /// Each run's elapsed seconds, in run order (empty for a spread saved before they were kept).
    pub elapsed_runs: Vec<f64>,
    /// Sorted by path, like `Profile::files`.
    pub files: Vec<FileSpread>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileSpread {
    pub path: PathBuf,
    pub total: MetricSpread,
    /// Sorted by line.
    pub lines: Vec<(u32, MetricSpread)>,
    /// By `def` line: (name, def line, totals).
    pub functions: Vec<(String, u32, MetricSpread)>,
}

impl Spread {
    pub fn file(&self, path: &Path) -> Option<&FileSpread> {
        self.files.binary_search_by(|file| file.path.as_path().cmp(path)).ok().map(|index| &self.files[index])
    }
}

impl FileSpread {
    pub fn line(&self, line: u32) -> Option<&MetricSpread> {
        self.lines.binary_search_by_key(&line, |(number, _)| *number).ok().map(|index| &self.lines[index].1)
    }

    pub fn function(&self, name: &str, line: u32) -> Option<&MetricSpread> {
        self.functions.iter().find(|(n, l, _)| n == name && *l == line).map(|(_, _, spread)| spread)
    }
}

/// The note of a `TooShort` profile: what happened and what to do. Added by whoever produced the
/// profile (a run that ended on its own, or a loaded `{}`), never by the parser.
pub const TOO_SHORT_ADVICE: &str = "Scalene collected no samples: the program finished too quickly to be \
profiled. Make it run longer (at least about 100 ms, e.g. with a bigger input or a loop) or sample more often \
with a lower CPU sampling rate.";

pub const TIMELINE_POINTS: usize = 100;
pub const LINE_TIMELINE_POINTS: usize = 32;

#[derive(Clone, Debug, PartialEq)]
pub struct SourceLocation {
    pub file: PathBuf,
    pub line: u32,
}

/// Everything Scalene measured in one source file.
#[derive(Clone, Debug)]
pub struct FileProfile {
    pub path: PathBuf,
    /// This file's share of the whole run's CPU time, in percent.
    pub cpu_percent: f64,
    /// Lines with any non-zero metric, sorted by line number.
    pub lines: Vec<LineStats>,
    /// Functions, sorted by `def` line; totals summed over their lines.
    pub functions: Vec<FunctionStats>,
    /// Sorted by line.
    pub leaks: Vec<Leak>,
    /// The file's text as Scalene profiled it (from its per-line copy of the source), for remapping
    /// lines after edits. Empty when Scalene gave no source lines.
    pub source: std::sync::Arc<str>,
}

/// Scalene's numbers for one line, unrounded. CPU values are percent of the whole run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineStats {
    pub line: u32,
    /// Scalene's copy of the source line (for display when the file is not on disk).
    pub text: String,
    pub metrics: LineMetrics<f64>,
    /// The outermost loop around this line, when it is in one.
    pub outer_loop: Option<RangeInclusive<u32>>,
    /// Memory footprint samples for this line, `(seconds since start, MB)`, downsampled.
    pub memory_timeline: Vec<(f64, f64)>,
    /// How many CPU samples Scalene charged to the line (the length of its `cpu_samples_list`, a
    /// reservoir of at most `CPU_SAMPLES_RESERVOIR` entries); the mean per run for repeated runs. None when
    /// unknown (a profile normalized before this was recorded): comparisons then estimate it.
    pub cpu_samples: Option<f64>,
}

/// Scalene keeps at most this many CPU sample times per line (`CPU_SAMPLES_RESERVOIR_SIZE`), so a
/// line's `cpu_samples` is a lower bound of the samples it got once it reaches this number.
pub const CPU_SAMPLES_RESERVOIR: f64 = 500.0;

impl LineStats {
    pub fn cpu_total(&self) -> f64 {
        self.metrics.cpu_total()
    }

    /// True when any metric of the normalized schema is non-zero: such a line is kept. Scalene's GPU
    /// average and async share are not in the schema, so alone they keep no line.
    pub fn has_activity(&self) -> bool {
        let in_schema = LineMetrics { gpu_avg_mb: 0.0, async_await_percent: 0.0, ..self.metrics };
        in_schema.into_array().iter().any(|value| *value != 0.0)
    }
}

/// A function's totals, computed by summing its lines (Scalene's own totals under-count).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunctionStats {
    /// Qualified name as Scalene reports it (`Worker.run`).
    pub name: String,
    /// The `def` line.
    pub line: u32,
    pub end_line: u32,
    pub cpu_python: f64,
    pub cpu_native: f64,
    pub cpu_system: f64,
    /// The largest peak of any of its lines.
    pub peak_mb: f64,
    /// Sum of its lines' allocations.
    pub alloc_mb: f64,
}

impl FunctionStats {
    pub fn cpu_total(&self) -> f64 {
        self.cpu_python + self.cpu_native + self.cpu_system
    }

    pub fn contains(&self, line: u32) -> bool {
        (self.line..=self.end_line).contains(&line)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Leak {
    pub line: u32,
    /// 0..1
    pub likelihood: f64,
    pub velocity_mb_s: f64,
}

impl Profile {
    /// A profile with no data (a run stopped before Scalene wrote anything, or Scalene's `{}`).
    pub fn empty(status: RunStatus, program: String) -> Profile {
        Profile {
            status,
            program,
            args: Vec::new(),
            exit_code: None,
            elapsed_s: 0.0,
            peak_mb: 0.0,
            peak_at: None,
            memory: false,
            gpu: false,
            scalene_version: None,
            timeline: Vec::new(),
            files: Vec::new(),
            notes: Vec::new(),
            stderr_tail: None,
            stdout_tail: None,
            created: SystemTime::now(),
            context: None,
            spread: None,
            cpu_sampling_s: None,
            call_paths: None,
            attached: None,
            tests: None,
        }
    }

    /// The mode the profile was made in: recorded for a run here, else what its data shows.
    pub fn mode(&self) -> Mode {
        match &self.context {
            Some(context) => context.mode,
            None if self.gpu => Mode::Gpu,
            None if self.memory => Mode::Memory,
            None => Mode::Cpu,
        }
    }

    pub fn file(&self, path: &Path) -> Option<&FileProfile> {
        self.files.iter().find(|file| file.path == path)
    }

    /// The line with the largest CPU share in any file.
    pub fn hottest_line(&self) -> Option<(&FileProfile, &LineStats)> {
        ranked_lines(Rank::Cpu, self.files.iter(), 1).1.into_iter().next().map(|(file, line, _)| (file, line))
    }

    /// Rough heap size, for the cache's byte bound.
    pub fn approx_bytes(&self) -> usize {
        let lines: usize = self
            .files
            .iter()
            .map(|file| {
                file.path.as_os_str().len()
                    + file.lines.iter().map(|line| size_of::<LineStats>() + line.text.len() + line.memory_timeline.len() * 16).sum::<usize>()
                    + file.functions.iter().map(|f| size_of::<FunctionStats>() + f.name.len()).sum::<usize>()
                    + file.leaks.len() * size_of::<Leak>()
                    + file.source.len()
            })
            .sum();
        size_of::<Profile>()
            + lines
            + self.timeline.len() * 16
            + self.stderr_tail.as_ref().map_or(0, String::len)
            + self.stdout_tail.as_ref().map_or(0, String::len)
            + self.notes.iter().map(String::len).sum::<usize>()
            + self.args.iter().map(String::len).sum::<usize>()
            + self.spread.as_ref().map_or(0, |spread| {
                spread
                    .files
                    .iter()
                    .map(|file| {
                        file.lines.len() * size_of::<(u32, MetricSpread)>()
                            + file.functions.iter().map(|f| size_of::<(String, u32, MetricSpread)>() + f.0.len()).sum::<usize>()
                    })
                    .sum()
            })
    }
}

impl FileProfile {
    /// Lines with activity whose number is in `range` (binary search: cheap on big files).
    pub fn lines_in(&self, range: RangeInclusive<u32>) -> &[LineStats] {
        let start = self.lines.partition_point(|line| line.line < *range.start());
        let end = self.lines.partition_point(|line| line.line <= *range.end());
        &self.lines[start..end.max(start)]
    }

    pub fn line(&self, line: u32) -> Option<&LineStats> {
        self.lines.binary_search_by_key(&line, |stats| stats.line).ok().map(|idx| &self.lines[idx])
    }

    /// The innermost function whose range contains `line`.
    pub fn function_at(&self, line: u32) -> Option<&FunctionStats> {
        self.functions
            .iter()
            .filter(|function| function.contains(line))
            .min_by_key(|function| function.end_line - function.line)
    }

    pub fn leak(&self, line: u32) -> Option<&Leak> {
        self.leaks.iter().find(|leak| leak.line == line)
    }
}

/// What ranks lines, hottest first (`ranked_lines`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rank {
    /// Share of CPU time; lines with no CPU sample but a memory peak come after, by their peak.
    #[default]
    Cpu,
    /// Peak memory (lines that only allocated rank by a tiny fraction of it, after every peak).
    Memory,
    /// GPU utilisation.
    Gpu,
    /// Likelihood of a memory leak.
    Leaks,
}

impl Rank {
    /// The value a line is ranked by (0: not ranked).
    pub fn value(self, file: &FileProfile, line: &LineStats) -> f64 {
        match self {
            Rank::Cpu => line.cpu_total(),
            Rank::Memory => line.metrics.peak_mb.max(line.metrics.alloc_mb * 1e-9),
            Rank::Gpu => line.metrics.gpu_percent,
            Rank::Leaks => file.leak(line.line).map_or(0.0, |leak| leak.likelihood),
        }
    }

    fn ranks(self, line: &LineStats, value: f64) -> bool {
        value > 0.0 || (self == Rank::Cpu && line.metrics.peak_mb > 0.0)
    }
}

/// Hottest first: the larger value, then the larger peak, then path, then line (a total order, so
/// every front end lists the same lines in the same order).
fn hotter(a: &(&FileProfile, &LineStats, f64), b: &(&FileProfile, &LineStats, f64)) -> std::cmp::Ordering {
    b.2.total_cmp(&a.2).then(b.1.metrics.peak_mb.total_cmp(&a.1.metrics.peak_mb)).then_with(|| a.0.path.cmp(&b.0.path)).then(a.1.line.cmp(&b.1.line))
}

/// The `limit` hottest lines of `files` by `by` (hottest first, with the value they rank by), and how
/// many lines rank at all. A partial selection: a profile with thousands of lines costs one pass.
pub fn ranked_lines<'a>(by: Rank, files: impl Iterator<Item = &'a FileProfile>, limit: usize) -> (usize, Vec<(&'a FileProfile, &'a LineStats, f64)>) {
    let mut ranked: Vec<_> = files
        .flat_map(|file| file.lines.iter().map(move |line| (file, line, by.value(file, line))))
        .filter(|(_, line, value)| by.ranks(line, *value))
        .collect();
    let total = ranked.len();
    if ranked.len() > limit {
        ranked.select_nth_unstable_by(limit, hotter);
        ranked.truncate(limit);
    }
    ranked.sort_by(hotter);
    (total, ranked)
}

/// The functions of `files`, hottest first: the larger CPU share, then the larger peak, then path, then
/// name.
pub fn ranked_functions<'a>(files: impl Iterator<Item = &'a FileProfile>) -> Vec<(&'a FileProfile, &'a FunctionStats)> {
    let mut functions: Vec<_> = files.flat_map(|file| file.functions.iter().map(move |function| (file, function))).collect();
    functions.sort_by(|a, b| {
        b.1.cpu_total()
            .total_cmp(&a.1.cpu_total())
            .then(b.1.peak_mb.total_cmp(&a.1.peak_mb))
            .then_with(|| a.0.path.cmp(&b.0.path))
            .then_with(|| a.1.name.cmp(&b.1.name))
    });
    functions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, lines: &[(u32, f64, f64)]) -> FileProfile {
        FileProfile {
            path: path.into(),
            cpu_percent: 0.0,
            lines: lines.iter().map(|&(line, cpu, peak)| LineStats { line, metrics: LineMetrics { cpu_python: cpu, peak_mb: peak, ..LineMetrics::default() }, ..LineStats::default() }).collect(),
            functions: Vec::new(),
            leaks: Vec::new(),
            source: "".into(),
        }
    }

    #[test]
    fn only_metrics_of_the_normalized_schema_keep_a_line() {
        let line = |metrics| LineStats { line: 1, metrics, ..LineStats::default() };
        assert!(!line(LineMetrics { gpu_avg_mb: 1.0, async_await_percent: 1.0, ..LineMetrics::default() }).has_activity());
        assert!(line(LineMetrics { mallocs: 1.0, ..LineMetrics::default() }).has_activity());
        assert!(!line(LineMetrics::default()).has_activity());
    }

    #[test]
    fn lines_rank_hottest_first_with_a_total_order_and_memory_only_lines_after_cpu() {
        let a = file("/p/a.py", &[(1, 5.0, 0.0), (2, 20.0, 0.0), (3, 0.0, 40.0), (4, 0.0, 0.0)]);
        let b = file("/p/b.py", &[(1, 20.0, 3.0), (2, 5.0, 0.0)]);
        let (total, ranked) = ranked_lines(Rank::Cpu, [&a, &b].into_iter(), usize::MAX);
        let order: Vec<(String, u32)> = ranked.iter().map(|(f, l, _)| (f.path.display().to_string(), l.line)).collect();
        let expected = [("/p/b.py", 1), ("/p/a.py", 2), ("/p/a.py", 1), ("/p/b.py", 2), ("/p/a.py", 3)];
        assert_eq!(order, expected.map(|(p, l)| (p.to_string(), l)), "cpu, then peak, then path, then line; no-CPU line with a peak last");
        assert_eq!(total, 5, "a line with nothing measured does not rank");
        let (total, top) = ranked_lines(Rank::Cpu, [&a, &b].into_iter(), 2);
        assert_eq!((total, top.len(), top[0].1.line, top[0].0.path.display().to_string()), (5, 2, 1, "/p/b.py".to_string()));
        let (_, memory) = ranked_lines(Rank::Memory, [&a, &b].into_iter(), usize::MAX);
        assert_eq!(memory.iter().map(|(_, l, _)| l.line).collect::<Vec<_>>(), vec![3, 1]);
    }
}
