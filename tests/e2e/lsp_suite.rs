//! `scalene.profileTests` through the LSP server with real Scalene: the suite run goes through the run
//! machinery (progress with its own title), and afterwards each test function of an open test file has a
//! lens with its cost (docs/lsp.md: Commands, Lenses).

use serde_json::{Value, json};

use crate::lsp_profile::{follow, start_in};
use crate::support::lsp_client::{TIMEOUT, default_capabilities};

fn lens_titles(lenses: &[Value]) -> Vec<(u64, String)> {
    lenses
        .iter()
        .filter(|lens| lens["command"]["title"].as_str().unwrap_or("").contains("% of suite"))
        .map(|lens| (lens["range"]["start"]["line"].as_u64().unwrap(), lens["command"]["title"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn profile_tests_runs_the_suite_and_puts_each_tests_cost_above_it() {
    let project = crate::cli_suite::suite_project();
    let mut client = start_in(&project, default_capabilities());
    let heavy = project.path().join("tests/test_heavy.py");
    let text = std::fs::read_to_string(&heavy).unwrap();
    let uri = client.open(&heavy, &text);
    assert!(lens_titles(&client.code_lenses(&uri)).is_empty(), "no suite run yet");
    let none = client.request_ok("scalene/tests", json!({}));
    assert!(none["profileId"].is_null() && none["items"] == json!([]), "{none}");

    // Only the heavy tests (a path filter) and not the failing one (-k): the arguments pass through.
    let started = client.execute_ok("scalene.profileTests", json!({"filter": ["tests/test_heavy.py"], "args": ["-k", "not fails_after"], "mode": "cpu"}));
    let run_id = started["run_id"].as_str().unwrap().to_string();
    client.expect_request("window/workDoneProgress/create", TIMEOUT);
    let begin = client.expect_notification("$/progress", |params| params["value"]["kind"] == "begin", TIMEOUT);
    assert!(begin["value"]["title"].as_str().unwrap().starts_with("Scalene: profiling the pytest suite in "), "{begin}");
    let run = follow(&mut client, run_id);
    assert!(run.end.starts_with("ok"), "{}", run.end);

    let lenses = lens_titles(&client.code_lenses(&uri));
    let line_of = |needle: &str| text.lines().position(|line| line.contains(needle)).unwrap() as u64;
    let title_at = |line: u64| lenses.iter().find(|(at, _)| *at == line).map(|(_, title)| title.clone());
    let heaviest = title_at(line_of("def test_heaviest")).unwrap_or_else(|| panic!("{lenses:?}"));
    assert!(heaviest.contains(" s · ") && heaviest.contains("hottest: work.py:"), "{heaviest}");
    let param = title_at(line_of("def test_param")).unwrap_or_else(|| panic!("{lenses:?}"));
    assert!(param.starts_with("3 cases · "), "the parametrized test's cases together: {param}");
    assert!(title_at(line_of("def test_checksum")).is_some(), "a method of a test class: {lenses:?}");
    assert!(title_at(line_of("def test_skipped")).is_some_and(|title| title.starts_with("skipped")), "{lenses:?}");
    assert!(title_at(line_of("def test_fails_after_burning")).is_none(), "deselected with -k: {lenses:?}");
    let share = |title: &str| -> f64 { title.split(" · ").find(|part| part.ends_with("% of suite")).unwrap().trim_end_matches("% of suite").parse().unwrap() };
    assert!(share(&heaviest) > 15.0 && share(&param) > share(&heaviest), "30 units of 120; 48 of 120: {heaviest} / {param}");

    // The same tests as a list, slowest first (Neovim's :ScaleneTests).
    let listed = client.request_ok("scalene/tests", json!({"limit": 2}));
    assert_eq!(listed["total"], 7, "{listed}");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0]["uri"].as_str().unwrap().ends_with("tests/test_heavy.py") && items[0]["seconds"].as_f64().unwrap() > 0.0, "{listed}");
    assert!(items[0]["hottest"][0]["uri"].as_str().unwrap().ends_with("/work.py") && items[0]["hottest"][0]["source"].as_str().unwrap().contains("total"), "{listed}");

    let error = client.execute("scalene.profileTests", json!({"filter": "tests"})).unwrap_err();
    assert!(error["message"].as_str().unwrap().contains("scalene.profileTests: bad argument at `filter`"), "{error}");
    let error = client.execute("scalene.profileTests", json!({"args": ["-n", "2"]})).unwrap_err();
    assert!(error["message"].as_str().unwrap().contains("cannot use pytest-xdist"), "refused at once: {error}");
}
