//! The resolved model of a group: every fact the emitters need (Rust names, parsed types,
//! field shapes, call inputs, defaults), computed once from a validated spec. Emitters only
//! print it, so they cannot disagree about a fact.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToShoutySnakeCase, ToUpperCamelCase};

use crate::model::{
    ClientDefault, Credential, Endpoint, Field, HttpMethod, RequestBody, ResponseBody, SpecFile,
    TypeDef, UnionVariant, UploadLimit,
};
use crate::naming::{rust_field_name, variant_key, variant_name};
use crate::typeref::TypeRef;

/// Above this many required inputs, a call takes its request struct instead of arguments.
const MAX_REQUIRED_ARGUMENTS: usize = 4;

/// One group, resolved.
pub struct ResolvedGroup<'a> {
    pub spec: &'a SpecFile,
    /// Every named type, in the spec's (sorted) order.
    pub types: BTreeMap<&'a str, ResolvedType<'a>>,
    /// Every endpoint, in the spec's order.
    pub endpoints: Vec<ResolvedEndpoint<'a>>,
}

pub struct ResolvedType<'a> {
    pub name: &'a str,
    pub def: &'a TypeDef,
    /// Printed in another module (the common one) and re-exported here, not printed here.
    pub imported: bool,
    /// Reachable from a request body: optional fields stay `Option` so an empty list is sent.
    pub request_side: bool,
    /// Whether the generated type derives `Default` (objects only).
    pub derives_default: bool,
    /// The fields of an object; empty for other kinds.
    pub fields: Vec<ResolvedField<'a>>,
    /// The variants of a union; empty for other kinds.
    pub variants: Vec<ResolvedVariant<'a>>,
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

/// A field of an object type, or a query parameter.
#[derive(Clone)]
pub struct ResolvedField<'a> {
    pub wire: &'a str,
    pub rust_name: String,
    pub type_ref: TypeRef,
    pub shape: FieldShape,
    /// Required on the wire (a client default may still fill it).
    pub required: bool,
    pub secret: bool,
    pub separator: Option<&'a str>,
    /// Other wire names the field is read from (never sent).
    pub aliases: &'a [String],
    /// A single item on the wire is read as a list of one.
    pub one_or_many: bool,
    pub client_default: Option<ClientDefault>,
    /// The tag of the union this field holds (flattened into its object).
    pub union_tag: Option<&'a str>,
    /// The field's type is a string enum (sent as its text; other named types as integers).
    pub string_enum: bool,
    pub doc: &'a str,
}

impl ResolvedField<'_> {
    /// A plain (non-`Option`) value in Rust.
    pub fn rust_required(&self) -> bool {
        self.shape == FieldShape::Plain
    }

    /// The member of `map` this field reads (see `Field::read_from`), a single item of a
    /// `one_or_many` list already made a list of one.
    pub fn read_from<'v>(
        &self,
        map: &'v serde_json::Map<String, serde_json::Value>,
    ) -> Option<std::borrow::Cow<'v, serde_json::Value>> {
        let names = std::iter::once(self.wire).chain(self.aliases.iter().map(String::as_str));
        let value = crate::model::member_named(names, map)?;
        let single = self.one_or_many && !value.is_array() && !value.is_null();
        Some(if single {
            std::borrow::Cow::Owned(serde_json::Value::Array(vec![value.clone()]))
        } else {
            std::borrow::Cow::Borrowed(value)
        })
    }
}

pub struct ResolvedVariant<'a> {
    pub variant: &'a UnionVariant,
    /// Rust variant name; `None` was refused by the validator.
    pub name: Option<String>,
    /// Key holding the content (keyed unions).
    pub key: Option<&'a str>,
    /// Another variant carries the same content type: no `From` for it.
    pub shared_content: bool,
}

pub struct ResolvedEndpoint<'a> {
    pub endpoint: &'a Endpoint,
    pub id: &'a str,
    pub namespace: &'a str,
    pub method_name: &'a str,
    /// `user_get`: names the endpoint's generated tests.
    pub snake_id: String,
    pub http_method: HttpMethod,
    /// `UserGet`, in the group's `calls` module.
    pub builder: String,
    /// `OP_USER_GET`.
    pub op_static: String,
    /// `LIMITS_MEDIA_UPLOAD`.
    pub limits_static: String,
    pub credential: Credential,
    pub retry_safe: bool,
    /// The response type's name; `None` for a binary download.
    pub response: Option<&'a str>,
    pub paging: Option<Paging<'a>>,
    pub inputs: CallInputs<'a>,
    /// Optional inputs the client fills when unset, in setter order.
    pub client_defaults: Vec<DefaultedInput<'a>>,
}

