//! A pytest suite run, test by test: every CPU sample of one Scalene run of the whole suite given to
//! the test that was running when it was taken. The times come from the suite plugin's log
//! (`records.rs`: each test's and each phase's start and end on `perf_counter`, Scalene's clock), the
//! samples from Scalene's CPU timeline (`call_paths`: runs of identical stacks with their start times);
//! a sample's line is its stack's innermost Python frame. Per test: samples and CPU seconds per phase
//! (setup and teardown, fixtures included, apart from the call), wall time, outcome, its hottest lines
//! and the peak footprint where a footprint sample fell inside it. Pure: values in, values out.
//!
//! A phase's CPU seconds are measured (the plugin reads the process's CPU clock at its begin and end,
//! less the time Scalene spent taking its samples);
//! its samples say where in the code that time went. Suite runs sample on CPU time
//! (`--use-virtual-time`), so a test's samples follow its CPU time even while other processes share
//! the machine (docs/performance.md: on a wall-clock timer a test's samples followed its wall time).
//!
//! A run of `count` identical stacks is spread at the profile's typical sample spacing from its start
//! (never past the next run of its thread), since consecutive tests with the same stack (parametrized
//! ones) are merged into one run by Scalene.

pub mod records;
mod waits;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::engine::profile::call_paths::{CallPaths, Weight};
use records::TestEvent;

/// At most this many lines are kept per test, hottest first.
pub const MAX_TEST_LINES: usize = 5;
/// At most this many tests are kept (in run order); a note says how many more ran.
pub const MAX_TESTS: usize = 20_000;

/// How a test ended, from pytest's reports of its phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// A setup or teardown failed.
    Error,
    Skipped,
    XFailed,
    XPassed,
    /// It began and did not end: the run was stopped (time limit, cancel) or the process ended in it.
    Unfinished,
}

impl Outcome {
    pub const NAMES: [&'static str; 7] = ["passed", "failed", "error", "skipped", "xfailed", "xpassed", "unfinished"];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
            Outcome::XFailed => "xfailed",
            Outcome::XPassed => "xpassed",
            Outcome::Unfinished => "unfinished",
        }
    }

    pub fn parse(name: &str) -> Option<Outcome> {
        let all = [Outcome::Passed, Outcome::Failed, Outcome::Error, Outcome::Skipped, Outcome::XFailed, Outcome::XPassed, Outcome::Unfinished];
        all.into_iter().find(|outcome| outcome.as_str() == name)
    }
}

/// One phase of a test: its samples, its CPU seconds (the process's, measured by the suite plugin;
/// from its samples when the plugin's log has no CPU clock), and its wall time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseCost {
    pub samples: f64,
    pub cpu_s: f64,
    pub wall_s: f64,
}

impl PhaseCost {
    fn plus(self, other: PhaseCost) -> PhaseCost {
        PhaseCost { samples: self.samples + other.samples, cpu_s: self.cpu_s + other.cpu_s, wall_s: self.wall_s + other.wall_s }
    }
}

/// A line a test spent samples on (a profiled line: front ends map it through their `LineMap`).
#[derive(Clone, Debug, PartialEq)]
pub struct TestLine {
    pub file: PathBuf,
    pub line: u32,
    pub samples: f64,
    pub cpu_s: f64,
}

/// One test of the suite.
#[derive(Clone, Debug, PartialEq)]
pub struct TestCost {
    /// pytest's node id as it printed it (relative to its root dir): `tests/test_x.py::TestA::test_b[1]`.
    pub node_id: String,
    /// The test function's file (absolute) and its first line (its first decorator's, else its `def`; 0 when
    /// unknown).
    pub file: PathBuf,
    pub line: u32,
    pub outcome: Outcome,
    /// pytest's last line about a failure, when it failed.
    pub message: Option<String>,
    pub setup: PhaseCost,
    pub call: PhaseCost,
    pub teardown: PhaseCost,
    /// The highest memory footprint sampled while it ran (memory mode, when a footprint sample fell in it).
    pub peak_mb: Option<f64>,
    /// Its hottest lines, at most `MAX_TEST_LINES`, hottest first.
    pub hottest: Vec<TestLine>,
}

