//! Call hierarchy with costs: `textDocument/prepareCallHierarchy`, `callHierarchy/incomingCalls` and
//! `outgoingCalls`, answered from the call paths of the profile covering a document (Scalene's stacks),
//! so the editor's own view lists the profiled callers and callees of a function with their share of
//! the run's CPU, costliest first, each jumping to its call site. Lines in open documents go through
//! their line map like every other number; files not open keep the profiled line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::{
    CallHierarchyIncomingCall, CallHierarchyItem, CallHierarchyOutgoingCall, Position, Range, SymbolKind, Uri,
};

use super::convert;
use super::session::{DocumentSnapshot, Session};
use crate::engine::profile::call_paths::{CallEdge, CallFunction, CallPaths, Place, Weight};
use crate::engine::keep::cache::{CachedProfile, ProfileId};
use crate::engine::profile::model::FileProfile;

/// What an item carries between prepare and the calls requests: the profile and the function.
#[derive(Serialize, Deserialize)]
struct ItemData {
    profile: String,
    name: String,
    /// The Python file, or None for a native function.
    file: Option<PathBuf>,
    /// A native function's module.
    module: Option<String>,
}

/// What the user is told, once per session, when a profile has no call paths.
pub const NO_CALL_PATHS: &str = "Scalene: this profile has no call paths, so callers and callees cannot be shown: \
Scalene recorded no stacks (the setting `scalene.callPaths` is off, Scalene is older than 2.3, or the profile was \
saved before call paths were kept). Profile the file again with `callPaths` on and Scalene 2.3 or later \
(`pip install -U scalene` in the project's interpreter).";

/// True when the document's profile has no call paths (the call hierarchy then says so, once).
pub fn lacks_call_paths(snapshot: &DocumentSnapshot) -> bool {
    snapshot.profile.as_ref().is_some_and(|view| view.entry.profile.call_paths.is_none())
}

/// The function around `position` of a profiled document, as an item; None when the profile has no
/// call paths or the function never appeared in its stacks.
pub fn handle_prepare(session: &Session, snapshot: &DocumentSnapshot, position: Position) -> Option<Vec<CallHierarchyItem>> {
    let view = snapshot.profile.as_ref()?;
    let paths = view.entry.profile.call_paths.as_ref()?;
    let file = view.file();
    let wanted = position.line + 1;
    // The innermost function whose (mapped) lines hold the cursor; module level otherwise.
    let function = file
        .functions
        .iter()
        .filter_map(|function| {
            let start = view.line_map.map(function.line)?;
            let end = (function.line..=function.end_line).rev().find_map(|line| view.line_map.map(line))?;
            (start..=end).contains(&wanted).then_some((end - start, function))
        })
        .min_by_key(|(span, _)| *span)
        .map(|(_, function)| function.name.as_str());
    // Scalene lists only functions with samples of their own; one that only calls is found by a frame
    // of the stacks on the cursor's line.
    let id = match function {
        Some(name) => paths.find(&file.path, name).first().copied(),
        None => None,
    }
    .or_else(|| {
        let on_line = |function: u32| {
            paths.frames.iter().any(|frame| frame.function == function && frame.line.and_then(|line| view.line_map.map(line)) == Some(wanted))
        };
        let in_file = (0..paths.functions.len() as u32).filter(|id| paths.function(*id).file() == Some(file.path.as_path()));
        let candidates: Vec<u32> = in_file.filter(|id| on_line(*id)).collect();
        candidates.iter().copied().find(|id| paths.function(*id).name != "<module>").or(candidates.first().copied())
    })
    .or_else(|| paths.find(&file.path, "<module>").first().copied())?;
    Some(vec![item(session, &view.entry, paths, id, None)])
}

pub fn handle_incoming(session: &Session, item: &CallHierarchyItem) -> Option<Vec<CallHierarchyIncomingCall>> {
    let (entry, id) = resolve(session, item)?;
    let paths = entry.profile.call_paths.as_ref()?;
    let edges = grouped(paths.incoming(Weight::Cpu, &[id]));
    let target = paths.inclusive(Weight::Cpu, &[id]);
    Some(
        edges
            .into_iter()
            .map(|(caller, lines, weight)| {
                let file = paths.function(caller).file().map(Path::to_path_buf);
                let detail = share_detail(paths, weight, Some((target, &paths.function(id).name)));
                CallHierarchyIncomingCall {
                    from: item_with_detail(session, &entry, paths, caller, None, detail),
                    from_ranges: lines.iter().filter_map(|line| file.as_deref().map(|file| range_in(session, file, *line))).collect(),
                }
            })
            .collect(),
    )
}