/// Inputs of a call, split the way the method signature uses them.
pub struct CallInputs<'a> {
    /// Every query parameter, in the spec's order.
    pub query: Vec<ResolvedField<'a>>,
    pub required_query: Vec<ResolvedField<'a>>,
    pub optional_query: Vec<ResolvedField<'a>>,
    pub body: Option<BodyInputs<'a>>,
    /// Name of the multipart file part.
    pub multipart: Option<&'a str>,
    pub upload_limits: &'a [UploadLimit],
}

pub struct BodyInputs<'a> {
    pub type_name: &'a str,
    pub required: Vec<ResolvedField<'a>>,
    pub optional: Vec<ResolvedField<'a>>,
    /// Many required fields: the request struct itself is the argument.
    pub as_struct: bool,
    pub derives_default: bool,
}

/// An input filled from the client when the caller leaves it unset.
pub struct DefaultedInput<'a> {
    pub in_body: bool,
    pub rust_name: String,
    pub wire: &'a str,
    pub default: ClientDefault,
    /// Still unset after the default: the call is refused.
    pub required: bool,
}

/// Cursor paging, with the names the stream needs.
pub struct Paging<'a> {
    pub page_type: &'a str,
    pub item_type: TypeRef,
    pub items: String,
    pub items_optional: bool,
    pub next_cursor: String,
    pub next_cursor_required: bool,
    pub cursor_setter: String,
    /// The field saying whether more pages follow, if the page documents one.
    pub has_more: Option<HasMore>,
}

/// A page's "more pages follow" field: its Rust name, whether it is a plain value, whether
/// it is a `bool` in Rust (else an integer, 0 for no), and whether it says the reverse
/// ("this is the last page").
pub struct HasMore {
    pub rust_name: String,
    pub required: bool,
    pub boolean: bool,
    pub inverted: bool,
}

/// Whether an endpoint may be repeated: as the spec says, else GET only.
pub fn retry_safe(endpoint: &Endpoint) -> bool {
    endpoint
        .retry_safe
        .unwrap_or(endpoint.method == HttpMethod::GET)
}

/// How a group's types relate to the common module's.
#[derive(Default)]
pub struct Imports<'s> {
    /// Types printed in the common module: the group re-exports them.
    pub imported: Option<&'s BTreeSet<String>>,
    /// Types request-side in some group: one Rust type has one shape wherever it is used.
    pub request_side: Option<&'s BTreeSet<String>>,
}

impl<'a> ResolvedGroup<'a> {
    /// Resolves a validated group; a broken reference left by an invalid spec degrades to
    /// `json` rather than failing here.
    pub fn new(spec: &'a SpecFile) -> Self {
        Self::with_imports(spec, &Imports::default())
    }

