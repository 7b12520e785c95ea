//! Rust names derived from spec names, shared by every emitter so they always agree.

use heck::{ToShoutySnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

use crate::model::{Endpoint, Field, SpecFile, TypeDef, UploadLimit};
use crate::typeref::TypeRef;
use crate::validate::rust_field_name;

pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// `user.get` → (`user`, `get`).
pub fn split_id(endpoint: &Endpoint) -> (&str, &str) {
    endpoint.id.split_once('.').unwrap_or(("", &endpoint.id))
}

/// Accessor on `Client` for a namespace: `user`.
pub fn accessor(namespace: &str) -> Ident {
    ident(namespace)
}

/// The struct returned by the accessor: `UserApi`.
pub fn api_struct(namespace: &str) -> Ident {
    ident(&format!("{}Api", namespace.to_upper_camel_case()))
}

/// The request builder of an endpoint: `UserGet`, in the group's `calls` module so the
/// index does not list it beside the request body `UserGetRequest`.
pub fn builder_struct(endpoint: &Endpoint) -> Ident {
    ident(&endpoint.id.replace('.', "_").to_upper_camel_case())
}

/// Name of the module holding a group's request builders.
pub const CALLS_MODULE: &str = "calls";

/// Whether a field is a plain (non-`Option`) value in Rust: required on the wire and not
/// filled from the client (a client default is optional for the caller).
pub fn rust_required(field: &Field) -> bool {
    field.required && field.client_default.is_none()
}

/// Named types reachable from request bodies: they keep `Option` for every optional field,
/// so an explicitly empty list can still be sent.
pub fn request_types(spec: &SpecFile) -> std::collections::BTreeSet<&str> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo: Vec<&str> = spec
        .endpoints
        .iter()
        .filter_map(|e| match &e.request {
            Some(crate::model::RequestBody::Json { type_name }) => Some(type_name.as_str()),
            _ => None,
        })
        .collect();
    while let Some(name) = todo.pop() {
        let Some((name, def)) = spec.types.get_key_value(name) else {
            continue;
        };
        if !seen.insert(name.as_str()) {
            continue;
        }
        let fields: Vec<&str> = match def {
            TypeDef::Object { fields, .. } => fields.iter().map(|f| f.type_ref.as_str()).collect(),
            TypeDef::Union { variants, .. } => variants
                .iter()
                .filter_map(|v| v.type_name.as_deref())
                .collect(),
            _ => Vec::new(),
        };
        for type_ref in fields {
            if let Ok(parsed) = TypeRef::parse(type_ref) {
                if let Some(inner) = parsed.named() {
                    if let Some((key, _)) = spec.types.get_key_value(inner) {
                        todo.push(key.as_str());
                    }
                }
            }
        }
    }
    seen
}

/// How a field is held in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldShape {
    /// The value itself (required).
    Plain,
    /// `Option<T>`: absent is `None`.
    Optional,
    /// A list or map that is empty when absent (optional collections of response types).
    EmptyWhenAbsent,
}

pub fn field_shape(field: &Field, in_request: bool) -> FieldShape {
    if rust_required(field) {
        FieldShape::Plain
    } else if !in_request
        && !field.secret
        && matches!(field_type(field), TypeRef::Array(_) | TypeRef::Map(_))
    {
        FieldShape::EmptyWhenAbsent
    } else {
        FieldShape::Optional
    }
}

/// The static `Operation` of an endpoint: `OP_USER_GET`.
pub fn operation_static(endpoint: &Endpoint) -> Ident {
    ident(&format!(
        "OP_{}",
        endpoint.id.replace('.', "_").to_shouty_snake_case()
    ))
}

/// The static upload limits of an endpoint: `LIMITS_MEDIA_UPLOAD`.
pub fn limits_static(endpoint: &Endpoint) -> Ident {
    ident(&format!(
        "LIMITS_{}",
        endpoint.id.replace('.', "_").to_shouty_snake_case()
    ))
}

pub fn field_ident(field: &Field) -> Ident {
    ident(&rust_field_name(field))
}

/// Inputs of a call, split the way the method signature uses them.
pub struct CallInputs<'a> {
    pub required_query: Vec<&'a Field>,
    pub optional_query: Vec<&'a Field>,
    /// The JSON body type and its fields, when the endpoint has one.
    pub body: Option<BodyInputs<'a>>,
    /// Name of the multipart file part.
    pub multipart: Option<&'a str>,
    /// The documented limits of the multipart upload.
    pub upload_limits: &'a [UploadLimit],
}

pub struct BodyInputs<'a> {
    pub type_name: &'a str,
    pub required: Vec<&'a Field>,
    pub optional: Vec<&'a Field>,
    /// Many required fields: the request struct itself is the argument.
    pub as_struct: bool,
}

/// Above this many required inputs, a call takes its request struct instead of arguments.
const MAX_REQUIRED_ARGUMENTS: usize = 4;

pub fn call_inputs<'a>(spec: &'a SpecFile, endpoint: &'a Endpoint) -> CallInputs<'a> {
    let (required_query, optional_query) = endpoint.query.iter().partition(|f| rust_required(f));
    let mut multipart = None;
    let mut upload_limits: &[UploadLimit] = &[];
    let body = match &endpoint.request {
        Some(crate::model::RequestBody::Json { type_name }) => {
            let fields: &[Field] = match spec.types.get(type_name) {
                Some(TypeDef::Object { fields, .. }) => fields,
                _ => &[],
            };
            let (required, optional): (Vec<&Field>, Vec<&Field>) =
                fields.iter().partition(|f| rust_required(f));
            let as_struct = required.len()
                + endpoint.query.iter().filter(|f| rust_required(f)).count()
                > MAX_REQUIRED_ARGUMENTS;
            Some(BodyInputs {
                type_name,
                required,
                optional,
                as_struct,
            })
        }
        Some(crate::model::RequestBody::Multipart { part, limits }) => {
            multipart = Some(part.as_str());
            upload_limits = limits;
            None
        }
        None => None,
    };
    CallInputs {
        required_query,
        optional_query,
        body,
        multipart,
        upload_limits,
    }
}

/// The type a field resolves to, parsed; invalid references were refused by the validator.
pub fn field_type(field: &Field) -> TypeRef {
    TypeRef::parse(&field.type_ref).unwrap_or(TypeRef::Json)
}
