//! The real binary: `profile`, `show`, `doctor`, their output and exit codes.

use std::process::{Command, Output};

use crate::support::{self, TempProject, bin, run};

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

/// Validates against the schema embedded in docs/schema.md.
pub fn assert_valid(json: &serde_json::Value) {
    let schema = crate::docs_schema::documented_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(json).map(|err| format!("{} at {}", err, err.instance_path())).collect();
    assert!(errors.is_empty(), "output does not match docs/schema.md: {errors:#?}");
}

#[test]
fn show_renders_a_captured_profile() {
    let (output, stdout, stderr) = run(bin().arg("show").arg(support::scalene_fixture("2.4.0", "cpu_bound")));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(!stdout.contains('\x1b'), "no colour when stdout is not a terminal");
    insta::assert_snapshot!("show_cpu_bound", stdout);
}

#[test]
fn show_renders_functions_leaks_and_many_files() {
    let (output, stdout, _) = run(bin().arg("show").arg(support::scalene_fixture("2.4.0", "leak")));
    assert_eq!(code(&output), 0);
    insta::assert_snapshot!("show_leak", stdout);
    let (output, stdout, _) = run(bin().arg("show").arg(support::scalene_fixture("2.4.0", "multi_module")));
    assert_eq!(code(&output), 0);
    insta::assert_snapshot!("show_multi_module", stdout);
}

