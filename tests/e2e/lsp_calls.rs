//! The call hierarchy with costs (textDocument/prepareCallHierarchy, callHierarchy/incomingCalls and
//! outgoingCalls) and call paths on hover, from Scalene's stacks: a real run of a program whose helper
//! is called from two places, and the captured fixture of that program through an edit.

use std::path::Path;

use serde_json::{Value, json};

use crate::lsp_load::{load_fixture, server_with_loaded};
use crate::lsp_profile::{profile_and_wait, start_in};
use crate::support::lsp_client::{LspClient, TIMEOUT, default_capabilities};
use crate::support::{self, TempProject};
use scalene_lsp::engine::profile::call_paths::Weight;

/// The 0-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|line| line.contains(needle)).unwrap_or_else(|| panic!("{needle:?} in the text")) as u64
}

fn prepare(client: &mut LspClient, uri: &str, line: u64) -> Value {
    client.request_ok(
        "textDocument/prepareCallHierarchy",
        json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 4}}),
    )
}

fn calls(client: &mut LspClient, method: &str, item: &Value) -> Vec<Value> {
    let answer = client.request_ok(method, json!({"item": item}));
    answer.as_array().unwrap_or_else(|| panic!("{method}: {answer}")).clone()
}

/// (name, detail, first call line) of incoming (`from`) or outgoing (`to`) calls.
fn listed(calls: &[Value], side: &str) -> Vec<(String, String, Option<u64>)> {
    calls
        .iter()
        .map(|call| {
            (
                call[side]["name"].as_str().unwrap().to_owned(),
                call[side]["detail"].as_str().unwrap_or("").to_owned(),
                call["fromRanges"][0]["start"]["line"].as_u64(),
            )
        })
        .collect()
}

/// The number before `suffix` in `text` ("73.5% of CPU through this call" → 73.5).
fn number_before(text: &str, suffix: &str) -> f64 {
    let head = text.split(suffix).next().unwrap();
    let start = head.rfind(|c: char| !(c.is_ascii_digit() || c == '.')).map_or(0, |at| at + 1);
    head[start..].parse().unwrap_or_else(|_| panic!("a number before {suffix:?} in {text:?}"))
}

#[test]
fn show_call_hierarchy_on_a_helper_lists_both_callers_costliest_first_after_a_real_run() {
    let project = TempProject::new();
    let source = support::repo().join("fixtures/programs/call_paths");
    let main_text = std::fs::read_to_string(source.join("main.py")).unwrap();
    let helpers_text = std::fs::read_to_string(source.join("helpers.py")).unwrap();
    let main = project.write("main.py", &main_text);
    let helpers = project.write("helpers.py", &helpers_text);
    let mut client = start_in(&project, default_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    let main_uri = client.open(&main, &main_text);
    let helpers_uri = client.open(&helpers, &helpers_text);
    let (_, end) = profile_and_wait(&mut client, &main_uri, json!({"mode": "cpu"}));
    assert!(end.starts_with("ok"), "{end}");

    // On the helper: one item, with its inclusive share.
    let items = prepare(&mut client, &helpers_uri, line_of(&helpers_text, "total += i * i % 7"));
    assert_eq!(items[0]["name"], json!("score"), "{items}");
    assert_eq!(items[0]["range"]["start"]["line"].as_u64(), Some(line_of(&helpers_text, "def score")), "{items}");
    assert!(items[0]["detail"].as_str().unwrap().contains("% of CPU"), "{items}");

    // Its callers: heavy_batch (3x the work) first, each at its call site, shares of score adding up.
    let incoming = listed(&calls(&mut client, "callHierarchy/incomingCalls", &items[0]), "from");
    let names: Vec<&str> = incoming.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["heavy_batch", "light_batch"], "{incoming:?}");
    assert_eq!(incoming[0].2, Some(line_of(&main_text, "score(2_700_000)")), "{incoming:?}");
    assert_eq!(incoming[1].2, Some(line_of(&main_text, "score(900_000)")), "{incoming:?}");
    let of_score: f64 = incoming.iter().map(|(_, detail, _)| number_before(detail, "% of score's")).sum();
    assert!((99.0..=101.0).contains(&of_score), "the callers' shares of score add up: {incoming:?}");

    // From main: the two batches among its callees, the heavier first.
    let main_items = prepare(&mut client, &main_uri, line_of(&main_text, "    light_batch()"));
    assert_eq!(main_items[0]["name"], json!("main"), "{main_items}");
    let outgoing = listed(&calls(&mut client, "callHierarchy/outgoingCalls", &main_items[0]), "to");
    let order: Vec<&str> = outgoing.iter().map(|(name, _, _)| name.as_str()).filter(|name| name.ends_with("_batch")).collect();
    assert_eq!(order, ["heavy_batch", "light_batch"], "{outgoing:?}");

    // Hover on the helper's loop names its callers.
    let hover = client.hover(&helpers_uri, line_of(&helpers_text, "total += i * i % 7"), 8).unwrap();
    assert!(hover.contains("called from") && hover.contains("heavy_batch") && hover.contains("light_batch"), "{hover}");
}

