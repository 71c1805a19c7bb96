//! Compare mode in the editor (docs/lsp.md: Compare mode): save a baseline, compare, see delta hints,
//! regression and improvement diagnostics pointing at the baseline's lines, side-by-side hovers and
//! function lenses on the right lines, also after edits; leave compare mode. First on the captured
//! versions of one program (deterministic), then live: profile, save, change the file, compare.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli_compare::{line0, line_of, live_v1, live_v2};
use crate::lsp_load::load_fixture;
use crate::lsp_profile::{follow, profile_and_wait};
use crate::support::lsp_client::{LspClient, TIMEOUT, default_capabilities, file_uri};
use crate::support::{self, TempProject};

const RUN_TIMEOUT: Duration = Duration::from_secs(240);

fn codes_on(diagnostics: &[Value], line0: u64) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|d| d["range"]["start"]["line"] == line0)
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

fn has_code(diagnostics: &[Value], code: &str) -> bool {
    diagnostics.iter().any(|d| d["code"] == code)
}

/// `(0-based line, label)` of the hints.
fn labels(hints: &[Value]) -> Vec<(u64, String)> {
    hints.iter().map(|hint| (hint["position"]["line"].as_u64().unwrap(), hint["label"].as_str().unwrap().to_string())).collect()
}

/// The first node named `name` in a `scalene/flameGraph` tree (depth first).
fn find_node<'a>(node: &'a Value, name: &str) -> Option<&'a Value> {
    if node["name"] == name {
        return Some(node);
    }
    node["children"].as_array()?.iter().find_map(|child| find_node(child, name))
}

