//! `profile --tests`: a whole pytest suite in one Scalene run, through the real binary. The fixture's
//! tests burn known units of work (fixtures/programs/pytest_suite/expected.json); the assertions are
//! relative (rankings and wide ratios), so they hold while another core is busy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{self, TempProject, bin, run};

/// The fixture suite copied into a temp project.
pub fn suite_project() -> TempProject {
    let project = TempProject::new();
    let fixture = support::program("pytest_suite");
    for name in ["pyproject.toml", "work.py", "expected.json", "tests/conftest.py", "tests/test_heavy.py", "tests/test_light.py"] {
        project.write(name, &std::fs::read_to_string(fixture.join(name)).unwrap());
    }
    project
}

fn profile_tests(dir: &Path, python: &Path, pytest_args: &[&str]) -> (Output, String, String) {
    run(bin().current_dir(dir).args(["profile", "--mode", "cpu", "--python"]).arg(python).arg("--tests").args(pytest_args))
}

fn test<'a>(json: &'a Value, node: &str) -> &'a Value {
    json["tests"]["tests"].as_array().unwrap().iter().find(|test| test["node_id"] == node).unwrap_or_else(|| panic!("no {node} in {json:#}"))
}

/// The heavy tests, most units first: 30, 24, 20 (another line), 16, 12 (fails), 8.
fn heavy_names() -> [&'static str; 6] {
    ["test_heaviest", "test_param[24]", "TestChecksum::test_checksum", "test_param[16]", "test_fails_after_burning", "test_param[8]"]
}

fn samples(json: &Value, node: &str) -> f64 {
    test(json, node)["total"]["samples"].as_f64().unwrap()
}

