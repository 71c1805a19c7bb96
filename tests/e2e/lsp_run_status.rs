//! `scalene/runStatus` (docs/lsp.md): a run's progress as data, for clients that announce
//! `experimental.scaleneRunStatus`, sent at the moments of `$/progress` and agreeing with its text; other
//! clients get the progress text alone. With real Scalene.

use std::time::Duration;

use serde_json::{Value, json};

use crate::engine_live::{phase_line, phased_program, touch};
use crate::lsp_profile::{Run, follow, start_in, start_profile};
use crate::support::lsp_client::{LspClient, default_capabilities};
use crate::support::{self, TempProject};

const RUN_TIMEOUT: Duration = Duration::from_secs(240);

fn run_status_capabilities() -> Value {
    let mut capabilities = default_capabilities();
    capabilities["experimental"] = json!({"scaleneRunStatus": true});
    capabilities
}

/// The next `scalene/runStatus` of `run_id`, in the order sent.
fn next_status(client: &mut LspClient, run_id: &str) -> Value {
    client.expect_notification("scalene/runStatus", |params| params["runId"] == run_id, RUN_TIMEOUT)
}

/// Every `scalene/runStatus` of `run_id` up to its end (from where the test left off).
fn statuses_to_end(client: &mut LspClient, run_id: &str, mut statuses: Vec<Value>) -> Vec<Value> {
    while statuses.last().is_none_or(|status| status["phase"] != "end") {
        statuses.push(next_status(client, run_id));
    }
    statuses
}

/// `12 s`, `run 2/3 · 12 s · recording paused · hottest so far: app.py:42 (31.0% CPU)`: what the
/// progress report says of a status (docs/lsp.md, Progress).
fn report_text(status: &Value) -> String {
    let mut text = match status.get("series") {
        Some(series) => format!("run {}/{} · ", series["current"], series["total"]),
        None => String::new(),
    };
    text.push_str(&format!("{} s", status["elapsedS"].as_f64().unwrap().floor()));
    let (recording, requested) = (status["recording"] == true, status["recordingRequested"] == true);
    if !recording {
        text.push_str(" · recording paused");
    }
    if requested != recording {
        text.push_str(if requested { " · resuming recording" } else { " · pausing recording" });
    }
    if let Some(hottest) = status.get("hottest") {
        text.push_str(&format!(" · hottest so far: {}", hottest_text(hottest)));
    }
    text
}

fn hottest_text(hottest: &Value) -> String {
    format!("{}:{} ({:.1}% CPU)", hottest["file"].as_str().unwrap(), hottest["line"].as_u64().unwrap() + 1, hottest["cpu"].as_f64().unwrap())
}

/// The progress reports and the status reports of a run say the same (the same data, sent together;
/// compared as sorted lists, since a report of the ticker and one of a pause are sent concurrently).
fn assert_reports_agree(statuses: &[Value], run: &Run) {
    let mut from_statuses: Vec<String> = statuses.iter().filter(|status| status["phase"] == "report").map(report_text).collect();
    let mut from_progress = run.reports.clone();
    from_statuses.sort();
    from_progress.sort();
    assert_eq!(from_statuses, from_progress, "one status per progress report, saying the same");
    let end = statuses.last().unwrap();
    assert_eq!(end["summary"], json!(run.end), "the status's summary is the progress's end message");
}

