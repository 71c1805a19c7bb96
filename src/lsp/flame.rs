//! `scalene/flameGraph {uri?, weight?, view?, width?}` (request): the call tree of the newest profile
//! covering `uri` (else the newest profile), merged by function along each chain, for a flame graph view;
//! with `view: "timeline"` the CPU timeline as a flame chart instead (`CallPaths::timeline_chart`, cut
//! into `width` columns). Bounded: nodes under `MIN_SHARE` of the run are folded into their parent's
//! self time, at most `MAX_NODES` nodes; the timeline at most `MAX_TIMELINE_SPANS` frames. A live run's
//! snapshot says so (`status` `running`, `elapsedS`). In compare mode, while the compared profile is the
//! one drawn, each Python function's node carries its verdict from the comparison (`change`) and the
//! answer names the baseline (`compare`). Lines of open documents are mapped to their current text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::Uri;

use super::baseline::CompareMode;
use super::session::{Session, uri_path};
use crate::engine::profile::call_paths::{CallFunction, CallPaths, FlameNode, Place, TimelineChart, Weight};
use crate::engine::profile::compare::{FunctionChange, Metrics, Verdict};
use crate::engine::profile::remap::LineMap;

/// Nodes below this share of the run are not sent (their time stays in the parent's total).
const MIN_SHARE: f64 = 0.001;
const MAX_NODES: usize = 5_000;
/// The timeline's columns when the client does not say how wide its view is.
const DEFAULT_WIDTH: u32 = 1_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlameParams {
    pub uri: Option<Uri>,
    /// "cpu" (default) or "memory".
    pub weight: Option<String>,
    /// "tree" (default) or "timeline".
    pub view: Option<String>,
    /// The timeline view's width in pixels: time is cut into this many columns (1..=8000).
    pub width: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlameResult {
    /// The profile the tree comes from (absent when there is none).
    pub profile_id: Option<String>,
    pub program: Option<String>,
    pub weight: &'static str,
    /// "samples" (CPU) or "MB" (memory).
    pub unit: &'static str,
    /// Why there is no tree, when there is none (no profile, or no call paths), with what to do.
    pub message: Option<String>,
    /// "tree" or "timeline".
    pub view: &'static str,
    /// The profile's status: `running` for a live run's snapshot (the run so far), else how it ended.
    pub status: Option<&'static str>,
    /// Seconds the profile covers (Scalene's elapsed time; for a snapshot, the run so far).
    pub elapsed_s: Option<f64>,
    /// In compare mode, when the profile drawn is the compared one: the comparison.
    pub compare: Option<FlameCompare>,
    pub root: Option<FlameJson>,
    /// With `view: "timeline"`.
    pub timeline: Option<TimelineJson>,
}

/// The comparison a compare-mode tree is coloured by.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlameCompare {
    /// The baseline's saved name.
    pub baseline: String,
    pub saved_at: String,
    /// The whole comparison's verdict.
    pub verdict: &'static str,
    /// The comparison's summary sentences.
    pub summary: String,
}

/// A function's change in compare mode: the comparison's verdict of the function (the part of the
/// tree's weight: CPU seconds, or MB allocated) and its numbers on both sides.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlameChange {
    /// `regressed`, `improved`, `unchanged`, `new`, or `below`: the function costs too little on both
    /// sides for any change to be named (under the CPU floor `min_cpu_s`, or `min_mb` MB allocated).
    pub verdict: &'static str,
    /// The compared function's name (Scalene's qualified name).
    pub function: String,
    /// The function's total on each side: CPU seconds for `cpu`, MB allocated for `memory` (absent when
    /// the function was not there, or too small to be listed).
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// after ÷ before − 1, percent (absent when before is 0).
    pub change_percent: Option<f64>,
    /// The smallest CPU change the comparison could have named in this function, percent.
    pub detectable_percent: Option<f64>,
}

