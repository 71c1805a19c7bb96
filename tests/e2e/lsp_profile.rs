//! `scalene.profile` through the LSP server with real Scalene: progress, then diagnostics, hints, code
//! actions, lenses and hover; failures; cancel (docs/lsp.md: Commands, Progress, After a profile lands).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::lsp_client::{LspClient, TIMEOUT, default_capabilities, encoded_len};
use crate::support::{self, TempProject};

/// How long a whole run of real Scalene may take (the machine may be busy).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// A server on `project` whose settings name the test interpreter.
pub fn start_in(project: &TempProject, capabilities: Value) -> LspClient {
    let mut client = LspClient::spawn();
    client.initialize(Some(project.path()), capabilities, json!({"python": support::python()}));
    client
}

/// The `$/progress` notifications of one run.
pub struct Run {
    pub run_id: String,
    pub reports: Vec<String>,
    pub end: String,
}

fn next_progress(client: &mut LspClient, token: &str, timeout: Duration) -> Value {
    client.expect_notification("$/progress", |params| params["token"] == token, timeout)["value"].clone()
}

/// Starts `scalene.profile` on `uri` (with `extra` merged into the argument object), checks that it answers
/// `{run_id}` at once and that progress is created with the documented token, and returns the begin.
pub fn start_profile(client: &mut LspClient, uri: &str, extra: Value) -> (String, Value) {
    let mut argument = json!({"uri": uri});
    for (key, value) in extra.as_object().into_iter().flatten() {
        argument[key] = value.clone();
    }
    let result = client.execute_ok("scalene.profile", argument);
    let run_id = result["run_id"].as_str().unwrap_or_else(|| panic!("{{run_id}}: {result}")).to_string();
    assert!(run_id.starts_with("run-"), "{run_id}");
    let token = format!("scalene-{run_id}");
    let create = client.expect_request("window/workDoneProgress/create", TIMEOUT);
    assert_eq!(create["token"], json!(token));
    let begin = next_progress(client, &token, TIMEOUT);
    assert_eq!(begin["kind"], json!("begin"), "{begin}");
    (run_id, begin)
}

/// Follows a run's progress to its end.
pub fn follow(client: &mut LspClient, run_id: String) -> Run {
    let token = format!("scalene-{run_id}");
    let mut reports = Vec::new();
    loop {
        let value = next_progress(client, &token, RUN_TIMEOUT);
        match value["kind"].as_str() {
            Some("report") => reports.push(value["message"].as_str().unwrap_or("").to_string()),
            Some("end") => {
                let end = value["message"].as_str().unwrap_or_else(|| panic!("an end message: {value}")).to_string();
                return Run { run_id, reports, end };
            }
            _ => panic!("unexpected progress {value}"),
        }
    }
}

/// Profiles `uri` and waits for the end of the run: (run_id, end message).
pub fn profile_and_wait(client: &mut LspClient, uri: &str, extra: Value) -> (String, String) {
    let (run_id, _) = start_profile(client, uri, extra);
    let run = follow(client, run_id);
    (run.run_id, run.end)
}

/// The number in front of `suffix` at the start of `text` (`"31.2% CPU · 2.0 MB"`, `"% CPU"` → 31.2).
fn leading_number(text: &str, suffix: &str) -> Option<f64> {
    text.split_once(suffix)?.0.trim().parse().ok()
}

