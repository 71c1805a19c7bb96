//! Saved profiles through the real binary: modes checked with stat, names that try to leave the store,
//! a save killed mid-write, concurrent saves from several processes, cleanup and clear, repeated runs,
//! the store's variable set but empty, stores others can write to, and the inputs `show --save` takes.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use scalene_lsp::engine::keep::storage::parse_saved;
use serde_json::json;

use crate::support::lsp_client::{LspClient, default_capabilities, file_uri};
use crate::support::{self, TempProject};
use crate::support::run;

/// The binary with its store at `store` (through $SCALENE_LSP_STORE; `--store` is tested on its own).
pub fn bin(store: &Path) -> Command {
    let mut command = support::bin();
    command.env("SCALENE_LSP_STORE", store);
    command
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o777
}

fn fixture(name: &str) -> PathBuf {
    support::scalene_fixture("2.4.0", name)
}

/// The names in a folder.
fn names(dir: &Path) -> Vec<String> {
    let mut names = support::entries(dir);
    names.sort();
    names
}

#[test]
fn a_save_creates_private_dirs_and_files_and_reads_back_through_list_show_and_delete() {
    let project = TempProject::new();
    let store = project.path().join("data/nested/store");
    let elsewhere = project.path().join("not-used");
    let (output, stdout, stderr) =
        run(bin(&elsewhere).args(["show", "--json", "--save", "baseline", "--store"]).arg(&store).arg(fixture("compare_v1")));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stderr.contains("saved as baseline"), "{stderr}");
    for dir in [project.path().join("data"), project.path().join("data/nested"), store.clone()] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    assert_eq!(names(&store), ["baseline.json"]);
    assert_eq!(mode(&store.join("baseline.json")), 0o600);
    assert!(!elsewhere.exists(), "--store wins over $SCALENE_LSP_STORE");
    // The saved profile is the normalized profile shown, with its source text.
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (output, saved_json, stderr) = run(bin(&store).args(["saved", "show", "baseline", "--json"]));
    assert_eq!(code(&output), 0, "{stderr}");
    let saved: serde_json::Value = serde_json::from_str(&saved_json).unwrap();
    assert_eq!(saved, shown);
    assert!(saved["files"][0]["source"].as_str().unwrap().contains("def grow(n):"));
    let (_, listing, _) = run(bin(&store).args(["saved", "list"]));
    assert!(listing.contains("baseline") && listing.contains("compare_v1.py") && listing.contains("memory"), "{listing}");
    let (_, listing, _) = run(bin(&store).args(["saved", "list", "--json"]));
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing[0]["name"], "baseline");
    assert_eq!(listing[0]["runs"], 1);
    let (_, view, _) = run(bin(&store).args(["saved", "show", "baseline"]));
    assert!(view.starts_with("saved profile baseline") && view.contains("total += value * value % 7"), "{view}");
    let (output, stdout, stderr) = run(bin(&store).args(["saved", "delete", "baseline", "--json"]));
    assert_eq!(code(&output), 0, "{stderr}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap(), serde_json::json!({"deleted": true, "name": "baseline"}));
    assert!(names(&store).is_empty());
    let (output, _, stderr) = run(bin(&store).args(["saved", "delete", "baseline"]));
    assert_eq!(code(&output), 4);
    assert!(stderr.contains("no saved profile is named \"baseline\""), "{stderr}");
    let (output, _, stderr) = run(bin(&store).args(["saved", "show", "nothing"]));
    assert_eq!(code(&output), 4);
    assert!(stderr.contains("no saved profile is named \"nothing\"") && stderr.contains("Fix:"), "{stderr}");
}

#[test]
fn names_that_try_to_leave_the_store_are_refused_and_write_nothing_anywhere() {
    let project = TempProject::new();
    let parent = project.path().join("parent");
    std::fs::create_dir(&parent).unwrap();
    let store = parent.join("store");
    let long = "x".repeat(65);
    let outside = project.path().join("outside");
    let absolute = outside.join("evil").display().to_string();
    let before = names(project.path());
    for name in ["../x", "../../x", absolute.as_str(), "a/b", "", long.as_str(), ".hidden", "..", "a b"] {
        for command in [vec!["show", "--save", name], vec!["profile", "--save", name, "--python", "/nonexistent"]] {
            let (output, stdout, stderr) = run(bin(&store).args(&command).arg(fixture("compare_v1")));
            assert_eq!(code(&output), 2, "{name:?} {command:?}: {stderr}");
            assert!(stdout.is_empty(), "nothing runs or prints for a bad name");
            assert!(stderr.contains("is not a valid name for a saved profile") && stderr.contains("Nothing was written"), "{stderr}");
        }
        for command in [vec!["saved", "show", name], vec!["saved", "delete", name], vec!["compare", name, name]] {
            let (output, _, stderr) = run(bin(&store).args(&command));
            assert_ne!(code(&output), 0, "{name:?} {command:?}: {stderr}");
        }
    }
    assert!(!store.exists(), "the store was never created");
    assert!(names(&parent).is_empty(), "nothing in the store's parent");
    assert_eq!(names(project.path()), before, "nothing next to it");
    assert!(!outside.exists() && !project.path().join("x.json").exists() && !parent.join("x.json").exists());
}

