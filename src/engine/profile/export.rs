//! Call paths for other tools: folded stacks (Brendan Gregg's collapsed format, read by inferno,
//! flamegraph.pl and speedscope), an SVG flame graph (made by inferno from the folded stacks),
//! speedscope's JSON and Chrome's `.cpuprofile` (VS Code's flame chart, Chrome DevTools). Pure: a
//! profile in, the file's bytes out; the caller writes them (cli/export.rs). Formats and viewers:
//! docs/cli.md, "Exports".

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;

use crate::engine::profile::call_paths::{CallPaths, Place, Stack, Weight};
use crate::engine::error::EngineError;
use crate::engine::profile::model::Profile;
use crate::engine::units::{BYTES_PER_MB, short_name_str};

/// Scalene's CPU sampling interval when the profile does not say (its default, 10 ms).
pub const DEFAULT_SAMPLING_S: f64 = 0.01;

/// The speedscope file format's schema, which its files name.
pub const SPEEDSCOPE_SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

/// What an export is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// An SVG flame graph (inferno): open it in a browser.
    Flamegraph,
    /// speedscope's JSON (https://www.speedscope.app): a "sampled" profile with shared frames.
    Speedscope,
    /// Folded stacks, one `frame;frame;frame COUNT` line per distinct stack.
    Collapsed,
    /// Chrome's `.cpuprofile`: VS Code's built-in flame chart, Chrome DevTools.
    Cpuprofile,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] =
        [ExportFormat::Flamegraph, ExportFormat::Speedscope, ExportFormat::Collapsed, ExportFormat::Cpuprofile];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Flamegraph => "flamegraph",
            ExportFormat::Speedscope => "speedscope",
            ExportFormat::Collapsed => "collapsed",
            ExportFormat::Cpuprofile => "cpuprofile",
        }
    }

    /// What the file is, for messages: "the flame graph".
    pub fn describe(self) -> &'static str {
        match self {
            ExportFormat::Flamegraph => "the flame graph",
            ExportFormat::Speedscope => "the speedscope profile",
            ExportFormat::Collapsed => "the collapsed stacks",
            ExportFormat::Cpuprofile => "the .cpuprofile",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<ExportFormat, String> {
        ExportFormat::ALL.into_iter().find(|format| format.as_str() == text).ok_or_else(|| {
            let names: Vec<&str> = ExportFormat::ALL.iter().map(|format| format.as_str()).collect();
            format!("unknown export format {text:?}: use one of {}", names.join(", "))
        })
    }
}

/// `profile`'s call paths as `format`, weighed by `weight`: the bytes of the file.
pub fn export(profile: &Profile, format: ExportFormat, weight: Weight) -> Result<Vec<u8>, EngineError> {
    let paths = exportable(profile, format, weight)?;
    let title = title(profile);
    Ok(match format {
        ExportFormat::Flamegraph => {
            let subtitle = match weight {
                Weight::Cpu => "CPU samples by call path (Scalene, via scalene-lsp)".to_owned(),
                Weight::Memory => "KB allocated by call path (Scalene, via scalene-lsp)".to_owned(),
            };
            let mut svg = Vec::new();
            flamegraph(paths, weight, &title, &subtitle, &mut svg)
                .map_err(|err| EngineError::Internal { message: format!("inferno could not draw the flame graph: {err}") })?;
            svg
        }
        ExportFormat::Speedscope => speedscope(paths, weight, &title).into_bytes(),
        ExportFormat::Collapsed => collapsed(paths, weight).into_bytes(),
        ExportFormat::Cpuprofile => cpuprofile(paths, profile.cpu_sampling_s.unwrap_or(DEFAULT_SAMPLING_S)).into_bytes(),
    })
}