pub fn handle_outgoing(session: &Session, item: &CallHierarchyItem) -> Option<Vec<CallHierarchyOutgoingCall>> {
    let (entry, id) = resolve(session, item)?;
    let paths = entry.profile.call_paths.as_ref()?;
    let file = paths.function(id).file().map(Path::to_path_buf);
    let edges = grouped(paths.outgoing(Weight::Cpu, &[id]));
    Some(
        edges
            .into_iter()
            .map(|(callee, lines, weight)| {
                let from_ranges: Vec<Range> =
                    lines.iter().filter_map(|line| file.as_deref().map(|file| range_in(session, file, *line))).collect();
                let detail = share_detail(paths, weight, None);
                // A native callee has no file of its own: it is shown at the call site.
                let call_site = file.clone().zip(lines.first().copied());
                CallHierarchyOutgoingCall {
                    to: item_with_detail(session, &entry, paths, callee, call_site, detail),
                    from_ranges,
                }
            })
            .collect(),
    )
}

/// The edges of each other function together: its call lines and the weight through all of them.
fn grouped(edges: Vec<CallEdge>) -> Vec<(u32, Vec<u32>, f64)> {
    let mut grouped: Vec<(u32, Vec<u32>, f64)> = Vec::new();
    for edge in edges {
        let at = match grouped.iter().position(|(function, _, _)| *function == edge.function) {
            Some(at) => at,
            None => {
                grouped.push((edge.function, Vec::new(), 0.0));
                grouped.len() - 1
            }
        };
        grouped[at].2 += edge.weight;
        grouped[at].1.extend(edge.call_line);
    }
    grouped.sort_by(|a, b| b.2.total_cmp(&a.2));
    grouped
}

/// "61.0% of CPU through this call · 78% of score's": the share of the run, and of the function asked
/// about when there is one.
fn share_detail(paths: &CallPaths, weight: f64, of: Option<(f64, &str)>) -> String {
    let total = paths.total(Weight::Cpu);
    let run = if total > 0.0 { 100.0 * weight / total } else { 0.0 };
    match of {
        Some((target, name)) if target > 0.0 => {
            format!("{run:.1}% of CPU through this call · {:.0}% of {name}'s", 100.0 * weight / target)
        }
        _ => format!("{run:.1}% of CPU through this call"),
    }
}

fn item(session: &Session, entry: &Arc<CachedProfile>, paths: &CallPaths, id: u32, call_site: Option<(PathBuf, u32)>) -> CallHierarchyItem {
    let total = paths.total(Weight::Cpu);
    let inclusive = paths.inclusive(Weight::Cpu, &[id]);
    let share = if total > 0.0 { 100.0 * inclusive / total } else { 0.0 };
    item_with_detail(session, entry, paths, id, call_site, format!("{share:.1}% of CPU, with what it calls"))
}

fn item_with_detail(
    session: &Session,
    entry: &Arc<CachedProfile>,
    paths: &CallPaths,
    id: u32,
    call_site: Option<(PathBuf, u32)>,
    detail: String,
) -> CallHierarchyItem {
    let function = paths.function(id);
    let (file, line, detail) = match &function.place {
        Place::Python(file) => {
            let line = def_line(entry.profile.files.iter().find(|profiled| profiled.path == *file), function)
                .or_else(|| first_line(paths, id))
                .unwrap_or(1);
            (Some(file.clone()), line, detail)
        }
        Place::Native(module) => {
            let (file, line) = call_site.map_or((None, 1), |(file, line)| (Some(file), line));
            let module = if module.is_empty() { "native".to_owned() } else { format!("native, {module}") };
            (file, line, format!("{module} · {detail}"))
        }
    };
    let range = file.as_deref().map(|file| range_in(session, file, line)).unwrap_or_default();
    let uri = file.as_deref().and_then(Uri::from_file_path).unwrap_or_else(|| "file:///".parse().expect("a valid URI"));
    let data = ItemData {
        profile: entry.id.to_string(),
        name: function.name.clone(),
        file: function.file().map(Path::to_path_buf),
        module: match &function.place {
            Place::Native(module) => Some(module.clone()),
            Place::Python(_) => None,
        },
    };
    CallHierarchyItem {
        name: function.name.clone(),
        kind: if function.is_native() { SymbolKind::OPERATOR } else { SymbolKind::FUNCTION },
        tags: None,
        detail: Some(detail),
        uri,
        range,
        selection_range: range,
        data: serde_json::to_value(data).ok(),
    }
}