#[test]
fn a_suite_run_gives_each_test_its_samples_ranked_by_the_work_it_did() {
    let project = suite_project();
    let (output, stdout, stderr) = run(bin()
        .current_dir(project.path())
        .args(["profile", "--mode", "cpu", "--json", "--python"])
        .arg(support::python())
        .arg("--tests"));
    assert_eq!(output.status.code(), Some(1), "one test fails on purpose: a partial profile: {stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    crate::cli::assert_valid(&json);
    let tests = json["tests"]["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 30, "{stdout}");
    assert_eq!(json["tests"]["collected"], 30);
    assert_eq!(json["tests"]["pytest_exit"], 1);
    // The plugin timed Scalene's sampling and kept every file (it notes it when an other Scalene's
    // internals do not let it).
    assert_eq!(json["tests"]["notes"], serde_json::json!([]), "{:#}", json["tests"]["notes"]);
    assert_eq!(test(&json, "tests/test_heavy.py::test_skipped")["outcome"], "skipped");
    let failed = test(&json, "tests/test_heavy.py::test_fails_after_burning");
    assert_eq!(failed["outcome"], "failed");
    assert!(failed["message"].as_str().unwrap().contains("assert"), "{failed}");
    // Units of work: 30, 24, 20 (another line), 16, 12 (failed), 8; the fixture's 6 + 4 + 2; 1 each light.
    let heavy = heavy_names().map(|name| samples(&json, &format!("tests/test_heavy.py::{name}")));
    assert!(heavy[0] > 2.0 * heavy[5], "30 units against 8: {heavy:?}");
    assert!(heavy[1] > 1.5 * heavy[5] && heavy[3] > heavy[5], "24 and 16 against 8: {heavy:?}");
    let light: Vec<f64> = (0..22).map(|index| samples(&json, &format!("tests/test_light.py::test_light[{index}]"))).collect();
    let light_max = light.iter().cloned().fold(0.0, f64::max);
    let light_sum: f64 = light.iter().sum();
    assert!(heavy.iter().all(|samples| *samples > 2.0 * light_max), "every heavy test (8+ units) above every light one (1 unit): {heavy:?} {light:?}");
    assert!(light_sum > 0.5 * heavy[3] && light_sum < 3.0 * heavy[3], "22 light units against 16: {light_sum} vs {}", heavy[3]);
    assert!(light.iter().filter(|samples| **samples > 0.0).count() >= 18, "light tests get their few samples: {light:?}");
    let ranked: Vec<&str> = {
        let mut tests: Vec<&Value> = tests.iter().collect();
        tests.sort_by(|a, b| b["total"]["samples"].as_f64().unwrap().total_cmp(&a["total"]["samples"].as_f64().unwrap()));
        tests.iter().map(|test| test["node_id"].as_str().unwrap()).collect()
    };
    assert!(ranked[..2].contains(&"tests/test_heavy.py::test_heaviest"), "30 units first, or second to 24 on a busy machine: {ranked:?}");
    assert!(ranked[..7].iter().all(|node| node.starts_with("tests/test_heavy.py")), "{ranked:?}");
    // Cross-check with the plugin's CPU clock (the CPU seconds each test shows): suite runs sample on
    // CPU time, so each heavy test's samples per CPU second of its call are alike (within 2x: the
    // benchmark states the figure), on a busy machine too.
    let mut rates: Vec<f64> = heavy_names()
        .iter()
        .map(|name| {
            let test = test(&json, &format!("tests/test_heavy.py::{name}"));
            test["call"]["samples"].as_f64().unwrap() / test["call"]["cpu_s"].as_f64().unwrap()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    assert!(rates.iter().all(|rate| rate / median > 0.5 && rate / median < 2.0), "samples per CPU second of each heavy test's call: {rates:?}");
    // Ranked by CPU seconds, the heavy tests come in the order of their units (30, 24, 20, 16, 12, 8),
    // give or take a neighbour on a busy machine.
    let cpu = heavy_names().map(|name| test(&json, &format!("tests/test_heavy.py::{name}"))["total"]["cpu_s"].as_f64().unwrap());
    assert!(cpu[0] > 2.5 * cpu[5] && cpu[1] > cpu[4] && cpu[3] > cpu[5], "CPU seconds of 30, 24, 20, 16, 12, 8 units: {cpu:?}");
    // The fixture's setup (6 units) and teardown (2) are shown apart from the call (4).
    let fixture = test(&json, "tests/test_heavy.py::test_with_fixture");
    let phase = |name: &str, what: &str| fixture[name][what].as_f64().unwrap();
    let (setup, call, teardown) = (phase("setup", "cpu_s"), phase("call", "cpu_s"), phase("teardown", "cpu_s"));
    assert!(setup > call && call > teardown && teardown > 0.0, "CPU seconds of setup 6, call 4, teardown 2 units: {fixture}");
    // Their samples too, loosely (a phase of 2 units gets ~4 samples; a boundary sample may land in the
    // next phase, as under load setup and call once got 12 each).
    assert!(phase("setup", "samples") > phase("teardown", "samples") && phase("teardown", "samples") > 0.0, "{fixture}");
    // Hot lines are in the code under test: burn's loop, checksum's on its own line.
    let work = project.path().canonicalize().unwrap().join("work.py");
    let hottest = |name: &str| test(&json, &format!("tests/test_heavy.py::{name}"))["hottest"][0].clone();
    assert_eq!(hottest("test_heaviest")["file"], work.display().to_string());
    let burn_line = hottest("test_heaviest")["line"].as_u64().unwrap();
    let checksum_line = hottest("TestChecksum::test_checksum")["line"].as_u64().unwrap();
    assert!(burn_line != checksum_line && (8..=11).contains(&burn_line) && checksum_line > 11, "{burn_line} {checksum_line}");
    // The test's own file and first line (its first decorator, as Python counts it), for editors' lenses.
    let heaviest = test(&json, "tests/test_heavy.py::test_heaviest");
    assert!(heaviest["file"].as_str().unwrap().ends_with("tests/test_heavy.py") && heaviest["line"] == 7, "{heaviest}");
    let shares: f64 = tests.iter().map(|test| test["share"].as_f64().unwrap()).sum();
    assert!(shares > 0.9 && shares <= 1.0 + 1e-9, "the tests hold nearly all the run's CPU time: {shares}");
}

#[test]
fn a_test_whose_time_is_in_native_code_shows_its_cpu_seconds() {
    // Two tests spend 0.3 s of the process's CPU time (bounded by its CPU clock, so on a busy machine
    // too): one in a Python loop, one in C (`sum` over a range, ~0.1 s a call, during which Scalene's
    // timer signal waits: its samples of native code are worth an unknown amount each). Each test's CPU
    // seconds come from the CPU clock, whatever the number of samples. A third test sleeps 1.2 s.
    let project = TempProject::new();
    project.write("pyproject.toml", "[project]\nname = \"native\"\n");
    project.write(
        "tests/test_native.py",
        "import time\n\n\ndef test_python_loop():\n    start = time.process_time()\n    n = 0\n    while time.process_time() - start < 0.3:\n        n += 1\n\n\n\
         def test_native_calls():\n    start = time.process_time()\n    while time.process_time() - start < 0.3:\n        sum(range(10**7))\n\n\n\
         def test_sleeps():\n    time.sleep(1.2)\n",
    );
    let (output, stdout, stderr) = run(bin().current_dir(project.path()).args(["profile", "--mode", "cpu", "--json", "--python"]).arg(support::python()).arg("--tests"));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let (python, native) = (test(&json, "tests/test_native.py::test_python_loop"), test(&json, "tests/test_native.py::test_native_calls"));
    for case in [python, native] {
        let cpu = case["call"]["cpu_s"].as_f64().unwrap();
        // 0.3 s of the process's CPU time, less Scalene's own work at its samples (left out: ~10 %).
        assert!((0.2..1.0).contains(&cpu), "0.3 s of CPU in the call: {case}");
    }
    let share = native["share"].as_f64().unwrap();
    assert!((0.3..0.7).contains(&share), "about half the suite's CPU time: {share} ({native})");
    // What makes the clock necessary: the native test's samples are far fewer than its CPU time's worth.
    let (python_samples, native_samples) = (python["call"]["samples"].as_f64().unwrap(), native["call"]["samples"].as_f64().unwrap());
    assert!(native_samples < python_samples / 2.0, "samples: Python loop {python_samples}, native calls {native_samples}");
    // A test that waits is ranked by its (tiny) CPU time, and a note names it with its wall time.
    let sleeps = test(&json, "tests/test_native.py::test_sleeps");
    assert!(sleeps["total"]["cpu_s"].as_f64().unwrap() < 0.1 && sleeps["total"]["wall_s"].as_f64().unwrap() >= 1.2, "{sleeps}");
    let notes = json["tests"]["notes"].to_string();
    assert!(notes.contains("tests/test_native.py::test_sleeps (1.") && notes.contains("waited off the CPU"), "{notes}");
}

#[test]
fn markers_and_node_ids_pass_through_and_the_view_ranks_tests_with_their_hot_lines() {
    let project = suite_project();
    let (output, stdout, stderr) = profile_tests(project.path(), &support::python(), &["-m", "heavy", "-k", "not fails_after", "-q"]);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Slowest tests"), "{stdout}");
    let rows: Vec<&str> = stdout.lines().filter(|line| line.contains("tests/test_heavy.py::")).collect();
    assert_eq!(rows.len(), 5, "-m heavy -k 'not fails_after' selects 5 tests: {stdout}");
    assert!(rows[..2].iter().any(|row| row.contains("test_heaviest")) && rows[0].contains("passed"), "30 or 24 units first: {stdout}");
    assert!(stdout.contains("work.py:") && stdout.contains("total += (i * i) % 7"), "each test's hot lines with their text: {stdout}");
    let (output, stdout, stderr) = profile_tests(project.path(), &support::python(), &["tests/test_heavy.py::test_param[8]", "tests/test_light.py::test_light[3]"]);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 tests (2 passed)") && stdout.contains("test_param[8]") && stdout.contains("test_light[3]"), "{stdout}");
}

/// The test venv's packages without pytest: Scalene imports, pytest does not.
fn python_without_pytest(project: &TempProject) -> PathBuf {
    let python = project.venv("nopytest", false);
    let purelib = |python: &Path| {
        let output = Command::new(python).args(["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).output().unwrap();
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    };
    let (site, target) = (purelib(&support::python()), purelib(&python));
    let filtered = project.path().join("filtered-site");
    std::fs::create_dir(&filtered).unwrap();
    for entry in std::fs::read_dir(&site).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("pytest") || name.starts_with("_pytest") || name == "py.py") {
            std::os::unix::fs::symlink(entry.path(), filtered.join(&name)).unwrap();
        }
    }
    std::fs::write(target.join("filtered.pth"), filtered.display().to_string()).unwrap();
    python
}

#[test]
fn bad_suites_say_what_went_wrong_and_how_to_fix_it_and_leave_nothing_behind() {
    let project = suite_project();
    let python = support::python();
    let temp = tempfile::tempdir().unwrap();
    let with_temp = |args: &[&str]| run(bin().current_dir(project.path()).env("TMPDIR", temp.path()).args(["profile", "--mode", "cpu", "--timeout", "60", "--python"]).arg(&python).arg("--tests").args(args));
    // xdist: refused before anything runs.
    let (output, _, stderr) = with_temp(&["-n", "2"]);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("cannot use pytest-xdist (-n 2)") && stderr.contains("Fix: drop -n"), "{stderr}");
    // Nothing selected (pytest's exit 5).
    let (output, _, stderr) = with_temp(&["-k", "no_such_test_anywhere"]);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("pytest selected no test (exit status 5)") && stderr.contains("--collect-only -q -k no_such_test_anywhere"), "{stderr}");
    // A file that does not collect.
    project.write("tests/test_broken.py", "def test_x(:\n    pass\n");
    let (output, _, stderr) = with_temp(&["-q"]);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("could not collect the suite") && stderr.contains("tests/test_broken.py") && stderr.contains("SyntaxError"), "{stderr}");
    std::fs::remove_file(project.path().join("tests/test_broken.py")).unwrap();
    // A test that hangs: the time limit stops it, the tests before it keep their numbers.
    project.write(
        "tests/test_zz_hang.py",
        "import time\n\nfrom work import burn\n\n\ndef test_before():\n    burn(8)\n\n\ndef test_hangs():\n    burn(2)\n    time.sleep(600)\n",
    );
    let (output, stdout, stderr) = run(bin()
        .current_dir(project.path())
        .env("TMPDIR", temp.path())
        .args(["profile", "--mode", "cpu", "--json", "--timeout", "25", "--python"])
        .arg(&python)
        .args(["--tests", "tests/test_zz_hang.py"]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["status"], "timed_out");
    assert_eq!(test(&json, "tests/test_zz_hang.py::test_before")["outcome"], "passed");
    assert!(samples(&json, "tests/test_zz_hang.py::test_before") > 0.0, "{json:#}");
    assert_eq!(test(&json, "tests/test_zz_hang.py::test_hangs")["outcome"], "unfinished");
    assert!(json["tests"]["notes"].to_string().contains("test_hangs began and did not finish"), "{:#}", json["tests"]);
    std::fs::remove_file(project.path().join("tests/test_zz_hang.py")).unwrap();
    // os._exit in a test: Scalene turns it into SystemExit, which pytest reports as the test's failure.
    project.write("tests/test_zz_exit.py", "import os\n\nfrom work import burn\n\n\ndef test_exits():\n    burn(4)\n    os._exit(3)\n\n\ndef test_after():\n    burn(4)\n");
    let (output, stdout, stderr) = run(bin()
        .current_dir(project.path())
        .env("TMPDIR", temp.path())
        .args(["profile", "--mode", "cpu", "--json", "--python"])
        .arg(&python)
        .args(["--tests", "tests/test_zz_exit.py"]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let exits = test(&json, "tests/test_zz_exit.py::test_exits");
    assert!(matches!(exits["outcome"].as_str(), Some("failed" | "unfinished")), "{exits}");
    assert!(exits["total"]["samples"].as_f64().unwrap() > 0.0, "{exits}");
    std::fs::remove_file(project.path().join("tests/test_zz_exit.py")).unwrap();
    // pytest missing from the interpreter: the install command.
    let bare = python_without_pytest(&project);
    let (output, _, stderr) = run(bin().current_dir(project.path()).env("TMPDIR", temp.path()).args(["profile", "--mode", "cpu", "--python"]).arg(&bare).arg("--tests"));
    assert_eq!(output.status.code(), Some(3), "an environment problem: {stderr}");
    assert!(stderr.contains("pytest is not installed") && stderr.contains("-m pip install pytest"), "{stderr}");
    let left: Vec<String> = support::entries(temp.path()).into_iter().filter(|name| name.starts_with("scalene")).collect();
    assert!(left.is_empty(), "runs leave nothing behind: {left:?}");
}
