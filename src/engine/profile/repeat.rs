//! Repeated runs: N profiles of the same program combined into one whose numbers are the per-line
//! (per-function, per-file) means, with each metric's mean, min and max kept in `Profile::spread`, so
//! that a comparison can tell a real change from Scalene's sampling noise.
//!
//! Lines are matched by number: every run profiled the same text (checked; a file that changed between
//! runs is an error). A line or function missing from a run counts as 0 in that run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::error::EngineError;
use crate::engine::profile::call_paths::CallPaths;
use crate::engine::profile::model::{FileProfile, FileSpread, FunctionStats, Leak, LineStats, MetricSpread, Profile, Spread, Stat};

/// One run's value of the comparison metrics for a line, function or file.
#[derive(Clone, Copy, Default)]
struct Sample {
    cpu_percent: f64,
    cpu_s: f64,
    peak_mb: f64,
    alloc_mb: f64,
}

fn spread_of(samples: &[Sample]) -> MetricSpread {
    let of = |pick: fn(&Sample) -> f64| Stat::of(&samples.iter().map(pick).collect::<Vec<_>>());
    MetricSpread {
        cpu_percent: of(|s| s.cpu_percent),
        cpu_s: of(|s| s.cpu_s),
        peak_mb: of(|s| s.peak_mb),
        alloc_mb: of(|s| s.alloc_mb),
    }
}

fn mean(values: impl Iterator<Item = f64>, n_runs: usize) -> f64 {
    values.sum::<f64>() / n_runs as f64
}

/// Combines the runs (at least one, all of the same program) into their mean with its spread.
pub fn combine(runs: &[Profile]) -> Result<Profile, EngineError> {
    let Some(last) = runs.last() else {
        return Err(EngineError::Internal { message: "combine was given no runs".into() });
    };
    if runs.len() == 1 {
        return Ok(last.clone());
    }
    let n_runs = runs.len();
    let mut paths: Vec<PathBuf> = runs.iter().flat_map(|run| run.files.iter().map(|file| file.path.clone())).collect();
    paths.sort();
    paths.dedup();
    let mut files = Vec::with_capacity(paths.len());
    let mut file_spreads = Vec::with_capacity(paths.len());
    for path in paths {
        let per_run: Vec<Option<&FileProfile>> = runs.iter().map(|run| run.file(&path)).collect();
        let sources: Vec<&str> = per_run.iter().flatten().map(|file| &*file.source).filter(|source| !source.is_empty()).collect();
        if sources.windows(2).any(|pair| pair[0] != pair[1]) {
            return Err(EngineError::CannotCompare {
                reason: format!("{} changed between the repeated runs, so their lines cannot be averaged", path.display()),
                fix: "do not edit the program while it is profiled repeatedly; profile again".into(),
            });
        }
        let (file, spread) = combine_file(&path, runs, &per_run, n_runs);
        files.push(file);
        file_spreads.push(spread);
    }
    let mut combined = last.clone();
    combined.elapsed_s = mean(runs.iter().map(|run| run.elapsed_s), n_runs);
    combined.peak_mb = mean(runs.iter().map(|run| run.peak_mb), n_runs);
    combined.files = files;
    let call_paths: Vec<&CallPaths> = runs.iter().filter_map(|run| run.call_paths.as_deref()).collect();
    combined.call_paths = CallPaths::mean_of(&call_paths, n_runs).map(Arc::new);
    combined.notes.push(format!(
        "The numbers are means over {n_runs} runs; each line's smallest and largest value over the runs are kept for comparisons."
    ));
    let mut notes: Vec<String> = Vec::new();
    for note in runs.iter().flat_map(|run| run.notes.iter()).chain(combined.notes.iter()) {
        if !notes.contains(note) {
            notes.push(note.clone());
        }
    }
    combined.notes = notes;
    combined.spread = Some(Arc::new(Spread {
        runs: n_runs as u32,
        elapsed_s: Stat::of(&runs.iter().map(|run| run.elapsed_s).collect::<Vec<_>>()),
        peak_mb: Stat::of(&runs.iter().map(|run| run.peak_mb).collect::<Vec<_>>()),
        elapsed_runs: runs.iter().map(|run| run.elapsed_s).collect(),
        files: file_spreads,
    }));
    Ok(combined)
}