/// The call paths an export of `profile` as `format` by `weight` draws from, or why there is nothing
/// to draw, with the fix.
pub fn exportable(profile: &Profile, format: ExportFormat, weight: Weight) -> Result<&CallPaths, EngineError> {
    let Some(paths) = profile.call_paths.as_deref() else {
        return Err(EngineError::CannotExport {
            reason: "this profile has no call paths: Scalene recorded no stacks (a run with \
                     --no-call-paths, Scalene before 2.3, or a profile saved before call paths were kept)"
                .into(),
            fix: "profile again without --no-call-paths, with Scalene >= 2.3 (`scalene-lsp profile FILE --flamegraph out.svg` records them)".into(),
        });
    };
    if format == ExportFormat::Cpuprofile && weight == Weight::Memory {
        return Err(EngineError::CannotExport {
            reason: "a .cpuprofile holds CPU time samples only, not memory".into(),
            fix: "export the memory stacks as speedscope or collapsed (or a flame graph), or the CPU stacks \
                  as cpuprofile (--export-weight cpu)"
                .into(),
        });
    }
    if paths.stacks(weight).is_empty() {
        return Err(match weight {
            Weight::Cpu => EngineError::CannotExport {
                reason: "this profile's call paths hold no CPU samples".into(),
                fix: "profile a run long enough to be sampled (Scalene samples every 10 ms), or export the memory \
                      stacks (--export-weight memory)"
                    .into(),
            },
            Weight::Memory => EngineError::CannotExport {
                reason: "this profile has no memory stacks: Scalene records them only in memory mode".into(),
                fix: "profile with --mode memory (the default), or export the CPU stacks (--export-weight cpu)".into(),
            },
        });
    }
    Ok(paths)
}

/// The program's name, for titles: `main.py`, `-m package`.
fn title(profile: &Profile) -> String {
    if profile.program.is_empty() { "Python program".to_owned() } else { short_name_str(&profile.program).to_owned() }
}

/// How a frame is written in folded stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels {
    /// `score (helpers.py)`: a function's call sites merge into one box (the SVG flame graph).
    Function,
    /// `score (helpers.py:12)`: py-spy's labels, each frame's line kept (the collapsed export).
    Line,
}

/// The unit of a folded count: CPU samples, or KB allocated (Scalene's MB × 1024).
pub fn count_unit(weight: Weight) -> &'static str {
    match weight {
        Weight::Cpu => "samples",
        Weight::Memory => "KB",
    }
}

/// A weight as a whole count in `count_unit`: a mean of repeated runs is rounded.
fn count(weight: Weight, value: f64) -> u64 {
    let value = match weight {
        Weight::Cpu => value,
        Weight::Memory => value * 1024.0,
    };
    if value.is_finite() && value > 0.0 { value.round() as u64 } else { 0 }
}

/// A frame's label in folded stacks, without the separators of the format (`;`, line breaks).
fn frame_label(paths: &CallPaths, frame: u32, labels: Labels) -> String {
    let frame = paths.frame(frame);
    let function = paths.function(frame.function);
    let label = match (&function.place, labels, frame.line) {
        (Place::Python(path), Labels::Line, Some(line)) => {
            format!("{} ({}:{line})", function.name, short_name_str(&path.to_string_lossy()))
        }
        _ => function.label(),
    };
    label.replace(';', ",").replace(['\n', '\r'], " ")
}

/// Folded stacks: one `outer;…;inner COUNT` line per distinct chain of labels, sorted; counts in
/// `count_unit(weight)`, chains whose count rounds to 0 left out.
pub fn folded(paths: &CallPaths, weight: Weight, labels: Labels) -> Vec<String> {
    let mut merged: BTreeMap<String, f64> = BTreeMap::new();
    for stack in paths.stacks(weight) {
        let chain: Vec<String> = stack.frames.iter().map(|frame| frame_label(paths, *frame, labels)).collect();
        *merged.entry(chain.join(";")).or_default() += stack.weight;
    }
    merged
        .into_iter()
        .filter_map(|(chain, value)| {
            let count = count(weight, value);
            (count > 0).then(|| format!("{chain} {count}"))
        })
        .collect()
}

/// The collapsed export: `folded` with each frame's line, one stack a line.
pub fn collapsed(paths: &CallPaths, weight: Weight) -> String {
    let mut text = folded(paths, weight, Labels::Line).join("\n");
    text.push('\n');
    text
}

/// An SVG flame graph of the stacks, drawn by inferno from the folded stacks (a function's call sites
/// merged), written to `out`.
pub fn flamegraph(paths: &CallPaths, weight: Weight, title: &str, subtitle: &str, out: impl Write) -> std::io::Result<()> {
    use inferno::flamegraph::color::{BasicPalette, Palette};
    let lines = folded(paths, weight, Labels::Function);
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_owned();
    options.subtitle = Some(subtitle.to_owned());
    options.count_name = count_unit(weight).to_owned();
    // Colours from the function's name, so the same program draws the same picture.
    options.hash = true;
    options.colors = Palette::Basic(match weight {
        Weight::Cpu => BasicPalette::Hot,
        Weight::Memory => BasicPalette::Mem,
    });
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), out)
}

