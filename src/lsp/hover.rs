//! textDocument/hover: every metric of a profiled line, or a function's totals on its `def` line.

use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use super::{calls, convert};
use super::session::DocumentSnapshot;

pub fn handle_hover(snapshot: &DocumentSnapshot, position: Position) -> Option<Hover> {
    if let Some(markdown) = compare_hover(snapshot, position.line + 1) {
        return Some(markdown_hover(markdown));
    }
    let view = snapshot.profile.as_ref().filter(|_| !snapshot.hidden)?;
    let file = view.file();
    let profile = &view.entry.profile;
    let wanted = position.line + 1;
    let paths = profile.call_paths.as_deref();
    let (mut markdown, callers) = if let Some(line) = file.lines.iter().find(|line| view.line_map.map(line.line) == Some(wanted)) {
        (
            convert::hover_markdown(profile, &view.entry.id.to_string(), file, line, view.is_stale()),
            paths.and_then(|paths| calls::hover_paths(paths, &file.path, line.line)),
        )
    } else {
        let function = file.functions.iter().find(|function| view.line_map.map(function.line) == Some(wanted))?;
        (
            format!(
                "**{}** · **{}** (lines {}–{}): {}",
                if profile.attached.is_some() { "py-spy" } else { "Scalene" },
                function.name,
                function.line,
                function.end_line,
                convert::function_summary(function, profile.memory, convert::Sampler::of(profile))
            ),
            paths.and_then(|paths| calls::hover_callers(paths, &file.path, &function.name)),
        )
    };
    if let Some(callers) = callers {
        markdown.push_str(&format!("\n\n{callers}"));
    }
    Some(markdown_hover(markdown))
}

fn markdown_hover(markdown: String) -> Hover {
    Hover { contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }), range: None }
}

/// Compare mode: the baseline and now side by side for a compared line, or a function's change on its
/// `def` line.
fn compare_hover(snapshot: &DocumentSnapshot, wanted: u32) -> Option<String> {
    let compare = snapshot.compare.as_ref().filter(|_| !snapshot.hidden)?;
    let mode = &compare.mode;
    if let Some(line) = compare.line_at(wanted) {
        let function = line.after_line.and_then(|after| compare.function_around(after));
        return Some(convert::compare::hover_markdown(&mode.comparison, &mode.baseline, &mode.saved_at, line, function, &mode.after.id.to_string()));
    }
    let function = compare.function_at(wanted)?;
    Some(format!(
        "**Scalene** · **{}** compared with baseline `{}`: {}",
        function.name,
        mode.baseline,
        convert::compare::function_summary(function)
    ))
}
