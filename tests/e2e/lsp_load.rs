//! `scalene.loadProfile` of captured Scalene JSON: hints, diagnostics, clear and toggle, with the
//! expected numbers computed from the same JSON (docs/lsp.md: Inlay hints, Diagnostics).

use std::path::{Path, PathBuf};

use scalene_lsp::engine::profile::model::{FileProfile, LineStats, Profile};
use scalene_lsp::engine::profile::parse::parse_profile;
use serde_json::{Value, json};

use crate::support::lsp_client::{LspClient, TIMEOUT, default_capabilities, encoded_len, file_uri};
use crate::support::{self, TempProject};

/// The documented label: `73.1% CPU · 12.0 MB`, the memory part only when memory was profiled and the
/// line has a peak; `12.0 MB` alone when only memory is above its threshold; nothing below the
/// thresholds (CPU >= 1%, peak >= 1 MB) unless the line leaks.
pub fn expected_label(line: &LineStats, memory: bool, leak: bool) -> Option<String> {
    let cpu = line.cpu_total();
    let has_memory = memory && line.metrics.peak_mb > 0.0;
    let cpu_hot = cpu >= 1.0;
    let memory_hot = has_memory && line.metrics.peak_mb >= 1.0;
    if !(cpu_hot || memory_hot || leak) {
        return None;
    }
    if memory_hot && !cpu_hot {
        return Some(format!("{:.1} MB", line.metrics.peak_mb));
    }
    let mut label = format!("{cpu:.1}% CPU");
    if has_memory {
        label.push_str(&format!(" · {:.1} MB", line.metrics.peak_mb));
    }
    Some(label)
}

/// `(0-based line, character, label)` of every hint the documented rules give for `file`, with the
/// character at the end of the line of `text` in `encoding`.
pub fn expected_hints(profile: &Profile, file: &FileProfile, text: &str, encoding: &str) -> Vec<(u64, u64, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut hints: Vec<(u64, u64, String)> = file
        .lines
        .iter()
        .filter_map(|line| {
            let label = expected_label(line, profile.memory, file.leak(line.line).is_some())?;
            let line0 = u64::from(line.line - 1);
            Some((line0, encoded_len(lines[line0 as usize], encoding), label))
        })
        .collect();
    hints.sort();
    hints
}

/// `(line, character, label)` of hints as the server sent them, sorted; checks the documented
/// `paddingLeft` and tooltip on the way.
pub fn hint_triples(hints: &[Value]) -> Vec<(u64, u64, String)> {
    let mut triples: Vec<(u64, u64, String)> = hints
        .iter()
        .map(|hint| {
            assert_eq!(hint["paddingLeft"], json!(true), "{hint}");
            let tooltip = hint["tooltip"]["value"].as_str().or(hint["tooltip"].as_str()).unwrap_or("");
            assert!(tooltip.contains("CPU"), "the tooltip is the hover markdown: {hint}");
            let label = hint["label"].as_str().unwrap_or_else(|| panic!("a string label: {hint}"));
            (hint["position"]["line"].as_u64().unwrap(), hint["position"]["character"].as_u64().unwrap(), label.to_string())
        })
        .collect();
    triples.sort();
    triples
}

/// A captured fixture and its profile as the server will show it: the files it names are rebased onto
/// this checkout when it is not where the fixtures were captured (as the server does for any JSON from
/// another machine).
pub fn load_fixture(name: &str) -> (PathBuf, Profile) {
    let fixture = support::scalene_fixture("2.4.0", name);
    let mut profile = parse_profile(&std::fs::read(&fixture).unwrap()).unwrap();
    scalene_lsp::engine::keep::loading::rebase_profile(&mut profile, &[support::repo().to_path_buf()]);
    (fixture, profile)
}

/// A server on the repo with `fixture` loaded; checks the documented result of `scalene.loadProfile`.
pub fn server_with_loaded(fixture: &Path, profile: &Profile) -> LspClient {
    let mut client = LspClient::start(support::repo(), json!({}));
    let result = client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    assert!(result["profile_id"].as_str().is_some_and(|id| id.starts_with('p')), "{result}");
    let mut files: Vec<&str> = result["files"].as_array().unwrap().iter().map(|uri| uri.as_str().unwrap()).collect();
    files.sort_unstable();
    let mut expected: Vec<String> = profile.files.iter().map(|file| file_uri(&file.path)).collect();
    expected.sort_unstable();
    assert_eq!(files, expected);
    client
}

