//! Exports of the captured real Scalene 2.4.0 profiles with stacks (fixtures/scalene/2.4.0), checked
//! against the call paths they come from and, for speedscope, against speedscope's published schema.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::*;
use crate::engine::profile::parse::parse_profile;

const WITH_STACKS: [&str; 4] = ["call_paths", "call_paths_memory", "recursion", "many_modules_stacks"];

fn profile(name: &str) -> Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scalene/2.4.0").join(format!("{name}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    parse_profile(&bytes).unwrap()
}

fn paths(profile: &Profile) -> &CallPaths {
    profile.call_paths.as_deref().expect("the fixture has stacks")
}

/// (chain, count) of each folded line.
fn parse_folded(lines: &[String]) -> Vec<(String, u64)> {
    lines
        .iter()
        .map(|line| {
            let (chain, count) = line.rsplit_once(' ').expect("`chain count`");
            (chain.to_owned(), count.parse().expect("a whole count"))
        })
        .collect()
}

#[test]
fn collapsed_counts_sum_to_the_cpu_samples_and_keep_each_frames_line() {
    for name in WITH_STACKS {
        let profile = profile(name);
        let paths = paths(&profile);
        let text = collapsed(paths, Weight::Cpu);
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let folded = parse_folded(&lines);
        let sum: u64 = folded.iter().map(|(_, count)| count).sum();
        assert_eq!(sum as f64, paths.total(Weight::Cpu), "{name}");
        assert!(lines.windows(2).all(|pair| pair[0] < pair[1]), "{name}: sorted, each chain once");
        assert!(folded.iter().all(|(chain, _)| !chain.is_empty() && !chain.contains('\n')), "{name}");
    }
    let profile = profile("call_paths");
    let text = collapsed(paths(&profile), Weight::Cpu);
    // score() in helpers.py is called from both batches, on their own lines.
    let score_callers: HashSet<&str> = text
        .lines()
        .filter(|line| line.contains(";score (helpers.py:"))
        .filter_map(|line| line.split(';').find(|frame| frame.contains("_batch (main.py:")))
        .map(|frame| frame.split(' ').next().unwrap())
        .collect();
    assert_eq!(score_callers, HashSet::from(["light_batch", "heavy_batch"]), "{text}");
}

#[test]
fn function_labels_merge_a_functions_call_sites() {
    let profile = profile("call_paths");
    let paths = paths(&profile);
    let by_function = parse_folded(&folded(paths, Weight::Cpu, Labels::Function));
    let by_line = parse_folded(&folded(paths, Weight::Cpu, Labels::Line));
    assert!(by_function.len() <= by_line.len(), "{by_function:?}");
    assert_eq!(by_function.iter().map(|(_, count)| count).sum::<u64>(), by_line.iter().map(|(_, count)| count).sum::<u64>());
    assert!(by_function.iter().all(|(chain, _)| !chain.contains(".py:")), "{by_function:?}");
}

#[test]
fn memory_stacks_fold_in_kilobytes() {
    let profile = profile("call_paths_memory");
    let paths = paths(&profile);
    let folded = parse_folded(&folded(paths, Weight::Memory, Labels::Line));
    assert!(!folded.is_empty());
    let kb: u64 = folded.iter().map(|(_, count)| count).sum();
    let expected = paths.total(Weight::Memory) * 1024.0;
    // Each distinct chain's count is rounded once.
    assert!((kb as f64 - expected).abs() <= 0.5 * folded.len() as f64, "{kb} KB vs {expected}");
}