#[test]
fn a_profile_run_reports_progress_then_annotates_the_file() {
    let project = TempProject::new();
    let text = std::fs::read_to_string(support::program("cpu_bound.py")).unwrap();
    let program = project.write("cpu_bound.py", &text);
    let mut client = start_in(&project, default_capabilities());
    let uri = client.open(&program, &text);

    let (run_id, begin) = start_profile(&mut client, &uri, json!({}));
    assert!(begin["title"].as_str().unwrap().contains("Scalene: profiling cpu_bound.py"), "{begin}");
    assert_eq!(begin["cancellable"], json!(true), "{begin}");
    let run = follow(&mut client, run_id);
    for report in &run.reports {
        assert!(leading_number(report, " s").is_some(), "reports say `<N> s`: {report:?}");
    }
    assert!(run.end.starts_with("ok"), "{}", run.end);
    assert!(run.end.contains("cpu_bound.py:"), "names the hottest line: {}", run.end);

    let diagnostics = client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    assert!(diagnostics.iter().all(|d| d["source"] == "scalene"), "{diagnostics:#?}");
    assert!(diagnostics.iter().any(|d| d["code"] == "cpu-hotspot"), "{diagnostics:#?}");
    client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    client.expect_request("workspace/codeLens/refresh", TIMEOUT);

    // Hints sit at line ends and agree with the diagnostics.
    let lines: Vec<&str> = text.lines().collect();
    let hints = client.inlay_hints(&uri, &text);
    assert!(!hints.is_empty());
    let mut hinted = Vec::new();
    for hint in &hints {
        let line = hint["position"]["line"].as_u64().unwrap();
        let label = hint["label"].as_str().unwrap();
        assert_eq!(hint["position"]["character"].as_u64(), Some(encoded_len(lines[line as usize], "utf-16")), "{hint}");
        let cpu = leading_number(label, "% CPU");
        let peak = label.rsplit(' ').nth(1).filter(|_| label.ends_with(" MB")).and_then(|n| n.parse::<f64>().ok());
        assert!(cpu.is_some_and(|c| c >= 1.0) || peak.is_some_and(|p| p >= 1.0), "a hint above the thresholds: {label}");
        hinted.push((line, cpu));
    }
    assert!(hinted.iter().any(|(line, _)| [6, 7, 12, 14].contains(line)), "a hot loop line is hinted: {hinted:?}");
    for diagnostic in diagnostics.iter().filter(|d| d["code"] == "cpu-hotspot") {
        let line = diagnostic["range"]["start"]["line"].as_u64().unwrap();
        let message = diagnostic["message"].as_str().unwrap();
        let cpu = leading_number(message, "% of CPU time").unwrap_or_else(|| panic!("{message}"));
        assert!(cpu >= 10.0, "{message}");
        assert_eq!(hinted.iter().find(|(l, _)| *l == line).map(|h| h.1), Some(Some(cpu)), "hint and diagnostic on line {line}");
    }
    // A hint shows one decimal: "10.0% CPU" may be 9.96 %, under the diagnostics' 10 % (seen under load).
    for (line, cpu) in &hinted {
        if cpu.is_some_and(|cpu| cpu >= 10.05) {
            let found = diagnostics.iter().any(|d| d["code"] == "cpu-hotspot" && d["range"]["start"]["line"] == *line);
            assert!(found, "line {line} at {cpu:?}% CPU has a cpu-hotspot diagnostic: {diagnostics:#?}");
        }
    }

    let actions = client.code_actions(&uri, 0);
    let titles: Vec<&str> = actions.iter().map(|a| a["title"].as_str().unwrap()).collect();
    for title in ["Profile this file with Scalene", "Profile this file with Scalene (CPU only)", "Clear profile"] {
        assert!(titles.contains(&title), "{title}: {titles:?}");
    }
    assert!(!titles.contains(&"Cancel profiling"), "no run is going: {titles:?}");
    for action in &actions {
        let command = action["command"]["command"].as_str().or(action["command"].as_str()).unwrap_or("");
        assert!(command.starts_with("scalene."), "{action}");
    }

    let lenses = client.code_lenses(&uri);
    let on_line = |line: u64| lenses.iter().filter(move |lens| lens["range"]["start"]["line"] == line);
    let function_lens = on_line(4).find_map(|lens| lens["command"]["title"].as_str()).expect("a lens on `def python_loop`");
    assert!(leading_number(function_lens, "% CPU").is_some_and(|cpu| cpu > 0.0), "{function_lens}");
    let run_lens = on_line(19).find(|lens| lens["command"]["title"] == "▶ Profile with Scalene").expect("a lens on the main guard");
    assert_eq!(run_lens["command"]["command"], json!("scalene.profile"));
    assert_eq!(run_lens["command"]["arguments"][0]["uri"], json!(uri));

    let (hot_line, _) = hinted.iter().max_by(|a, b| a.1.unwrap_or(0.0).total_cmp(&b.1.unwrap_or(0.0))).unwrap();
    let hover = client.hover(&uri, *hot_line, 4).expect("a hover on a hinted line");
    assert!(hover.contains("CPU") && hover.contains("|---"), "a markdown table of the line's metrics: {hover}");
}

