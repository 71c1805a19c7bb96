//! What editor packages build on (docs/lsp.md): `scalene/lineHeat` for clients that announce
//! `experimental.scaleneLineHeat`; the `scalene/environment` and `scalene/hotspots` requests; `--stdio`.

use serde_json::{Value, json};

use crate::lsp_load::load_fixture;
use crate::support::lsp_client::{LspClient, TIMEOUT, default_capabilities};
use crate::support::{self, TempProject};

fn heat_capabilities() -> Value {
    let mut capabilities = default_capabilities();
    capabilities["experimental"] = json!({"scaleneLineHeat": true});
    capabilities
}

/// (0-based line, heat) pairs of a lineHeat notification.
fn heat_lines(params: &Value) -> Vec<(u64, f64)> {
    params["lines"].as_array().unwrap().iter().map(|line| (line["line"].as_u64().unwrap(), line["heat"].as_f64().unwrap())).collect()
}

#[test]
fn line_heat_is_relative_to_the_hottest_line_and_follows_edits() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let file = &profile.files[0];
    let mut client = LspClient::spawn();
    // Diagnostics follow the same changes (lsp_edits checks them); this test is about the heat.
    client.ignore("textDocument/publishDiagnostics");
    client.initialize(Some(support::repo()), heat_capabilities(), json!({}));
    client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    let text = std::fs::read_to_string(&file.path).unwrap();
    let uri = client.open(&file.path, &text);
    let params = client.expect_notification("scalene/lineHeat", |params| params["uri"] == uri && params["version"] == 1, TIMEOUT);

    // Expected from the profile itself: every line with CPU or memory, heat = the larger relative share.
    let max_cpu = profile.files.iter().flat_map(|f| &f.lines).map(|l| l.cpu_total()).fold(0.0, f64::max);
    let max_peak = profile.files.iter().flat_map(|f| &f.lines).map(|l| l.metrics.peak_mb).fold(0.0, f64::max);
    let expected: Vec<(u64, f64)> = file
        .lines
        .iter()
        .map(|line| (u64::from(line.line) - 1, (line.cpu_total() / max_cpu).max(line.metrics.peak_mb / max_peak)))
        .filter(|(_, heat)| *heat > 0.0)
        .collect();
    let got = heat_lines(&params);
    assert_eq!(got.len(), expected.len(), "{params}");
    for ((line, heat), (want_line, want_heat)) in got.iter().zip(&expected) {
        assert_eq!(line, want_line);
        assert!((heat - want_heat).abs() < 1e-9, "line {line}: {heat} vs {want_heat}");
    }
    assert!(got.iter().any(|(_, heat)| (*heat - 1.0).abs() < 1e-9), "the hottest line has heat 1: {got:?}");
    let hottest = &params["lines"].as_array().unwrap().iter().find(|line| line["heat"] == json!(1.0)).unwrap().clone();
    assert!(hottest["cpu"].as_f64().unwrap() > 0.0 && hottest.get("peakMb").is_some(), "{hottest}");

    // Two lines inserted above: every line moves down by two, for the new version.
    client.change(&uri, 2, &format!("# one\n# two\n{text}"));
    let moved = client.expect_notification("scalene/lineHeat", |params| params["version"] == 2, TIMEOUT);
    let shifted: Vec<(u64, f64)> = got.iter().map(|(line, heat)| (line + 2, *heat)).collect();
    assert_eq!(heat_lines(&moved), shifted);

    // Toggling annotations off clears the heat; clearing the profile too.
    client.execute_ok("scalene.toggle", Value::Null);
    let cleared = client.expect_notification("scalene/lineHeat", |params| params["lines"] == json!([]), TIMEOUT);
    assert_eq!(cleared["uri"], json!(uri));
    client.execute_ok("scalene.toggle", Value::Null);
    client.expect_notification("scalene/lineHeat", |params| !params["lines"].as_array().unwrap().is_empty(), TIMEOUT);
    client.execute_ok("scalene.clear", json!({}));
    client.expect_notification("scalene/lineHeat", |params| params["lines"] == json!([]), TIMEOUT);
}

#[test]
fn line_heat_is_only_sent_to_clients_that_ask_for_it() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let file = &profile.files[0];
    let mut client = LspClient::start(support::repo(), json!({}));
    client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    let text = std::fs::read_to_string(&file.path).unwrap();
    let uri = client.open(&file.path, &text);
    // The diagnostics arrive after the heat would have been sent (same handler, heat second)...
    client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    // ... and a request answered after that proves the notification queue is drained.
    client.inlay_hints(&uri, &text);
    let report = client.report();
    assert!(!report.contains("scalene/lineHeat"), "{report}");
}