fn speedscope_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/speedscope-file-format-schema.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn speedscope_files_satisfy_speedscopes_schema_and_weigh_the_total() {
    let validator = speedscope_validator();
    for (name, weight) in WITH_STACKS.map(|name| (name, Weight::Cpu)).into_iter().chain([("call_paths_memory", Weight::Memory)]) {
        let profile = profile(name);
        let paths = paths(&profile);
        let json: Value = serde_json::from_slice(&export(&profile, ExportFormat::Speedscope, weight).unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&json).map(|err| format!("{} at {}", err, err.instance_path())).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(json["$schema"], SPEEDSCOPE_SCHEMA);
        let sampled = &json["profiles"][0];
        assert_eq!(sampled["type"], "sampled");
        let n_frames = json["shared"]["frames"].as_array().unwrap().len();
        let samples = sampled["samples"].as_array().unwrap();
        let weights = sampled["weights"].as_array().unwrap();
        assert_eq!(samples.len(), weights.len(), "{name}");
        assert!(samples.iter().flat_map(|sample| sample.as_array().unwrap()).all(|frame| (frame.as_u64().unwrap() as usize) < n_frames));
        let sum: f64 = weights.iter().map(|weight| weight.as_f64().unwrap()).sum();
        let (unit, expected) = match weight {
            Weight::Cpu => ("none", paths.total(Weight::Cpu)),
            Weight::Memory => ("bytes", paths.total(Weight::Memory) * BYTES_PER_MB),
        };
        assert_eq!(sampled["unit"], unit);
        assert!((sum - expected).abs() <= 1e-6 * expected.max(1.0), "{name}: {sum} vs {expected}");
        assert_eq!(sampled["endValue"].as_f64().unwrap(), sum);
    }
    // Frames carry the function's name, its file and the frame's line.
    let profile = profile("call_paths");
    let json: Value = serde_json::from_slice(&export(&profile, ExportFormat::Speedscope, Weight::Cpu).unwrap()).unwrap();
    let score = json["shared"]["frames"].as_array().unwrap().iter().find(|frame| frame["name"] == "score").unwrap();
    assert!(score["file"].as_str().unwrap().ends_with("fixtures/programs/call_paths/helpers.py"), "{score}");
    assert!(score["line"].as_u64().unwrap() > 0);
}

