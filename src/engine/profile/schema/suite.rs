//! The normalized JSON of a suite run's tests (`tests` of a profile made by `profile --tests`), both
//! ways: `From<&TestSuite>` for `--json`, MCP and saved profiles, `into_suite` when read back.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::profile::suite::{Outcome, PhaseCost, TestCost, TestLine, TestSuite};

/// A pytest suite run's tests, each with the CPU samples taken while it ran (docs/schema.md, "Tests").
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct TestsJson {
    /// Every CPU sample of the run (tests, collection, start-up), and the run's CPU seconds (the tests'
    /// measured CPU time and the samples outside them at a sample's worth): a test's `share` is its part
    /// of `cpu_s`.
    pub samples: f64,
    pub cpu_s: f64,
    /// Samples taken outside every test (start-up, collection, between tests).
    pub outside_samples: f64,
    /// How many tests pytest selected, when it said.
    pub collected: Option<u32>,
    /// pytest's exit status; null when its session did not end (stopped, or the process ended in a test).
    pub pytest_exit: Option<i32>,
    /// Files or nodes pytest could not collect, with its last lines about each.
    pub collection_errors: Vec<CollectionErrorJson>,
    pub notes: Vec<String>,
    /// In the order they ran.
    pub tests: Vec<TestJson>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct CollectionErrorJson {
    pub node: String,
    pub message: String,
}

/// One test: its phases apart (setup and teardown include its fixtures), their total, its hottest lines.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct TestJson {
    /// pytest's node id, relative to its root dir (`tests/test_x.py::TestA::test_b[1]`).
    pub node_id: String,
    /// The test function's file (absolute) and its first line (its first decorator, else its `def`; 0 when
    /// unknown).
    pub file: String,
    pub line: u32,
    /// passed | failed | error (setup or teardown failed) | skipped | xfailed | xpassed | unfinished (it
    /// began and did not end: the run was stopped, or the process ended in it)
    pub outcome: String,
    /// pytest's last line about a failure.
    pub message: Option<String>,
    /// Its part of the run's CPU time (0..1).
    pub share: f64,
    /// setup + call + teardown.
    pub total: PhaseJson,
    pub setup: PhaseJson,
    pub call: PhaseJson,
    pub teardown: PhaseJson,
    /// The highest memory footprint sampled while it ran (memory mode, when a sample fell in it).
    pub peak_mb: Option<f64>,
    /// Its hottest lines (at most 5), hottest first: profiled lines, in test code and code under test.
    pub hottest: Vec<TestLineJson>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct PhaseJson {
    /// CPU samples taken in it, the process's CPU seconds in it (measured by the suite plugin, less
    /// Scalene's own work at its samples), and its
    /// wall-clock seconds (pytest's clock).
    pub samples: f64,
    pub cpu_s: f64,
    pub wall_s: f64,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct TestLineJson {
    pub file: String,
    pub line: u32,
    pub samples: f64,
    pub cpu_s: f64,
}

impl From<PhaseCost> for PhaseJson {
    fn from(PhaseCost { samples, cpu_s, wall_s }: PhaseCost) -> PhaseJson {
        PhaseJson { samples, cpu_s, wall_s }
    }
}

impl From<PhaseJson> for PhaseCost {
    fn from(PhaseJson { samples, cpu_s, wall_s }: PhaseJson) -> PhaseCost {
        PhaseCost { samples, cpu_s, wall_s }
    }
}

impl From<&TestSuite> for TestsJson {
    fn from(suite: &TestSuite) -> TestsJson {
        let tests = suite
            .tests
            .iter()
            .map(|test| TestJson {
                node_id: test.node_id.clone(),
                file: test.file.display().to_string(),
                line: test.line,
                outcome: test.outcome.as_str().to_string(),
                message: test.message.clone(),
                share: suite.share(test),
                total: test.total().into(),
                setup: test.setup.into(),
                call: test.call.into(),
                teardown: test.teardown.into(),
                peak_mb: test.peak_mb,
                hottest: test
                    .hottest
                    .iter()
                    .map(|line| TestLineJson { file: line.file.display().to_string(), line: line.line, samples: line.samples, cpu_s: line.cpu_s })
                    .collect(),
            })
            .collect();
        TestsJson {
            samples: suite.samples,
            cpu_s: suite.cpu_s,
            outside_samples: suite.outside_samples(),
            collected: suite.collected,
            pytest_exit: suite.pytest_exit,
            collection_errors: suite
                .collection_errors
                .iter()
                .map(|(node, message)| CollectionErrorJson { node: node.clone(), message: message.clone() })
                .collect(),
            notes: suite.notes.clone(),
            tests,
        }
    }
}

impl TestsJson {
    pub fn into_suite(self) -> TestSuite {
        TestSuite {
            tests: self
                .tests
                .into_iter()
                .map(|test| TestCost {
                    node_id: test.node_id,
                    file: PathBuf::from(test.file),
                    line: test.line,
                    outcome: Outcome::parse(&test.outcome).unwrap_or(Outcome::Unfinished),
                    message: test.message,
                    setup: test.setup.into(),
                    call: test.call.into(),
                    teardown: test.teardown.into(),
                    peak_mb: test.peak_mb,
                    hottest: test
                        .hottest
                        .into_iter()
                        .map(|line| TestLine { file: PathBuf::from(line.file), line: line.line, samples: line.samples, cpu_s: line.cpu_s })
                        .collect(),
                })
                .collect(),
            samples: self.samples,
            cpu_s: self.cpu_s,
            collected: self.collected,
            pytest_exit: self.pytest_exit,
            collection_errors: self.collection_errors.into_iter().map(|error| (error.node, error.message)).collect(),
            notes: self.notes,
        }
    }
}
