//! textDocument/hover: every metric of a profiled line, or a function's totals on its `def` line.

use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use super::convert;
use super::session::DocumentSnapshot;

pub fn handle_hover(snapshot: &DocumentSnapshot, position: Position) -> Option<Hover> {
    let view = snapshot.profile.as_ref().filter(|_| !snapshot.hidden)?;
    let file = view.file();
    let profile = &view.entry.profile;
    let wanted = position.line + 1;
    let markdown = if let Some(line) = file.lines.iter().find(|line| view.line_map.map(line.line) == Some(wanted)) {
        convert::hover_markdown(profile, &view.entry.id.to_string(), file, line, view.is_stale())
    } else {
        let function = file.functions.iter().find(|function| view.line_map.map(function.line) == Some(wanted))?;
        format!(
            "**Scalene** · **{}** (lines {}–{}): {}",
            function.name,
            function.line,
            function.end_line,
            convert::function_summary(function, profile.memory)
        )
    };
    Some(Hover { contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }), range: None })
}
