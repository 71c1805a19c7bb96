//! The normalized JSON, version 1 (docs/schema.md): what `--json` prints and what MCP returns. The only
//! serialized form of a profile: saved profiles store it, and `compare` reads it back (`into_profile`).
//! Readers accept unknown keys (fields added within version 1), never a wrong type or a missing field.

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::profile::metrics::LineMetrics;
use crate::engine::profile::model::{
    ATTACHED_SOURCE, FileProfile, FileSpread, FunctionStats, Leak, LineStats, MetricSpread, Profile, RunStatus, SourceLocation, Spread, Stat,
};

mod attached;
mod call_paths;
mod suite;

pub use attached::{AttachedJson, ThreadJson};
pub use call_paths::{CallFunctionJson, CallPathsJson, StackJson};
pub use suite::{TestJson, TestsJson};

pub const SCHEMA_VERSION: u32 = 1;

/// A Scalene profile, normalized. Numbers are Scalene's own, unrounded.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ProfileJson {
    /// Always 1 for this layout.
    pub schema: u32,
    /// ok | program_failed | too_short | cancelled | timed_out | running (a live snapshot of a run still going)
    pub status: StatusJson,
    /// The profiled program (absolute path) or `-m module`.
    pub program: String,
    /// The program's arguments (without the program itself).
    pub args: Vec<String>,
    /// The program's exit code; null for a loaded JSON or a run ended by a signal.
    pub exit_code: Option<i32>,
    /// Wall-clock seconds (Scalene's `elapsed_time_sec`).
    pub elapsed_s: f64,
    /// Peak memory footprint in MB (`max_footprint_mb`).
    pub peak_mb: f64,
    /// Where the peak footprint was reached.
    pub peak_at: Option<LocationJson>,
    /// Whether memory was profiled.
    pub memory: bool,
    /// Whether GPU was profiled.
    pub gpu: bool,
    /// Scalene's version when the run happened here; null for a loaded JSON.
    pub scalene_version: Option<String>,
    /// Notes about the run: why it is partial or empty and what to do.
    pub notes: Vec<String>,
    /// The last lines of the program's stderr when it ran here (at most 64 KB); null otherwise.
    pub stderr_tail: Option<String>,
    pub files: Vec<FileJson>,
    /// Present when the profile is the mean of repeated runs (`--repeat N`): each metric's mean, min and
    /// max over the runs. The numbers above are then the means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<SpreadJson>,
    /// Scalene's CPU sampling interval in seconds (`--cpu-sampling-rate`), when the run happened here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_sampling_s: Option<f64>,
    /// Who called what, from Scalene's sampled stacks (docs/schema.md, "Call paths"); absent when Scalene
    /// recorded none (before 2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_paths: Option<CallPathsJson>,
    /// `py-spy` for a profile made by attaching to a running process (`scalene-lsp attach`); absent for a
    /// Scalene profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// How an attached profile was sampled (present exactly when `source` is `py-spy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached: Option<AttachedJson>,
    /// A pytest suite run's tests (`profile --tests`; docs/schema.md, "Tests"); absent for other runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestsJson>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum StatusJson {
    Ok,
    ProgramFailed,
    TooShort,
    Cancelled,
    TimedOut,
    Running,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct LocationJson {
    pub file: String,
    pub line: u32,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct FileJson {
    /// Absolute path.
    pub path: String,
    /// This file's share of the run's CPU time, percent.
    pub cpu_percent: f64,
    /// Lines with any non-zero metric, by line number.
    pub lines: Vec<LineJson>,
    /// Functions by `def` line, with totals summed over their lines.
    pub functions: Vec<FunctionJson>,
    pub leaks: Vec<LeakJson>,
    /// The file's text as Scalene profiled it (its per-line copy of the source, `& < >` restored), so that
    /// a later comparison can match lines after edits; null when Scalene did not list every line.
    #[serde(default)]
    pub source: Option<String>,
}

/// One line's numbers. CPU values are percent of the whole run's CPU time.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct LineJson {
    /// 1-based line number.
    pub line: u32,
    /// n_cpu_percent_python
    pub cpu_python: f64,
    /// n_cpu_percent_c
    pub cpu_native: f64,
    /// n_sys_percent
    pub cpu_system: f64,
    /// n_core_utilization (0..1)
    pub core_utilization: f64,
    /// n_peak_mb
    pub peak_mb: f64,
    /// n_avg_mb
    pub avg_mb: f64,
    /// n_malloc_mb: MB allocated, cumulative
    pub alloc_mb: f64,
    /// n_mallocs: allocation samples (not malloc calls)
    pub mallocs: u64,
    /// n_python_fraction: share of allocations made by Python code (0..1)
    pub python_fraction: f64,
    /// n_usage_fraction: share of the run's memory use (0..1)
    pub usage_fraction: f64,
    /// n_copy_mb_s: memory copy volume, MB/s
    pub copy_mb_s: f64,
    /// n_gpu_percent
    pub gpu_percent: f64,
    /// n_gpu_peak_memory_mb
    pub gpu_peak_mb: f64,
    /// How many CPU samples were charged to the line (the length of Scalene's `cpu_samples_list`, at most
    /// 500; the mean per run for repeated runs): the sampling error of comparisons. Absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_samples: Option<f64>,
    /// The outermost loop around the line, `[first, last]` (Scalene's `start/end_outermost_loop`):
    /// Scalene spreads a loop's samples over its lines, so comparisons judge the loop as one.
    #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
    pub outer_loop: Option<[u32; 2]>,
}

