//! LSP latency, measured from a client over stdio against the real binary:
//! 1. inlay hints for 100-line ranges of a 5,000-line file whose every line has activity (the real
//!    Scalene profile fixtures/scalene/2.4.0/big_file.json, loaded): p50/p99 round trip, idle and while
//!    a real Scalene run is going, and while the same server is attached to a running process (py-spy,
//!    a snapshot every second);
//! 2. from `scalene.loadProfile` of a Scalene JSON to the first publishDiagnostics, per fixture;
//! 3. live runs: inlay hints while a live run writes a snapshot every second (against idle), and from
//!    a snapshot written into a live run's output file to `workspace/inlayHint/refresh`, per fixture.
//!
//! `cargo bench --bench lsp_latency` measures; under `cargo test` (no `--bench`) it runs a few
//! iterations only, to check that it works.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

// The end-to-end tests' client: the same framing, claiming and shutdown as the tests use.
#[allow(dead_code)]
#[path = "../tests/e2e/support/lsp_client.rs"]
mod lsp_client;

use lsp_client::LspClient;

/// A server on `root`, initialized like VS Code and Neovim: progress, and tooltips resolved lazily
/// (inlayHint/resolve). Notifications the benchmark does not look at are declared as such.
/// `SCALENE_LSP_BENCH_BIN=path` measures another build (e.g. an older commit's) with the same client.
fn start(initialization_options: Value, root: &std::path::Path) -> LspClient {
    let binary = std::env::var_os("SCALENE_LSP_BENCH_BIN").map(PathBuf::from);
    let mut client = match &binary {
        Some(binary) => LspClient::spawn_binary(binary, &["serve"], &[]),
        None => LspClient::spawn(),
    };
    for method in ["textDocument/publishDiagnostics", "window/showMessage", "window/logMessage"] {
        client.ignore(method);
    }
    let capabilities = json!({
        "window": {"workDoneProgress": true},
        "textDocument": {"inlayHint": {"resolveSupport": {"properties": ["tooltip"]}}},
    });
    client.initialize(Some(root), capabilities, initialization_options);
    client
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn hint_latencies(client: &mut LspClient, uri: &str, n_requests: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n_requests);
    for request in 0..n_requests {
        let start_line = (request * 397) % 4900;
        let range = json!({"start": {"line": start_line, "character": 0}, "end": {"line": start_line + 100, "character": 0}});
        let started = Instant::now();
        let hints = client.inlay_hints_in(uri, range);
        latencies.push(started.elapsed());
        assert!(hints.len() >= 95, "a 100-line range of big_file.py has ~100 hints: {}", hints.len());
    }
    latencies.sort();
    latencies
}

