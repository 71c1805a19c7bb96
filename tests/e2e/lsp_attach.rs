//! `scalene.listProcesses` and `scalene.attach` from the editor, against a real Python process the test
//! starts in the workspace: the process listed first, progress that names the pid and the samples,
//! hints on the target's lines, cancel detaching with the target still running, refusals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::lsp_profile::start_in;
use crate::support::lsp_client::{LspClient, TIMEOUT, default_capabilities};
use crate::support::{self, TempProject};

const ATTACH_TIMEOUT: Duration = Duration::from_secs(60);

/// The 70/30 fixture copied into `project` and started there; killed on drop.
struct Target(Child);

impl Target {
    fn start(project: &TempProject) -> (Target, std::path::PathBuf, String) {
        let text = std::fs::read_to_string(support::program("split_70_30.py")).unwrap();
        let path = project.write("split.py", &text);
        let mut child = Command::new(support::python()).arg(&path).current_dir(project.path()).stdout(Stdio::piped()).spawn().unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), "ready");
        (Target(child), path, text)
    }

    fn state(&self) -> char {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).unwrap();
        stat.rsplit_once(')').unwrap().1.trim_start().chars().next().unwrap()
    }

    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// Still running and using CPU (not stopped).
    fn keeps_going(&self) -> bool {
        let before = self.cpu_ticks();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            if self.cpu_ticks() > before && !matches!(self.state(), 'T' | 't') {
                return true;
            }
        }
        false
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn progress_of(client: &mut LspClient, token: &str, kind: &str) -> Value {
    client.expect_notification("$/progress", |params| params["token"] == token && params["value"]["kind"] == kind, ATTACH_TIMEOUT)["value"].clone()
}

#[test]
fn attaching_from_the_editor_lists_the_process_reports_samples_and_hints_its_lines() {
    let project = TempProject::new();
    let (target, path, text) = Target::start(&project);
    let pid = target.0.id();
    let mut client = start_in(&project, default_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    client.ignore("workspace/inlayHint/refresh");
    client.ignore("workspace/codeLens/refresh");
    client.ignore("workspace/semanticTokens/refresh");
    client.ignore("scalene/runStatus");

    let listed = client.execute_ok("scalene.listProcesses", json!({}));
    let processes = listed["processes"].as_array().unwrap();
    assert_eq!(processes[0]["pid"], json!(pid), "the workspace's process comes first: {listed}");
    assert_eq!(processes[0]["in_workspace"], json!(true));

    let uri = client.open(&path, &text);
    let started = client.execute_ok("scalene.attach", json!({"pid": pid, "duration": 4}));
    let run_id = started["run_id"].as_str().unwrap().to_string();
    let token = format!("scalene-{run_id}");
    let create = client.expect_request("window/workDoneProgress/create", TIMEOUT);
    assert_eq!(create["token"], json!(token));
    let begin = progress_of(&mut client, &token, "begin");
    assert_eq!(begin["title"], json!(format!("Scalene: attached to {pid} (py-spy)")));
    let report = progress_of(&mut client, &token, "report");
    let message = report["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("attached to {pid} (")) && message.contains(" samples"), "{message}");
    // Attaching twice at once is refused.
    let twice = client.execute("scalene.attach", json!({"pid": pid})).expect_err("a second attach");
    assert!(twice["message"].as_str().unwrap().contains("already attached"), "{twice}");
    let end = progress_of(&mut client, &token, "end");
    let summary = end["message"].as_str().unwrap();
    assert!(summary.starts_with(&format!("detached from {pid} after ")) && summary.contains(" py-spy samples · hottest: ") && summary.contains("% of samples)"), "{summary}");
    let heavy_line = text.lines().position(|line| line.contains("n += i % 7")).unwrap() as u64;
    let hints = client.inlay_hints(&uri, &text);
    assert!(hints.iter().any(|hint| hint["position"]["line"] == json!(heavy_line)), "heavy's loop line has a hint: {hints:#?}");
    // The hover says whose numbers these are.
    let hover = client.hover(&uri, heavy_line, 8).expect("a hover on heavy's loop line");
    assert!(hover.starts_with("**py-spy** · line") && hover.contains(&format!("pid {pid}")) && hover.contains("did not start"), "{hover}");
    assert!(!hover.contains("CPU: system"), "no Scalene-only rows: {hover}");
    // Hotspot diagnostics speak of py-spy's samples, without Scalene's system time.
    let diagnostics = client.expect_diagnostics(&uri, |list| list.iter().any(|diagnostic| diagnostic["code"] == "cpu-hotspot"), TIMEOUT);
    let hotspot = diagnostics.iter().find(|diagnostic| diagnostic["code"] == "cpu-hotspot").unwrap()["message"].as_str().unwrap().to_string();
    assert!(hotspot.contains("of py-spy's samples (wall clock") && !hotspot.contains("system"), "{hotspot}");
    assert!(target.keeps_going(), "the target runs on after the attach");
    client.forget_unclaimed();
}

#[test]
fn cancel_detaches_and_the_target_keeps_running_and_bad_pids_are_refused() {
    let project = TempProject::new();
    let (target, _, _) = Target::start(&project);
    let pid = target.0.id();
    let mut client = start_in(&project, default_capabilities());
    client.ignore("textDocument/publishDiagnostics");
    client.ignore("scalene/runStatus");
    let started = client.execute_ok("scalene.attach", json!({"pid": pid}));
    let run_id = started["run_id"].as_str().unwrap().to_string();
    let token = format!("scalene-{run_id}");
    client.expect_request("window/workDoneProgress/create", TIMEOUT);
    progress_of(&mut client, &token, "report");
    assert_eq!(client.execute_ok("scalene.cancel", json!({"run_id": run_id}))["cancelled"], json!(true));
    progress_of(&mut client, &token, "end");
    assert!(target.keeps_going(), "the target runs on after cancel");
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let refused = client.execute("scalene.attach", json!({"pid": gone.id()})).expect_err("no such process");
    assert!(refused["message"].as_str().unwrap().contains("no such process"), "{refused}");
    let refused = client.execute("scalene.attach", json!({"pid": pid, "duration": 0})).expect_err("a zero duration");
    assert!(refused["message"].as_str().unwrap().contains("duration"), "{refused}");
    let refused = client.execute("scalene.attach", json!({"pid": pid, "thread": ""})).expect_err("an empty thread");
    assert!(refused["message"].as_str().unwrap().contains("`thread` needs a thread's name or id"), "{refused}");
    let refused = client.execute("scalene.attach", json!({"pid": 0})).expect_err("pid 0");
    assert!(refused["message"].as_str().unwrap().contains("not a process id"), "{refused}");
    // After the cancel and every refusal nothing is left attached: a new attach is not "already attached".
    let again = client.execute_ok("scalene.attach", json!({"pid": pid, "duration": 0.5}));
    let token = format!("scalene-{}", again["run_id"].as_str().unwrap());
    client.expect_request("window/workDoneProgress/create", TIMEOUT);
    progress_of(&mut client, &token, "end");
    assert!(target.keeps_going(), "the target runs on after the refusals");
    client.forget_unclaimed();
}
