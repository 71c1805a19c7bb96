//! Call-path latency, from a client over stdio against the real binary, on the real Scalene profile
//! fixtures/scalene/2.4.0/many_modules_stacks.json (34 files, captured with Scalene's stacks), loaded:
//! `callHierarchy/incomingCalls` and `outgoingCalls` on the function with the most samples in its stacks,
//! a hover with call paths on its hottest line, and `scalene/flameGraph` (the tree, and the timeline view
//! at 1,000 columns): p50/p99 round trips. Then the timeline of a long run: the same fixture with its
//! timeline repeated to 20,000 runs (the most a profile keeps), loaded. Goal (issue 17): incomingCalls
//! p99 < 5 ms.
//!
//! `cargo bench --bench call_latency` measures; under `cargo test` it runs a few iterations only.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../tests/e2e/support/lsp_client.rs"]
mod lsp_client;

use lsp_client::LspClient;
use scalene_lsp::engine::profile::call_paths::Weight;
use scalene_lsp::engine::profile::parse::parse_profile;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn timed(n: usize, mut request: impl FnMut() -> Value, check: impl Fn(&Value) -> bool) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let answer = request();
        latencies.push(started.elapsed());
        assert!(check(&answer), "{answer}");
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
    let n = if measuring { 2000 } else { 20 };
    let fixture = repo().join("fixtures/scalene/2.4.0/many_modules_stacks.json");

    // The function with the most samples through it (not the program's entry), from the engine.
    let profile = parse_profile(&std::fs::read(&fixture).unwrap()).unwrap();
    let paths = profile.call_paths.clone().expect("the fixture has stacks");
    let (target, _) = (0..paths.functions.len() as u32)
        .filter(|id| paths.function(*id).file().is_some() && !["<module>", "main"].contains(&paths.function(*id).name.as_str()))
        .map(|id| (id, paths.inclusive(Weight::Cpu, &[id])))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let function = paths.function(target).clone();
    let recorded_file = function.file().unwrap().to_path_buf();
    let line = paths.frames.iter().filter(|frame| frame.function == target).filter_map(|frame| frame.line).min().unwrap();

    let mut client = LspClient::spawn();
    for method in ["textDocument/publishDiagnostics", "window/showMessage", "window/logMessage"] {
        client.ignore(method);
    }
    client.initialize(Some(&repo()), json!({}), json!({}));
    let loaded = client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    // The file as the server sees it (the captured path, or its copy in this checkout).
    let short: Vec<_> = recorded_file.components().rev().take(2).collect();
    let file = loaded["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|uri| PathBuf::from(uri.as_str().unwrap().strip_prefix("file://").unwrap()))
        .find(|path| path.components().rev().take(2).collect::<Vec<_>>() == short)
        .unwrap_or(recorded_file.clone());
    let uri = client.open(&file, &std::fs::read_to_string(&file).unwrap_or_default());
    let position = json!({"line": line - 1, "character": 4});
    let items = client.request_ok("textDocument/prepareCallHierarchy", json!({"textDocument": {"uri": uri}, "position": position}));
    let item = items[0].clone();
    println!("target: {} ({}), {} of {} samples through it", function.name, short_path(&file), paths.inclusive(Weight::Cpu, &[target]), paths.total(Weight::Cpu));

    let incoming = timed(n, || client.request_ok("callHierarchy/incomingCalls", json!({"item": item})), |answer| answer.as_array().is_some_and(|calls| !calls.is_empty()));
    report("callHierarchy/incomingCalls", &incoming);
    let outgoing = timed(n, || client.request_ok("callHierarchy/outgoingCalls", json!({"item": item})), Value::is_array);
    report("callHierarchy/outgoingCalls", &outgoing);
    let prepare = timed(
        n,
        || client.request_ok("textDocument/prepareCallHierarchy", json!({"textDocument": {"uri": uri}, "position": position})),
        |answer| answer.as_array().is_some_and(|items| items.len() == 1),
    );
    report("textDocument/prepareCallHierarchy", &prepare);
    let hover = timed(
        n,
        || client.request_ok("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": position})),
        |_| true,
    );
    report("textDocument/hover (with call paths)", &hover);
    let flame = timed(n / 10, || client.request_ok("scalene/flameGraph", json!({})), |answer| answer["root"].is_object());
    report("scalene/flameGraph", &flame);
    let timeline = timed(n / 10, || client.request_ok("scalene/flameGraph", json!({"view": "timeline", "width": 1000})), |answer| answer["timeline"].is_object());
    report("scalene/flameGraph view timeline (109 runs, width 1000)", &timeline);
    // A long run: the fixture's timeline repeated, shifted in time, to 20,000 runs.
    let mut raw: Value = serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    let runs = raw["combined_stacks_timeline"].as_array().unwrap().clone();
    let span = runs.last().unwrap()["t_sec"].as_f64().unwrap() + 0.01;
    let long: Vec<Value> = (0..20_000)
        .map(|index| {
            let mut run = runs[index % runs.len()].clone();
            run["t_sec"] = json!(run["t_sec"].as_f64().unwrap() + span * (index / runs.len()) as f64);
            run
        })
        .collect();
    raw["combined_stacks_timeline"] = Value::Array(long);
    let long_file = tempfile::NamedTempFile::with_suffix(".json").unwrap();
    std::fs::write(long_file.path(), serde_json::to_vec(&raw).unwrap()).unwrap();
    client.execute_ok("scalene.loadProfile", json!({"path": long_file.path()}));
    let long_timeline = timed(n / 10, || client.request_ok("scalene/flameGraph", json!({"view": "timeline", "width": 1000})), |answer| answer["timeline"]["runs"] == 20_000);
    let frames = client.request_ok("scalene/flameGraph", json!({"view": "timeline", "width": 1000}))["timeline"]["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|thread| thread["frames"].as_array().unwrap().len())
        .sum::<usize>();
    report(&format!("scalene/flameGraph view timeline (20,000 runs, width 1000, {frames} frames)"), &long_timeline);
    println!("goal incomingCalls p99 < 5 ms: {}", if percentile(&incoming, 0.99) < Duration::from_millis(5) { "met" } else { "MISSED" });
}

fn short_path(path: &Path) -> String {
    path.components().rev().take(2).collect::<Vec<_>>().into_iter().rev().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}
