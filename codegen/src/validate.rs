//! Semantic checks on parsed spec files. Each problem becomes a `Diagnostic` naming its file
//! and place; validation goes on after a problem so one run reports them all.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::load::{Diagnostic, Group};
use crate::model::{
    Endpoint, ErrcodeFile, Field, HttpMethod, Pagination, RequestBody, ResponseBody, SpecFile,
    TypeDef, UnionTag, UploadLimit,
};
use crate::naming::{is_snake_identifier, rust_field_name, variant_key, variant_name};
use crate::typeref::{TypeRef, is_type_name};

mod callbacks;
pub use callbacks::{example_fields as callback_example_fields, validate_callbacks};

/// Query parameters the runtime adds itself.
const RESERVED_QUERY: &[&str] = &["access_token", "corpid", "corpsecret"];
/// Modules of the hand-written runtime: a group of the same name would be shadowed by them
/// (`wecom_api::<group>` is a glob re-export). `media` is not here: the runtime module
/// re-exports the `media` group's items.
/// Methods of the runtime's `Client`: a namespace accessor of the same name would clash.
const CLIENT_METHODS: &[&str] = &[
    "agent_id",
    "agent_ticket",
    "authorized_corp",
    "base_url",
    "builder",
    "cached_ticket",
    "corp_id",
    "deadline",
    "device",
    "download",
    "download_stream",
    "downstream_corp",
    "execute_download",
    "execute_json",
    "execute_upload",
    "get_json",
    "get_json_with",
    "jsapi_ticket",
    "media_stream",
    "post_json",
    "post_json_with",
    "save_suite_ticket",
    "save_ticket",
    "upload",
    "wedrive_upload_file",
    "with_agent_id",
    "with_deadline",
    "wx_agent_config",
    "wx_config",
];

const RUNTIME_MODULES: &[&str] = &[
    "client",
    "de",
    "error",
    "generated",
    "operation",
    "redact",
    "retry",
    "secret",
    "token",
    "union",
];
/// Response keys the runtime handles itself.
pub const ENVELOPE_KEYS: &[&str] = &["errcode", "errmsg"];

pub fn validate(groups: &[Group], errcodes: &ErrcodeFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut group_names: HashMap<&str, &str> = HashMap::new();
    let mut endpoint_ids: HashMap<&str, &str> = HashMap::new();
    let mut namespaces: HashMap<String, &str> = HashMap::new();
    for group in groups {
        let mut check = Checker {
            file: &group.file,
            spec: &group.spec,
            shared: &group.shared,
            out: &mut out,
            open_enums: false,
        };
        check.group();
        let name = group.spec.group.as_str();
        if let Some(other) = group_names.insert(name, &group.file) {
            check.error(
                "group",
                format!("group `{name}` is also defined in {other}"),
            );
        }
        for endpoint in &group.spec.endpoints {
            let place = format!("endpoints[{}].id", endpoint.id);
            if let Some(other) = endpoint_ids.insert(&endpoint.id, &group.file) {
                check.error(&place, format!("duplicate endpoint id (also in {other})"));
            }
            if let Some((namespace, _)) = endpoint.id.split_once('.') {
                let owner = namespaces
                    .entry(namespace.to_string())
                    .or_insert(&group.file);
                if *owner != group.file {
                    check.error(
                        &place,
                        format!("namespace `{namespace}` already belongs to {owner}"),
                    );
                }
            }
        }
    }
    let mut codes = BTreeSet::new();
    for (index, errcode) in errcodes.errcodes.iter().enumerate() {
        if !codes.insert(errcode.code) {
            out.push(Diagnostic {
                file: crate::load::ERRCODES_FILE.to_string(),
                place: format!("errcodes[{index}]"),
                message: format!("duplicate errcode {}", errcode.code),
            });
        }
    }
    out
}

/// Which body of an endpoint a sample is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleSide {
    Request,
    Response,
}

impl SampleSide {
    /// The root of the places its diagnostics name (`response.a.b[0]`).
    pub fn root(self) -> &'static str {
        match self {
            SampleSide::Request => "request",
            SampleSide::Response => "response",
        }
    }
}