#[test]
fn show_json_reports_exactly_scalenes_numbers() {
    for version in ["2.4.0", "2.0.1"] {
        for name in ["cpu_bound", "memory_heavy", "multi_module", "leak", "raises", "threads"] {
            let fixture = support::scalene_fixture(version, name);
            let (output, stdout, stderr) = run(bin().args(["show", "--json"]).arg(&fixture));
            assert_eq!(code(&output), 0, "{stderr}");
            let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert_valid(&json);
            let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
            assert_eq!(json["schema"], 1);
            assert_eq!(json["status"], "ok");
            assert_eq!(json["elapsed_s"], raw["elapsed_time_sec"]);
            assert_eq!(json["peak_mb"].as_f64(), raw["max_footprint_mb"].as_f64());
            assert_eq!(json["exit_code"], serde_json::Value::Null);
            for file in json["files"].as_array().unwrap() {
                let raw_file = &raw["files"][file["path"].as_str().unwrap()];
                assert_eq!(file["cpu_percent"].as_f64(), raw_file["percent_cpu_time"].as_f64());
                for line in file["lines"].as_array().unwrap() {
                    let raw_line = raw_file["lines"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|raw_line| raw_line["lineno"] == line["line"])
                        .unwrap();
                    for (ours, scalenes) in [
                        ("cpu_python", "n_cpu_percent_python"),
                        ("cpu_native", "n_cpu_percent_c"),
                        ("cpu_system", "n_sys_percent"),
                        ("core_utilization", "n_core_utilization"),
                        ("peak_mb", "n_peak_mb"),
                        ("avg_mb", "n_avg_mb"),
                        ("alloc_mb", "n_malloc_mb"),
                        ("mallocs", "n_mallocs"),
                        ("python_fraction", "n_python_fraction"),
                        ("usage_fraction", "n_usage_fraction"),
                        ("copy_mb_s", "n_copy_mb_s"),
                        ("gpu_percent", "n_gpu_percent"),
                        ("gpu_peak_mb", "n_gpu_peak_memory_mb"),
                    ] {
                        assert_eq!(
                            line[ours].as_f64(),
                            raw_line[scalenes].as_f64(),
                            "{version}/{name} line {} {ours}",
                            line["line"]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn show_of_an_empty_profile_is_too_short() {
    let (output, stdout, _) = run(bin().args(["show", "--json"]).arg(support::scalene_fixture("2.4.0", "too_short")));
    assert_eq!(code(&output), 1, "partial or empty profiles exit 1");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_valid(&json);
    assert_eq!(json["status"], "too_short");
    assert!(json["notes"][0].as_str().unwrap().contains("run longer"));
    let (_, stdout, _) = run(bin().arg("show").arg(support::scalene_fixture("2.4.0", "too_short")));
    assert!(stdout.contains("status too_short") && stdout.contains("No line has any activity."), "{stdout}");
}

#[test]
fn show_refuses_devices_pipes_directories_and_oversize_files_at_once() {
    let project = TempProject::new();
    let fifo = project.path().join("pipe.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let fixture = support::scalene_fixture("2.4.0", "cpu_bound");
    let cases: [(Vec<&std::ffi::OsStr>, &str); 4] = [
        (vec!["/dev/zero".as_ref()], "is a character device"),
        (vec![fifo.as_os_str()], "is a named pipe (FIFO)"),
        (vec![project.path().as_os_str()], "is a directory"),
        (vec!["--max-size-mb".as_ref(), "0.01".as_ref(), fixture.as_os_str()], "more than the 0 MB a profile may have"),
    ];
    for (args, reason) in cases {
        let mut command = bin();
        command.arg("show").args(&args);
        let (output, stdout, stderr) = run(&mut command);
        assert_eq!(code(&output), 4, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.starts_with("error: ") && stderr.contains(reason) && stderr.contains("Fix:"), "{args:?}: {stderr}");
    }
}

#[test]
fn show_of_bad_input_explains_and_exits_4() {
    let project = TempProject::new();
    let truncated = project.write("cut.json", "{\"files\": {\"/a.py\": {\"lines\": [");
    let (output, stdout, stderr) = run(bin().arg("show").arg(&truncated));
    assert_eq!(code(&output), 4);
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("error: cannot read") && stderr.contains("truncated"), "{stderr}");
    let (output, _, stderr) = run(bin().arg("show").arg(project.path().join("absent.json")));
    assert_eq!(code(&output), 4);
    assert!(stderr.contains("absent.json") && stderr.contains("No such file"), "{stderr}");
}

#[test]
fn profile_shows_the_hot_lines() {
    let (output, stdout, stderr) =
        run(bin().arg("profile").arg("--python").arg(support::python()).arg(support::program("cpu_bound.py")));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stdout.contains("status ok"), "{stdout}");
    assert!(stdout.contains("Scalene 2.4.0"), "{stdout}");
    let loop_row = stdout.lines().find(|line| line.contains("total += i * i % 7")).expect("the hot loop is listed");
    assert!(loop_row.trim_start().starts_with("8 "), "{loop_row}");
    assert!(stdout.contains("python_loop (5-9)") && stdout.contains("native_sort (12-17)"), "{stdout}");
    // The program's own output comes first, as under Scalene by hand; nothing of ours on stderr (it is not
    // a terminal, and the program writes nothing there; Scalene's "profile saved to" trailer is left out).
    let header = stdout.find("Scalene profile of").unwrap();
    let printed: Vec<&str> = stdout[..header].lines().collect();
    assert_eq!(printed.len(), 2, "cpu_bound.py prints two lines: {stdout}");
    assert_eq!(printed[0], "5999999", "{stdout}");
    assert!(stderr.is_empty(), "no spinner, logs or Scalene trailer: {stderr:?}");
}

#[test]
fn the_program_reads_the_clis_stdin_and_writes_to_its_stdout_and_stderr() {
    let project = TempProject::new();
    let program = project.write(
        "echo.py",
        "import sys\n\ndata = sys.stdin.read()\nprint('got', len(data), 'bytes:', data.strip())\nprint('to stderr', file=sys.stderr)\n\
         total = 0\nfor i in range(3_000_000):\n    total += i\n",
    );
    let mut command = bin();
    command.args(["profile", "--mode", "cpu", "--python"]).arg(support::python()).arg(&program);
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello from the pipe\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("got 20 bytes: hello from the pipe\n"), "the program read our stdin and printed to stdout: {stdout}");
    assert!(stdout.contains("Scalene profile of"), "{stdout}");
    assert_eq!(stderr, "to stderr\n", "the program's stderr, and nothing else");

    // With --json the program's stdout goes to stderr, so stdout is exactly the JSON.
    let mut command = bin();
    command.args(["profile", "--json", "--mode", "cpu", "--python"]).arg(support::python()).arg(&program);
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"json run").unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"));
    assert_eq!(json["status"], "ok");
    assert!(stderr.contains("got 8 bytes: json run") && stderr.contains("to stderr"), "{stderr}");
}

#[test]
fn a_flood_of_stderr_passes_whole_through_bounded_memory() {
    // 50 MB without a newline, then 50 MB of newlines: every byte reaches our stderr, in order, and
    // scalene-lsp's peak memory stays small (read while it runs: the program waits for the go file).
    const N_BYTES: usize = 50_000_000;
    let project = TempProject::new();
    let go = project.path().join("go");
    let program = project.write(
        "flood.py",
        &format!(
            "import os, time\n\ndef write_all(data):\n    view = memoryview(data)\n    while view:\n        view = view[os.write(2, view):]\n\n\
             write_all(b'BEGIN')\nfor byte in (b'x', b'\\n'):\n    for _ in range({N_BYTES} // 1_000_000):\n        write_all(byte * 1_000_000)\n\
             write_all(b'END\\n')\nfor _ in range(1200):\n    if os.path.exists({go:?}):\n        break\n    time.sleep(0.1)\n"
        ),
    );
    let mut child = bin()
        .args(["profile", "--mode", "cpu", "--python"])
        .arg(support::python())
        .arg(&program)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (ended, until_end) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut received = Vec::with_capacity(2 * N_BYTES + 64);
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            let n_read = stderr.read(&mut chunk).unwrap();
            if n_read == 0 {
                break;
            }
            let from = received.len().saturating_sub(3);
            received.extend_from_slice(&chunk[..n_read]);
            if received[from..].windows(4).any(|window| window == b"END\n") {
                let _ = ended.send(());
            }
        }
        received
    });
    let seen_end = until_end.recv_timeout(std::time::Duration::from_secs(600)).is_ok();
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    std::fs::write(&go, "").unwrap();
    let exit = child.wait().unwrap();
    let received = reader.join().unwrap();
    assert!(seen_end, "the program's last line never arrived ({} bytes did)", received.len());
    assert_eq!(exit.code(), Some(0), "{}", String::from_utf8_lossy(&received[received.len().saturating_sub(2000)..]));
    let mut expected = b"BEGIN".to_vec();
    expected.resize(5 + N_BYTES, b'x');
    expected.resize(5 + 2 * N_BYTES, b'\n');
    expected.extend_from_slice(b"END\n");
    assert!(received == expected, "{} bytes arrived, {} expected: every byte of the program's stderr and nothing else", received.len(), expected.len());
    let peak_kb: u64 = status.lines().find_map(|line| line.strip_prefix("VmHWM:")).and_then(|kb| kb.trim().trim_end_matches(" kB").parse().ok()).unwrap();
    assert!(peak_kb < 100 * 1024, "scalene-lsp's peak memory was {peak_kb} kB while passing 100 MB through");
}

#[test]
fn profile_json_is_valid_and_carries_the_program_failure() {
    let (output, stdout, stderr) = run(bin()
        .args(["profile", "--json", "--mode", "cpu", "--python"])
        .arg(support::python())
        .arg(support::program("raises.py")));
    assert_eq!(code(&output), 1, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_valid(&json);
    assert_eq!(json["status"], "program_failed");
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["memory"], false);
    assert!(json["stderr_tail"].as_str().unwrap().contains("RuntimeError: deliberate failure"));
    assert!(!json["files"][0]["lines"].as_array().unwrap().is_empty());
}

#[test]
fn profile_passes_arguments_after_the_separator() {
    let (output, stdout, stderr) = run(bin()
        .args(["profile", "--json", "--python"])
        .arg(support::python())
        .args(["--env", "SCALENE_LSP_TEST_MARK=from the cli", "--cpu-sampling-rate", "0.005"])
        .arg(support::program("reads_argv.py"))
        .args(["--", "3000000", "--json", "-m", "a b"]));
    assert_eq!(code(&output), 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["args"], serde_json::json!(["3000000", "--json", "-m", "a b"]));
}

/// No command takes an argument it then ignores: a stray word (a program argument without `--`, a
/// second file, a mistyped command after `--stdio`) is refused with exit 2 and named, and nothing runs.
#[test]
fn every_command_refuses_arguments_it_does_not_take() {
    let project = TempProject::new();
    let program = project.write("argv.py", "import sys\nprint(sys.argv)\n");
    let program = program.to_str().unwrap();
    let store = project.path().join("store");
    let store = store.to_str().unwrap();
    let cases: [(&[&str], &str); 10] = [
        (&["profile", program, "stray"], "'stray'"),
        (&["show", program, "stray"], "'stray'"),
        (&["doctor", program, "stray"], "'stray'"),
        (&["compare", "a", "b", "stray"], "'stray'"),
        (&["saved", "--store", store, "list", "stray"], "'stray'"),
        (&["saved", "--store", store, "show", "a", "stray"], "'stray'"),
        (&["saved", "--store", store, "cleanup", "stray"], "'stray'"),
        (&["mcp", "stray"], "'stray'"),
        (&["serve", "stray"], "'stray'"),
        (&["--stdio", "doctor"], "--stdio starts the language server"),
    ];
    for (args, named) in cases {
        let (output, stdout, stderr) = run(bin().args(args).current_dir(project.path()));
        assert_eq!(code(&output), 2, "{args:?}: {stderr}");
        assert!(stderr.contains(named) && stderr.contains("Usage:"), "{args:?} names the argument and the usage: {stderr}");
        assert!(stdout.is_empty() && !stderr.contains("[\'"), "{args:?}: nothing ran: {stdout}");
    }
    assert!(!std::path::Path::new(store).exists(), "no store was created");
}

#[test]
fn profile_failures_have_their_own_messages_and_exit_codes() {
    let project = TempProject::new();
    let missing = project.path().join("nope.py");
    let syntax = support::program("syntax_error.py");
    let cpu = support::program("cpu_bound.py");
    let python = support::python();
    let cases: [(Vec<&std::ffi::OsStr>, i32, &str); 3] = [
        (vec!["profile".as_ref(), "--python".as_ref(), python.as_os_str(), missing.as_os_str()], 4, "does not exist"),
        (vec!["profile".as_ref(), "--python".as_ref(), python.as_os_str(), syntax.as_os_str()], 4, "has a syntax error"),
        (vec!["profile".as_ref(), "--python".as_ref(), "/nonexistent/python".as_ref(), cpu.as_os_str()], 3, "does not exist. Fix:"),
    ];
    for (args, expected, message) in cases {
        let (output, stdout, stderr) = run(bin().args(&args));
        assert_eq!(code(&output), expected, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        // The program's own stderr (a traceback) passes through first; our one paragraph comes last.
        let ours = &stderr[stderr.find("error: ").unwrap_or_else(|| panic!("{args:?}: {stderr}"))..];
        assert!(ours.contains(message), "{args:?}: {stderr}");
    }
    let bare = project.venv("bare", false);
    let (output, _, stderr) = run(bin().arg("profile").arg("--python").arg(&bare).arg(support::program("cpu_bound.py")));
    assert_eq!(code(&output), 3);
    assert!(stderr.contains(&format!("Fix: \"{}\" -m pip install scalene", bare.display())), "{stderr}");
}

#[test]
fn doctor_shows_interpreter_versions_and_the_exact_command() {
    let (output, stdout, stderr) = run(bin()
        .args(["doctor", "--python"])
        .arg(support::python())
        .arg(support::program("cpu_bound.py")));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stdout.contains(&format!("interpreter:   {}", support::python().display())), "{stdout}");
    assert!(stdout.contains("scalene:       2.4.0"), "{stdout}");
    let command = stdout.lines().find(|line| line.starts_with("command:")).unwrap();
    let program = support::program("cpu_bound.py").canonicalize().unwrap();
    assert!(command.contains("-m scalene run -o"), "{command}");
    assert!(command.ends_with(&format!("{} ---", program.display())), "{command}");
}

#[test]
fn ctrl_c_stops_the_run_and_prints_the_partial_profile() {
    let project = TempProject::new();
    let program = project.write("forever.py", &support::long_program(120.0));
    let marker = project.path().join("running.txt");
    let child = bin()
        .args(["profile", "--json", "--python"])
        .arg(support::python())
        .arg(&program)
        .arg("--")
        .arg(&marker)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..1200 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(marker.exists(), "the program never started under Scalene");
    std::thread::sleep(std::time::Duration::from_secs(2));
    // What a terminal's Ctrl-C sends to the foreground process (Scalene runs in its own group).
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(code(&output), 1, "a partial profile exits 1: {}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_valid(&json);
    assert_eq!(json["status"], "cancelled");
    assert!(!json["files"][0]["lines"].as_array().unwrap().is_empty(), "the partial profile: {json}");
    assert!(support::processes_mentioning(program.to_str().unwrap()).is_empty(), "a process of the run survived");
}

/// Waits until `done` holds (the program and Scalene need seconds to start on a busy machine).
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[test]
fn profile_live_redraws_the_view_on_a_terminal_and_prints_it_once_elsewhere() {
    let project = TempProject::new();
    let text = crate::engine_live::phased_program(project.path(), &["a", "b"]);
    let program = project.write("phases.py", &text);
    // On a terminal (a pseudo-terminal from util-linux's `script`, output flushed to a file as written).
    let screen = project.path().join("screen.txt");
    let command = format!(
        "{} profile --live --live-interval 0.5 --mode cpu --python {} {}",
        env!("CARGO_BIN_EXE_scalene-lsp"),
        support::python().display(),
        program.display()
    );
    let child = Command::new("script")
        .args(["-qfec", &command])
        .arg(&screen)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Whatever happens, the terminal goes away at the end (scalene-lsp stops its run on the hang-up).
    struct Terminal(std::process::Child);
    impl Drop for Terminal {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Terminal(child);
    let shown = || std::fs::read_to_string(&screen).unwrap_or_default();
    let frames = |text: &str| text.matches("status running").count();
    assert!(wait_until(|| frames(&shown()) >= 1), "no live frame: {}", shown());
    crate::engine_live::touch(project.path(), "go_b");
    let seen = frames(&shown());
    assert!(wait_until(|| frames(&shown()) > seen), "the view is redrawn at the next snapshot: {}", shown());
    crate::engine_live::touch(project.path(), "stop");
    assert!(child.0.wait().unwrap().success());
    let screen = shown();
    assert!(screen.contains("live · the run so far") && screen.contains("\x1b[H\x1b[2J"), "redrawn in place: {screen}");
    assert!(screen.contains("status ok"), "the final view follows: {screen}");

    // Not a terminal: no redraw, the final view once.
    for marker in ["in_a", "go_b", "in_b", "stop"] {
        std::fs::remove_file(project.path().join(marker)).unwrap();
    }
    let child = bin()
        .args(["profile", "--live", "--mode", "cpu", "--python"])
        .arg(support::python())
        .arg(&program)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(|| project.path().join("in_a").exists()));
    crate::engine_live::touch(project.path(), "go_b");
    assert!(wait_until(|| project.path().join("in_b").exists()));
    crate::engine_live::touch(project.path(), "stop");
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.matches("Scalene profile of").count(), 1, "{stdout}");
    assert!(!stdout.contains('\x1b') && stdout.contains("status ok"), "{stdout}");
}

#[test]
fn profile_test_runs_one_pytest_test_and_keeps_a_failing_tests_profile() {
    let (project, _) = crate::engine_live::test_project();
    let (output, stdout, stderr) = run(bin()
        .current_dir(project.path())
        .args(["profile", "--mode", "cpu", "--python"])
        .arg(support::python())
        .args(["--test", "tests/test_shapes.py::TestPerimeter::test_perimeter_is_one"]));
    assert_eq!(code(&output), 1, "a failing test is a partial profile: {stderr}");
    assert!(stdout.contains("1 failed in"), "pytest's report passes through: {stdout}");
    assert!(stdout.contains("status program_failed") && stdout.contains("shapes.py"), "{stdout}");
    assert!(stdout.contains("did not pass"), "{stdout}");
    let (output, _, stderr) = run(bin().args(["profile", "--test", "tests/test_shapes.py"]));
    assert_eq!(code(&output), 2);
    assert!(stderr.contains("--test takes FILE::NAME"), "{stderr}");
}

#[test]
fn a_test_name_that_matches_no_test_says_so_and_unicode_parametrize_ids_run_by_their_node_id() {
    let (project, _) = crate::engine_live::test_project();
    project.write(
        "tests/test_ids.py",
        "import pytest\n\nfrom shapes import slow_area\n\n\n@pytest.mark.parametrize(\"x\", [\"é\"])\ndef test_accented(x):\n    assert slow_area(2_000_000) > 0 and x\n",
    );
    // Python 3.11's importlib can crash when a signal handler runs during an import (Scalene samples
    // with signals; python/cpython#91351): seen once under load while pytest imported its plugins. The
    // output says so (the unit test in runner/outcome.rs); here the run is made again, once.
    let profile_test = |node: &str| {
        let once = || run(bin().current_dir(project.path()).args(["profile", "--mode", "cpu", "--python"]).arg(support::python()).args(["--test", node]));
        let first = once();
        // Once more when pytest crashed first, or when a descheduled run took no sample (too_short: the
        // machine was busy, not the test wrong).
        if first.1.contains("pytest crashed before the test") || first.1.contains("status too_short") { once() } else { first }
    };

    // A wrong name: no test ran, which is not a failing test.
    let (output, stdout, stderr) = profile_test("tests/test_shapes.py::test_nope");
    assert_eq!(code(&output), 4, "nothing to show: {stdout}{stderr}");
    assert!(stderr.contains("error: no test matched") && stderr.contains("tests/test_shapes.py::test_nope"), "{stderr}");
    assert!(stderr.contains("ERROR: not found:") && stderr.contains("-m pytest --collect-only -q"), "pytest's reason and the fix: {stderr}");
    assert!(!stdout.contains("did not pass") && !stderr.contains("did not pass"), "{stdout}{stderr}");

    // The parametrize id as pytest lists it (`é` escaped) runs that test.
    let (output, stdout, stderr) = profile_test("tests/test_ids.py::test_accented[\\xe9]");
    assert_eq!(code(&output), 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 passed in") && stdout.contains("status ok"), "{stdout}");
    assert!(stdout.contains("total += (i % 13) * (i % 7)"), "slow_area's loop is in the profile: {stdout}");

    // The id as written in the source: the error names the id to use.
    let (output, _, stderr) = profile_test("tests/test_ids.py::test_accented[é]");
    assert_eq!(code(&output), 4);
    assert!(stderr.contains("no test matched") && stderr.contains("try \"test_accented[\\xe9]\" rather than \"test_accented[é]\""), "{stderr}");
}

#[test]
fn doctor_shows_the_start_up_and_no_shortcut_turns_it_off() {
    let program = support::program("cpu_bound.py");
    let (output, stdout, stderr) = run(bin().arg("doctor").arg("--python").arg(support::python()).arg(&program));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stdout.contains("start-up:      shortcut"), "{stdout}");
    assert!(stdout.contains("LD_PRELOAD=libscalene.so SCALENE_ALLOCATION_SAMPLING_WINDOW=1048576 "), "{stdout}");
    let (output, stdout, _) = run(bin().args(["doctor", "--no-shortcut", "--python"]).arg(support::python()).arg(&program));
    assert_eq!(code(&output), 0);
    assert!(stdout.contains("start-up:      Scalene's own") && !stdout.contains("SCALENE_ALLOCATION_SAMPLING_WINDOW"), "{stdout}");
    let (_, stdout, _) = run(bin().args(["doctor", "--python"]).arg(support::python()).arg(&program).env("SCALENE_LSP_NO_SHORTCUT", "1"));
    assert!(stdout.contains("start-up:      Scalene's own"), "the environment variable does the same: {stdout}");
}

/// `--no-call-paths` asks Scalene for no stacks (the same plan in `doctor` and `profile`), and cannot be
/// combined with an export that needs them.
#[test]
fn no_call_paths_runs_without_stacks_and_refuses_exports() {
    let program = support::program("cpu_bound.py");
    let command_of = |stdout: &str| stdout.lines().find(|line| line.starts_with("command:")).unwrap_or_default().to_string();
    let (output, stdout, stderr) = run(bin().args(["doctor", "--python"]).arg(support::python()).arg(&program));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(!command_of(&stdout).contains("--no-stacks"), "stacks are recorded by default: {stdout}");
    let (output, stdout, stderr) = run(bin().args(["doctor", "--no-call-paths", "--python"]).arg(support::python()).arg(&program));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(command_of(&stdout).contains("--no-stacks"), "{stdout}");
    let project = TempProject::new();
    let svg = project.path().join("out.svg");
    let (output, _, stderr) = run(bin().args(["profile", "--no-call-paths", "--flamegraph"]).arg(&svg).arg(&program));
    assert_eq!(code(&output), 2, "{stderr}");
    assert!(stderr.contains("--no-call-paths leaves out the call paths") && stderr.contains("Fix: drop --no-call-paths"), "{stderr}");
    assert!(!svg.exists());
    // A real run: numbers per line, no call paths.
    let (output, stdout, stderr) = run(bin()
        .args(["profile", "--json", "--mode", "cpu", "--no-call-paths", "--python"])
        .arg(support::python())
        .arg(support::program("call_paths/main.py")));
    assert_eq!(code(&output), 0, "{stderr}");
    let profile: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(profile.get("call_paths").is_none_or(serde_json::Value::is_null), "no call paths without stacks");
    assert!(profile["files"].as_array().is_some_and(|files| !files.is_empty()), "the lines are still measured: {stdout}");
}

/// `doctor` plans the run `profile` would make with the same options (one request builder for both).
#[test]
fn doctor_shows_the_command_of_profile_with_the_same_run_options() {
    let program = support::program("cpu_bound.py");
    let (output, stdout, stderr) = run(bin()
        .args(["doctor", "--mode", "cpu", "--cpu-sampling-rate", "0.01", "--profile-only", "cpu_bound,helper", "--python"])
        .arg(support::python())
        .arg(&program));
    assert_eq!(code(&output), 0, "{stderr}");
    let command = stdout.lines().find(|line| line.starts_with("command:")).unwrap_or_default();
    for part in ["--cpu-only", "--cpu-sampling-rate 0.01", "--profile-only cpu_bound,helper"] {
        assert!(command.contains(part), "{part} in {command}");
    }
    assert!(!command.contains("--memory") && !command.contains("LD_PRELOAD"), "cpu mode preloads nothing: {command}");
    let (output, _, stderr) = run(bin().args(["doctor", "--timeout", "0"]).arg(&program));
    assert_eq!(code(&output), 2, "a bad run option is a usage error, as for profile: {stderr}");
    assert!(stderr.contains("--timeout must be a number of seconds from 0.001"), "{stderr}");
}

/// Runs `command` with stdout a pipe that is closed early: before the command starts when `read_first`
/// is false (then its very first write fails with EPIPE), else after its first line was read. Returns
/// the exit code and stderr.
fn run_with_closed_stdout(command: &mut Command, read_first: bool) -> (i32, String) {
    // Close-on-exec: the child must not hold a read end itself.
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let reader = if read_first {
        Some(std::fs::File::from(reader))
    } else {
        drop(reader);
        None
    };
    let mut child = command.stdout(writer).stderr(std::process::Stdio::piped()).spawn().unwrap();
    if let Some(reader) = reader {
        let mut first = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(reader), &mut first).unwrap();
        assert!(!first.is_empty(), "{command:?} printed a first line");
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    (child.wait().unwrap().code().unwrap_or(-1), stderr)
}

#[test]
fn every_command_that_prints_ends_quietly_when_stdout_is_closed() {
    let project = TempProject::new();
    let store = project.path().join("store");
    let (v1, v2) = (support::scalene_fixture("2.4.0", "compare_v1"), support::scalene_fixture("2.4.0", "compare_v2"));
    let big = support::scalene_fixture("2.4.0", "big_file");
    let (output, _, stderr) = run(crate::cli_saved::bin(&store).args(["show", "--save", "big"]).arg(&big).stdout(std::process::Stdio::null()));
    assert_eq!(code(&output), 0, "{stderr}");
    let program = project.write("quick.py", "total = 0\nfor i in range(300_000):\n    total += i % 7\nprint(total)\n");
    let python = support::python().display().to_string();
    let (v1, v2, big, program) = (v1.display().to_string(), v2.display().to_string(), big.display().to_string(), program.display().to_string());
    // `| head -1` on outputs larger than a pipe holds: the write after the first line fails.
    let long: &[&[&str]] = &[&["show", "--json", &big], &["show", &big], &["saved", "show", "big", "--json"]];
    // Small outputs: the pipe is closed before the first write, so that write fails.
    let short: &[&[&str]] = &[
        &["doctor", "--python", &python],
        &["show", "--json", &v1],
        &["saved", "list"],
        &["saved", "list", "--json"],
        &["compare", &v1, &v2],
        &["compare", &v1, &v2, "--json"],
        &["profile", "--json", "--mode", "cpu", "--python", &python, &program],
    ];
    for (args, read_first) in long.iter().map(|args| (args, true)).chain(short.iter().map(|args| (args, false))) {
        let (code, stderr) = run_with_closed_stdout(crate::cli_saved::bin(&store).args(*args), read_first);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, 0, "{args:?} ends quietly: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: a closed stdout is no error: {stderr}");
    }
    // The same through a shell, as a user types it.
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("'{}' show {big} | head -1; exit ${{PIPESTATUS[0]}}", env!("CARGO_BIN_EXE_scalene-lsp")))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && !stderr.contains("panicked"), "{:?}: {stderr}", output.status);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("Scalene profile of "));
}