#[test]
fn callers_come_from_the_captured_profile_with_its_shares_and_move_with_edits() {
    let (fixture, profile) = load_fixture("call_paths");
    let paths = profile.call_paths.clone().unwrap();
    let helpers = profile.files.iter().find(|file| file.path.ends_with("helpers.py")).unwrap().path.clone();
    let main = profile.files.iter().find(|file| file.path.ends_with("main.py")).unwrap().path.clone();
    let mut client = server_with_loaded(&fixture, &profile);
    client.ignore("textDocument/publishDiagnostics");
    let helpers_text = std::fs::read_to_string(&helpers).unwrap();
    let main_text = std::fs::read_to_string(&main).unwrap();
    let helpers_uri = client.open(&helpers, &helpers_text);
    let main_uri = client.open(&main, &main_text);

    // The shares the engine computes from the fixture, independently of the server.
    let score = paths.find(Path::new(&helpers), "score");
    let expected: Vec<(String, f64)> = paths
        .incoming(Weight::Cpu, &score)
        .iter()
        .map(|edge| (paths.function(edge.function).name.clone(), 100.0 * edge.weight / paths.total(Weight::Cpu)))
        .collect();
    let items = prepare(&mut client, &helpers_uri, line_of(&helpers_text, "total += i * i % 7"));
    let incoming = listed(&calls(&mut client, "callHierarchy/incomingCalls", &items[0]), "from");
    let got: Vec<(String, f64)> =
        incoming.iter().map(|(name, detail, _)| (name.clone(), number_before(detail, "% of CPU through this call"))).collect();
    assert_eq!(got.len(), expected.len());
    for ((name, share), (want_name, want_share)) in got.iter().zip(&expected) {
        assert_eq!(name, want_name);
        assert!((share - want_share).abs() <= 0.05, "{name}: {share} vs {want_share}");
    }

    // Two lines inserted at the top of main.py: the call sites move with them.
    client.change(&main_uri, 2, &format!("import os\nimport sys\n{main_text}"));
    let moved = listed(&calls(&mut client, "callHierarchy/incomingCalls", &items[0]), "from");
    for (before, after) in incoming.iter().zip(&moved) {
        assert_eq!(after.2, before.2.map(|line| line + 2), "{before:?} → {after:?}");
    }
}

#[test]
fn a_profile_without_stacks_says_so_once_and_everything_else_works() {
    let (fixture, profile) = load_fixture("cpu_bound_cpu_only");
    let mut client = server_with_loaded(&fixture, &profile);
    let file = &profile.files[0].path;
    let text = std::fs::read_to_string(file).unwrap();
    let uri = client.open(file, &text);
    client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    assert_eq!(prepare(&mut client, &uri, 6), Value::Null);
    let message = client.expect_notification("window/showMessage", |_| true, TIMEOUT);
    assert!(message["message"].as_str().unwrap().contains("no call paths"), "{message}");
    assert_eq!(prepare(&mut client, &uri, 6), Value::Null);
    assert!(!client.inlay_hints(&uri, &text).is_empty(), "hints still work");
    client.forget_unclaimed();
    assert!(!client.report().contains("window/showMessage"), "said once: {}", client.report());
}

/// The setting `callPaths: false`: a real run records no stacks (cheaper), the hints are there, and the
/// call hierarchy says why it is empty and which setting brings it back.
#[test]
fn call_paths_off_in_the_settings_runs_without_stacks_and_says_which_setting() {
    let project = TempProject::new();
    let source = support::repo().join("fixtures/programs/call_paths");
    let main_text = std::fs::read_to_string(source.join("main.py")).unwrap();
    let main = project.write("main.py", &main_text);
    project.write("helpers.py", &std::fs::read_to_string(source.join("helpers.py")).unwrap());
    let mut client = LspClient::spawn();
    client.initialize(Some(project.path()), default_capabilities(), json!({"python": support::python(), "callPaths": false}));
    client.ignore("textDocument/publishDiagnostics");
    let main_uri = client.open(&main, &main_text);
    let (_, end) = profile_and_wait(&mut client, &main_uri, json!({"mode": "cpu"}));
    assert!(end.starts_with("ok"), "{end}");
    assert!(!client.inlay_hints(&main_uri, &main_text).is_empty(), "the lines are measured");
    assert_eq!(prepare(&mut client, &main_uri, line_of(&main_text, "def heavy_batch")), Value::Null);
    let message = client.expect_notification("window/showMessage", |_| true, TIMEOUT);
    let text = message["message"].as_str().unwrap();
    assert!(text.contains("no call paths") && text.contains("`scalene.callPaths` is off"), "{message}");
}

