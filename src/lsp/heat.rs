//! `scalene/lineHeat`: per-line heat (0..1) of the profile covering an open document, for clients that
//! draw a heat map (announced with `experimental.scaleneLineHeat: true`). Lines follow edits exactly as
//! the inlay hints do (the same `LineMap`), and an empty list clears what the client drew.

use serde::Serialize;
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::ls_types::notification::Notification;

use super::session::{DocumentSnapshot, Session};
use crate::engine::profile::model::Profile;

/// The notification (server → client).
pub enum LineHeatNotification {}

impl Notification for LineHeatNotification {
    type Params = LineHeatParams;
    const METHOD: &'static str = "scalene/lineHeat";
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct LineHeatParams {
    pub uri: Uri,
    /// The document version the lines refer to.
    pub version: i32,
    pub lines: Vec<LineHeat>,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LineHeat {
    /// 0-based line of the document's current text.
    pub line: u32,
    /// CPU percent of the whole run (python + native + system).
    pub cpu: f64,
    /// Peak memory of the line, MB (0 when memory was not profiled).
    pub peak_mb: f64,
    /// 0..1: the larger of the line's CPU relative to the profile's hottest line and its peak relative
    /// to the profile's largest line peak.
    pub heat: f64,
}

/// The largest line CPU and line peak of a whole profile (every file): what heat is relative to.
fn maxima(profile: &Profile) -> (f64, f64) {
    profile.files.iter().flat_map(|file| file.lines.iter()).fold((0.0, 0.0), |(cpu, peak), line| {
        (f64::max(cpu, line.cpu_total()), f64::max(peak, if profile.memory { line.metrics.peak_mb } else { 0.0 }))
    })
}

/// The heat of every mapped line of the document (empty when there is nothing to show).
pub fn compute(snapshot: &DocumentSnapshot) -> Vec<LineHeat> {
    let Some(view) = snapshot.profile.as_ref().filter(|_| !snapshot.hidden) else { return Vec::new() };
    let profile = &view.entry.profile;
    let (max_cpu, max_peak) = maxima(profile);
    let mut lines = Vec::new();
    for line in &view.file().lines {
        let Some(current) = view.line_map.map(line.line) else { continue };
        if current > snapshot.document.n_lines() {
            continue;
        }
        let cpu = line.cpu_total();
        let peak_mb = if profile.memory { line.metrics.peak_mb } else { 0.0 };
        let relative = |value: f64, max: f64| if max > 0.0 { (value / max).clamp(0.0, 1.0) } else { 0.0 };
        let heat = relative(cpu, max_cpu).max(relative(peak_mb, max_peak));
        if heat > 0.0 {
            lines.push(LineHeat { line: current - 1, cpu, peak_mb, heat });
        }
    }
    lines
}

/// Sends a document's heat to a client that asked for it; an empty list only when heat was sent before.
pub async fn publish(session: &Session, uri: &Uri) {
    if !session.capabilities().line_heat {
        return;
    }
    let Some(snapshot) = session.snapshot(uri) else { return };
    let lines = compute(&snapshot);
    if !Session::worth_sending(&session.heat_sent, uri, !lines.is_empty()) {
        return;
    }
    let params = LineHeatParams { uri: uri.clone(), version: snapshot.document.version, lines };
    session.client.send_notification::<LineHeatNotification>(params).await;
}

pub async fn publish_all(session: &Session) {
    if !session.capabilities().line_heat {
        return;
    }
    for uri in session.open_uris() {
        publish(session, &uri).await;
    }
}
