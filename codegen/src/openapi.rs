//! `spec/openapi.json`: the spec as OpenAPI 3.1, for teams generating clients in other
//! languages. Component names are `<group>.<Type>` so groups never collide.

use serde_json::{Map, Value, json};

use crate::model::{
    Credential, Endpoint, HttpMethod, RequestBody, ResponseBody, TypeDef, UnionTag,
};
use crate::resolve::{ResolvedEndpoint, ResolvedField, ResolvedGroup, ResolvedType};
use crate::typeref::TypeRef;

/// The export of every group, from its resolved model.
pub fn openapi_json(groups: &[ResolvedGroup<'_>], common: Option<&ResolvedGroup<'_>>) -> String {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        "Envelope".into(),
        json!({
            "type": "object",
            "description": "Fields every JSON response carries; errcode 0 is success.",
            "properties": {
                "errcode": {"type": "integer", "description": "0 on success; see errcodes.yaml"},
                "errmsg": {"type": "string"}
            }
        }),
    );
    if let Some(common) = common {
        for (name, resolved) in &common.types {
            schemas.insert(
                format!("{}.{name}", common.spec.group),
                type_schema(common, resolved),
            );
        }
    }
    let mut tags = Vec::new();
    for group in groups {
        let file = group.spec;
        tags.push(json!({"name": file.group, "description": file.title}));
        for (name, resolved) in group.types.iter().filter(|(_, t)| !t.imported) {
            schemas.insert(
                format!("{}.{name}", file.group),
                type_schema(group, resolved),
            );
        }
        for resolved in &group.endpoints {
            let endpoint = resolved.endpoint;
            let method = match resolved.http_method {
                HttpMethod::GET => "get",
                HttpMethod::POST => "post",
            };
            let item = paths
                .entry(endpoint.path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(item) = item.as_object_mut() {
                item.insert(method.into(), operation(group, resolved));
            }
        }
    }
    let document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "WeCom (企业微信) server API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Exported from the wecom-api spec (spec/*.yaml) by `cargo xtask codegen`. \
                Every JSON response also carries errcode and errmsg (components.schemas.Envelope)."
        },
        "servers": [{"url": "https://qyapi.weixin.qq.com"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": security_schemes()
        }
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

/// One apiKey scheme per credential kind sent in the query string.
fn security_schemes() -> Value {
    let mut schemes = serde_json::Map::new();
    for kind in [
        Credential::AccessToken,
        Credential::SuiteAccessToken,
        Credential::ProviderAccessToken,
        Credential::ProviderAccessTokenAsAccessToken,
        Credential::DeviceAccessToken,
        Credential::ModelAccessToken,
        Credential::WebhookKey,
    ] {
        let name = if kind == Credential::AccessToken {
            "access_token".to_string()
        } else {
            kind.rust_variant().to_string()
        };
        if let Some(param) = kind.query_name() {
            schemes.insert(
                name,
                json!({"type": "apiKey", "in": "query", "name": param}),
            );
        }
    }
    Value::Object(schemes)
}

fn operation(group: &ResolvedGroup<'_>, resolved: &ResolvedEndpoint<'_>) -> Value {
    let file = group.spec;
    let endpoint = resolved.endpoint;
    let mut parameters: Vec<Value> = resolved
        .inputs
        .query
        .iter()
        .map(|p| parameter(group, p))
        .collect();
    let security = match resolved.credential {
        Credential::AccessToken => json!([{"access_token": []}]),
        Credential::CorpSecret => {
            for name in ["corpid", "corpsecret"] {
                parameters.push(json!({
                    "name": name, "in": "query", "required": true, "schema": {"type": "string"}
                }));
            }
            json!([])
        }
        Credential::None => json!([]),
        other => json!([{ other.rust_variant(): [] }]),
    };
    let mut op = json!({
        "operationId": endpoint.id,
        "summary": endpoint.title,
        "description": endpoint.description,
        "tags": [file.group],
        "externalDocs": {"url": endpoint.doc},
        "parameters": parameters,
        "security": security,
        "x-retry-safe": resolved.retry_safe,
        "responses": {"200": response(group, endpoint)},
    });
    // What was compared with the official page, as the spec records it.
    if let Some(confirmed) = &endpoint.confirmed {
        op["x-wecom-confirmed"] = serde_json::to_value(confirmed).unwrap_or_default();
    }
    if let Some(note) = &endpoint.deprecated {
        op["deprecated"] = json!(true);
        op["x-deprecated-note"] = json!(note);
    }
    match &endpoint.request {
        Some(RequestBody::Json { type_name }) => {
            let examples = examples(endpoint, |e| e.request.clone());
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {
                    "schema": reference(group, type_name),
                    "examples": examples
                }}
            });
        }
        Some(RequestBody::Multipart { part, limits }) => {
            op["requestBody"] = json!({
                "required": true,
                "content": {"multipart/form-data": {"schema": {
                    "type": "object",
                    "properties": {part.as_str(): {"type": "string", "contentMediaType": "application/octet-stream"}},
                    "required": [part]
                }}}
            });
            if !limits.is_empty() {
                let limits: Vec<Value> = limits
                    .iter()
                    .map(|l| {
                        let mut limit = json!({
                            "minBytes": l.min_bytes,
                            "maxBytes": l.max_bytes,
                            "extensions": l.extensions,
                        });
                        if let (Some(param), Some(value)) = (&l.param, &l.value) {
                            limit["param"] = json!(param);
                            limit["value"] = json!(value);
                        }
                        if !l.doc.is_empty() {
                            limit["description"] = json!(l.doc);
                        }
                        limit
                    })
                    .collect();
                // Not expressible in OpenAPI: size and type per query value, as an extension.
                op["requestBody"]["x-upload-limits"] = Value::Array(limits);
            }
        }
        None => {}
    }
    op
}

