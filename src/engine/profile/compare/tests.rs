//! The comparator on captured profiles of two versions of one program (compare_v1.py → compare_v2.py:
//! grow() ~3x slower and bigger, shrink() ~3x faster and smaller, steady() untouched, lines inserted
//! above all three), on a profile against itself and a shifted copy, and on the noise rule's cases.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::engine::profile::metrics::LineMetrics;
use crate::engine::profile::model::{FileSpread, LineStats, MetricSpread, RunStatus, Spread, Stat};

fn fixture(name: &str) -> Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/scalene/2.4.0/{name}.json"));
    crate::engine::profile::parse::parse_profile(&std::fs::read(path).unwrap()).unwrap()
}

fn versions() -> Comparison {
    compare(&fixture("compare_v1"), "v1", &fixture("compare_v2"), "v2", &NoiseRule::default())
}

/// The 1-based line of `needle` in a fixture program's text.
fn line_of(program: &str, needle: &str, nth: usize) -> u32 {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/programs").join(program)).unwrap();
    let found: Vec<u32> = text.lines().enumerate().filter(|(_, line)| line.contains(needle)).map(|(i, _)| i as u32 + 1).collect();
    found[nth]
}

fn line(comparison: &Comparison, after_line: u32) -> &LineChange {
    comparison.lines.iter().find(|line| line.after_line == Some(after_line)).unwrap_or_else(|| panic!("no line {after_line}"))
}

fn function<'a>(comparison: &'a Comparison, name: &str) -> &'a FunctionChange {
    comparison.functions.iter().find(|function| function.name == name).unwrap()
}

#[test]
fn two_versions_name_exactly_the_places_that_got_slower_and_faster_on_their_new_lines() {
    let comparison = versions();
    assert_eq!(comparison.files.len(), 1, "the two programs are matched as one file: {:?}", comparison.files);
    assert!(comparison.files[0].before_path.as_deref().is_some_and(|path| path.ends_with("compare_v1.py")));

    let grow = function(&comparison, "grow");
    assert_eq!((grow.verdict, grow.cpu, grow.memory), (Verdict::Regressed, Verdict::Regressed, Verdict::Regressed), "{grow:#?}");
    assert_eq!((grow.before_line, grow.after_line), (Some(line_of("compare_v1.py", "def grow", 0)), Some(line_of("compare_v2.py", "def grow", 0))));
    assert!(grow.after.as_ref().unwrap().cpu_s > 2.0 * grow.before.as_ref().unwrap().cpu_s, "{grow:#?}");
    let shrink = function(&comparison, "shrink");
    assert_eq!((shrink.verdict, shrink.cpu, shrink.memory), (Verdict::Improved, Verdict::Improved, Verdict::Improved), "{shrink:#?}");
    assert_eq!(function(&comparison, "steady").verdict, Verdict::Unchanged);

    // Lines: matched by content, so each sits on its new number with its old one.
    let grow_loop = line_of("compare_v2.py", "total += value * value % 7", 0);
    let grow_data = line_of("compare_v2.py", "data = list(range(n))", 0);
    let shrink_data = line_of("compare_v2.py", "data = [float(i)", 0);
    let shrink_loop = line_of("compare_v2.py", "total += value * 0.5 + 1.0", 0);
    let steady_loop = line_of("compare_v2.py", "total ^= i", 0);
    let regressed: Vec<u32> = comparison.lines.iter().filter(|l| l.verdict == Verdict::Regressed).filter_map(|l| l.after_line).collect();
    let improved: Vec<u32> = comparison.lines.iter().filter(|l| l.verdict == Verdict::Improved).filter_map(|l| l.after_line).collect();
    assert!(regressed.contains(&grow_loop) && regressed.contains(&grow_data), "{regressed:?}");
    assert!(improved.contains(&shrink_data) && improved.contains(&shrink_loop), "{improved:?}");
    let grow_fn = grow.after_line.unwrap()..=grow.after_line.unwrap() + 6;
    let shrink_fn = shrink.after_line.unwrap()..=shrink.after_line.unwrap() + 6;
    assert!(regressed.iter().all(|line| grow_fn.contains(line)), "only grow's lines regressed: {regressed:?}");
    assert!(improved.iter().all(|line| shrink_fn.contains(line)), "only shrink's lines improved: {improved:?}");
    let moved = line(&comparison, grow_loop);
    assert_eq!(moved.before_line, Some(line_of("compare_v1.py", "total += value * value % 7", 0)));
    assert_ne!(moved.before_line, moved.after_line, "the numbers shifted");
    assert_eq!(moved.source, "total += value * value % 7");
    assert_eq!(moved.function.as_deref(), Some("grow"));
    assert_eq!(line(&comparison, grow_data).memory, Verdict::Regressed, "grow allocates ~3x more");
    assert_eq!(line(&comparison, shrink_data).memory, Verdict::Improved, "shrink allocates ~3x less");
    let steady = line(&comparison, steady_loop);
    assert_eq!(steady.verdict, Verdict::Unchanged, "{steady:#?}");
    assert_eq!(steady.before_line, Some(line_of("compare_v1.py", "total ^= i", 0)));

    assert_eq!(comparison.summary.verdict, Verdict::Regressed);
    assert_eq!((comparison.summary.functions.regressed, comparison.summary.functions.improved), (1, 1));
    let text = &comparison.summary.text;
    assert!(text.contains("grow (compare_v2.py:") && text.contains("shrink (compare_v2.py:"), "{text}");
    assert!(text.len() < 800, "bounded: {text}");
}

