//! Request validation against the spec: required inputs present, values of the declared type,
//! unknown fields noted (WeCom ignores them; a test may want to know).

use serde_json::Value;

use crate::table::{Endpoint, FieldSpec, Table, TypeSpec};

/// How deep nested types are followed (the spec has recursive types).
const MAX_DEPTH: usize = 32;

/// A request WeCom would refuse: its errcode and a message naming the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub errcode: i64,
    pub errmsg: String,
}

impl Rejection {
    pub fn new(errcode: i64, errmsg: impl Into<String>) -> Self {
        Rejection {
            errcode,
            errmsg: errmsg.into(),
        }
    }
}

/// WeCom's errcode for a missing input: a dedicated 41xxx code for the ones it has, else
/// 40063 (参数为空).
pub fn missing(name: &str) -> Rejection {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    let code = match leaf {
        "access_token" => 41001,
        "corpid" => 41002,
        "corpsecret" => 41004,
        "media_id" => 41006,
        "code" => 41008,
        "userid" => 41009,
        "url" => 41010,
        "agentid" => 41011,
        "title" => 41016,
        "tagid" => 41017,
        "department" => 41019,
        "suite_id" => 41021,
        "suite_access_token" => 41022,
        "suite_ticket" => 41023,
        "suite_secret" => 41024,
        "permanent_code" => 41025,
        "description" => 41033,
        "external_userid" => 41035,
        "open_kfid" => 60251,
        "auth_corpid" => 84054,
        "model_access_token" => 710403,
        _ => 40063,
    };
    Rejection::new(
        code,
        format!("missing parameter `{name}`, hint: [wecom-standin]"),
    )
}

/// 40058 (不合法的参数), naming the field and what it should be.
pub fn invalid(name: &str, expected: &str) -> Rejection {
    Rejection::new(
        40058,
        format!("invalid parameter `{name}`: expected {expected}, hint: [wecom-standin]"),
    )
}

/// Checks the query parameters of `endpoint` (the credential is checked elsewhere).
pub fn query(
    table: &Table,
    endpoint: &Endpoint,
    pairs: &[(String, String)],
) -> Result<(), Rejection> {
    for field in &endpoint.query {
        let value = pairs.iter().find(|(k, _)| *k == field.name).map(|(_, v)| v);
        match value {
            None if field.required => return Err(missing(&field.name)),
            None => {}
            Some(text) => check_query_value(table, endpoint, field, text)?,
        }
    }
    Ok(())
}

fn check_query_value(
    table: &Table,
    endpoint: &Endpoint,
    field: &FieldSpec,
    text: &str,
) -> Result<(), Rejection> {
    let numeric = match field.type_ref.as_str() {
        "integer" | "flag" => true,
        name => matches!(
            table.type_spec(&endpoint.group, name),
            Some(TypeSpec::IntEnum)
        ),
    };
    if numeric && text.parse::<i64>().is_err() {
        return Err(invalid(&field.name, "an integer"));
    }
    if field.required && text.is_empty() {
        return Err(missing(&field.name));
    }
    Ok(())
}

/// Checks a JSON body against the endpoint's request type; unknown fields go to `unknown`
/// as dotted paths.
pub fn body(
    table: &'static Table,
    endpoint: &Endpoint,
    type_name: &str,
    body: &Value,
    unknown: &mut Vec<String>,
) -> Result<(), Rejection> {
    let checker = Checker {
        table,
        group: &endpoint.group,
    };
    checker.value(type_name, body, "", unknown, 0, true)
}

struct Checker<'a> {
    table: &'static Table,
    group: &'a str,
}