#[test]
fn compare_mode_shows_the_changes_of_the_captured_versions_on_their_lines_through_edits() {
    let store = tempfile::tempdir().unwrap();
    let (v1_fixture, v1) = load_fixture("compare_v1");
    let (v2_fixture, v2) = load_fixture("compare_v2");
    let (v1_path, v2_path) = (v1.files[0].path.clone(), v2.files[0].path.clone());
    let mut client = LspClient::start(support::repo(), json!({"store": {"dir": store.path()}}));
    client.execute_ok("scalene.loadProfile", json!({"path": v1_fixture}));
    let saved = client.execute_ok("scalene.saveBaseline", json!({"uri": file_uri(&v1_path)}));
    assert_eq!(saved["name"], "baseline", "{saved}");
    let saved_file = store.path().join("baseline.json");
    assert_eq!(std::fs::metadata(&saved_file).unwrap().mode() & 0o777, 0o600);
    client.execute_ok("scalene.loadProfile", json!({"path": v2_fixture}));
    let text = std::fs::read_to_string(&v2_path).unwrap();
    let uri = client.open(&v2_path, &text);
    let plain = client.expect_diagnostics(&uri, |d| has_code(d, "cpu-hotspot"), TIMEOUT);
    assert!(!has_code(&plain, "cpu-regression"));

    let titles: Vec<String> = client.code_actions(&uri, 0).iter().map(|a| a["title"].as_str().unwrap().to_string()).collect();
    assert!(titles.contains(&"Compare with baseline".to_string()) && titles.contains(&"Save profile as baseline".to_string()), "{titles:?}");
    assert!(!titles.contains(&"Exit compare mode".to_string()), "{titles:?}");

    // The newest profile of the file matches its text: compared at once, no run.
    let result = client.execute_ok("scalene.compare", json!({"uri": uri}));
    assert_eq!(result["verdict"], "regressed", "{result}");
    assert!(result["summary"].as_str().unwrap().contains("grow (compare_v2.py:"), "{result}");
    let diagnostics = client.expect_diagnostics(&uri, |d| has_code(d, "cpu-regression"), TIMEOUT);
    let grow_loop = line_of("compare_v2.py", "total += value * value % 7") - 1;
    let shrink_loop = line_of("compare_v2.py", "total += value * 0.5 + 1.0") - 1;
    let grow_def = line_of("compare_v2.py", "def grow") - 1;
    let steady_loop = line_of("compare_v2.py", "total ^= i") - 1;
    assert!(!has_code(&diagnostics, "cpu-hotspot"), "compare mode replaces the hotspot diagnostics");
    assert_eq!(codes_on(&diagnostics, grow_loop), ["cpu-regression"], "{diagnostics:#?}");
    assert_eq!(codes_on(&diagnostics, shrink_loop), ["improvement"], "{diagnostics:#?}");
    assert!(codes_on(&diagnostics, steady_loop).is_empty(), "untouched code has no diagnostic: {diagnostics:#?}");
    assert!(codes_on(&diagnostics, grow_def).contains(&"cpu-regression".to_string()), "the function too: {diagnostics:#?}");
    let regression = diagnostics.iter().find(|d| d["range"]["start"]["line"] == grow_loop).unwrap();
    assert_eq!(regression["severity"], 2, "Warning");
    let message = regression["message"].as_str().unwrap();
    assert!(message.starts_with("slower than baseline `baseline`: ") && message.contains(" s → ") && message.contains("CPU (+"), "{message}");
    let related = &regression["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], json!(file_uri(&v1_path)), "points at the baseline's file");
    assert_eq!(related["location"]["range"]["start"]["line"].as_u64(), Some(line_of("compare_v1.py", "total += value * value % 7") - 1));
    let improvement = diagnostics.iter().find(|d| d["range"]["start"]["line"] == shrink_loop).unwrap();
    assert_eq!(improvement["severity"], 4, "Hint");
    assert!(improvement["message"].as_str().unwrap().starts_with("faster: "), "{improvement}");
    let grow_data = line_of("compare_v2.py", "data = list(range(n))") - 1;
    assert!(codes_on(&diagnostics, grow_data).contains(&"memory-regression".to_string()), "{diagnostics:#?}");

    // Hints: deltas on the changed lines only.
    let hints = labels(&client.inlay_hints(&uri, &text));
    let on = |line: u64| hints.iter().find(|(l, _)| *l == line).map(|(_, label)| label.clone());
    let grow_label = on(grow_loop).unwrap_or_else(|| panic!("{hints:?}"));
    assert!(grow_label.starts_with('+') && grow_label.contains(" s CPU (+"), "{grow_label}");
    assert!(on(shrink_loop).unwrap().starts_with('−'), "{hints:?}");
    assert!(on(grow_data).unwrap().contains(" MB"), "a memory delta: {hints:?}");
    assert_eq!(on(steady_loop), None, "{hints:?}");
    // Hover: baseline and now side by side.
    let hover = client.hover(&uri, grow_loop, 8).unwrap();
    assert!(hover.contains("| | baseline | now | change |") && hover.contains("**regressed**"), "{hover}");
    assert!(hover.contains(&format!("(line {} in the baseline)", line_of("compare_v1.py", "total += value * value % 7"))), "{hover}");
    assert!(hover.contains("**grow**"), "the function's change too: {hover}");
    // Lenses on compared functions.
    let lenses = client.code_lenses(&uri);
    let grow_lens = lenses.iter().find(|lens| lens["range"]["start"]["line"] == grow_def).unwrap();
    assert!(grow_lens["command"]["title"].as_str().unwrap().starts_with("regressed: +"), "{grow_lens}");
    let titles: Vec<String> = client.code_actions(&uri, 0).iter().map(|a| a["title"].as_str().unwrap().to_string()).collect();
    assert!(titles.contains(&"Exit compare mode".to_string()), "{titles:?}");

    // Lines inserted above: every number moves with its line.
    let edited = format!("# one\n# two\n{text}");
    client.change(&uri, 2, &edited);
    let moved = client.expect_notification(
        "textDocument/publishDiagnostics",
        |params| params["uri"] == uri && params["version"] == 2,
        TIMEOUT,
    )["diagnostics"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes_on(&moved, grow_loop + 2), ["cpu-regression"], "{moved:#?}");
    assert_eq!(codes_on(&moved, shrink_loop + 2), ["improvement"], "{moved:#?}");
    let hints = labels(&client.inlay_hints(&uri, &edited));
    assert!(hints.iter().any(|(line, label)| *line == grow_loop + 2 && *label == grow_label), "{hints:?}");

    // Leaving compare mode brings the plain numbers back.
    assert_eq!(client.execute_ok("scalene.exitCompare", Value::Null)["exited"], true);
    let plain = client.expect_diagnostics(&uri, |d| has_code(d, "cpu-hotspot"), TIMEOUT);
    assert!(!has_code(&plain, "cpu-regression") && !has_code(&plain, "improvement"));

    // Bad arguments say what was expected.
    let err = client.execute("scalene.saveBaseline", json!({"uri": uri, "name": "../x"})).unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("not a valid name") && err["code"] == -32602, "{err}");
    let err = client.execute("scalene.compare", json!({"uri": uri, "baseline": "missing"})).unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("no saved profile is named \"missing\""), "{err}");
    let err = client.execute("scalene.compare", json!({"uri": uri, "runs": 0})).unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("`runs` must be between 1 and"), "{err}");
    assert_eq!(std::fs::read_dir(store.path()).unwrap().count(), 1, "nothing but the baseline was written");
}

