//! The JSON Schema of report.json, generated from the Rust types so it cannot describe a different
//! shape than the tool writes. The committed copy (`schema/report.schema.json`) is what pipelines
//! pin; a test fails when the types drift from it (`UPDATE_SCHEMA=1 cargo test --test it
//! committed_schema_matches` regenerates it).

use super::{Report, SCHEMA_VERSION};

/// Where the committed schema lives, relative to the repository root.
pub const COMMITTED_PATH: &str = "schema/report.schema.json";

/// The schema as a JSON value.
pub fn schema() -> serde_json::Value {
    let mut s = serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default();
    if let Some(o) = s.as_object_mut() {
        o.insert(
            "$id".into(),
            format!("https://cdnprobe.dev/schema/report-{SCHEMA_VERSION}.schema.json").into(),
        );
        o.insert("title".into(), "cdnprobe report.json".into());
        o.insert(
            "description".into(),
            format!(
                "The record of one cdnprobe run (or of several, merged), schema version {SCHEMA_VERSION}. \
                 Minor versions only add fields; readers must ignore fields they do not know."
            )
            .into(),
        );
    }
    s
}

/// What `cdnprobe schema` prints and the committed file holds: pretty JSON, trailing newline.
pub fn text() -> String {
    let mut t = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    t.push('\n');
    t
}
