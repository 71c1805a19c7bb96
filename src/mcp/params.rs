//! Tool inputs and outputs: typed, with JSON Schemas (schemars) that tell an agent what to send and
//! what comes back. Paths are relative to the workspace root; views round numbers (2 decimals for
//! percentages and MB, 3 for fractions); `line_profile` carries Scalene's own numbers under the
//! normalized names of docs/schema.md.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::Mode;
use crate::engine::profile::schema::LineJson;

pub mod attach;
pub mod call_paths;
pub mod saved;
pub mod suite;

/// A tool's output schema: rmcp's, made open (`additionalProperties: false` removed everywhere).
/// Output types embed the normalized schema's types (`LineJson`), which are closed for docs/schema.md;
/// a flattened closed type would make a client's validator reject the fields added next to it (`source`).
pub fn output_schema<T: JsonSchema + std::any::Any>() -> std::sync::Arc<rmcp::model::JsonObject> {
    fn open(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(object) => {
                if object.get("additionalProperties") == Some(&serde_json::Value::Bool(false)) {
                    object.remove("additionalProperties");
                }
                object.values_mut().for_each(open);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(open),
            _ => {}
        }
    }
    let mut schema = serde_json::Value::Object((*rmcp::handler::server::tool::schema_for_output::<T>()).clone());
    open(&mut schema);
    match schema {
        serde_json::Value::Object(object) => std::sync::Arc::new(object),
        _ => unreachable!("an object stays an object"),
    }
}

/// Default and maximum number of rows a listing returns.
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 100;
pub const DEFAULT_LINE_LIMIT: usize = 40;
pub const MAX_LINE_LIMIT: usize = 500;

/// Which number ranks the lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Share of CPU time (python + native + system), percent of the whole run.
    #[default]
    Cpu,
    /// Peak memory attributed to the line, MB.
    Memory,
    /// GPU utilisation, percent.
    Gpu,
    /// Likely memory leaks, by likelihood.
    Leaks,
}

impl Metric {
    /// The model's ranking for it (`model::ranked_lines`).
    pub fn rank(self) -> crate::engine::profile::model::Rank {
        use crate::engine::profile::model::Rank;
        match self {
            Metric::Cpu => Rank::Cpu,
            Metric::Memory => Rank::Memory,
            Metric::Gpu => Rank::Gpu,
            Metric::Leaks => Rank::Leaks,
        }
    }
}