    /// Resolves a group whose types include some printed elsewhere (see `Imports`).
    pub fn with_imports(spec: &'a SpecFile, imports: &Imports<'_>) -> Self {
        let request_side = request_types(spec);
        let types = spec
            .types
            .iter()
            .map(|(name, def)| {
                let in_request = request_side.contains(name.as_str())
                    || imports.request_side.is_some_and(|r| r.contains(name));
                let fields = match def {
                    TypeDef::Object { fields, .. } => fields
                        .iter()
                        .map(|f| resolve_field(spec, f, in_request))
                        .collect(),
                    _ => Vec::new(),
                };
                let variants = match def {
                    TypeDef::Union { variants, .. } => variants
                        .iter()
                        .map(|v| ResolvedVariant {
                            variant: v,
                            name: variant_name(v),
                            key: variant_key(v),
                            shared_content: v
                                .type_name
                                .as_deref()
                                .is_some_and(|t| shared_content(variants, t)),
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let resolved = ResolvedType {
                    name: name.as_str(),
                    def,
                    imported: imports.imported.is_some_and(|i| i.contains(name)),
                    request_side: in_request,
                    derives_default: has_default(spec, &TypeRef::Named(name.clone()), 0),
                    fields,
                    variants,
                };
                (name.as_str(), resolved)
            })
            .collect();
        let mut group = ResolvedGroup {
            spec,
            types,
            endpoints: Vec::new(),
        };
        group.endpoints = spec
            .endpoints
            .iter()
            .map(|e| resolve_endpoint(&group, e))
            .collect();
        group
    }

    /// The fields of a named object type; empty for anything else.
    pub fn fields(&self, name: &str) -> &[ResolvedField<'a>] {
        self.types.get(name).map_or(&[], |t| &t.fields)
    }

    pub fn def(&self, name: &str) -> Option<&'a TypeDef> {
        self.types.get(name).map(|t| t.def)
    }

    pub fn is_union(&self, name: &str) -> bool {
        matches!(self.def(name), Some(TypeDef::Union { .. }))
    }

    pub fn derives_default(&self, name: &str) -> bool {
        self.types.get(name).is_some_and(|t| t.derives_default)
    }
}

fn resolve_field<'a>(spec: &'a SpecFile, field: &'a Field, in_request: bool) -> ResolvedField<'a> {
    let type_ref = TypeRef::parse(&field.type_ref).unwrap_or(TypeRef::Json);
    let shape = if rust_required(field) {
        FieldShape::Plain
    } else if !in_request
        && !field.secret
        && matches!(type_ref, TypeRef::Array(_) | TypeRef::Map(_))
    {
        FieldShape::EmptyWhenAbsent
    } else {
        FieldShape::Optional
    };
    let union_tag = match &type_ref {
        TypeRef::Named(name) => match spec.types.get(name) {
            Some(TypeDef::Union { tag, .. }) => Some(tag.as_str()),
            _ => None,
        },
        _ => None,
    };
    let string_enum = matches!(&type_ref, TypeRef::Named(name)
        if matches!(spec.types.get(name), Some(TypeDef::StringEnum { .. })));
    ResolvedField {
        wire: &field.name,
        rust_name: rust_field_name(field),
        type_ref,
        shape,
        required: field.required,
        secret: field.secret,
        separator: field.separator.as_deref(),
        aliases: &field.aliases,
        one_or_many: field.one_or_many,
        client_default: field.client_default,
        union_tag,
        string_enum,
        doc: &field.doc,
    }
}

fn resolve_endpoint<'a>(group: &ResolvedGroup<'a>, endpoint: &'a Endpoint) -> ResolvedEndpoint<'a> {
    let spec = group.spec;
    let (namespace, method_name) = endpoint.id.split_once('.').unwrap_or(("", &endpoint.id));
    let snake = endpoint.id.replace('.', "_");
    let shouty = snake.to_shouty_snake_case();
    // Query parameters are request inputs: optional ones are always `Option`.
    let query: Vec<ResolvedField<'a>> = endpoint
        .query
        .iter()
        .map(|f| resolve_field(spec, f, true))
        .collect();
    let (required_query, optional_query): (Vec<_>, Vec<_>) = query
        .iter()
        .cloned()
        .partition(ResolvedField::rust_required);
    let mut multipart = None;
    let mut upload_limits: &[UploadLimit] = &[];
    let body = match &endpoint.request {
        Some(RequestBody::Json { type_name }) => {
            let (required, optional): (Vec<_>, Vec<_>) = group
                .fields(type_name)
                .iter()
                .cloned()
                .partition(ResolvedField::rust_required);
            let as_struct = required.len() + required_query.len() > MAX_REQUIRED_ARGUMENTS;
            Some(BodyInputs {
                type_name,
                required,
                optional,
                as_struct,
                derives_default: group.derives_default(type_name),
            })
        }
        Some(RequestBody::Multipart { part, limits }) => {
            multipart = Some(part.as_str());
            upload_limits = limits;
            None
        }
        None => None,
    };
    let inputs = CallInputs {
        query,
        required_query,
        optional_query,
        body,
        multipart,
        upload_limits,
    };
    let client_defaults = defaulted_inputs(&inputs);
    let response = match &endpoint.response {
        ResponseBody::Json { type_name } => Some(type_name.as_str()),
        ResponseBody::Binary => None,
    };
    let paging = response.and_then(|page_type| paging(group, endpoint, &inputs, page_type));
    ResolvedEndpoint {
        endpoint,
        id: &endpoint.id,
        namespace,
        method_name,
        http_method: endpoint.method,
        builder: snake.to_upper_camel_case(),
        snake_id: snake,
        op_static: format!("OP_{shouty}"),
        limits_static: format!("LIMITS_{shouty}"),
        credential: endpoint.credential,
        retry_safe: retry_safe(endpoint),
        response,
        paging,
        inputs,
        client_defaults,
    }
}

fn defaulted_inputs<'a>(inputs: &CallInputs<'a>) -> Vec<DefaultedInput<'a>> {
    let query = inputs.optional_query.iter().map(|f| (false, f));
    let body = inputs
        .body
        .iter()
        .flat_map(|b| b.optional.iter())
        .map(|f| (true, f));
    query
        .chain(body)
        .filter_map(|(in_body, f)| {
            Some(DefaultedInput {
                in_body,
                rust_name: f.rust_name.clone(),
                wire: f.wire,
                default: f.client_default?,
                required: f.required,
            })
        })
        .collect()
}