/// `scalene.exportProfile`: the editor's export command writes the profile covering a file in the
/// format asked for, and says what is wrong with a bad format, a relative path, a missing folder or a
/// profile without call paths.
#[test]
fn the_export_command_writes_the_profile_of_a_file_in_each_format() {
    let (fixture, profile) = load_fixture("call_paths");
    let main = profile.files.iter().find(|file| file.path.ends_with("main.py")).unwrap().path.clone();
    let mut client = server_with_loaded(&fixture, &profile);
    let uri = client.open(&main, &std::fs::read_to_string(&main).unwrap());
    let out = TempProject::new();
    let speedscope = out.path().join("call paths.speedscope.json");
    let answer = client.execute_ok("scalene.exportProfile", json!({"uri": uri, "format": "speedscope", "path": speedscope}));
    assert_eq!(answer["format"], "speedscope", "{answer}");
    let written: Value = serde_json::from_slice(&std::fs::read(&speedscope).unwrap()).unwrap();
    assert_eq!(written["$schema"], "https://www.speedscope.app/file-format-schema.json");
    let names: Vec<&str> = written["shared"]["frames"].as_array().unwrap().iter().filter_map(|frame| frame["name"].as_str()).collect();
    for name in ["score", "heavy_batch", "light_batch"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let svg = out.path().join("out.svg");
    client.execute_ok("scalene.exportProfile", json!({"format": "flamegraph", "path": svg}));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("heavy_batch (main.py)"), "the newest profile when no uri is given");
    let error = |client: &mut LspClient, argument: Value| client.execute("scalene.exportProfile", argument).unwrap_err()["message"].as_str().unwrap().to_owned();
    let message = error(&mut client, json!({"format": "png", "path": out.path().join("x.png")}));
    assert!(message.contains("speedscope, collapsed, cpuprofile"), "{message}");
    let message = error(&mut client, json!({"format": "collapsed", "path": "out.txt"}));
    assert!(message.contains("`path` must be an absolute file path"), "{message}");
    let message = error(&mut client, json!({"format": "collapsed", "path": out.path().join("missing/out.txt")}));
    assert!(message.contains("does not exist") && message.contains("Fix:"), "{message}");
    let message = error(&mut client, json!({"format": "cpuprofile", "weight": "memory", "path": out.path().join("m.cpuprofile")}));
    assert!(message.contains("CPU time samples only"), "{message}");
    let mut left = support::entries(out.path());
    left.sort();
    assert_eq!(left, ["call paths.speedscope.json", "out.svg", "pyproject.toml"], "the two exports, no temp file or failed export left");
}

/// The node named `name` among `node`'s children.
fn child<'a>(node: &'a Value, name: &str) -> &'a Value {
    node["children"].as_array().unwrap().iter().find(|child| child["name"] == name).unwrap_or_else(|| panic!("{name} under {}", node["name"]))
}

#[test]
fn the_flame_graph_request_gives_the_merged_call_tree_with_both_branches() {
    let (fixture, profile) = load_fixture("call_paths");
    let paths = profile.call_paths.clone().unwrap();
    let main = profile.files.iter().find(|file| file.path.ends_with("main.py")).unwrap().path.clone();
    let mut client = server_with_loaded(&fixture, &profile);
    let answer = client.request_ok("scalene/flameGraph", json!({}));
    assert_eq!(answer["unit"], json!("samples"), "{answer}");
    let root = &answer["root"];
    assert_eq!(root["total"].as_f64(), Some(paths.total(Weight::Cpu)));
    let main_node = child(child(root, "<module>"), "main");
    let (heavy, light) = (child(main_node, "heavy_batch"), child(main_node, "light_batch"));
    let (heavy_score, light_score) = (child(heavy, "score"), child(light, "score"));
    assert!(heavy_score["total"].as_f64() > light_score["total"].as_f64(), "{heavy_score} vs {light_score}");
    assert!(heavy_score["uri"].as_str().unwrap().ends_with("helpers.py"));
    // main's node sits on its costliest call line; the children come costliest first.
    let text = std::fs::read_to_string(&main).unwrap();
    assert_eq!(main_node["line"].as_u64(), Some(line_of(&text, "    heavy_batch()")), "{main_node}");
    let totals: Vec<f64> = main_node["children"].as_array().unwrap().iter().map(|c| c["total"].as_f64().unwrap()).collect();
    assert!(totals.windows(2).all(|pair| pair[0] >= pair[1]), "{totals:?}");
    // Memory stacks: none in a cpu-only profile, said so.
    let memory = client.request_ok("scalene/flameGraph", json!({"weight": "memory"}));
    assert!(memory["root"].is_null() && memory["message"].as_str().unwrap().contains("memory mode"), "{memory}");
    let bad = client.request("scalene/flameGraph", json!({"weight": "wall"})).unwrap_err();
    assert!(bad["message"].as_str().unwrap().contains("\"cpu\" or \"memory\""), "{bad}");
    assert_eq!((&answer["view"], &answer["status"]), (&json!("tree"), &json!("ok")), "{answer}");
    assert!(answer["compare"].is_null() && answer["timeline"].is_null(), "no comparison, no timeline: {answer}");
}

