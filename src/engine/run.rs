//! The run wing: everything that starts a process. Finding the interpreter and checking it
//! (interpreter/), the start-up shortcut (startup.rs), running Scalene in its own process group and
//! temp dir (runner/), runs in progress (runs.rs) and the git state a profile was taken at
//! (provenance.rs), and attaching py-spy to a process it did not start (attach/).
//!
//! It builds on the profile wing (what a run produces) and the keep wing (runs publish into the cache).

pub mod attach;
pub mod handle;
pub mod interpreter;
pub mod plan;
pub mod provenance;
pub mod runner;
pub mod runs;
pub mod startup;
