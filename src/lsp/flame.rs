//! `scalene/flameGraph {uri?, weight?}` (request): the call tree of the newest profile covering `uri`
//! (else the newest profile), merged by function along each chain, for a flame graph view. Bounded:
//! nodes under `MIN_SHARE` of the run are folded into their parent's self time, at most `MAX_NODES`
//! nodes. Lines of open documents are mapped to their current text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::Uri;

use super::session::{Session, uri_path};
use crate::engine::profile::call_paths::{CallPaths, FlameNode, Place, Weight};
use crate::engine::profile::remap::LineMap;

/// Nodes below this share of the run are not sent (their time stays in the parent's total).
const MIN_SHARE: f64 = 0.001;
const MAX_NODES: usize = 5_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlameParams {
    pub uri: Option<Uri>,
    /// "cpu" (default) or "memory".
    pub weight: Option<String>,
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
    pub root: Option<FlameJson>,
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
    pub children: Vec<FlameJson>,
}

pub fn handle_flame(session: &Session, params: FlameParams) -> Result<FlameResult, String> {
    let weight = match params.weight.as_deref() {
        None | Some("cpu") => Weight::Cpu,
        Some("memory") => Weight::Memory,
        Some(other) => return Err(format!("weight must be \"cpu\" or \"memory\", not {other:?}")),
    };
    let unit = if weight == Weight::Cpu { "samples" } else { "MB" };
    let cache = session.engine.cache();
    let entry = params
        .uri
        .as_ref()
        .and_then(uri_path)
        .and_then(|path| cache.covering(&path).map(|covered| covered.entry))
        .or_else(|| cache.list().pop());
    let empty = |message: &str, entry_id: Option<String>, program: Option<String>| FlameResult {
        profile_id: entry_id,
        program,
        weight: weight.as_str(),
        unit,
        message: Some(message.to_owned()),
        root: None,
    };
    let Some(entry) = entry else {
        return Ok(empty("No profile yet: profile a file first (Scalene: Profile This File).", None, None));
    };
    let id = Some(entry.id.to_string());
    let program = Some(entry.profile.program.clone());
    let Some(paths) = entry.profile.call_paths.as_deref() else {
        return Ok(empty(super::calls::NO_CALL_PATHS, id, program));
    };
    let tree = paths.flame_tree(weight);
    if tree.total <= 0.0 {
        let message = if weight == Weight::Memory {
            "This profile recorded no allocation stacks: profile in memory mode for a memory flame graph."
        } else {
            "This profile recorded no CPU stacks."
        };
        return Ok(empty(message, id, program));
    }
    let mut walk = Walk { session, paths, floor: tree.total * MIN_SHARE, budget: MAX_NODES, maps: HashMap::new() };
    let root = walk.convert(&tree);
    Ok(FlameResult { profile_id: id, program, weight: weight.as_str(), unit, message: None, root: Some(root) })
}

/// The conversion's state: nodes left to send, and each file's line map, looked up once.
struct Walk<'a> {
    session: &'a Session,
    paths: &'a CallPaths,
    floor: f64,
    budget: usize,
    maps: HashMap<PathBuf, Option<Arc<LineMap>>>,
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
            module: function.and_then(|function| match &function.place {
                Place::Native(module) => Some(module.clone()),
                Place::Python(_) => None,
            }),
            total: node.total,
            self_weight: node.self_weight,
            children,
        }
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