#[test]
fn a_baseline_then_a_slower_and_a_faster_function_then_compare_profiles_now_and_flags_their_lines() {
    let project = TempProject::new();
    let store = project.path().join("store");
    let program = project.write("app.py", &live_v1());
    let mut client = LspClient::spawn();
    client.initialize(Some(project.path()), default_capabilities(), json!({"python": support::python(), "mode": "cpu", "store": {"dir": store}}));
    let uri = client.open(&program, &live_v1());
    let (_, end) = profile_and_wait(&mut client, &uri, json!({}));
    assert!(end.starts_with("ok"), "{end}");
    client.expect_diagnostics(&uri, |d| has_code(d, "cpu-hotspot"), TIMEOUT);
    let saved = client.execute_ok("scalene.saveBaseline", json!({"uri": uri}));
    assert_eq!(saved["name"], "baseline");
    assert!(store.join("baseline.json").is_file());

    // Slow one function down (5x the work), speed another up (a fifth), insert lines above both.
    std::fs::write(&program, live_v2()).unwrap();
    client.change(&uri, 2, &live_v2());
    client.expect_notification("textDocument/publishDiagnostics", |p| p["uri"] == uri && p["version"] == 2, TIMEOUT);

    // The newest profile is of the old text: compare profiles now.
    let started = client.execute_ok("scalene.compare", json!({"uri": uri}));
    let run_id = started["run_id"].as_str().unwrap_or_else(|| panic!("a run: {started}")).to_string();
    let token = format!("scalene-{run_id}");
    assert_eq!(client.expect_request("window/workDoneProgress/create", TIMEOUT)["token"], json!(token));
    client.expect_notification("$/progress", |p| p["token"] == token && p["value"]["kind"] == "begin", TIMEOUT);
    let run = follow(&mut client, run_id);
    assert!(run.end.starts_with("ok"), "{}", run.end);
    let message = client.expect_notification("window/showMessage", |p| p["message"].as_str().unwrap_or("").contains("compared with baseline"), RUN_TIMEOUT);
    assert_eq!(message["type"], 2, "a regression is a warning: {message}");
    assert!(message["message"].as_str().unwrap().contains("slow (app.py:"), "{message}");
    let (v1, v2) = (live_v1(), live_v2());
    let slow_def = line0(&v2, "def slow");
    let fast_def = line0(&v2, "def fast");
    let slow_lines = [line0(&v2, "total += i * i % 7") - 1, line0(&v2, "total += i * i % 7")];
    let fast_lines = [line0(&v2, "total += i * i % 3") - 1, line0(&v2, "total += i * i % 3")];
    let diagnostics = client.expect_diagnostics(&uri, |d| has_code(d, "cpu-regression"), TIMEOUT);
    assert!(codes_on(&diagnostics, slow_def).contains(&"cpu-regression".to_string()), "{diagnostics:#?}");
    assert!(codes_on(&diagnostics, fast_def).contains(&"improvement".to_string()), "{diagnostics:#?}");
    // A loop's samples are spread over its lines: at least one carries the change.
    let flagged = |lines: [u64; 2], code: &str| lines.into_iter().filter(|line| codes_on(&diagnostics, *line).contains(&code.to_string())).collect::<Vec<_>>();
    let slow_flagged = flagged(slow_lines, "cpu-regression");
    assert!(!slow_flagged.is_empty(), "{diagnostics:#?}");
    assert!(!flagged(fast_lines, "improvement").is_empty(), "{diagnostics:#?}");
    let regression = diagnostics.iter().find(|d| d["range"]["start"]["line"] == slow_flagged[0]).unwrap();
    let before_line = regression["relatedInformation"][0]["location"]["range"]["start"]["line"].as_u64().unwrap();
    assert_eq!(v1.lines().nth(before_line as usize), v2.lines().nth(slow_flagged[0] as usize), "the baseline's line has the same text");
    let hints = labels(&client.inlay_hints(&uri, &v2));
    let label = hints.iter().find(|(line, _)| *line == slow_flagged[0]).map(|(_, label)| label.clone()).unwrap_or_else(|| panic!("{hints:?}"));
    assert!(label.starts_with('+') && label.contains(" s CPU (+"), "{label}");
    assert!(hints.iter().any(|(line, label)| fast_lines.contains(line) && label.starts_with('−')), "{hints:?}");
    // The flame graph of the compared profile is coloured by the comparison's function verdicts.
    let flame = client.request_ok("scalene/flameGraph", json!({"uri": uri}));
    assert_eq!(flame["compare"]["baseline"], "baseline", "{flame}");
    assert_eq!(flame["compare"]["verdict"], "regressed", "{flame}");
    let node = |name: &str| find_node(&flame["root"], name).unwrap_or_else(|| panic!("{name} in {flame}"));
    let (slow, fast, main) = (node("slow"), node("fast"), node("<module>"));
    assert_eq!(slow["change"]["verdict"], "regressed", "{slow}");
    assert_eq!(fast["change"]["verdict"], "improved", "{fast}");
    let (before, after) = (slow["change"]["before"].as_f64().unwrap(), slow["change"]["after"].as_f64().unwrap());
    assert!(after > before && slow["change"]["changePercent"].as_f64().unwrap() > 0.0, "before → after in CPU seconds: {slow}");
    assert_eq!(slow["change"]["function"], "slow");
    assert!(main["change"].is_null() || main["change"]["verdict"].is_string(), "{main}");
    assert!(flame["root"]["change"].is_null(), "the root has no verdict");
    // Leaving compare mode leaves plain colours.
    client.execute_ok("scalene.exitCompare", Value::Null);
    let plain = client.request_ok("scalene/flameGraph", json!({"uri": uri}));
    assert!(plain["compare"].is_null() && find_node(&plain["root"], "slow").unwrap()["change"].is_null(), "{plain}");
    // The plain diagnostics of the new profile (published before compare mode began) are not looked at.
    client.forget_unclaimed();
}