fn combine_file(path: &Path, runs: &[Profile], per_run: &[Option<&FileProfile>], n_runs: usize) -> (FileProfile, FileSpread) {
    let template = per_run.iter().flatten().last().copied().expect("the path comes from some run");
    // Lines: the union over runs, by number.
    let mut line_numbers: Vec<u32> = per_run.iter().flatten().flat_map(|file| file.lines.iter().map(|line| line.line)).collect();
    line_numbers.sort_unstable();
    line_numbers.dedup();
    let mut lines = Vec::with_capacity(line_numbers.len());
    let mut line_spreads = Vec::with_capacity(line_numbers.len());
    for number in line_numbers {
        let found: Vec<Option<&LineStats>> = per_run.iter().map(|file| file.and_then(|file| file.line(number))).collect();
        let samples: Vec<Sample> = found
            .iter()
            .zip(runs)
            .map(|(line, run)| match line {
                Some(line) => Sample {
                    cpu_percent: line.cpu_total(),
                    cpu_s: line.cpu_total() / 100.0 * run.elapsed_s,
                    peak_mb: line.metrics.peak_mb,
                    alloc_mb: line.metrics.alloc_mb,
                },
                None => Sample::default(),
            })
            .collect();
        let present: Vec<&LineStats> = found.iter().flatten().copied().collect();
        let last_seen = *present.last().expect("the line comes from some run");
        // The mean of each metric, summed in run order as `mean` sums (a run without the line adds 0).
        let total = present.iter().map(|line| line.metrics).reduce(|total, metrics| total.zip(metrics).map(|(a, b)| a + b));
        let mut metrics = total.expect("the line comes from some run").map(|total| total / n_runs as f64);
        metrics.mallocs = metrics.mallocs.round();
        lines.push(LineStats {
            line: number,
            text: last_seen.text.clone(),
            metrics,
            outer_loop: last_seen.outer_loop.clone(),
            memory_timeline: last_seen.memory_timeline.clone(),
            // Known only when every run that has the line counted its samples (a run without the line
            // had none).
            cpu_samples: present
                .iter()
                .map(|line| line.cpu_samples)
                .sum::<Option<f64>>()
                .map(|total| total / n_runs as f64),
        });
        line_spreads.push((number, spread_of(&samples)));
    }
    // Functions: the union over runs, by (name, def line).
    let mut keys: BTreeMap<(u32, String), u32> = BTreeMap::new();
    for file in per_run.iter().flatten() {
        for function in &file.functions {
            let end = keys.entry((function.line, function.name.clone())).or_insert(function.end_line);
            *end = (*end).max(function.end_line);
        }
    }
    let mut functions = Vec::with_capacity(keys.len());
    let mut function_spreads = Vec::with_capacity(keys.len());
    for ((line, name), end_line) in keys {
        let found: Vec<Option<&FunctionStats>> = per_run
            .iter()
            .map(|file| file.and_then(|file| file.functions.iter().find(|f| f.line == line && f.name == name)))
            .collect();
        let samples: Vec<Sample> = found
            .iter()
            .zip(runs)
            .map(|(function, run)| match function {
                Some(f) => Sample {
                    cpu_percent: f.cpu_total(),
                    cpu_s: f.cpu_total() / 100.0 * run.elapsed_s,
                    peak_mb: f.peak_mb,
                    alloc_mb: f.alloc_mb,
                },
                None => Sample::default(),
            })
            .collect();
        let present: Vec<&FunctionStats> = found.iter().flatten().copied().collect();
        functions.push(FunctionStats {
            name: name.clone(),
            line,
            end_line,
            cpu_python: mean(present.iter().map(|f| f.cpu_python), n_runs),
            cpu_native: mean(present.iter().map(|f| f.cpu_native), n_runs),
            cpu_system: mean(present.iter().map(|f| f.cpu_system), n_runs),
            peak_mb: mean(present.iter().map(|f| f.peak_mb), n_runs),
            alloc_mb: mean(present.iter().map(|f| f.alloc_mb), n_runs),
        });
        function_spreads.push((name, line, spread_of(&samples)));
    }
    // Leaks: the mean likelihood and growth over the runs (0 where a run saw none).
    let mut leak_lines: Vec<u32> = per_run.iter().flatten().flat_map(|file| file.leaks.iter().map(|leak| leak.line)).collect();
    leak_lines.sort_unstable();
    leak_lines.dedup();
    let leaks = leak_lines
        .into_iter()
        .map(|line| {
            let found: Vec<&Leak> = per_run.iter().flatten().filter_map(|file| file.leak(line)).collect();
            Leak {
                line,
                likelihood: mean(found.iter().map(|leak| leak.likelihood), n_runs),
                velocity_mb_s: mean(found.iter().map(|leak| leak.velocity_mb_s), n_runs),
            }
        })
        .collect();
    let file_samples: Vec<Sample> = per_run
        .iter()
        .zip(runs)
        .map(|(file, run)| match file {
            Some(file) => Sample {
                cpu_percent: file.cpu_percent,
                cpu_s: file.cpu_percent / 100.0 * run.elapsed_s,
                peak_mb: file.lines.iter().map(|line| line.metrics.peak_mb).fold(0.0, f64::max),
                alloc_mb: file.lines.iter().map(|line| line.metrics.alloc_mb).sum(),
            },
            None => Sample::default(),
        })
        .collect();
    let file = FileProfile {
        path: path.to_path_buf(),
        cpu_percent: mean(per_run.iter().flatten().map(|file| file.cpu_percent), n_runs),
        lines,
        functions,
        leaks,
        source: template.source.clone(),
    };
    let spread = FileSpread { path: path.to_path_buf(), total: spread_of(&file_samples), lines: line_spreads, functions: function_spreads };
    (file, spread)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::profile::metrics::LineMetrics;
    use crate::engine::profile::model::RunStatus;

    fn run(elapsed_s: f64, hot: f64, cold: Option<f64>) -> Profile {
        let mut profile = Profile::empty(RunStatus::Ok, "/p/a.py".into());
        profile.elapsed_s = elapsed_s;
        let mut lines = vec![LineStats { line: 2, text: "hot()".into(), metrics: LineMetrics { cpu_python: hot, peak_mb: 10.0, ..LineMetrics::default() }, ..LineStats::default() }];
        if let Some(cold) = cold {
            lines.push(LineStats { line: 3, text: "cold()".into(), metrics: LineMetrics { cpu_python: cold, ..LineMetrics::default() }, ..LineStats::default() });
        }
        let total: f64 = lines.iter().map(LineStats::cpu_total).sum();
        profile.files = vec![FileProfile {
            path: "/p/a.py".into(),
            cpu_percent: total,
            lines,
            functions: vec![FunctionStats { name: "f".into(), line: 1, end_line: 3, cpu_python: total, peak_mb: 10.0, ..FunctionStats::default() }],
            leaks: Vec::new(),
            source: "def f():\n    hot()\n    cold()\n".into(),
        }];
        profile
    }

    #[test]
    fn means_and_ranges_over_runs_with_missing_lines_as_zero() {
        let combined = combine(&[run(1.0, 60.0, Some(40.0)), run(2.0, 80.0, None), run(3.0, 70.0, Some(20.0))]).unwrap();
        assert_eq!(combined.elapsed_s, 2.0);
        let file = &combined.files[0];
        assert_eq!(file.line(2).unwrap().metrics.cpu_python, 70.0);
        assert_eq!(file.line(3).unwrap().metrics.cpu_python, 20.0, "a run without the line counts as 0");
        let spread = combined.spread.as_ref().unwrap();
        assert_eq!(spread.runs, 3);
        let hot = spread.file(std::path::Path::new("/p/a.py")).unwrap().line(2).unwrap();
        assert_eq!((hot.cpu_percent.min, hot.cpu_percent.max), (60.0, 80.0));
        // Seconds are each run's share times that run's elapsed time: 0.6, 1.6, 2.1.
        assert!((hot.cpu_s.min - 0.6).abs() < 1e-9 && (hot.cpu_s.max - 2.1).abs() < 1e-9, "{hot:?}");
        assert!((hot.cpu_s.mean - 4.3 / 3.0).abs() < 1e-9);
        let function = spread.files[0].function("f", 1).unwrap();
        assert_eq!((function.cpu_percent.min, function.cpu_percent.max), (80.0, 100.0));
        assert!(combined.notes.iter().any(|note| note.contains("means over 3 runs")));
    }

    #[test]
    fn every_line_metric_is_averaged_and_allocation_samples_stay_whole() {
        let mut runs = [run(1.0, 60.0, None), run(1.0, 80.0, None)];
        runs[0].files[0].lines[0].metrics.mallocs = 1.0;
        runs[1].files[0].lines[0].metrics.mallocs = 2.0;
        runs[1].files[0].lines[0].metrics.async_await_percent = 10.0;
        let metrics = combine(&runs).unwrap().files[0].line(2).unwrap().metrics;
        assert_eq!((metrics.cpu_python, metrics.peak_mb, metrics.async_await_percent), (70.0, 10.0, 5.0));
        assert_eq!(metrics.mallocs, 2.0, "the mean 1.5 is rounded");
    }

    #[test]
    fn one_run_is_itself_and_a_changed_file_is_refused() {
        let single = combine(&[run(1.0, 50.0, None)]).unwrap();
        assert!(single.spread.is_none());
        let mut changed = run(1.0, 50.0, None);
        changed.files[0].source = "def f():\n    other()\n".into();
        let err = combine(&[run(1.0, 50.0, None), changed]).unwrap_err();
        assert!(err.to_string().contains("changed between the repeated runs"), "{err}");
    }
}
