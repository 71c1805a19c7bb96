//! Tests that waited more than they computed: their CPU seconds (what the suite is ranked by) leave
//! out time off the CPU (sleep, I/O, locks, subprocesses), which pytest's `--durations` counts. A note
//! names the longest waits so that a ranking by CPU does not hide them. Pure.

use super::{Outcome, TestCost};

/// A test waited when it spent at least this long off the CPU, and at least half its wall time.
const MIN_WAIT_S: f64 = 1.0;
/// At most this many tests are named.
const NAMED: usize = 3;

/// The note naming the tests that waited longest, if any did.
pub(super) fn waited_note(tests: &[TestCost]) -> Option<String> {
    let mut waited: Vec<(&TestCost, f64)> = tests
        .iter()
        .filter(|test| test.outcome != Outcome::Unfinished)
        .map(|test| (test, test.total().wall_s - test.total().cpu_s))
        .filter(|(test, off_cpu)| *off_cpu >= MIN_WAIT_S && *off_cpu >= 0.5 * test.total().wall_s)
        .collect();
    if waited.is_empty() {
        return None;
    }
    waited.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.node_id.cmp(&b.0.node_id)));
    let named: Vec<String> =
        waited.iter().take(NAMED).map(|(test, off_cpu)| format!("{} ({off_cpu:.1} s of its {:.1} s)", test.node_id, test.total().wall_s)).collect();
    let more = waited.len().saturating_sub(NAMED);
    Some(format!(
        "{} waited off the CPU (sleep, I/O, locks, subprocesses){}: CPU seconds, by which tests are ranked, leave that time out; \
         their wall time (pytest's clock, what --durations ranks by) has it",
        named.join(", "),
        if more > 0 { format!(", and {more} more tests") } else { String::new() }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::profile::suite::PhaseCost;

    fn test(node: &str, cpu_s: f64, wall_s: f64, outcome: Outcome) -> TestCost {
        TestCost {
            node_id: node.into(),
            file: "/p/tests/test_x.py".into(),
            line: 1,
            outcome,
            message: None,
            setup: PhaseCost::default(),
            call: PhaseCost { samples: 1.0, cpu_s, wall_s },
            teardown: PhaseCost::default(),
            peak_mb: None,
            hottest: Vec::new(),
        }
    }

    #[test]
    fn tests_that_waited_are_named_longest_wait_first_and_busy_ones_are_not() {
        let tests = [
            test("t.py::busy", 2.0, 2.1, Outcome::Passed),
            test("t.py::sleeps", 0.1, 3.1, Outcome::Passed),
            test("t.py::waits_on_a_server", 0.4, 5.4, Outcome::Failed),
            test("t.py::short_wait", 0.01, 0.5, Outcome::Passed),
            test("t.py::hangs", 0.0, 30.0, Outcome::Unfinished),
        ];
        let note = waited_note(&tests).expect("a note");
        assert!(note.starts_with("t.py::waits_on_a_server (5.0 s of its 5.4 s), t.py::sleeps (3.0 s of its 3.1 s) waited off the CPU"), "{note}");
        assert!(!note.contains("busy") && !note.contains("short_wait") && !note.contains("hangs"), "{note}");
        assert_eq!(waited_note(&tests[..1]), None);
    }

    #[test]
    fn past_three_the_rest_are_counted() {
        let tests: Vec<TestCost> = (0..5).map(|index| test(&format!("t.py::w{index}"), 0.1, 2.0 + index as f64, Outcome::Passed)).collect();
        let note = waited_note(&tests).unwrap();
        assert!(note.starts_with("t.py::w4 (5.9 s of its 6.0 s), t.py::w3") && note.contains(", and 2 more tests:"), "{note}");
    }
}
