//! An attached profile's own part of the model (`Profile::attached`): how py-spy sampled a process
//! scalene-lsp did not start, and its samples per thread. `schema/attached.rs` mirrors it in the JSON;
//! `sampled.rs` builds it.

/// The sampler of an attached profile, named in every view of one: `source` in the JSON.
pub const ATTACHED_SOURCE: &str = "py-spy";

/// How an attached profile was sampled. Its CPU numbers are wall-clock samples of the threads that were
/// running (or, with `idle`, of every thread): a line's share is its part of the samples counted, its
/// seconds are its samples times the sampling interval. No memory numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attached {
    pub pid: u32,
    /// The process's command line, as read when attaching.
    pub command_line: String,
    /// The target's Python version, as py-spy found it.
    pub python_version: Option<String>,
    /// Samples per second asked for.
    pub rate_hz: f64,
    /// Sampling ticks taken (each reads every thread's stack once).
    pub ticks: u64,
    /// Thread stacks counted (idle ones left out unless `idle`): every share is a part of these.
    pub samples: u64,
    /// Ticks whose stacks could not be read (skipped).
    pub errors: u64,
    pub idle: bool,
    pub native: bool,
    pub subprocesses: bool,
    /// Only the threads matching this (name, native id or Python id) were counted (`--thread`).
    pub thread: Option<String>,
    /// Samples per thread, most first: the per-thread view of the merged numbers.
    pub threads: Vec<ThreadSamples>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadSamples {
    pub pid: u32,
    /// Python's id of the thread (`threading.get_ident()`).
    pub thread_id: u64,
    /// The operating system's id (`threading.get_native_id()`, what `top -H` shows), when py-spy read it.
    pub native_id: Option<u64>,
    pub name: Option<String>,
    pub samples: u64,
}