#[test]
fn the_reverse_comparison_mirrors_the_verdicts() {
    let comparison = compare(&fixture("compare_v2"), "v2", &fixture("compare_v1"), "v1", &NoiseRule::default());
    assert_eq!(function(&comparison, "grow").verdict, Verdict::Improved);
    assert_eq!(function(&comparison, "shrink").verdict, Verdict::Regressed);
    assert_eq!(function(&comparison, "steady").verdict, Verdict::Unchanged);
}

#[test]
fn a_profile_against_itself_changes_nothing_and_lists_every_active_line() {
    for name in ["many_modules", "cpu_bound", "leak"] {
        let profile = fixture(name);
        let comparison = compare(&profile, "a", &profile, "b", &NoiseRule::default());
        let active: usize = profile.files.iter().map(|file| file.lines.len()).sum();
        assert_eq!(comparison.lines.len(), active, "{name}");
        assert!(comparison.lines.iter().all(|line| line.verdict == Verdict::Unchanged && line.before_line == line.after_line), "{name}");
        assert!(comparison.functions.iter().all(|f| f.verdict == Verdict::Unchanged), "{name}");
        assert_eq!(comparison.summary.verdict, Verdict::Unchanged, "{name}");
        assert!(comparison.notes.is_empty(), "{name}: {:?}", comparison.notes);
    }
}

/// A copy of `profile` whose files have `n` lines inserted at the top (numbers shift by `n`).
pub(crate) fn shifted(profile: &Profile, n: u32) -> Profile {
    let mut copy = profile.clone();
    for file in &mut copy.files {
        let inserted: String = (0..n).map(|i| format!("# inserted {i}\n")).collect();
        file.source = format!("{inserted}{}", file.source).into();
        for line in &mut file.lines {
            line.line += n;
        }
        for function in &mut file.functions {
            function.line += n;
            function.end_line += n;
        }
        for leak in &mut file.leaks {
            leak.line += n;
        }
    }
    copy
}

#[test]
fn inserted_lines_shift_the_numbers_and_keep_every_match() {
    let profile = fixture("big_file");
    let comparison = compare(&profile, "a", &shifted(&profile, 7), "b", &NoiseRule::default());
    assert_eq!(comparison.lines.len(), profile.files[0].lines.len());
    for line in &comparison.lines {
        assert_eq!(line.after_line, line.before_line.map(|n| n + 7));
        assert_eq!(line.verdict, Verdict::Unchanged);
    }
    assert!(comparison.functions.iter().all(|f| f.after_line == f.before_line.map(|n| n + 7)));
}