fn response(group: &ResolvedGroup<'_>, endpoint: &Endpoint) -> Value {
    let envelope = json!({"$ref": "#/components/schemas/Envelope"});
    let examples = examples(endpoint, |e| Some(e.response.clone()));
    match &endpoint.response {
        // A union of objects cannot be merged with the envelope (`allOf`) by generators:
        // such a response names its type alone, errcode and errmsg beside its fields.
        ResponseBody::Json { type_name } if holds_union(group, type_name) => json!({
            "description": "errcode 0 and the fields below, or errcode and errmsg on failure \
                (components.schemas.Envelope: they sit beside the fields)",
            "content": {"application/json": {
                "schema": reference(group, type_name),
                "examples": examples
            }}
        }),
        ResponseBody::Json { type_name } => json!({
            "description": "errcode 0 and the fields below, or errcode and errmsg on failure",
            "content": {"application/json": {
                "schema": {"allOf": [envelope, reference(group, type_name)]},
                "examples": examples
            }}
        }),
        ResponseBody::Binary => json!({
            "description": "the file; a JSON body instead is an error",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}},
                "application/json": {"schema": envelope, "examples": examples}
            }
        }),
    }
}

fn holds_union(group: &ResolvedGroup<'_>, name: &str) -> bool {
    group.fields(name).iter().any(|f| f.union_tag.is_some())
}

fn examples(endpoint: &Endpoint, pick: impl Fn(&crate::model::Example) -> Option<Value>) -> Value {
    let mut out = Map::new();
    for (index, example) in endpoint.examples.iter().enumerate() {
        if let Some(value) = pick(example) {
            let name = example
                .name
                .clone()
                .unwrap_or_else(|| format!("example{index}"));
            out.insert(name, json!({"value": value}));
        }
    }
    Value::Object(out)
}

fn parameter(group: &ResolvedGroup<'_>, param: &ResolvedField<'_>) -> Value {
    json!({
        "name": param.wire,
        "in": "query",
        "required": param.required,
        "description": param.doc,
        "schema": type_ref_schema(group, &param.type_ref),
    })
}

/// A reference to a named type: a shared one lives under `common.`.
fn reference(group: &ResolvedGroup<'_>, name: &str) -> Value {
    let home = match group.types.get(name) {
        Some(t) if t.imported => crate::share::COMMON_GROUP,
        _ => group.spec.group.as_str(),
    };
    json!({"$ref": format!("#/components/schemas/{home}.{name}")})
}

/// Integers as WeCom sends them: a number, now and then the same number as text
/// (`"gender": "1"`), or true/false for 1/0. Generators turn this into a union
/// (`int | str | bool` in Python).
const INTEGER_TEXT: &str = r"^\s*-?[0-9]+\s*$";
/// Pages type some 0/1 settings as integers while their examples send true/false.
const BOOLEAN_FOR_INTEGER: &str = "true/false for 1/0, as some documented examples send it";
const NUMBER_TEXT: &str = r"^\s*-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$";

