//! Call paths: Scalene's sampled stacks (`combined_stacks` for CPU, `memory_stacks` for allocations,
//! and the CPU timeline) as interned functions and frames plus weighted stacks, and the questions the
//! front ends ask of them: who calls a function and at what cost, what it calls, the costliest paths
//! into a line, folded stacks for flame graphs, the timeline as a flame chart (`timeline.rs`). Built by `parse` (and `schema` for the normalized JSON),
//! read by every front end. Pure: no IO.
//!
//! What is kept of a stack (the measured shape is in ../shared/scalene-notes.md, "Samples, loops and
//! stacks"): its Python frames, outermost first, each a function and the line it was on (the call site
//! for every frame but the last); and of the native frames Scalene stitches after the Python leaf (the
//! whole C stack of the thread, from `Py_BytesMain` through the eval loop) only the innermost one that
//! is real work, as a leaf: an extension's function (`DOUBLE_add` in numpy) or the interpreter's
//! (`PyNumber_Remainder`), never its call machinery (`_PyEval_EvalFrameDefault`, `PyObject_Vectorcall`)
//! or Scalene's own signal handling. Everything is bounded: `MAX_STACKS` stacks, `MAX_DEPTH` frames each
//! (the innermost are kept), `MAX_TIMELINE_RUNS` timeline runs; what is dropped is said in `notes`.

mod query;
mod timeline;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use query::{CallEdge, CallPath, FlameNode};
pub use timeline::{MAX_COLUMNS, MAX_TIMELINE_SPANS, TimelineChart, TimelineLane, TimelineSpan};

/// At most this many distinct stacks of each kind are kept (the costliest, when there are more).
pub const MAX_STACKS: usize = 20_000;
/// At most this many frames of one stack are kept: the innermost (the outermost are the program's
/// entry, the same in every stack).
pub const MAX_DEPTH: usize = 256;
/// At most this many runs of the CPU timeline are kept (the earliest): Scalene's own cap, so that a suite run
/// (`suite.rs`) can place every sample it has in time.
pub const MAX_TIMELINE_RUNS: usize = 100_000;

/// Where a function lives: a Python source file, or a native module (a shared library's file name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    Python(PathBuf),
    Native(String),
}

/// A function seen in the stacks: Scalene's display name (Python's qualified name, `Worker.run`,
/// `main.<locals>.<listcomp>`, or a native symbol) and where it lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallFunction {
    pub name: String,
    pub place: Place,
}

impl CallFunction {
    pub fn is_native(&self) -> bool {
        matches!(self.place, Place::Native(_))
    }

    /// The Python source file, for a Python function.
    pub fn file(&self) -> Option<&Path> {
        match &self.place {
            Place::Python(path) => Some(path),
            Place::Native(_) => None,
        }
    }

    /// `helper (util.py)` or `PyNumber_Remainder (native, libpython3.11.so.1.0)`: how a user reads it.
    pub fn label(&self) -> String {
        match &self.place {
            Place::Python(path) => {
                let short = path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default();
                format!("{} ({short})", self.name)
            }
            Place::Native(module) if module.is_empty() => format!("{} (native)", self.name),
            Place::Native(module) => format!("{} (native, {module})", self.name),
        }
    }
}

/// One frame: a function and the line it was on (None for a native frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallFrame {
    pub function: u32,
    pub line: Option<u32>,
}

/// A distinct stack and its weight: CPU samples for `cpu`, MB allocated for `memory`.
#[derive(Clone, Debug, PartialEq)]
pub struct Stack {
    /// Indices into `CallPaths::frames`, outermost first.
    pub frames: Box<[u32]>,
    pub weight: f64,
}

/// One run of the CPU timeline: `count` consecutive samples of `stack` starting `t_s` seconds after the
/// first sample, on `thread` when Scalene named it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimelineRun {
    pub t_s: f64,
    pub stack: u32,
    pub count: u32,
    pub thread: Option<u64>,
}

/// Which stacks a question weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weight {
    /// CPU samples (`combined_stacks`).
    Cpu,
    /// MB allocated (`memory_stacks`, memory mode).
    Memory,
}

impl Weight {
    pub fn as_str(self) -> &'static str {
        match self {
            Weight::Cpu => "cpu",
            Weight::Memory => "memory",
        }
    }
}