fn synthetic(lines: &[(u32, &str, f64, f64)], elapsed_s: f64) -> Profile {
    let mut profile = Profile::empty(RunStatus::Ok, "/p/app.py".into());
    profile.elapsed_s = elapsed_s;
    profile.memory = true;
    let n_lines = lines.iter().map(|l| l.0).max().unwrap_or(0);
    let mut source = vec![String::from("pass"); n_lines as usize];
    for (number, text, _, _) in lines {
        source[*number as usize - 1] = text.to_string();
    }
    profile.files = vec![FileProfile {
        path: "/p/app.py".into(),
        cpu_percent: lines.iter().map(|l| l.2).sum(),
        lines: lines
            .iter()
            .filter(|l| l.2 > 0.0 || l.3 > 0.0)
            .map(|(line, text, cpu, peak)| LineStats {
                line: *line,
                text: text.to_string(),
                metrics: LineMetrics { cpu_python: *cpu, peak_mb: *peak, alloc_mb: *peak, ..LineMetrics::default() },
                ..LineStats::default()
            })
            .collect(),
        functions: Vec::new(),
        leaks: Vec::new(),
        source: (source.join("\n") + "\n").into(),
    }];
    profile
}

#[test]
fn new_and_removed_lines_count_only_above_the_floors() {
    // 10 s runs: the CPU floor is 0.2 s.
    let before = synthetic(&[(1, "setup()", 10.0, 0.0), (2, "old_hot()", 40.0, 50.0), (3, "old_tiny()", 0.5, 0.0)], 10.0);
    let after = synthetic(&[(1, "setup()", 10.0, 0.0), (2, "new_hot_function_call(arg)", 30.0, 0.0), (3, "new_tiny_helper(x, y, z)", 0.5, 0.0)], 10.0);
    let comparison = compare(&before, "a", &after, "b", &NoiseRule::default());
    let verdicts: Vec<(Option<u32>, Option<u32>, Verdict)> = comparison.lines.iter().map(|l| (l.before_line, l.after_line, l.verdict)).collect();
    assert_eq!(
        verdicts,
        [(Some(1), Some(1), Verdict::Unchanged), (None, Some(2), Verdict::New), (Some(2), None, Verdict::Removed)],
        "the tiny replaced lines are left out"
    );
    assert!(comparison.notes.iter().any(|note| note.starts_with("2 new or removed")), "{:?}", comparison.notes);
    assert_eq!(comparison.summary.lines.new, 1);
}

#[test]
fn an_edited_line_is_compared_with_its_old_text() {
    let before = synthetic(&[(1, "for i in range(1_000):", 10.0, 0.0), (2, "    work(i)", 10.0, 0.0), (3, "steady()", 30.0, 0.0)], 10.0);
    let after = synthetic(&[(1, "for i in range(3_000):", 30.0, 0.0), (2, "    work(i)", 30.0, 0.0), (3, "steady()", 30.0, 0.0)], 10.0);
    let comparison = compare(&before, "a", &after, "b", &NoiseRule::default());
    let edited = line(&comparison, 1);
    assert_eq!(edited.before_line, Some(1));
    assert_eq!(edited.before_source.as_deref(), Some("for i in range(1_000):"));
    assert_eq!(edited.verdict, Verdict::Regressed);
    assert_eq!(line(&comparison, 2).before_source, None, "an unchanged line has no old text");
}

#[test]
fn the_rule_names_a_bad_value() {
    let rule = NoiseRule { min_mb: -1.0, ..NoiseRule::default() };
    assert!(rule.check().unwrap_err().contains("min_mb"));
    let rule = NoiseRule { error_rate_percent: 0.0, ..NoiseRule::default() };
    assert!(rule.check().unwrap_err().contains("error_rate_percent"));
}