fn type_ref_schema(group: &ResolvedGroup<'_>, type_ref: &TypeRef) -> Value {
    match type_ref {
        TypeRef::String => json!({"type": "string"}),
        TypeRef::Integer => json!({"anyOf": [
            {"type": "integer", "format": "int64"},
            {"type": "string", "pattern": INTEGER_TEXT, "description": "the integer as text, as WeCom sometimes sends it"},
            {"type": "boolean", "description": BOOLEAN_FOR_INTEGER}
        ]}),
        TypeRef::Number => json!({"anyOf": [
            {"type": "number"},
            {"type": "string", "pattern": NUMBER_TEXT, "description": "the number as text, as WeCom sometimes sends it"}
        ]}),
        TypeRef::Boolean => json!({"type": "boolean"}),
        TypeRef::Flag => json!({
            "description": "a 0/1 flag: 1 is true",
            "anyOf": [
                {"type": "integer", "enum": [0, 1]},
                {"type": "string", "enum": ["0", "1"]}
            ]
        }),
        TypeRef::Json => json!({}),
        TypeRef::Array(inner) => json!({"type": "array", "items": type_ref_schema(group, inner)}),
        TypeRef::Map(inner) => {
            json!({"type": "object", "additionalProperties": type_ref_schema(group, inner)})
        }
        TypeRef::Named(name) => reference(group, name),
    }
}

fn type_schema(group: &ResolvedGroup<'_>, resolved: &ResolvedType<'_>) -> Value {
    match resolved.def {
        TypeDef::Object { doc, .. } => {
            let mut properties = Map::new();
            let mut required = Vec::new();
            let mut union = None;
            for field in &resolved.fields {
                if field.union_tag.is_some() {
                    union = field.type_ref.named();
                    continue;
                }
                // OpenAPI 3.1 allows `description` beside `$ref`.
                let mut schema = type_ref_schema(group, &field.type_ref);
                if let (true, TypeRef::Array(inner)) = (field.one_or_many, &field.type_ref) {
                    // A list, or its one item sent bare as an official example does.
                    schema = json!({"anyOf": [schema, type_ref_schema(group, inner)]});
                }
                if !field.doc.is_empty() {
                    schema["description"] = json!(field.doc);
                }
                for alias in field.aliases {
                    let mut alias_schema = schema.clone();
                    alias_schema["description"] = json!(format!(
                        "`{}` as the official page also spells it; send `{}`",
                        field.wire, field.wire
                    ));
                    alias_schema["deprecated"] = json!(true);
                    properties.insert(alias.clone(), alias_schema);
                }
                properties.insert(field.wire.to_string(), schema);
                // Either spelling may stand for a required field, so neither is required.
                if field.required && field.aliases.is_empty() {
                    required.push(field.wire);
                }
            }
            if let Some(union) = union.and_then(|name| group.types.get(name)) {
                return union_holder(group, doc, properties, required, union);
            }
            let mut schema =
                json!({"type": "object", "description": doc, "properties": properties});
            if !required.is_empty() {
                schema["required"] = json!(required);
            }
            schema
        }
        // Open enums: the documented values, or any other value of the same kind (WeCom adds
        // values; the Rust client keeps them as `Unknown`). Generators turn this into "a known
        // value or anything else" (`Gender | int | str` in Python) instead of failing.
        TypeDef::IntEnum { doc, values } => json!({
            "description": open_enum_doc(doc, values.iter().map(|v| (v.value.to_string(), v.doc.as_str()))),
            "anyOf": [
                {
                    "type": "integer",
                    "enum": values.iter().map(|v| v.value).collect::<Vec<_>>(),
                    "x-enum-varnames": values.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
                    "x-enum-descriptions": values.iter().map(|v| v.doc.as_str()).collect::<Vec<_>>(),
                },
                {"type": "integer", "description": "a value the spec does not list (yet)"},
                {"type": "string", "pattern": INTEGER_TEXT, "description": "a value as text, as WeCom sometimes sends it"},
                {"type": "boolean", "description": BOOLEAN_FOR_INTEGER}
            ],
            "x-open-enum": true,
        }),
        TypeDef::StringEnum { doc, values } => json!({
            "description": open_enum_doc(doc, values.iter().map(|v| (format!("`{}`", v.value), v.doc.as_str()))),
            "anyOf": [
                {
                    "type": "string",
                    "enum": values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(),
                    "x-enum-varnames": values.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
                    "x-enum-descriptions": values.iter().map(|v| v.doc.as_str()).collect::<Vec<_>>(),
                },
                {"type": "string", "description": "a value the spec does not list (yet)"}
            ],
            "x-open-enum": true,
        }),
        TypeDef::Union {
            doc, tag, inline, ..
        } => {
            let one_of: Vec<Value> = resolved
                .variants
                .iter()
                .filter_map(|resolved_variant| {
                    let variant = resolved_variant.variant;
                    let tag_value = match &variant.tag {
                        UnionTag::Int(n) => json!(n),
                        UnionTag::Str(s) => json!(s),
                    };
                    let Some(type_name) = &variant.type_name else {
                        // A variant without content is its tag alone.
                        return Some(json!({
                            "type": "object",
                            "description": variant.doc,
                            "properties": {tag.as_str(): {"const": tag_value}},
                            "required": [tag],
                        }));
                    };
                    if *inline {
                        // The variant's own fields sit beside the tag.
                        return Some(json!({
                            "description": variant.doc,
                            "allOf": [reference(group, type_name)],
                            "properties": {tag.as_str(): {"const": tag_value}},
                            "required": [tag],
                        }));
                    }
                    let key = resolved_variant.key?;
                    Some(json!({
                        "type": "object",
                        "description": variant.doc,
                        "properties": {
                            tag.as_str(): {"const": tag_value},
                            key: reference(group, type_name),
                        },
                        "required": [tag, key],
                    }))
                })
                .collect();
            json!({"description": doc, "oneOf": one_of, "x-union-tag": tag})
        }
    }
}

