//! Push diagnostics (source `scalene`): hotspots and leaks of the profile covering each open document,
//! remapped to the document's current text, republished on every change.

use tower_lsp_server::ls_types::{Diagnostic, Uri};

use super::baseline::CompareView;
use super::convert;
use super::session::{DocumentSnapshot, Session};

pub fn compute(snapshot: &DocumentSnapshot) -> Vec<Diagnostic> {
    let settings = &snapshot.settings.diagnostics;
    if let Some(compare) = snapshot.compare.as_ref().filter(|_| !snapshot.hidden && settings.enabled) {
        return compare_diagnostics(snapshot, compare);
    }
    let Some(view) = snapshot.profile.as_ref().filter(|_| !snapshot.hidden && settings.enabled) else {
        return Vec::new();
    };
    let file = view.file();
    let measured = (view.entry.profile.memory, convert::Sampler::of(&view.entry.profile));
    let mut diagnostics = Vec::new();
    for line in &file.lines {
        let Some(current) = view.line_map.map(line.line) else { continue };
        if current > snapshot.document.n_lines() {
            continue;
        }
        let range = convert::line_range(&snapshot.document, current - 1, snapshot.encoding);
        diagnostics.extend(convert::line_diagnostics(line, file, measured, range, settings));
    }
    diagnostics
}

/// Compare mode: `cpu-regression` / `memory-regression` (Warning) and `improvement` (Hint) on changed
/// lines and `def` lines of changed functions, each pointing at the baseline's line.
fn compare_diagnostics(snapshot: &DocumentSnapshot, compare: &CompareView) -> Vec<Diagnostic> {
    let mode = &compare.mode;
    let before_uri = |path: &str, before_path: Option<&String>| Uri::from_file_path(before_path.map_or(path, String::as_str));
    let mut diagnostics = Vec::new();
    for (change, current) in compare.lines() {
        if current > snapshot.document.n_lines() {
            continue;
        }
        let range = convert::line_range(&snapshot.document, current - 1, snapshot.encoding);
        let location = convert::compare::baseline_location(before_uri(&change.path, change.before_path.as_ref()), change.before_line);
        diagnostics.extend(convert::compare::diagnostics(&change.into(), "", range, &mode.baseline, change.before_line, location));
    }
    for (change, current) in compare.functions() {
        if current > snapshot.document.n_lines() {
            continue;
        }
        let range = convert::line_range(&snapshot.document, current - 1, snapshot.encoding);
        let location = convert::compare::baseline_location(before_uri(&change.path, change.before_path.as_ref()), change.before_line);
        let subject = format!("{}: ", change.name);
        diagnostics.extend(convert::compare::diagnostics(&change.into(), &subject, range, &mode.baseline, change.before_line, location));
    }
    diagnostics
}

/// Publishes (or clears) a document's diagnostics.
pub async fn publish(session: &Session, uri: &Uri) {
    let Some(snapshot) = session.snapshot(uri) else { return };
    let diagnostics = compute(&snapshot);
    if !Session::worth_sending(&session.published, uri, !diagnostics.is_empty()) {
        return;
    }
    session.client.publish_diagnostics(uri.clone(), diagnostics, Some(snapshot.document.version)).await;
}

pub async fn publish_all(session: &Session) {
    for uri in session.open_uris() {
        publish(session, &uri).await;
    }
    // Documents closed since they got diagnostics: clear them too.
    let stale: Vec<Uri> = session.published.iter().map(|uri| uri.key().clone()).filter(|uri| session.document(uri).is_none()).collect();
    for uri in stale {
        session.published.remove(&uri);
        session.client.publish_diagnostics(uri, Vec::new(), None).await;
    }
}
