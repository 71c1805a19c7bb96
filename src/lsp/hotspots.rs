//! `scalene/hotspots {uri?, limit?}` (request): the hottest lines of the newest profile covering `uri`
//! (else the newest profile), across every file it measured, for "jump to the hottest line" lists.
//! Lines of open documents are mapped to their current text (an edited line is left out).

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::Uri;

use super::convert;
use super::session::{Session, uri_path};
use crate::engine::profile::model::{Rank, ranked_lines};

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 200;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotspotsParams {
    pub uri: Option<Uri>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HotspotsResult {
    /// The profile the lines come from (absent when there is none).
    pub profile_id: Option<String>,
    /// Hottest first (CPU, then peak memory).
    pub items: Vec<Hotspot>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hotspot {
    pub uri: Uri,
    /// 0-based, in the document's current text when it is open.
    pub line: u32,
    pub cpu: f64,
    pub peak_mb: f64,
    /// The inlay-hint label (`32.2% CPU · 2.2 MB`).
    pub label: String,
    /// The line's source text as profiled.
    pub source: String,
}

pub fn handle_hotspots(session: &Session, params: HotspotsParams) -> HotspotsResult {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let cache = session.engine.cache();
    let entry = params
        .uri
        .as_ref()
        .and_then(uri_path)
        .and_then(|path| cache.covering(&path).map(|covered| covered.entry))
        .or_else(|| cache.list().pop());
    let Some(entry) = entry else { return HotspotsResult { profile_id: None, items: Vec::new() } };
    let profile = &entry.profile;
    let (_, ranked) = ranked_lines(Rank::Cpu, profile.files.iter(), usize::MAX);
    let mut items = Vec::new();
    let everything = crate::lsp::settings::HintSettings { min_cpu_percent: 0.0, min_peak_mb: 0.0, ..session.settings().hints.clone() };
    for (file, line, _) in ranked {
        if items.len() >= limit {
            break;
        }
        let Some(uri) = Uri::from_file_path(&file.path) else { continue };
        // Open documents: the line where it is now (left out when it was edited).
        let current = match session.snapshot(&uri).and_then(|snapshot| snapshot.profile.filter(|view| view.entry.id == entry.id)) {
            Some(view) => match view.line_map.map(line.line) {
                Some(current) => current,
                None => continue,
            },
            None => line.line,
        };
        let label = convert::hint_label(line, profile.memory, file.leak(line.line).is_some(), &everything)
            .unwrap_or_else(|| format!("{:.1}% CPU", line.cpu_total()));
        items.push(Hotspot {
            uri,
            line: current.saturating_sub(1),
            cpu: line.cpu_total(),
            peak_mb: if profile.memory { line.metrics.peak_mb } else { 0.0 },
            label,
            source: line.text.trim().to_string(),
        });
    }
    HotspotsResult { profile_id: Some(entry.id.to_string()), items }
}