impl TestCost {
    pub fn total(&self) -> PhaseCost {
        self.setup.plus(self.call).plus(self.teardown)
    }
}

/// The tests of one suite run and the run's totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestSuite {
    /// In the order they ran.
    pub tests: Vec<TestCost>,
    /// Every CPU sample of the run (tests, collection, start-up).
    pub samples: f64,
    /// The run's CPU seconds: the tests' (measured) and the samples outside them at a sample's worth.
    pub cpu_s: f64,
    /// How many tests pytest selected, when it said.
    pub collected: Option<u32>,
    /// pytest's exit status, when its session ended (None: it was stopped or the process ended first).
    pub pytest_exit: Option<i32>,
    /// Collection errors: the node that failed and pytest's last lines about it.
    pub collection_errors: Vec<(String, String)>,
    pub notes: Vec<String>,
}

impl TestSuite {
    /// A test's part of the run's CPU time (0..1); of its samples when no CPU time is known.
    pub fn share(&self, test: &TestCost) -> f64 {
        if self.cpu_s > 0.0 {
            test.total().cpu_s / self.cpu_s
        } else if self.samples > 0.0 {
            test.total().samples / self.samples
        } else {
            0.0
        }
    }

    /// The samples taken outside every test (start-up, collection, between tests).
    pub fn outside_samples(&self) -> f64 {
        (self.samples - self.tests.iter().map(|test| test.total().samples).sum::<f64>()).max(0.0)
    }

    /// The tests costliest first (CPU seconds, then samples, then wall time, then node id: a total order).
    pub fn ranked(&self) -> Vec<&TestCost> {
        let mut ranked: Vec<&TestCost> = self.tests.iter().collect();
        ranked.sort_by(|a, b| {
            let (a_total, b_total) = (a.total(), b.total());
            b_total
                .cpu_s
                .total_cmp(&a_total.cpu_s)
                .then(b_total.samples.total_cmp(&a_total.samples))
                .then(b_total.wall_s.total_cmp(&a_total.wall_s))
                .then(a.node_id.cmp(&b.node_id))
        });
        ranked
    }

    /// The test whose `def` is at `line` of `file`, for each parametrization: all of them.
    pub fn tests_at<'a>(&'a self, file: &'a std::path::Path) -> impl Iterator<Item = &'a TestCost> + 'a {
        self.tests.iter().filter(move |test| test.file == file)
    }
}

const PHASES: [&str; 3] = ["setup", "call", "teardown"];

/// A test as its events describe it.
struct Window {
    node: String,
    file: PathBuf,
    line: u32,
    start: f64,
    end: Option<f64>,
    /// Each phase's begin and end, and the process's CPU seconds at each.
    phases: [(Option<f64>, Option<f64>); 3],
    phase_cpu: [(Option<f64>, Option<f64>); 3],
    reports: Vec<(usize, String, Option<String>)>,
    samples: [f64; 3],
    lines: HashMap<(u32, u32), f64>,
}

impl Window {
    /// The process's CPU seconds in a phase, when the plugin measured its begin and end.
    fn measured_cpu(&self, phase: usize) -> Option<f64> {
        match self.phase_cpu[phase] {
            (Some(begin), Some(end)) => Some((end - begin).max(0.0)),
            _ => None,
        }
    }

    /// The phase a time inside the test belongs to: the last phase begun at or before it (setup before any).
    fn phase_at(&self, t: f64) -> usize {
        (0..3).rev().find(|index| self.phases[*index].0.is_some_and(|begin| begin <= t)).unwrap_or(0)
    }

