//! The inputs and outputs of the saved-profile and comparison tools (mcp/saved.rs), typed like the
//! profiling tools' (the parent module).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveProfileParams {
    /// The profile to save ("p3", from profile or list_profiles).
    pub profile_id: String,
    /// The name to save it under: 1-64 letters, digits, ".", "_" or "-", not starting with a dot
    /// (default "baseline"). A saved profile of that name is replaced.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSavedParams {
    /// How many, newest first (default 20, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteSavedParams {
    /// The saved profile's name.
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanupSavedParams {
    /// Delete this workspace's saved profiles saved more than this many days ago.
    pub max_age_days: f64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareParams {
    /// The before side: a profile id in memory ("p3") or a saved name ("baseline"). A `p<N>` that is in
    /// memory is the profile; anything else is a saved name.
    pub before: String,
    /// The after side (the same kinds). Default: the newest other profile in memory of the same program.
    #[serde(default)]
    pub after: Option<String>,
    /// How many changed functions and lines to list (each; default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Noise rule: a change must be at least this percent of the before value (default 10).
    #[serde(default)]
    pub min_change_percent: Option<f64>,
    /// Noise rule: the comparison's error budget, the chance in percent that unchanged code gets anything
    /// named (default 1).
    #[serde(default)]
    pub error_rate_percent: Option<f64>,
    /// Compare even when the two profiles look like different programs (default false: refused).
    #[serde(default)]
    pub force: Option<bool>,
    /// Noise rule: a CPU change must be at least this percent of the longer run's elapsed time (default 2).
    #[serde(default)]
    pub min_cpu_percent: Option<f64>,
    /// Noise rule: a memory change (MB allocated, or the peak) must be at least this many MB (default 10).
    #[serde(default)]
    pub min_mb: Option<f64>,
}

/// A saved profile as agents see it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SavedRow {
    pub name: String,
    /// When it was saved (RFC 3339, UTC).
    pub created: String,
    /// The profiled program, relative to the workspace root.
    pub program: String,
    pub args: Vec<String>,
    /// cpu | memory | gpu
    pub mode: String,
    pub status: String,
    pub elapsed_s: f64,
    pub peak_mb: f64,
    /// How many runs its numbers are the mean of.
    pub runs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scalene_version: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SaveProfileResult {
    pub saved: SavedRow,
    pub profile_id: String,
    /// Older saved profiles removed to stay within the store's quota.
    pub evicted: Vec<String>,
    pub more: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListSavedResult {
    /// This workspace's saved profiles, newest first.
    pub saved: Vec<SavedRow>,
    pub total: usize,
    /// Saved profiles of programs outside the workspace (not shown).
    pub other_projects: usize,
    /// Files in the store that are not readable saved profiles (skipped).
    pub problems: Vec<String>,
    pub more: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteSavedResult {
    pub deleted: bool,
    pub name: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CleanupSavedResult {
    /// The names removed.
    pub removed: Vec<String>,
}

/// The comparison (docs/schema.md, "Comparison"), bounded for agents: numbers rounded (2 decimals),
/// paths relative to the workspace root, only the changed functions and lines (biggest first).
#[derive(Debug, Serialize, JsonSchema)]
pub struct CompareResult {
    pub before: crate::engine::profile::compare::RunSummary,
    pub after: crate::engine::profile::compare::RunSummary,
    pub rule: crate::engine::profile::compare::RuleJson,
    pub overall: crate::engine::profile::compare::Overall,
    /// Counts over everything compared, the overall verdict and a few sentences.
    pub summary: crate::engine::profile::compare::Summary,
    /// Changed functions (regressed, improved, new, removed), the biggest CPU changes first.
    pub functions: Vec<crate::engine::profile::compare::FunctionChange>,
    /// Changed lines, the biggest CPU changes first.
    pub lines: Vec<crate::engine::profile::compare::LineChange>,
    pub notes: Vec<String>,
    pub more: String,
}