#[test]
fn repeated_runs_pool_their_samples_and_judge_elapsed_time() {
    // work() 1.0 → 1.5 s, steady() 1.0 s on both sides; 10 s runs sampled every 0.01 s.
    let lines = |work: f64| vec![(1, "work()", work, 0.0), (2, "steady()", 10.0, 0.0)];
    let single = (synthetic(&lines(10.0), 10.0), synthetic(&lines(15.0), 10.0));
    let comparison = compare(&single.0, "a", &single.1, "b", &NoiseRule::default());
    assert_eq!(line(&comparison, 1).verdict, Verdict::Unchanged, "+50% on 100 samples is within the noise of one run each: {:#?}", line(&comparison, 1));
    assert!(!comparison.overall.elapsed_s.judged);
    let repeated = |profile: &Profile, elapsed: [f64; 5]| {
        let mut profile = profile.clone();
        let metrics = |seconds: f64| MetricSpread { cpu_s: Stat::point(seconds), ..MetricSpread::default() };
        let file = &profile.files[0];
        profile.spread = Some(Arc::new(Spread {
            runs: 5,
            elapsed_s: Stat::of(&elapsed),
            peak_mb: Stat::default(),
            elapsed_runs: elapsed.to_vec(),
            files: vec![FileSpread {
                path: file.path.clone(),
                total: metrics(file.cpu_percent / 10.0),
                lines: file.lines.iter().map(|l| (l.line, metrics(l.cpu_total() / 10.0))).collect(),
                functions: Vec::new(),
            }],
        }));
        profile
    };
    let before = repeated(&single.0, [10.0, 10.1, 9.9, 10.05, 9.95]);
    let after = repeated(&single.1, [10.5, 10.6, 10.4, 10.55, 10.45]);
    let comparison = compare(&before, "a", &after, "b", &NoiseRule::default());
    let work = line(&comparison, 1);
    assert_eq!(work.verdict, Verdict::Regressed, "five runs a side pool 500 samples: {work:#?}");
    let test = work.cpu_test.as_ref().unwrap();
    assert!(test.interval[0] > 1.0 && test.ratio > 1.3, "{test:?}");
    assert_eq!(line(&comparison, 2).verdict, Verdict::Unchanged);
    assert!(comparison.overall.elapsed_s.judged);
    assert_eq!(comparison.overall.elapsed_s.verdict, Verdict::Unchanged, "+5% is below the 10% floor");
    assert_eq!(comparison.rule.runs, [5, 5]);
}

#[test]
fn files_elsewhere_match_by_their_longest_common_tail() {
    let mut before = synthetic(&[(1, "work()", 50.0, 0.0)], 2.0);
    let mut after = before.clone();
    before.program = "/ci/build/proj/main.py".into();
    before.files[0].path = "/ci/build/proj/pkg/a.py".into();
    after.program = "/home/u/proj/main.py".into();
    after.files[0].path = "/home/u/proj/pkg/a.py".into();
    let mut other = after.files[0].clone();
    other.path = "/home/u/proj/pkg/b.py".into();
    after.files.push(other);
    let comparison = compare(&before, "ci", &after, "here", &NoiseRule::default());
    let paths: Vec<(&str, Option<&str>, Verdict)> =
        comparison.files.iter().map(|f| (f.path.as_str(), f.before_path.as_deref(), f.verdict)).collect();
    assert_eq!(paths, [("/home/u/proj/pkg/a.py", Some("/ci/build/proj/pkg/a.py"), Verdict::Unchanged), ("/home/u/proj/pkg/b.py", None, Verdict::New)]);
}

#[test]
fn the_json_has_the_documented_fields() {
    let value = serde_json::to_value(versions()).unwrap();
    for key in ["schema", "before", "after", "rule", "overall", "files", "functions", "lines", "notes", "summary"] {
        assert!(value.get(key).is_some(), "{key}");
    }
    assert_eq!(value["schema"], 1);
    let function = &value["functions"][0];
    for key in ["name", "path", "before", "after", "verdict", "delta", "cpu", "memory"] {
        assert!(function.get(key).is_some(), "functions[].{key}");
    }
    let line = &value["lines"][0];
    for key in ["path", "before_line", "after_line", "source", "before", "after", "verdict"] {
        assert!(line.get(key).is_some(), "lines[].{key}");
    }
    for key in ["cpu_percent", "cpu_s", "peak_mb", "alloc_mb"] {
        assert!(line["after"].get(key).is_some(), "metrics.{key}");
    }
    assert!(value["summary"]["text"].as_str().is_some_and(|text| !text.is_empty()));
    let validator = jsonschema::validator_for(&json_schema()).unwrap();
    assert!(validator.is_valid(&value), "{:?}", validator.iter_errors(&value).map(|e| e.to_string()).collect::<Vec<_>>());
}

