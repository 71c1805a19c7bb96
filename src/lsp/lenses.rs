//! textDocument/codeLens: function totals on `def` lines; "▶ Profile with Scalene" and "▶ Profile live"
//! on the main guard; "▶ Profile test" above each pytest test of a test file, and after a suite run its
//! cost there (`suite.rs`).

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
    let lens = |line0: u32, title: &str, command: Command, argument: serde_json::Value| CodeLens {
        range: Range { start: Position { line: line0, character: 0 }, end: Position { line: line0, character: 0 } },
        command: Some(LspCommand { title: title.into(), command: command.id().into(), arguments: Some(vec![argument]) }),
        data: None,
    };
    let uri = snapshot.uri.as_str();
    for line0 in 0..snapshot.document.n_lines() {
        let text = snapshot.document.line(line0).unwrap_or("");
        if is_main_guard(text) {
            lenses.push(lens(line0, "▶ Profile with Scalene", Command::Profile, json!({ "uri": uri })));
            lenses.push(lens(line0, "▶ Profile live", Command::Profile, json!({ "uri": uri, "live": true })));
        }
    }
    if is_test_file(uri) {
        let lines: Vec<&str> = (0..snapshot.document.n_lines()).map(|line0| snapshot.document.line(line0).unwrap_or("")).collect();
        let tests = pytest_tests(&lines);
        if !snapshot.hidden {
            lenses.extend(super::suite::test_lenses(snapshot, &tests));
        }
        for (line0, name) in tests {
            lenses.push(lens(line0, "▶ Profile test", Command::ProfileTest, json!({ "uri": uri, "name": name })));
        }
    }
    lenses
}

/// pytest's default test files: `test_*.py` and `*_test.py`.
fn is_test_file(uri: &str) -> bool {
    let name = uri.rsplit('/').next().unwrap_or("");
    name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
}

/// The name a line defines when it defines a test (`def test_x(` or `async def test_x(`).
fn test_def(line: &str) -> Option<&str> {
    let rest = line.trim_start();
    let rest = rest.strip_prefix("async ").map(str::trim_start).unwrap_or(rest);
    let name = rest.strip_prefix("def ")?.trim_start();
    let name = &name[..name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?];
    name.starts_with("test").then_some(name)
}

/// The tests pytest collects by default, as (0-based line, node name): module-level `def test*` and
/// `async def test*`, and the `test*` methods of module-level `class Test*` (`TestA::test_b`).
pub fn pytest_tests(lines: &[&str]) -> Vec<(u32, String)> {
    let indent_of = |line: &str| line.len() - line.trim_start().len();
    let mut tests = Vec::new();
    // The class being read and the indentation of its body (known at its first indented line).
    let mut class: Option<(String, Option<usize>)> = None;
    for (line0, line) in lines.iter().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = indent_of(line);
        if indent == 0 {
            class = None;
            if let Some(rest) = line.strip_prefix("class ") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if name.starts_with("Test") {
                    class = Some((name, None));
                }
            } else if let Some(name) = test_def(line) {
                tests.push((line0 as u32, name.to_string()));
            }
            continue;
        }
        if let Some((class_name, body)) = class.as_mut() {
            let body = *body.get_or_insert(indent);
            if indent == body
                && let Some(name) = test_def(line)
            {
                tests.push((line0 as u32, format!("{class_name}::{name}")));
            }
        }
    }
    tests
}

fn is_main_guard(line: &str) -> bool {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    compact.starts_with("if__name__==\"__main__\":") || compact.starts_with("if__name__=='__main__':")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pytest_tests_are_module_functions_and_methods_of_test_classes() {
        let source = "import pytest\n\ndef test_a():\n    def test_nested():\n        pass\n\nasync def test_b():\n    pass\n\nclass TestC:\n    @pytest.mark.slow\n    def test_c(self):\n        pass\n\n    async def test_d(self):\n        pass\n\n    def helper(self):\n        pass\n\nclass Helper:\n    def test_not(self):\n        pass\n\ndef helper():\n    pass\n";
        let lines: Vec<&str> = source.lines().collect();
        let tests = super::pytest_tests(&lines);
        assert_eq!(
            tests,
            vec![(2, "test_a".to_string()), (6, "test_b".to_string()), (11, "TestC::test_c".to_string()), (14, "TestC::test_d".to_string())]
        );
        assert!(super::is_test_file("file:///p/tests/test_x.py") && super::is_test_file("file:///p/x_test.py"));
        assert!(!super::is_test_file("file:///p/app.py") && !super::is_test_file("file:///p/test_data.txt"));
    }

    #[test]
    fn main_guard_variants() {
        assert!(super::is_main_guard("if __name__ == \"__main__\":"));
        assert!(super::is_main_guard("if __name__=='__main__':  # run"));
        assert!(!super::is_main_guard("    print(__name__)"));
    }
}
