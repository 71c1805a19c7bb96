//! The parameters and results of the attach tools (`list_python_processes`, `attach`; mcp/attach.rs).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachParams {
    /// The process id of a running Python program (from list_python_processes).
    pub pid: u32,
    /// How long to sample, in seconds: default 5, at most 60.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Count only this thread: its name, native id (tid) or Python id; default: every running thread.
    #[serde(default)]
    pub thread: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProcessesParams {}

/// A Python process one may attach to.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProcessRow {
    pub pid: u32,
    pub command_line: String,
    /// Its working directory (absolute), when readable.
    pub cwd: Option<String>,
    /// Seconds since it started.
    pub age_s: f64,
    /// From the interpreter's name (`3.11`), when it shows.
    pub python_version: Option<String>,
    /// Its working directory or command line is inside the workspace: `attach` may sample it without
    /// the setting that allows other processes.
    pub in_workspace: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProcessList {
    /// The workspace's processes first, then the oldest first.
    pub processes: Vec<ProcessRow>,
}