#[test]
fn run_status_follows_a_live_run_from_begin_to_end_for_a_client_that_asks() {
    let project = TempProject::new();
    let text = phased_program(project.path(), &["a"]);
    let program = project.write("phases.py", &text);
    // 0-based: `total += i % 3`, inside `while` and `for` (hot_line - 2, hot_line - 1).
    let hot_line = phase_line(&text, "a") - 1;
    let mut client = start_in(&project, run_status_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    let uri = client.open(&program, &text);

    let (run_id, _) = start_profile(&mut client, &uri, json!({"live": true, "mode": "cpu"}));
    let begin = next_status(&mut client, &run_id);
    assert_eq!(
        (&begin["phase"], &begin["kind"], &begin["live"], &begin["uri"], &begin["recording"], &begin["recordingRequested"], &begin["elapsedS"]),
        (&json!("begin"), &json!("live"), &json!(true), &json!(uri), &json!(true), &json!(true), &json!(0.0)),
        "{begin}"
    );
    for absent in ["status", "summary", "error", "series", "hottest", "test", "profileId"] {
        assert_eq!(begin.get(absent), None, "{begin}");
    }

    // Reports: the elapsed seconds, then the hottest line of the newest snapshot; pause and resume show.
    let mut statuses = vec![begin];
    let mut asked = "";
    loop {
        let status = next_status(&mut client, &run_id);
        assert_eq!(status["phase"], "report", "the run ended early: {status}");
        assert!(status["elapsedS"].as_f64().is_some_and(|seconds| seconds >= 0.0), "{status}");
        assert_eq!((status.get("status"), status.get("summary")), (None, None), "only the end has an outcome: {status}");
        let (recording, requested) = (status["recording"].clone(), status["recordingRequested"].clone());
        statuses.push(status.clone());
        match asked {
            "" if status.get("hottest").is_some() => {
                let hottest = &status["hottest"];
                assert_eq!(hottest["file"], "phases.py", "{status}");
                // Scalene splits the loop's samples between its lines: any of the three is the hottest.
                let line = hottest["line"].as_u64().unwrap() as u32;
                assert!((hot_line - 2..=hot_line).contains(&line), "a line of phase a's loop (0-based {hot_line} and the two above): {status}");
                assert_eq!(hottest["uri"], json!(uri), "{status}");
                assert!(hottest["cpu"].as_f64().is_some_and(|cpu| cpu > 0.0), "{status}");
                // The snapshot the hottest line comes from, by its profile id.
                assert!(status["profileId"].as_str().is_some_and(|id| id.starts_with('p')), "{status}");
                client.execute_ok("scalene.pause", json!({"run_id": run_id}));
                asked = "pause";
            }
            "pause" if recording == false && requested == false => {
                client.execute_ok("scalene.resume", json!({"run_id": run_id}));
                asked = "resume";
            }
            "resume" if recording == true && requested == true => break,
            _ => {}
        }
    }
    assert!(statuses.iter().any(|status| status["elapsedS"].as_f64().unwrap() >= 1.0), "a report of the ticker: {statuses:#?}");
    touch(project.path(), "stop");
    let statuses = statuses_to_end(&mut client, &run_id, statuses);
    let end = statuses.last().unwrap();
    assert_eq!((&end["status"], &end["kind"], end.get("error")), (&json!("ok"), &json!("live"), None), "{end}");
    let elapsed = end["elapsedS"].as_f64().unwrap();
    assert!(elapsed > 0.0, "{end}");
    assert_eq!(end["hottest"]["file"], "phases.py", "{end}");
    let summary = format!("ok in {elapsed:.1} s · hottest: {}", hottest_text(&end["hottest"]));
    assert_eq!(end["summary"], json!(summary), "written from the same fields: {end}");
    let run = follow(&mut client, run_id);
    assert_reports_agree(&statuses, &run);
}

#[test]
fn run_status_names_plain_repeated_and_failed_runs() {
    let project = TempProject::new();
    let store = project.path().join("store");
    let text = support::long_program(1.5);
    let program = project.write("app.py", &text);
    let mut client = LspClient::spawn();
    client.initialize(Some(project.path()), run_status_capabilities(), json!({"python": support::python(), "mode": "cpu", "store": {"dir": store}}));
    client.ignore("textDocument/publishDiagnostics");
    client.ignore("window/showMessage");
    let uri = client.open(&program, &text);

    let (run_id, _) = start_profile(&mut client, &uri, json!({}));
    let statuses = statuses_to_end(&mut client, &run_id, Vec::new());
    assert_eq!((&statuses[0]["phase"], &statuses[0]["kind"], &statuses[0]["live"]), (&json!("begin"), &json!("profile"), &json!(false)));
    let end = statuses.last().unwrap();
    assert_eq!((&end["kind"], &end["status"]), (&json!("profile"), &json!("ok")), "{end}");
    assert_reports_agree(&statuses, &follow(&mut client, run_id));

    // A comparison run twice: a series, each report saying which run goes.
    client.execute_ok("scalene.saveBaseline", json!({"uri": uri}));
    let started = client.execute_ok("scalene.compare", json!({"uri": uri, "runs": 2}));
    let run_id = started["run_id"].as_str().unwrap_or_else(|| panic!("a run: {started}")).to_string();
    let token = format!("scalene-{run_id}");
    assert_eq!(client.expect_request("window/workDoneProgress/create", RUN_TIMEOUT)["token"], json!(token));
    client.expect_notification("$/progress", |params| params["token"] == token && params["value"]["kind"] == "begin", RUN_TIMEOUT);
    let statuses = statuses_to_end(&mut client, &run_id, Vec::new());
    for status in &statuses {
        assert_eq!((&status["kind"], &status["series"]["total"]), (&json!("repeat"), &json!(2)), "{status}");
        assert!([json!(1), json!(2)].contains(&status["series"]["current"]), "{status}");
    }
    let end = statuses.last().unwrap();
    assert_eq!((&end["status"], &end["series"]["current"]), (&json!("ok"), &json!(2)), "{end}");
    assert_reports_agree(&statuses, &follow(&mut client, run_id));

    // No profile: `failed`, with the error's kind.
    let broken = project.write("broken.py", "def broken(:\n    return 1\n");
    let broken_uri = client.open(&broken, "def broken(:\n    return 1\n");
    let (run_id, _) = start_profile(&mut client, &broken_uri, json!({}));
    let statuses = statuses_to_end(&mut client, &run_id, Vec::new());
    let end = statuses.last().unwrap();
    assert_eq!(
        (&end["status"], &end["error"], &end["summary"], end.get("hottest")),
        (&json!("failed"), &json!("syntax_error"), &json!("failed: syntax error"), None),
        "{end}"
    );
    assert_reports_agree(&statuses, &follow(&mut client, run_id));
}

#[test]
fn run_status_is_only_sent_to_clients_that_ask_for_it() {
    let project = TempProject::new();
    let program = project.write("app.py", &support::long_program(1.5));
    let mut client = start_in(&project, default_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    let uri = client.open(&program, &std::fs::read_to_string(&program).unwrap());
    let (run_id, begin) = start_profile(&mut client, &uri, json!({}));
    assert_eq!(begin["title"], "Scalene: profiling app.py", "{begin}");
    let run = follow(&mut client, run_id);
    assert!(!run.reports.is_empty(), "the program runs for more than a progress interval");
    assert!(run.end.starts_with("ok in "), "{}", run.end);
    // A request answered after the end proves that nothing else is on its way.
    client.request_ok("scalene/environment", json!({}));
    let report = client.report();
    assert!(!report.contains("scalene/runStatus"), "{report}");
}

#[test]
fn a_client_without_progress_support_still_gets_run_status() {
    let project = TempProject::new();
    let program = project.write("app.py", &support::long_program(1.5));
    let mut capabilities = run_status_capabilities();
    capabilities["window"] = json!({});
    let mut client = start_in(&project, capabilities);
    client.ignore("textDocument/publishDiagnostics");
    client.ignore("window/logMessage");
    let uri = client.open(&program, &std::fs::read_to_string(&program).unwrap());
    let started = client.execute_ok("scalene.profile", json!({"uri": uri}));
    let run_id = started["run_id"].as_str().unwrap().to_string();
    let statuses = statuses_to_end(&mut client, &run_id, Vec::new());
    assert_eq!(statuses[0]["phase"], "begin");
    assert!(statuses.iter().any(|status| status["phase"] == "report"), "reports without work-done progress: {statuses:#?}");
    assert!(statuses.last().unwrap()["summary"].as_str().unwrap().starts_with("ok in "), "{statuses:#?}");
    assert!(client.server_requests.iter().all(|request| request["method"] != "window/workDoneProgress/create"), "no progress was created");
}
