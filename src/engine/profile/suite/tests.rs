//! Attribution on synthetic timelines: each case says which test and phase its samples belong to.

use super::records::TestEvent;
use super::*;
use crate::engine::profile::call_paths::{CallFrame, CallFunction, CallPaths, Place, Stack, TimelineRun};

/// Stacks: 0 = test_a → burn:10, 1 = test_b → burn:10, 2 = burn:12 (another line).
fn paths(timeline: &[(f64, u32, u32)]) -> CallPaths {
    let functions = vec![
        CallFunction { name: "test_a".into(), place: Place::Python("/p/tests/test_x.py".into()) },
        CallFunction { name: "burn".into(), place: Place::Python("/p/work.py".into()) },
        CallFunction { name: "test_b".into(), place: Place::Python("/p/tests/test_x.py".into()) },
    ];
    let frames = vec![
        CallFrame { function: 0, line: Some(4) },
        CallFrame { function: 1, line: Some(10) },
        CallFrame { function: 2, line: Some(8) },
        CallFrame { function: 1, line: Some(12) },
    ];
    let cpu = vec![
        Stack { frames: vec![0, 1].into(), weight: 0.0 },
        Stack { frames: vec![2, 1].into(), weight: 0.0 },
        Stack { frames: vec![2, 3].into(), weight: 0.0 },
    ];
    let mut paths = CallPaths { functions, frames, cpu, ..CallPaths::default() };
    paths.timeline = timeline.iter().map(|(t_s, stack, count)| TimelineRun { t_s: *t_s, stack: *stack, count: *count, thread: Some(1) }).collect();
    for run in &paths.timeline.clone() {
        paths.cpu[run.stack as usize].weight += run.count as f64;
    }
    paths
}

fn run(paths: &CallPaths) -> RunSamples<'_> {
    RunSamples { call_paths: Some(paths), elapsed_s: 2.0, cpu_percent: 100.0, footprint: &[] }
}

/// Events for tests `(node, start, [setup, call, teardown] ends, end)`; the origin t0 = 100.
fn events(tests: &[(&str, f64, [f64; 3], Option<f64>)], failed: &[&str]) -> Vec<TestEvent> {
    let mut events = vec![TestEvent::Origins { timeline_t0: Some(100.0), start_ns: None }, TestEvent::Collected { n: tests.len() as u32 }];
    for (node, start, ends, end) in tests {
        events.push(TestEvent::Start { node: node.to_string(), file: "/p/tests/test_x.py".into(), line: 3, t: 100.0 + start });
        let mut begin = *start;
        for (phase, done) in ["setup", "call", "teardown"].into_iter().zip(ends) {
            if end.is_none() && phase == "teardown" {
                break;
            }
            events.push(TestEvent::Begin { node: node.to_string(), when: phase.into(), t: 100.0 + begin, cpu: None });
            if end.is_some() || phase == "setup" {
                events.push(TestEvent::Done { node: node.to_string(), when: phase.into(), t: 100.0 + done, cpu: None });
                let outcome = if phase == "call" && failed.contains(node) { "failed" } else { "passed" };
                events.push(TestEvent::Report { node: node.to_string(), when: phase.into(), outcome: outcome.into(), message: None });
            }
            begin = *done;
        }
        if let Some(end) = end {
            events.push(TestEvent::End { node: node.to_string(), t: 100.0 + end });
        }
    }
    events
}

fn samples(suite: &TestSuite) -> Vec<(String, [f64; 3], Outcome)> {
    suite.tests.iter().map(|test| (test.node_id.clone(), [test.setup.samples, test.call.samples, test.teardown.samples], test.outcome)).collect()
}