/// A profile's call paths. `None` on a profile whose Scalene recorded no stacks (before 2.3, or a run
/// with `--no-stacks`, which `--no-call-paths` and the setting `callPaths: false` ask for).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallPaths {
    pub functions: Vec<CallFunction>,
    pub frames: Vec<CallFrame>,
    /// Weighted by CPU samples, costliest first.
    pub cpu: Vec<Stack>,
    /// Weighted by MB allocated, costliest first.
    pub memory: Vec<Stack>,
    /// Indices into `cpu`, in time order.
    pub timeline: Vec<TimelineRun>,
    /// What was dropped or could not be read, for the user.
    pub notes: Vec<String>,
}

impl CallPaths {
    pub fn stacks(&self, weight: Weight) -> &[Stack] {
        match weight {
            Weight::Cpu => &self.cpu,
            Weight::Memory => &self.memory,
        }
    }

    /// The sum of the stacks' weights: every share is a part of it.
    pub fn total(&self, weight: Weight) -> f64 {
        self.stacks(weight).iter().map(|stack| stack.weight).sum()
    }

    pub fn function(&self, index: u32) -> &CallFunction {
        &self.functions[index as usize]
    }

    pub fn frame(&self, index: u32) -> CallFrame {
        self.frames[index as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.cpu.is_empty() && self.memory.is_empty()
    }

    /// Repeated runs' call paths as one: each stack's weight is its mean over the runs (`runs`, those
    /// without stacks counting as zero); the timeline is the last run's.
    pub fn mean_of(each: &[&CallPaths], runs: usize) -> Option<CallPaths> {
        let mut builder = CallPathsBuilder::default();
        let runs = runs.max(1) as f64;
        for paths in each {
            for weight in [Weight::Cpu, Weight::Memory] {
                for stack in paths.stacks(weight) {
                    let frames = stack
                        .frames
                        .iter()
                        .map(|frame| {
                            let frame = paths.frame(*frame);
                            let function = paths.function(frame.function);
                            let id = builder.function(&function.name, function.place.clone());
                            builder.frame(id, frame.line)
                        })
                        .collect();
                    builder.push(weight, frames, stack.weight / runs);
                }
            }
        }
        let mut combined = builder.finish(0)?;
        if let Some(last) = each.last() {
            // The last run's timeline, its stacks found again in the combined list.
            let index: HashMap<Vec<(String, Option<u32>)>, u32> = (0..combined.cpu.len() as u32)
                .map(|index| (combined.readable_stack(&combined.cpu[index as usize]), index))
                .collect();
            combined.timeline = last
                .timeline
                .iter()
                .filter_map(|run| {
                    let stack = index.get(&last.readable_stack(&last.cpu[run.stack as usize]))?;
                    Some(TimelineRun { stack: *stack, ..*run })
                })
                .collect();
        }
        Some(combined)
    }

    /// A stack as (label, line) pairs: the same for the same stack in any `CallPaths`.
    pub fn readable_stack(&self, stack: &Stack) -> Vec<(String, Option<u32>)> {
        stack
            .frames
            .iter()
            .map(|frame| {
                let frame = self.frame(*frame);
                (self.function(frame.function).label(), frame.line)
            })
            .collect()
    }
}

/// Builds `CallPaths` one stack at a time, interning functions and frames and merging identical
/// stacks; `finish` sorts, bounds and notes.
#[derive(Default)]
pub struct CallPathsBuilder {
    paths: CallPaths,
    function_ids: HashMap<CallFunction, u32>,
    frame_ids: HashMap<CallFrame, u32>,
    cpu_ids: HashMap<Box<[u32]>, usize>,
    memory_ids: HashMap<Box<[u32]>, usize>,
    /// Scalene's stack index → index in `paths.cpu` (None: the stack was empty and dropped).
    cpu_index: Vec<Option<u32>>,
    truncated: usize,
}

impl CallPathsBuilder {
    pub fn function(&mut self, name: &str, place: Place) -> u32 {
        let key = CallFunction { name: name.to_owned(), place };
        if let Some(id) = self.function_ids.get(&key) {
            return *id;
        }
        let id = self.paths.functions.len() as u32;
        self.paths.functions.push(key.clone());
        self.function_ids.insert(key, id);
        id
    }

    pub fn frame(&mut self, function: u32, line: Option<u32>) -> u32 {
        let key = CallFrame { function, line };
        *self.frame_ids.entry(key).or_insert_with(|| {
            self.paths.frames.push(key);
            (self.paths.frames.len() - 1) as u32
        })
    }