/// Opens a profiled file with its text from disk; waits for its scalene diagnostics.
pub fn open_profiled(client: &mut LspClient, path: &Path) -> (String, String, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let uri = client.open(path, &text);
    let diagnostics = client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    (uri, text, diagnostics)
}

/// The documented diagnostics of a file: `(0-based line, code, severity, message)`, sorted.
fn expected_diagnostics(profile: &Profile, file: &FileProfile) -> Vec<(u64, String, u64, String)> {
    let mut expected = Vec::new();
    for line in &file.lines {
        let line0 = u64::from(line.line - 1);
        let cpu = line.cpu_total();
        if cpu >= 10.0 {
            // Information (3) from 30%, Hint (4) below: squiggles only on the hottest lines.
            let severity = if cpu >= 30.0 { 3 } else { 4 };
            let message = format!(
                "{cpu:.1}% of CPU time (python {:.1}%, native {:.1}%, system {:.1}%)",
                line.metrics.cpu_python, line.metrics.cpu_native, line.metrics.cpu_system
            );
            expected.push((line0, "cpu-hotspot".into(), severity, message));
        }
        if profile.memory && line.metrics.peak_mb >= 100.0 {
            let message = format!("peak {:.1} MB (allocated {:.1} MB)", line.metrics.peak_mb, line.metrics.alloc_mb);
            expected.push((line0, "memory-hotspot".into(), 4, message));
        }
        if let Some(leak) = file.leak(line.line).filter(|leak| leak.likelihood >= 0.9) {
            let message = format!(
                "possible memory leak: likelihood {:.0}%, growing {:.2} MB/s",
                leak.likelihood * 100.0,
                leak.velocity_mb_s
            );
            expected.push((line0, "leak".into(), 3, message));
        }
    }
    expected.sort();
    expected
}