/// True when `dir` has a save's temp file (`.NAME.json.XXXX.tmp`).
fn temp_file_in(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))).unwrap_or(false)
}

fn valid_saved(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| parse_saved(&bytes).is_ok())
}

#[test]
fn a_save_killed_mid_write_leaves_the_old_file_intact_and_nothing_partial_visible() {
    let project = TempProject::new();
    let store = project.path().join("store");
    let big = fixture("big_file");
    let (output, _, stderr) = run(bin(&store).args(["show", "--save", "big"]).arg(&big).stdout(Stdio::null()));
    assert_eq!(code(&output), 0, "{stderr}");
    let saved = store.join("big.json");
    let old = std::fs::read(&saved).unwrap();
    let mut killed_mid_write = 0;
    for _ in 0..40 {
        let mut child = bin(&store).args(["show", "--save", "big"]).arg(&big).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        // Kill the process the moment its temp file appears: between creating it and renaming it.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = false;
        while Instant::now() < deadline {
            if temp_file_in(&store) {
                seen = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::hint::spin_loop();
        }
        let _ = child.kill();
        child.wait().unwrap();
        if seen && temp_file_in(&store) {
            killed_mid_write += 1;
        }
        // Whatever happened, the visible file is whole (the old one, or a complete new one) and alone.
        assert!(valid_saved(&saved), "big.json is always a complete saved profile");
        let (output, listing, stderr) = run(bin(&store).args(["saved", "list", "--json"]));
        assert_eq!(code(&output), 0, "{stderr}");
        let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
        assert_eq!(listing.as_array().unwrap().len(), 1, "{listing}");
        assert!(stderr.is_empty(), "a dead save's temp file is not reported as a problem: {stderr}");
        if killed_mid_write >= 3 {
            break;
        }
    }
    assert!(killed_mid_write >= 1, "no kill landed between the temp file's creation and its rename in 40 tries");
    let now = std::fs::read(&saved).unwrap();
    assert_eq!(now.len(), old.len(), "the old file (or an equal new one) is intact");
}

#[test]
fn concurrent_saves_from_several_processes_leave_valid_files() {
    let project = TempProject::new();
    let store = project.path().join("store");
    for round in 0..3 {
        let children: Vec<_> = ["same", "same", "other-a", "other-b"]
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let source = if index % 2 == 0 { fixture("compare_v1") } else { fixture("cpu_bound") };
                bin(&store).args(["show", "--save", name]).arg(source).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "round {round}: {}", String::from_utf8_lossy(&output.stderr));
        }
        assert_eq!(names(&store), ["other-a.json", "other-b.json", "same.json"], "round {round}: no temp file left");
        for name in ["same", "other-a", "other-b"] {
            assert!(valid_saved(&store.join(format!("{name}.json"))), "round {round}: {name}");
            assert_eq!(mode(&store.join(format!("{name}.json"))), 0o600);
        }
    }
}

fn set_age(path: &Path, days: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(days * 86_400)).unwrap();
}

#[test]
fn cleanup_by_age_and_count_and_clear_through_the_binary() {
    let project = TempProject::new();
    let store = project.path().join("store");
    for name in ["old", "mid", "new"] {
        let (output, _, stderr) = run(bin(&store).args(["show", "--save", name]).arg(fixture("cpu_bound")).stdout(Stdio::null()));
        assert_eq!(code(&output), 0, "{stderr}");
    }
    set_age(&store.join("old.json"), 10);
    set_age(&store.join("mid.json"), 3);
    std::fs::write(store.join("stray.json"), "{not a profile").unwrap();
    let (output, stdout, stderr) = run(bin(&store).args(["saved", "cleanup", "--older-than", "5", "--json"]));
    assert_eq!(code(&output), 0, "{stderr}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["removed"], serde_json::json!(["old"]));
    assert!(stderr.contains("warning:") && stderr.contains("stray.json"), "a corrupt file is reported, not fatal: {stderr}");
    let (_, stdout, _) = run(bin(&store).args(["saved", "cleanup", "--max-count", "1", "--json"]));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["removed"], serde_json::json!(["mid"]), "the oldest goes first");
    let (_, stdout, _) = run(bin(&store).args(["saved", "clear"]));
    assert!(stdout.contains("removed 1 saved profile(s): new"), "{stdout}");
    assert_eq!(names(&store), ["stray.json"], "what is not a saved profile stays");
    let (output, _, stderr) = run(bin(&store).args(["saved", "cleanup", "--older-than", "-1"]));
    assert_eq!(code(&output), 2, "{stderr}");
}