#[test]
fn stdio_flag_is_accepted_after_serve_and_alone() {
    let project = TempProject::new();
    for args in [&["serve", "--stdio"][..], &["--stdio"][..]] {
        let mut client = LspClient::spawn_with_args(args);
        let result = client.initialize(Some(project.path()), default_capabilities(), json!({}));
        assert_eq!(result["serverInfo"]["name"], json!("scalene-lsp"), "{args:?}");
    }
}

#[test]
fn environment_names_the_interpreter_and_scalene_or_the_fix() {
    let project = TempProject::new();
    let program = project.write("main.py", "print('hi')\n");
    let mut client = LspClient::start(project.path(), json!({"python": support::python()}));
    let uri = crate::support::lsp_client::file_uri(&program);
    let found = client.request_ok("scalene/environment", json!({"uri": uri}));
    assert_eq!(found["ok"], json!(true), "{found}");
    assert_eq!(found["python"], json!(support::python()));
    assert!(found["scaleneVersion"].as_str().is_some_and(|version| version.starts_with("2.")), "{found}");
    assert!(found["pythonVersion"].as_str().is_some_and(|version| version.starts_with("3.")), "{found}");
    assert_eq!(found["projectRoot"], json!(project.path()));
    assert_eq!(found.get("fixCommand"), None, "nothing to fix: {found}");
    // Params may be null (no document: the workspace root).
    assert_eq!(client.request_ok("scalene/environment", Value::Null)["ok"], json!(true));
    // Another interpreter than the setting's (e.g. the one the editor picked for this file).
    let bare = project.venv("other-venv", false);
    let other = client.request_ok("scalene/environment", json!({"uri": uri, "python": bare}));
    assert_eq!((other["ok"].clone(), other["kind"].clone(), other["python"].clone()), (json!(false), json!("scalene_missing"), json!(bare)));
    assert_eq!(other["fixCommand"], json!(format!("\"{}\" -m pip install scalene", bare.display())), "{other}");

    // A project venv without Scalene: not ok, and the message says how to install it into that venv.
    let bare = TempProject::new();
    let venv_python = bare.venv(".venv", false);
    let mut client = LspClient::start(bare.path(), json!({}));
    let missing = client.request_ok("scalene/environment", json!({}));
    assert_eq!(missing["ok"], json!(false), "{missing}");
    assert_eq!(missing["kind"], json!("scalene_missing"));
    assert_eq!(missing["python"], json!(venv_python));
    let message = missing["message"].as_str().unwrap();
    let install = format!("\"{}\" -m pip install scalene", venv_python.display());
    assert!(message.contains(&install), "{message}");
    // The command alone, for editors to copy: the one the message names, taken from the error, not its text.
    assert_eq!(missing["fixCommand"], json!(install), "{missing}");
}

#[test]
fn hotspots_rank_every_file_of_the_newest_profile_on_current_lines() {
    let (fixture, profile) = load_fixture("multi_module");
    let mut client = LspClient::start(support::repo(), json!({}));
    client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    let result = client.request_ok("scalene/hotspots", json!({"limit": 3}));
    let items = result["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{result}");
    let mut all: Vec<_> = profile.files.iter().flat_map(|file| file.lines.iter().map(move |line| (file, line))).collect();
    all.sort_by(|a, b| b.1.cpu_total().total_cmp(&a.1.cpu_total()).then(b.1.metrics.peak_mb.total_cmp(&a.1.metrics.peak_mb)));
    for (item, (file, line)) in items.iter().zip(&all) {
        assert_eq!(item["uri"], json!(crate::support::lsp_client::file_uri(&file.path)), "{item}");
        assert_eq!(item["line"], json!(line.line - 1));
        assert_eq!(item["source"], json!(line.text.trim()));
        assert!(item["label"].as_str().unwrap().ends_with("% CPU") || item["label"].as_str().unwrap().contains("MB"), "{item}");
    }
    // The hottest line's file open with two lines inserted above: its line moves down by two.
    let (top_file, top_line) = all[0];
    let text = std::fs::read_to_string(&top_file.path).unwrap();
    let uri = client.open(&top_file.path, &format!("#\n#\n{text}"));
    client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    let moved = client.request_ok("scalene/hotspots", json!({"uri": uri, "limit": 1}));
    assert_eq!(moved["items"][0]["line"], json!(top_line.line + 1), "{moved}");
}
