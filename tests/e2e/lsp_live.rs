//! Live runs, recording windows and one test from the editor, with real Scalene: hints that change
//! while the program runs, a web server whose handler lights up as requests arrive, pause and resume,
//! the `▶ Profile test` lens, and refreshes held while the user types (docs/lsp.md).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::engine_live::{phase_line, phased_program, test_project, touch};
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
    // The flame graph draws the snapshot too: live call paths, said to be the run so far.
    let flame = client.request_ok("scalene/flameGraph", json!({"uri": uri}));
    assert_eq!(flame["status"], "running", "{flame}");
    let flame_text = flame["root"].to_string();
    assert!(flame_text.contains("\"phase_a\"") && !flame_text.contains("\"phase_b\""), "{flame}");
    let timeline = client.request_ok("scalene/flameGraph", json!({"uri": uri, "view": "timeline"}));
    assert!(timeline["timeline"]["threads"][0]["frames"].to_string().contains("\"phase_a\""), "{timeline}");

    let actions = client.code_actions(&uri, 0);
    let pause = action(&actions, "Pause recording").unwrap_or_else(|| panic!("{actions:#?}"));
    assert!(action(&actions, "Cancel profiling").is_some());
    assert_eq!(pause["command"]["command"], "scalene.pause");

    touch(project.path(), "go_b");
    wait_for_hints(&mut client, &uri, &text, |lines| lines.contains(&line_b));
    let hover = client.hover(&uri, line_b, 8).expect("a hover on phase b's loop");
    assert!(hover_run_seconds(&hover) > first_seconds, "the snapshots cover more and more of the run: {first_seconds} then {hover}");
    let later = client.request_ok("scalene/flameGraph", json!({"uri": uri}));
    assert!(later["root"].to_string().contains("\"phase_b\"") && later["profileId"] != flame["profileId"], "{later}");
    assert!(later["elapsedS"].as_f64() > flame["elapsedS"].as_f64(), "{flame} then {later}");

    // Pause and resume from the editor (the brief's `runId` spelling is accepted too).
    // Each answers at once with what was asked; the progress reports what Scalene confirmed.
    let paused = client.execute_ok("scalene.pause", json!({"runId": run_id}));
    assert_eq!((&paused["run_id"], &paused["requested"], &paused["changed"]), (&json!(run_id), &json!(false), &json!(true)), "{paused}");
    let actions = client.code_actions(&uri, 0);
    assert!(action(&actions, "Resume recording").is_some() && action(&actions, "Pause recording").is_none(), "{actions:#?}");
    wait_for_report(&mut client, &run_id, "recording paused");
    let again = client.execute_ok("scalene.pause", json!({"run_id": run_id}));
    assert_eq!(again, json!({"run_id": run_id, "requested": false, "recording": false, "changed": false, "pending": false}));
    let resumed = client.execute_ok("scalene.resume", json!({}));
    assert_eq!((&resumed["run_id"], &resumed["requested"], &resumed["changed"]), (&json!(run_id), &json!(true), &json!(true)), "{resumed}");

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
    let perimeter: Vec<u64> = crate::engine_live::body_lines("slow_perimeter").map(|line| line as u64 - 1).collect();
    let area: Vec<u64> = crate::engine_live::body_lines("slow_area").map(|line| line as u64 - 1).collect();
    assert!(lines.iter().any(|line| perimeter.contains(line)), "the failing test's code is measured: {lines:?}");
    assert!(!lines.iter().any(|line| area.contains(line)), "the other test did not run: {lines:?}");
    let error = client.execute("scalene.profileTest", json!({"uri": uri, "name": ""})).unwrap_err();
    assert!(error["message"].as_str().unwrap().contains("`name` must name a test"), "{error}");

    // A name that matches no test: no profile, and the message says so (not "did not pass").
    let started = client.execute_ok("scalene.profileTest", json!({"uri": uri, "name": "TestPerimeter::test_nope"}));
    client.expect_notification("$/progress", |params| params["value"]["kind"] == "begin", TIMEOUT);
    let run = follow(&mut client, started["run_id"].as_str().unwrap().to_string());
    assert_eq!(run.end, "failed: no test matched");
    let error = client.expect_notification("window/showMessage", |params| params["type"] == 1, TIMEOUT);
    let error = error["message"].as_str().unwrap();
    assert!(error.contains("no test matched") && error.contains("test_shapes.py::TestPerimeter::test_nope") && error.contains("--collect-only"), "{error}");
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
    // The first keystroke, then a beat: a refresh the server sent for a snapshot that came before it is
    // still on its way (seen under load) and is not one sent while the user types.
    let mut typed = text.clone();
    typed.push('#');
    client.change(&uri, 2, &typed);
    std::thread::sleep(Duration::from_millis(100));
    client.forget_unclaimed();
    let before = refreshes(&client);
    // Type a character every 100 ms for three snapshot intervals.
    for version in 3..62 {
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

/// Fires `count` pause/resume toggles at `run_id` (pause first), then a hover and inlay hints on
/// `uri`, all before reading any answer; returns once everything is answered: the toggles each say
/// what they asked for, and the hover (`Some` when `uri` has numbers) and the hints are the editor's
/// ordinary answers. Returns the toggles' answers.
fn toggle_burst(client: &mut LspClient, run_id: &str, count: usize, uri: &str, text: &str, line: u64) -> (Vec<Value>, Value, Vec<Value>) {
    let toggles: Vec<(bool, i64)> = (0..count)
        .map(|index| {
            let on = index % 2 == 1;
            let command = if on { "scalene.resume" } else { "scalene.pause" };
            (on, client.send_request("workspace/executeCommand", json!({"command": command, "arguments": [{"run_id": run_id}]})))
        })
        .collect();
    let hover = client.send_request("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 8}}));
    let n_lines = text.lines().count();
    let hints = client.send_request("textDocument/inlayHint", json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": n_lines, "character": 0}}}));
    let answers: Vec<Value> = toggles
        .iter()
        .map(|(on, id)| {
            let (answer, _) = client.response(*id, TIMEOUT);
            let answer = answer.unwrap_or_else(|error| panic!("a toggle failed: {error}"));
            assert_eq!((&answer["run_id"], &answer["requested"]), (&json!(run_id), &json!(on)), "{answer}");
            answer
        })
        .collect();
    let (hover, _) = client.response(hover, TIMEOUT);
    let (hints, _) = client.response(hints, TIMEOUT);
    (answers, hover.expect("the hover is answered"), hints.expect("the hints are answered").as_array().cloned().unwrap_or_default())
}

/// Claims `run_id`'s progress reports until one that arrived after message number `after` satisfies
/// `wanted`; returns its message.
fn report_after(client: &mut LspClient, run_id: &str, after: u64, wanted: impl Fn(&str) -> bool) -> String {
    let token = format!("scalene-{run_id}");
    loop {
        let value = client.expect_notification("$/progress", |params| params["token"] == token && params["value"]["kind"] == "report", RUN_TIMEOUT);
        let message = value["value"]["message"].as_str().unwrap_or("").to_string();
        if client.last_arrival > after && wanted(&message) {
            return message;
        }
    }
}

fn settled_recording(message: &str) -> bool {
    !message.contains("recording paused") && !message.contains("pausing recording") && !message.contains("resuming recording")
}

#[test]
fn pause_and_resume_as_fast_as_one_likes_end_in_the_state_last_asked_for_and_never_hold_up_the_editor() {
    let project = TempProject::new();
    let busy_text = phased_program(project.path(), &["a"]);
    let busy = project.write("busy.py", &busy_text);
    let busy_line = phase_line(&busy_text, "a") as u64 - 1;
    let window_dir = project.path().join("window");
    std::fs::create_dir(&window_dir).unwrap();
    let window_text = phased_program(&window_dir, &["a", "b"]);
    let window = project.write("window/window.py", &window_text);
    let line_b = phase_line(&window_text, "b") as u64 - 1;
    let sleeper = project.write("sleeper.py", &format!("import time\n\nopen({:?}, \"w\").close()\nwhile True:\n    time.sleep(0.1)\n", project.path().join("sleeping").display().to_string()));
    let mut client = start_in(&project, default_capabilities());
    for method in ["textDocument/publishDiagnostics", "window/showMessage", "window/logMessage"] {
        client.ignore(method);
    }
    let busy_uri = client.open(&busy, &busy_text);
    let window_uri = client.open(&window, &window_text);

    // Two runs take both of the engine's slots: a live one with numbers to show, and a sleeper.
    let (busy_run, _) = start_profile(&mut client, &busy_uri, json!({"live": true, "mode": "cpu"}));
    wait_for_hints(&mut client, &busy_uri, &busy_text, |lines| lines.contains(&busy_line));
    let (sleeper_run, _) = start_profile(&mut client, &client_uri(&sleeper), json!({"mode": "cpu"}));
    wait_for_file(&project.path().join("sleeping"));
    let (run_id, _) = start_profile(&mut client, &window_uri, json!({"live": true, "mode": "cpu"}));

    // The third run waits for a slot, so no toggle can take effect yet: every one is answered, and
    // the editor's requests sent behind them too, while all of them are still in flight.
    let (answers, hover, hints) = toggle_burst(&mut client, &run_id, 100, &busy_uri, &busy_text, busy_line);
    assert!(answers.iter().all(|answer| answer["recording"] == json!(true)), "nothing is confirmed before Scalene starts: {answers:#?}");
    assert!(answers.iter().any(|answer| answer["pending"] == json!(true)), "{answers:#?}");
    let hover = &hover["contents"]["value"];
    assert!(hover.as_str().is_some_and(|text| text.contains("live: the run so far")), "{hover}");
    assert!(hints.iter().any(|hint| hint["position"]["line"] == json!(busy_line)), "{hints:#?}");
    assert!(!window_dir.join("in_a").exists(), "the third run started before a slot was free");
    // Asked for last, once every toggle was answered: pause.
    let last = client.execute_ok("scalene.pause", json!({"run_id": run_id}));
    assert_eq!((&last["requested"], &last["recording"], &last["pending"]), (&json!(false), &json!(true), &json!(true)), "{last}");
    let actions = client.code_actions(&window_uri, 0);
    assert!(action(&actions, "Resume recording").is_some(), "the actions follow the state asked for: {actions:#?}");

    // A slot frees: the run starts in the state asked for last.
    assert_eq!(client.execute_ok("scalene.cancel", json!({"run_id": sleeper_run})), json!({"cancelled": true}));
    let last_answer = client.last_arrival;
    let message = report_after(&mut client, &run_id, last_answer, |message| !message.contains("pausing recording"));
    assert!(message.contains("recording paused"), "{message}");
    wait_for_file(&window_dir.join("in_a"));

    // Now on a live run, with pauses being confirmed while the toggles arrive.
    let (answers, hover, hints) = toggle_burst(&mut client, &run_id, 100, &busy_uri, &busy_text, busy_line);
    assert!(answers.iter().any(|answer| answer["changed"] == json!(true)), "{answers:#?}");
    assert!(hover["contents"]["value"].as_str().is_some_and(|text| text.contains("live: the run so far")), "{hover}");
    assert!(hints.iter().any(|hint| hint["position"]["line"] == json!(busy_line)), "{hints:#?}");
    let last = client.execute_ok("scalene.resume", json!({"run_id": run_id}));
    assert_eq!(last["requested"], json!(true), "{last}");
    let last_answer = client.last_arrival;
    report_after(&mut client, &run_id, last_answer, settled_recording);
    let again = client.execute_ok("scalene.resume", json!({"run_id": run_id}));
    assert_eq!(again, json!({"run_id": run_id, "requested": true, "recording": true, "changed": false, "pending": false}));

    // Recording is on for good: phase b, which starts only now, shows up in the run's numbers.
    touch(&window_dir, "go_b");
    wait_for_hints(&mut client, &window_uri, &window_text, |lines| lines.contains(&line_b));
    touch(&window_dir, "stop");
    let run = follow(&mut client, run_id.clone());
    assert!(run.end.starts_with("ok"), "{}", run.end);
    assert!(run.reports.iter().all(|message| settled_recording(message)), "no pause landed later: {:?}", run.reports);
    let hints = client.inlay_hints(&window_uri, &window_text);
    assert!(hinted_lines(&hints).contains(&line_b), "the final profile has phase b: {hints:#?}");
    assert_eq!(client.execute_ok("scalene.cancel", json!({"run_id": busy_run})), json!({"cancelled": true}));
    follow(&mut client, busy_run);
}

fn client_uri(path: &Path) -> String {
    crate::support::lsp_client::file_uri(path)
}
