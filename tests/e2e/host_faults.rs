//! Nothing left behind, whatever stops us: for the CLI, `serve` and `mcp --standalone`, each of SIGTERM,
//! SIGINT, SIGHUP and SIGKILL sent to scalene-lsp in the middle of a real Scalene run of a never-ending
//! program. Afterwards no process of the run exists and no run dir remains in the private TMPDIR (after
//! SIGKILL the run's watchdog does it, within its few seconds); and a run whose owner and watchdog both
//! died is swept by the next start.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

use crate::support::lsp_client::{LspClient, default_capabilities};
use crate::support::{self, TempProject};

const SIGNALS: [Signal; 4] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGKILL];
/// How long everything may take to disappear after the signal.
const CLEANUP: Duration = Duration::from_secs(10);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scalene-lsp")
}

/// A project with the never-ending program, a private TMPDIR, and a unique marker: the program's
/// argument (so its processes are found by it) and the file it writes once it runs under Scalene.
struct Scene {
    project: TempProject,
    tmp: tempfile::TempDir,
    marker: PathBuf,
}

impl Scene {
    fn new(label: &str) -> Scene {
        let project = TempProject::new();
        project.write("forever.py", &support::long_program(3600.0));
        let tmp = tempfile::Builder::new().prefix("scalene-lsp-faults-").tempdir().unwrap();
        let marker = project.path().join(format!("running-{label}-{}.txt", std::process::id()));
        Scene { project, tmp, marker }
    }

    fn program(&self) -> PathBuf {
        self.project.path().join("forever.py")
    }

    fn marker_text(&self) -> String {
        self.marker.display().to_string()
    }

    fn wait_until_running(&self, what: &str) {
        assert!(wait_for(Duration::from_secs(120), || self.marker.exists()), "{what}: the program never started under Scalene");
    }

    fn run_dirs(&self) -> Vec<String> {
        support::entries(self.tmp.path()).into_iter().filter(|name| name.starts_with("scalene-lsp-run-")).collect()
    }

    /// After the signal: within `CLEANUP`, no process carries the marker and no run dir is left.
    fn assert_nothing_left(&self, what: &str) {
        let clean = wait_for(CLEANUP, || support::processes_mentioning(&self.marker_text()).is_empty() && self.run_dirs().is_empty());
        assert!(
            clean,
            "{what}: left behind after {CLEANUP:?}: processes {:?}, run dirs {:?}",
            support::processes_mentioning(&self.marker_text()),
            self.run_dirs()
        );
    }
}

fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(pid: u32, signal: Signal) {
    kill(Pid::from_raw(pid as i32), signal).unwrap();
}