#[test]
fn v1_readers_accept_unknown_keys_and_name_the_path_of_a_wrong_type_or_missing_field() {
    use serde_json::{Value, json};
    let project = TempProject::new();
    let store = project.path().join("store");
    let bin = || crate::cli_saved::bin(&store);
    let text = crate::cli_saved::real_profile_json(&project);
    let plain = project.write("plain.json", &text);
    let original: Value = serde_json::from_str(&text).unwrap();
    // Fields a later version 1 may add: at the top level, in a file, a line and a function.
    let mut extended = original.clone();
    extended["added_later"] = json!({"nested": [1, 2]});
    extended["files"][0]["added_later"] = json!("text");
    extended["files"][0]["lines"][0]["added_later"] = json!(3.5);
    extended["files"][0]["functions"][0]["added_later"] = Value::Null;
    let extended_path = project.write("extended.json", &extended.to_string());
    let (output, shown, stderr) = run(bin().args(["show", "--json"]).arg(&extended_path));
    assert_eq!(code(&output), 0, "{stderr}");
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["files"], original["files"], "the same profile, the unknown keys left out");
    assert_valid(&shown);
    let (output, compared, stderr) = run(bin().arg("compare").arg(&plain).arg(&extended_path).args(["--json", "--fail-on", "regressed,improved,new,removed"]));
    assert_eq!(code(&output), 0, "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&compared).unwrap()["summary"]["verdict"], "unchanged");
    let (output, _, stderr) = run(bin().args(["show", "--save", "extended"]).arg(&extended_path).stdout(std::process::Stdio::null()));
    assert_eq!(code(&output), 0, "{stderr}");

    // A saved profile's file with new keys in its header and around its profile is read too.
    let saved_file = store.join("extended.json");
    let saved_text = std::fs::read_to_string(&saved_file).unwrap();
    let (header, body) = saved_text.split_once('\n').unwrap();
    let mut header: Value = serde_json::from_str(header).unwrap();
    let mut body: Value = serde_json::from_str(body.trim_end()).unwrap();
    header["added_later"] = json!(1);
    header["meta"]["added_later"] = json!(2);
    body["added_later"] = json!(3);
    body["profile"]["added_later"] = json!(4);
    std::fs::write(&saved_file, format!("{header}\n{body}\n")).unwrap();
    let (output, listing, stderr) = run(bin().args(["saved", "list", "--json"]));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&listing).unwrap()[0]["name"], "extended");
    let (output, saved_json, stderr) = run(bin().args(["saved", "show", "extended", "--json"]));
    assert_eq!(code(&output), 0, "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&saved_json).unwrap()["files"], original["files"]);
    let (output, _, stderr) = run(bin().args(["compare", "extended"]).arg(&saved_file).args(["--fail-on", "regressed,improved"]));
    assert_eq!(code(&output), 0, "{stderr}");

    // A wrong type or a missing field is still refused, naming where.
    let mut wrong = original.clone();
    wrong["files"][0]["lines"][0]["cpu_python"] = json!("fast");
    let mut missing = original.clone();
    missing["files"][0].as_object_mut().unwrap().remove("path");
    for (bad, expected) in [(wrong, "at `files[0].lines[0].cpu_python`: invalid type: string \"fast\""), (missing, "at `files[0]`: missing field `path`")] {
        let bad_path = project.write("bad.json", &bad.to_string());
        for command in [vec!["show"], vec!["compare", plain.to_str().unwrap()]] {
            let (output, stdout, stderr) = run(bin().args(&command).arg(&bad_path));
            assert_eq!(code(&output), 4, "{command:?}: {stderr}");
            assert!(stdout.is_empty(), "{stdout}");
            assert!(stderr.contains(expected) && stderr.contains("Fix:"), "{command:?}: {stderr}");
        }
        let mut saved_bad: Value = body.clone();
        saved_bad["profile"] = bad;
        std::fs::write(&saved_file, format!("{header}\n{saved_bad}\n")).unwrap();
        let (output, _, stderr) = run(bin().args(["saved", "show", "extended"]));
        assert_eq!(code(&output), 4, "{stderr}");
        assert!(stderr.contains(&expected.replace("at `", "at `profile.")), "{stderr}");
    }
}