#[test]
fn cpuprofiles_are_a_consistent_tree_with_a_sample_per_cpu_sample() {
    for name in WITH_STACKS {
        let profile = profile(name);
        let paths = paths(&profile);
        let json: Value = serde_json::from_slice(&export(&profile, ExportFormat::Cpuprofile, Weight::Cpu).unwrap()).unwrap();
        let nodes = json["nodes"].as_array().unwrap();
        let ids: HashSet<u64> = nodes.iter().map(|node| node["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.len(), nodes.len(), "{name}: ids are unique");
        assert_eq!(nodes[0]["callFrame"]["functionName"], "(root)");
        // Every node but the root has exactly one parent, and every child is a node.
        let mut parents: BTreeMap<u64, u32> = BTreeMap::new();
        for node in nodes {
            for child in node["children"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let child = child.as_u64().unwrap();
                assert!(ids.contains(&child), "{name}: child {child} is a node");
                *parents.entry(child).or_default() += 1;
            }
        }
        assert_eq!(parents.len(), nodes.len() - 1, "{name}: every node but the root is someone's child");
        assert!(parents.values().all(|count| *count == 1) && !parents.contains_key(&1), "{name}");
        let samples = json["samples"].as_array().unwrap();
        let deltas = json["timeDeltas"].as_array().unwrap();
        assert_eq!(samples.len(), deltas.len(), "{name}");
        assert!(samples.iter().all(|id| ids.contains(&id.as_u64().unwrap())), "{name}: every sample is a node");
        assert_eq!(samples.len() as f64, paths.total(Weight::Cpu), "{name}");
        let hits: u64 = nodes.iter().map(|node| node["hitCount"].as_u64().unwrap()).sum();
        assert_eq!(hits as usize, samples.len(), "{name}");
        let elapsed: u64 = deltas.iter().map(|delta| delta.as_u64().unwrap()).sum();
        assert_eq!(json["endTime"].as_u64().unwrap() - json["startTime"].as_u64().unwrap(), elapsed, "{name}");
    }
    // Lines are 0-based, files are file URLs.
    let profile = profile("call_paths");
    let json: Value = serde_json::from_slice(&export(&profile, ExportFormat::Cpuprofile, Weight::Cpu).unwrap()).unwrap();
    let paths = paths(&profile);
    let score = json["nodes"].as_array().unwrap().iter().find(|node| node["callFrame"]["functionName"] == "score").unwrap();
    let url = score["callFrame"]["url"].as_str().unwrap();
    assert!(url.starts_with("file:///") && url.ends_with("/helpers.py"), "{url}");
    let line = score["callFrame"]["lineNumber"].as_i64().unwrap() + 1;
    assert!(
        paths.frames.iter().any(|frame| paths.function(frame.function).name == "score" && frame.line == Some(line as u32)),
        "line {line} is one of score's frames"
    );
    // One node per function under its caller (main once, however many lines it called from), its own
    // samples per line as positionTicks.
    let nodes = json["nodes"].as_array().unwrap();
    let mains: Vec<&Value> = nodes.iter().filter(|node| node["callFrame"]["functionName"] == "main").collect();
    assert_eq!(mains.len(), 1, "main is one node: {mains:?}");
    for node in nodes {
        let names: Vec<&Value> = node["children"].as_array().map(Vec::as_slice).unwrap_or_default().iter()
            .map(|child| &nodes.iter().find(|n| &n["id"] == child).unwrap()["callFrame"]["functionName"]).collect();
        assert!(names.iter().all(|name| names.iter().filter(|other| other == &name).count() == 1), "siblings are distinct functions: {names:?}");
        if let Some(ticks) = node["positionTicks"].as_array() {
            let sum: u64 = ticks.iter().map(|tick| tick["ticks"].as_u64().unwrap()).sum();
            assert_eq!(sum, node["hitCount"].as_u64().unwrap(), "{node}");
            assert!(ticks.iter().all(|tick| tick["line"].as_u64().unwrap() >= 1), "1-based lines");
        }
    }
    let scores = nodes.iter().filter(|node| node["callFrame"]["functionName"] == "score");
    assert!(scores.clone().any(|node| node["positionTicks"].as_array().is_some_and(|ticks| !ticks.is_empty())), "score's own samples on its lines");
}

#[test]
fn the_flame_graph_is_inferno_svg_naming_the_program_and_its_functions() {
    let profile = profile("call_paths");
    let svg = String::from_utf8(export(&profile, ExportFormat::Flamegraph, Weight::Cpu).unwrap()).unwrap();
    assert!(svg.starts_with("<?xml"), "{}", &svg[..100]);
    for needle in ["main.py", "samples", "score (helpers.py)", "light_batch (main.py)", "heavy_batch (main.py)"] {
        assert!(svg.contains(needle), "{needle} in the SVG");
    }
    let memory = profile_memory_svg();
    assert!(memory.contains("KB"), "the memory graph counts KB");
}

fn profile_memory_svg() -> String {
    String::from_utf8(export(&profile("call_paths_memory"), ExportFormat::Flamegraph, Weight::Memory).unwrap()).unwrap()
}

#[test]
fn a_profile_without_what_an_export_needs_says_so_and_how_to_fix_it() {
    let no_stacks = profile("cpu_bound_cpu_only");
    assert!(no_stacks.call_paths.is_none());
    for format in ExportFormat::ALL {
        let err = export(&no_stacks, format, Weight::Cpu).unwrap_err();
        assert_eq!(err.kind(), "cannot_export");
        let message = err.to_string();
        assert!(message.contains("no call paths") && message.contains("Scalene >= 2.3"), "{message}");
    }
    let cpu_only = profile("call_paths");
    let message = export(&cpu_only, ExportFormat::Speedscope, Weight::Memory).unwrap_err().to_string();
    assert!(message.contains("no memory stacks") && message.contains("--mode memory"), "{message}");
    let message = export(&profile("call_paths_memory"), ExportFormat::Cpuprofile, Weight::Memory).unwrap_err().to_string();
    assert!(message.contains("CPU time samples only"), "{message}");
}

#[test]
fn formats_parse_by_name_and_paths_become_file_urls() {
    for format in ExportFormat::ALL {
        assert_eq!(format.as_str().parse::<ExportFormat>(), Ok(format));
    }
    assert!("svg".parse::<ExportFormat>().unwrap_err().contains("speedscope, collapsed, cpuprofile"));
    assert_eq!(file_url(Path::new("/p/my app/ü.py")), "file:///p/my%20app/%C3%BC.py");
}
