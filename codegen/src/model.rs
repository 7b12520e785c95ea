//! The spec format: what a `spec/<group>.yaml` file may contain.
//!
//! These structs are the single definition of the format: serde reads spec files with them
//! (unknown keys are errors) and schemars turns them into `spec/schema.json` for editors.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod callbacks;
pub use callbacks::*;

/// One API group: one YAML file, one generated module, one cargo feature.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Group name, snake_case; names the generated module and the cargo feature.
    pub group: String,
    /// Chinese title of the group.
    pub title: String,
    /// What the group covers.
    #[serde(default)]
    pub description: String,
    /// Whether the group sits behind a cargo feature. The base group does not.
    #[serde(default = "yes")]
    pub feature: bool,
    /// The endpoints of the group.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Named types used by the endpoints, by name (UpperCamelCase).
    #[serde(default)]
    pub types: BTreeMap<String, TypeDef>,
    /// Types no endpoint names that the runtime reads or writes itself (JSON pushed to the
    /// application, like AI-bot callbacks, and its replies): they and what they use count
    /// as used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<String>,
    /// What of the types (the roots and what they use) was compared with official pages:
    /// endpoints carry their own record, these types have no endpoint to carry it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmed: Vec<TypesConfirmation>,
}

fn yes() -> bool {
    true
}

/// One HTTP endpoint of the WeCom server API.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Stable id `namespace.method` (`user.get`): the accessor and the method in Rust.
    pub id: String,
    /// Chinese title from the official documentation.
    pub title: String,
    /// What the endpoint does, and what to know before calling it.
    #[serde(default)]
    pub description: String,
    /// Official documentation page.
    pub doc: String,
    pub method: HttpMethod,
    /// Path below the API host, starting with `/`.
    pub path: String,
    /// The credential the call needs.
    #[serde(default)]
    pub credential: Credential,
    /// Whether the call may be repeated after a transport failure or errcode -1.
    /// Defaults to true for GET and false for POST.
    #[serde(default)]
    pub retry_safe: Option<bool>,
    /// Marks endpoints WeCom no longer documents.
    #[serde(default)]
    pub deprecated: Option<String>,
    /// Query parameters (besides the access token).
    #[serde(default)]
    pub query: Vec<Field>,
    /// Request body, if any.
    #[serde(default)]
    pub request: Option<RequestBody>,
    /// Response body.
    pub response: ResponseBody,
    /// Cursor paging: the call is also offered as a stream of items.
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// Documented examples; every one is checked against the schema and run as a test.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// What was compared with the official page, field by field, and what could not be.
    #[serde(default)]
    pub confirmed: Option<Confirmation>,
}

/// The record of comparing an endpoint's fields with its official page: names, types and
/// required flags of the query and body, names and types of the response, nested levels
/// included.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// The official page compared (`https://developer.work.weixin.qq.com/document/path/NNNNN`).
    pub page: String,
    /// The query parameters and request body match the page's tables.
    #[serde(default)]
    pub request: bool,
    /// The response fields match the page's table.
    #[serde(default)]
    pub response: bool,
    /// Fields that could not be confirmed, each with the reason.
    #[serde(default)]
    pub unconfirmed: Vec<Unconfirmed>,
    /// Where the page disagrees with itself (an example against its table) and what the
    /// spec follows.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The record of comparing named types with one official page: their fields' names,
/// nesting and types, and the page's examples.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypesConfirmation {
    /// The official page compared (`https://developer.work.weixin.qq.com/document/path/NNNNN`).
    pub page: String,
    /// The types whose fields match the page.
    #[serde(default)]
    pub types: Vec<String>,
    /// Fields that could not be confirmed (`Type.field`), each with the reason.
    #[serde(default)]
    pub unconfirmed: Vec<Unconfirmed>,
    /// What else was learnt: where the page is silent, what a public copy says, what the
    /// spec follows.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One field that could not be confirmed against the official page.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unconfirmed {
    /// Where the field is: `query.<name>`, `request.<path>` or `response.<path>`
    /// (nested fields joined with `.`, list items with `[]`).
    pub field: String,
    /// Why it could not be confirmed (the page omits it, the table is ambiguous, ...).
    pub why: String,
}

/// How a cursor-paged list pages: the cursor input, the next cursor and the items of a page.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    /// Optional string input (body field or query parameter) taking the cursor.
    pub cursor: String,
    /// Optional string field of the response holding the next cursor; empty or absent at the end.
    pub next_cursor: String,
    /// Array field of the response holding the page's items.
    pub items: String,
    /// Integer, boolean or flag field of the response saying whether more pages follow:
    /// where the page documents one, a page with 0 (or false) is the last, whatever cursor
    /// it carries. Without it, an empty or absent next cursor ends the listing.
    #[serde(default)]
    pub has_more: Option<String>,
    /// The reverse, where the page documents it that way (`ending`, `is_last`): 1 (or true)
    /// marks the last page.
    #[serde(default)]
    pub last_page: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HttpMethod {
    GET,
    POST,
}