/// Asks for a name on the terminal, then works long enough to be sampled.
const ASKS_FOR_A_NAME: &str = "print(\"name?\", flush=True)\nname = input()\ntotal = 0\nfor i in range(3_000_000):\n    total += i % 7\nprint(\"hello\", name.upper(), total)\n";

/// The command line a user types for `program`, followed by its exit code.
fn typed_profile(program: &std::path::Path) -> String {
    format!("{} profile --mode cpu --python {} {}; echo \"exit=$?\"\n", env!("CARGO_BIN_EXE_scalene-lsp"), support::python().display(), program.display())
}

const ON_A_TERMINAL: std::time::Duration = std::time::Duration::from_secs(240);

#[test]
fn profile_on_a_terminal_lets_the_program_read_a_line() {
    let project = TempProject::new();
    let program = project.write("ask.py", ASKS_FOR_A_NAME);
    let mut shell = support::terminal::Shell::start(project.path());
    shell.type_text(&typed_profile(&program));
    assert!(shell.wait_for("name?\r\n", 0, ON_A_TERMINAL), "no prompt: {}", shell.screen());
    shell.type_text("ada\n");
    assert!(shell.wait_for("exit=", shell.len(), ON_A_TERMINAL), "the run did not end: {}", shell.screen());
    let screen = shell.screen();
    assert!(screen.contains("hello ADA 8999994"), "the program read the line: {screen}");
    assert!(screen.contains("status ok") && screen.contains("exit=0"), "{screen}");
    assert!(screen.contains("total += i % 7"), "the profile is printed: {screen}");
}