/// `profile` with functions over its lines: (name, def line, last line), totals summed like the parser.
fn with_functions(mut profile: Profile, functions: &[(&str, u32, u32)]) -> Profile {
    let file = &mut profile.files[0];
    file.functions = functions
        .iter()
        .map(|(name, line, end_line)| {
            let inside = file.lines.iter().filter(|l| (*line..=*end_line).contains(&l.line));
            let (cpu, alloc) = inside.fold((0.0, 0.0), |(c, a), l| (c + l.metrics.cpu_python, a + l.metrics.alloc_mb));
            FunctionStats { name: name.to_string(), line: *line, end_line: *end_line, cpu_python: cpu, alloc_mb: alloc, ..FunctionStats::default() }
        })
        .filter(|f| f.cpu_python > 0.0 || f.alloc_mb > 0.0)
        .collect();
    profile
}

#[test]
fn a_function_without_samples_on_one_side_is_below_what_can_be_seen_not_new() {
    let text = |tiny: f64| {
        vec![(1, "def tiny():", 0.0, 0.0), (2, "    return 1", tiny, 0.0), (3, "def work():", 0.0, 0.0), (4, "    crunch()", 60.0, 0.0), (5, "steady()", 38.0, 0.0)]
    };
    let before = with_functions(synthetic(&text(0.0), 10.0), &[("tiny", 1, 2), ("work", 3, 4)]);
    let after = with_functions(synthetic(&text(0.3), 10.0), &[("tiny", 1, 2), ("work", 3, 4)]);
    assert!(before.files[0].functions.iter().all(|f| f.name != "tiny"), "Scalene lists no function without samples");
    for (b, a) in [(&before, &after), (&after, &before)] {
        let comparison = compare(b, "a", a, "b", &NoiseRule { min_cpu_percent: 0.0, ..NoiseRule::default() });
        let tiny = function(&comparison, "tiny");
        assert_eq!((tiny.before_line, tiny.after_line, tiny.verdict), (Some(1), Some(1), Verdict::Unchanged), "{tiny:#?}");
        assert_eq!(comparison.summary.functions.new + comparison.summary.functions.removed, 0);
    }
}

#[test]
fn a_moved_function_pairs_its_lines_by_content() {
    let a = [(1, "def first():", 0.0, 0.0), (2, "    total = sum(range(10))", 30.0, 0.0), (3, "    return total", 1.0, 0.0), (4, "def second():", 0.0, 0.0), (5, "    return [0] * 100", 40.0, 0.0), (6, "first()", 29.0, 0.0)];
    let b = [(1, "def second():", 0.0, 0.0), (2, "    return [0] * 100", 40.0, 0.0), (3, "def first():", 0.0, 0.0), (4, "    total = sum(range(10))", 30.0, 0.0), (5, "    return total", 1.0, 0.0), (6, "first()", 29.0, 0.0)];
    let before = with_functions(synthetic(&a, 10.0), &[("first", 1, 3), ("second", 4, 5)]);
    let after = with_functions(synthetic(&b, 10.0), &[("second", 1, 2), ("first", 3, 5)]);
    let comparison = compare(&before, "a", &after, "b", &NoiseRule::default());
    let pairs: Vec<(Option<u32>, Option<u32>, Verdict)> = comparison.lines.iter().map(|l| (l.before_line, l.after_line, l.verdict)).collect();
    assert!(pairs.iter().all(|(_, _, verdict)| *verdict == Verdict::Unchanged), "{pairs:?}");
    assert!(pairs.contains(&(Some(2), Some(4), Verdict::Unchanged)) && pairs.contains(&(Some(5), Some(2), Verdict::Unchanged)), "{pairs:?}");
    assert_eq!(comparison.summary.verdict, Verdict::Unchanged);
}

#[test]
fn guard_rails_refuse_what_cannot_be_compared() {
    let program = synthetic(&[(1, "work()", 50.0, 0.0), (2, "more()", 50.0, 0.0), (3, "done()", 1.0, 0.0)], 2.0);
    assert!(check(("a", &program), ("b", &program), false).is_ok());
    let mut other = synthetic(&[(1, "import json", 50.0, 0.0), (2, "print(json.dumps({}))", 50.0, 0.0), (3, "exit()", 1.0, 0.0)], 2.0);
    let err = check(("a", &program), ("b", &other), false).unwrap_err().to_string();
    assert!(err.contains("different programs") && err.contains("--force"), "{err}");
    assert!(check(("a", &program), ("b", &other), true).is_ok(), "--force compares anyway");
    other.elapsed_s = 0.0;
    other.files.clear();
    other.status = RunStatus::TooShort;
    let err = check(("a", &program), ("short", &other), true).unwrap_err().to_string();
    assert!(err.contains("short has no samples") && err.contains("profile it again"), "{err}");
}