#[test]
fn samples_go_to_the_running_test_and_phase_and_a_failed_test_keeps_them() {
    // Sampled every 0.01 s. test_a: setup 0-0.1, call 0.1-0.9, teardown 0.9-1.0; test_b from 1.1: call
    // 1.2-1.6; between them pytest's own code, which takes no sample.
    let timeline = [(0.0, 0, 10), (0.1, 0, 50), (0.6, 2, 30), (0.9, 0, 10), (1.2, 1, 40)];
    let suite = attribute(
        run(&paths(&timeline)),
        &events(&[("t.py::a", 0.0, [0.1, 0.9, 1.0], Some(1.0)), ("t.py::b", 1.1, [1.2, 1.6, 1.7], Some(1.7))], &["t.py::b"]),
        Some(0.01),
    );
    assert_eq!(
        samples(&suite),
        [("t.py::a".to_string(), [10.0, 80.0, 10.0], Outcome::Passed), ("t.py::b".to_string(), [0.0, 40.0, 0.0], Outcome::Failed)]
    );
    assert_eq!(suite.ranked()[0].node_id, "t.py::a");
    assert!((suite.share(&suite.tests[1]) - 40.0 / 140.0).abs() < 1e-9);
    assert!((suite.tests[1].call.cpu_s - 0.4).abs() < 1e-9);
    let hottest: Vec<(String, u32, f64)> = suite.tests[0].hottest.iter().map(|line| (line.file.display().to_string(), line.line, line.samples)).collect();
    assert_eq!(hottest, [("/p/work.py".to_string(), 10, 70.0), ("/p/work.py".to_string(), 12, 30.0)]);
    assert!((suite.tests[0].call.wall_s - 0.8).abs() < 1e-9);
    assert!(suite.notes.is_empty(), "{:?}", suite.notes);
}

#[test]
fn a_run_merged_across_two_tests_is_spread_over_the_tests_time_not_the_gap_between() {
    // Two parametrized tests with the same stack, 0.0-0.1 and 0.3-0.4, sampled every 0.01 s: Scalene
    // merged their 20 samples into one run; the 0.2 s between them (pytest's own code) took none.
    let timeline = [(0.0, 0, 20), (0.5, 2, 1)];
    let suite = attribute(
        run(&paths(&timeline)),
        &events(&[("t.py::p[1]", 0.0, [0.0, 0.1, 0.1], Some(0.1)), ("t.py::p[2]", 0.3, [0.3, 0.4, 0.4], Some(0.4))], &[]),
        Some(0.01),
    );
    let calls: Vec<f64> = suite.tests.iter().map(|test| test.total().samples).collect();
    assert_eq!(calls, [10.0, 10.0]);
    assert_eq!(suite.outside_samples(), 1.0);
}

#[test]
fn a_test_that_never_ended_keeps_the_samples_after_its_start() {
    let timeline = [(0.0, 0, 5), (0.05, 2, 5), (0.1, 0, 1), (1.02, 1, 30)];
    let suite = attribute(
        run(&paths(&timeline)),
        &events(&[("t.py::a", 0.0, [0.01, 0.1, 0.11], Some(0.11)), ("t.py::hangs", 1.0, [1.01, 0.0, 0.0], None)], &[]),
        Some(0.01),
    );
    assert_eq!(samples(&suite)[0].1.iter().sum::<f64>(), 11.0);
    assert_eq!(samples(&suite)[1], ("t.py::hangs".to_string(), [0.0, 30.0, 0.0], Outcome::Unfinished));
    assert!(suite.notes.iter().any(|note| note.contains("t.py::hangs began and did not finish")), "{:?}", suite.notes);
}

#[test]
fn without_a_time_origin_tests_keep_their_outcomes_and_a_note_says_why() {
    let mut events = events(&[("t.py::a", 0.0, [0.1, 0.9, 1.0], Some(1.0))], &["t.py::a"]);
    events.remove(0);
    let suite = attribute(run(&paths(&[(0.2, 0, 10)])), &events, None);
    assert_eq!(samples(&suite), [("t.py::a".to_string(), [0.0, 0.0, 0.0], Outcome::Failed)]);
    assert!(suite.notes[0].contains("could not be placed in time"), "{:?}", suite.notes);
}

/// The events with the process's CPU clock on each phase's begin and done: it advances by
/// `spent[node][phase]` in each phase and by 0.5 s between phases.
fn with_cpu(mut events: Vec<TestEvent>, spent: &[(&str, [f64; 3])]) -> Vec<TestEvent> {
    let mut clock = 0.0;
    for event in &mut events {
        match event {
            TestEvent::Begin { cpu, .. } => *cpu = Some(clock),
            TestEvent::Done { node, when, cpu, .. } => {
                let phase = PHASES.iter().position(|name| name == when).unwrap();
                clock += spent.iter().find(|(name, _)| name == node).map_or(0.0, |(_, phases)| phases[phase]);
                *cpu = Some(clock);
                clock += 0.5;
            }
            _ => {}
        }
    }
    events
}