/// The stacks in the order of their labels (a caller's stacks next to each other), so that a
/// viewer's time-ordered chart of them reads like a flame graph.
fn ordered(paths: &CallPaths, weight: Weight) -> Vec<&Stack> {
    let mut stacks: Vec<&Stack> = paths.stacks(weight).iter().collect();
    stacks.sort_by_cached_key(|stack| paths.readable_stack(stack));
    stacks
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpeedscopeFile {
    #[serde(rename = "$schema")]
    schema: &'static str,
    name: String,
    exporter: String,
    active_profile_index: u32,
    shared: SpeedscopeShared,
    profiles: Vec<SpeedscopeProfile>,
}

#[derive(Serialize)]
struct SpeedscopeShared {
    frames: Vec<SpeedscopeFrame>,
}

#[derive(Serialize)]
struct SpeedscopeFrame {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpeedscopeProfile {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    unit: &'static str,
    start_value: f64,
    end_value: f64,
    samples: Vec<Vec<u32>>,
    weights: Vec<f64>,
}

/// speedscope's file format (its schema: `SPEEDSCOPE_SCHEMA`): one "sampled" profile, a sample per
/// distinct stack with its weight (CPU samples, unit "none"; or bytes allocated), the frames shared
/// (a function's name, its file, the frame's line).
pub fn speedscope(paths: &CallPaths, weight: Weight, title: &str) -> String {
    let frames = paths
        .frames
        .iter()
        .map(|frame| {
            let function = paths.function(frame.function);
            match &function.place {
                Place::Python(path) => SpeedscopeFrame {
                    name: function.name.clone(),
                    file: Some(path.to_string_lossy().into_owned()),
                    line: frame.line,
                },
                Place::Native(module) => SpeedscopeFrame {
                    name: function.name.clone(),
                    file: (!module.is_empty()).then(|| module.clone()),
                    line: None,
                },
            }
        })
        .collect();
    let (unit, scale, what) = match weight {
        Weight::Cpu => ("none", 1.0, "CPU samples"),
        Weight::Memory => ("bytes", BYTES_PER_MB, "bytes allocated"),
    };
    let stacks = ordered(paths, weight);
    let samples = stacks.iter().map(|stack| stack.frames.to_vec()).collect();
    let weights: Vec<f64> = stacks.iter().map(|stack| (stack.weight * scale).max(0.0)).collect();
    let file = SpeedscopeFile {
        schema: SPEEDSCOPE_SCHEMA,
        name: format!("{title} ({what})"),
        exporter: format!("scalene-lsp {}", env!("CARGO_PKG_VERSION")),
        active_profile_index: 0,
        shared: SpeedscopeShared { frames },
        profiles: vec![SpeedscopeProfile {
            kind: "sampled",
            name: format!("{title}: {what}"),
            unit,
            start_value: 0.0,
            end_value: weights.iter().sum(),
            samples,
            weights,
        }],
    };
    serde_json::to_string(&file).expect("the speedscope file serializes")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CpuProfileJson {
    nodes: Vec<CpuProfileNode>,
    start_time: u64,
    end_time: u64,
    samples: Vec<u32>,
    time_deltas: Vec<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CpuProfileNode {
    id: u32,
    call_frame: CpuProfileCallFrame,
    hit_count: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    children: Vec<u32>,
    /// The node's own samples per source line (1-based), as DevTools' `PositionTickInfo`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    position_ticks: Vec<PositionTicks>,
}

#[derive(Serialize)]
struct PositionTicks {
    line: u32,
    ticks: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CpuProfileCallFrame {
    function_name: String,
    script_id: String,
    url: String,
    line_number: i64,
    column_number: i64,
}

/// Chrome's `.cpuprofile` (the DevTools protocol's `Profiler.Profile`) of the CPU stacks: the call
/// tree of the stacks (a node per function under its caller, the root `(root)`, as V8 writes it: a
/// function's call frame is where it starts, here its first sampled line, and the lines its own
/// samples were on are its `positionTicks`), and each stack's samples (its weight rounded) one after
/// the other, one sampling interval apart, in the order of their labels. Times are in microseconds;
/// call frame lines 0-based, position ticks 1-based.
pub fn cpuprofile(paths: &CallPaths, sampling_s: f64) -> String {
    let interval_us = if sampling_s.is_finite() && sampling_s > 0.0 { (sampling_s * 1e6).round().max(1.0) as u64 } else { 10_000 };
    let root = CpuProfileNode {
        id: 1,
        call_frame: CpuProfileCallFrame {
            function_name: "(root)".into(),
            script_id: "0".into(),
            url: String::new(),
            line_number: -1,
            column_number: -1,
        },
        hit_count: 0,
        children: Vec::new(),
        position_ticks: Vec::new(),
    };
    let mut nodes = vec![root];
    // (parent node id, function) → node id
    let mut child_ids: HashMap<(u32, u32), u32> = HashMap::new();
    let first_lines = first_lines(paths);
    let mut script_ids: HashMap<String, String> = HashMap::new();
    let (mut samples, mut time_deltas) = (Vec::new(), Vec::new());
    for stack in ordered(paths, Weight::Cpu) {
        let n_samples = count(Weight::Cpu, stack.weight);
        if n_samples == 0 {
            continue;
        }
        let mut parent = 1;
        for frame_index in stack.frames.iter() {
            let function = paths.frame(*frame_index).function;
            parent = match child_ids.get(&(parent, function)) {
                Some(id) => *id,
                None => {
                    let id = nodes.len() as u32 + 1;
                    let call_frame = cpuprofile_frame(paths, function, first_lines.get(&function).copied(), &mut script_ids);
                    nodes.push(CpuProfileNode { id, call_frame, hit_count: 0, children: Vec::new(), position_ticks: Vec::new() });
                    nodes[parent as usize - 1].children.push(id);
                    child_ids.insert((parent, function), id);
                    id
                }
            };
        }
        let node = &mut nodes[parent as usize - 1];
        node.hit_count += n_samples;
        if let Some(line) = stack.frames.last().and_then(|frame| paths.frame(*frame).line) {
            match node.position_ticks.iter_mut().find(|ticks| ticks.line == line) {
                Some(ticks) => ticks.ticks += n_samples,
                None => node.position_ticks.push(PositionTicks { line, ticks: n_samples }),
            }
        }
        for _ in 0..n_samples {
            samples.push(parent);
            time_deltas.push(interval_us);
        }
    }
    let end_time = time_deltas.iter().sum();
    let profile = CpuProfileJson { nodes, start_time: 0, end_time, samples, time_deltas };
    serde_json::to_string(&profile).expect("the cpuprofile serializes")
}

/// Each Python function's first line among its frames (1-based).
fn first_lines(paths: &CallPaths) -> HashMap<u32, u32> {
    let mut first: HashMap<u32, u32> = HashMap::new();
    for stack in &paths.cpu {
        for frame in stack.frames.iter().map(|frame| paths.frame(*frame)) {
            if let Some(line) = frame.line {
                first.entry(frame.function).and_modify(|known| *known = (*known).min(line)).or_insert(line);
            }
        }
    }
    first
}

fn cpuprofile_frame(paths: &CallPaths, function: u32, first_line: Option<u32>, script_ids: &mut HashMap<String, String>) -> CpuProfileCallFrame {
    let function = paths.function(function);
    match &function.place {
        Place::Python(path) => {
            let url = file_url(path);
            let next = script_ids.len() + 1;
            let script_id = script_ids.entry(url.clone()).or_insert_with(|| next.to_string()).clone();
            CpuProfileCallFrame {
                function_name: function.name.clone(),
                script_id,
                url,
                line_number: first_line.map_or(-1, |line| i64::from(line) - 1),
                column_number: if first_line.is_some() { 0 } else { -1 },
            }
        }
        Place::Native(_) => CpuProfileCallFrame {
            function_name: function.label(),
            script_id: "0".into(),
            url: String::new(),
            line_number: -1,
            column_number: -1,
        },
    }
}

/// `file:///a%20b/c.py`: an absolute path as a file URL, every byte but the unreserved ones and `/`
/// percent-encoded.
fn file_url(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut url = String::from("file://");
    if !text.starts_with('/') {
        url.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests;
