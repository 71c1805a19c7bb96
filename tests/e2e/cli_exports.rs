//! Exports through the real binary: `profile --flamegraph` on a real run, `show` and `saved show` with
//! `--export speedscope|collapsed|cpuprofile`, the files written whole (no temp file left), and the
//! errors: a profile without call paths, a folder that does not exist, an unknown format.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{self, TempProject, run};

/// The binary with no saved-profile store chosen by the environment.
fn bin() -> Command {
    let mut command = support::bin();
    command.env_remove("SCALENE_LSP_STORE");
    command
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))).unwrap()
}

fn sorted_entries(dir: &Path) -> Vec<String> {
    let mut names = support::entries(dir);
    names.sort();
    names
}

#[test]
fn profile_writes_a_flame_graph_with_both_callers_of_the_helper() {
    let project = TempProject::new();
    let svg = project.path().join("out.svg");
    let folded = project.path().join("out.folded");
    let (output, stdout, stderr) = run(bin()
        .args(["profile", "--mode", "cpu", "--python"])
        .arg(support::python())
        .arg(support::program("call_paths/main.py"))
        .arg("--flamegraph")
        .arg(&svg)
        .args(["--export", "collapsed"])
        .arg(&folded));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stdout.contains("main.py"), "the view is printed as usual: {stdout}");
    assert!(stderr.contains("wrote the flame graph (CPU samples)"), "{stderr}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<?xml"), "an SVG");
    for function in ["score (helpers.py)", "light_batch (main.py)", "heavy_batch (main.py)"] {
        assert!(svg_text.contains(function), "{function} in the flame graph");
    }
    let folded_text = std::fs::read_to_string(&folded).unwrap();
    assert!(folded_text.lines().all(|line| line.rsplit_once(' ').is_some_and(|(_, count)| count.parse::<u64>().is_ok())), "{folded_text}");
    assert!(folded_text.contains(";light_batch (main.py:") && folded_text.contains(";heavy_batch (main.py:"), "{folded_text}");
    assert_eq!(sorted_entries(project.path()), ["out.folded", "out.svg", "pyproject.toml"], "no temp file is left");
}