/// The credential an endpoint needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// `access_token` query parameter, from the client's token cache.
    #[default]
    AccessToken,
    /// `corpid` and `corpsecret` query parameters (only `gettoken`).
    CorpSecret,
    /// `suite_access_token` of a third-party app (suite), from the pushed suite_ticket.
    SuiteAccessToken,
    /// `provider_access_token` of a service provider, from the provider secret.
    ProviderAccessToken,
    /// The provider token sent under the name `access_token` (`service/get_login_info`).
    ProviderAccessTokenAsAccessToken,
    /// `device_access_token` of a hardware device.
    DeviceAccessToken,
    /// `model_access_token` of a hardware model.
    ModelAccessToken,
    /// A group robot's `key` from its webhook URL; no token.
    WebhookKey,
    /// Nothing.
    None,
}

impl Credential {
    /// The variant of the runtime's `operation::Credential` with the same meaning.
    pub fn rust_variant(self) -> &'static str {
        match self {
            Credential::AccessToken => "AccessToken",
            Credential::CorpSecret => "CorpSecret",
            Credential::SuiteAccessToken => "SuiteAccessToken",
            Credential::ProviderAccessToken => "ProviderAccessToken",
            Credential::ProviderAccessTokenAsAccessToken => "ProviderAccessTokenAsAccessToken",
            Credential::DeviceAccessToken => "DeviceAccessToken",
            Credential::ModelAccessToken => "ModelAccessToken",
            Credential::WebhookKey => "WebhookKey",
            Credential::None => "None",
        }
    }

    /// The query parameter that carries the credential, where there is one.
    pub fn query_name(self) -> Option<&'static str> {
        match self {
            Credential::AccessToken | Credential::ProviderAccessTokenAsAccessToken => {
                Some("access_token")
            }
            Credential::SuiteAccessToken => Some("suite_access_token"),
            Credential::ProviderAccessToken => Some("provider_access_token"),
            Credential::DeviceAccessToken => Some("device_access_token"),
            Credential::ModelAccessToken => Some("model_access_token"),
            Credential::WebhookKey => Some("key"),
            Credential::CorpSecret | Credential::None => None,
        }
    }
}

/// A request body.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum RequestBody {
    /// A JSON object described by a named object type.
    Json {
        #[serde(rename = "type")]
        type_name: String,
    },
    /// multipart/form-data with one file part.
    Multipart {
        /// Name of the file part (`media`).
        part: String,
        /// Documented size and type limits, checked before the file is sent.
        #[serde(default)]
        limits: Vec<UploadLimit>,
    },
}

/// A documented limit of an upload: size bounds and accepted file types, for every upload of
/// the endpoint or only for one value of a query parameter (`param: type, value: image`).
/// Every limit that applies to a call must hold.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadLimit {
    /// Query parameter whose value selects this limit; absent: every upload.
    #[serde(default)]
    pub param: Option<String>,
    /// The value of `param` (as sent on the wire) this limit applies to.
    #[serde(default)]
    pub value: Option<String>,
    /// Largest accepted size in bytes (10 MB is 10485760).
    pub max_bytes: u64,
    /// Smallest accepted size in bytes.
    #[serde(default)]
    pub min_bytes: u64,
    /// Accepted file name extensions, lower case without the dot; empty: any.
    #[serde(default)]
    pub extensions: Vec<String>,
    /// What the documentation says.
    #[serde(default)]
    pub doc: String,
}

/// A response body.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum ResponseBody {
    /// A JSON object with `errcode`/`errmsg` and the fields of a named object type.
    Json {
        #[serde(rename = "type")]
        type_name: String,
    },
    /// Raw bytes (a file); a JSON body instead means an error.
    Binary,
}

/// A documented example call.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// Where it comes from or what it shows.
    #[serde(default)]
    pub name: Option<String>,
    /// Query parameters, by name.
    #[serde(default)]
    pub query: BTreeMap<String, serde_json::Value>,
    /// JSON request body.
    #[serde(default)]
    pub request: Option<serde_json::Value>,
    /// JSON response body, with `errcode` and `errmsg`.
    pub response: serde_json::Value,
}