fn assert_documented_diagnostics(diagnostics: &[Value], profile: &Profile, file: &FileProfile) {
    let mut found: Vec<(u64, String, u64, String)> = diagnostics
        .iter()
        .map(|diagnostic| {
            assert_eq!(diagnostic["source"], json!("scalene"), "{diagnostic}");
            (
                diagnostic["range"]["start"]["line"].as_u64().unwrap(),
                diagnostic["code"].as_str().unwrap().to_string(),
                diagnostic["severity"].as_u64().unwrap(),
                diagnostic["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(found, expected_diagnostics(profile, file), "{}", file.path.display());
}

#[test]
fn every_captured_profile_gives_the_documented_hints_and_diagnostics() {
    for name in ["cpu_bound", "cpu_bound_cpu_only", "memory_heavy", "leak", "threads", "raises"] {
        let (fixture, profile) = load_fixture(name);
        let file = &profile.files[0];
        let mut client = server_with_loaded(&fixture, &profile);
        let (uri, text, diagnostics) = open_profiled(&mut client, &file.path);
        assert_documented_diagnostics(&diagnostics, &profile, file);
        let expected = expected_hints(&profile, file, &text, &client.encoding);
        assert!(!expected.is_empty(), "{name}");
        assert_eq!(hint_triples(&client.inlay_hints(&uri, &text)), expected, "{name}");

        // Hover: the line's metrics, its function's totals, the memory sparkline.
        let hot = file.lines.iter().max_by(|a, b| a.cpu_total().total_cmp(&b.cpu_total())).unwrap();
        let hover = client.hover(&uri, u64::from(hot.line - 1), 4).unwrap_or_else(|| panic!("{name}: a hover on line {}", hot.line));
        assert!(hover.contains("|---") && hover.contains(&format!("{:.1}%", hot.cpu_total())), "{name}: {hover}");
        if let Some(function) = file.function_at(hot.line) {
            assert!(hover.contains(&function.name), "{name}: names {}: {hover}", function.name);
        }
        if hot.memory_timeline.len() > 1 {
            assert!(hover.chars().any(|c| ('▁'..='█').contains(&c)), "{name}: a sparkline: {hover}");
        }
        assert!(!hover.to_lowercase().contains("stale"), "{name}: the file is as profiled: {hover}");
    }
}

#[test]
fn loaded_profile_hints_carry_the_documented_labels_at_the_end_of_their_lines() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let file = &profile.files[0];
    let mut client = server_with_loaded(&fixture, &profile);
    let (uri, text, diagnostics) = open_profiled(&mut client, &file.path);
    assert_documented_diagnostics(&diagnostics, &profile, file);

    let expected = expected_hints(&profile, file, &text, &client.encoding);
    assert!(expected.len() >= 4, "the fixture has hot lines: {expected:?}");
    assert_eq!(hint_triples(&client.inlay_hints(&uri, &text)), expected);

    // Only the requested range: 0-based lines 11..=13 hold the hints of lines 13 and 14 (1-based).
    let lines: Vec<&str> = text.lines().collect();
    let range = json!({"start": {"line": 11, "character": 0}, "end": {"line": 13, "character": encoded_len(lines[13], &client.encoding)}});
    let in_range: Vec<_> = expected.iter().filter(|(line, _, _)| (11..=13).contains(line)).cloned().collect();
    assert_eq!(in_range.iter().map(|hint| hint.0).collect::<Vec<_>>(), [12, 13]);
    assert_eq!(hint_triples(&client.inlay_hints_in(&uri, range)), in_range);
    let header = json!({"start": {"line": 0, "character": 0}, "end": {"line": 4, "character": 0}});
    assert_eq!(client.inlay_hints_in(&uri, header), Vec::<Value>::new(), "nothing is hot in lines 1-5");

    // The tooltip is the hover markdown (compared up to the profile's age, which ticks).
    for hint in client.inlay_hints(&uri, &text) {
        let line = hint["position"]["line"].as_u64().unwrap();
        let hover = client.hover(&uri, line, 4).unwrap_or_else(|| panic!("a hover on hinted line {line}"));
        let tooltip = hint["tooltip"]["value"].as_str().unwrap();
        let table = |markdown: &str| markdown.split("\n_profile").next().unwrap().to_string();
        assert_eq!(table(tooltip), table(&hover), "line {line}");
        assert!(hover.contains("|---"), "{hover}");
    }

    // Each profiled function's `def` line has a lens with its totals.
    let lenses = client.code_lenses(&uri);
    for function in &file.functions {
        let line0 = u64::from(function.line - 1);
        let title = lenses
            .iter()
            .find(|lens| lens["range"]["start"]["line"] == line0)
            .and_then(|lens| lens["command"]["title"].as_str())
            .unwrap_or_else(|| panic!("a lens on `def {}`: {lenses:#?}", function.name));
        let cpu = format!("{:.1}% CPU", function.cpu_total());
        if function.peak_mb > 0.0 {
            assert_eq!(title, format!("{cpu} · {:.1} MB peak", function.peak_mb), "{}", function.name);
        } else {
            assert!(title.starts_with(&cpu), "{title:?} starts with {cpu:?}");
        }
    }
}

#[test]
fn a_multi_file_profile_annotates_every_file_it_covers_without_another_run() {
    let (fixture, profile) = load_fixture("multi_module");
    assert_eq!(profile.files.len(), 2);
    // geometry.py is open before the profile is loaded, text.py only after.
    let mut client = LspClient::start(support::repo(), json!({}));
    let early = &profile.files[0].path;
    assert!(early.ends_with("pkg/geometry.py"));
    let early_uri = client.open(early, &std::fs::read_to_string(early).unwrap());
    client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    for file in &profile.files {
        let (uri, text, diagnostics) = if file.path == *early {
            let text = std::fs::read_to_string(early).unwrap();
            let diagnostics = client.expect_diagnostics(&early_uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
            (early_uri.clone(), text, diagnostics)
        } else {
            open_profiled(&mut client, &file.path)
        };
        assert_documented_diagnostics(&diagnostics, &profile, file);
        let expected = expected_hints(&profile, file, &text, &client.encoding);
        assert!(!expected.is_empty(), "{}", file.path.display());
        assert_eq!(hint_triples(&client.inlay_hints(&uri, &text)), expected, "{}", file.path.display());
    }
    let runs: Vec<&Value> =
        client.server_requests.iter().filter(|request| request["method"] == "window/workDoneProgress/create").collect();
    assert!(runs.is_empty(), "loading a profile starts no run: {runs:?}");
}

#[test]
fn clear_removes_the_diagnostics_and_the_hints() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let file = &profile.files[0];
    let mut client = server_with_loaded(&fixture, &profile);
    let (uri, text, _) = open_profiled(&mut client, &file.path);
    assert!(!client.inlay_hints(&uri, &text).is_empty());
    let titles = |actions: Vec<Value>| actions.iter().map(|a| a["title"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(titles(client.code_actions(&uri, 0)).contains(&"Clear profile".to_string()));

    client.forget_unclaimed();
    let result = client.execute_ok("scalene.clear", json!({"uri": uri}));
    assert_eq!(result, json!({"cleared": 1}));
    client.expect_diagnostics(&uri, <[Value]>::is_empty, TIMEOUT);
    assert_eq!(client.inlay_hints(&uri, &text), Vec::<Value>::new());
    assert!(!titles(client.code_actions(&uri, 0)).contains(&"Clear profile".to_string()));
    assert_eq!(client.execute_ok("scalene.clear", Value::Null), json!({"cleared": 0}), "nothing left to clear");
}

#[test]
fn toggle_hides_the_hints_then_shows_them_again() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let mut client = server_with_loaded(&fixture, &profile);
    let (uri, text, _) = open_profiled(&mut client, &profile.files[0].path);
    let shown = hint_triples(&client.inlay_hints(&uri, &text));
    assert!(!shown.is_empty());

    client.forget_unclaimed();
    assert_eq!(client.execute_ok("scalene.toggle", Value::Null), json!({"visible": false}));
    client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    assert_eq!(client.inlay_hints(&uri, &text), Vec::<Value>::new(), "hidden");
    client.expect_diagnostics(&uri, <[Value]>::is_empty, TIMEOUT);

    assert_eq!(client.execute_ok("scalene.toggle", Value::Null), json!({"visible": true}));
    client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    assert_eq!(hint_triples(&client.inlay_hints(&uri, &text)), shown, "shown again, unchanged");
    client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
}

#[test]
fn settings_from_workspace_configuration_set_the_hint_thresholds() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let file = &profile.files[0];
    let mut capabilities = crate::support::lsp_client::default_capabilities();
    capabilities["workspace"]["configuration"] = json!(true);
    let mut client = LspClient::spawn();
    client.set_settings(json!({"hints": {"format": "cpu", "minCpuPercent": 30.0, "minPeakMb": 1000.0}}));
    // Each settings change republishes the (unchanged) diagnostics; this test is about the hints.
    client.ignore("textDocument/publishDiagnostics");
    client.initialize(Some(support::repo()), capabilities, json!({}));
    client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    let (uri, text, _) = open_profiled(&mut client, &file.path);
    // The pull after `initialized` may land before or after the open: wait for the refresh it causes.
    let hot = file.lines.iter().filter(|line| line.cpu_total() >= 30.0).count();
    assert_eq!(hot, 1, "the fixture has one line at or above 30% CPU");
    let mut hints = Vec::new();
    for _ in 0..3 {
        hints = hint_triples(&client.inlay_hints(&uri, &text));
        if hints.len() == hot {
            break;
        }
        client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
    }
    let line = file.lines.iter().find(|line| line.cpu_total() >= 30.0).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let line0 = u64::from(line.line - 1);
    assert_eq!(
        hints,
        [(line0, encoded_len(lines[line0 as usize], &client.encoding), format!("{:.1}% CPU", line.cpu_total()))]
    );

    // A configuration change without settings makes the server pull them again.
    client.set_settings(json!({}));
    client.forget_unclaimed();
    client.notify("workspace/didChangeConfiguration", json!({"settings": null}));
    client.expect_request("workspace/configuration", TIMEOUT);
    // A refresh still on its way from the first settings (late on a busy machine) may come first: ask
    // again at each refresh until the new settings show.
    let expected = expected_hints(&profile, file, &text, &client.encoding);
    let mut hints = Vec::new();
    for _ in 0..3 {
        client.expect_request("workspace/inlayHint/refresh", TIMEOUT);
        hints = hint_triples(&client.inlay_hints(&uri, &text));
        if hints == expected {
            break;
        }
    }
    assert_eq!(hints, expected);
}

#[test]
fn initialization_options_may_nest_the_settings_under_scalene() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let file = &profile.files[0];
    let options = json!({"scalene": {"hints": {"format": "cpu", "minCpuPercent": 30.0, "minPeakMb": 1000.0}}});
    let mut client = LspClient::start(support::repo(), options);
    client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    let (uri, text, _) = open_profiled(&mut client, &file.path);
    let labels: Vec<String> = hint_triples(&client.inlay_hints(&uri, &text)).into_iter().map(|hint| hint.2).collect();
    let line = file.lines.iter().max_by(|a, b| a.cpu_total().total_cmp(&b.cpu_total())).unwrap();
    assert!(line.cpu_total() >= 30.0);
    assert_eq!(labels, [format!("{:.1}% CPU", line.cpu_total())]);
}

#[test]
fn refreshes_are_only_requested_from_clients_that_support_them() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let mut capabilities = crate::support::lsp_client::default_capabilities();
    capabilities.as_object_mut().unwrap().remove("workspace");
    let mut client = LspClient::spawn();
    client.initialize(Some(support::repo()), capabilities, json!({}));
    client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    let (uri, text, _) = open_profiled(&mut client, &profile.files[0].path);
    assert_eq!(client.execute_ok("scalene.toggle", Value::Null), json!({"visible": false}));
    client.expect_diagnostics(&uri, <[Value]>::is_empty, TIMEOUT);
    assert_eq!(client.execute_ok("scalene.toggle", Value::Null), json!({"visible": true}));
    client.expect_diagnostics(&uri, |diagnostics| !diagnostics.is_empty(), TIMEOUT);
    client.execute_ok("scalene.clear", json!({"uri": uri}));
    client.expect_diagnostics(&uri, <[Value]>::is_empty, TIMEOUT);
    assert!(client.inlay_hints(&uri, &text).is_empty());
    let refreshes: Vec<&Value> =
        client.server_requests.iter().filter(|request| request["method"].as_str().unwrap().ends_with("/refresh")).collect();
    assert!(refreshes.is_empty(), "{refreshes:#?}");
}

#[test]
fn clients_that_resolve_tooltips_get_them_lazily_and_identical() {
    let (fixture, profile) = load_fixture("cpu_bound");
    let file = &profile.files[0];
    let mut capabilities = default_capabilities();
    capabilities["textDocument"]["inlayHint"]["resolveSupport"] = json!({"properties": ["tooltip"]});
    let mut client = LspClient::spawn();
    client.initialize(Some(support::repo()), capabilities, json!({}));
    let result = client.execute_ok("scalene.loadProfile", json!({"path": fixture}));
    assert_eq!(result["status"], "ok");
    let (uri, text, _) = open_profiled(&mut client, &file.path);
    let hints = client.inlay_hints(&uri, &text);
    let expected = expected_hints(&profile, file, &text, &client.encoding);
    let mut triples: Vec<(u64, u64, String)> = hints
        .iter()
        .map(|hint| {
            let position = &hint["position"];
            (position["line"].as_u64().unwrap(), position["character"].as_u64().unwrap(), hint["label"].as_str().unwrap().to_string())
        })
        .collect();
    triples.sort();
    assert_eq!(triples, expected, "the same hints, only the tooltip is deferred");
    for hint in hints {
        assert!(hint.get("tooltip").is_none_or(Value::is_null), "no tooltip before resolve: {hint}");
        assert!(hint.get("data").is_some(), "resolve data: {hint}");
        let resolved = client.request_ok("inlayHint/resolve", hint.clone());
        let line = hint["position"]["line"].as_u64().unwrap();
        let hover = client.hover(&uri, line, 4).unwrap();
        let tooltip = resolved["tooltip"]["value"].as_str().unwrap_or_else(|| panic!("a resolved tooltip: {resolved}"));
        let table = |markdown: &str| markdown.split("\n_profile").next().unwrap().to_string();
        assert_eq!(table(tooltip), table(&hover), "line {line}");
        assert_eq!(resolved["label"], hint["label"]);
    }
}

#[test]
fn load_profile_refuses_devices_pipes_directories_and_oversize_files_and_goes_on() {
    let project = TempProject::new();
    let fifo = project.path().join("pipe.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let folder = project.path().join("folder.json");
    std::fs::create_dir(&folder).unwrap();
    let mut client = LspClient::start(project.path(), json!({"maxProfileMb": 0.01}));
    let cases: [(&Path, &str); 4] = [
        (Path::new("/dev/zero"), "is a character device"),
        (&fifo, "is a named pipe (FIFO)"),
        (&folder, "is a directory"),
        (&support::scalene_fixture("2.4.0", "cpu_bound"), "more than the 0 MB a profile may have"),
    ];
    for (path, reason) in cases {
        // A read that blocked (a FIFO, /dev/zero) would leave this without an answer: the client's
        // timeout fails the test.
        let error = client.execute("scalene.loadProfile", json!({"path": path})).unwrap_err();
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(reason) && message.contains("Fix:"), "{}: {message}", path.display());
    }
    // Still serving.
    assert_eq!(client.execute_ok("scalene.cancel", json!({})), json!({"cancelled": false}));
}

#[test]
fn the_mcp_token_never_appears_in_the_servers_logs() {
    let project = TempProject::new();
    let mut client = LspClient::spawn_with_env(&["serve"], &[("RUST_LOG", "trace")]);
    client.initialize(Some(project.path()), crate::support::lsp_client::default_capabilities(), json!({}));
    let endpoint = client.expect_notification("scalene/mcpEndpoint", |_| true, TIMEOUT);
    let token = endpoint["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 32);
    client.execute_ok("scalene.cancel", json!({}));
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !client.stderr_text().contains("scalene/mcpEndpoint") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let logs = client.stderr_text();
    assert!(logs.contains("scalene/mcpEndpoint"), "trace logging shows the messages: {}", &logs[..logs.len().min(2000)]);
    assert!(!logs.contains(&token), "the token was logged");
    assert!(logs.contains("[redacted]"));
}

#[test]
fn a_huge_timeout_setting_is_reported_and_replaced_never_a_failed_initialize() {
    let project = TempProject::new();
    let mut client = LspClient::spawn();
    // Through initializationOptions: initialize succeeds, the bad value is named with its range.
    let result = client.initialize(Some(project.path()), default_capabilities(), json!({"timeout": 1e308}));
    assert!(result["capabilities"].is_object(), "{result}");
    let warning = client.expect_notification("window/showMessage", |p| p["message"].as_str().unwrap_or("").contains("scalene.timeout"), TIMEOUT);
    assert!(warning["message"].as_str().unwrap().contains("from 0.001 to 604800") && warning["type"] == 2, "{warning}");
    // And through a configuration change: the same, and the server keeps answering.
    client.forget_unclaimed();
    client.notify("workspace/didChangeConfiguration", json!({"settings": {"scalene": {"timeout": 1e20}}}));
    let warning = client.expect_notification("window/showMessage", |p| p["message"].as_str().unwrap_or("").contains("scalene.timeout"), TIMEOUT);
    assert!(warning["message"].as_str().unwrap().contains("not 100000000000000000000"), "{warning}");
    client.ignore("workspace/inlayHint/refresh");
    let program = project.write("p.py", "print(1)\n");
    let uri = client.open(&program, "print(1)\n");
    assert!(client.inlay_hints(&uri, "print(1)\n").is_empty(), "answered, nothing profiled yet");
    client.ignore("textDocument/publishDiagnostics");
}
