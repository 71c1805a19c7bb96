//! docs/schema.md embeds the JSON Schema of the normalized output; it must match the code.
//! `UPDATE_SCHEMA_DOC=1 cargo test --test e2e schema` rewrites the embedded copy.

use crate::support;

const BEGIN: &str = "<!-- schema:begin -->\n```json\n";
const END: &str = "```\n<!-- schema:end -->";
const COMPARISON_BEGIN: &str = "<!-- comparison-schema:begin -->\n```json\n";
const COMPARISON_END: &str = "```\n<!-- comparison-schema:end -->";

fn embedded(begin: &str, end: &str) -> serde_json::Value {
    let _no_writer = DOC.lock().unwrap_or_else(|poison| poison.into_inner());
    let doc = std::fs::read_to_string(support::repo().join("docs/schema.md")).unwrap();
    let start = doc.find(begin).expect("docs/schema.md has the schema markers") + begin.len();
    let stop = doc[start..].find(end).unwrap() + start;
    serde_json::from_str(&doc[start..stop]).expect("the embedded schema is JSON")
}

pub fn documented_schema() -> serde_json::Value {
    embedded(BEGIN, END)
}

/// The comparison JSON's schema as docs/schema.md embeds it.
pub fn documented_comparison_schema() -> serde_json::Value {
    embedded(COMPARISON_BEGIN, COMPARISON_END)
}

/// One writer of docs/schema.md at a time (the tests run in parallel).
static DOC: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Rewrites the copy between `begin` and `end` when UPDATE_SCHEMA_DOC is set.
fn update(begin: &str, end: &str, generated: &serde_json::Value) {
    let _one_writer = DOC.lock().unwrap_or_else(|poison| poison.into_inner());
    if std::env::var_os("UPDATE_SCHEMA_DOC").is_some() {
        let path = support::repo().join("docs/schema.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let start = doc.find(begin).unwrap() + begin.len();
        let stop = doc[start..].find(end).unwrap() + start;
        let text = serde_json::to_string_pretty(generated).unwrap() + "\n";
        std::fs::write(&path, format!("{}{}{}", &doc[..start], text, &doc[stop..])).unwrap();
    }
}

#[test]
fn the_documented_schema_is_the_one_the_code_emits() {
    let generated = scalene_lsp::engine::profile::schema::json_schema();
    update(BEGIN, END, &generated);
    assert_eq!(
        documented_schema(),
        generated,
        "docs/schema.md is out of date: run UPDATE_SCHEMA_DOC=1 cargo test --test e2e schema"
    );
}

#[test]
fn the_documented_comparison_schema_is_the_one_the_code_emits() {
    let generated = scalene_lsp::engine::profile::compare::json_schema();
    update(COMPARISON_BEGIN, COMPARISON_END, &generated);
    assert_eq!(
        documented_comparison_schema(),
        generated,
        "docs/schema.md is out of date: run UPDATE_SCHEMA_DOC=1 cargo test --test e2e schema"
    );
}