/// The process ids of scalene-lsp (its command line starts with the binary) and of the processes of
/// the run (`-m scalene run ...`) for `program`.
fn run_processes(program: &std::path::Path) -> (Vec<u32>, Vec<u32>) {
    let pids = support::processes_mentioning(&program.display().to_string());
    let cmdline = |pid: u32| std::fs::read(format!("/proc/{pid}/cmdline")).map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " ")).unwrap_or_default();
    let ours = pids.iter().copied().filter(|pid| cmdline(*pid).starts_with(env!("CARGO_BIN_EXE_scalene-lsp"))).collect();
    let run = pids.iter().copied().filter(|pid| cmdline(*pid).contains("-m scalene run")).collect();
    (ours, run)
}

fn state(pid: u32) -> char {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| stat.rsplit_once(')')?.1.trim_start().chars().next()).unwrap_or('?')
}

#[test]
fn ctrl_z_stops_scalene_lsp_and_the_program_and_fg_resumes_both() {
    let project = TempProject::new();
    let program = project.write("ask.py", ASKS_FOR_A_NAME);
    let mut shell = support::terminal::Shell::start(project.path());
    shell.type_text(&typed_profile(&program));
    assert!(shell.wait_for("name?\r\n", 0, ON_A_TERMINAL), "no prompt: {}", shell.screen());
    let (ours, run) = run_processes(&program);
    assert!(ours.len() == 1 && !run.is_empty(), "scalene-lsp {ours:?}, the run {run:?}");
    let all: Vec<u32> = ours.iter().chain(&run).copied().collect();

    shell.type_text("\x1a");
    let all_stopped = || all.iter().all(|pid| state(*pid) == 'T');
    assert!(wait_until(all_stopped), "Ctrl-Z: states {:?}: {}", all.iter().map(|pid| (pid, state(*pid))).collect::<Vec<_>>(), shell.screen());
    assert!(shell.wait_for("Stopped", 0, ON_A_TERMINAL), "the shell sees its job stopped: {}", shell.screen());

    shell.type_text("fg\n");
    assert!(wait_until(|| all.iter().all(|pid| state(*pid) != 'T')), "fg: states {:?}", all.iter().map(|pid| (pid, state(*pid))).collect::<Vec<_>>());
    // The program has the terminal again: it reads the line.
    shell.type_text("ada\n");
    // (bash ran the `echo` of the typed line when the job stopped: `$?` after `fg` is the run's.)
    assert!(shell.wait_for("\n$ ", shell.len(), ON_A_TERMINAL), "the run did not end: {}", shell.screen());
    shell.type_text("echo \"code=$?\"\n");
    assert!(shell.wait_for("code=0", 0, ON_A_TERMINAL), "{}", shell.screen());
    let screen = shell.screen();
    assert!(screen.contains("hello ADA 8999994"), "{screen}");
    assert!(screen.contains("status ok") && screen.contains("total += i % 7"), "{screen}");
}

