//! The generated endpoint table (`generated/endpoints.json`, written by `cargo xtask codegen`
//! from the spec): parsed once, then looked up by path on every request.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

const TABLE: &str = include_str!("generated/endpoints.json");

/// One endpoint of the spec, as the stand-in serves it.
#[derive(Debug, Deserialize)]
pub struct Endpoint {
    /// The spec's endpoint id (`user.get`).
    pub id: String,
    /// The spec group (`contacts`).
    pub group: String,
    /// `GET` or `POST`.
    pub method: String,
    /// The path as WeCom has it (`/cgi-bin/user/get`).
    pub path: String,
    /// The credential the endpoint takes (`access_token`, `suite_access_token`, ...).
    pub credential: String,
    /// Query parameters besides the credential.
    pub query: Vec<FieldSpec>,
    /// `{"json": Type}`, `{"multipart": part, "max_bytes": n}` or null.
    pub body: Value,
    /// The documented answer, or `"binary"` for a file download.
    pub response: Value,
    /// The documented request's query parameters.
    pub example_query: Value,
    /// The documented request's body.
    pub example_request: Value,
}

/// A query parameter or a field of an object type.
#[derive(Debug, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub type_ref: String,
    pub required: bool,
    /// Other spellings of the name that WeCom's pages use too.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// A list whose one item may come bare.
    #[serde(default)]
    pub one_or_many: bool,
}

impl FieldSpec {
    /// The name a body spells this field with: the first of its names the body has (its
    /// own, then its aliases), else its own.
    pub fn spelled_in<'m>(&'m self, map: &serde_json::Map<String, serde_json::Value>) -> &'m str {
        std::iter::once(&self.name)
            .chain(&self.aliases)
            .find(|name| map.contains_key(name.as_str()))
            .unwrap_or(&self.name)
    }
}

/// A request-side named type.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeSpec {
    Object(Vec<FieldSpec>),
    IntEnum,
    StringEnum,
    Union(UnionSpec),
}

#[derive(Debug, Deserialize)]
pub struct UnionSpec {
    pub tag: String,
    pub inline: bool,
    pub variants: Vec<VariantSpec>,
}

#[derive(Debug, Deserialize)]
pub struct VariantSpec {
    pub tag: Value,
    pub key: Option<String>,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    endpoints: Vec<Endpoint>,
    types: BTreeMap<String, BTreeMap<String, TypeSpec>>,
}

/// Every endpoint, indexed by path, and each group's types.
pub struct Table {
    pub endpoints: Vec<Endpoint>,
    by_path: HashMap<String, usize>,
    types: BTreeMap<String, BTreeMap<String, TypeSpec>>,
}

impl Table {
    /// The table compiled into this crate, parsed on first use.
    pub fn get() -> &'static Table {
        static PARSED: OnceLock<Table> = OnceLock::new();
        PARSED.get_or_init(|| {
            // The file is generated and checked by `cargo xtask codegen --check`; a broken one
            // is a build defect, and an empty table makes every path unknown rather than panic.
            let raw: Raw = serde_json::from_str(TABLE).unwrap_or_else(|error| {
                tracing::error!("generated/endpoints.json does not parse: {error}");
                Raw {
                    endpoints: Vec::new(),
                    types: BTreeMap::new(),
                }
            });
            let by_path = raw
                .endpoints
                .iter()
                .enumerate()
                .map(|(i, e)| (e.path.clone(), i))
                .collect();
            Table {
                endpoints: raw.endpoints,
                by_path,
                types: raw.types,
            }
        })
    }

    pub fn by_path(&self, path: &str) -> Option<&Endpoint> {
        self.by_path.get(path).map(|&i| &self.endpoints[i])
    }

    pub fn by_id(&self, id: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.id == id)
    }

    pub fn type_spec(&self, group: &str, name: &str) -> Option<&TypeSpec> {
        self.types.get(group)?.get(name)
    }
}

impl Endpoint {
    /// The JSON body's type name, if the endpoint takes one.
    pub fn json_body(&self) -> Option<&str> {
        self.body.get("json").and_then(Value::as_str)
    }

    /// The multipart part name and the largest file the spec allows.
    pub fn multipart(&self) -> Option<(&str, Option<u64>)> {
        let part = self.body.get("multipart")?.as_str()?;
        Some((part, self.body.get("max_bytes").and_then(Value::as_u64)))
    }

    pub fn is_binary(&self) -> bool {
        self.response.as_str() == Some("binary")
    }
}
