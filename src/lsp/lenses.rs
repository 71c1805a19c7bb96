//! textDocument/codeLens: function totals on `def` lines; "▶ Profile with Scalene" on the main guard.

use serde_json::json;
use tower_lsp_server::ls_types::{CodeLens, Command as LspCommand, Position, Range};

use super::commands::Command;
use super::convert;
use super::session::DocumentSnapshot;

pub fn handle_code_lens(snapshot: &DocumentSnapshot) -> Vec<CodeLens> {
    if !snapshot.settings.lenses_enabled || !snapshot.document.is_python() {
        return Vec::new();
    }
    let mut lenses = Vec::new();
    if let Some(compare) = snapshot.compare.as_ref().filter(|_| !snapshot.hidden) {
        // Compare mode: each compared function's change on its `def` line.
        for (function, current) in compare.functions() {
            let line0 = current - 1;
            lenses.push(CodeLens {
                range: Range { start: Position { line: line0, character: 0 }, end: Position { line: line0, character: 0 } },
                command: Some(LspCommand { title: convert::compare::lens_title(function), command: String::new(), arguments: None }),
                data: None,
            });
        }
    } else if let Some(view) = snapshot.profile.as_ref().filter(|_| !snapshot.hidden) {
        let memory = view.entry.profile.memory;
        for function in &view.file().functions {
            if function.cpu_total() <= 0.0 && function.peak_mb <= 0.0 {
                continue;
            }
            let Some(current) = view.line_map.map(function.line) else { continue };
            let line0 = current - 1;
            lenses.push(CodeLens {
                range: Range { start: Position { line: line0, character: 0 }, end: Position { line: line0, character: 0 } },
                command: Some(LspCommand { title: convert::lens_title(function, memory), command: String::new(), arguments: None }),
                data: None,
            });
        }
    }
    for line0 in 0..snapshot.document.n_lines() {
        let text = snapshot.document.line(line0).unwrap_or("");
        if is_main_guard(text) {
            lenses.push(CodeLens {
                range: Range { start: Position { line: line0, character: 0 }, end: Position { line: line0, character: 0 } },
                command: Some(LspCommand {
                    title: "▶ Profile with Scalene".into(),
                    command: Command::Profile.id().into(),
                    arguments: Some(vec![json!({ "uri": snapshot.uri.as_str() })]),
                }),
                data: None,
            });
        }
    }
    lenses
}

fn is_main_guard(line: &str) -> bool {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    compact.starts_with("if__name__==\"__main__\":") || compact.starts_with("if__name__=='__main__':")
}

#[cfg(test)]
mod tests {
    #[test]
    fn main_guard_variants() {
        assert!(super::is_main_guard("if __name__ == \"__main__\":"));
        assert!(super::is_main_guard("if __name__=='__main__':  # run"));
        assert!(!super::is_main_guard("    print(__name__)"));
    }
}
