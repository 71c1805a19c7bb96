//! The inputs and outputs of the test-suite tools (mcp/suite.rs), typed like the profiling tools'.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::Mode;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileTestsParams {
    /// A folder or test file of the workspace, relative to its root: only its tests run (default: the
    /// whole suite of the workspace root). pytest runs in the workspace root.
    #[serde(default)]
    pub path: Option<String>,
    /// More pytest arguments (argv, no shell): node ids, -k EXPR, -m MARKERS. pytest-xdist (-n) is refused.
    #[serde(default)]
    pub args: Vec<String>,
    /// cpu (fastest, default for suites) or memory (adds each test's peak footprint where sampled).
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Stop the run after this many seconds and keep the tests measured so far (default 600).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// How many of the slowest tests to return (default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlowestTestsParams {
    /// A suite run's profile ("p3", from profile_tests or list_profiles); default: the newest suite run.
    #[serde(default)]
    pub profile_id: Option<String>,
    /// Only the tests defined in this file (relative to the workspace root).
    #[serde(default)]
    pub path: Option<String>,
    /// How many (default 10, at most 100), slowest first.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A suite run's tests, slowest first (by the CPU samples taken while each ran).
#[derive(Debug, Serialize, JsonSchema)]
pub struct SlowestTests {
    pub profile_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// ok | program_failed (some test failed: every test keeps its numbers) | timed_out | cancelled
    pub status: String,
    pub elapsed_s: f64,
    /// Tests that ran (or began), and how many of each outcome.
    pub tests_run: usize,
    pub outcomes: Vec<OutcomeCount>,
    /// The run's CPU samples and the percent taken outside every test (start-up, collection).
    pub samples: f64,
    pub outside_percent: f64,
    /// The slowest tests, at most `limit`.
    pub tests: Vec<TestView>,
    /// Tests not listed (beyond `limit`, or outside `path`).
    pub omitted: usize,
    /// Why numbers are partial, what could not be collected.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OutcomeCount {
    pub outcome: String,
    pub count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestView {
    /// pytest's node id (`tests/test_x.py::TestA::test_b[1]`).
    pub node_id: String,
    /// The test function's file (relative to the workspace root) and first line.
    pub path: String,
    pub line: u32,
    /// passed | failed | error | skipped | xfailed | xpassed | unfinished
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Its CPU seconds (the process's, measured while it ran) and its percent of the run's CPU time.
    pub seconds: f64,
    pub percent_of_suite: f64,
    /// The same split by phase: setup and teardown include the fixtures it triggered.
    pub setup_s: f64,
    pub call_s: f64,
    pub teardown_s: f64,
    /// Its wall-clock time, setup to teardown.
    pub wall_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_mb: Option<f64>,
    /// Its 3 hottest lines.
    pub hottest: Vec<TestLineView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestLineView {
    pub path: String,
    pub line: u32,
    /// The line's text when the profile has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub seconds: f64,
    /// Its percent of the test's samples.
    pub percent_of_test: f64,
}