/// Checks a sample body found outside the spec (a documented request or response collected
/// elsewhere) against an endpoint's types, the way its examples are checked: one diagnostic
/// per field that is undeclared, missing while required, or of an incompatible type. Values
/// outside a listed enum pass, as they decode. Returns `None` when the endpoint has no JSON
/// body on that side.
pub fn check_sample(
    group: &Group,
    endpoint: &Endpoint,
    side: SampleSide,
    body: &Value,
) -> Option<Vec<Diagnostic>> {
    let type_name = match (side, &endpoint.request, &endpoint.response) {
        (SampleSide::Request, Some(RequestBody::Json { type_name }), _) => type_name,
        (SampleSide::Response, _, ResponseBody::Json { type_name }) => type_name,
        _ => return None,
    };
    let mut body = body.clone();
    if side == SampleSide::Response
        && let Some(map) = body.as_object_mut()
    {
        for key in ENVELOPE_KEYS {
            map.remove(*key);
        }
    }
    let mut out = Vec::new();
    let mut check = Checker {
        file: &group.file,
        spec: &group.spec,
        shared: &group.shared,
        out: &mut out,
        open_enums: true,
    };
    check.value(side.root(), &TypeRef::Named(type_name.clone()), &body);
    Some(out)
}

/// The shared-types file: a group named `common` with types and no endpoints, each type
/// checked like a group's (its references may only name other common types).
pub fn validate_common(common: &Group) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut check = Checker {
        file: &common.file,
        spec: &common.spec,
        shared: &common.shared,
        out: &mut out,
        open_enums: false,
    };
    let group = crate::share::COMMON_GROUP;
    if common.spec.group != group {
        check.error(
            "group",
            format!("the shared-types file is the group `{group}`"),
        );
    }
    if common.spec.title.trim().is_empty() {
        check.error("title", "empty title");
    }
    if !common.spec.endpoints.is_empty() {
        check.error(
            "endpoints",
            "the shared-types file holds types only: endpoints belong to their group",
        );
    }
    for (name, def) in &common.spec.types {
        check.type_def(name, def);
    }
    out
}

struct Checker<'a> {
    file: &'a str,
    spec: &'a SpecFile,
    /// Types copied from the common file: checked there, not again in each group.
    shared: &'a BTreeSet<String>,
    out: &'a mut Vec<Diagnostic>,
    /// Values outside a listed enum pass: samples from outside the spec are checked the way
    /// the runtime decodes them (open enums keep unknown values); the spec's own examples not.
    open_enums: bool,
}

impl<'a> Checker<'a> {
    fn error(&mut self, place: &str, message: impl Into<String>) {
        self.out.push(Diagnostic {
            file: self.file.to_string(),
            place: place.to_string(),
            message: message.into(),
        });
    }

    fn group(&mut self) {
        let name = &self.spec.group;
        if !is_snake_identifier(name) {
            self.error("group", format!("`{name}` is not a snake_case name"));
        } else if RUNTIME_MODULES.contains(&name.as_str()) {
            self.error(
                "group",
                format!(
                    "`{name}` is a module of the runtime (wecom_api::{name}): pick another name"
                ),
            );
        } else if self.file != format!("{name}.yaml") {
            self.error("group", format!("group `{name}` must live in {name}.yaml"));
        }
        if self.spec.title.trim().is_empty() {
            self.error("title", "empty title");
        }
        for endpoint in &self.spec.endpoints {
            self.endpoint(endpoint);
        }
        for (name, def) in &self.spec.types {
            if !self.shared.contains(name) {
                self.type_def(name, def);
            }
        }
        self.unused_types();
        self.types_confirmed();
    }