#[test]
fn show_exports_speedscope_collapsed_and_cpuprofile_beside_its_json() {
    let project = TempProject::new();
    let dir = project.path();
    let fixture = support::scalene_fixture("2.4.0", "call_paths");
    std::fs::write(dir.join("profile.speedscope.json"), "an older export, replaced whole").unwrap();
    let (output, stdout, stderr) = run(bin()
        .args(["show", "--json"])
        .arg(&fixture)
        .args(["--export", "speedscope"])
        .arg(dir.join("profile.speedscope.json"))
        .args(["--export", "collapsed"])
        .arg(dir.join("profile.folded"))
        .args(["--export", "cpuprofile"])
        .arg(dir.join("profile.cpuprofile")));
    assert_eq!(code(&output), 0, "{stderr}");
    let shown: Value = serde_json::from_str(&stdout).expect("stdout stays the profile's JSON");
    assert!(shown["call_paths"].is_object());

    let speedscope = read_json(&dir.join("profile.speedscope.json"));
    let schema = read_json(&support::repo().join("tests/data/speedscope-file-format-schema.json"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&speedscope).map(|err| format!("{err} at {}", err.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let frames = speedscope["shared"]["frames"].as_array().unwrap();
    for name in ["score", "light_batch", "heavy_batch", "ranked"] {
        assert!(frames.iter().any(|frame| frame["name"] == name), "{name} among the frames");
    }

    // The CPU samples, the same in each format.
    let raw = read_json(&fixture);
    let samples: f64 = raw["combined_stacks"].as_array().unwrap().iter().map(|entry| entry[1].as_f64().unwrap()).sum();
    let speedscope_total: f64 = speedscope["profiles"][0]["weights"].as_array().unwrap().iter().map(|w| w.as_f64().unwrap()).sum();
    assert_eq!(speedscope_total, samples);
    let folded = std::fs::read_to_string(dir.join("profile.folded")).unwrap();
    let folded_total: u64 = folded.lines().map(|line| line.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap()).sum();
    assert_eq!(folded_total as f64, samples);
    let cpuprofile = read_json(&dir.join("profile.cpuprofile"));
    let n_samples = cpuprofile["samples"].as_array().unwrap().len();
    assert_eq!(n_samples as f64, samples);
    assert_eq!(cpuprofile["timeDeltas"].as_array().unwrap().len(), n_samples);
    assert!(stderr.contains("wrote the speedscope profile") && stderr.contains("wrote the .cpuprofile"), "{stderr}");
}

#[test]
fn a_saved_profile_exports_what_its_source_exported() {
    let project = TempProject::new();
    let store = project.path().join("store");
    let fixture = support::scalene_fixture("2.4.0", "call_paths_memory");
    let (from_file, from_saved) = (project.path().join("file.folded"), project.path().join("saved.folded"));
    let (output, _, stderr) = run(bin()
        .args(["show", "--save", "base", "--store"])
        .arg(&store)
        .arg(&fixture)
        .args(["--export-weight", "memory", "--export", "collapsed"])
        .arg(&from_file));
    assert_eq!(code(&output), 0, "{stderr}");
    let (output, _, stderr) = run(bin()
        .args(["saved", "--store"])
        .arg(&store)
        .args(["show", "base", "--export-weight", "memory", "--export", "collapsed"])
        .arg(&from_saved));
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stderr.contains("wrote the collapsed stacks (memory allocated)"), "{stderr}");
    let saved_text = std::fs::read_to_string(&from_saved).unwrap();
    assert!(!saved_text.trim().is_empty());
    assert_eq!(saved_text, std::fs::read_to_string(&from_file).unwrap(), "a saved profile keeps its call paths");
}

#[test]
fn a_profile_without_call_paths_says_why_and_how_to_get_them() {
    let project = TempProject::new();
    let target = project.path().join("out.svg");
    let (output, _, stderr) =
        run(bin().arg("show").arg(support::scalene_fixture("2.4.0", "cpu_bound_cpu_only")).arg("--flamegraph").arg(&target));
    assert_eq!(code(&output), 4, "the input is the problem: {stderr}");
    assert!(stderr.contains("this profile has no call paths") && stderr.contains("Scalene >= 2.3"), "{stderr}");
    assert!(!target.exists());
    // Memory stacks from a profile that has only CPU stacks.
    let (output, _, stderr) = run(bin()
        .arg("show")
        .arg(support::scalene_fixture("2.4.0", "call_paths"))
        .args(["--export-weight", "memory", "--export", "speedscope"])
        .arg(project.path().join("out.json")));
    assert_eq!(code(&output), 4, "{stderr}");
    assert!(stderr.contains("no memory stacks") && stderr.contains("--mode memory"), "{stderr}");
    assert_eq!(sorted_entries(project.path()), ["pyproject.toml"]);
}

#[test]
fn a_target_that_cannot_be_written_is_refused_before_the_run() {
    let project = TempProject::new();
    let missing = project.path().join("no/such/folder/out.svg");
    // A python that does not exist: the run would fail with exit 3, so exit 2 shows nothing ran.
    let (output, _, stderr) = run(bin()
        .args(["profile", "--python", "/nonexistent/python"])
        .arg(support::program("call_paths/main.py"))
        .arg("--flamegraph")
        .arg(&missing));
    assert_eq!(code(&output), 2, "{stderr}");
    assert!(stderr.contains("does not exist") && stderr.contains("mkdir -p"), "{stderr}");
    let fixture = support::scalene_fixture("2.4.0", "call_paths");
    let (output, _, stderr) = run(bin().arg("show").arg(&fixture).args(["--export", "svg"]).arg(project.path().join("x")));
    assert_eq!(code(&output), 2, "{stderr}");
    assert!(stderr.contains("unknown export format \"svg\"") && stderr.contains("speedscope"), "{stderr}");
    let (output, _, stderr) = run(bin().arg("show").arg(&fixture).args(["--export", "collapsed"]).arg(project.path()));
    assert_eq!(code(&output), 2, "{stderr}");
    assert!(stderr.contains("it is a folder"), "{stderr}");
}