/// An open enum's description: its doc, then the known values with their meaning.
fn open_enum_doc<'a>(doc: &str, values: impl Iterator<Item = (String, &'a str)>) -> String {
    let mut text = doc.trim().to_string();
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str("Known values (others may come and are kept):");
    for (value, meaning) in values {
        text.push_str(&format!("\n- {value}: {meaning}"));
    }
    text
}

/// An object holding a union: one complete object per variant (its own fields, the tag and
/// the variant's content), then any other tag, kept. Generators read this as a union of
/// models; an object with the union under `allOf` loses its own fields in some of them.
fn union_holder(
    group: &ResolvedGroup<'_>,
    doc: &str,
    properties: Map<String, Value>,
    required: Vec<&str>,
    union: &ResolvedType<'_>,
) -> Value {
    let TypeDef::Union { tag, inline, .. } = union.def else {
        return json!({"type": "object", "description": doc, "properties": properties});
    };
    let mut branches: Vec<Value> = union
        .variants
        .iter()
        .map(|resolved_variant| {
            let variant = resolved_variant.variant;
            let mut properties = properties.clone();
            let mut required = required.clone();
            let tag_value = match &variant.tag {
                UnionTag::Int(n) => json!(n),
                UnionTag::Str(s) => json!(s),
            };
            properties.insert(tag.clone(), json!({"const": tag_value}));
            required.push(tag);
            let mut branch = json!({"type": "object", "description": variant.doc});
            match (&variant.type_name, *inline, resolved_variant.key) {
                (Some(content), true, _) => branch["allOf"] = json!([reference(group, content)]),
                (Some(content), false, Some(key)) => {
                    properties.insert(key.to_string(), reference(group, content));
                    required.push(key);
                }
                _ => {}
            }
            branch["properties"] = Value::Object(properties);
            branch["required"] = json!(required);
            branch
        })
        .collect();
    let tag_kind = match union.variants.first().map(|v| &v.variant.tag) {
        Some(UnionTag::Int(_)) => "integer",
        _ => "string",
    };
    let mut other = properties;
    other.insert(
        tag.clone(),
        json!({"type": tag_kind, "description": "a tag the spec does not list (yet)"}),
    );
    let mut unknown = json!({
        "type": "object",
        "description": "a variant the spec does not list (yet): kept as it is",
        "properties": other,
        "additionalProperties": true,
    });
    if !required.is_empty() {
        unknown["required"] = json!(required);
    }
    branches.push(unknown);
    json!({"description": doc, "anyOf": branches, "x-union-tag": tag})
}
