//! Call paths from captured real Scalene 2.4.0 runs with stacks (scripts/capture-fixtures, WITH_STACKS),
//! checked against the raw JSON read independently.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::engine::profile::call_paths::{CallPaths, MAX_DEPTH, Weight};
use crate::engine::profile::parse::parse_profile;
use crate::engine::profile::schema::{ProfileJson, read_json};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scalene/2.4.0").join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The callers of `name` in the raw `combined_stacks`: (caller, call line) → hits, each stack once.
fn raw_callers(raw: &Value, name: &str) -> BTreeMap<(String, u64), f64> {
    let mut callers = BTreeMap::new();
    for entry in raw["combined_stacks"].as_array().unwrap() {
        let frames = entry[0].as_array().unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for pair in frames.windows(2) {
            if pair[0]["kind"] == "py" && pair[1]["kind"] == "py" && pair[1]["display_name"] == name {
                seen.insert((pair[0]["display_name"].as_str().unwrap().to_owned(), pair[0]["line"].as_u64().unwrap()));
            }
        }
        for key in seen {
            *callers.entry(key).or_insert(0.0) += entry[1].as_f64().unwrap();
        }
    }
    callers
}

fn paths_of(name: &str) -> (CallPaths, Value) {
    let bytes = fixture(name);
    let profile = parse_profile(&bytes).unwrap();
    let raw: Value = serde_json::from_slice(&bytes).unwrap();
    ((*profile.call_paths.expect("the fixture has stacks")).clone(), raw)
}

#[test]
fn a_helper_called_from_two_places_has_both_callers_with_their_samples() {
    let (paths, raw) = paths_of("call_paths");
    let file = Path::new(raw["files"].as_object().unwrap().keys().find(|path| path.ends_with("helpers.py")).unwrap());
    let score = paths.find(file, "score");
    assert_eq!(score.len(), 1);
    let callers: BTreeMap<(String, u64), f64> = paths
        .incoming(Weight::Cpu, &score)
        .iter()
        .map(|edge| ((paths.function(edge.function).name.clone(), u64::from(edge.call_line.unwrap())), edge.weight))
        .collect();
    assert_eq!(callers, raw_callers(&raw, "score"));
    let incoming = paths.incoming(Weight::Cpu, &score);
    assert_eq!(paths.function(incoming[0].function).name, "heavy_batch", "the costlier caller first");
    let total_hits: f64 = raw["combined_stacks"].as_array().unwrap().iter().map(|entry| entry[1].as_f64().unwrap()).sum();
    assert_eq!(paths.total(Weight::Cpu), total_hits);
}

#[test]
fn native_frames_become_one_leaf_of_real_work() {
    let (paths, _) = paths_of("call_paths");
    for stack in &paths.cpu {
        let natives = stack.frames.iter().filter(|frame| paths.function(paths.frame(**frame).function).is_native()).count();
        assert!(natives <= 1, "at most one native frame per stack");
        if natives == 1 {
            let leaf = paths.function(paths.frame(*stack.frames.last().unwrap()).function);
            assert!(leaf.is_native(), "the native frame is the leaf");
            assert!(!leaf.name.starts_with("_PyEval_") && !leaf.name.is_empty(), "{leaf:?}");
        }
    }
    assert!(paths.functions.iter().any(|function| function.is_native()), "the run spent time in native code");
}

#[test]
fn memory_stacks_weigh_megabytes_and_name_the_allocating_function() {
    let (paths, raw) = paths_of("call_paths_memory");
    let raw_total: f64 = raw["memory_stacks"].as_array().unwrap().iter().map(|entry| entry[1].as_f64().unwrap()).sum();
    assert!((paths.total(Weight::Memory) - raw_total).abs() < 1e-6);
    let top = &paths.memory[0];
    let names: Vec<&str> = top.frames.iter().map(|frame| paths.function(paths.frame(*frame).function).name.as_str()).collect();
    assert!(names.iter().any(|name| name.starts_with("keep")), "{names:?}");
    assert_ne!(names[names.len() - 1..], names[names.len() - 2..names.len() - 1], "the repeated last frame is dropped");
}

#[test]
fn deep_recursion_keeps_the_innermost_frames_and_says_so() {
    let (paths, raw) = paths_of("recursion");
    let deepest = raw["combined_stacks"].as_array().unwrap().iter().map(|entry| entry[0].as_array().unwrap().len()).max().unwrap();
    assert!(deepest > MAX_DEPTH);
    assert!(paths.cpu.iter().all(|stack| stack.frames.len() <= MAX_DEPTH));
    assert!(paths.notes.iter().any(|note| note.contains("innermost")), "{:?}", paths.notes);
    let file = Path::new(raw["program"].as_str().unwrap());
    let descend = paths.find(file, "descend");
    assert!(paths.incoming(Weight::Cpu, &descend).iter().any(|edge| edge.function == descend[0]), "descend calls itself");
}

