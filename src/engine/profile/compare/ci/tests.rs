//! The CI reports on real comparisons of the captured profiles: compare_v1 → compare_v2 (grow() ~3x
//! slower and bigger, shrink() ~3x faster and smaller, lines inserted above them) and compare_v1 against
//! itself (nothing changed). SARIF is validated against the official SARIF 2.1.0 schema (vendored in
//! tests/data/); the three formats are snapshots.

use std::path::Path;

use serde_json::Value;

use super::*;
use crate::engine::profile::compare::{NoiseRule, compare};
use crate::engine::profile::model::Profile;

fn fixture(name: &str) -> Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/scalene/2.4.0/{name}.json"));
    crate::engine::profile::parse::parse_profile(&std::fs::read(path).unwrap()).unwrap()
}

fn comparison(before: &str, after: &str) -> Comparison {
    compare(&fixture(before), &format!("{before}.json"), &fixture(after), &format!("{after}.json"), &NoiseRule::default())
}

/// The captured files as if checked out at `/repo`: `app/<file name>`.
fn context(comparison: &Comparison, blob_base: Option<&str>) -> CiContext {
    let relative = comparison
        .files
        .iter()
        .map(|file| (file.path.clone(), format!("app/{}", Path::new(&file.path).file_name().unwrap().to_str().unwrap())))
        .collect();
    CiContext { relative, root: Some("/repo".into()), blob_base: blob_base.map(String::from), tool_version: "0.1.0".into() }
}

pub fn sarif_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid_sarif(json: &Value) {
    let errors: Vec<String> = sarif_validator().iter_errors(json).map(|err| format!("{} at {}", err, err.instance_path())).collect();
    assert!(errors.is_empty(), "not valid SARIF 2.1.0: {errors:#?}");
}