/// The timeline as a flame chart: x is seconds since the first sample.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineJson {
    pub duration_s: f64,
    /// Runs in the profile's timeline.
    pub runs: usize,
    /// Columns the time was cut into (the `width` asked for).
    pub columns: usize,
    pub threads: Vec<TimelineThread>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineThread {
    /// Scalene's thread id, when it gave one.
    pub thread: Option<u64>,
    /// `main thread`, `thread 2`, ... in the order the threads were first sampled.
    pub label: String,
    pub samples: u64,
    /// Rows.
    pub depth: u32,
    /// By depth, then start.
    pub frames: Vec<TimelineFrame>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineFrame {
    pub name: String,
    pub uri: Option<Uri>,
    pub line: Option<u32>,
    pub module: Option<String>,
    pub depth: u32,
    /// Seconds since the first sample.
    pub start: f64,
    pub end: f64,
    pub samples: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlameJson {
    pub name: String,
    /// The function's file (absent for the root and native functions).
    pub uri: Option<Uri>,
    /// 0-based line, the costliest the function was on in this position (in the open document's text).
    pub line: Option<u32>,
    /// The native module, for a native function.
    pub module: Option<String>,
    pub total: f64,
    #[serde(rename = "self")]
    pub self_weight: f64,
    /// In compare mode: the function's change (absent for the root, native functions and files the
    /// comparison does not cover).
    pub change: Option<FlameChange>,
    pub children: Vec<FlameJson>,
}

pub fn handle_flame(session: &Session, params: FlameParams) -> Result<FlameResult, String> {
    let weight = match params.weight.as_deref() {
        None | Some("cpu") => Weight::Cpu,
        Some("memory") => Weight::Memory,
        Some(other) => return Err(format!("weight must be \"cpu\" or \"memory\", not {other:?}")),
    };
    let timeline = match params.view.as_deref() {
        None | Some("tree") => false,
        Some("timeline") => true,
        Some(other) => return Err(format!("view must be \"tree\" or \"timeline\", not {other:?}")),
    };
    if timeline && weight == Weight::Memory {
        return Err("the timeline has CPU samples only: ask for it without weight \"memory\"".to_owned());
    }
    let unit = if weight == Weight::Cpu { "samples" } else { "MB" };
    let cache = session.engine.cache();
    let entry = params
        .uri
        .as_ref()
        .and_then(uri_path)
        .and_then(|path| cache.covering(&path).map(|covered| covered.entry))
        .or_else(|| cache.list().pop());
    let mut result = FlameResult {
        profile_id: None,
        program: None,
        weight: weight.as_str(),
        unit,
        message: None,
        view: if timeline { "timeline" } else { "tree" },
        status: None,
        elapsed_s: None,
        compare: None,
        root: None,
        timeline: None,
    };
    let Some(entry) = entry else {
        result.message = Some("No profile yet: profile a file first (Scalene: Profile This File).".to_owned());
        return Ok(result);
    };
    result.profile_id = Some(entry.id.to_string());
    result.program = Some(entry.profile.program.clone());
    result.status = Some(entry.profile.status.as_str());
    result.elapsed_s = Some(entry.profile.elapsed_s);
    let Some(paths) = entry.profile.call_paths.as_deref() else {
        result.message = Some(super::calls::NO_CALL_PATHS.to_owned());
        return Ok(result);
    };
    let mut walk = Walk { session, paths, floor: 0.0, budget: MAX_NODES, maps: HashMap::new(), changes: None, weight };
    if timeline {
        let width = params.width.unwrap_or(DEFAULT_WIDTH).max(1) as usize;
        match paths.timeline_chart(width) {
            Some(chart) => result.timeline = Some(walk.timeline(&chart)),
            None => result.message = Some("This profile recorded no CPU timeline (Scalene 2.4 records one with its stacks).".to_owned()),
        }
        return Ok(result);
    }
    let tree = paths.flame_tree(weight);
    if tree.total <= 0.0 {
        result.message = Some(
            if weight == Weight::Memory {
                "This profile recorded no allocation stacks: profile in memory mode for a memory flame graph."
            } else {
                "This profile recorded no CPU stacks."
            }
            .to_owned(),
        );
        return Ok(result);
    }
    if let Some(mode) = session.compare_mode().filter(|mode| mode.after.id == entry.id) {
        result.compare = Some(FlameCompare {
            baseline: mode.baseline.clone(),
            saved_at: mode.saved_at.clone(),
            verdict: mode.comparison.summary.verdict.as_str(),
            summary: mode.comparison.summary.text.clone(),
        });
        walk.changes = Some(mode);
    }
    walk.floor = tree.total * MIN_SHARE;
    result.root = Some(walk.convert(&tree));
    Ok(result)
}

/// The conversion's state: nodes left to send, and each file's line map, looked up once.
struct Walk<'a> {
    session: &'a Session,
    paths: &'a CallPaths,
    floor: f64,
    budget: usize,
    maps: HashMap<PathBuf, Option<Arc<LineMap>>>,
    /// Compare mode, when the profile drawn is the compared one.
    changes: Option<Arc<CompareMode>>,
    weight: Weight,
}

impl Walk<'_> {
    fn convert(&mut self, node: &FlameNode) -> FlameJson {
        self.budget = self.budget.saturating_sub(1);
        let function = node.function.map(|id| self.paths.function(id));
        let file = function.and_then(|function| function.file());
        let uri = file.and_then(Uri::from_file_path);
        let line = match (file, node.lines.first()) {
            (Some(file), Some((line, _))) => Some(self.mapped(file, uri.as_ref(), *line).saturating_sub(1)),
            _ => None,
        };
        let change = function.and_then(|function| self.change(function));
        let mut children = Vec::new();
        for child in &node.children {
            if child.total >= self.floor && self.budget > 0 {
                children.push(self.convert(child));
            }
        }
        FlameJson {
            name: function.map_or_else(|| "all".to_owned(), |function| function.name.clone()),
            uri,
            line,
            module: function.and_then(native_module),
            total: node.total,
            self_weight: node.self_weight,
            change,
            children,
        }
    }

    /// The timeline's frames, with files and current lines like the tree's.
    fn timeline(&mut self, chart: &TimelineChart) -> TimelineJson {
        let threads = chart
            .lanes
            .iter()
            .enumerate()
            .map(|(index, lane)| TimelineThread {
                thread: lane.thread,
                label: if index == 0 { "main thread".to_owned() } else { format!("thread {}", index + 1) },
                samples: lane.samples,
                depth: lane.depth,
                frames: lane
                    .spans
                    .iter()
                    .map(|span| {
                        let function = self.paths.function(span.function);
                        let file = function.file();
                        let uri = file.and_then(Uri::from_file_path);
                        let line = match (file, span.line) {
                            (Some(file), Some(line)) => Some(self.mapped(file, uri.as_ref(), line).saturating_sub(1)),
                            _ => None,
                        };
                        TimelineFrame {
                            name: function.name.clone(),
                            uri,
                            line,
                            module: native_module(function),
                            depth: span.depth,
                            start: span.start_s,
                            end: span.end_s,
                            samples: span.samples,
                        }
                    })
                    .collect(),
            })
            .collect();
        TimelineJson { duration_s: chart.duration_s, runs: chart.runs, columns: chart.columns, threads, notes: chart.notes.clone() }
    }

    /// The comparison's verdict of a Python function (compare mode only): matched by file and name
    /// (Scalene's name exactly, else the last part of a qualified name when only one function has it).
    fn change(&self, function: &CallFunction) -> Option<FlameChange> {
        let mode = self.changes.as_ref()?;
        let file = function.file()?;
        let same_file = |path: &str| Path::new(path) == file;
        if !mode.comparison.files.iter().any(|compared| same_file(&compared.path)) {
            return None;
        }
        let in_file: Vec<&FunctionChange> = mode.comparison.functions.iter().filter(|change| same_file(&change.path)).collect();
        let last = |name: &str| name.rsplit('.').next().unwrap_or(name).to_owned();
        let found = in_file.iter().find(|change| change.name == function.name && change.after.is_some()).copied().or_else(|| {
            let wanted = last(&function.name);
            let mut matching = in_file.iter().filter(|change| change.after.is_some() && last(&change.name) == wanted);
            match (matching.next(), matching.next()) {
                (Some(only), None) => Some(*only),
                _ => None,
            }
        });
        let rule = &mode.comparison.rule;
        let Some(change) = found else {
            // A function the comparison did not list costs under its floors on both sides.
            return Some(FlameChange { verdict: "below", function: function.name.clone(), before: None, after: None, change_percent: None, detectable_percent: None });
        };
        let (part, amount, floor): (Verdict, fn(&Metrics) -> f64, f64) = match self.weight {
            Weight::Cpu => (change.cpu, |metrics| metrics.cpu_s, rule.min_cpu_s),
            Weight::Memory => (change.memory, |metrics| metrics.alloc_mb, rule.min_mb),
        };
        let before = change.before.as_ref().map(amount);
        let after = change.after.as_ref().map(amount);
        let below = match self.weight {
            Weight::Cpu => before.unwrap_or(0.0) + after.unwrap_or(0.0) < floor || !rule.cpu_compared,
            Weight::Memory => before.unwrap_or(0.0).max(after.unwrap_or(0.0)) < floor,
        };
        let verdict = if part == Verdict::Unchanged && below { "below" } else { part.as_str() };
        let change_percent = match (before, after) {
            (Some(before), Some(after)) if before > 0.0 => Some((after / before - 1.0) * 100.0),
            _ => None,
        };
        Some(FlameChange {
            verdict,
            function: change.name.clone(),
            before,
            after,
            change_percent,
            detectable_percent: (self.weight == Weight::Cpu).then(|| change.cpu_test.as_ref().map(|test| test.detectable_percent)).flatten(),
        })
    }

    /// A profiled line of `file` in its open document's current text (or as profiled).
    fn mapped(&mut self, file: &Path, uri: Option<&Uri>, line: u32) -> u32 {
        let session = self.session;
        let map = self
            .maps
            .entry(file.to_path_buf())
            .or_insert_with(|| uri.and_then(|uri| session.snapshot(uri)).and_then(|snapshot| Some(snapshot.profile?.line_map)));
        map.as_ref().and_then(|map| map.map(line)).unwrap_or(line)
    }
}

/// The native module of a native function.
fn native_module(function: &CallFunction) -> Option<String> {
    match &function.place {
        Place::Native(module) => Some(module.clone()),
        Place::Python(_) => None,
    }
}