#[test]
fn the_timeline_points_at_kept_stacks_in_time_order() {
    let (paths, raw) = paths_of("call_paths");
    assert!(!paths.timeline.is_empty());
    assert!(paths.timeline.iter().all(|run| (run.stack as usize) < paths.cpu.len()));
    assert!(paths.timeline.windows(2).all(|pair| pair[0].t_s <= pair[1].t_s));
    let raw_samples: u64 = raw["combined_stacks_timeline"].as_array().unwrap().iter().map(|run| run["count"].as_u64().unwrap()).sum();
    assert_eq!(paths.timeline.iter().map(|run| u64::from(run.count)).sum::<u64>(), raw_samples);
}

#[test]
fn a_profile_without_stacks_has_no_call_paths() {
    assert!(parse_profile(&fixture("cpu_bound_cpu_only")).unwrap().call_paths.is_none());
    let older = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scalene/2.0.1/cpu_bound.json");
    assert!(parse_profile(&std::fs::read(older).unwrap()).unwrap().call_paths.is_none(), "Scalene 2.0 records no stacks");
}

#[test]
fn a_malformed_stack_section_costs_the_call_paths_a_note_not_the_profile() {
    let mut raw: Value = serde_json::from_slice(&fixture("call_paths")).unwrap();
    raw["combined_stacks"] = serde_json::json!([[[{"kind": "py", "line": "x"}], 3]]);
    raw["memory_stacks"] = serde_json::json!("not stacks");
    raw["combined_stacks_timeline"] = serde_json::json!([{"t_sec": 0.0, "stack_index": 99, "count": 1}]);
    let profile = parse_profile(&serde_json::to_vec(&raw).unwrap()).unwrap();
    assert!(profile.call_paths.is_none());
    assert!(!profile.files.is_empty());
    assert!(profile.notes.iter().any(|note| note.contains("`combined_stacks` could not be read")), "{:?}", profile.notes);
    assert!(profile.notes.iter().any(|note| note.contains("`memory_stacks` could not be read")), "{:?}", profile.notes);
}

#[test]
fn frames_without_lines_names_or_modules_are_kept_as_what_they_are() {
    let mut raw: Value = serde_json::from_slice(&fixture("call_paths")).unwrap();
    raw["combined_stacks"] = serde_json::json!([
        [[{"kind": "py", "display_name": "main", "filename_or_module": "/p/a.py", "line": null},
          {"kind": "py", "display_name": "", "filename_or_module": "/p/a.py", "line": -3},
          {"kind": "native", "display_name": "crunch", "filename_or_module": "", "ip": 1, "offset": 0},
          {"kind": "weird"}], 2]
    ]);
    raw["combined_stacks_timeline"] = serde_json::json!([{"t_sec": 0.0, "stack_index": 5, "count": 1}]);
    let paths = parse_profile(&serde_json::to_vec(&raw).unwrap()).unwrap().call_paths.unwrap();
    let frames: Vec<(String, Option<u32>)> = paths.cpu[0]
        .frames
        .iter()
        .map(|frame| (paths.function(paths.frame(*frame).function).label(), paths.frame(*frame).line))
        .collect();
    assert_eq!(frames, [("main (a.py)".into(), None), ("<unknown> (a.py)".into(), None), ("crunch (native)".into(), None)]);
    assert!(paths.timeline.is_empty(), "an index out of range names nothing");
}

#[test]
fn call_paths_survive_the_normalized_json() {
    let profile = parse_profile(&fixture("call_paths_memory")).unwrap();
    let json = serde_json::to_vec(&ProfileJson::from(&profile)).unwrap();
    let back = read_json::<ProfileJson>(&json).unwrap().into_profile();
    let (before, after) = (profile.call_paths.unwrap(), back.call_paths.unwrap());
    for weight in [Weight::Cpu, Weight::Memory] {
        assert_eq!(readable(&after, weight), readable(&before, weight));
    }
    assert_eq!(after.timeline, before.timeline);
}

#[test]
fn repeated_runs_average_each_stack_and_keep_the_last_timeline() {
    let one = parse_profile(&fixture("call_paths")).unwrap().call_paths.unwrap();
    let two = parse_profile(&fixture("call_paths_memory")).unwrap().call_paths.unwrap();
    let mean = CallPaths::mean_of(&[&one, &two], 2).unwrap();
    assert!((mean.total(Weight::Cpu) - (one.total(Weight::Cpu) + two.total(Weight::Cpu)) / 2.0).abs() < 1e-9);
    assert!((mean.total(Weight::Memory) - two.total(Weight::Memory) / 2.0).abs() < 1e-9);
    let samples = |paths: &CallPaths| paths.timeline.iter().map(|run| run.count).sum::<u32>();
    assert_eq!(samples(&mean), samples(&two));
    for run in &mean.timeline {
        assert!((run.stack as usize) < mean.cpu.len());
    }
    let first_of_two = two.timeline[0];
    assert_eq!(
        mean.readable_stack(&mean.cpu[mean.timeline[0].stack as usize]),
        two.readable_stack(&two.cpu[first_of_two.stack as usize])
    );
}

/// Each stack as (label, line) pairs and its weight: what a user sees, whatever the interning order.
type Readable = Vec<(Vec<(String, Option<u32>)>, f64)>;

fn readable(paths: &CallPaths, weight: Weight) -> Readable {
    paths.stacks(weight).iter().map(|stack| (paths.readable_stack(stack), stack.weight)).collect()
}