impl Checker<'_> {
    /// Checks `value` against a type reference; `path` names it in messages.
    fn value(
        &self,
        type_ref: &str,
        value: &Value,
        path: &str,
        unknown: &mut Vec<String>,
        depth: usize,
        top: bool,
    ) -> Result<(), Rejection> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let shown = if path.is_empty() { "body" } else { path };
        if let Some(inner) = wrapped(type_ref, "array") {
            let Value::Array(items) = value else {
                return Err(invalid(shown, "an array"));
            };
            for (i, item) in items.iter().enumerate() {
                self.value(
                    inner,
                    item,
                    &format!("{path}[{i}]"),
                    unknown,
                    depth + 1,
                    false,
                )?;
            }
            return Ok(());
        }
        if let Some(inner) = wrapped(type_ref, "map") {
            let Value::Object(entries) = value else {
                return Err(invalid(shown, "an object"));
            };
            for (key, item) in entries {
                self.value(inner, item, &join(path, key), unknown, depth + 1, false)?;
            }
            return Ok(());
        }
        let ok = match type_ref {
            "string" => value.is_string(),
            // Integers also as numeric text, as the OpenAPI export describes them.
            "integer" => is_integer(value),
            "number" => {
                value.is_number() || value.as_str().is_some_and(|s| s.parse::<f64>().is_ok())
            }
            "boolean" => value.is_boolean() || is_integer(value),
            "flag" => value.is_boolean() || is_integer(value),
            "json" => true,
            name => return self.named(name, value, path, unknown, depth, top),
        };
        if ok {
            Ok(())
        } else {
            Err(invalid(shown, type_ref))
        }
    }

    fn named(
        &self,
        name: &str,
        value: &Value,
        path: &str,
        unknown: &mut Vec<String>,
        depth: usize,
        top: bool,
    ) -> Result<(), Rejection> {
        let shown = if path.is_empty() { "body" } else { path };
        match self.table.type_spec(self.group, name) {
            None => Ok(()),
            Some(TypeSpec::IntEnum) if is_integer(value) => Ok(()),
            Some(TypeSpec::IntEnum) => Err(invalid(shown, "an integer")),
            Some(TypeSpec::StringEnum) if value.is_string() => Ok(()),
            Some(TypeSpec::StringEnum) => Err(invalid(shown, "a string")),
            Some(TypeSpec::Object(fields)) => {
                let Value::Object(map) = value else {
                    return Err(if top {
                        Rejection::new(
                            40058,
                            "invalid json: the body must be a JSON object, hint: [wecom-standin]",
                        )
                    } else {
                        invalid(shown, "an object")
                    });
                };
                let mut known: Vec<&str> = Vec::new();
                for field in fields {
                    if let Some(TypeSpec::Union(union)) =
                        self.table.type_spec(self.group, &field.type_ref)
                    {
                        // A union field is flattened into its object: tag and content keys.
                        self.union(union, map, field.required, path, unknown, depth, &mut known)?;
                        continue;
                    }
                    known.push(&field.name);
                    known.extend(field.aliases.iter().map(String::as_str));
                    let name = field.spelled_in(map);
                    let field_path = join(path, name);
                    // One item where a list is documented is checked as that item.
                    let type_ref = match wrapped(&field.type_ref, "array") {
                        Some(inner)
                            if field.one_or_many && !map.get(name).is_some_and(Value::is_array) =>
                        {
                            inner
                        }
                        _ => field.type_ref.as_str(),
                    };
                    match map.get(name) {
                        None | Some(Value::Null) if field.required => {
                            return Err(missing(&join(path, &field.name)));
                        }
                        None | Some(Value::Null) => {}
                        Some(item) => {
                            self.value(type_ref, item, &field_path, unknown, depth + 1, false)?
                        }
                    }
                }
                for key in map.keys() {
                    if !known.contains(&key.as_str()) {
                        unknown.push(join(path, key));
                    }
                }
                Ok(())
            }
            Some(TypeSpec::Union(union)) => {
                let Value::Object(map) = value else {
                    return Err(invalid(shown, "an object"));
                };
                let mut known = Vec::new();
                self.union(union, map, true, path, unknown, depth, &mut known)?;
                for key in map.keys() {
                    if !known.contains(&key.as_str()) {
                        unknown.push(join(path, key));
                    }
                }
                Ok(())
            }
        }
    }

    /// Checks a union's tag and the content of the variant it names; `known` gains the keys
    /// the union accounts for.
    #[allow(clippy::too_many_arguments)]
    fn union<'u>(
        &self,
        union: &'u crate::table::UnionSpec,
        map: &serde_json::Map<String, Value>,
        required: bool,
        path: &str,
        unknown: &mut Vec<String>,
        depth: usize,
        known: &mut Vec<&'u str>,
    ) -> Result<(), Rejection> {
        known.push(&union.tag);
        let tag_path = join(path, &union.tag);
        let Some(tag) = map.get(&union.tag) else {
            if required {
                return Err(missing(&tag_path));
            }
            return Ok(());
        };
        let same = |v: &Value| {
            v == tag
                || v.as_i64()
                    .is_some_and(|i| tag.as_str() == Some(&i.to_string()))
        };
        let Some(variant) = union.variants.iter().find(|v| same(&v.tag)) else {
            // Open unions: a kind the spec does not list is passed through, as WeCom adds kinds.
            return Ok(());
        };
        let Some(content_type) = variant.type_name.as_deref() else {
            return Ok(());
        };
        if union.inline {
            let mut inner_unknown = Vec::new();
            self.named(
                content_type,
                &Value::Object(map.clone()),
                path,
                &mut inner_unknown,
                depth + 1,
                false,
            )?;
            if let Some(TypeSpec::Object(fields)) = self.table.type_spec(self.group, content_type) {
                known.extend(fields.iter().map(|f| f.name.as_str()));
            }
            return Ok(());
        }
        let Some(key) = variant.key.as_deref() else {
            return Ok(());
        };
        for other in &union.variants {
            if let Some(k) = other.key.as_deref() {
                known.push(k);
            }
        }
        let key_path = join(path, key);
        match map.get(key) {
            None => Err(missing(&key_path)),
            Some(content) => {
                self.value(content_type, content, &key_path, unknown, depth + 1, false)
            }
        }
    }
}

fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64() || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok())
}

fn wrapped<'t>(type_ref: &'t str, wrapper: &str) -> Option<&'t str> {
    type_ref
        .strip_prefix(wrapper)?
        .strip_prefix('<')?
        .strip_suffix('>')
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
