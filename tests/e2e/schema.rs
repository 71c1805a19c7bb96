//! docs/schema.md embeds the JSON Schema of the normalized output; it must match the code.
//! `UPDATE_SCHEMA_DOC=1 cargo test --test e2e schema` rewrites the embedded copy.

use crate::support;

const BEGIN: &str = "<!-- schema:begin -->\n```json\n";
const END: &str = "```\n<!-- schema:end -->";

pub fn documented_schema() -> serde_json::Value {
    let doc = std::fs::read_to_string(support::repo().join("docs/schema.md")).unwrap();
    let start = doc.find(BEGIN).expect("docs/schema.md has the schema markers") + BEGIN.len();
    let end = doc[start..].find(END).unwrap() + start;
    serde_json::from_str(&doc[start..end]).expect("the embedded schema is JSON")
}

#[test]
fn the_documented_schema_is_the_one_the_code_emits() {
    let generated = scalene_lsp::engine::schema::json_schema();
    if std::env::var_os("UPDATE_SCHEMA_DOC").is_some() {
        let path = support::repo().join("docs/schema.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let start = doc.find(BEGIN).unwrap() + BEGIN.len();
        let end = doc[start..].find(END).unwrap() + start;
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        std::fs::write(&path, format!("{}{}{}", &doc[..start], text, &doc[end..])).unwrap();
    }
    assert_eq!(
        documented_schema(),
        generated,
        "docs/schema.md is out of date: run UPDATE_SCHEMA_DOC=1 cargo test --test e2e schema"
    );
}