#[test]
fn profiles_of_different_modes_judge_nothing_and_say_so_once() {
    let before = synthetic(&[(1, "work()", 50.0, 20.0), (2, "more()", 50.0, 0.0)], 2.0);
    let mut after = synthetic(&[(1, "work()", 80.0, 0.0), (2, "more()", 20.0, 0.0)], 3.4);
    after.memory = false;
    let comparison = compare(&before, "a", &after, "b", &NoiseRule::default());
    assert_eq!(comparison.summary.verdict, Verdict::Unchanged, "{:#?}", comparison.summary);
    assert!(!comparison.rule.cpu_compared);
    assert_eq!(comparison.notes.iter().filter(|n| n.contains("one side profiled memory")).count(), 1, "{:?}", comparison.notes);
}

/// `profile` as the mean of runs that took `elapsed` seconds each (its lines' CPU seconds as they are).
fn as_repeated(profile: &Profile, elapsed: &[f64]) -> Profile {
    let mut profile = profile.clone();
    let metrics = |seconds: f64| MetricSpread { cpu_s: Stat::point(seconds), ..MetricSpread::default() };
    let file = &profile.files[0];
    let scale = profile.elapsed_s / 100.0;
    profile.spread = Some(Arc::new(Spread {
        runs: elapsed.len() as u32,
        elapsed_s: Stat::of(elapsed),
        peak_mb: Stat::default(),
        elapsed_runs: elapsed.to_vec(),
        files: vec![FileSpread {
            path: file.path.clone(),
            total: metrics(file.cpu_percent * scale),
            lines: file.lines.iter().map(|l| (l.line, metrics(l.cpu_total() * scale))).collect(),
            functions: Vec::new(),
        }],
    }));
    profile
}

#[test]
fn a_machine_that_ran_the_after_series_slower_does_not_make_the_elapsed_time_regress() {
    // Four unchanged loops of 25% each; the after series ran 1.6x slower throughout (another build on
    // the machine): every line's CPU seconds and the elapsed time grew alike.
    let lines: Vec<(u32, &str, f64, f64)> = vec![(1, "a()", 25.0, 0.0), (2, "b()", 25.0, 0.0), (3, "c()", 25.0, 0.0), (4, "d()", 25.0, 0.0)];
    let before = as_repeated(&synthetic(&lines, 10.0), &[10.0, 10.1, 9.9]);
    let after = as_repeated(&synthetic(&lines, 16.0), &[16.0, 16.2, 15.8]);
    let comparison = compare(&before, "a", &after, "b", &NoiseRule::default());
    assert!(comparison.rule.machine_factor > 1.4, "{}", comparison.rule.machine_factor);
    assert!(comparison.overall.elapsed_s.judged);
    assert_eq!(comparison.overall.elapsed_s.verdict, Verdict::Unchanged, "{:#?}", comparison.overall.elapsed_s);
    assert!(comparison.lines.iter().all(|line| line.verdict == Verdict::Unchanged));
    // The same machine, one loop twice as slow: the run took longer than the machine explains.
    let slower: Vec<(u32, &str, f64, f64)> = vec![(1, "a()", 40.0, 0.0), (2, "b()", 20.0, 0.0), (3, "c()", 20.0, 0.0), (4, "d()", 20.0, 0.0)];
    let after = as_repeated(&synthetic(&slower, 12.5), &[12.5, 12.6, 12.4]);
    let comparison = compare(&before, "a", &after, "b", &NoiseRule::default());
    assert!((comparison.rule.machine_factor - 1.0).abs() < 0.1, "{}", comparison.rule.machine_factor);
    assert_eq!(comparison.overall.elapsed_s.verdict, Verdict::Regressed, "{:#?}", comparison.overall.elapsed_s);
    assert_eq!(line(&comparison, 1).verdict, Verdict::Regressed);
}
