//! `spec/schema.json`: the JSON Schema of spec files, from the model structs, so editors
//! validate spec files as they are typed.

use crate::model::SpecFile;

pub fn schema_json() -> String {
    let schema = schemars::schema_for!(SpecFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// `spec/callbacks.schema.json`: the JSON Schema of `spec/callbacks.yaml`.
pub fn callbacks_schema_json() -> String {
    let schema = schemars::schema_for!(crate::model::CallbackFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