// ---------------------------------------------------------------- inputs

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileParams {
    /// The Python file to run and profile, relative to the workspace root (e.g. "src/app.py").
    pub path: String,
    /// Arguments for the program (passed as argv, never through a shell; a bare "--" is refused).
    #[serde(default)]
    pub args: Vec<String>,
    /// cpu (fastest), memory (default: CPU + memory + leaks) or gpu.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Stop the run after this many seconds and keep the partial profile (default 600).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// How many hotspot lines and functions to include (default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// A live run: Scalene writes a snapshot of the run so far every second, readable with hotspots /
    /// line_profile / function_profile {"run_id": ...} while it goes on (for servers, workers, loops).
    #[serde(default)]
    pub live: bool,
    /// Start with recording paused; `resume` / `pause` record only a window.
    #[serde(default)]
    pub paused: bool,
    /// false: return {run_id, status "running"} at once and let the run go on (stop it with cancel);
    /// default true: wait for the end and return the summary.
    #[serde(default)]
    pub wait: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileCodeParams {
    /// Python source to run under Scalene (written to a private temporary file; run with the workspace
    /// root as the working directory and on PYTHONPATH).
    pub code: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Default 120 seconds.
    #[serde(default)]
    pub timeout_s: Option<f64>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HotspotsParams {
    /// A profile id from `profile`/`list_profiles` ("p3"). Default: the newest profile covering `path`,
    /// or the newest profile of all.
    #[serde(default)]
    pub profile_id: Option<String>,
    /// Only lines of this file (relative to the workspace root).
    #[serde(default)]
    pub path: Option<String>,
    /// cpu (default), memory, gpu or leaks.
    #[serde(default)]
    pub metric: Metric,
    /// How many lines (default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// A run ("run-3"): its newest live snapshot while it goes on, its final profile afterwards.
    #[serde(default)]
    pub run_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineProfileParams {
    /// The file, relative to the workspace root.
    pub path: String,
    /// First line (1-based, default 1).
    #[serde(default)]
    pub start_line: Option<u32>,
    /// Last line (inclusive, default: end of file).
    #[serde(default)]
    pub end_line: Option<u32>,
    /// A profile id ("p3"); default: the newest profile covering the file.
    #[serde(default)]
    pub profile_id: Option<String>,
    /// At most this many lines with activity (default 40, at most 500).
    #[serde(default)]
    pub limit: Option<usize>,
    /// A run ("run-3"): its newest live snapshot while it goes on, its final profile afterwards.
    #[serde(default)]
    pub run_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionProfileParams {
    /// The file, relative to the workspace root.
    pub path: String,
    /// A function name ("main", "Worker.run"); a bare method name matches "Class.name". Default: all
    /// functions, hottest first.
    #[serde(default)]
    pub name: Option<String>,
    /// A profile id ("p3"); default: the newest profile covering the file.
    #[serde(default)]
    pub profile_id: Option<String>,
    /// How many functions (default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// A run ("run-3"): its newest live snapshot while it goes on, its final profile afterwards.
    #[serde(default)]
    pub run_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProfilesParams {
    /// How many profiles, newest first (default 20, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadProfileParams {
    /// An existing Scalene JSON file (from `scalene run -o FILE.json`), relative to the workspace root.
    pub path: String,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearParams {
    /// The profile to forget ("p3"); all profiles when absent.
    #[serde(default)]
    pub profile_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelParams {
    /// The run to stop ("run-3", from `list_profiles` → running or the profile progress messages);
    /// the newest run when absent.
    #[serde(default)]
    pub run_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingParams {
    /// The run ("run-3", from profile with wait false or list_profiles → runs); the newest run when absent.
    #[serde(default)]
    pub run_id: Option<String>,
}

// ---------------------------------------------------------------- outputs

/// Present when the numbers come from a live snapshot of a run still going on: they are partial.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SnapshotInfo {
    /// The run the snapshot belongs to (when it is still running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Seconds since Scalene wrote this snapshot.
    pub age_s: f64,
    /// Seconds of the run it covers (recorded time).
    pub elapsed_s: f64,
    /// False while recording is paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<bool>,
    pub note: String,
}

/// A run in progress.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunListing {
    pub run_id: String,
    pub program: String,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    pub live: bool,
    /// False while recording is paused.
    pub recording: bool,
    /// The newest snapshot's profile id (pass run_id to read it), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_profile_id: Option<String>,
    /// Seconds since that snapshot was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_age_s: Option<f64>,
    /// "path:line (x% CPU)" of the snapshot's hottest line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hottest: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RecordingResult {
    pub run_id: String,
    /// The state asked for (true: recording).
    pub requested: bool,
    /// Whether Scalene records now, as confirmed.
    pub recording: bool,
    /// False when that state already was the one asked for.
    pub changed: bool,
    /// True when Scalene had not confirmed the newest wish within the wait (a pause is confirmed once
    /// it holds, usually within a second); list_profiles → runs shows the state later.
    pub pending: bool,
}

/// One ranked line.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HotLine {
    /// File, relative to the workspace root.
    pub path: String,
    pub line: u32,
    /// The source line as profiled (trimmed, at most 120 characters).
    pub source: String,
    /// CPU time share, percent of the run (python + native + system).
    pub cpu_percent: f64,
    /// Peak memory of the line, MB (0 when memory was not profiled).
    pub peak_mb: f64,
    /// MB allocated by the line, cumulative.
    pub alloc_mb: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_percent: Option<f64>,
    /// Leak likelihood (0..1) when Scalene suspects a leak here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leak_likelihood: Option<f64>,
}

/// A function's totals (summed over its lines).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FunctionRow {
    pub path: String,
    /// Qualified name ("Class.method").
    pub name: String,
    /// The `def` line.
    pub line: u32,
    pub end_line: u32,
    pub cpu_percent: f64,
    pub cpu_python: f64,
    pub cpu_native: f64,
    pub cpu_system: f64,
    pub peak_mb: f64,
    pub alloc_mb: f64,
    /// function_profile only, when Scalene recorded stacks: who calls it (at most 3, costliest first,
    /// by CPU); `call_paths` gives more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub callers: Vec<call_paths::CallEdgeRow>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LeakRow {
    pub path: String,
    pub line: u32,
    pub source: String,
    /// 0..1
    pub likelihood: f64,
    /// Growth, MB/s.
    pub velocity_mb_s: f64,
}

/// Why a run is partial, with what the program printed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Failure {
    pub reason: String,
    /// The last lines of the program's stderr (at most 2,000 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr_tail: Option<String>,
}

/// The outcome of `profile`, `profile_code` and `load_profile`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProfileSummary {
    /// Pass to hotspots / line_profile / function_profile / clear ("p3"). Absent for a run started
    /// with wait false (use run_id until it ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// The run that made it ("run-3"), when it ran here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// ok | program_failed | too_short | cancelled | timed_out | running
    pub status: String,
    /// The profiled program, relative to the workspace root.
    pub program: String,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Peak memory footprint, MB (0 when memory was not profiled).
    pub peak_mb: f64,
    /// Whether memory was profiled.
    pub memory: bool,
    /// `py-spy` for a profile of a running process (`attach`): wall-clock samples, no memory numbers;
    /// absent for a Scalene profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Files with measurements, relative to the workspace root.
    pub files: Vec<String>,
    /// The hottest lines by CPU share.
    pub hotspots: Vec<HotLine>,
    /// The hottest functions by CPU share.
    pub functions: Vec<FunctionRow>,
    /// Likely leaks (likelihood >= 0.5).
    pub leaks: Vec<LeakRow>,
    /// Notes about the run (why it is partial, values Scalene could not measure).
    pub notes: Vec<String>,
    /// Present when the run did not finish normally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// How to get more.
    pub more: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HotspotsResult {
    pub profile_id: String,
    /// Present when the numbers are a live snapshot of a run still going on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotInfo>,
    pub metric: Metric,
    /// Lines with a non-zero value for the metric (the list shows the first `limit`).
    pub total: usize,
    pub lines: Vec<HotLine>,
    /// How to get more.
    pub more: String,
}

/// One line's numbers: the normalized schema's `LineJson` (docs/schema.md, unrounded), plus the source.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LineNumbers {
    #[serde(flatten)]
    pub numbers: LineJson,
    /// The source line as profiled (trimmed, at most 120 characters).
    pub source: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LineProfileResult {
    pub profile_id: String,
    /// Present when the numbers are a live snapshot of a run still going on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotInfo>,
    pub path: String,
    /// ok | program_failed | ... of the profile.
    pub status: String,
    pub start_line: u32,
    pub end_line: u32,
    /// Lines with activity in the range (the list shows the first `limit`).
    pub total: usize,
    /// Only lines with activity; a missing line had no measurable cost.
    pub lines: Vec<LineNumbers>,
    /// True when the file changed since it was profiled (line numbers refer to the profiled text).
    pub stale: bool,
    pub more: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FunctionProfileResult {
    pub profile_id: String,
    /// Present when the numbers are a live snapshot of a run still going on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotInfo>,
    pub path: String,
    pub total: usize,
    pub functions: Vec<FunctionRow>,
    /// With `name`: the function's hottest lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<HotLine>,
    pub more: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProfileListing {
    pub profile_id: String,
    pub status: String,
    pub program: String,
    /// "run" (profiled here) or "loaded" (from a Scalene JSON file).
    pub origin: String,
    pub elapsed_s: f64,
    pub peak_mb: f64,
    pub memory: bool,
    /// Seconds since the profile was made or loaded.
    pub age_s: u64,
    /// "path:line (x% CPU)" of the hottest line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hottest: Option<String>,
    pub files: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListProfilesResult {
    /// Newest first.
    pub profiles: Vec<ProfileListing>,
    pub total: usize,
    /// Runs in progress ("run-3"); pass to `cancel`.
    pub running: Vec<String>,
    /// The runs in progress with their state and newest live snapshot.
    pub runs: Vec<RunListing>,
    pub more: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ClearResult {
    pub cleared: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CancelResult {
    /// False when no such run was in progress.
    pub cancelled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// Rounds a view number (percent, MB, seconds) to 2 decimals.
pub fn round2(value: f64) -> f64 {
    if value.is_finite() { (value * 100.0).round() / 100.0 } else { 0.0 }
}

/// Rounds a fraction (0..1) to 3 decimals.
pub fn round3(value: f64) -> f64 {
    if value.is_finite() { (value * 1000.0).round() / 1000.0 } else { 0.0 }
}

/// A `limit` clamped to 1..=max (default when absent).
pub fn clamp_limit(limit: Option<usize>, default: usize, max: usize) -> usize {
    limit.unwrap_or(default).clamp(1, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_the_schema_line_plus_its_source_and_their_schema_allows_both() {
        let value = serde_json::to_value(LineNumbers {
            numbers: LineJson::from(&crate::engine::profile::model::LineStats {
                line: 7,
                metrics: crate::engine::profile::metrics::LineMetrics { cpu_python: 12.5, ..Default::default() },
                ..Default::default()
            }),
            source: "x = 1".into(),
        })
        .unwrap();
        assert_eq!(value["line"], 7);
        assert_eq!(value["cpu_python"], 12.5);
        assert_eq!(value["source"], "x = 1");
        let schema = serde_json::Value::Object((*output_schema::<LineProfileResult>()).clone());
        assert!(!schema.to_string().contains("\"additionalProperties\":false"), "{schema}");
        let validator = jsonschema::validator_for(&schema).unwrap();
        let result = serde_json::json!({
            "profile_id": "p1", "path": "a.py", "status": "ok", "start_line": 1, "end_line": 9, "total": 1,
            "lines": [value], "stale": false, "more": ""
        });
        assert!(validator.is_valid(&result), "{:?}", validator.iter_errors(&result).map(|e| e.to_string()).collect::<Vec<_>>());
    }
}