#[test]
fn repeated_runs_keep_their_spread_in_the_output_and_the_saved_profile() {
    let project = TempProject::new();
    let store = project.path().join("store");
    let program = project.write("work.py", "def work():\n    total = 0\n    for i in range(1_500_000):\n        total += i % 7\n    return total\n\nif __name__ == \"__main__\":\n    print(work())\n");
    let (output, stdout, stderr) = run(bin(&store)
        .args(["profile", "--json", "--mode", "cpu", "--repeat", "2", "--save", "twice", "--python"])
        .arg(support::python())
        .arg(&program));
    assert_eq!(code(&output), 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    crate::cli::assert_valid(&json);
    assert_eq!(json["spread"]["runs"], 2);
    let loop_line = json["spread"]["files"][0]["lines"].as_array().unwrap().iter().find(|line| line["line"] == 4).expect("the loop line has a spread");
    let cpu = &loop_line["metrics"]["cpu_s"];
    assert!(cpu["min"].as_f64().unwrap() <= cpu["mean"].as_f64().unwrap() && cpu["mean"].as_f64().unwrap() <= cpu["max"].as_f64().unwrap(), "{cpu}");
    assert!(json["notes"].as_array().unwrap().iter().any(|note| note.as_str().unwrap().contains("means over 2 runs")));
    let (_, listing, _) = run(bin(&store).args(["saved", "list", "--json"]));
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!((listing[0]["name"].as_str(), listing[0]["runs"].as_u64()), (Some("twice"), Some(2)));
    assert!(listing[0]["interpreter"].as_str().is_some() && listing[0]["python_version"].as_str().is_some(), "{listing}");
    assert_eq!(listing[0]["mode"], "cpu");
    let (output, compared, stderr) = run(bin(&store).args(["compare", "twice", "twice", "--json", "--fail-on", "regressed,improved"]));
    assert_eq!(code(&output), 0, "{stderr}");
    let compared: serde_json::Value = serde_json::from_str(&compared).unwrap();
    assert_eq!(compared["rule"]["runs"], serde_json::json!([2, 2]), "both sides pool their two runs");
    assert_eq!(compared["overall"]["elapsed_s"]["judged"], true, "repeated runs on both sides judge the elapsed time");
    assert_eq!(compared["summary"]["verdict"], "unchanged");
}

/// The binary with `$SCALENE_LSP_STORE` set but empty and `$XDG_DATA_HOME` at `data`: the default store
/// is `data/scalene-lsp/profiles`.
fn bin_with_empty_store_env(data: &Path) -> Command {
    let mut command = bin(Path::new(""));
    command.env("XDG_DATA_HOME", data);
    command
}

#[test]
fn an_empty_store_variable_means_the_default_store_for_the_cli_serve_and_mcp() {
    let project = TempProject::new();
    let data = project.path().join("data");
    let store = data.join("scalene-lsp/profiles");
    let (v1, v2) = (fixture("compare_v1"), fixture("compare_v2"));
    // The CLI: commands that never touch the store, and those that do.
    let (output, stdout, stderr) = run(bin_with_empty_store_env(&data).arg("show").arg(&v1));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stdout.contains("total += value * value % 7"), "{stdout}");
    let (output, stdout, stderr) = run(bin_with_empty_store_env(&data).arg("compare").arg(&v1).arg(&v2));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stdout.contains("grow"), "{stdout}");
    let (output, _, stderr) = run(bin_with_empty_store_env(&data).args(["show", "--save", "base"]).arg(&v1).stdout(Stdio::null()));
    assert_eq!(code(&output), 0, "{stderr}");
    assert_eq!(names(&store), ["base.json"], "saved in the default store");
    assert_eq!(mode(&store), 0o700);
    let (output, listing, stderr) = run(bin_with_empty_store_env(&data).args(["saved", "list", "--json"]));
    assert_eq!(code(&output), 0, "{stderr}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&listing).unwrap()[0]["name"], "base");
    let (output, stdout, stderr) = run(bin_with_empty_store_env(&data).args(["compare", "base"]).arg(&v2).arg("--json"));
    assert_eq!(code(&output), 0, "{stderr}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["summary"]["verdict"], "regressed");
    let (output, _, stderr) = run(bin_with_empty_store_env(&data).args(["saved", "delete", "base"]));
    assert_eq!(code(&output), 0, "{stderr}");

    // `serve`: the editor's "Save profile as baseline" goes to the default store too.
    let data_text = data.display().to_string();
    let mut client = LspClient::spawn_with_env(&["serve"], &[("SCALENE_LSP_STORE", ""), ("XDG_DATA_HOME", &data_text)]);
    client.initialize(Some(support::repo()), default_capabilities(), json!({}));
    let (v1_fixture, v1_profile) = crate::lsp_load::load_fixture("compare_v1");
    client.execute_ok("scalene.loadProfile", json!({"path": v1_fixture}));
    let saved = client.execute_ok("scalene.saveBaseline", json!({"uri": file_uri(&v1_profile.files[0].path)}));
    assert_eq!(saved["name"], "baseline", "{saved}");
    assert_eq!(names(&store), ["baseline.json"]);
    assert_eq!(mode(&store.join("baseline.json")), 0o600);
    drop(client);

    // `mcp`: it starts (clap refused the empty value with exit 2) and lists that store.
    let mut server = bin_with_empty_store_env(&data)
        .args(["mcp", "--standalone"])
        .current_dir(project.path())
        .env("XDG_RUNTIME_DIR", project.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut call = |message: serde_json::Value| -> Option<serde_json::Value> {
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
        let id = message.get("id")?;
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "the server closed stdout");
            let answer: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line:?}"));
            if answer.get("id") == Some(id) {
                return Some(answer);
            }
        }
    };
    let initialized = call(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "saved", "version": "1"}}}));
    assert!(initialized.as_ref().is_some_and(|answer| answer.get("result").is_some()), "{initialized:?}");
    call(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let listed = call(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_saved", "arguments": {}}})).unwrap();
    let result = &listed["result"]["structuredContent"];
    assert_ne!(listed["result"]["isError"], true, "{listed}");
    // The baseline's program lies outside this project, so it is counted, not listed.
    assert_eq!(result["other_projects"], 1, "the server reads the default store: {listed}");
    drop(stdin);
    let output = server.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Saves `fixture` as `name` in `store` (through `--store`), checking that it worked.
fn save_fixture(store: &Path, name: &str, fixture_name: &str) {
    let (output, _, stderr) =
        run(bin(Path::new("")).args(["show", "--save", name, "--store"]).arg(store).arg(fixture(fixture_name)).stdout(Stdio::null()));
    assert_eq!(code(&output), 0, "{stderr}");
}

/// Every way of reading `store` (and saving into it) is refused with `reason` and `fix` in the message,
/// and the store is left as it was.
fn assert_store_refused(store: &Path, reason: &str, fix: &str) {
    let before = names(store);
    let after = fixture("compare_v2").display().to_string();
    let store_arg = store.display().to_string();
    for command in [
        vec!["compare", "baseline", after.as_str()],
        vec!["saved", "list"],
        vec!["saved", "list", "--json"],
        vec!["saved", "show", "baseline"],
        vec!["saved", "cleanup", "--max-count", "0"],
        vec!["show", "--save", "planted-too", after.as_str()],
    ] {
        let (output, _, stderr) = run(bin(Path::new("")).args(&command).args(["--store", &store_arg]).stdout(Stdio::null()));
        assert_eq!(code(&output), 4, "{command:?}: {stderr}");
        assert!(stderr.contains(reason) && stderr.contains(fix), "{command:?}: {stderr}");
        assert!(stderr.contains("may have been put there by someone else"), "{command:?}: {stderr}");
    }
    assert_eq!(names(store), before, "nothing was written or removed");
}

#[test]
fn a_store_others_can_write_to_or_another_users_profile_is_refused_for_reading_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let project = TempProject::new();
    let store = project.path().join("store");
    save_fixture(&store, "baseline", "compare_v1");
    let chmod = |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();

    // A store left open to everyone: a valid profile in it may have been planted.
    chmod(&store, 0o777);
    let fix = format!("`chmod 700 {}`", store.display());
    assert_store_refused(&store, "every user can write to it (mode 0777)", &fix);
    chmod(&store, 0o1777);
    assert_store_refused(&store, "every user can write to it (mode 1777)", &fix);
    chmod(&store, 0o770);
    assert_store_refused(&store, "its group can write to it (mode 0770)", &fix);
    // Readable by others is a privacy matter, not a planting one: read, and tightened by the next save.
    chmod(&store, 0o755);
    let (output, _, stderr) = run(bin(&store).args(["compare", "baseline"]).arg(fixture("compare_v2")).stdout(Stdio::null()));
    assert_eq!(code(&output), 0, "{stderr}");
    save_fixture(&store, "second", "compare_v2");
    assert_eq!(mode(&store), 0o700);

    // The default store's own parent folder (`$XDG_DATA_HOME/scalene-lsp`) is checked the same way.
    let data = project.path().join("data");
    let mut save_default = bin(Path::new(""));
    save_default.env_remove("SCALENE_LSP_STORE").env("XDG_DATA_HOME", &data).args(["show", "--save", "baseline"]).arg(fixture("compare_v1"));
    let (output, _, stderr) = run(save_default.stdout(Stdio::null()));
    assert_eq!(code(&output), 0, "{stderr}");
    let app = data.join("scalene-lsp");
    chmod(&app, 0o777);
    let (output, _, stderr) = run(bin(Path::new("")).env_remove("SCALENE_LSP_STORE").env("XDG_DATA_HOME", &data).args(["saved", "list"]));
    assert_eq!(code(&output), 4, "{stderr}");
    assert!(stderr.contains(&format!("{:?}", app)) && stderr.contains(&format!("`chmod 700 {}`", app.display())), "{stderr}");
    chmod(&app, 0o700);

    // A profile that belongs to another user (planted while the folder was open) is never read.
    if nix::unistd::getuid().is_root() {
        let planted = store.join("baseline.json");
        nix::unistd::chown(&planted, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let (output, _, stderr) = run(bin(&store).args(["compare", "baseline"]).arg(fixture("compare_v2")));
        assert_eq!(code(&output), 4, "{stderr}");
        assert!(stderr.contains("belongs to another user (uid 65534)") && stderr.contains("Fix: delete it"), "{stderr}");
        let (output, listing, stderr) = run(bin(&store).args(["saved", "list", "--json"]));
        assert_eq!(code(&output), 0, "{stderr}");
        let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
        assert_eq!(listing.as_array().unwrap().len(), 1, "only the user's own profile is listed: {listing}");
        assert_eq!(listing[0]["name"], "second");
        assert!(stderr.contains("baseline.json") && stderr.contains("belongs to another user"), "{stderr}");
    }
}

/// A short CPU-bound program profiled for real (`profile --json`, cpu mode): the normalized JSON's text.
pub fn real_profile_json(project: &TempProject) -> String {
    let program = project.write(
        "work.py",
        "def work():\n    total = 0\n    for i in range(1_500_000):\n        total += i % 7\n    return total\n\nif __name__ == \"__main__\":\n    print(work())\n",
    );
    let (output, stdout, stderr) = run(bin(&project.path().join("unused-store")).args(["profile", "--json", "--mode", "cpu", "--python"]).arg(support::python()).arg(&program));
    assert_eq!(code(&output), 0, "{stderr}");
    stdout
}

#[test]
fn show_reads_and_saves_the_normalized_json_and_a_saved_profiles_file_as_compare_does() {
    let project = TempProject::new();
    let store = project.path().join("store");
    let json_text = real_profile_json(&project);
    let normalized = project.write("after.json", &json_text);
    let original: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    // Shown as any profile, and saved.
    let (output, view, stderr) = run(bin(&store).arg("show").arg(&normalized));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(view.contains("total += i % 7") && view.contains("work"), "{view}");
    let (output, shown, stderr) = run(bin(&store).args(["show", "--json", "--save", "fromjson"]).arg(&normalized));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stderr.contains("saved as fromjson"), "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["files"], original["files"], "the same numbers, lines and source");
    let (_, saved_json, _) = run(bin(&store).args(["saved", "show", "fromjson", "--json"]));
    let saved_json: serde_json::Value = serde_json::from_str(&saved_json).unwrap();
    assert_eq!(saved_json["files"], original["files"]);
    assert_eq!((saved_json["program"].as_str(), saved_json["elapsed_s"].as_f64()), (original["program"].as_str(), original["elapsed_s"].as_f64()));
    // A saved profile's file is accepted the same way.
    let (output, _, stderr) = run(bin(&store).args(["show", "--save", "copy"]).arg(store.join("fromjson.json")).stdout(Stdio::null()));
    assert_eq!(code(&output), 0, "{stderr}");
    let (output, compared, stderr) = run(bin(&store).args(["compare", "copy"]).arg(&normalized).args(["--json", "--fail-on", "regressed,improved,new,removed"]));
    assert_eq!(code(&output), 0, "{stderr}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&compared).unwrap()["summary"]["verdict"], "unchanged");
}