#[test]
fn sarif_puts_each_regressed_and_improved_place_on_its_after_line_relative_to_the_root() {
    let comparison = comparison("compare_v1", "compare_v2");
    let json: Value = serde_json::from_str(&sarif::render(&comparison, &context(&comparison, None))).unwrap();
    assert_valid_sarif(&json);
    let mut broken = json.clone();
    broken["runs"][0]["results"][0]["level"] = "severe".into();
    broken["runs"][0]["tool"]["driver"].as_object_mut().unwrap().remove("name");
    assert_eq!(sarif_validator().iter_errors(&broken).count(), 2, "the schema check is not vacuous");
    assert_eq!(json["version"], "2.1.0");
    let run = &json["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "scalene-lsp");
    assert_eq!(run["tool"]["driver"]["version"], "0.1.0");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|rule| rule["id"].as_str().unwrap()).collect();
    assert_eq!(rules, ["cpu-regression", "memory-regression", "cpu-improvement", "memory-improvement"]);
    assert_eq!(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file:///repo/");
    let results = run["results"].as_array().unwrap();
    let grow = comparison.functions.iter().find(|f| f.name == "grow").unwrap();
    let on = |line: u32| results.iter().filter(move |r| r["locations"][0]["physicalLocation"]["region"]["startLine"] == line);
    let grow_result = on(grow.after_line.unwrap()).next().unwrap_or_else(|| panic!("{results:#?}"));
    assert_eq!((grow_result["ruleId"].as_str(), grow_result["level"].as_str()), (Some("cpu-regression"), Some("warning")));
    assert_eq!(grow_result["locations"][0]["physicalLocation"]["artifactLocation"], serde_json::json!({ "uri": "app/compare_v2.py", "uriBaseId": "SRCROOT" }));
    let message = grow_result["message"]["text"].as_str().unwrap();
    assert!(message.contains(" s → ") && message.contains("1% error rate"), "before → after numbers and the noise statement: {message}");
    let shrink = comparison.functions.iter().find(|f| f.name == "shrink").unwrap();
    assert!(on(shrink.after_line.unwrap()).any(|r| r["level"] == "note" && r["ruleId"] == "cpu-improvement"), "{results:#?}");
    let named = comparison.functions.iter().filter(|f| matches!(f.verdict, Verdict::Regressed | Verdict::Improved)).count()
        + comparison.lines.iter().filter(|l| matches!(l.verdict, Verdict::Regressed | Verdict::Improved)).count();
    assert_eq!(results.len(), named, "one result per regressed or improved function and line");
    insta::assert_snapshot!("sarif_compare_v1_v2", sarif::render(&comparison, &context(&comparison, None)));
}

#[test]
fn nothing_changed_gives_a_passing_report_in_every_format() {
    let comparison = comparison("compare_v1", "compare_v1");
    let context = context(&comparison, None);
    let json: Value = serde_json::from_str(&sarif::render(&comparison, &context)).unwrap();
    assert_valid_sarif(&json);
    assert_eq!(json["runs"][0]["results"].as_array().map(Vec::len), Some(0));
    let github = github::render(&comparison, &context);
    assert!(!github.contains("::warning") && !github.contains("::notice"), "{github}");
    assert!(github.contains("no regressions beyond the noise"), "{github}");
    let markdown = markdown::render(&comparison, &context);
    assert!(markdown.starts_with("### ✅ scalene-lsp: no regressions beyond the noise"), "{markdown}");
    assert!(!markdown.contains("#### Regressions"), "{markdown}");
    insta::assert_snapshot!("markdown_unchanged", markdown);
}

#[test]
fn github_commands_escape_data_and_properties_as_github_does() {
    assert_eq!(github::escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
    assert_eq!(github::escape_property("a,b:c%\n"), "a%2Cb%3Ac%25%0A");
    let comparison = comparison("compare_v1", "compare_v2");
    let out = github::render(&comparison, &context(&comparison, None));
    let grow = comparison.functions.iter().find(|f| f.name == "grow").unwrap();
    let prefix = format!("::warning file=app/compare_v2.py,line={},title=grow() got slower::", grow.after_line.unwrap());
    assert!(out.lines().any(|line| line.starts_with(&prefix)), "{out}");
    assert!(out.lines().any(|line| line.starts_with("::notice file=app/compare_v2.py,line=")), "{out}");
    assert!(out.lines().filter(|line| line.starts_with("::")).all(|line| !line.contains('\r')), "{out}");
    assert!(out.contains("+291%25"), "a percent sign in a message is escaped: {out}");
    insta::assert_snapshot!("github_compare_v1_v2", out);
}

#[test]
fn markdown_names_the_lines_with_links_what_was_not_seen_and_how_to_reproduce() {
    let comparison = comparison("compare_v1", "compare_v2");
    let relative = markdown::render(&comparison, &context(&comparison, None));
    let grow = comparison.functions.iter().find(|f| f.name == "grow").unwrap();
    let line = grow.after_line.unwrap();
    assert!(relative.contains(&format!("[app/compare_v2.py:{line}](app/compare_v2.py#L{line})")), "{relative}");
    assert!(relative.contains("#### Regressions") && relative.contains("#### Improvements"), "{relative}");
    assert!(relative.contains("cannot be seen") && relative.contains("1% error rate"), "{relative}");
    assert!(relative.contains("scalene-lsp compare before.json after.json"), "{relative}");
    let linked = markdown::render(&comparison, &context(&comparison, Some("https://github.com/o/r/blob/abc/")));
    assert!(linked.contains(&format!("(https://github.com/o/r/blob/abc/app/compare_v2.py#L{line})")), "{linked}");
    insta::assert_snapshot!("markdown_compare_v1_v2", relative);
}

#[test]
fn paths_outside_the_root_stay_absolute_and_still_valid() {
    let comparison = comparison("compare_v1", "compare_v2");
    let context = CiContext { tool_version: "0.1.0".into(), ..CiContext::default() };
    let json: Value = serde_json::from_str(&sarif::render(&comparison, &context)).unwrap();
    assert_valid_sarif(&json);
    let uri = json["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert!(uri.starts_with("file:///") && uri.ends_with("compare_v2.py"), "{uri}");
    assert_eq!(sarif::encode_path("a b/c#d.py"), "a%20b/c%23d.py");
    let markdown = markdown::render(&comparison, &context);
    assert!(!markdown.contains("](/"), "no link to an absolute path: {markdown}");
}
