//! Hints follow the document as it is edited (full sync, versions), and sit at line ends in the
//! negotiated position encoding.

use serde_json::json;

use crate::lsp_load::{expected_hints, hint_triples, load_fixture, open_profiled, server_with_loaded};
use crate::lsp_profile::{profile_and_wait, start_in};
use crate::support::lsp_client::{LspClient, TIMEOUT, default_capabilities, encoded_len};
use crate::support::TempProject;

/// (position line, character, label) of each hint.
type Hints = Vec<(u64, u64, String)>;

/// A server with cpu_bound.json loaded and its program open: (client, uri, text, hints, the 0-based
/// lines of its diagnostics).
fn loaded_cpu_bound() -> (LspClient, String, String, Hints, Vec<u64>) {
    let (fixture, profile) = load_fixture("cpu_bound");
    let file = &profile.files[0];
    let mut client = server_with_loaded(&fixture, &profile);
    let (uri, text, diagnostics) = open_profiled(&mut client, &file.path);
    let hints = hint_triples(&client.inlay_hints(&uri, &text));
    assert_eq!(hints, expected_hints(&profile, file, &text, &client.encoding));
    (client, uri, text, hints, diagnostic_lines(&diagnostics))
}

fn diagnostic_lines(diagnostics: &[serde_json::Value]) -> Vec<u64> {
    diagnostics.iter().map(|diagnostic| diagnostic["range"]["start"]["line"].as_u64().unwrap()).collect()
}

/// The diagnostics published for `version` of the document: their 0-based lines.
fn diagnostics_of_version(client: &mut LspClient, uri: &str, version: i64) -> Vec<u64> {
    let params = client.expect_notification(
        "textDocument/publishDiagnostics",
        |params| params["uri"] == uri && params["version"] == version,
        TIMEOUT,
    );
    diagnostic_lines(params["diagnostics"].as_array().unwrap())
}

#[test]
fn inserting_lines_above_moves_every_hint_down_with_its_label() {
    let (mut client, uri, text, hints, diagnostics) = loaded_cpu_bound();
    let edited = format!("# one\n# two\n{text}");
    client.change(&uri, 2, &edited);
    let moved: Vec<_> = hints.iter().map(|(line, character, label)| (line + 2, *character, label.clone())).collect();
    assert_eq!(hint_triples(&client.inlay_hints(&uri, &edited)), moved);
    let moved_diagnostics: Vec<u64> = diagnostics.iter().map(|line| line + 2).collect();
    assert_eq!(diagnostics_of_version(&mut client, &uri, 2), moved_diagnostics, "the diagnostics move with their lines");
}

#[test]
fn an_edited_hot_line_loses_its_hint_the_others_stay_and_hover_says_stale() {
    let (mut client, uri, text, hints, diagnostics) = loaded_cpu_bound();
    let hot = "        data.sort()";
    assert!(hints.iter().any(|(line, _, _)| *line == 14), "line 15 is hot: {hints:?}");
    assert_eq!(text.lines().nth(14), Some(hot));
    let edited = text.replacen(hot, "        data.sort(key=abs)", 1);
    client.change(&uri, 2, &edited);
    let kept: Vec<_> = hints.iter().filter(|(line, _, _)| *line != 14).cloned().collect();
    assert_eq!(hint_triples(&client.inlay_hints(&uri, &edited)), kept);
    let kept_diagnostics: Vec<u64> = diagnostics.iter().copied().filter(|line| *line != 14).collect();
    assert!(diagnostics.contains(&14), "the edited line had a diagnostic: {diagnostics:?}");
    assert_eq!(diagnostics_of_version(&mut client, &uri, 2), kept_diagnostics, "the edited line loses its diagnostic");

    let (line, _, _) = kept.iter().find(|(line, _, _)| *line == 12).expect("line 13 keeps its hint");
    let hover = client.hover(&uri, *line, 8).expect("a hover on an unchanged profiled line");
    assert!(hover.to_lowercase().contains("stale"), "the hover says the profile is stale: {hover}");
}

#[test]
fn a_change_with_an_older_version_is_ignored() {
    let (mut client, uri, text, hints, _) = loaded_cpu_bound();
    let newer = format!("# one\n# two\n{text}");
    let older = format!("# a\n# b\n# c\n# d\n# e\n{text}");
    client.change(&uri, 5, &newer);
    client.change(&uri, 4, &older);
    let moved: Vec<_> = hints.iter().map(|(line, character, label)| (line + 2, *character, label.clone())).collect();
    assert_eq!(hint_triples(&client.inlay_hints(&uri, &newer)), moved, "version 5 stays");
    // Diagnostics for version 5 only: the older change publishes nothing (the drop check fails on extras).
    diagnostics_of_version(&mut client, &uri, 5);
}

