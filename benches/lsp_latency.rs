//! LSP latency, measured from a client over stdio against the real binary:
//! 1. inlay hints for 100-line ranges of a 5,000-line file whose every line has activity (the real
//!    Scalene profile fixtures/scalene/2.4.0/big_file.json, loaded): p50/p99 round trip, idle and while
//!    a real Scalene run is going;
//! 2. from `scalene.loadProfile` of a Scalene JSON to the first publishDiagnostics, per fixture.
//!
//! `cargo bench --bench lsp_latency` measures; under `cargo test` (no `--bench`) it runs a few
//! iterations only, to check that it works.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    backlog: VecDeque<Value>,
    next_id: i64,
}

impl Client {
    fn start(initialization_options: Value, root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scalene-lsp"))
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, incoming) = channel();
        std::thread::spawn(move || {
            loop {
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if stdout.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(value) = header.strip_prefix("Content-Length:") {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                stdout.read_exact(&mut body).unwrap();
                if sender.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let mut client = Client { child, stdin, incoming, backlog: VecDeque::new(), next_id: 1 };
        let root_uri = format!("file://{}", root.display());
        client.request(
            "initialize",
            json!({
                // Like VS Code and Neovim: tooltips are resolved lazily (inlayHint/resolve).
                "capabilities": {
                    "window": {"workDoneProgress": true},
                    "textDocument": {"inlayHint": {"resolveSupport": {"properties": ["tooltip"]}}},
                },
                "rootUri": root_uri,
                "initializationOptions": initialization_options,
            }),
        );
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(&body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Next message, answering the server's own requests (progress creation) on the way.
    fn next(&mut self, timeout: Duration) -> Value {
        if let Some(message) = self.backlog.pop_front() {
            return message;
        }
        match self.incoming.recv_timeout(timeout) {
            Ok(message) => {
                if message.get("method").is_some() && message.get("id").is_some() {
                    self.send(&json!({"jsonrpc": "2.0", "id": message["id"], "result": null}));
                }
                message
            }
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server within {timeout:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its stdout"),
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let mut others = Vec::new();
        let response = loop {
            let message = self.next(Duration::from_secs(60));
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                break message;
            }
            others.push(message);
        };
        self.backlog.extend(others);
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    fn wait_for(&mut self, predicate: impl Fn(&Value) -> bool) -> Value {
        let mut skipped = Vec::new();
        let found = loop {
            let message = self.next(Duration::from_secs(120));
            if predicate(&message) {
                break message;
            }
            skipped.push(message);
        };
        self.backlog.extend(skipped);
        found
    }

    fn open(&mut self, path: &Path) -> String {
        let uri = format!("file://{}", path.display());
        let text = std::fs::read_to_string(path).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        );
        uri
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "shutdown"}));
        let _ = self.incoming.recv_timeout(Duration::from_secs(10));
        self.notify("exit", json!(null));
        let _ = self.child.wait();
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn hint_latencies(client: &mut Client, uri: &str, n_requests: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n_requests);
    for request in 0..n_requests {
        let start_line = (request * 397) % 4900;
        let params = json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": start_line, "character": 0}, "end": {"line": start_line + 100, "character": 0}},
        });
        let started = Instant::now();
        let hints = client.request("textDocument/inlayHint", params);
        latencies.push(started.elapsed());
        assert!(hints.as_array().unwrap().len() >= 95, "a 100-line range of big_file.py has ~100 hints: {}", hints);
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
    let mut client = Client::start(options.clone(), &repo());
    let loaded = client.request(
        "workspace/executeCommand",
        json!({"command": "scalene.loadProfile", "arguments": [{"path": repo().join("fixtures/scalene/2.4.0/big_file.json")}]}),
    );
    assert_eq!(loaded["status"], "ok");
    // Open the file as the server sees it (the captured path, or its copy in this checkout).
    let big = PathBuf::from(loaded["files"][0].as_str().unwrap().strip_prefix("file://").unwrap());
    let uri = client.open(&big);
    hint_latencies(&mut client, &uri, n_requests / 10); // warm-up
    let idle = hint_latencies(&mut client, &uri, n_requests);
    report("inlay hints, 100-line ranges, idle", &idle);

    let busy_program = tempfile::Builder::new().prefix("scalene-lsp-bench-").tempdir().unwrap();
    let program = busy_program.path().join("busy.py");
    std::fs::write(&program, "import time\nend = time.time() + 120\nwhile time.time() < end:\n    sum(i * i for i in range(10_000))\n").unwrap();
    let program_uri = format!("file://{}", program.display());
    let mut busy_client = Client::start(options, busy_program.path());
    let run = busy_client.request("workspace/executeCommand", json!({"command": "scalene.profile", "arguments": [{"uri": program_uri}]}));
    busy_client.wait_for(|message| message["method"] == "$/progress" && message["params"]["value"]["kind"] == "report");
    let busy = hint_latencies(&mut client, &uri, n_requests);
    report("inlay hints, 100-line ranges, while Scalene profiles another program", &busy);
    busy_client.request("workspace/executeCommand", json!({"command": "scalene.cancel", "arguments": [{"run_id": run["run_id"]}]}));
    busy_client.wait_for(|message| message["method"] == "$/progress" && message["params"]["value"]["kind"] == "end");
    drop(busy_client);
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
            let mut client = Client::start(json!({"diagnostics": {"cpuPercent": 0.0}}), &repo());
            let file_uri = client.open(&first_file);
            let started = Instant::now();
            client.request("workspace/executeCommand", json!({"command": "scalene.loadProfile", "arguments": [{"path": json_path}]}));
            client.wait_for(|message| {
                message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == file_uri.as_str()
            });
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
