//! A comparison as SARIF 2.1.0 (built with `serde-sarif`'s types): one result per regressed function or
//! line (level `warning`) and per improved one (level `note`), on the after version's line, its path
//! relative to the repository root (`uriBaseId` `SRCROOT`), so a code-scanning upload shows each on the
//! pull request's line. One rule per kind of finding (`FindingKind`). A comparison that names nothing
//! has zero results.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serde_sarif::sarif;

use super::{CiContext, Finding, FindingKind, Subject, findings, noise_statement, overall_changes};
use crate::engine::profile::compare::report::Comparison;

/// The `$schema` of the output: the SARIF 2.1.0 schema as published by OASIS.
pub const SARIF_SCHEMA_URI: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base id of relative paths.
pub const SRCROOT: &str = "SRCROOT";

/// The SARIF log of a comparison, pretty-printed JSON with a final newline.
pub fn render(comparison: &Comparison, context: &CiContext) -> String {
    serde_json::to_string_pretty(&log(comparison, context)).expect("a SARIF log serializes") + "\n"
}

pub fn log(comparison: &Comparison, context: &CiContext) -> sarif::Sarif {
    let noise = noise_statement(comparison);
    let rules: Vec<sarif::ReportingDescriptor> = FindingKind::ALL.iter().map(|kind| rule(*kind)).collect();
    let results: Vec<sarif::Result> = findings(comparison, context).iter().map(|finding| result(finding, &noise)).collect();
    let driver = sarif::ToolComponent::builder()
        .name("scalene-lsp")
        .full_name(format!("scalene-lsp {} compare", context.tool_version))
        .version(context.tool_version.clone())
        .semantic_version(context.tool_version.clone())
        .rules(rules)
        .build();
    let overall: Vec<Value> = overall_changes(comparison).into_iter().map(|(verdict, text)| json!({ "verdict": verdict.as_str(), "change": text })).collect();
    let mut run_properties = BTreeMap::new();
    run_properties.insert("verdict".to_string(), json!(comparison.summary.verdict.as_str()));
    run_properties.insert("before".to_string(), json!(comparison.before.label));
    run_properties.insert("after".to_string(), json!(comparison.after.label));
    run_properties.insert("noise".to_string(), json!(noise));
    run_properties.insert("summary".to_string(), json!(comparison.summary.text));
    run_properties.insert("overall".to_string(), json!(overall));
    run_properties.insert("notes".to_string(), json!(comparison.notes));
    let run = sarif::Run::builder().tool(sarif::Tool::builder().driver(driver).build()).results(results).properties(sarif::PropertyBag::builder().additional_properties(run_properties).build());
    let run = match &context.root {
        Some(root) => {
            let mut bases = BTreeMap::new();
            let uri = format!("file://{}/", encode_path(root.trim_end_matches('/')));
            bases.insert(SRCROOT.to_string(), sarif::ArtifactLocation::builder().uri(uri).build());
            run.original_uri_base_ids(bases).build()
        }
        None => run.build(),
    };
    sarif::Sarif::builder().schema(SARIF_SCHEMA_URI).version(json!("2.1.0")).runs(vec![run]).build()
}

fn rule(kind: FindingKind) -> sarif::ReportingDescriptor {
    let level = if kind.is_regression() { "warning" } else { "note" };
    let mut properties = BTreeMap::new();
    properties.insert("precision".to_string(), json!("high"));
    sarif::ReportingDescriptor::builder()
        .id(kind.id())
        .name(kind.name())
        .short_description(sarif::MultiformatMessageString::builder().text(kind.short_description()).build())
        .full_description(sarif::MultiformatMessageString::builder().text(kind.full_description()).build())
        .default_configuration(sarif::ReportingConfiguration::builder().level(json!(level)).build())
        .properties(sarif::PropertyBag::builder().tags(vec!["performance".to_string()]).additional_properties(properties).build())
        .build()
}

fn result(finding: &Finding<'_>, noise: &str) -> sarif::Result {
    let artifact = if finding.relative {
        sarif::ArtifactLocation::builder().uri(encode_path(&finding.path)).uri_base_id(SRCROOT).build()
    } else {
        let absolute = finding.path.starts_with('/');
        sarif::ArtifactLocation::builder().uri(if absolute { format!("file://{}", encode_path(&finding.path)) } else { encode_path(&finding.path) }).build()
    };
    let physical = sarif::PhysicalLocation::builder().artifact_location(artifact).region(sarif::Region::builder().start_line(i64::from(finding.line)).build()).build();
    let function = match &finding.subject {
        Subject::Function(name) => Some(name.clone()),
        Subject::Line { function, .. } => function.clone(),
    };
    let location = match function {
        Some(name) => sarif::Location::builder()
            .physical_location(physical)
            .logical_locations(vec![sarif::LogicalLocation::builder().fully_qualified_name(name.clone()).name(name).kind("function").build()])
            .build(),
        None => sarif::Location::builder().physical_location(physical).build(),
    };
    let level = if finding.kind.is_regression() { sarif::ResultLevel::Warning } else { sarif::ResultLevel::Note };
    let rule_index = FindingKind::ALL.iter().position(|kind| *kind == finding.kind).expect("every kind has a rule");
    sarif::Result::builder()
        .rule_id(finding.kind.id())
        .rule_index(rule_index as i64)
        .level(level)
        .message(sarif::Message::builder().text(finding.message(noise)).build())
        .locations(vec![location])
        .properties(sarif::PropertyBag::builder().additional_properties(numbers(finding)).build())
        .build()
}

/// The numbers behind a result, for tools that read them.
fn numbers(finding: &Finding<'_>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let side = |metrics: Option<&crate::engine::profile::compare::report::Metrics>| metrics.map(|m| json!({ "cpu_s": m.cpu_s, "alloc_mb": m.alloc_mb, "peak_mb": m.peak_mb }));
    out.insert("subject".to_string(), json!(if matches!(finding.subject, Subject::Function(_)) { "function" } else { "line" }));
    out.insert("before".to_string(), json!(side(finding.before)));
    out.insert("after".to_string(), json!(side(finding.after)));
    out.insert("cpu_change_percent".to_string(), json!(finding.delta.cpu_change_percent));
    if let Some(line) = finding.before_line {
        out.insert("before_line".to_string(), json!(line));
    }
    if let Some(test) = finding.cpu_test {
        out.insert("cpu_test".to_string(), json!({ "region": test.region, "ratio": test.ratio, "interval": test.interval, "p_value": test.p_value }));
    }
    out
}

/// A path as a URI reference: every byte outside RFC 3986's unreserved set and `/` percent-encoded.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