    fn endpoint(&mut self, endpoint: &Endpoint) {
        let at = format!("endpoints[{}]", endpoint.id);
        match endpoint.id.split_once('.') {
            Some((namespace, _)) if CLIENT_METHODS.contains(&namespace) => self.error(
                &format!("{at}.id"),
                format!("namespace `{namespace}` would clash with the method Client::{namespace}"),
            ),
            Some((namespace, method))
                if is_snake_identifier(namespace) && is_snake_identifier(method) => {}
            _ => self.error(
                &format!("{at}.id"),
                "an endpoint id is `namespace.method`, both snake_case (`user.get`)",
            ),
        }
        if endpoint.title.trim().is_empty() {
            self.error(&format!("{at}.title"), "empty title");
        }
        if !endpoint.doc.starts_with("https://") {
            self.error(&format!("{at}.doc"), "the doc link must be an https:// URL");
        }
        if let Some(confirmed) = &endpoint.confirmed {
            if !confirmed.page.starts_with("https://") {
                self.error(
                    &format!("{at}.confirmed.page"),
                    "the page compared must be an https:// URL",
                );
            }
            for (index, field) in confirmed.unconfirmed.iter().enumerate() {
                let place = format!("{at}.confirmed.unconfirmed[{index}]");
                let known_root = ["query.", "request.", "response."]
                    .iter()
                    .any(|root| field.field.starts_with(root));
                if !known_root {
                    self.error(
                        &format!("{place}.field"),
                        format!(
                            "`{}` must start with `query.`, `request.` or `response.`",
                            field.field
                        ),
                    );
                }
                if field.why.trim().is_empty() {
                    self.error(
                        &format!("{place}.why"),
                        "say why the field could not be confirmed",
                    );
                }
            }
        }
        let path = &endpoint.path;
        if !path.starts_with('/') {
            self.error(
                &format!("{at}.path"),
                format!("`{path}` must start with `/`"),
            );
        }
        if path.contains("//") || path.contains('?') || path.contains(char::is_whitespace) {
            self.error(
                &format!("{at}.path"),
                format!("`{path}` must be a plain path: no `//`, `?` or spaces"),
            );
        }
        let mut seen = BTreeSet::new();
        for (index, param) in endpoint.query.iter().enumerate() {
            let place = format!("{at}.query[{index}]");
            if !seen.insert(param.name.as_str()) {
                self.error(
                    &place,
                    format!("duplicate query parameter `{}`", param.name),
                );
            }
            if RESERVED_QUERY.contains(&param.name.as_str()) {
                self.error(
                    &place,
                    format!("`{}` is added by the runtime; remove it", param.name),
                );
            }
            self.field_names(&place, param);
            if !param.aliases.is_empty() || param.one_or_many {
                self.error(
                    &place,
                    "`aliases` and `one_or_many` say how a body is read: a query parameter \
                     is only sent",
                );
            }
            match TypeRef::parse(&param.type_ref) {
                Ok(
                    TypeRef::String
                    | TypeRef::Integer
                    | TypeRef::Number
                    | TypeRef::Boolean
                    | TypeRef::Flag,
                ) => {}
                Ok(TypeRef::Named(name)) if self.is_enum(&name) => {}
                Ok(other) => self.error(
                    &format!("{place}.type"),
                    format!("a query parameter must be a scalar or an enum, not `{other}`"),
                ),
                Err(message) => self.error(&format!("{place}.type"), message),
            }
        }
        match &endpoint.request {
            Some(RequestBody::Json { type_name }) => {
                if endpoint.method == HttpMethod::GET {
                    self.error(&format!("{at}.request"), "a GET endpoint has no body");
                }
                self.object_ref(&format!("{at}.request.type"), type_name);
            }
            Some(RequestBody::Multipart { part, limits }) => {
                if endpoint.method == HttpMethod::GET {
                    self.error(&format!("{at}.request"), "a GET endpoint has no body");
                }
                if part.trim().is_empty() || !part.chars().all(|c| c.is_ascii_graphic() && c != '"')
                {
                    self.error(
                        &format!("{at}.request.part"),
                        "the part name must be visible ASCII without quotes",
                    );
                }
                self.upload_limits(&at, endpoint, limits);
            }
            None => {}
        }
        if matches!(endpoint.response, ResponseBody::Binary)
            && matches!(endpoint.request, Some(RequestBody::Json { .. }))
        {
            self.error(
                &format!("{at}.response"),
                "a binary download takes no JSON body",
            );
        }
        if let ResponseBody::Json { type_name } = &endpoint.response {
            self.object_ref(&format!("{at}.response.type"), type_name);
            if let Some(TypeDef::Object { fields, .. }) = self.spec.types.get(type_name) {
                for field in fields {
                    if ENVELOPE_KEYS.contains(&field.name.as_str()) {
                        self.error(
                            &format!("types.{type_name}.{}", field.name),
                            "errcode and errmsg are handled by the runtime; remove the field",
                        );
                    }
                }
            }
        }
        if let Some(pagination) = &endpoint.pagination {
            self.pagination(&format!("{at}.pagination"), endpoint, pagination);
        }
        if endpoint.examples.is_empty() {
            self.error(
                &format!("{at}.examples"),
                "every endpoint needs its documented example",
            );
        }
        for (index, example) in endpoint.examples.iter().enumerate() {
            self.example(&format!("{at}.examples[{index}]"), endpoint, example);
        }
    }

