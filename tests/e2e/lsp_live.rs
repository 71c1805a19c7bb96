//! Live runs, recording windows and one test from the editor, with real Scalene: hints that change
//! while the program runs, a web server whose handler lights up as requests arrive, pause and resume,
//! the `▶ Profile test` lens, and refreshes held while the user types (docs/lsp.md).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::live::{phase_line, phased_program, test_project, touch};
use crate::lsp_profile::{follow, start_in, start_profile};
use crate::support::lsp_client::{LspClient, TIMEOUT, default_capabilities};
use crate::support::{self, TempProject};

const RUN_TIMEOUT: Duration = Duration::from_secs(240);

fn hinted_lines(hints: &[Value]) -> Vec<u64> {
    hints.iter().filter_map(|hint| hint["position"]["line"].as_u64()).collect()
}

/// Waits for refreshes until the document's hints satisfy `wanted` (0-based lines); returns them.
fn wait_for_hints(client: &mut LspClient, uri: &str, text: &str, wanted: impl Fn(&[u64]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        let hints = client.inlay_hints(uri, text);
        if wanted(&hinted_lines(&hints)) {
            return hints;
        }
        assert!(Instant::now() < deadline, "the hints never got there: {hints:#?}\n{}", client.report());
        client.expect_request("workspace/inlayHint/refresh", RUN_TIMEOUT);
    }
}

/// The seconds of run the hover says the profile covers (`· 1.23 s run_`).
fn hover_run_seconds(hover: &str) -> f64 {
    let before = hover.rsplit_once(" s run_").unwrap_or_else(|| panic!("no run time in {hover}")).0;
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a progress report of `run_id` whose message contains `needle`; returns it.
fn wait_for_report(client: &mut LspClient, run_id: &str, needle: &str) -> String {
    let token = format!("scalene-{run_id}");
    let value = client.expect_notification(
        "$/progress",
        |params| params["token"] == token && params["value"]["kind"] == "report" && params["value"]["message"].as_str().is_some_and(|m| m.contains(needle)),
        RUN_TIMEOUT,
    );
    value["value"]["message"].as_str().unwrap().to_string()
}

fn action<'a>(actions: &'a [Value], title: &str) -> Option<&'a Value> {
    actions.iter().find(|action| action["title"] == title)
}

#[test]
fn a_live_run_updates_its_hints_while_the_program_moves_on_and_recording_can_be_paused() {
    let project = TempProject::new();
    let text = phased_program(project.path(), &["a", "b"]);
    let program = project.write("phases.py", &text);
    let (line_a, line_b) = (phase_line(&text, "a") as u64 - 1, phase_line(&text, "b") as u64 - 1);
    let mut client = start_in(&project, default_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    let uri = client.open(&program, &text);

    let lenses = client.code_lenses(&uri);
    let live_lens = lenses.iter().find(|lens| lens["command"]["title"] == "▶ Profile live").expect("a Profile live lens on the main guard");
    assert_eq!(live_lens["command"]["arguments"][0], json!({"uri": uri, "live": true}));
    let titles: Vec<Value> = client.code_actions(&uri, 0).iter().map(|a| a["title"].clone()).collect();
    assert!(titles.contains(&json!("Profile this file live with Scalene")), "{titles:?}");

    let (run_id, begin) = start_profile(&mut client, &uri, json!({"live": true, "mode": "cpu"}));
    assert!(begin["title"].as_str().unwrap().ends_with("phases.py live"), "{begin}");
    let first = wait_for_hints(&mut client, &uri, &text, |lines| lines.contains(&line_a));
    assert!(!hinted_lines(&first).contains(&line_b), "phase b has not run yet: {first:#?}");
    let hover = client.hover(&uri, line_a, 8).expect("a hover on phase a's loop");
    assert!(hover.contains("live: the run so far"), "{hover}");
    let first_seconds = hover_run_seconds(&hover);

    let actions = client.code_actions(&uri, 0);
    let pause = action(&actions, "Pause recording").unwrap_or_else(|| panic!("{actions:#?}"));
    assert!(action(&actions, "Cancel profiling").is_some());
    assert_eq!(pause["command"]["command"], "scalene.pause");

    touch(project.path(), "go_b");
    wait_for_hints(&mut client, &uri, &text, |lines| lines.contains(&line_b));
    let hover = client.hover(&uri, line_b, 8).expect("a hover on phase b's loop");
    assert!(hover_run_seconds(&hover) > first_seconds, "the snapshots cover more and more of the run: {first_seconds} then {hover}");

    // Pause and resume from the editor (the brief's `runId` spelling is accepted too).
    let paused = client.execute_ok("scalene.pause", json!({"runId": run_id}));
    assert_eq!(paused, json!({"run_id": run_id, "recording": false, "changed": true}));
    let actions = client.code_actions(&uri, 0);
    assert!(action(&actions, "Resume recording").is_some() && action(&actions, "Pause recording").is_none(), "{actions:#?}");
    let resumed = client.execute_ok("scalene.resume", json!({}));
    assert_eq!(resumed, json!({"run_id": run_id, "recording": true, "changed": true}));

    wait_for_report(&mut client, &run_id, "hottest so far: phases.py:");
    touch(project.path(), "stop");
    let run = follow(&mut client, run_id.clone());
    assert!(run.end.starts_with("ok"), "{}", run.end);
    let error = client.execute("scalene.pause", json!({"run_id": run_id})).unwrap_err();
    assert!(error["message"].as_str().unwrap().contains("has ended"), "{error}");
    assert_eq!(error["data"]["kind"], "run_ended");
}

/// Sends GET requests to `port` until `stop` is set.
fn send_requests(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut answered = 0;
        while !stop.load(Ordering::Relaxed) {
            let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut reply = String::new();
            if stream.read_to_string(&mut reply).is_ok() && reply.contains("checksum") {
                answered += 1;
            }
        }
        answered
    })
}