/// A function's totals: CPU summed over its lines (start_function_line..end_function_line), peak the
/// largest line peak, allocations summed.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct FunctionJson {
    /// Qualified name (`Class.method`).
    pub name: String,
    /// The `def` line.
    pub line: u32,
    pub end_line: u32,
    pub cpu_python: f64,
    pub cpu_native: f64,
    pub cpu_system: f64,
    pub peak_mb: f64,
    pub alloc_mb: f64,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct LeakJson {
    pub line: u32,
    /// 0..1
    pub likelihood: f64,
    pub velocity_mb_s: f64,
}

impl From<&Profile> for ProfileJson {
    fn from(profile: &Profile) -> ProfileJson {
        ProfileJson {
            schema: SCHEMA_VERSION,
            status: match profile.status {
                crate::engine::profile::model::RunStatus::Ok => StatusJson::Ok,
                crate::engine::profile::model::RunStatus::ProgramFailed => StatusJson::ProgramFailed,
                crate::engine::profile::model::RunStatus::TooShort => StatusJson::TooShort,
                crate::engine::profile::model::RunStatus::Cancelled => StatusJson::Cancelled,
                crate::engine::profile::model::RunStatus::TimedOut => StatusJson::TimedOut,
                crate::engine::profile::model::RunStatus::Running => StatusJson::Running,
            },
            program: profile.program.clone(),
            args: profile.args.clone(),
            exit_code: profile.exit_code,
            elapsed_s: profile.elapsed_s,
            peak_mb: profile.peak_mb,
            peak_at: profile
                .peak_at
                .as_ref()
                .map(|at| LocationJson { file: at.file.display().to_string(), line: at.line }),
            memory: profile.memory,
            gpu: profile.gpu,
            scalene_version: profile.scalene_version.clone(),
            notes: profile.notes.clone(),
            stderr_tail: profile.stderr_tail.clone(),
            files: profile.files.iter().map(FileJson::from).collect(),
            spread: profile.spread.as_deref().map(SpreadJson::from),
            cpu_sampling_s: profile.cpu_sampling_s,
            call_paths: profile.call_paths.as_deref().map(CallPathsJson::from),
            source: profile.attached.is_some().then(|| ATTACHED_SOURCE.to_string()),
            attached: profile.attached.as_deref().map(AttachedJson::from),
            tests: profile.tests.as_deref().map(TestsJson::from),
        }
    }
}

impl From<&FileProfile> for FileJson {
    fn from(file: &FileProfile) -> FileJson {
        FileJson {
            path: file.path.display().to_string(),
            cpu_percent: file.cpu_percent,
            lines: file.lines.iter().map(LineJson::from).collect(),
            functions: file.functions.iter().map(FunctionJson::from).collect(),
            leaks: file
                .leaks
                .iter()
                .map(|leak| LeakJson { line: leak.line, likelihood: leak.likelihood, velocity_mb_s: leak.velocity_mb_s })
                .collect(),
            source: (!file.source.is_empty()).then(|| file.source.to_string()),
        }
    }
}

impl From<&LineStats> for LineJson {
    fn from(line: &LineStats) -> LineJson {
        // Every metric of the model, named so that a new one cannot be left out unseen.
        let LineMetrics {
            cpu_python, cpu_native, cpu_system, core_utilization, peak_mb, avg_mb, alloc_mb, mallocs,
            python_fraction, usage_fraction, copy_mb_s, gpu_percent, gpu_peak_mb, gpu_avg_mb: _, async_await_percent: _,
        } = line.metrics;
        LineJson {
            line: line.line,
            cpu_python, cpu_native, cpu_system, core_utilization, peak_mb, avg_mb, alloc_mb, mallocs: mallocs as u64,
            python_fraction, usage_fraction, copy_mb_s, gpu_percent, gpu_peak_mb,
            cpu_samples: line.cpu_samples,
            outer_loop: line.outer_loop.as_ref().map(|range| [*range.start(), *range.end()]),
        }
    }
}