/// A program whose hot line has non-ASCII text (2-byte, and an emoji: 4 bytes, 2 UTF-16 units).
const NON_ASCII: &str = "\"\"\"A hot line with non-ASCII text in a string literal.\"\"\"\n\
\n\
\n\
def work(n):\n\
\x20   total = 0\n\
\x20   for i in range(n):\n\
\x20       total += len(\"héllo wörld 😀 ünïcode\" + str(i % 10))\n\
\x20   return total\n\
\n\
\n\
if __name__ == \"__main__\":\n\
\x20   print(work(3_000_000))\n";

#[test]
fn hints_on_non_ascii_lines_end_at_the_line_length_in_the_negotiated_encoding() {
    let hot_line = NON_ASCII.lines().nth(6).unwrap();
    assert!(hot_line.contains('😀'));
    assert!(encoded_len(hot_line, "utf-8") > encoded_len(hot_line, "utf-16"));
    assert!(encoded_len(hot_line, "utf-16") > encoded_len(hot_line, "utf-32"));
    for encoding in ["utf-16", "utf-8"] {
        let hot_len = encoded_len(hot_line, encoding);
        let project = TempProject::new();
        let program = project.write("unicode_hot.py", NON_ASCII);
        let mut capabilities = default_capabilities();
        capabilities["general"]["positionEncodings"] = json!([encoding]);
        let mut client = start_in(&project, capabilities);
        assert_eq!(client.encoding, encoding);
        let uri = client.open(&program, NON_ASCII);
        let (_, end) = profile_and_wait(&mut client, &uri, json!({"mode": "cpu"}));
        assert!(end.starts_with("ok"), "{end}");
        client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
        let diagnostics = client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
        let hot_diagnostic = diagnostics.iter().find(|d| d["range"]["start"]["line"] == 6).expect("the hot line has a diagnostic");
        assert_eq!(hot_diagnostic["range"]["end"]["character"], json!(hot_len), "{encoding}: it ends at the line's end");
        let hints = hint_triples(&client.inlay_hints(&uri, NON_ASCII));
        let lines: Vec<&str> = NON_ASCII.lines().collect();
        for (line, character, label) in &hints {
            assert_eq!(*character, encoded_len(lines[*line as usize], encoding), "{encoding}: hint {label:?} on line {line}");
        }
        let hot = hints.iter().find(|(line, _, _)| *line == 6);
        assert_eq!(hot.map(|hint| hint.1), Some(hot_len), "{encoding}: the non-ASCII line is hot: {hints:?}");
    }
}

/// A hot function, then 200,000 lines of text: every other one of them rewritten is the worst case for
/// a line diff (before its budget, about 100 s at this size and `shutdown` unanswered).
#[test]
fn a_rewrite_of_a_200k_line_profiled_file_still_gets_hints_and_shutdown_answers() {
    let head = "def hot():\n    total = 0\n    for i in range(2_000_000):\n        total += i * i\n    return total\n\n\nhot()\nFILLER = \"\"\"\n";
    let filler = |rewrite: bool| -> String {
        (0..200_000).map(|i| if rewrite && i % 2 == 1 { format!("rewritten {i}\n") } else { format!("filler line {i}\n") }).collect()
    };
    let text = format!("{head}{}\"\"\"\n", filler(false));
    let project = TempProject::new();
    let program = project.write("big_rewrite.py", &text);
    let mut client = start_in(&project, default_capabilities());
    let uri = client.open(&program, &text);
    let (_, end) = profile_and_wait(&mut client, &uri, json!({"mode": "cpu"}));
    assert!(end.starts_with("ok"), "{end}");
    client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    let hot_lines = |hints: &Hints| hints.iter().map(|(line, _, _)| *line).filter(|line| *line < 8).collect::<Vec<_>>();
    let before = hint_triples(&client.inlay_hints(&uri, &text));
    assert!(hot_lines(&before).contains(&3), "the loop body is hot: {before:?}");

    let edited = format!("{head}{}\"\"\"\n", filler(true));
    client.change(&uri, 2, &edited);
    let after = hint_triples(&client.inlay_hints(&uri, &edited));
    assert_eq!(hot_lines(&after), hot_lines(&before), "the unchanged hot lines keep their hints");
    let edited_lines: Vec<&str> = edited.lines().collect();
    for (line, _, label) in &after {
        assert!(!edited_lines[*line as usize].starts_with("rewritten"), "no hint on a rewritten line: {label:?} on {line}");
    }
    client.expect_notification("textDocument/publishDiagnostics", |params| params["uri"] == uri && params["version"] == 2, TIMEOUT);
    assert!(client.hover(&uri, 3, 8).is_some(), "the hot line still has its hover");
    assert_eq!(client.request("shutdown", serde_json::Value::Null), Ok(serde_json::Value::Null), "shutdown is answered");
}
