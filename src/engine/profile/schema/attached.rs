//! The normalized JSON's `attached` block (docs/schema.md): how py-spy sampled a process scalene-lsp
//! attached to, mirrored from the model's `Attached` field by field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::profile::model::{Attached, ThreadSamples};

/// An attached profile's sampling: py-spy read the stacks of a process scalene-lsp did not start. Its CPU
/// numbers are wall-clock samples of the running threads (every thread with `idle`), not CPU time
/// measured by Scalene; there are no memory numbers.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct AttachedJson {
    pub pid: u32,
    /// The process's command line when attached.
    pub command_line: String,
    /// The target's Python version, as py-spy read it.
    pub python_version: Option<String>,
    /// Samples per second asked for.
    pub rate_hz: f64,
    /// Sampling ticks taken (each reads every thread's stack once).
    pub ticks: u64,
    /// Thread stacks counted: every CPU share is a part of these.
    pub samples: u64,
    /// Ticks whose stacks could not be read (skipped).
    pub errors: u64,
    /// Whether idle threads' stacks were counted (`--idle`).
    pub idle: bool,
    /// Whether native frames were read (`--native`).
    pub native: bool,
    /// Whether the process's Python subprocesses were sampled too (`--subprocesses`).
    pub subprocesses: bool,
    /// Only the threads matching this (a thread's name, native id or Python id) were counted
    /// (`--thread`); absent when every thread was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Always `wall`: the numbers are wall-clock samples of a process scalene-lsp did not start.
    pub clock: String,
    /// Samples per thread, most first (with `thread`, the matching threads only).
    pub threads: Vec<ThreadJson>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ThreadJson {
    pub pid: u32,
    /// Python's id of the thread (`threading.get_ident()`).
    pub thread_id: u64,
    /// The operating system's id of the thread (`threading.get_native_id()`, what `top -H` shows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_id: Option<u64>,
    pub name: Option<String>,
    pub samples: u64,
}

impl From<&Attached> for AttachedJson {
    fn from(attached: &Attached) -> AttachedJson {
        let Attached { pid, command_line, python_version, rate_hz, ticks, samples, errors, idle, native, subprocesses, thread, threads } = attached;
        AttachedJson {
            pid: *pid,
            command_line: command_line.clone(),
            python_version: python_version.clone(),
            rate_hz: *rate_hz,
            ticks: *ticks,
            samples: *samples,
            errors: *errors,
            idle: *idle,
            native: *native,
            subprocesses: *subprocesses,
            thread: thread.clone(),
            clock: "wall".into(),
            threads: threads
                .iter()
                .map(|thread| ThreadJson { pid: thread.pid, thread_id: thread.thread_id, native_id: thread.native_id, name: thread.name.clone(), samples: thread.samples })
                .collect(),
        }
    }
}

impl AttachedJson {
    pub(super) fn into_attached(self) -> Attached {
        let AttachedJson { pid, command_line, python_version, rate_hz, ticks, samples, errors, idle, native, subprocesses, thread, clock: _, threads } = self;
        Attached {
            pid,
            command_line,
            python_version,
            rate_hz,
            ticks,
            samples,
            errors,
            idle,
            native,
            subprocesses,
            thread,
            threads: threads
                .into_iter()
                .map(|thread| ThreadSamples { pid: thread.pid, thread_id: thread.thread_id, native_id: thread.native_id, name: thread.name, samples: thread.samples })
                .collect(),
        }
    }
}
