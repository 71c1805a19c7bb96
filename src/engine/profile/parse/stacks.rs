//! Scalene's stack sections (`combined_stacks`, `combined_stacks_timeline`, `memory_stacks`) →
//! `CallPaths`. Each section is read on its own: one that is malformed costs the call paths a note,
//! never the profile's lines. Strings are borrowed until a function is interned.

use std::borrow::Cow;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::engine::profile::call_paths::{CallPaths, CallPathsBuilder, Place, Weight, is_plumbing};

pub(super) struct Sections<'a> {
    pub cpu: Option<&'a RawValue>,
    pub timeline: Option<&'a RawValue>,
    pub memory: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    display_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    filename_or_module: Option<Cow<'a, str>>,
    #[serde(default)]
    line: Option<i64>,
}

type RawStack<'a> = (Vec<RawFrame<'a>>, Option<f64>);

#[derive(Deserialize)]
struct RawRun {
    t_sec: Option<f64>,
    stack_index: Option<u64>,
    count: Option<u64>,
    thread_id: Option<u64>,
}

/// The profile's call paths, or None when Scalene recorded no stacks (or none could be read).
pub(super) fn call_paths(sections: Sections<'_>, notes: &mut Vec<String>) -> Option<CallPaths> {
    let mut builder = CallPathsBuilder::default();
    let cpu = read::<Vec<RawStack>>("combined_stacks", sections.cpu, notes);
    let memory = read::<Vec<RawStack>>("memory_stacks", sections.memory, notes);
    for (weight, stacks) in [(Weight::Cpu, cpu), (Weight::Memory, memory)] {
        for (frames, value) in stacks.unwrap_or_default() {
            let mut frames = intern(&mut builder, frames);
            // Scalene's memory stacks end with the allocating frame twice (measured on 2.4.0).
            if weight == Weight::Memory && frames.len() >= 2 && frames[frames.len() - 1] == frames[frames.len() - 2] {
                frames.pop();
            }
            builder.push(weight, frames, value.unwrap_or(0.0));
        }
    }
    let runs = read::<Vec<RawRun>>("combined_stacks_timeline", sections.timeline, notes).unwrap_or_default();
    let mut unnamed = 0usize;
    for run in &runs {
        match (run.stack_index, run.count) {
            (Some(index), Some(count)) if count > 0 => builder.timeline(
                run.t_sec.unwrap_or(0.0),
                usize::try_from(index).unwrap_or(usize::MAX),
                u32::try_from(count).unwrap_or(u32::MAX),
                run.thread_id,
            ),
            _ => unnamed += 1,
        }
    }
    if unnamed > 0 {
        builder.note(format!("{unnamed} timeline run(s) had no stack index or count and were skipped"));
    }
    builder.finish(runs.len())
}

/// One section, or None (absent, null, or malformed: then a note says which and why).
fn read<'a, T: Deserialize<'a>>(name: &str, raw: Option<&'a RawValue>, notes: &mut Vec<String>) -> Option<T> {
    let raw = raw?;
    if raw.get() == "null" {
        return None;
    }
    match serde_json::from_str(raw.get()) {
        Ok(value) => Some(value),
        Err(err) => {
            notes.push(format!(
                "Scalene's `{name}` could not be read ({err}); call paths from it are not shown, everything else is"
            ));
            None
        }
    }
}

/// A stack's frames as ids: its Python frames, and of the native frames after them only the innermost
/// one that is work (see call_paths.rs), as a leaf. Native frames between two Python frames are the
/// interpreter calling on and are dropped.
fn intern(builder: &mut CallPathsBuilder, frames: Vec<RawFrame<'_>>) -> Vec<u32> {
    let mut ids = Vec::with_capacity(frames.len().min(64));
    let mut native_leaf: Option<(Cow<'_, str>, Cow<'_, str>)> = None;
    for frame in frames {
        let name = frame.display_name.unwrap_or(Cow::Borrowed(""));
        let location = frame.filename_or_module.unwrap_or(Cow::Borrowed(""));
        match frame.kind.as_deref() {
            Some("py") => {
                native_leaf = None;
                let name = if name.is_empty() { Cow::Borrowed("<unknown>") } else { name };
                let line = frame.line.and_then(|line| u32::try_from(line).ok()).filter(|line| *line > 0);
                let function = builder.function(&name, Place::Python(PathBuf::from(location.as_ref())));
                ids.push(builder.frame(function, line));
            }
            Some("native") if !is_plumbing(&name, &location) => native_leaf = Some((name, location)),
            _ => {}
        }
    }
    if let Some((name, location)) = native_leaf {
        let module = location.rsplit('/').next().unwrap_or_default().to_owned();
        let function = builder.function(&name, Place::Native(module));
        ids.push(builder.frame(function, None));
    }
    ids
}

#[cfg(test)]
mod tests;