    fn outcome(&self) -> (Outcome, Option<String>) {
        let failed = self.reports.iter().find(|(_, outcome, _)| outcome == "failed");
        if let Some((phase, _, message)) = failed {
            return (if *phase == 1 { Outcome::Failed } else { Outcome::Error }, message.clone());
        }
        // A phase that began without pytest's report of it was interrupted (a stop reaches the test as a
        // KeyboardInterrupt, which pytest does not report), as is a test that never ended.
        let interrupted = (0..3).any(|phase| self.phases[phase].0.is_some() && !self.reports.iter().any(|report| report.0 == phase));
        if self.end.is_none() || interrupted {
            return (Outcome::Unfinished, None);
        }
        for name in ["xfailed", "xpassed", "skipped"] {
            if self.reports.iter().any(|(_, outcome, _)| outcome == name) {
                return (Outcome::parse(name).unwrap_or(Outcome::Skipped), None);
            }
        }
        (Outcome::Passed, None)
    }
}

/// What attribution reads of the run's profile (not the `Profile` itself: `model` holds a `TestSuite`).
#[derive(Clone, Copy)]
pub struct RunSamples<'a> {
    pub call_paths: Option<&'a CallPaths>,
    /// Scalene's elapsed seconds and the files' summed CPU percent (the fallback worth of a sample).
    pub elapsed_s: f64,
    pub cpu_percent: f64,
    /// The memory footprint over time, `(seconds since Scalene's start, MB)`, in memory mode.
    pub footprint: &'a [(f64, f64)],
}

