//! What the suite plugin (`engine/run/runner/suite/scalene_lsp_pytest.py`) records, one JSON object a
//! line, and its reading: a line that does not parse (the last one, cut by a kill) is skipped and
//! counted, never an error. Pure: text in, events out.

use std::path::PathBuf;

use serde::Deserialize;

/// One event of a suite run. Times are `time.perf_counter()` seconds, the clock of Scalene's samples.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum TestEvent {
    /// Scalene's time origins: its timeline's first sample (perf_counter s) and its start (monotonic ns).
    Origins { timeline_t0: Option<f64>, start_ns: Option<f64> },
    /// How many tests were selected.
    Collected { n: u32 },
    CollectError { node: String, message: String },
    /// A test's protocol began: its file and the line of its `def`.
    Start { node: String, file: PathBuf, line: u32, t: f64 },
    /// A phase (`setup`, `call`, `teardown`) began or ended, and the process's CPU seconds then
    /// (`time.process_time()`; absent in logs of older plugins).
    Begin { node: String, when: String, t: f64, #[serde(default)] cpu: Option<f64> },
    Done { node: String, when: String, t: f64, #[serde(default)] cpu: Option<f64> },
    /// pytest's report of a phase: `passed`, `failed`, `skipped`, `xfailed`, `xpassed`.
    Report { node: String, when: String, outcome: String, message: Option<String> },
    End { node: String, t: f64 },
    SessionEnd { exit: i32 },
    /// The run asked for pytest-xdist, which the plugin refused.
    Xdist { workers: String, dist: String },
    /// Something the plugin could not do, said for the suite's notes (an other Scalene's internals).
    Note { text: String },
}

/// The events of a plugin log, in order, and how many lines could not be read.
pub fn parse_events(text: &str) -> (Vec<TestEvent>, usize) {
    let mut events = Vec::new();
    let mut unreadable = 0;
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        match serde_json::from_str::<TestEvent>(line) {
            Ok(event) => events.push(event),
            Err(_) => unreadable += 1,
        }
    }
    (events, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_and_a_cut_last_line_is_counted_not_fatal() {
        let text = "{\"ev\":\"collected\",\"n\":2}\n{\"ev\":\"start\",\"node\":\"t.py::a\",\"file\":\"/p/t.py\",\"line\":3,\"t\":1.5}\n{\"ev\":\"report\",\"node\":\"t.py::a\",\"when\":\"call\",\"outcome\":\"failed\",\"message\":\"E  boom\"}\n{\"ev\":\"end\",\"node\":\"t.py::a\",\"t\":2";
        let (events, unreadable) = parse_events(text);
        assert_eq!(unreadable, 1);
        assert_eq!(events[0], TestEvent::Collected { n: 2 });
        assert_eq!(events[1], TestEvent::Start { node: "t.py::a".into(), file: "/p/t.py".into(), line: 3, t: 1.5 });
        assert!(matches!(&events[2], TestEvent::Report { outcome, .. } if outcome == "failed"));
        let (events, _) = parse_events("{\"ev\":\"note\",\"text\":\"could not time\"}\n");
        assert_eq!(events, [TestEvent::Note { text: "could not time".into() }]);
    }
}