#[test]
fn a_live_web_server_lights_up_as_requests_arrive_and_a_cancel_keeps_its_final_profile() {
    let project = TempProject::new();
    let text = std::fs::read_to_string(support::program("slow_server.py")).unwrap();
    let server = project.write("slow_server.py", &text);
    let hot_line = text.lines().position(|line| line.contains("total = (total * 31 + i) % 1_000_003")).unwrap() as u64;
    let port_file = project.path().join("port.txt");
    let mut client = start_in(&project, default_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    let uri = client.open(&server, &text);

    let (run_id, _) = start_profile(&mut client, &uri, json!({"live": true, "args": [port_file]}));
    wait_for_file(&port_file);
    let port: u16 = std::fs::read_to_string(&port_file).unwrap().trim().parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let requests = send_requests(port, stop.clone());
    let hints = wait_for_hints(&mut client, &uri, &text, |lines| lines.contains(&hot_line));
    let label = hints.iter().find(|hint| hint["position"]["line"] == hot_line).unwrap()["label"].as_str().unwrap().to_string();
    assert!(label.contains("% CPU"), "{label}");
    let report = wait_for_report(&mut client, &run_id, "hottest so far:");
    assert!(report.contains("slow_server.py:"), "the progress names the hottest line so far: {report}");

    assert_eq!(client.execute_ok("scalene.cancel", json!({"run_id": run_id})), json!({"cancelled": true}));
    let run = follow(&mut client, run_id);
    stop.store(true, Ordering::Relaxed);
    assert!(requests.join().unwrap() > 0, "the server answered while profiled live");
    assert!(run.end.contains("cancelled"), "{}", run.end);
    let warning = client.expect_notification("window/showMessage", |params| params["type"] == 2, TIMEOUT);
    assert!(warning["message"].as_str().unwrap().contains("the run was cancelled"), "{warning}");
    let hints = wait_for_hints(&mut client, &uri, &text, |lines| lines.contains(&hot_line));
    assert!(!hints.is_empty());
    let hover = client.hover(&uri, hot_line, 8).expect("a hover on the handler's loop");
    assert!(hover.contains("cancelled"), "the final profile replaced the snapshots: {hover}");
    assert!(support::processes_mentioning(&port_file.display().to_string()).is_empty(), "a process of the server survived");
}

#[test]
fn the_profile_test_lens_profiles_one_failing_test_and_keeps_its_profile() {
    let (project, tests) = test_project();
    let text = std::fs::read_to_string(&tests).unwrap();
    let mut client = start_in(&project, default_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    client.ignore("window/logMessage");
    let uri = client.open(&tests, &text);
    let lenses = client.code_lenses(&uri);
    let test_lenses: Vec<(u64, String)> = lenses
        .iter()
        .filter(|lens| lens["command"]["title"] == "▶ Profile test")
        .map(|lens| (lens["range"]["start"]["line"].as_u64().unwrap(), lens["command"]["arguments"][0]["name"].as_str().unwrap().to_string()))
        .collect();
    let line_of = |needle: &str| text.lines().position(|line| line.contains(needle)).unwrap() as u64;
    assert_eq!(
        test_lenses,
        vec![
            (line_of("def test_area"), "test_area".to_string()),
            (line_of("def test_perimeter_is_one"), "TestPerimeter::test_perimeter_is_one".to_string()),
            (line_of("async def test_async_area"), "test_async_area".to_string()),
        ]
    );
    let lens = lenses.iter().find(|lens| lens["command"]["arguments"][0]["name"] == "TestPerimeter::test_perimeter_is_one").unwrap();
    assert_eq!(lens["command"]["command"], "scalene.profileTest");

    let started = client.execute_ok("scalene.profileTest", lens["command"]["arguments"][0].clone());
    let run_id = started["run_id"].as_str().unwrap().to_string();
    client.expect_request("window/workDoneProgress/create", TIMEOUT);
    let begin = client.expect_notification("$/progress", |params| params["value"]["kind"] == "begin", TIMEOUT);
    assert_eq!(begin["value"]["title"], "Scalene: profiling test test_shapes.py::TestPerimeter::test_perimeter_is_one");
    let run = follow(&mut client, run_id);
    assert!(run.end.starts_with("program_failed"), "{}", run.end);
    let warning = client.expect_notification("window/showMessage", |params| params["type"] == 2, TIMEOUT);
    let warning = warning["message"].as_str().unwrap();
    assert!(warning.contains("did not pass") && warning.contains("1 failed in"), "pytest's summary reaches the user: {warning}");

    let shapes = project.path().join("shapes.py");
    let shapes_text = std::fs::read_to_string(&shapes).unwrap();
    let shapes_uri = client.open(&shapes, &shapes_text);
    let lines = hinted_lines(&client.inlay_hints(&shapes_uri, &shapes_text));
    let perimeter: Vec<u64> = crate::live::body_lines("slow_perimeter").map(|line| line as u64 - 1).collect();
    let area: Vec<u64> = crate::live::body_lines("slow_area").map(|line| line as u64 - 1).collect();
    assert!(lines.iter().any(|line| perimeter.contains(line)), "the failing test's code is measured: {lines:?}");
    assert!(!lines.iter().any(|line| area.contains(line)), "the other test did not run: {lines:?}");
    let error = client.execute("scalene.profileTest", json!({"uri": uri, "name": ""})).unwrap_err();
    assert!(error["message"].as_str().unwrap().contains("`name` must name a test"), "{error}");
}

#[test]
fn while_the_user_types_a_live_run_does_not_refresh_the_editor() {
    let project = TempProject::new();
    let text = support::long_program(3600.0);
    let program = project.write("forever.py", &text);
    let marker = project.path().join("running.txt");
    let mut client = LspClient::spawn();
    client.initialize(Some(project.path()), default_capabilities(), json!({"python": support::python(), "live": {"interval": 2.0}}));
    client.ignore("textDocument/publishDiagnostics");
    client.ignore("window/showMessage");
    let uri = client.open(&program, &text);
    let (run_id, _) = start_profile(&mut client, &uri, json!({"live": true, "args": [marker]}));
    // A snapshot is shown: refreshes flow.
    wait_for_hints(&mut client, &uri, &text, |lines| !lines.is_empty());

    let refreshes = |client: &LspClient| client.server_requests.iter().filter(|r| r["method"] == "workspace/inlayHint/refresh").count();
    client.forget_unclaimed();
    let before = refreshes(&client);
    // Type a character every 100 ms for three snapshot intervals.
    let mut typed = text.clone();
    for version in 2..62 {
        typed.push('#');
        client.change(&uri, version, &typed);
        std::thread::sleep(Duration::from_millis(100));
    }
    client.forget_unclaimed();
    assert_eq!(refreshes(&client), before, "no refresh while the user types faster than the snapshot interval");
    // Once typing pauses, the newest snapshot is shown.
    client.expect_request("workspace/inlayHint/refresh", RUN_TIMEOUT);
    client.execute_ok("scalene.cancel", json!({"run_id": run_id}));
    follow(&mut client, run_id);
}