fn report(label: &str, latencies: &[Duration]) {
    println!(
        "{label}: n={} p50={:.3} ms p99={:.3} ms max={:.3} ms",
        latencies.len(),
        percentile(latencies, 0.50).as_secs_f64() * 1e3,
        percentile(latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let n_requests = if measuring { 2000 } else { 20 };
    let python = std::env::var_os("SCALENE_LSP_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| repo().join(".venv/bin/python"));
    let options = json!({"python": python, "hints": {"minCpuPercent": 0.0, "minPeakMb": 0.0}});

    // 1. Inlay hints on a 5,000-line file, idle and during a real Scalene run.
    let mut client = start(options.clone(), &repo());
    let loaded = client.execute_ok("scalene.loadProfile", json!({"path": repo().join("fixtures/scalene/2.4.0/big_file.json")}));
    assert_eq!(loaded["status"], "ok");
    // Open the file as the server sees it (the captured path, or its copy in this checkout).
    let big = PathBuf::from(loaded["files"][0].as_str().unwrap().strip_prefix("file://").unwrap());
    let uri = client.open(&big, &std::fs::read_to_string(&big).unwrap());
    hint_latencies(&mut client, &uri, n_requests / 10); // warm-up
    let idle = hint_latencies(&mut client, &uri, n_requests);
    report("inlay hints, 100-line ranges, idle", &idle);

    let busy_program = tempfile::Builder::new().prefix("scalene-lsp-bench-").tempdir().unwrap();
    let program = busy_program.path().join("busy.py");
    std::fs::write(&program, "import time\nend = time.time() + 120\nwhile time.time() < end:\n    sum(i * i for i in range(10_000))\n").unwrap();
    let program_uri = lsp_client::file_uri(&program);
    let mut busy_client = start(options, busy_program.path());
    let run = busy_client.execute_ok("scalene.profile", json!({"uri": program_uri}));
    let progress = |kind: &'static str| move |params: &Value| params["value"]["kind"] == kind;
    busy_client.expect_notification("$/progress", progress("report"), Duration::from_secs(120));
    let busy = hint_latencies(&mut client, &uri, n_requests);
    report("inlay hints, 100-line ranges, while Scalene profiles another program", &busy);
    busy_client.execute_ok("scalene.cancel", json!({"run_id": run["run_id"]}));
    busy_client.expect_notification("$/progress", progress("end"), Duration::from_secs(120));
    drop(busy_client);

    // The same, while a live run of that program refreshes its own editor at every snapshot (1 s).
    let mut live_client = start(json!({"python": python}), busy_program.path());
    let run = live_client.execute_ok("scalene.profile", json!({"uri": program_uri, "live": true}));
    let snapshot_shown = |params: &Value| params["value"]["message"].as_str().is_some_and(|message| message.contains("hottest so far"));
    live_client.expect_notification("$/progress", snapshot_shown, Duration::from_secs(120));
    let live = hint_latencies(&mut client, &uri, n_requests);
    report("inlay hints, 100-line ranges, while a live run snapshots every second", &live);
    println!(
        "live / idle: p50 {:.2}x, p99 {:.2}x",
        percentile(&live, 0.5).as_secs_f64() / percentile(&idle, 0.5).as_secs_f64(),
        percentile(&live, 0.99).as_secs_f64() / percentile(&idle, 0.99).as_secs_f64()
    );
    live_client.execute_ok("scalene.cancel", json!({"run_id": run["run_id"]}));
    live_client.expect_notification("$/progress", progress("end"), Duration::from_secs(120));
    drop(live_client);

    // The same server attached (py-spy at 100 Hz, a snapshot every second) to a program it did not start:
    // the sampler thread and the snapshots are in the process that answers.
    let mut target = std::process::Command::new(&python)
        .arg(repo().join("fixtures/programs/split_70_30.py"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(target.stdout.take().unwrap()), &mut ready).unwrap();
    let attach = client.execute_ok("scalene.attach", json!({"pid": target.id()}));
    let attached_shown = |params: &Value| params["value"]["message"].as_str().is_some_and(|message| message.contains(" samples"));
    client.expect_notification("$/progress", attached_shown, Duration::from_secs(60));
    let attached = hint_latencies(&mut client, &uri, n_requests);
    report("inlay hints, 100-line ranges, while this server is attached to a process (py-spy, 100 Hz)", &attached);
    println!(
        "attached / idle: p50 {:.2}x, p99 {:.2}x",
        percentile(&attached, 0.5).as_secs_f64() / percentile(&idle, 0.5).as_secs_f64(),
        percentile(&attached, 0.99).as_secs_f64() / percentile(&idle, 0.99).as_secs_f64()
    );
    client.execute_ok("scalene.cancel", json!({"run_id": attach["run_id"]}));
    client.expect_notification("$/progress", progress("end"), Duration::from_secs(60));
    let _ = target.kill();
    let _ = target.wait();
    drop(client);

    // 3. A snapshot written into a live run's output → the editor asked to refresh its hints. The run's
    // own interval is an hour, so only the snapshots written here appear; its run dir is found in a
    // private TMPDIR.
    let tmp = tempfile::Builder::new().prefix("scalene-lsp-bench-tmp-").tempdir().unwrap();
    let mut client = LspClient::spawn_with_env(&["serve"], &[("TMPDIR", tmp.path().to_str().unwrap())]);
    for method in ["textDocument/publishDiagnostics", "window/showMessage", "window/logMessage"] {
        client.ignore(method);
    }
    client.initialize(Some(busy_program.path()), json!({"window": {"workDoneProgress": true}, "workspace": {"inlayHint": {"refreshSupport": true}}}), json!({"python": python, "live": {"interval": 3600}}));
    let run = client.execute_ok("scalene.profile", json!({"uri": program_uri, "live": true}));
    let output = loop {
        let found = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|entry| entry.path()).find(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("scalene-lsp-run-") && !name.contains("-probe-") && std::fs::read(path.join("scalene-lsp-run.json")).is_ok_and(|record| !String::from_utf8_lossy(&record).contains("\"pgid\":null"))
        });
        if let Some(dir) = found {
            break dir.join("profile.json");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let rounds = if measuring { 20 } else { 2 };
    for name in ["cpu_bound", "memory_heavy", "multi_module", "leak"] {
        let bytes = std::fs::read(repo().join(format!("fixtures/scalene/2.4.0/{name}.json"))).unwrap();
        // The editor shows what a snapshot covers: open its first file, under the path it records.
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let recorded = PathBuf::from(raw["files"].as_object().unwrap().keys().next().unwrap());
        let here = scalene_lsp::engine::workspace::rebase(&recorded, &[repo()]).unwrap_or_else(|| recorded.clone());
        client.open(&recorded, &std::fs::read_to_string(&here).unwrap());
        let mut times = Vec::new();
        for _ in 0..rounds {
            // Apart, so every write is a snapshot of its own; timed from the start of the write (the watcher
            // may take it before the writer closes the file).
            std::thread::sleep(Duration::from_millis(50));
            client.forget_unclaimed();
            let written = Instant::now();
            std::fs::write(&output, &bytes).unwrap();
            client.expect_request("workspace/inlayHint/refresh", Duration::from_secs(60));
            times.push(written.elapsed());
        }
        times.sort();
        println!(
            "live snapshot written (from the start of the write) -> workspace/inlayHint/refresh, {name}.json ({} KB): median {:.2} ms, max {:.2} ms",
            bytes.len() / 1024,
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3
        );
    }
    client.execute_ok("scalene.cancel", json!({"run_id": run["run_id"]}));
    client.forget_unclaimed();
    drop(client);

    // 2. Scalene JSON → first publishDiagnostics.
    let rounds = if measuring { 20 } else { 2 };
    for name in ["cpu_bound", "memory_heavy", "multi_module", "leak", "many_modules", "big_file"] {
        let json_path = repo().join(format!("fixtures/scalene/2.4.0/{name}.json"));
        let raw: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
        let recorded = PathBuf::from(raw["files"].as_object().unwrap().keys().next().unwrap());
        // Where the server will show it: the recorded path, or its copy in this checkout.
        let first_file = scalene_lsp::engine::workspace::rebase(&recorded, &[repo()]).unwrap_or(recorded);
        let mut times = Vec::new();
        for _ in 0..rounds {
            // Threshold 0: a diagnostic on every active line (the worst case, and every file gets some).
            let mut client = start(json!({"diagnostics": {"cpuPercent": 0.0}}), &repo());
            let file_uri = client.open(&first_file, &std::fs::read_to_string(&first_file).unwrap());
            let started = Instant::now();
            client.execute_ok("scalene.loadProfile", json!({"path": json_path}));
            client.expect_diagnostics(&file_uri, |_| true, Duration::from_secs(120));
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "Scalene JSON -> first publishDiagnostics, {name}.json ({} KB): median {:.2} ms, max {:.2} ms",
            std::fs::metadata(&json_path).unwrap().len() / 1024,
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3
        );
    }
}