/// The suite's tests with their costs, from the plugin's events and the run's samples. A sample is worth
/// `interval_s` only when the plugin's log has no CPU clock (an older plugin): Scalene's sampling
/// interval, else a part of its elapsed time; otherwise the phases' measured CPU seconds over their samples.
pub fn attribute(run: RunSamples<'_>, events: &[TestEvent], interval_s: Option<f64>) -> TestSuite {
    let mut suite = TestSuite::default();
    let mut windows: Vec<Window> = Vec::new();
    let mut current: HashMap<&str, usize> = HashMap::new();
    let (mut timeline_t0, mut start_ns) = (None, None);
    let mut n_tests_dropped = 0;
    for event in events {
        match event {
            TestEvent::Origins { timeline_t0: t0, start_ns: ns } => {
                timeline_t0 = timeline_t0.or(*t0);
                start_ns = start_ns.or(*ns);
            }
            TestEvent::Collected { n } => suite.collected = Some(*n),
            TestEvent::CollectError { node, message } => suite.collection_errors.push((node.clone(), message.clone())),
            TestEvent::Start { node, file, line, t } => {
                if windows.len() >= MAX_TESTS {
                    n_tests_dropped += 1;
                    continue;
                }
                current.insert(node, windows.len());
                windows.push(Window {
                    node: node.clone(),
                    file: file.clone(),
                    line: *line,
                    start: *t,
                    end: None,
                    phases: [(None, None); 3],
                    phase_cpu: [(None, None); 3],
                    reports: Vec::new(),
                    samples: [0.0; 3],
                    lines: HashMap::new(),
                });
            }
            TestEvent::Begin { node, when, t, cpu } | TestEvent::Done { node, when, t, cpu } => {
                let (Some(index), Some(phase)) = (current.get(node.as_str()), PHASES.iter().position(|name| name == when)) else { continue };
                let window = &mut windows[*index];
                let (slot, cpu_slot) = (&mut window.phases[phase], &mut window.phase_cpu[phase]);
                if matches!(event, TestEvent::Begin { .. }) {
                    (slot.0, cpu_slot.0) = (Some(*t), *cpu);
                } else {
                    (slot.1, cpu_slot.1) = (Some(*t), *cpu);
                }
            }
            TestEvent::Report { node, when, outcome, message } => {
                let (Some(index), Some(phase)) = (current.get(node.as_str()), PHASES.iter().position(|name| name == when)) else { continue };
                windows[*index].reports.push((phase, outcome.clone(), message.clone()));
            }
            TestEvent::End { node, t } => {
                if let Some(index) = current.get(node.as_str()) {
                    windows[*index].end = Some(*t);
                }
            }
            TestEvent::SessionEnd { exit } => suite.pytest_exit = Some(*exit),
            TestEvent::Xdist { .. } => {}
            TestEvent::Note { text } => suite.notes.push(text.clone()),
        }
    }
    if n_tests_dropped > 0 {
        suite.notes.push(format!("only the first {MAX_TESTS} tests are kept; {n_tests_dropped} more ran"));
    }
    suite.cpu_s = run.elapsed_s * run.cpu_percent / 100.0;
    let mut run_end = windows.iter().filter_map(|window| window.end.or(window.start.into())).fold(f64::NEG_INFINITY, f64::max);
    if let Some(paths) = run.call_paths {
        suite.samples = paths.total(Weight::Cpu);
        match timeline_t0 {
            Some(t0) if !paths.timeline.is_empty() => {
                let last = give_samples(paths, t0, &mut windows);
                run_end = run_end.max(last);
                let in_timeline: f64 = paths.timeline.iter().map(|run| run.count as f64).sum();
                if in_timeline + 0.5 < suite.samples {
                    suite.notes.push(format!(
                        "Scalene's timeline holds {in_timeline} of the run's {} samples (it keeps its first runs): tests after it ended show fewer samples than they had",
                        suite.samples
                    ));
                }
            }
            _ if windows.is_empty() => {}
            _ => suite.notes.push(
                "the samples could not be placed in time (Scalene gave no timeline, or the suite plugin could not read its time origin): \
                 tests show their CPU and wall times and outcomes, without hot lines"
                    .into(),
            ),
        }
    } else if !windows.is_empty() {
        suite.notes.push(
            "this run has no stacks (run with --no-call-paths, or Scalene wrote no samples): tests show their CPU and wall times and outcomes, without hot lines".into(),
        );
    }
    // A sample's worth in CPU seconds: the phases' measured CPU time over their samples when the plugin
    // measured it (Scalene's timer does not fire exactly every interval: with `--use-virtual-time` it
    // waits for the kernel's CPU-time tick), else the sampling interval, else a part of the run.
    let measured = windows.iter().flat_map(|window| (0..3).filter_map(|phase| window.measured_cpu(phase).map(|cpu| (cpu, window.samples[phase]))));
    let (measured_cpu, measured_samples) = measured.fold((0.0, 0.0), |(cpu, samples), (c, n)| (cpu + c, samples + n));
    let cpu_per_sample = match interval_s.filter(|interval| *interval > 0.0) {
        _ if measured_samples >= MIN_CALIBRATION_SAMPLES => measured_cpu / measured_samples,
        Some(interval) => interval,
        None if suite.samples > 0.0 => suite.cpu_s / suite.samples,
        None => 0.0,
    };
    let footprint: Vec<(f64, f64)> = match start_ns {
        Some(ns) => run.footprint.iter().map(|(s, mb)| (ns / 1e9 + s, *mb)).collect(),
        _ => Vec::new(),
    };
    let files: Vec<Option<PathBuf>> = match run.call_paths {
        Some(paths) => paths.functions.iter().map(|function| function.file().map(PathBuf::from)).collect(),
        None => Vec::new(),
    };
    for (index, window) in windows.iter().enumerate() {
        let until = window.end.or_else(|| windows.get(index + 1).map(|next| next.start)).unwrap_or(run_end).max(window.start);
        let mut cost = [PhaseCost::default(); 3];
        for (phase, slot) in cost.iter_mut().enumerate() {
            slot.samples = window.samples[phase];
            slot.cpu_s = window.measured_cpu(phase).unwrap_or(window.samples[phase] * cpu_per_sample);
            if let (Some(begin), end) = window.phases[phase] {
                slot.wall_s = (end.unwrap_or(until) - begin).max(0.0);
            }
        }
        let mut by_line: HashMap<(PathBuf, u32), f64> = HashMap::new();
        for ((function, line), samples) in &window.lines {
            if let Some(Some(file)) = files.get(*function as usize) {
                *by_line.entry((file.clone(), *line)).or_default() += samples;
            }
        }
        // A line's part of the test's CPU time is its part of the test's samples.
        let (test_samples, test_cpu) = cost.iter().fold((0.0, 0.0), |(samples, cpu), phase| (samples + phase.samples, cpu + phase.cpu_s));
        let line_worth = if test_samples > 0.0 { test_cpu / test_samples } else { cpu_per_sample };
        let mut hottest: Vec<TestLine> = by_line
            .into_iter()
            .map(|((file, line), samples)| TestLine { file, line, samples, cpu_s: samples * line_worth })
            .collect();
        hottest.sort_by(|a, b| b.samples.total_cmp(&a.samples).then(a.file.cmp(&b.file)).then(a.line.cmp(&b.line)));
        hottest.truncate(MAX_TEST_LINES);
        let peak_mb = footprint.iter().filter(|(t, _)| *t >= window.start && *t <= until).map(|(_, mb)| *mb).reduce(f64::max);
        let (outcome, message) = window.outcome();
        if outcome == Outcome::Unfinished {
            suite.notes.push(format!(
                "{} began and did not finish: the run was stopped (time limit, cancel) or the process ended in it; its numbers cover it up to then",
                window.node
            ));
        }
        suite.tests.push(TestCost {
            node_id: window.node.clone(),
            file: window.file.clone(),
            line: window.line,
            outcome,
            message,
            setup: cost[0],
            call: cost[1],
            teardown: cost[2],
            peak_mb,
            hottest,
        });
    }
    // The run's CPU time: the tests' and, at a sample's worth each, the samples outside them.
    let outside = suite.outside_samples();
    suite.cpu_s = suite.tests.iter().map(|test| test.total().cpu_s).sum::<f64>() + outside * cpu_per_sample;
    suite.notes.extend(waits::waited_note(&suite.tests));
    suite
}

