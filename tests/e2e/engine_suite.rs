//! Attribution against Scalene's own clock: on a captured suite run (tests/data/pytest_suite), the
//! samples the engine gives each test (placed by the CPU timeline's runs) are the samples whose own
//! timestamps (each line's `cpu_samples_list`, complete below Scalene's 500-per-line reservoir) fall
//! inside that test, within 2 samples or 10 %, and at most one sample off. The run sampled on CPU time
//! (`--use-virtual-time`), as suite runs do, and its log carries each phase's CPU clock: those CPU
//! seconds are what each test shows.

use std::collections::BTreeSet;

use scalene_lsp::engine::profile::parse::parse_profile;
use scalene_lsp::engine::profile::suite::records::{TestEvent, parse_events};
use scalene_lsp::engine::profile::suite::{RunSamples, attribute};

use crate::support;

#[test]
fn each_test_gets_the_samples_scalene_timed_inside_it() {
    let data = support::repo().join("tests/data/pytest_suite");
    let raw = std::fs::read(data.join("profile.json")).unwrap();
    let log = std::fs::read_to_string(data.join("tests.jsonl")).unwrap();
    let profile = parse_profile(&raw).unwrap();
    let (events, unreadable) = parse_events(&log);
    assert_eq!(unreadable, 0);
    let run = RunSamples {
        call_paths: profile.call_paths.as_deref(),
        elapsed_s: profile.elapsed_s,
        cpu_percent: profile.files.iter().map(|file| file.cpu_percent).sum(),
        footprint: &[],
    };
    let suite = attribute(run, &events, Some(0.002));
    assert_eq!(suite.tests.len(), 24, "22 light tests, the fixture's and the skipped one");
    // Scalene's own sample times, once each (a loop's lines share theirs).
    let json: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let mut times = BTreeSet::new();
    for file in json["files"].as_object().unwrap().values() {
        for line in file["lines"].as_array().unwrap() {
            for time in line["cpu_samples_list"].as_array().unwrap() {
                times.insert(time.as_f64().unwrap().to_bits());
            }
        }
    }
    let times: Vec<f64> = times.into_iter().map(f64::from_bits).collect();
    let window = |node: &str| {
        let start = events.iter().find_map(|event| match event {
            TestEvent::Start { node: name, t, .. } if name == node => Some(*t),
            _ => None,
        });
        let end = events.iter().find_map(|event| match event {
            TestEvent::End { node: name, t } if name == node => Some(*t),
            _ => None,
        });
        (start.unwrap(), end.unwrap())
    };
    let mut off = Vec::new();
    let mut worst: f64 = 0.0;
    let mut total_error = 0.0;
    for test in &suite.tests {
        let (start, end) = window(&test.node_id);
        let timed = times.iter().filter(|time| **time >= start && **time < end).count() as f64;
        let given = test.total().samples;
        total_error += (given - timed).abs();
        worst = worst.max((given - timed).abs());
        if (given - timed).abs() > (0.1 * timed).max(2.0) {
            off.push((test.node_id.clone(), given, timed));
        }
    }
    assert!(off.is_empty(), "tests whose samples differ from Scalene's timestamps inside them: {off:?}");
    let in_tests: f64 = suite.tests.iter().map(|test| test.total().samples).sum();
    eprintln!("attribution against Scalene's timestamps: {total_error} of {in_tests} samples misplaced, at most {worst} in one test");
    // Runs merged across tests (the light tests share one stack) are spread over them, so a test may get
    // one sample of its neighbour's, never more.
    assert!(worst <= 1.0, "a test's samples are {worst} off Scalene's timestamps ({total_error} misplaced of {in_tests})");
    // Each phase's CPU seconds are the plugin's clock: the fixture's setup burns 6 units, its call 4,
    // its teardown 2 (at 15-25 ms a unit here).
    let fixture = suite.tests.iter().find(|test| test.node_id.ends_with("test_with_fixture")).unwrap();
    assert!(fixture.setup.cpu_s > fixture.call.cpu_s && fixture.call.cpu_s > fixture.teardown.cpu_s, "{fixture:?}");
    assert!((0.06..0.3).contains(&fixture.setup.cpu_s), "{fixture:?}");
    assert!(fixture.setup.samples > fixture.call.samples && fixture.call.samples > fixture.teardown.samples && fixture.teardown.samples > 0.0, "{fixture:?}");
}