#[test]
fn ctrl_c_on_a_terminal_stops_the_program_and_shows_the_partial_profile_as_cancelled() {
    let project = TempProject::new();
    // Samples before the prompt-like line, so that the partial profile has some whenever Ctrl-C comes.
    let program = project.write("spin.py", "total = 0\nfor i in range(3_000_000):\n    total += i % 7\nprint(\"spinning\", flush=True)\nwhile True:\n    total += 1\n");
    let mut shell = support::terminal::Shell::start(project.path());
    shell.type_text(&typed_profile(&program));
    assert!(shell.wait_for("spinning\r\n", 0, ON_A_TERMINAL), "{}", shell.screen());
    shell.type_text("\x03");
    assert!(shell.wait_for("exit=", shell.len(), ON_A_TERMINAL), "Ctrl-C did not end the run: {}", shell.screen());
    let screen = shell.screen();
    assert!(screen.contains("status cancelled") && screen.contains("exit=1"), "{screen}");
    assert!(screen.contains("the run was cancelled; the profile covers the run up to then") && screen.contains("total += i % 7"), "{screen}");
    assert!(support::processes_mentioning(&program.display().to_string()).is_empty(), "a process of the run survived");
}

#[test]
fn huge_durations_are_refused_with_the_allowed_range_never_a_panic() {
    let project = TempProject::new();
    let program = project.write("p.py", "print(1)\n");
    for (args, expected) in [
        (vec!["profile", "--timeout", "1e308"], "--timeout must be a number of seconds from 0.001 to 604800"),
        (vec!["profile", "--timeout", "1e20"], "--timeout must be a number of seconds from 0.001 to 604800"),
        (vec!["profile", "--live", "--live-interval", "1e308"], "--live-interval must be a number of seconds from 0.1 to 3600"),
    ] {
        let (output, _, stderr) = run(bin().args(&args).arg(&program));
        assert_eq!(code(&output), 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected) && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    for days in ["1e308", "1e20", "-1"] {
        let (output, _, stderr) = run(bin().args(["saved", "cleanup", "--store"]).arg(project.path().join("store")).arg(format!("--older-than={days}")));
        assert_eq!(code(&output), 2, "{days}: {stderr}");
        assert!(stderr.contains("--older-than must be a number of days from 0 to 36500") && !stderr.contains("panicked"), "{days}: {stderr}");
    }
}
