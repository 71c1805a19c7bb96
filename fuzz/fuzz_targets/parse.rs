//! `parse_profile` on arbitrary bytes: it must return `Ok` or `Err`, never panic (or overflow, hang or
//! blow the stack). A profile it accepts must also keep the model's documented invariants and survive
//! everything the front ends do with it (normalized JSON, lookups), so those run here too.
//!
//! Run with `fuzz/run.sh` (seeds the corpus from fixtures/scalene/*/ first).

#![no_main]

use libfuzzer_sys::fuzz_target;
use scalene_lsp::engine::profile::model::{LINE_TIMELINE_POINTS, TIMELINE_POINTS};
use scalene_lsp::engine::profile::parse::parse_profile;
use scalene_lsp::engine::profile::schema::ProfileJson;

fuzz_target!(|data: &[u8]| {
    let profile = match parse_profile(data) {
        Ok(profile) => profile,
        Err(err) => {
            // Every error has a message (Display must not panic either).
            assert!(!err.to_string().is_empty());
            return;
        }
    };

    // Invariants model.rs documents.
    assert!(profile.timeline.len() <= TIMELINE_POINTS, "timeline has {} points", profile.timeline.len());
    assert!(
        profile.files.windows(2).all(|pair| pair[0].path.as_os_str() <= pair[1].path.as_os_str()),
        "files are not sorted by path"
    );
    for file in &profile.files {
        assert!(file.lines.is_sorted_by_key(|line| line.line), "lines of {:?} are not sorted", file.path);
        assert!(file.functions.is_sorted_by_key(|function| function.line), "functions not sorted");
        assert!(file.leaks.is_sorted_by_key(|leak| leak.line), "leaks not sorted");
        for line in &file.lines {
            assert!(line.has_activity(), "line {} kept without activity", line.line);
            assert!(line.memory_timeline.len() <= LINE_TIMELINE_POINTS);
            if let Some(range) = &line.outer_loop {
                assert!(range.start() <= range.end());
            }
        }
        for function in &file.functions {
            assert!(function.end_line >= function.line, "function {function:?} ends before it starts");
            let _ = file.function_at(function.line);
            let _ = file.lines_in(function.line..=function.end_line);
        }
        if let Some(first) = file.lines.first() {
            assert!(file.line(first.line).is_some());
            let _ = file.function_at(first.line);
            let _ = file.leak(first.line);
        }
        let _ = file.lines_in(0..=u32::MAX);
        assert!(file.source.is_empty() || file.source.ends_with('\n'), "source does not end a line");
    }
    let _ = profile.hottest_line();
    let _ = profile.approx_bytes();

    // What `--json` and MCP print: serializing the normalized form must not fail.
    let normalized = ProfileJson::from(&profile);
    serde_json::to_vec(&normalized).expect("normalized profile serializes");
});