/// The `def` line of a Python function in its file's profile (Scalene names functions by their last
/// part, the stacks by the qualified name).
fn def_line(file: Option<&FileProfile>, function: &CallFunction) -> Option<u32> {
    let short = function.name.rsplit('.').next().unwrap_or(&function.name);
    let functions = &file?.functions;
    functions.iter().find(|f| f.name == function.name).or_else(|| functions.iter().find(|f| f.name == short)).map(|f| f.line)
}

/// The smallest line a function's frames were seen on, for one Scalene lists no `def` for.
fn first_line(paths: &CallPaths, id: u32) -> Option<u32> {
    paths.frames.iter().filter(|frame| frame.function == id).filter_map(|frame| frame.line).min()
}

/// A profiled line of `file` as a range in the editor: through the open document's line map when the
/// file is open (an edited-away line falls back to the profiled one), else the profiled line itself.
fn range_in(session: &Session, file: &Path, line: u32) -> Range {
    if let Some(uri) = Uri::from_file_path(file)
        && let Some(snapshot) = session.snapshot(&uri)
    {
        let mapped = snapshot.profile.as_ref().and_then(|view| view.line_map.map(line)).unwrap_or(line);
        return convert::line_range(&snapshot.document, mapped.saturating_sub(1), snapshot.encoding);
    }
    let position = Position { line: line.saturating_sub(1), character: 0 };
    Range { start: position, end: position }
}

/// The profile and function an item names: the profile it came from while it is cached, else the newest
/// profile of its file.
fn resolve(session: &Session, item: &CallHierarchyItem) -> Option<(Arc<CachedProfile>, u32)> {
    let data: ItemData = serde_json::from_value(item.data.clone()?).ok()?;
    let cache = session.engine.cache();
    let entry = ProfileId::parse(&data.profile)
        .and_then(|id| cache.get(id))
        .or_else(|| data.file.as_deref().and_then(|file| cache.latest_for_file(file)))?;
    let paths = entry.profile.call_paths.as_ref()?;
    let place = match (data.file, data.module) {
        (Some(file), _) => Place::Python(file),
        (None, module) => Place::Native(module.unwrap_or_default()),
    };
    let wanted = CallFunction { name: data.name, place };
    let id = paths.functions.iter().position(|function| *function == wanted)?;
    Some((entry.clone(), id as u32))
}

/// For a hovered line: its costliest call paths, "called from main → heavy_batch (79%), main →
/// light_batch (21%)", each a share of the samples on that line; None without call paths or when only
/// the module runs it.
pub fn hover_paths(paths: &CallPaths, file: &Path, line: u32) -> Option<String> {
    let all = paths.paths_into_line(Weight::Cpu, file, line, usize::MAX);
    let total: f64 = all.iter().map(|path| path.weight).sum();
    // Chains by name: two call sites of one chain read as one.
    let mut chains: Vec<(String, f64)> = Vec::new();
    for path in &all {
        // The callers of the line's own function, without the module's frame, the nearest 3.
        let callers: Vec<&str> = path.functions[..path.functions.len() - 1]
            .iter()
            .map(|function| paths.function(*function).name.as_str())
            .filter(|name| *name != "<module>")
            .collect();
        let nearest = &callers[callers.len().saturating_sub(3)..];
        let chain = if callers.len() > 3 { format!("… → {}", nearest.join(" → ")) } else { nearest.join(" → ") };
        if chain.is_empty() {
            continue;
        }
        match chains.iter_mut().find(|(known, _)| *known == chain) {
            Some((_, weight)) => *weight += path.weight,
            None => chains.push((chain, path.weight)),
        }
    }
    chains.sort_by(|a, b| b.1.total_cmp(&a.1));
    let shown: Vec<String> =
        chains.iter().take(HOVER_PATHS).map(|(chain, weight)| format!("{chain} ({:.0}%)", 100.0 * weight / total)).collect();
    (!shown.is_empty() && total > 0.0).then(|| format!("called from {}", shown.join(", ")))
}

/// For a hovered `def` line: the function's callers, "called by heavy_batch (79%), light_batch (21%)",
/// each a share of the function's samples.
pub fn hover_callers(paths: &CallPaths, file: &Path, name: &str) -> Option<String> {
    let ids = paths.find(file, name);
    let target = paths.inclusive(Weight::Cpu, &ids);
    let callers = grouped(paths.incoming(Weight::Cpu, &ids));
    let shown: Vec<String> = callers
        .iter()
        .filter(|(caller, _, _)| !ids.contains(caller))
        .take(HOVER_PATHS)
        .map(|(caller, _, weight)| format!("{} ({:.0}%)", paths.function(*caller).name, 100.0 * weight / target))
        .collect();
    (!shown.is_empty() && target > 0.0).then(|| format!("called by {}", shown.join(", ")))
}

/// How many call paths a hover lists.
const HOVER_PATHS: usize = 3;