#[test]
fn measured_cpu_time_is_a_tests_cost_and_its_samples_say_where_it_went() {
    // Same run as the first test; the plugin measured test_a's call at 0.2 s of CPU, test_b's at 0.6 s
    // (a native call that held off the timer: few samples, much CPU). Sampled "every 0.01 s", but the
    // measured time says a sample is worth (0.05 + 0.2 + 0.05 + 0.6) / 140 s.
    let timeline = [(0.0, 0, 10), (0.1, 0, 50), (0.6, 2, 30), (0.9, 0, 10), (1.2, 1, 40)];
    let events = with_cpu(
        events(&[("t.py::a", 0.0, [0.1, 0.9, 1.0], Some(1.0)), ("t.py::b", 1.1, [1.2, 1.6, 1.7], Some(1.7))], &[]),
        &[("t.py::a", [0.05, 0.2, 0.05]), ("t.py::b", [0.0, 0.6, 0.0])],
    );
    let suite = attribute(run(&paths(&timeline)), &events, Some(0.01));
    let cpu: Vec<[f64; 3]> = suite.tests.iter().map(|test| [test.setup.cpu_s, test.call.cpu_s, test.teardown.cpu_s]).collect();
    for (got, want) in cpu.iter().flatten().zip([0.05, 0.2, 0.05, 0.0, 0.6, 0.0]) {
        assert!((got - want).abs() < 1e-9, "{cpu:?}");
    }
    // Samples are unchanged; CPU seconds rank and share.
    assert_eq!(samples(&suite)[0].1, [10.0, 80.0, 10.0]);
    assert_eq!(suite.ranked()[0].node_id, "t.py::b");
    assert!((suite.cpu_s - 0.9).abs() < 1e-9, "{}", suite.cpu_s);
    assert!((suite.share(&suite.tests[1]) - 0.6 / 0.9).abs() < 1e-9);
    // A line's CPU seconds are its part of its test's samples times the test's CPU time.
    let line = &suite.tests[0].hottest[0];
    assert_eq!((line.line, line.samples), (10, 70.0));
    assert!((line.cpu_s - 70.0 / 100.0 * 0.3).abs() < 1e-9, "{}", line.cpu_s);
}

#[test]
fn a_phase_cut_short_gets_its_samples_at_the_measured_worth_of_a_sample() {
    // test_a measured: about 100 samples in 0.5 s of CPU, so a sample is worth about 5 ms (not the 10 ms
    // interval); the hanging test's call never ended, so its 30-odd samples count at that worth.
    let timeline = [(0.0, 0, 5), (0.01, 0, 95), (1.02, 1, 30)];
    let events = with_cpu(
        events(&[("t.py::a", 0.0, [0.01, 0.9, 1.0], Some(1.0)), ("t.py::hangs", 1.0, [1.01, 0.0, 0.0], None)], &[]),
        &[("t.py::a", [0.02, 0.46, 0.02])],
    );
    let suite = attribute(run(&paths(&timeline)), &events, Some(0.01));
    assert_eq!(suite.tests[1].outcome, Outcome::Unfinished);
    // Measured phases: test_a's three (0.5 s) and the hanging test's setup (no CPU time, a sample or so).
    let (measured, cut) = (suite.tests[0].total().samples + suite.tests[1].setup.samples, suite.tests[1].call);
    assert!(measured >= 95.0 && cut.samples >= 30.0, "{measured} {cut:?}");
    assert!((cut.cpu_s - cut.samples * 0.5 / measured).abs() < 1e-9, "{cut:?}");
}

#[test]
fn what_the_plugin_could_not_do_is_in_the_suites_notes() {
    let mut events = events(&[("t.py::a", 0.0, [0.1, 0.9, 1.0], Some(1.0))], &[]);
    events.insert(1, TestEvent::Note { text: "this Scalene's sampling could not be timed".into() });
    let suite = attribute(run(&paths(&[(0.2, 0, 10)])), &events, Some(0.01));
    assert!(suite.notes.iter().any(|note| note == "this Scalene's sampling could not be timed"), "{:?}", suite.notes);
}