fn paging<'a>(
    group: &ResolvedGroup<'a>,
    endpoint: &'a Endpoint,
    inputs: &CallInputs<'a>,
    page_type: &'a str,
) -> Option<Paging<'a>> {
    let pagination = endpoint.pagination.as_ref()?;
    let fields = group.fields(page_type);
    let find = |name: &str| fields.iter().find(|f| f.wire == name);
    let items = find(&pagination.items)?;
    let next = find(&pagination.next_cursor)?;
    let TypeRef::Array(item_type) = &items.type_ref else {
        return None;
    };
    // The validator checked the cursor is an optional input, so it has a setter.
    let body_optional = inputs.body.iter().flat_map(|b| b.optional.iter());
    let cursor = inputs
        .optional_query
        .iter()
        .chain(body_optional)
        .find(|f| f.wire == pagination.cursor)?;
    Some(Paging {
        page_type,
        item_type: (**item_type).clone(),
        items: items.rust_name.clone(),
        items_optional: items.shape == FieldShape::Optional,
        next_cursor: next.rust_name.clone(),
        next_cursor_required: next.rust_required(),
        cursor_setter: cursor.rust_name.clone(),
        has_more: {
            let (name, inverted) = match (&pagination.has_more, &pagination.last_page) {
                (Some(name), _) => (Some(name), false),
                (None, Some(name)) => (Some(name), true),
                (None, None) => (None, false),
            };
            name.and_then(|name| {
                let field = find(name)?;
                Some(HasMore {
                    rust_name: field.rust_name.clone(),
                    required: field.rust_required(),
                    boolean: matches!(field.type_ref, TypeRef::Boolean | TypeRef::Flag),
                    inverted,
                })
            })
        },
    })
}

/// Whether a field is a plain (non-`Option`) value in Rust: required on the wire and not
/// filled from the client (a client default is optional for the caller).
fn rust_required(field: &Field) -> bool {
    field.required && field.client_default.is_none()
}

/// Named types reachable from request bodies.
pub fn request_types(spec: &SpecFile) -> BTreeSet<&str> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = spec
        .endpoints
        .iter()
        .filter_map(|e| match &e.request {
            Some(RequestBody::Json { type_name }) => Some(type_name.as_str()),
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

/// Whether `Default` can be derived for a value of this type.
fn has_default(spec: &SpecFile, type_ref: &TypeRef, depth: usize) -> bool {
    match type_ref {
        TypeRef::Named(name) => match spec.types.get(name) {
            Some(TypeDef::Object { fields, .. }) => {
                depth < 16
                    && fields.iter().filter(|f| rust_required(f)).all(|f| {
                        let type_ref = TypeRef::parse(&f.type_ref).unwrap_or(TypeRef::Json);
                        has_default(spec, &type_ref, depth + 1)
                    })
            }
            _ => false,
        },
        _ => true,
    }
}

/// Whether more than one variant carries `type_name`.
fn shared_content(variants: &[UnionVariant], type_name: &str) -> bool {
    variants
        .iter()
        .filter(|v| v.type_name.as_deref() == Some(type_name))
        .count()
        > 1
}