    /// Adds a stack of frame ids (outermost first). For CPU stacks, call once per Scalene stack, in
    /// order, so that the timeline's indices can be mapped (an empty stack is remembered as dropped).
    pub fn push(&mut self, weight_kind: Weight, mut frames: Vec<u32>, weight: f64) {
        if frames.len() > MAX_DEPTH {
            frames.drain(..frames.len() - MAX_DEPTH);
            self.truncated += 1;
        }
        let weight = if weight.is_finite() && weight > 0.0 { weight } else { 0.0 };
        let (stacks, ids) = match weight_kind {
            Weight::Cpu => (&mut self.paths.cpu, &mut self.cpu_ids),
            Weight::Memory => (&mut self.paths.memory, &mut self.memory_ids),
        };
        let index = if frames.is_empty() {
            None
        } else {
            let key: Box<[u32]> = frames.into_boxed_slice();
            Some(*ids.entry(key.clone()).or_insert_with(|| {
                stacks.push(Stack { frames: key, weight: 0.0 });
                stacks.len() - 1
            }))
        };
        if let Some(index) = index {
            stacks[index].weight += weight;
        }
        if weight_kind == Weight::Cpu {
            self.cpu_index.push(index.map(|index| index as u32));
        }
    }

    /// Adds a timeline run by Scalene's stack index; runs naming no kept stack are skipped.
    pub fn timeline(&mut self, t_s: f64, scalene_stack: usize, count: u32, thread: Option<u64>) {
        if self.paths.timeline.len() >= MAX_TIMELINE_RUNS {
            return;
        }
        if let Some(Some(stack)) = self.cpu_index.get(scalene_stack) {
            let t_s = if t_s.is_finite() && t_s >= 0.0 { t_s } else { 0.0 };
            self.paths.timeline.push(TimelineRun { t_s, stack: *stack, count, thread });
        }
    }

    pub fn note(&mut self, note: String) {
        self.paths.notes.push(note);
    }

    pub fn finish(mut self, timeline_runs_seen: usize) -> Option<CallPaths> {
        if self.paths.is_empty() {
            return None;
        }
        if self.truncated > 0 {
            self.paths.notes.push(format!(
                "{} stack(s) deeper than {MAX_DEPTH} frames keep only their innermost {MAX_DEPTH}",
                self.truncated
            ));
        }
        if timeline_runs_seen > MAX_TIMELINE_RUNS {
            self.paths.notes.push(format!(
                "the timeline keeps its first {MAX_TIMELINE_RUNS} of {timeline_runs_seen} runs"
            ));
        }
        // Costliest first, bounded; the timeline's indices follow the new order.
        let mut order: Vec<usize> = (0..self.paths.cpu.len()).collect();
        order.sort_by(|a, b| self.paths.cpu[*b].weight.total_cmp(&self.paths.cpu[*a].weight));
        let mut new_index = vec![None; order.len()];
        for (new, old) in order.iter().enumerate().take(MAX_STACKS) {
            new_index[*old] = Some(new as u32);
        }
        let mut cpu: Vec<Option<Stack>> = std::mem::take(&mut self.paths.cpu).into_iter().map(Some).collect();
        self.paths.cpu = order.iter().take(MAX_STACKS).map(|old| cpu[*old].take().expect("each index once")).collect();
        self.paths.timeline.retain_mut(|run| match new_index[run.stack as usize] {
            Some(index) => {
                run.stack = index;
                true
            }
            None => false,
        });
        self.paths.memory.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        for (kind, seen) in [("CPU", order.len()), ("memory", self.paths.memory.len())] {
            if seen > MAX_STACKS {
                self.paths.notes.push(format!("only the costliest {MAX_STACKS} of {seen} {kind} stacks are kept"));
            }
        }
        self.paths.memory.truncate(MAX_STACKS);
        Some(self.paths)
    }
}

/// True for a native frame that is the interpreter's or Scalene's plumbing rather than work: the eval
/// loop and call machinery, start-up, signal handling, and frames without a symbol.
pub fn is_plumbing(symbol: &str, module: &str) -> bool {
    const PLUMBING: [&str; 16] = [
        "_PyEval_",
        "PyEval_",
        "Py_RunMain",
        "Py_BytesMain",
        "Py_Main",
        "PyObject_Vectorcall",
        "PyObject_Call",
        "_PyObject_Call",
        "_PyObject_MakeTpCall",
        "_PyFunction_Vectorcall",
        "_PyErr_CheckSignals",
        "PyErr_CheckSignals",
        "_PyRun_",
        "PyRun_",
        "pymain_",
        "__libc_start",
    ];
    let module_name = module.rsplit('/').next().unwrap_or(module);
    symbol.is_empty()
        || module_name.starts_with("libscalene")
        || module_name.starts_with("_scalene")
        || PLUMBING.iter().any(|prefix| symbol.starts_with(prefix))
}

#[cfg(test)]
mod tests;