/// At least this many samples in phases with measured CPU time set the worth of a sample.
const MIN_CALIBRATION_SAMPLES: f64 = 20.0;

/// Gives each sample of the timeline to the test (and phase) running at its time; returns the time of
/// the last sample.
///
/// A run's samples are placed in the tests' phases only (pytest's own code between and around them is
/// not profiled and takes no samples): spread evenly over the phases' time between the run's start and
/// the next run of its thread when that is at most `SPREAD_LIMIT` typical spacings per sample, else one
/// typical spacing apart from its start (the thread slept or waited after the run).
fn give_samples(paths: &CallPaths, t0: f64, windows: &mut [Window]) -> f64 {
    let spacing = typical_spacing(paths);
    let mut next_start = vec![f64::INFINITY; paths.timeline.len()];
    let mut seen: HashMap<Option<u64>, usize> = HashMap::new();
    for (index, run) in paths.timeline.iter().enumerate().rev() {
        if let Some(next) = seen.insert(run.thread, index) {
            next_start[index] = t0 + paths.timeline[next].t_s;
        }
    }
    // Each test's extent: from its start to its end (or the next test's start).
    let extents: Vec<(f64, f64)> = (0..windows.len())
        .map(|index| {
            let until = windows[index].end.or_else(|| windows.get(index + 1).map(|next| next.start)).unwrap_or(f64::INFINITY);
            (windows[index].start, until.max(windows[index].start))
        })
        .collect();
    // The tests' time: their phases (setup, call, teardown), where their code runs; pytest's own code
    // around them takes no sample.
    let mut spans: Vec<(f64, f64)> = Vec::new();
    for (window, extent) in windows.iter().zip(&extents) {
        for (begin, done) in window.phases {
            if let Some(begin) = begin {
                spans.push((begin, done.unwrap_or(extent.1).max(begin)));
            }
        }
    }
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let starts: Vec<f64> = extents.iter().map(|extent| extent.0).collect();
    let mut last = f64::NEG_INFINITY;
    let mut times = Vec::new();
    for (index, run) in paths.timeline.iter().enumerate() {
        let Some(stack) = paths.cpu.get(run.stack as usize) else { continue };
        let leaf = stack.frames.iter().rev().map(|frame| paths.frame(*frame)).find(|frame| frame.line.is_some() && !paths.function(frame.function).is_native());
        sample_times(t0 + run.t_s, next_start[index], run.count.max(1), spacing, &spans, &mut times);
        for t in times.drain(..) {
            last = last.max(t);
            let at = starts.partition_point(|start| *start <= t);
            let Some(index) = at.checked_sub(1) else { continue };
            if t >= extents[index].1 {
                continue;
            }
            let window = &mut windows[index];
            let phase = window.phase_at(t);
            window.samples[phase] += 1.0;
            if let Some(frame) = leaf {
                *window.lines.entry((frame.function, frame.line.unwrap_or(0))).or_default() += 1.0;
            }
        }
    }
    last
}