/// `scalene.compare` asks for its run like `scalene.profile` does (one request builder): with
/// `shortcut: false` the program runs under Scalene's own re-launch (its parent is Scalene's first
/// Python, not the server); with the shortcut it runs in Scalene's first process (its parent is the
/// server). The program writes its parent's pid where the test reads it.
#[test]
fn compare_runs_follow_the_editors_start_up_setting() {
    let project = TempProject::new();
    let store = project.path().join("store");
    let text = "import os\nopen(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ppid.txt'), 'w').write(str(os.getppid()))\ntotal = 0\nfor i in range(3_000_000):\n    total += i % 7\nprint(total)\n";
    let program = project.write("app.py", text);
    let mut client = LspClient::spawn();
    let settings = |shortcut: bool| json!({"python": support::python(), "mode": "cpu", "store": {"dir": store}, "shortcut": shortcut});
    client.set_settings(settings(false));
    client.initialize(Some(project.path()), default_capabilities(), settings(false));
    // Only where the program ran is looked at here.
    client.ignore("window/showMessage");
    client.ignore("textDocument/publishDiagnostics");
    let uri = client.open(&program, text);
    let (_, end) = profile_and_wait(&mut client, &uri, json!({}));
    assert!(end.starts_with("ok"), "{end}");
    client.execute_ok("scalene.saveBaseline", json!({"uri": uri}));
    let server = client.pid().to_string();
    let parent_after_compare = |client: &mut LspClient| {
        std::fs::remove_file(project.path().join("ppid.txt")).unwrap();
        let started = client.execute_ok("scalene.compare", json!({"uri": uri, "runs": 1}));
        let run_id = started["run_id"].as_str().unwrap_or_else(|| panic!("{started}")).to_string();
        let token = format!("scalene-{run_id}");
        client.expect_notification("$/progress", |p| p["token"] == token && p["value"]["kind"] == "begin", TIMEOUT);
        let run = follow(client, run_id);
        assert!(run.end.starts_with("ok"), "{}", run.end);
        std::fs::read_to_string(project.path().join("ppid.txt")).unwrap()
    };
    assert_ne!(parent_after_compare(&mut client), server, "shortcut: false: Scalene's own start-up (a re-launched Python runs the program)");
    client.set_settings(settings(true));
    client.forget_unclaimed();
    client.notify("workspace/didChangeConfiguration", json!({"settings": {"scalene": settings(true)}}));
    client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    assert_eq!(parent_after_compare(&mut client), server, "the shortcut: the program runs in Scalene's first process, the server's child");
}

/// A file outside the workspace is refused by every command that runs or compares it, before anything
/// reads it: `scalene.compare` refused it only after looking for the baseline and the file's text.
#[test]
fn commands_refuse_a_file_outside_the_workspace_before_reading_anything() {
    let project = TempProject::new();
    project.write("inside.py", "x = 1\n");
    let elsewhere = TempProject::new();
    let outside = elsewhere.write("outside.py", "def test_a():\n    assert True\n");
    let store = tempfile::tempdir().unwrap();
    let mut client = LspClient::start(project.path(), json!({"store": {"dir": store.path()}}));
    let uri = file_uri(&outside);
    for (command, argument) in [
        ("scalene.profile", json!({"uri": uri})),
        ("scalene.profileTest", json!({"uri": uri, "name": "test_a"})),
        ("scalene.compare", json!({"uri": uri})),
        ("scalene.compare", json!({"uri": uri, "baseline": "missing", "runs": 2})),
    ] {
        let error = client.execute(command, argument.clone()).unwrap_err();
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains("outside the workspace") && message.contains("Fix:"), "{command} {argument}: {error}");
    }
    assert!(std::fs::read_dir(store.path()).unwrap().next().is_none(), "nothing was saved or read into the store");
    // Still serving, and nothing runs.
    assert_eq!(client.execute_ok("scalene.cancel", json!({})), json!({"cancelled": false}));
}
