//! Parser tests over the captured real Scalene output (fixtures/scalene/<version>/, made by
//! scripts/capture-fixtures), each model field checked against the raw JSON read independently.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::engine::profile::model::RunStatus;

fn fixtures(version: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scalene").join(version);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json") && !path.ends_with("MANIFEST.json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "expected the captured fixtures in {}", dir.display());
    paths
}

fn fixture(version: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scalene").join(version).join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn f(value: &Value, key: &str) -> f64 {
    value.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// The normalized-schema metrics of a raw line, in schema order, for the "any non-zero" rule.
type FieldGetter = fn(&LineStats) -> f64;

const LINE_FIELDS: [(&str, FieldGetter); 13] = [
    ("n_cpu_percent_python", |l| l.metrics.cpu_python),
    ("n_cpu_percent_c", |l| l.metrics.cpu_native),
    ("n_sys_percent", |l| l.metrics.cpu_system),
    ("n_core_utilization", |l| l.metrics.core_utilization),
    ("n_peak_mb", |l| l.metrics.peak_mb),
    ("n_avg_mb", |l| l.metrics.avg_mb),
    ("n_malloc_mb", |l| l.metrics.alloc_mb),
    ("n_mallocs", |l| l.metrics.mallocs),
    ("n_python_fraction", |l| l.metrics.python_fraction),
    ("n_usage_fraction", |l| l.metrics.usage_fraction),
    ("n_copy_mb_s", |l| l.metrics.copy_mb_s),
    ("n_gpu_percent", |l| l.metrics.gpu_percent),
    ("n_gpu_peak_memory_mb", |l| l.metrics.gpu_peak_mb),
];

/// Checks every mapped field of a parsed fixture against its raw JSON.
fn check_against_raw(name: &str, bytes: &[u8]) {
    let raw: Value = serde_json::from_slice(bytes).unwrap();
    let profile = parse_profile(bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
    if raw.as_object().unwrap().is_empty() {
        assert_eq!(profile.status, RunStatus::TooShort, "{name}");
        assert!(profile.files.is_empty());
        return;
    }
    assert_eq!(profile.status, RunStatus::Ok, "{name}");
    assert_eq!(profile.elapsed_s, f(&raw, "elapsed_time_sec"), "{name}: elapsed_s");
    assert!(profile.elapsed_s > 0.0, "{name}: a real run has a duration");
    assert_eq!(profile.peak_mb, f(&raw, "max_footprint_mb"), "{name}: peak_mb");
    assert_eq!(profile.memory, raw["memory"].as_bool().unwrap(), "{name}: memory");
    assert_eq!(profile.gpu, raw["gpu"].as_bool().unwrap(), "{name}: gpu");
    assert_eq!(profile.program, raw["program"].as_str().unwrap(), "{name}: program");
    let raw_args: Vec<&str> = raw["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(profile.args, raw_args[1..], "{name}: args are argv without the program");
    match (raw["max_footprint_fname"].as_str(), raw["max_footprint_lineno"].as_u64()) {
        (Some(file), Some(line)) if !file.is_empty() && line > 0 => {
            let at = profile.peak_at.as_ref().unwrap_or_else(|| panic!("{name}: peak_at"));
            assert_eq!((at.file.to_str().unwrap(), at.line as u64), (file, line), "{name}: peak_at");
        }
        _ => assert!(profile.peak_at.is_none(), "{name}: peak_at"),
    }
    let raw_samples = raw["samples"].as_array().map_or(0, Vec::len);
    assert_eq!(profile.timeline.len(), raw_samples.min(TIMELINE_POINTS), "{name}: timeline");

    let raw_files = raw["files"].as_object().unwrap();
    assert_eq!(profile.files.len(), raw_files.len(), "{name}: file count");
    for (path, raw_file) in raw_files {
        let file = profile.file(Path::new(path)).unwrap_or_else(|| panic!("{name}: file {path}"));
        assert_eq!(file.cpu_percent, f(raw_file, "percent_cpu_time"), "{name}: {path} cpu_percent");
        let raw_lines = raw_file["lines"].as_array().unwrap();
        let mut n_active = 0;
        for raw_line in raw_lines {
            let lineno = raw_line["lineno"].as_u64().unwrap() as u32;
            let active = LINE_FIELDS.iter().any(|(key, _)| f(raw_line, key) != 0.0);
            let Some(line) = file.line(lineno) else {
                assert!(!active, "{name}: {path}:{lineno} has activity but was dropped");
                continue;
            };
            assert!(active, "{name}: {path}:{lineno} has no activity but was kept");
            n_active += 1;
            for (key, get) in LINE_FIELDS {
                assert_eq!(get(line), f(raw_line, key), "{name}: {path}:{lineno} {key}");
            }
            assert_eq!(line.metrics.gpu_avg_mb, f(raw_line, "n_gpu_avg_memory_mb"));
            let raw_text = raw_line["line"].as_str().unwrap().trim_end_matches('\n');
            assert_eq!(line.text, raw_text.replace("\\u0026", "&").replace("\\u003c", "<").replace("\\u003e", ">"));
            let n_samples = raw_line["memory_samples"].as_array().map_or(0, Vec::len);
            assert_eq!(line.memory_timeline.len(), n_samples.min(LINE_TIMELINE_POINTS), "{name}: {path}:{lineno}");
        }
        assert_eq!(file.lines.len(), n_active, "{name}: {path}");
        assert!(file.lines.windows(2).all(|pair| pair[0].line < pair[1].line), "{name}: lines sorted");

        // Functions: totals are sums over the function's lines, never below Scalene's own (under-counted) totals.
        let raw_functions = raw_file["functions"].as_array().unwrap();
        assert_eq!(file.functions.len(), raw_functions.len(), "{name}: {path} functions");
        for raw_function in raw_functions {
            let def_line = raw_function["lineno"].as_u64().unwrap() as u32;
            let function = file
                .functions
                .iter()
                .find(|function| function.line == def_line)
                .unwrap_or_else(|| panic!("{name}: {path} function at {def_line}"));
            assert_eq!(function.name, raw_function["line"].as_str().unwrap());
            let in_range: Vec<&Value> = raw_lines
                .iter()
                .filter(|l| (function.line..=function.end_line).contains(&(l["lineno"].as_u64().unwrap() as u32)))
                .collect();
            let sum = |key: &str| in_range.iter().map(|l| f(l, key)).sum::<f64>();
            assert!((function.cpu_python - sum("n_cpu_percent_python")).abs() < 1e-9);
            assert!((function.cpu_native - sum("n_cpu_percent_c")).abs() < 1e-9);
            assert!((function.cpu_system - sum("n_sys_percent")).abs() < 1e-9);
            assert!((function.alloc_mb - sum("n_malloc_mb")).abs() < 1e-9);
            let max_peak = in_range.iter().map(|l| f(l, "n_peak_mb")).fold(0.0, f64::max);
            assert_eq!(function.peak_mb, max_peak);
            let scalene_cpu = f(raw_function, "n_cpu_percent_python") + f(raw_function, "n_cpu_percent_c") + f(raw_function, "n_sys_percent");
            assert!(
                function.cpu_total() + 1e-6 >= scalene_cpu,
                "{name}: {} sums to {} < Scalene's {scalene_cpu}",
                function.name,
                function.cpu_total()
            );
        }

        let raw_leaks = raw_file["leaks"].as_object().unwrap();
        assert_eq!(file.leaks.len(), raw_leaks.len(), "{name}: leaks");
        for (lineno, raw_leak) in raw_leaks {
            let leak = file.leak(lineno.parse().unwrap()).unwrap();
            assert_eq!(leak.likelihood, f(raw_leak, "likelihood"));
            assert_eq!(leak.velocity_mb_s, f(raw_leak, "velocity_mb_s"));
        }
    }
}

#[test]
fn every_field_of_every_scalene_2_4_fixture_maps_exactly() {
    for path in fixtures("2.4.0") {
        check_against_raw(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
}

#[test]
fn every_field_of_every_scalene_2_0_fixture_maps_exactly() {
    for path in fixtures("2.0.1") {
        check_against_raw(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
}

#[test]
fn function_ranges_come_from_scalene_2_4_keys_and_2_0_regions() {
    for version in ["2.4.0", "2.0.1"] {
        let profile = parse_profile(&fixture(version, "cpu_bound")).unwrap();
        let file = &profile.files[0];
        let ranges: Vec<(&str, u32, u32)> =
            file.functions.iter().map(|function| (function.name.as_str(), function.line, function.end_line)).collect();
        assert_eq!(ranges, [("python_loop", 5, 9), ("native_sort", 12, 17)], "Scalene {version}");
        // The loop's two lines share its samples; the function total holds both (Scalene's own holds one).
        let python_loop = &file.functions[0];
        let body: f64 = file.lines_in(5..=9).iter().map(LineStats::cpu_total).sum();
        assert!((python_loop.cpu_total() - body).abs() < 1e-9, "{} != {body}", python_loop.cpu_total());
        assert!(file.lines_in(7..=8).iter().map(LineStats::cpu_total).sum::<f64>() > 0.9 * body);
    }
}

#[test]
fn methods_keep_their_qualified_names() {
    let profile = parse_profile(&fixture("2.4.0", "multi_module")).unwrap();
    let geometry = profile.files.iter().find(|file| file.path.ends_with("pkg/geometry.py")).unwrap();
    let names: Vec<&str> = geometry.functions.iter().map(|function| function.name.as_str()).collect();
    assert!(names.contains(&"Circle.area"), "{names:?}");
}

#[test]
fn one_profile_covers_every_local_module() {
    let profile = parse_profile(&fixture("2.4.0", "multi_module")).unwrap();
    let names: Vec<String> = profile.files.iter().map(|file| file.path.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.contains(&"geometry.py".to_string()) && names.contains(&"text.py".to_string()), "{names:?}");
}

#[test]
fn leaks_are_reported_with_likelihood_and_velocity() {
    let profile = parse_profile(&fixture("2.4.0", "leak")).unwrap();
    let leaks = &profile.files[0].leaks;
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    assert_eq!(leaks[0].line, 7, "the line that appends and never frees");
    assert!(leaks[0].likelihood >= 0.95 && leaks[0].velocity_mb_s > 0.0, "{leaks:?}");
}

#[test]
fn cpu_only_profiles_have_no_memory_numbers() {
    let profile = parse_profile(&fixture("2.4.0", "cpu_bound_cpu_only")).unwrap();
    assert!(!profile.memory);
    assert!(profile.files[0].lines.iter().all(|line| line.metrics.peak_mb == 0.0 && line.metrics.alloc_mb == 0.0));
    assert!(profile.files[0].lines.iter().any(|line| line.cpu_total() > 10.0));
}

#[test]
fn lines_in_range_is_a_slice_of_sorted_lines() {
    let profile = parse_profile(&fixture("2.4.0", "many_modules")).unwrap();
    let file = profile.files.iter().max_by_key(|file| file.lines.len()).unwrap();
    let (first, last) = (file.lines[0].line, file.lines.last().unwrap().line);
    assert_eq!(file.lines_in(0..=u32::MAX).len(), file.lines.len());
    assert_eq!(file.lines_in(first..=first).len(), 1);
    assert!(file.lines_in(last + 1..=last + 100).is_empty());
    let middle = file.lines[file.lines.len() / 2].line;
    assert!(file.lines_in(middle..=last).iter().all(|line| (middle..=last).contains(&line.line)));
}

// ---- Malformed input: the right error or status, never a panic ----

fn check_err(input: &[u8], expect: impl Fn(&ParseError) -> bool) {
    let result = parse_profile(input);
    match &result {
        Err(err) if expect(err) => {}
        _ => panic!("unexpected result for {:?}: {result:?}", String::from_utf8_lossy(&input[..input.len().min(80)])),
    }
}

#[test]
fn empty_object_is_too_short() {
    // The advice is the producer's to add (a run that ended on its own, a loaded file): see
    // `model::TOO_SHORT_ADVICE` and the runner and CLI tests.
    let profile = parse_profile(b"{}\n").unwrap();
    assert_eq!(profile.status, RunStatus::TooShort);
    assert!(profile.notes.is_empty(), "{:?}", profile.notes);
}

#[test]
fn empty_and_blank_files_are_empty_errors() {
    check_err(b"", |err| *err == ParseError::Empty);
    check_err(b"  \n", |err| *err == ParseError::Empty);
}

#[test]
fn truncated_file_is_reported_as_truncated() {
    let bytes = fixture("2.4.0", "cpu_bound");
    check_err(&bytes[..bytes.len() / 2], |err| matches!(err, ParseError::Truncated { .. }));
    assert!(parse_profile(&bytes[..bytes.len() / 2]).unwrap_err().to_string().contains("truncated"));
}

#[test]
fn not_json_and_not_a_profile() {
    check_err(b"<html>", |err| matches!(err, ParseError::Syntax { line: 1, column: 1, .. }));
    check_err(b"[1, 2]", |err| matches!(err, ParseError::NotAProfile { .. }));
    check_err(b"{\"hello\": 1, \"program\": \"x\"}", |err| matches!(err, ParseError::NotAProfile { .. }));
    check_err(b"\"text\"", |err| matches!(err, ParseError::NotAProfile { .. }));
}

fn modified(name: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut raw: Value = serde_json::from_slice(&fixture("2.4.0", name)).unwrap();
    edit(&mut raw);
    serde_json::to_vec(&raw).unwrap()
}

fn first_file(raw: &mut Value) -> &mut Value {
    raw["files"].as_object_mut().unwrap().values_mut().next().unwrap()
}

#[test]
fn wrong_types_name_the_field_path() {
    let bytes = modified("cpu_bound", |raw| first_file(raw)["lines"][6]["n_peak_mb"] = Value::from("lots"));
    let err = parse_profile(&bytes).unwrap_err();
    let ParseError::Field { path, message } = &err else { panic!("{err:?}") };
    assert!(path.starts_with("files.") && path.ends_with(".lines[6].n_peak_mb"), "{path}");
    assert!(message.contains("invalid type: string \"lots\""), "{message}");

    let bytes = modified("cpu_bound", |raw| raw["elapsed_time_sec"] = Value::from(true));
    check_err(&bytes, |err| matches!(err, ParseError::Field { path, .. } if path == "elapsed_time_sec"));

    let bytes = modified("cpu_bound", |raw| first_file(raw)["lines"][0]["lineno"] = Value::from(-3));
    check_err(&bytes, |err| matches!(err, ParseError::Field { path, .. } if path.ends_with(".lines[0].lineno")));

    let bytes = modified("leak", |raw| {
        first_file(raw)["leaks"] = serde_json::json!({"seven": {"likelihood": 1.0, "velocity_mb_s": 1.0}})
    });
    check_err(&bytes, |err| matches!(err, ParseError::Field { path, .. } if path.ends_with(".leaks.seven")));
}

#[test]
fn nan_and_infinity_become_zero_with_a_note() {
    let bytes = String::from_utf8(modified("cpu_bound", |raw| {
        first_file(raw)["lines"][7]["n_core_utilization"] = Value::from(123456.5)
    }))
    .unwrap()
    .replace("123456.5", "NaN")
    .replace("\"max_footprint_mb\":", "\"max_footprint_mb\":-Infinity,\"_was\":");
    let profile = parse_profile(bytes.as_bytes()).unwrap();
    assert_eq!(profile.files[0].line(8).unwrap().metrics.core_utilization, 0.0);
    assert_eq!(profile.peak_mb, 0.0);
    assert!(profile.notes.iter().any(|note| note.contains("2 value(s)")), "{:?}", profile.notes);
    // A string that merely contains the word is left alone.
    let bytes = modified("cpu_bound", |raw| raw["program"] = Value::from("/tmp/NaN Infinity.py"));
    assert_eq!(parse_profile(&bytes).unwrap().program, "/tmp/NaN Infinity.py");
}

#[test]
fn huge_values_are_kept_and_out_of_range_ones_rejected() {
    let bytes = modified("cpu_bound", |raw| first_file(raw)["lines"][7]["n_malloc_mb"] = Value::from(1e300));
    assert_eq!(parse_profile(&bytes).unwrap().files[0].line(8).unwrap().metrics.alloc_mb, 1e300);
    let text = String::from_utf8(modified("cpu_bound", |raw| raw["elapsed_time_sec"] = Value::from(4.25))).unwrap();
    let bytes = text.replace("4.25", "1e999");
    check_err(bytes.as_bytes(), |err| matches!(err, ParseError::Syntax { .. } | ParseError::Field { .. }));
    let bytes = modified("cpu_bound", |raw| first_file(raw)["lines"][0]["lineno"] = Value::from(u64::MAX));
    check_err(&bytes, |err| matches!(err, ParseError::Field { path, .. } if path.ends_with("lineno")));
}

#[test]
fn unknown_keys_are_ignored_and_missing_metrics_are_zero() {
    let bytes = modified("cpu_bound", |raw| {
        raw["a_future_key"] = serde_json::json!({"nested": [1, 2]});
        let line = first_file(raw)["lines"][7].as_object_mut().unwrap();
        line.insert("n_new_metric".into(), Value::from(5));
        line.remove("n_sys_percent");
    });
    let profile = parse_profile(&bytes).unwrap();
    assert_eq!(profile.files[0].line(8).unwrap().metrics.cpu_system, 0.0);
}

#[test]
fn escaped_source_characters_are_restored() {
    let bytes = modified("cpu_bound", |raw| {
        first_file(raw)["lines"][7]["line"] = Value::from("        if a \\u003c b \\u0026 c \\u003e d:\n")
    });
    let profile = parse_profile(&bytes).unwrap();
    assert_eq!(profile.files[0].line(8).unwrap().text, "        if a < b & c > d:");
}

#[test]
fn downsampling_keeps_the_peaks() {
    let points: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, if i == 517 { 99.0 } else { 1.0 })).collect();
    let kept = downsample(points, 32);
    assert_eq!(kept.len(), 32);
    assert!(kept.contains(&(517.0, 99.0)));
    assert!(kept.windows(2).all(|pair| pair[0].0 < pair[1].0));
}

#[test]
fn the_profiled_source_is_the_program_text() {
    for version in ["2.4.0", "2.0.1"] {
        let profile = parse_profile(&fixture(version, "cpu_bound")).unwrap();
        let on_disk = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/programs/cpu_bound.py")).unwrap();
        assert_eq!(&*profile.files[0].source, on_disk, "Scalene {version}");
    }
}