/// A run spreads evenly over the tests' time up to the next run when that gives at most this many
/// typical spacings per sample.
const SPREAD_LIMIT: f64 = 1.5;

/// The times of a run's `count` samples, from `start`, before `hard_end`, in the tests' time (`spans`,
/// sorted and apart) when the run starts in a test, else one `spacing` apart.
fn sample_times(start: f64, hard_end: f64, count: u32, spacing: f64, spans: &[(f64, f64)], times: &mut Vec<f64>) {
    let first = spans.partition_point(|span| span.0 <= start).checked_sub(1).filter(|index| start < spans[*index].1);
    let Some(first) = first else {
        let step = if hard_end.is_finite() { ((hard_end - start) / count as f64).min(spacing) } else { spacing };
        times.extend((0..count).map(|k| start + step * k as f64));
        return;
    };
    // Test time between the start and the next run.
    let mut available = 0.0;
    for span in &spans[first..] {
        let (lo, hi) = (span.0.max(start), span.1.min(hard_end));
        if lo >= hard_end {
            break;
        }
        available += (hi - lo).max(0.0);
    }
    let spread = hard_end.is_finite() && available / count as f64 <= SPREAD_LIMIT * spacing;
    let step = if spread { available / count as f64 } else { spacing };
    // Walk the spans: sample k sits (k + 0.5) steps of test time after the start.
    let mut span = first;
    let mut span_lo = start;
    let mut used = 0.0;
    for k in 0..count {
        let offset = step * (k as f64 + 0.5);
        loop {
            let span_hi = spans[span].1;
            if offset - used < span_hi - span_lo || span + 1 >= spans.len() {
                times.push(span_lo + (offset - used));
                break;
            }
            used += span_hi - span_lo;
            span += 1;
            span_lo = spans[span].0;
        }
    }
}

/// The typical time between two samples: the median of each run's gap to the next run of its thread
/// divided by its count (Scalene's default interval when there are too few runs).
fn typical_spacing(paths: &CallPaths) -> f64 {
    let mut last_of_thread: HashMap<Option<u64>, (f64, u32)> = HashMap::new();
    let mut spacings = Vec::new();
    for run in &paths.timeline {
        if let Some((t, count)) = last_of_thread.insert(run.thread, (run.t_s, run.count.max(1))) {
            spacings.push((run.t_s - t) / count as f64);
        }
    }
    if spacings.len() < 3 {
        return 0.01;
    }
    spacings.sort_by(f64::total_cmp);
    spacings[spacings.len() / 2].max(1e-6)
}

#[cfg(test)]
mod tests;