impl From<&FunctionStats> for FunctionJson {
    fn from(function: &FunctionStats) -> FunctionJson {
        FunctionJson {
            name: function.name.clone(),
            line: function.line,
            end_line: function.end_line,
            cpu_python: function.cpu_python,
            cpu_native: function.cpu_native,
            cpu_system: function.cpu_system,
            peak_mb: function.peak_mb,
            alloc_mb: function.alloc_mb,
        }
    }
}

/// Mean, smallest and largest value over the runs.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StatJson {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// Ranges over repeated runs.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct SpreadJson {
    /// How many runs the means are over.
    pub runs: u32,
    pub elapsed_s: StatJson,
    pub peak_mb: StatJson,
    /// Each run's elapsed seconds, in run order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elapsed_runs: Vec<f64>,
    pub files: Vec<FileSpreadJson>,
}

/// One metric set over the runs: CPU share (percent of each run), CPU seconds (share × that run's
/// elapsed time), peak MB and allocated MB.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct MetricSpreadJson {
    pub cpu_percent: StatJson,
    pub cpu_s: StatJson,
    pub peak_mb: StatJson,
    pub alloc_mb: StatJson,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct FileSpreadJson {
    pub path: String,
    pub total: MetricSpreadJson,
    pub lines: Vec<LineSpreadJson>,
    pub functions: Vec<FunctionSpreadJson>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct LineSpreadJson {
    pub line: u32,
    pub metrics: MetricSpreadJson,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct FunctionSpreadJson {
    pub name: String,
    /// The `def` line.
    pub line: u32,
    pub metrics: MetricSpreadJson,
}

impl From<Stat> for StatJson {
    fn from(stat: Stat) -> StatJson {
        StatJson { mean: stat.mean, min: stat.min, max: stat.max }
    }
}

impl From<StatJson> for Stat {
    fn from(stat: StatJson) -> Stat {
        Stat { mean: stat.mean, min: stat.min, max: stat.max }
    }
}

impl From<&MetricSpread> for MetricSpreadJson {
    fn from(spread: &MetricSpread) -> MetricSpreadJson {
        MetricSpreadJson {
            cpu_percent: spread.cpu_percent.into(),
            cpu_s: spread.cpu_s.into(),
            peak_mb: spread.peak_mb.into(),
            alloc_mb: spread.alloc_mb.into(),
        }
    }
}

impl From<MetricSpreadJson> for MetricSpread {
    fn from(spread: MetricSpreadJson) -> MetricSpread {
        MetricSpread {
            cpu_percent: spread.cpu_percent.into(),
            cpu_s: spread.cpu_s.into(),
            peak_mb: spread.peak_mb.into(),
            alloc_mb: spread.alloc_mb.into(),
        }
    }
}

impl From<&Spread> for SpreadJson {
    fn from(spread: &Spread) -> SpreadJson {
        SpreadJson {
            runs: spread.runs,
            elapsed_s: spread.elapsed_s.into(),
            peak_mb: spread.peak_mb.into(),
            elapsed_runs: spread.elapsed_runs.clone(),
            files: spread
                .files
                .iter()
                .map(|file| FileSpreadJson {
                    path: file.path.display().to_string(),
                    total: (&file.total).into(),
                    lines: file.lines.iter().map(|(line, metrics)| LineSpreadJson { line: *line, metrics: metrics.into() }).collect(),
                    functions: file
                        .functions
                        .iter()
                        .map(|(name, line, metrics)| FunctionSpreadJson { name: name.clone(), line: *line, metrics: metrics.into() })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<SpreadJson> for Spread {
    fn from(spread: SpreadJson) -> Spread {
        let mut files: Vec<FileSpread> = spread
            .files
            .into_iter()
            .map(|file| {
                let mut lines: Vec<(u32, MetricSpread)> =
                    file.lines.into_iter().map(|line| (line.line, line.metrics.into())).collect();
                lines.sort_by_key(|(line, _)| *line);
                FileSpread {
                    path: PathBuf::from(file.path),
                    total: file.total.into(),
                    lines,
                    functions: file.functions.into_iter().map(|f| (f.name, f.line, f.metrics.into())).collect(),
                }
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Spread { runs: spread.runs, elapsed_s: spread.elapsed_s.into(), peak_mb: spread.peak_mb.into(), elapsed_runs: spread.elapsed_runs, files }
    }
}

impl ProfileJson {
    /// The model again, for a profile read back (a saved profile, or `--json` output given to
    /// `compare`). Not kept by the normalized form: stdout, memory timelines; a line's text comes from
    /// the file's `source`.
    pub fn into_profile(self) -> Profile {
        let status = match self.status {
            StatusJson::Ok => RunStatus::Ok,
            StatusJson::ProgramFailed => RunStatus::ProgramFailed,
            StatusJson::TooShort => RunStatus::TooShort,
            StatusJson::Cancelled => RunStatus::Cancelled,
            StatusJson::TimedOut => RunStatus::TimedOut,
            StatusJson::Running => RunStatus::Running,
        };
        let mut profile = Profile::empty(status, self.program);
        profile.args = self.args;
        profile.exit_code = self.exit_code;
        profile.elapsed_s = self.elapsed_s;
        profile.peak_mb = self.peak_mb;
        profile.peak_at = self.peak_at.map(|at| SourceLocation { file: PathBuf::from(at.file), line: at.line });
        profile.memory = self.memory;
        profile.gpu = self.gpu;
        profile.scalene_version = self.scalene_version;
        profile.notes = self.notes;
        profile.stderr_tail = self.stderr_tail;
        profile.files = self.files.into_iter().map(FileJson::into_file).collect();
        profile.files.sort_by(|a, b| a.path.cmp(&b.path));
        profile.spread = self.spread.map(|spread| Arc::new(spread.into()));
        profile.cpu_sampling_s = self.cpu_sampling_s;
        profile.call_paths = self.call_paths.and_then(CallPathsJson::into_call_paths).map(Arc::new);
        profile.attached = self.attached.map(|attached| Arc::new(attached.into_attached()));
        profile.tests = self.tests.map(|tests| Arc::new(tests.into_suite()));
        profile
    }
}

impl FileJson {
    fn into_file(self) -> FileProfile {
        let source = self.source.unwrap_or_default();
        let texts: Vec<&str> = source.lines().collect();
        let mut lines: Vec<LineStats> = self
            .lines
            .into_iter()
            .map(|line| {
                let LineJson {
                    line, cpu_python, cpu_native, cpu_system, core_utilization, peak_mb, avg_mb, alloc_mb, mallocs,
                    python_fraction, usage_fraction, copy_mb_s, gpu_percent, gpu_peak_mb, cpu_samples, outer_loop,
                } = line;
                LineStats {
                    line,
                    text: texts.get((line as usize).wrapping_sub(1)).map(|text| text.to_string()).unwrap_or_default(),
                    metrics: LineMetrics {
                        cpu_python, cpu_native, cpu_system, core_utilization, peak_mb, avg_mb, alloc_mb, mallocs: mallocs as f64,
                        python_fraction, usage_fraction, copy_mb_s, gpu_percent, gpu_peak_mb,
                        // Not in the normalized JSON.
                        gpu_avg_mb: 0.0,
                        async_await_percent: 0.0,
                    },
                    cpu_samples,
                    outer_loop: outer_loop.filter(|[start, end]| *start > 0 && end > start).map(|[start, end]| start..=end),
                    ..LineStats::default()
                }
            })
            .collect();
        lines.sort_by_key(|line| line.line);
        let mut functions: Vec<FunctionStats> = self
            .functions
            .into_iter()
            .map(|function| FunctionStats {
                name: function.name,
                line: function.line,
                end_line: function.end_line,
                cpu_python: function.cpu_python,
                cpu_native: function.cpu_native,
                cpu_system: function.cpu_system,
                peak_mb: function.peak_mb,
                alloc_mb: function.alloc_mb,
            })
            .collect();
        functions.sort_by_key(|function| function.line);
        let mut leaks: Vec<Leak> = self
            .leaks
            .into_iter()
            .map(|leak| Leak { line: leak.line, likelihood: leak.likelihood, velocity_mb_s: leak.velocity_mb_s })
            .collect();
        leaks.sort_by_key(|leak| leak.line);
        FileProfile { path: PathBuf::from(self.path), cpu_percent: self.cpu_percent, lines, functions, leaks, source: source.into() }
    }
}

/// Reads normalized JSON (a `ProfileJson`, or a document holding one) as a v1 reader: unknown keys are
/// ignored; a wrong type or a missing field is an error that names its path
/// (`at \`files[0].lines[2].cpu_python\`: invalid type: string "x", expected f64`).
pub fn read_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let truncated = |err: &serde_json::Error| err.classify() == serde_json::error::Category::Eof;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut deserializer).map_err(|err| match err.path().to_string().as_str() {
        _ if truncated(err.inner()) => "it ends early (truncated)".to_string(),
        "." => err.inner().to_string(),
        path => format!("at `{path}`: {}", err.inner()),
    })?;
    deserializer.end().map_err(|err| err.to_string())?;
    Ok(value)
}

/// The JSON Schema of `ProfileJson` (embedded in docs/schema.md; a test keeps the two equal).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ProfileJson)).expect("a schema always serializes")
}