/// Reads a child's pipe to the end on a thread, so the child never blocks writing.
fn drain(pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(pipe), &mut text);
        text
    })
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_cli(scene: &Scene) -> Child {
    Command::new(bin())
        .args(["profile", "--mode", "cpu", "--python"])
        .arg(support::python())
        .arg(scene.program())
        .arg("--")
        .arg(&scene.marker)
        .env("TMPDIR", scene.tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_cli_leaves_nothing_behind_whatever_signal_stops_it() {
    for stop in SIGNALS {
        let scene = Scene::new(&format!("cli-{stop}"));
        let mut cli = start_cli(&scene);
        let stdout = drain(cli.stdout.take().unwrap());
        let stderr = drain(cli.stderr.take().unwrap());
        scene.wait_until_running(&format!("CLI, {stop}"));
        signal(cli.id(), stop);
        let status = wait_exit(&mut cli, CLEANUP).unwrap_or_else(|| panic!("CLI, {stop}: still running"));
        scene.assert_nothing_left(&format!("CLI, {stop}"));
        let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
        if stop == Signal::SIGKILL {
            assert!(stderr.contains("scalene-lsp watchdog: the process that started this run is gone"), "{stderr}");
        } else {
            // Stopped like a cancel: the partial profile is printed, and the exit code says it is partial.
            assert_eq!(status.code(), Some(1), "CLI, {stop}: {stderr}");
            assert!(stdout.contains("status cancelled"), "CLI, {stop}: {stdout}\n{stderr}");
        }
    }
}

#[test]
fn the_language_server_leaves_nothing_behind_whatever_signal_stops_it() {
    for stop in SIGNALS {
        let scene = Scene::new(&format!("serve-{stop}"));
        let tmp = scene.tmp.path().display().to_string();
        let runtime_dir = scene.tmp.path().join("runtime");
        let runtime_text = runtime_dir.display().to_string();
        let mut client = LspClient::spawn_with_env(&["serve"], &[("TMPDIR", tmp.as_str()), ("XDG_RUNTIME_DIR", runtime_text.as_str())]);
        for method in ["textDocument/publishDiagnostics", "window/showMessage", "window/logMessage"] {
            client.ignore(method);
        }
        client.initialize(Some(scene.project.path()), default_capabilities(), json!({"python": support::python()}));
        let text = std::fs::read_to_string(scene.program()).unwrap();
        let uri = client.open(&scene.program(), &text);
        client.execute_ok("scalene.profile", json!({"uri": uri, "mode": "cpu", "args": [scene.marker_text()]}));
        scene.wait_until_running(&format!("serve, {stop}"));
        let discovery = runtime_dir.join("scalene-lsp");
        let discovery_files = || if discovery.exists() { support::entries(&discovery) } else { Vec::new() };
        assert_eq!(discovery_files().len(), 1, "the MCP endpoint's discovery file");
        signal(client.pid(), stop);
        scene.assert_nothing_left(&format!("serve, {stop}"));
        if stop != Signal::SIGKILL {
            assert!(wait_for(CLEANUP, || discovery_files().is_empty()), "serve, {stop}: discovery file left: {:?}", discovery_files());
        }
        assert!(
            wait_for(CLEANUP, || support::processes_mentioning("__watchdog").iter().all(|pid| !cmdline(*pid).contains(&tmp))),
            "serve, {stop}: the watchdog is still running"
        );
        drop(client);
    }
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline")).map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " ")).unwrap_or_default()
}

/// `scalene-lsp mcp --standalone` with a minimal MCP client on stdio: initialize, then a `profile` call
/// that runs until the signal.
#[test]
fn the_standalone_mcp_server_leaves_nothing_behind_whatever_signal_stops_it() {
    for stop in SIGNALS {
        let scene = Scene::new(&format!("mcp-{stop}"));
        let mut server = Command::new(bin())
            .args(["mcp", "--standalone", "--python"])
            .arg(support::python())
            .current_dir(scene.project.path())
            .env("TMPDIR", scene.tmp.path())
            .env("XDG_RUNTIME_DIR", scene.tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = server.stdin.take().unwrap();
        let mut stdout = BufReader::new(server.stdout.take().unwrap());
        let stderr = drain(server.stderr.take().unwrap());
        let mut send = |message: serde_json::Value| {
            writeln!(stdin, "{message}").unwrap();
            stdin.flush().unwrap();
        };
        send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "faults", "version": "1"}}}));
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains("\"result\""), "mcp, {stop}: {line}");
        send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "profile", "arguments": {"path": "forever.py", "mode": "cpu", "args": [scene.marker_text()]}}}));
        let reader = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
            rest
        });
        scene.wait_until_running(&format!("mcp, {stop}"));
        signal(server.id(), stop);
        let status = wait_exit(&mut server, CLEANUP);
        scene.assert_nothing_left(&format!("mcp, {stop}"));
        assert!(status.is_some(), "mcp, {stop}: the server did not exit: {}", stderr.join().unwrap());
        let _ = reader.join();
    }
}