/// The frames of a timeline thread named `name`, in time order.
fn timeline_frames<'a>(thread: &'a Value, name: &str) -> Vec<&'a Value> {
    thread["frames"].as_array().unwrap().iter().filter(|frame| frame["name"] == name).collect()
}

#[test]
fn the_timeline_view_draws_the_stacks_in_time_order_bounded_by_the_width() {
    let (fixture, profile) = load_fixture("call_paths");
    let paths = profile.call_paths.clone().unwrap();
    let mut client = server_with_loaded(&fixture, &profile);
    let answer = client.request_ok("scalene/flameGraph", json!({"view": "timeline", "width": 800}));
    assert_eq!(answer["view"], "timeline", "{answer}");
    assert!(answer["root"].is_null(), "{answer}");
    let timeline = &answer["timeline"];
    assert_eq!(timeline["runs"].as_u64(), Some(paths.timeline.len() as u64));
    assert_eq!(timeline["columns"], 800);
    let duration = timeline["durationS"].as_f64().unwrap();
    assert!(duration > 0.0, "{timeline}");
    let threads = timeline["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 1, "one thread: {timeline}");
    let thread = &threads[0];
    assert_eq!(thread["label"], "main thread");
    let samples: u64 = paths.timeline.iter().map(|run| u64::from(run.count)).sum();
    assert_eq!(thread["samples"].as_u64(), Some(samples));
    let frames = thread["frames"].as_array().unwrap();
    // Every frame lies in the run, rows from 0, by depth then start; no two frames of a row overlap.
    for frame in frames {
        let (start, end) = (frame["start"].as_f64().unwrap(), frame["end"].as_f64().unwrap());
        assert!(0.0 <= start && start <= end && end <= duration + 1e-9, "{frame}");
        assert!(frame["depth"].as_u64().unwrap() < thread["depth"].as_u64().unwrap());
    }
    for pair in frames.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a["depth"] == b["depth"] {
            assert!(a["end"].as_f64().unwrap() <= b["start"].as_f64().unwrap() + 1e-9, "{a} then {b}");
        } else {
            assert!(a["depth"].as_u64() < b["depth"].as_u64(), "{a} then {b}");
        }
    }
    // The program's order: the batches (score under them) come before ranked, which comes before keep.
    let first_start = |name: &str| timeline_frames(thread, name).first().map(|frame| frame["start"].as_f64().unwrap());
    let last_end = |name: &str| timeline_frames(thread, name).last().map(|frame| frame["end"].as_f64().unwrap());
    let score = timeline_frames(thread, "score");
    assert!(!score.is_empty(), "score is on the timeline: {thread}");
    assert!(score[0]["uri"].as_str().unwrap().ends_with("helpers.py") && score[0]["line"].is_u64(), "{}", score[0]);
    let ranked = first_start("ranked").expect("ranked on the timeline");
    assert!(last_end("heavy_batch").unwrap() <= ranked + 1e-9, "the batches end before ranked starts: {thread}");
    // main spans (nearly) the whole run at one row: adjacent runs of it merged.
    let main = timeline_frames(thread, "main");
    assert!(main.len() <= 3, "main's runs are merged: {main:?}");
    // Narrow views cost fewer frames, never more than columns x rows.
    let narrow = client.request_ok("scalene/flameGraph", json!({"view": "timeline", "width": 20}));
    let narrow_thread = &narrow["timeline"]["threads"][0];
    let narrow_frames = narrow_thread["frames"].as_array().unwrap().len() as u64;
    assert!(narrow_frames <= 20 * narrow_thread["depth"].as_u64().unwrap() && narrow_frames <= frames.len() as u64, "{narrow}");
    // Refusals say what was expected.
    let bad = client.request("scalene/flameGraph", json!({"view": "icicle"})).unwrap_err();
    assert!(bad["message"].as_str().unwrap().contains("\"tree\" or \"timeline\""), "{bad}");
    let bad = client.request("scalene/flameGraph", json!({"view": "timeline", "weight": "memory"})).unwrap_err();
    assert!(bad["message"].as_str().unwrap().contains("CPU samples only"), "{bad}");
}
