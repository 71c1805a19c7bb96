//! The normalized JSON's `call_paths` (docs/schema.md): functions once, stacks as `[function, line]`
//! pairs pointing into them. Read back through `CallPathsBuilder`, so an index that points nowhere
//! costs its stack (with a note), never a panic.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::profile::call_paths::{CallPaths, CallPathsBuilder, Place, Stack, Weight};

/// Who called what, from Scalene's sampled stacks (Scalene 2.3 and later).
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct CallPathsJson {
    /// Every function the stacks name; stacks refer to them by index.
    pub functions: Vec<CallFunctionJson>,
    /// CPU stacks, costliest first, weighed in CPU samples.
    pub cpu: Vec<StackJson>,
    /// Allocation stacks (memory mode), costliest first, weighed in MB allocated.
    #[serde(default)]
    pub memory: Vec<StackJson>,
    /// The CPU stacks over time: `[seconds since the first sample, index into cpu, samples, thread id
    /// or null]`, in time order.
    #[serde(default)]
    pub timeline: Vec<(f64, u32, u32, Option<u64>)>,
    /// What was dropped or could not be read.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A Python function (`file`) or a native one (`module`, a shared library's file name).
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct CallFunctionJson {
    /// Python's qualified name (`Worker.run`) or the native symbol.
    pub name: String,
    /// Absolute path of a Python function's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A native function's module (empty when Scalene could not name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

/// One distinct stack.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct StackJson {
    /// `[index into functions, line or null]`, outermost first; a line is the call site for every frame
    /// but the last. A native frame (no line) is always the last.
    pub frames: Vec<(u32, Option<u32>)>,
    /// CPU samples (in `cpu`) or MB allocated (in `memory`).
    pub weight: f64,
}

impl From<&CallPaths> for CallPathsJson {
    fn from(paths: &CallPaths) -> CallPathsJson {
        let stacks = |stacks: &[Stack]| -> Vec<StackJson> {
            stacks
                .iter()
                .map(|stack| StackJson {
                    frames: stack.frames.iter().map(|frame| paths.frame(*frame)).map(|f| (f.function, f.line)).collect(),
                    weight: stack.weight,
                })
                .collect()
        };
        CallPathsJson {
            functions: paths
                .functions
                .iter()
                .map(|function| match &function.place {
                    Place::Python(file) => {
                        CallFunctionJson { name: function.name.clone(), file: Some(file.display().to_string()), module: None }
                    }
                    Place::Native(module) => {
                        CallFunctionJson { name: function.name.clone(), file: None, module: Some(module.clone()) }
                    }
                })
                .collect(),
            cpu: stacks(&paths.cpu),
            memory: stacks(&paths.memory),
            timeline: paths.timeline.iter().map(|run| (run.t_s, run.stack, run.count, run.thread)).collect(),
            notes: paths.notes.clone(),
        }
    }
}

impl CallPathsJson {
    pub fn into_call_paths(self) -> Option<CallPaths> {
        let mut builder = CallPathsBuilder::default();
        let functions: Vec<u32> = self
            .functions
            .into_iter()
            .map(|function| {
                let place = match (function.file, function.module) {
                    (Some(file), _) => Place::Python(PathBuf::from(file)),
                    (None, module) => Place::Native(module.unwrap_or_default()),
                };
                builder.function(&function.name, place)
            })
            .collect();
        let mut dangling = 0usize;
        for (weight, stacks) in [(Weight::Cpu, self.cpu), (Weight::Memory, self.memory)] {
            for stack in stacks {
                let frames: Option<Vec<u32>> = stack
                    .frames
                    .iter()
                    .map(|(function, line)| functions.get(*function as usize).map(|id| builder.frame(*id, *line)))
                    .collect();
                if frames.is_none() {
                    dangling += 1;
                }
                builder.push(weight, frames.unwrap_or_default(), stack.weight);
            }
        }
        let runs = self.timeline.len();
        for (t_s, stack, count, thread) in self.timeline {
            builder.timeline(t_s, stack as usize, count, thread);
        }
        for note in self.notes {
            builder.note(note);
        }
        if dangling > 0 {
            builder.note(format!("{dangling} stack(s) named a function that is not listed and were dropped"));
        }
        builder.finish(runs)
    }
}
