//! The profile wing: what a profile is and the math on it. The model (model.rs, a line's metrics in
//! metrics.rs, call paths from Scalene's stacks in call_paths/), reading Scalene's JSON (parse.rs), the normalized JSON (schema.rs), carrying numbers
//! through edits (remap.rs), combining repeated runs (repeat.rs), comparing two profiles (compare/) and
//! exporting call paths for other tools (export.rs: flame graph, speedscope, collapsed, cpuprofile), and
//! the same model from py-spy's sampled stacks of an attached process (sampled.rs), and a pytest suite
//! run's samples given to its tests (suite.rs).
//!
//! Architecture Invariant: pure data and math. No file system, no processes, no tokio, no environment
//! and nothing of the run or keep wings: a function here gets its input as values and returns values
//! (tests/e2e/architecture.rs checks it). The clock only stamps a parsed profile's creation time and
//! bounds remap's line diff.
//! The run and keep wings build on it; it imports nothing of theirs.

pub mod call_paths;
pub mod compare;
pub mod export;
pub mod metrics;
pub mod model;
pub mod parse;
pub mod remap;
pub mod repeat;
pub mod sampled;
pub mod schema;
pub mod suite;
