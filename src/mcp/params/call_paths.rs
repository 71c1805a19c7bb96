//! The input and output of the `call_paths` tool (who calls a function or line, at what cost), and the
//! callers that `function_profile` adds to its rows; typed like the other tools' (the parent module).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SnapshotInfo;

/// Default and maximum number of callers, callees and paths `call_paths` lists (each).
pub const DEFAULT_CALL_LIMIT: usize = 5;
pub const MAX_CALL_LIMIT: usize = 50;
/// How many callers `function_profile` shows per function.
pub const FUNCTION_CALLERS: usize = 3;

/// Which stacks weigh the call paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallWeight {
    /// CPU samples (every profile with stacks).
    #[default]
    Cpu,
    /// MB allocated (profiles made in memory mode).
    Memory,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallPathsParams {
    /// The file the function or line is in, relative to the workspace root (e.g. "src/helpers.py").
    pub path: String,
    /// A function of that file: "score", "Worker.run" (a bare method name matches "Class.name").
    /// Give either `function` or `line`.
    #[serde(default)]
    pub function: Option<String>,
    /// A line of that file (1-based): who reached it, what it calls. Give either `function` or `line`.
    #[serde(default)]
    pub line: Option<u32>,
    /// cpu (default: CPU samples) or memory (MB allocated; memory-mode profiles).
    #[serde(default)]
    pub weight: CallWeight,
    /// How many callers, callees and paths to list, each (default 5, at most 50).
    #[serde(default)]
    pub limit: Option<usize>,
    /// A profile id ("p3"); default: the newest profile covering the file.
    #[serde(default)]
    pub profile_id: Option<String>,
    /// A run ("run-3"): its newest live snapshot while it goes on, its final profile afterwards.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// What was asked about.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CallTarget {
    /// "function" or "line".
    pub kind: String,
    /// The function's qualified name as Scalene recorded it (for a line: the function(s) on it).
    pub function: String,
    /// The file, relative to the workspace root.
    pub path: String,
    /// The function's `def` line, or the line asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The function's last line, when the profile measured it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
}

/// A caller or callee with the cost that went through the call.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CallEdgeRow {
    /// Qualified name of the caller or callee ("heavy_batch", "Worker.run", "PyNumber_Remainder").
    pub function: String,
    /// Its Python file (relative to the workspace root when inside it); absent for native code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// True for native code (C, C++, Rust: an extension module or the interpreter itself).
    pub native: bool,
    /// The native code's module (a shared library's file name), for native code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The line of the call: in the caller for a caller, in the target for a callee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_line: Option<u32>,
    /// Percent of the whole run's weight that went through this call.
    pub percent_of_run: f64,
    /// Percent of the target's inclusive weight that went through this call.
    pub percent_of_target: f64,
}

/// A chain of calls into the target.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CallPathRow {
    /// Outermost first: "main (main.py:22) → heavy_batch (main.py:11) → score (helpers.py:4)"; each
    /// caller with the line it called from, the target with its def line (or the line asked about).
    pub chain: String,
    pub percent_of_run: f64,
    pub percent_of_target: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CallPathsResult {
    pub profile_id: String,
    /// Present when the numbers are a live snapshot of a run still going on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotInfo>,
    pub weight: CallWeight,
    /// What `run_total` and `inclusive` count: "CPU samples" or "MB allocated".
    pub unit: String,
    pub target: CallTarget,
    /// The whole run's weight over its sampled stacks (samples or MB).
    pub run_total: f64,
    /// The weight of the stacks through the target (itself and everything it calls; each stack once).
    pub inclusive: f64,
    /// `inclusive` as percent of the run.
    pub inclusive_percent: f64,
    /// Percent of the run spent in the target itself (stacks ending there), not in what it calls.
    pub self_percent: f64,
    /// Who calls the target, costliest first (at most `limit`).
    pub callers: Vec<CallEdgeRow>,
    /// All callers (the list shows the first `limit`).
    pub total_callers: usize,
    /// What the target calls, costliest first (at most `limit`); native code is the innermost real
    /// work Scalene saw (e.g. numpy's `DOUBLE_add`, the interpreter's `PyNumber_Remainder`).
    pub callees: Vec<CallEdgeRow>,
    pub total_callees: usize,
    /// The costliest chains of calls into the target (at most `limit`).
    pub paths: Vec<CallPathRow>,
    pub total_paths: usize,
    /// About the stacks (what was dropped) and how to read the shares.
    pub notes: Vec<String>,
    pub more: String,
}