/// The owner and its watchdog both killed (say, by the OOM killer): the run goes on, orphaned, until the
/// next scalene-lsp starts; that start stops it and removes its run dir at once.
#[test]
fn the_next_start_sweeps_a_run_whose_owner_and_watchdog_died() {
    let scene = Scene::new("sweep");
    let mut cli = start_cli(&scene);
    let _stdout = drain(cli.stdout.take().unwrap());
    let _stderr = drain(cli.stderr.take().unwrap());
    scene.wait_until_running("sweep");
    let tmp = scene.tmp.path().display().to_string();
    let watchdogs: Vec<u32> =
        support::processes_mentioning("__watchdog").into_iter().filter(|pid| cmdline(*pid).contains(&tmp)).collect();
    assert_eq!(watchdogs.len(), 1, "one watchdog for the run");
    signal(watchdogs[0], Signal::SIGKILL);
    signal(cli.id(), Signal::SIGKILL);
    let _ = cli.wait();
    std::thread::sleep(Duration::from_secs(1));
    assert!(!support::processes_mentioning(&scene.marker_text()).is_empty(), "the orphaned run is still going");
    assert_eq!(scene.run_dirs().len(), 1);
    // Any start of scalene-lsp sweeps: here `doctor`.
    let output = Command::new(bin()).arg("doctor").arg("--python").arg(support::python()).env("TMPDIR", scene.tmp.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    scene.assert_nothing_left("the sweep at the next start");
}

/// A SIGKILL while the first run verifies the start-up shortcut (the probe run, `engine/run/startup.rs`):
/// the watchdog stops the probe's Scalene, and the probe's own folder, which only the killed process
/// would have removed, is swept by the next start at once (it names its owner, who is gone).
#[test]
fn the_next_start_sweeps_the_start_up_probe_of_a_killed_owner() {
    let scene = Scene::new("probe");
    // A fresh preflight store: the first run must verify the shortcut.
    let cache = tempfile::tempdir().unwrap();
    let mut cli = Command::new(bin())
        .args(["profile", "--mode", "cpu", "--python"])
        .arg(support::python())
        .arg(scene.program())
        .arg("--")
        .arg(&scene.marker)
        .env("TMPDIR", scene.tmp.path())
        .env("XDG_CACHE_HOME", cache.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let probe_dirs = || scene.run_dirs().into_iter().filter(|name| name.contains("-probe-")).collect::<Vec<_>>();
    assert!(wait_for(Duration::from_secs(120), || !probe_dirs().is_empty()), "the probe never started");
    signal(cli.id(), Signal::SIGKILL);
    let _ = cli.wait();
    let probe_processes = || support::processes_mentioning("scalene_lsp_probe.py").into_iter().filter(|pid| cmdline(*pid).contains(&scene.tmp.path().display().to_string())).collect::<Vec<_>>();
    assert!(wait_for(CLEANUP, || probe_processes().is_empty()), "the probe's Scalene outlived its owner: {:?}", probe_processes());
    assert_eq!(probe_dirs().len(), 1, "the killed owner could not remove its probe folder: {:?}", scene.run_dirs());
    assert!(!scene.marker.exists(), "the program never started");

    let output = Command::new(bin()).arg("doctor").arg("--python").arg(support::python()).env("TMPDIR", scene.tmp.path()).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    scene.assert_nothing_left("the sweep of the probe folder at the next start");
}

/// A program that starts a daemon (`subprocess.Popen(..., start_new_session=True)`: `setsid` in the
/// child, stdio to /dev/null; a shell whose command line carries the marker, waiting on a `sleep`) and
/// then works for a while. The daemon has left the run's process group and session, so no group signal
/// reaches it: it is found by the run's TMPDIR in its environment and killed with the run, when the run
/// ends on its own and when scalene-lsp is SIGKILLed (then by the run's watchdog).
const DAEMONISING: &str = r#"import subprocess, sys, time
marker = sys.argv[1]
null = subprocess.DEVNULL
subprocess.Popen(["sh", "-c", "sleep 600; true", marker + ".daemon"], start_new_session=True, stdin=null, stdout=null, stderr=null)
with open(marker, "w") as f:
    f.write("started")
end = time.time() + float(sys.argv[2])
total = 0
while time.time() < end:
    total += 1
"#;

#[test]
fn a_daemon_started_by_the_program_is_gone_with_its_run() {
    for (seconds, stop) in [("6", None), ("3600", Some(Signal::SIGKILL))] {
        let scene = Scene::new(&format!("daemon-{}", stop.map_or("exit".to_string(), |s| s.to_string())));
        let program = scene.project.write("daemonising.py", DAEMONISING);
        let mut cli = Command::new(bin())
            .args(["profile", "--mode", "cpu", "--python"])
            .arg(support::python())
            .arg(&program)
            .arg("--")
            .arg(&scene.marker)
            .arg(seconds)
            .env("TMPDIR", scene.tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = drain(cli.stderr.take().unwrap());
        let what = format!("daemon, run ended by {}", stop.map_or("its program".to_string(), |s| s.to_string()));
        scene.wait_until_running(&what);
        let daemon = format!("{}.daemon", scene.marker_text());
        assert!(wait_for(Duration::from_secs(10), || !support::processes_mentioning(&daemon).is_empty()), "{what}: the daemon never started");
        if let Some(stop) = stop {
            signal(cli.id(), stop);
        }
        let status = wait_exit(&mut cli, Duration::from_secs(120)).unwrap_or_else(|| panic!("{what}: the CLI did not end"));
        let stderr = stderr.join().unwrap();
        if stop.is_none() {
            assert!(status.success(), "{what}: {stderr}");
        }
        assert!(
            wait_for(CLEANUP, || support::processes_mentioning(&daemon).is_empty()),
            "{what}: the daemon outlived its run: {:?}",
            support::processes_mentioning(&daemon)
        );
        scene.assert_nothing_left(&what);
    }
}