/// A field of an object type, or a query parameter.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Name on the wire.
    pub name: String,
    /// Type reference: `string`, `integer`, `number`, `boolean`, `flag` (a 0/1 integer on the
    /// wire, `bool` in Rust), `json`,
    /// `array<T>`, `map<T>` or the name of a type of this group. A field whose type is a
    /// union is flattened into its object: its name is then only the Rust name.
    #[serde(rename = "type")]
    pub type_ref: String,
    #[serde(default)]
    pub required: bool,
    /// Meaning, from the official documentation.
    #[serde(default)]
    pub doc: String,
    /// Rust name, where the wire name is not a valid or clear one.
    #[serde(default)]
    pub rust_name: Option<String>,
    /// A credential (token, ticket, key): a string kept out of Debug and logs.
    #[serde(default)]
    pub secret: bool,
    /// A request field the client fills when the caller leaves it unset (`agent_id`: the
    /// client's `agent_id`). The call is refused before sending when neither is set and the
    /// field is required.
    #[serde(default)]
    pub client_default: Option<ClientDefault>,
    /// A string holding a list joined by this separator (`|` in `invaliduser`): the type
    /// gets an accessor `<field>_list()` returning the parts.
    #[serde(default)]
    pub separator: Option<String>,
    /// Other wire names of the field, where an official page spells it two ways (its table
    /// and its example): read as this field, never sent; `name` is the spelling sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// An `array<T>` that a page documents as a list while its example sends one item: a
    /// single item is read as a list of one. Lists are always sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_or_many: bool,
}

impl Field {
    /// The wire names this field is read from: its name, then its aliases.
    pub fn wire_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// The member of `map` this field reads (see [`member_named`]).
    pub fn read_from<'v>(
        &self,
        map: &'v serde_json::Map<String, serde_json::Value>,
    ) -> Option<&'v serde_json::Value> {
        member_named(self.wire_names(), map)
    }
}

/// The member a field spelled several ways reads, as the runtime picks it (`Fields::named`):
/// under the first of its names that the object has.
pub fn member_named<'n, 'v>(
    names: impl IntoIterator<Item = &'n str>,
    map: &'v serde_json::Map<String, serde_json::Value>,
) -> Option<&'v serde_json::Value> {
    names.into_iter().find_map(|name| map.get(name))
}

/// A client setting that a request field defaults to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientDefault {
    /// The application's agent id (`ClientBuilder::agent_id`).
    AgentId,
}

/// A named type.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum TypeDef {
    /// A JSON object with named fields.
    Object {
        #[serde(default)]
        doc: String,
        fields: Vec<Field>,
    },
    /// An integer with documented values; unknown values are kept.
    IntEnum {
        #[serde(default)]
        doc: String,
        values: Vec<IntEnumValue>,
    },
    /// A string with documented values; unknown values are kept.
    StringEnum {
        #[serde(default)]
        doc: String,
        values: Vec<StringEnumValue>,
    },
    /// A tagged union in WeCom's `msgtype` style: `{"<tag>": "text", "text": {...}}`.
    Union {
        #[serde(default)]
        doc: String,
        /// The discriminating key (`msgtype`).
        tag: String,
        /// The variants' fields sit beside the tag instead of under a key:
        /// `{"card_type": "text_notice", "main_title": {...}}`.
        #[serde(default)]
        inline: bool,
        variants: Vec<UnionVariant>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntEnumValue {
    pub value: i64,
    /// Rust variant name, UpperCamelCase.
    pub name: String,
    #[serde(default)]
    pub doc: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StringEnumValue {
    pub value: String,
    /// Rust variant name, UpperCamelCase.
    pub name: String,
    #[serde(default)]
    pub doc: String,
}

/// One variant of a tagged union: the tag value and the key holding its content.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnionVariant {
    /// Tag value: a string (`text`) or an integer (`0`).
    pub tag: UnionTag,
    /// Key holding the content; defaults to the tag when the tag is a string. Not used by
    /// inline unions.
    #[serde(default)]
    pub key: Option<String>,
    /// Named object type of the content. Without it (keyed unions only) the variant carries no
    /// content: on the wire it is the tag alone (`{"type": "normal"}`).
    #[serde(rename = "type", default)]
    pub type_name: Option<String>,
    /// Rust variant name; defaults to the key (or the string tag) in UpperCamelCase.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub doc: String,
}

/// A union tag value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum UnionTag {
    Int(i64),
    Str(String),
}

/// The error code catalog, `spec/errcodes.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrcodeFile {
    pub errcodes: Vec<Errcode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Errcode {
    pub code: i64,
    /// Meaning, from the official 全局错误码 page.
    pub meaning: String,
}
