//! textDocument/inlayHint: one hint at the end of each hot line, in the requested range only.

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::{InlayHint, InlayHintLabel, InlayHintTooltip, MarkupContent, MarkupKind, Range, Uri};

use super::baseline::CompareView;
use super::convert;
use super::session::{DocumentSnapshot, Session};

/// What a hint carries for `inlayHint/resolve`: enough to rebuild its tooltip.
#[derive(Serialize, Deserialize)]
struct HintData {
    uri: String,
    /// The profiled line (not the current one: the profile's numbers are keyed by it).
    line: u32,
    profile: u64,
}

fn tooltip(markdown: String) -> InlayHintTooltip {
    InlayHintTooltip::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value: markdown })
}

/// Hints for `range`. With `lazy_tooltips` (the client resolves tooltips), each hint carries only the
/// data to build its tooltip later: a 100-line request then stays small and fast.
pub fn handle_inlay_hint(snapshot: &DocumentSnapshot, range: Range, lazy_tooltips: bool) -> Vec<InlayHint> {
    if let Some(compare) = snapshot.compare.as_ref().filter(|_| !snapshot.hidden && snapshot.settings.hints.enabled) {
        return compare_hints(snapshot, compare, range);
    }
    let Some(view) = snapshot.profile.as_ref().filter(|_| !snapshot.hidden && snapshot.settings.hints.enabled) else {
        return Vec::new();
    };
    let profile = &view.entry.profile;
    let file = view.file();
    let mut hints = Vec::new();
    for line in &file.lines {
        let Some(current) = view.line_map.map(line.line) else { continue };
        let line0 = current - 1;
        if line0 < range.start.line || line0 > range.end.line || line0 >= snapshot.document.n_lines() {
            continue;
        }
        let is_leak = file.leak(line.line).is_some();
        let Some(label) = convert::hint_label(line, profile.memory, is_leak, &snapshot.settings.hints) else { continue };
        let (tooltip_now, data) = if lazy_tooltips {
            let data = HintData { uri: snapshot.uri.as_str().to_string(), line: line.line, profile: view.entry.id.0 };
            (None, serde_json::to_value(data).ok())
        } else {
            (Some(tooltip(convert::hover_markdown(profile, &view.entry.id.to_string(), file, line, view.is_stale()))), None)
        };
        hints.push(InlayHint {
            position: convert::end_of_line(&snapshot.document, line0, snapshot.encoding),
            label: InlayHintLabel::String(label),
            kind: None,
            text_edits: None,
            tooltip: tooltip_now,
            padding_left: Some(true),
            padding_right: None,
            data,
        });
    }
    hints
}

/// Compare mode: a delta at the end of each changed line (`+0.15 s CPU (+70%) · −40.0 MB`), with the
/// side-by-side hover as its tooltip (few lines change, so tooltips come inline).
fn compare_hints(snapshot: &DocumentSnapshot, compare: &CompareView, range: Range) -> Vec<InlayHint> {
    let mode = &compare.mode;
    let mut hints = Vec::new();
    for (change, current) in compare.lines() {
        let line0 = current - 1;
        if line0 < range.start.line || line0 > range.end.line || line0 >= snapshot.document.n_lines() {
            continue;
        }
        let Some(label) = convert::compare::hint_label(&change.into()) else { continue };
        let function = change.after_line.and_then(|line| compare.function_around(line));
        let markdown = convert::compare::hover_markdown(&mode.comparison, &mode.baseline, &mode.saved_at, change, function, &mode.after.id.to_string());
        hints.push(InlayHint {
            position: convert::end_of_line(&snapshot.document, line0, snapshot.encoding),
            label: InlayHintLabel::String(label),
            kind: None,
            text_edits: None,
            tooltip: Some(tooltip(markdown)),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    hints
}

/// `inlayHint/resolve`: adds the tooltip (the line's hover text). A hint whose profile or document is
/// gone comes back unchanged.
pub fn handle_inlay_hint_resolve(session: &Session, mut hint: InlayHint) -> InlayHint {
    let Some(data) = hint.data.take().and_then(|data| serde_json::from_value::<HintData>(data).ok()) else { return hint };
    let Some(snapshot) = data.uri.parse::<Uri>().ok().and_then(|uri| session.snapshot(&uri)) else { return hint };
    let Some(view) = snapshot.profile.as_ref().filter(|view| view.entry.id.0 == data.profile) else { return hint };
    if let Some(line) = view.file().line(data.line) {
        let markdown = convert::hover_markdown(&view.entry.profile, &view.entry.id.to_string(), view.file(), line, view.is_stale());
        hint.tooltip = Some(tooltip(markdown));
    }
    hint
}
