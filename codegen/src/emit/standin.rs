//! The stand-in's routing and validation table (`wecom-standin/src/generated/endpoints.json`):
//! per endpoint its method, path, credential, inputs and documented answer, and per group the
//! request-side types those inputs name. Data rather than Rust: 840 endpoints compile in no
//! time as one `include_str!`, parsed once when a stand-in starts.

use serde_json::{Map, Value, json};

use crate::model::{Credential, HttpMethod, TypeDef, UnionTag};
use crate::resolve::{ResolvedField, ResolvedGroup, request_types};

/// Where the table is written, relative to the workspace root.
pub const STANDIN_TABLE: &str = "wecom-standin/src/generated/endpoints.json";

/// The table for every resolved group, as pretty JSON (stable order: diffs stay readable).
pub fn standin_table(groups: &[ResolvedGroup<'_>]) -> String {
    let mut endpoints = Vec::new();
    let mut types = Map::new();
    for group in groups {
        let name = group.spec.group.as_str();
        for endpoint in &group.endpoints {
            endpoints.push(endpoint_entry(name, endpoint));
        }
        let mut group_types = Map::new();
        // Query parameters name enums too; the resolved inputs hold their parsed types.
        let mut wanted = request_types(group.spec);
        for endpoint in &group.endpoints {
            wanted.extend(
                endpoint
                    .inputs
                    .query
                    .iter()
                    .filter_map(|f| f.type_ref.named()),
            );
        }
        for type_name in wanted {
            if let Some(resolved) = group.types.get(type_name) {
                group_types.insert(type_name.to_owned(), type_entry(resolved));
            }
        }
        if !group_types.is_empty() {
            types.insert(name.to_owned(), Value::Object(group_types));
        }
    }
    let table = json!({ "endpoints": endpoints, "types": types });
    let mut text = serde_json::to_string_pretty(&table).unwrap_or_default();
    text.push('\n');
    text
}

fn endpoint_entry(group: &str, endpoint: &crate::resolve::ResolvedEndpoint<'_>) -> Value {
    let spec = endpoint.endpoint;
    let body = match &spec.request {
        Some(crate::model::RequestBody::Json { type_name }) => json!({ "json": type_name }),
        Some(crate::model::RequestBody::Multipart { part, limits }) => json!({
            "multipart": part,
            "max_bytes": limits.iter().map(|l| l.max_bytes).max(),
        }),
        None => Value::Null,
    };
    let example = spec.examples.first();
    let response = match &spec.response {
        crate::model::ResponseBody::Binary => Value::String("binary".into()),
        crate::model::ResponseBody::Json { .. } => example
            .map(|e| e.response.clone())
            .unwrap_or_else(|| json!({ "errcode": 0, "errmsg": "ok" })),
    };
    json!({
        "id": endpoint.id,
        "group": group,
        "method": match endpoint.http_method { HttpMethod::GET => "GET", HttpMethod::POST => "POST" },
        "path": spec.path,
        "credential": credential_name(endpoint.credential),
        "query": endpoint.inputs.query.iter().map(field_entry).collect::<Vec<_>>(),
        "body": body,
        "response": response,
        "example_query": example.map(|e| json!(e.query)).unwrap_or(Value::Null),
        "example_request": example.and_then(|e| e.request.clone()).unwrap_or(Value::Null),
    })
}

fn credential_name(credential: Credential) -> &'static str {
    match credential {
        Credential::AccessToken => "access_token",
        Credential::CorpSecret => "corp_secret",
        Credential::SuiteAccessToken => "suite_access_token",
        Credential::ProviderAccessToken => "provider_access_token",
        Credential::ProviderAccessTokenAsAccessToken => "provider_access_token_as_access_token",
        Credential::DeviceAccessToken => "device_access_token",
        Credential::ModelAccessToken => "model_access_token",
        Credential::WebhookKey => "webhook_key",
        Credential::None => "none",
    }
}

fn field_entry(field: &ResolvedField<'_>) -> Value {
    let mut entry = json!({
        "name": field.wire,
        "type": field.type_ref.to_string(),
        "required": field.required,
    });
    if !field.aliases.is_empty() {
        entry["aliases"] = json!(field.aliases);
    }
    if field.one_or_many {
        entry["one_or_many"] = json!(true);
    }
    entry
}

fn type_entry(resolved: &crate::resolve::ResolvedType<'_>) -> Value {
    match resolved.def {
        TypeDef::Object { .. } => json!({
            "object": resolved.fields.iter().map(field_entry).collect::<Vec<_>>(),
        }),
        TypeDef::IntEnum { .. } => json!("int_enum"),
        TypeDef::StringEnum { .. } => json!("string_enum"),
        TypeDef::Union {
            tag,
            inline,
            variants,
            ..
        } => json!({
            "union": {
                "tag": tag,
                "inline": inline,
                "variants": resolved.variants.iter().zip(variants).map(|(r, v)| json!({
                    "tag": match &v.tag { UnionTag::Int(i) => json!(i), UnionTag::Str(s) => json!(s) },
                    "key": r.key,
                    "type": v.type_name,
                })).collect::<Vec<_>>(),
            }
        }),
    }
}

/// Where the documented callback examples are written, relative to the workspace root.
pub const STANDIN_CALLBACKS: &str = "wecom-standin/src/generated/callbacks.json";

/// Each typed callback kind of `spec/callbacks.yaml` (by its Rust type name) with its first
/// documented example: what `Standin::push_documented` seals and sends.
pub fn standin_callbacks(callbacks: &crate::model::CallbackFile) -> String {
    let mut kinds = Map::new();
    let mut add = |name: &str, examples: &[crate::model::CallbackExample]| {
        let Some(example) = examples.first() else {
            return;
        };
        let entry = match (&example.xml, &example.json) {
            (Some(xml), _) => json!({ "xml": xml }),
            (None, Some(value)) => json!({ "json": value.to_string() }),
            (None, None) => return,
        };
        kinds.insert(name.to_owned(), entry);
    };
    for message in &callbacks.messages {
        add(&message.name, &message.examples);
    }
    for event in &callbacks.events {
        add(&event.name, &event.examples);
        for change in &event.change_types {
            add(&change.name, &change.examples);
        }
    }
    let mut text = serde_json::to_string_pretty(&Value::Object(kinds)).unwrap_or_default();
    text.push('\n');
    text
}