    fn pagination(&mut self, at: &str, endpoint: &Endpoint, pagination: &Pagination) {
        let body_fields = match &endpoint.request {
            Some(RequestBody::Json { type_name }) => self.object_fields(type_name),
            _ => &[],
        };
        let cursor = endpoint
            .query
            .iter()
            .chain(body_fields)
            .find(|f| f.name == pagination.cursor);
        match cursor {
            Some(f) if !f.required && f.type_ref == "string" => {}
            Some(_) => self.error(
                &format!("{at}.cursor"),
                "the cursor input must be an optional string",
            ),
            None => self.error(
                &format!("{at}.cursor"),
                format!("`{}` is not an input of the endpoint", pagination.cursor),
            ),
        }
        let response_fields = match &endpoint.response {
            ResponseBody::Json { type_name } => self.object_fields(type_name),
            ResponseBody::Binary => &[],
        };
        match response_fields
            .iter()
            .find(|f| f.name == pagination.next_cursor)
        {
            Some(f) if f.type_ref == "string" => {}
            _ => self.error(
                &format!("{at}.next_cursor"),
                format!(
                    "`{}` is not a string field of the response",
                    pagination.next_cursor
                ),
            ),
        }
        let end_fields = [
            ("has_more", &pagination.has_more),
            ("last_page", &pagination.last_page),
        ];
        for (key, field) in end_fields {
            let Some(name) = field else { continue };
            match response_fields.iter().find(|f| &f.name == name) {
                Some(f) if ["integer", "boolean", "flag"].contains(&f.type_ref.as_str()) => {}
                _ => self.error(
                    &format!("{at}.{key}"),
                    format!("`{name}` is not an integer, boolean or flag field of the response"),
                ),
            }
        }
        if pagination.has_more.is_some() && pagination.last_page.is_some() {
            self.error(
                &format!("{at}.last_page"),
                "give `has_more` or `last_page`, not both",
            );
        }
        match response_fields.iter().find(|f| f.name == pagination.items) {
            Some(f) if f.type_ref.starts_with("array<") => {}
            _ => self.error(
                &format!("{at}.items"),
                format!(
                    "`{}` is not an array field of the response",
                    pagination.items
                ),
            ),
        }
    }