/// A run from the editor has the priority a run from the terminal has: at a lower one (the server ran
/// programs at niceness 19) a program starves behind any other busy process, and an editor's profile
/// would not compare with a terminal's.
#[test]
fn the_editors_run_has_the_callers_priority() {
    let project = TempProject::new();
    let text = "import os, sys\nwith open(sys.argv[0] + '.nice', 'w') as f:\n    f.write(str(os.nice(0)))\nprint(sum(i * i for i in range(2_000_000)))\n";
    let program = project.write("nice.py", text);
    let mut client = start_in(&project, default_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    let uri = client.open(&program, text);
    let (_, end) = profile_and_wait(&mut client, &uri, json!({"mode": "cpu"}));
    assert!(end.starts_with("ok"), "{end}");
    let nice = std::fs::read_to_string(project.path().join("nice.py.nice")).unwrap();
    let own = nix::unistd::Pid::this();
    // SAFETY: getpriority only reads this process's niceness.
    let caller = unsafe { nix::libc::getpriority(nix::libc::PRIO_PROCESS, own.as_raw() as nix::libc::id_t) };
    assert_eq!(nice.trim().parse::<i32>().unwrap(), caller);
}

#[test]
fn a_program_that_cannot_run_gives_an_error_message_with_the_reason() {
    let project = TempProject::new();
    let text = std::fs::read_to_string(support::program("syntax_error.py")).unwrap();
    let program = project.write("syntax_error.py", &text);
    let mut client = start_in(&project, default_capabilities());
    let uri = client.open(&program, &text);
    client.execute_ok("scalene.profile", json!({"uri": uri}));
    let shown = client.expect_notification("window/showMessage", |params| params["type"] == 1, RUN_TIMEOUT);
    let message = shown["message"].as_str().unwrap();
    assert!(message.contains("syntax error"), "{message}");
    assert!(client.inlay_hints(&uri, &text).is_empty());
}

#[test]
fn a_program_that_raises_is_profiled_and_its_stderr_is_logged() {
    let project = TempProject::new();
    let text = std::fs::read_to_string(support::program("raises.py")).unwrap();
    let program = project.write("raises.py", &text);
    let mut client = start_in(&project, default_capabilities());
    let uri = client.open(&program, &text);
    let (_, end) = profile_and_wait(&mut client, &uri, json!({"mode": "cpu"}));
    assert!(end.starts_with("program_failed") || end.contains("fail"), "{end}");
    let logged = client.expect_notification(
        "window/logMessage",
        |params| params["message"].as_str().is_some_and(|m| m.contains("RuntimeError: deliberate failure after the work")),
        TIMEOUT,
    );
    assert!(!logged["message"].as_str().unwrap().contains("scalene_profiler.py"), "{logged}");
    let warning = client.expect_notification("window/showMessage", |params| params["type"] == 2, TIMEOUT);
    let warning = warning["message"].as_str().unwrap();
    assert!(
        warning.contains("program_failed") && warning.contains("exited with code 1") && warning.contains("up to the failure"),
        "the user is told the run failed and what the profile covers: {warning}"
    );
    client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    let hints = client.inlay_hints(&uri, &text);
    assert!(hints.iter().any(|hint| [5, 6].contains(&hint["position"]["line"].as_u64().unwrap())), "the profile up to the crash ({end}): {hints:#?}\n{}", client.report());
}

/// Spins for about 60 s; writes the file named by its argument once it runs (under Scalene).
fn long_program() -> String {
    support::long_program(60.0)
}

/// Starts `long_program()` and waits until it has been running under Scalene for a few progress reports;
/// returns the run id.
fn start_long_run(client: &mut LspClient, project: &TempProject, uri: &str) -> String {
    let marker = project.path().join("running.txt");
    let _ = std::fs::remove_file(&marker);
    let (run_id, _) = start_profile(client, uri, json!({"args": [marker]}));
    let token = format!("scalene-{run_id}");
    let mut reports_since_start = 0;
    while reports_since_start < 3 {
        let value = next_progress(client, &token, RUN_TIMEOUT);
        assert_eq!(value["kind"], json!("report"), "the run ended before it could be cancelled: {value}");
        if marker.exists() {
            reports_since_start += 1;
        }
    }
    run_id
}

/// After a cancel: the progress ends as cancelled, the partial profile is shown, no process is left.
fn assert_cancelled(client: &mut LspClient, program: &str, uri: &str, run_id: String) {
    let end = follow(client, run_id).end;
    assert!(end.contains("cancelled"), "{end}");
    let warning = client.expect_notification("window/showMessage", |params| params["type"] == 2, TIMEOUT);
    assert!(warning["message"].as_str().unwrap().contains("the run was cancelled; the profile covers the run up to then"), "{warning}");
    client.expect_diagnostics(uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    let hints = client.inlay_hints(uri, &long_program());
    let lines: Vec<u64> = hints.iter().map(|hint| hint["position"]["line"].as_u64().unwrap()).collect();
    assert!(
        lines.iter().any(|line| [6, 7].contains(line)),
        "the partial profile shows on spin()'s loop (end: {end}): {hints:#?}\n{}",
        client.report()
    );
    let hover = client.hover(uri, lines[0], 4).expect("a hover on a hinted line");
    assert!(hover.contains("cancelled"), "the hover gives the profile's status: {hover}");
    assert!(support::processes_mentioning(program).is_empty(), "a process of the run survived the cancel");
}

/// One test for both ways to cancel, so that two cancelled runs never overlap.
#[test]
fn cancelling_a_run_stops_it_and_keeps_the_partial_profile() {
    let project = TempProject::new();
    let program = project.write("forever.py", &long_program());
    let mut client = start_in(&project, default_capabilities());
    let uri = client.open(&program, &long_program());
    let program = program.to_str().unwrap().to_string();

    // The progress's cancel button: window/workDoneProgress/cancel with the run's token.
    let run_id = start_long_run(&mut client, &project, &uri);
    client.notify("window/workDoneProgress/cancel", json!({"token": format!("scalene-{run_id}")}));
    assert_cancelled(&mut client, &program, &uri, run_id);

    // The `Cancel profiling` code action, offered while the run goes on: scalene.cancel. (Cleared first,
    // so the hints checked below can only come from the second run.)
    assert_eq!(client.execute_ok("scalene.clear", json!({"uri": uri})), json!({"cleared": 1}));
    client.expect_diagnostics(&uri, <[Value]>::is_empty, TIMEOUT);
    client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    assert!(client.inlay_hints(&uri, &long_program()).is_empty());
    let run_id = start_long_run(&mut client, &project, &uri);
    let actions = client.code_actions(&uri, 0);
    let cancel = actions.iter().find(|a| a["title"] == "Cancel profiling").unwrap_or_else(|| panic!("{actions:#?}"));
    assert_eq!(cancel["command"]["command"], json!("scalene.cancel"));
    let argument = cancel["command"]["arguments"][0].clone();
    assert_eq!(client.execute_ok("scalene.cancel", argument), json!({"cancelled": true}));
    assert_cancelled(&mut client, &program, &uri, run_id);
    assert_eq!(client.execute_ok("scalene.cancel", json!({})), json!({"cancelled": false}), "nothing left to cancel");
    let titles: Vec<Value> = client.code_actions(&uri, 0).iter().map(|a| a["title"].clone()).collect();
    assert!(!titles.contains(&json!("Cancel profiling")), "{titles:?}");
}
