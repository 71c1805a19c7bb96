//! textDocument/inlayHint: one hint at the end of each hot line, in the requested range only.

use tower_lsp_server::ls_types::{InlayHint, InlayHintLabel, InlayHintTooltip, MarkupContent, MarkupKind, Range};

use super::convert;
use super::session::DocumentSnapshot;

pub fn handle_inlay_hint(snapshot: &DocumentSnapshot, range: Range) -> Vec<InlayHint> {
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
        let tooltip = convert::hover_markdown(profile, &view.entry.id.to_string(), file, line, view.is_stale());
        hints.push(InlayHint {
            position: convert::end_of_line(&snapshot.document, line0, snapshot.encoding),
            label: InlayHintLabel::String(label),
            kind: None,
            text_edits: None,
            tooltip: Some(InlayHintTooltip::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value: tooltip })),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    hints
}