    fn object_fields(&self, type_name: &str) -> &'a [Field] {
        match self.spec.types.get(type_name) {
            Some(TypeDef::Object { fields, .. }) => fields,
            _ => &[],
        }
    }

    /// Limits name a declared query parameter and one of its values, hold sensible sizes
    /// and plain extensions, and never repeat a condition.
    fn upload_limits(&mut self, at: &str, endpoint: &Endpoint, limits: &[UploadLimit]) {
        let mut conditions = BTreeSet::new();
        for (index, limit) in limits.iter().enumerate() {
            let place = format!("{at}.request.limits[{index}]");
            match (&limit.param, &limit.value) {
                (Some(param), Some(value)) => {
                    match endpoint.query.iter().find(|p| &p.name == param) {
                        Some(declared) => {
                            if let Ok(type_ref) = TypeRef::parse(&declared.type_ref) {
                                let value = Value::String(value.clone());
                                self.value(&format!("{place}.value"), &type_ref, &value);
                            }
                        }
                        None => self.error(
                            &format!("{place}.param"),
                            format!("`{param}` is not a declared query parameter"),
                        ),
                    }
                }
                (None, None) => {}
                _ => self.error(
                    &place,
                    "`param` and `value` go together: both, or neither for every upload",
                ),
            }
            if !conditions.insert((limit.param.clone(), limit.value.clone())) {
                self.error(&place, "another limit has the same condition: merge them");
            }
            if limit.max_bytes == 0 {
                self.error(&format!("{place}.max_bytes"), "must be above 0");
            }
            if limit.min_bytes > limit.max_bytes {
                self.error(
                    &format!("{place}.min_bytes"),
                    format!("{} is above max_bytes {}", limit.min_bytes, limit.max_bytes),
                );
            }
            let mut seen = BTreeSet::new();
            for extension in &limit.extensions {
                let plain = !extension.is_empty()
                    && extension
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
                if !plain {
                    self.error(
                        &format!("{place}.extensions"),
                        format!("`{extension}` must be lower case letters or digits, no dot"),
                    );
                }
                if !seen.insert(extension.as_str()) {
                    self.error(
                        &format!("{place}.extensions"),
                        format!("duplicate extension `{extension}`"),
                    );
                }
            }
        }
    }

    fn example(&mut self, at: &str, endpoint: &Endpoint, example: &crate::model::Example) {
        for (name, value) in &example.query {
            let place = format!("{at}.query.{name}");
            match endpoint.query.iter().find(|p| &p.name == name) {
                Some(param) => {
                    if let Ok(type_ref) = TypeRef::parse(&param.type_ref) {
                        self.value(&place, &type_ref, value);
                    }
                }
                None => self.error(
                    &place,
                    format!("`{name}` is not a declared query parameter"),
                ),
            }
        }
        for param in endpoint.query.iter().filter(|p| p.required) {
            if !example.query.contains_key(&param.name) {
                self.error(
                    &format!("{at}.query"),
                    format!("required query parameter `{}` is missing", param.name),
                );
            }
        }
        match (&endpoint.request, &example.request) {
            (Some(RequestBody::Json { type_name }), Some(body)) => {
                self.value(
                    &format!("{at}.request"),
                    &TypeRef::Named(type_name.clone()),
                    body,
                );
            }
            (Some(RequestBody::Json { .. }), None) => {
                self.error(at, "the example has no request body")
            }
            (None, Some(_)) => self.error(
                &format!("{at}.request"),
                "the endpoint takes no JSON body, but the example has one",
            ),
            _ => {}
        }
        match &endpoint.response {
            ResponseBody::Json { type_name } => {
                let mut response = example.response.clone();
                if let Some(map) = response.as_object_mut() {
                    for key in ENVELOPE_KEYS {
                        map.remove(*key);
                    }
                }
                self.value(
                    &format!("{at}.response"),
                    &TypeRef::Named(type_name.clone()),
                    &response,
                );
            }
            ResponseBody::Binary => {
                if !example.response.is_object() {
                    self.error(
                        &format!("{at}.response"),
                        "a binary endpoint's example response is its JSON error body",
                    );
                }
            }
        }
    }

    /// Checks an example value against a type, the way the runtime would decode it.
    fn value(&mut self, at: &str, type_ref: &TypeRef, value: &Value) {
        let ok = match type_ref {
            TypeRef::Json => true,
            TypeRef::String => value.is_string() || value.is_number(),
            TypeRef::Integer => as_integer(value).is_some(),
            TypeRef::Number => {
                value.is_number() || value.as_str().is_some_and(|s| s.parse::<f64>().is_ok())
            }
            TypeRef::Boolean | TypeRef::Flag => {
                value.is_boolean()
                    || matches!(as_integer(value), Some(0 | 1))
                    || matches!(value.as_str(), Some("true" | "false"))
            }
            TypeRef::Array(inner) => match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        self.value(&format!("{at}[{index}]"), inner, item);
                    }
                    true
                }
                None => false,
            },
            TypeRef::Map(inner) => match value.as_object() {
                Some(map) => {
                    for (key, item) in map {
                        self.value(&format!("{at}.{key}"), inner, item);
                    }
                    true
                }
                None => false,
            },
            TypeRef::Named(name) => {
                self.named_value(at, name, value);
                true
            }
        };
        if !ok {
            self.error(at, format!("expected {type_ref}, found {}", short(value)));
        }
    }

    fn named_value(&mut self, at: &str, name: &str, value: &Value) {
        let spec = self.spec;
        match spec.types.get(name) {
            None => {} // reported where the reference is written
            Some(TypeDef::Object { fields, .. }) => {
                let Some(map) = value.as_object() else {
                    self.error(
                        at,
                        format!("expected object {name}, found {}", short(value)),
                    );
                    return;
                };
                let mut allowed: BTreeSet<&str> = BTreeSet::new();
                let mut inline_union = None;
                for field in fields {
                    let type_ref = TypeRef::parse(&field.type_ref).ok();
                    if let Some(TypeDef::Union {
                        tag,
                        variants,
                        inline,
                        ..
                    }) = type_ref
                        .as_ref()
                        .and_then(|t| t.named())
                        .and_then(|n| spec.types.get(n))
                    {
                        allowed.insert(tag);
                        if *inline {
                            inline_union = Some((field, tag, variants));
                        } else {
                            allowed.extend(variants.iter().filter_map(variant_key));
                            self.union_value(at, field, tag, variants, map, None);
                        }
                        continue;
                    }
                    allowed.extend(field.wire_names());
                    match field.read_from(map) {
                        Some(Value::Null) | None if field.required => self.error(
                            at,
                            format!("required field `{}` of {name} is missing", field.name),
                        ),
                        Some(Value::Null) | None => {}
                        // The runtime reads a blank string as absent for these (`de::present`).
                        Some(Value::String(blank))
                            if blank.trim().is_empty()
                                && type_ref.as_ref().is_some_and(blank_is_absent) => {}
                        Some(item) => {
                            let place = format!("{at}.{}", field.name);
                            match &type_ref {
                                // One item where a list is documented: read as a list of one.
                                Some(TypeRef::Array(inner))
                                    if field.one_or_many && !item.is_array() =>
                                {
                                    self.value(&place, inner, item)
                                }
                                Some(type_ref) => self.value(&place, type_ref, item),
                                None => {}
                            }
                        }
                    }
                }
                if let Some((field, tag, variants)) = inline_union {
                    // The variant's fields are the keys the object does not claim itself.
                    let rest: serde_json::Map<String, Value> = map
                        .iter()
                        .filter(|(key, _)| !allowed.contains(key.as_str()))
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect();
                    if self.union_value(at, field, tag, variants, map, Some(&rest)) {
                        allowed.extend(map.keys().map(String::as_str));
                    }
                }
                for key in map.keys() {
                    if !allowed.contains(key.as_str()) {
                        self.error(
                            &format!("{at}.{key}"),
                            format!("`{key}` is not a field of {name}: declare it"),
                        );
                    }
                }
            }
            Some(TypeDef::IntEnum { values, .. }) => match as_integer(value) {
                Some(n) if self.open_enums || values.iter().any(|v| v.value == n) => {}
                Some(n) => self.error(at, format!("{n} is not a documented value of {name}")),
                None => self.error(
                    at,
                    format!("expected {name} (integer), found {}", short(value)),
                ),
            },
            Some(TypeDef::StringEnum { values, .. }) => match value.as_str() {
                Some(s) if self.open_enums || values.iter().any(|v| v.value == s) => {}
                Some(s) => self.error(at, format!("`{s}` is not a documented value of {name}")),
                None => self.error(
                    at,
                    format!("expected {name} (string), found {}", short(value)),
                ),
            },
            Some(TypeDef::Union { .. }) => {
                self.error(at, format!("union {name} can only be a field of an object"))
            }
        }
    }

    /// Checks the union held by an object. `inline` is the content of an inline union (the
    /// keys the object does not claim). Returns whether a declared variant was found.
    fn union_value(
        &mut self,
        at: &str,
        field: &Field,
        tag: &str,
        variants: &[crate::model::UnionVariant],
        map: &serde_json::Map<String, Value>,
        inline: Option<&serde_json::Map<String, Value>>,
    ) -> bool {
        let Some(tag_value) = map.get(tag) else {
            if field.required {
                self.error(at, format!("the union tag `{tag}` is missing"));
            }
            return false;
        };
        let variant = variants.iter().find(|v| match &v.tag {
            UnionTag::Int(n) => as_integer(tag_value) == Some(*n),
            UnionTag::Str(s) => tag_value.as_str() == Some(s),
        });
        let Some(variant) = variant else {
            // An unknown variant decodes (kept whole); its content stays undescribed.
            if !self.open_enums {
                self.error(
                    &format!("{at}.{tag}"),
                    format!("{} is not a declared variant", short(tag_value)),
                );
            }
            return false;
        };
        // A variant without content is its tag alone.
        let Some(type_name) = &variant.type_name else {
            return true;
        };
        let content_type = TypeRef::Named(type_name.clone());
        if let Some(content) = inline {
            self.value(at, &content_type, &Value::Object(content.clone()));
            return true;
        }
        let Some(key) = variant_key(variant) else {
            return true;
        };
        match map.get(key) {
            Some(content) => self.value(&format!("{at}.{key}"), &content_type, content),
            None => self.error(at, format!("the `{key}` content of the union is missing")),
        }
        true
    }

    fn type_def(&mut self, name: &str, def: &TypeDef) {
        let at = format!("types.{name}");
        if !is_type_name(name) {
            self.error(&at, format!("type name `{name}` must be UpperCamelCase"));
        }
        match def {
            TypeDef::Object { fields, .. } => {
                let mut seen = BTreeSet::new();
                let mut wire_names = BTreeSet::new();
                let mut unions = 0;
                for field in fields {
                    let place = format!("{at}.{}", field.name);
                    self.field_names(&place, field);
                    self.read_options(&place, field, &mut wire_names);
                    if field.secret && field.type_ref != "string" {
                        self.error(&place, "only a string field can be `secret`");
                    }
                    if !seen.insert(rust_field_name(field)) {
                        self.error(&place, format!("duplicate field `{}`", field.name));
                    }
                    match TypeRef::parse(&field.type_ref) {
                        Ok(type_ref) => {
                            if let Some(target) = type_ref.named() {
                                match self.spec.types.get(target) {
                                    None => self.error(
                                        &format!("{place}.type"),
                                        format!("unknown type `{target}`"),
                                    ),
                                    Some(TypeDef::Union { .. }) => {
                                        unions += 1;
                                        if type_ref != TypeRef::Named(target.to_string()) {
                                            self.error(
                                                &format!("{place}.type"),
                                                "a union is flattened into its object: it \
                                                 cannot sit inside array<> or map<>",
                                            );
                                        }
                                    }
                                    Some(_) => {}
                                }
                            }
                        }
                        Err(message) => self.error(&format!("{place}.type"), message),
                    }
                }
                if unions > 1 {
                    self.error(&at, "an object can hold at most one union field");
                }
            }
            TypeDef::IntEnum { values, .. } => {
                let mut names = BTreeSet::new();
                let mut numbers = BTreeSet::new();
                for value in values {
                    self.variant_name(&at, &value.name, &mut names);
                    if !numbers.insert(value.value) {
                        self.error(&at, format!("duplicate value {}", value.value));
                    }
                }
                if values.is_empty() {
                    self.error(&at, "an enum needs at least one value");
                }
            }
            TypeDef::StringEnum { values, .. } => {
                let mut names = BTreeSet::new();
                let mut strings = BTreeSet::new();
                for value in values {
                    self.variant_name(&at, &value.name, &mut names);
                    if !strings.insert(value.value.as_str()) {
                        self.error(&at, format!("duplicate value `{}`", value.value));
                    }
                }
                if values.is_empty() {
                    self.error(&at, "an enum needs at least one value");
                }
            }
            TypeDef::Union {
                tag,
                variants,
                inline,
                ..
            } => {
                let mut names = BTreeSet::new();
                let mut tags = Vec::new();
                if tag.trim().is_empty() {
                    self.error(&format!("{at}.tag"), "empty tag key");
                }
                for variant in variants {
                    let place = format!("{at}.variants[{}]", tag_text(&variant.tag));
                    if tags.contains(&variant.tag) {
                        self.error(&place, "duplicate tag value");
                    }
                    tags.push(variant.tag.clone());
                    if *inline && variant.key.is_some() {
                        self.error(
                            &place,
                            "an inline union has no `key`: the content sits beside the tag",
                        );
                    }
                    match &variant.type_name {
                        Some(type_name) => self.object_ref(&format!("{place}.type"), type_name),
                        None if *inline => {
                            self.error(&place, "a variant of an inline union needs `type`")
                        }
                        None if variant.key.is_some() => self.error(
                            &place,
                            "`key` names where the content sits, and a variant without \
                             `type` has no content",
                        ),
                        None => {}
                    }
                    match variant_name(variant) {
                        Some(name) => self.variant_name(&place, &name, &mut names),
                        None if *inline => {
                            self.error(&place, "an integer tag of an inline union needs `name`")
                        }
                        None if variant.type_name.is_none() => self.error(
                            &place,
                            "a variant with an integer tag and no content needs `name`",
                        ),
                        None => self.error(
                            &place,
                            "an integer tag needs `key`, the key holding the content",
                        ),
                    }
                }
                if variants.is_empty() {
                    self.error(&at, "a union needs at least one variant");
                }
            }
        }
    }

    fn variant_name(&mut self, at: &str, name: &str, seen: &mut BTreeSet<String>) {
        if !is_type_name(name) {
            self.error(at, format!("variant name `{name}` must be UpperCamelCase"));
        } else if name == "Unknown" {
            self.error(
                at,
                "`Unknown` is reserved for values the spec does not list",
            );
        } else if !seen.insert(name.to_string()) {
            self.error(at, format!("duplicate variant name `{name}`"));
        }
    }

    /// `aliases` (other spellings, each a name no other field of the type reads) and
    /// `one_or_many` (on a list only), which say how a field is read.
    fn read_options<'f>(&mut self, at: &str, field: &'f Field, wire_names: &mut BTreeSet<&'f str>) {
        let type_ref = TypeRef::parse(&field.type_ref).ok();
        let is_union = type_ref
            .as_ref()
            .and_then(|t| t.named())
            .is_some_and(|n| matches!(self.spec.types.get(n), Some(TypeDef::Union { .. })));
        if is_union && (!field.aliases.is_empty() || field.one_or_many) {
            self.error(
                at,
                "a union is flattened into its object: it has no name to alias and is not a list",
            );
        }
        if field.one_or_many && !matches!(type_ref, Some(TypeRef::Array(_))) {
            self.error(
                &format!("{at}.one_or_many"),
                "only an `array<T>` field can be read from one item",
            );
        }
        for name in field.wire_names() {
            if name.trim().is_empty() {
                self.error(&format!("{at}.aliases"), "empty alias");
            } else if !wire_names.insert(name) {
                self.error(
                    &format!("{at}.aliases"),
                    format!("`{name}` is already a name or alias of a field of this type"),
                );
            }
        }
    }

    fn field_names(&mut self, at: &str, field: &Field) {
        if field.name.trim().is_empty() {
            self.error(at, "empty field name");
        }
        let rust = rust_field_name(field);
        if !is_snake_identifier(&rust) {
            self.error(
                at,
                format!("`{rust}` is not a usable Rust name: set `rust_name`"),
            );
        }
    }

    fn object_ref(&mut self, at: &str, name: &str) {
        match self.spec.types.get(name) {
            Some(TypeDef::Object { .. }) => {}
            Some(_) => self.error(at, format!("`{name}` must be an object type")),
            None => self.error(at, format!("unknown type `{name}`")),
        }
    }

    fn is_enum(&self, name: &str) -> bool {
        matches!(
            self.spec.types.get(name),
            Some(TypeDef::IntEnum { .. } | TypeDef::StringEnum { .. })
        )
    }

    /// The group's record of types compared with official pages: each names known types,
    /// and each unconfirmed field is `Type.field` of a known type, with a reason.
    fn types_confirmed(&mut self) {
        for (i, record) in self.spec.confirmed.iter().enumerate() {
            let at = format!("confirmed[{i}]");
            if !record.page.starts_with("https://") {
                self.error(
                    &format!("{at}.page"),
                    "the page compared must be an https:// URL",
                );
            }
            for (j, name) in record.types.iter().enumerate() {
                if !self.spec.types.contains_key(name) {
                    self.error(
                        &format!("{at}.types[{j}]"),
                        format!("unknown type `{name}`"),
                    );
                }
            }
            for (j, field) in record.unconfirmed.iter().enumerate() {
                let place = format!("{at}.unconfirmed[{j}]");
                let known = field.field.split_once('.').is_some_and(|(name, rest)| {
                    !rest.is_empty() && self.spec.types.contains_key(name)
                });
                if !known {
                    self.error(
                        &format!("{place}.field"),
                        format!(
                            "`{}` must be `Type.field` of a type of this group",
                            field.field
                        ),
                    );
                }
                if field.why.trim().is_empty() {
                    self.error(
                        &format!("{place}.why"),
                        "say why the field could not be confirmed",
                    );
                }
            }
        }
    }

    fn unused_types(&mut self) {
        // A group of types only (`archive`: messages the Finance SDK returns) exports them
        // all; "unused" only means something where endpoints name the roots.
        if self.spec.endpoints.is_empty() {
            return;
        }
        let mut used = BTreeSet::new();
        let mut pending: Vec<String> = Vec::new();
        for (i, root) in self.spec.roots.iter().enumerate() {
            if self.spec.types.contains_key(root) {
                pending.push(root.clone());
            } else {
                self.error(&format!("roots[{i}]"), format!("unknown type `{root}`"));
            }
        }
        for endpoint in &self.spec.endpoints {
            if let Some(RequestBody::Json { type_name }) = &endpoint.request {
                pending.push(type_name.clone());
            }
            if let ResponseBody::Json { type_name } = &endpoint.response {
                pending.push(type_name.clone());
            }
            for param in &endpoint.query {
                if let Ok(TypeRef::Named(name)) = TypeRef::parse(&param.type_ref) {
                    pending.push(name);
                }
            }
        }
        while let Some(name) = pending.pop() {
            if !used.insert(name.clone()) {
                continue;
            }
            match self.spec.types.get(&name) {
                Some(TypeDef::Object { fields, .. }) => pending.extend(
                    fields
                        .iter()
                        .filter_map(|f| TypeRef::parse(&f.type_ref).ok())
                        .filter_map(|t| t.named().map(str::to_string)),
                ),
                Some(TypeDef::Union { variants, .. }) => {
                    pending.extend(variants.iter().filter_map(|v| v.type_name.clone()))
                }
                _ => {}
            }
        }
        let unused: Vec<String> = self
            .spec
            .types
            .keys()
            .filter(|name| !used.contains(*name))
            .cloned()
            .collect();
        for name in unused {
            self.error(&format!("types.{name}"), "type is not used by any endpoint");
        }
    }
}

fn tag_text(tag: &UnionTag) -> String {
    match tag {
        UnionTag::Int(n) => n.to_string(),
        UnionTag::Str(s) => s.clone(),
    }
}

/// Integers as the runtime accepts them: numbers without fraction and numeric strings.
/// Optional fields of these types decode a blank string as absent, like `null`.
fn blank_is_absent(type_ref: &TypeRef) -> bool {
    matches!(
        type_ref,
        TypeRef::Integer | TypeRef::Number | TypeRef::Boolean | TypeRef::Flag | TypeRef::Array(_)
    )
}

fn as_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        // The runtime reads true/false as 1/0 where an integer is expected.
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
