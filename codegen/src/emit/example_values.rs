//! Rust expressions for documented example values, written the way a person would: struct
//! literals, enum variants, `vec![..]`, union variants. Used by the rustdoc examples, which
//! are compiled as doctests, so every expression printed here is checked by `cargo test`.

use serde_json::Value;

use crate::model::{TypeDef, UnionTag};
use crate::resolve::{FieldShape, ResolvedGroup};
use crate::typeref::TypeRef;

/// Put before every type name printed; the caller strips it and, when present, imports the
/// group's types once (`use wecom_api::message::*;`).
pub const TYPE_MARK: &str = "\u{1}";

/// Deeper values are cut off (`Default::default()` or `None`): an example shows the shape.
const MAX_DEPTH: usize = 5;
/// Arrays show at most this many items.
const MAX_ITEMS: usize = 2;

pub struct Printer<'g, 'a> {
    group: &'g ResolvedGroup<'a>,
}

impl<'g, 'a> Printer<'g, 'a> {
    pub fn new(group: &'g ResolvedGroup<'a>) -> Self {
        Printer { group }
    }

    /// A type's name, marked so the caller knows to import the group (see [`TYPE_MARK`]).
    fn path(&self, name: &str) -> String {
        format!("{TYPE_MARK}{name}")
    }

    /// An expression of exactly the field's Rust type for `value`, or `None` when the value
    /// does not fit the type (the validator refuses such examples, so only cut-offs land here).
    pub fn exact(&self, type_ref: &TypeRef, value: &Value, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        let pad = "    ".repeat(depth + 1);
        let close = "    ".repeat(depth);
        Some(match type_ref {
            TypeRef::String => match value {
                Value::String(s) => format!("{s:?}.into()"),
                Value::Number(_) | Value::Bool(_) => format!("{:?}.into()", value.to_string()),
                _ => return None,
            },
            TypeRef::Integer => integer(value)?.to_string(),
            TypeRef::Number => match value {
                Value::Number(n) => format!("{:?}", n.as_f64()?),
                Value::String(s) => format!("{:?}", s.trim().parse::<f64>().ok()?),
                _ => return None,
            },
            TypeRef::Boolean | TypeRef::Flag => boolean(value)?.to_string(),
            TypeRef::Json => format!("serde_json::json!({value})"),
            TypeRef::Array(inner) => {
                let items = value.as_array()?;
                let items: Vec<String> = items
                    .iter()
                    .take(MAX_ITEMS)
                    .map(|item| self.exact(inner, item, depth + 1))
                    .collect::<Option<_>>()?;
                if items.iter().any(|i| i.contains('\n')) {
                    format!("vec![\n{pad}{}\n{close}]", items.join(&format!(",\n{pad}")))
                } else {
                    format!("vec![{}]", items.join(", "))
                }
            }
            TypeRef::Map(inner) => {
                let map = value.as_object()?;
                let entries: Vec<String> = map
                    .iter()
                    .take(MAX_ITEMS)
                    .map(|(k, v)| {
                        Some(format!(
                            "({k:?}.to_string(), {})",
                            self.exact(inner, v, depth + 1)?
                        ))
                    })
                    .collect::<Option<_>>()?;
                format!("std::collections::BTreeMap::from([{}])", entries.join(", "))
            }
            TypeRef::Named(name) => self.named(name, value, depth)?,
        })
    }

    fn named(&self, name: &str, value: &Value, depth: usize) -> Option<String> {
        let path = self.path(name);
        let resolved = self.group.types.get(name)?;
        match resolved.def {
            TypeDef::IntEnum { values, .. } => {
                let n = integer(value)?;
                Some(match values.iter().find(|v| v.value == n) {
                    Some(v) => format!("{path}::{}", v.name),
                    None => format!("{path}::from({n})"),
                })
            }
            TypeDef::StringEnum { values, .. } => {
                let text = value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| value.to_string());
                Some(match values.iter().find(|v| v.value == text) {
                    Some(v) => format!("{path}::{}", v.name),
                    None => format!("{path}::from({text:?})"),
                })
            }
            TypeDef::Object { .. } => {
                let map = value.as_object()?;
                let pad = "    ".repeat(depth + 1);
                let close = "    ".repeat(depth);
                let mut lines = Vec::new();
                let mut unset = false;
                for field in &resolved.fields {
                    let rust = &field.rust_name;
                    let type_ref = &field.type_ref;
                    // A flattened union reads its tag and content from this same object.
                    let field_value = if field.union_tag.is_some() {
                        Some(std::borrow::Cow::Borrowed(value))
                    } else {
                        field.read_from(map)
                    };
                    let expr = field_value
                        .as_deref()
                        .filter(|v| !v.is_null() && field.client_default.is_none())
                        .and_then(|v| match field.union_tag {
                            Some(tag) if v.get(tag).is_none() => None,
                            _ => self.exact(type_ref, v, depth + 1),
                        });
                    match (expr, field.shape) {
                        (Some(expr), FieldShape::Optional) => {
                            lines.push(format!("{rust}: Some({expr})"));
                        }
                        (Some(expr), _) => lines.push(format!("{rust}: {expr}")),
                        (None, FieldShape::Plain) => {
                            lines.push(format!("{rust}: {}", self.placeholder(type_ref)?));
                        }
                        (None, _) => unset = true,
                    }
                }
                if unset {
                    if !resolved.derives_default {
                        // List every unset field: the struct has no Default.
                        for field in &resolved.fields {
                            let rust = &field.rust_name;
                            if lines.iter().any(|l| l.starts_with(&format!("{rust}: "))) {
                                continue;
                            }
                            let init = match field.shape {
                                FieldShape::Optional => "None",
                                _ => "Default::default()",
                            };
                            lines.push(format!("{rust}: {init}"));
                        }
                    } else {
                        lines.push("..Default::default()".to_string());
                    }
                }
                if lines.is_empty() {
                    return Some(format!("{path} {{}}"));
                }
                Some(format!(
                    "{path} {{\n{pad}{}\n{close}}}",
                    lines.join(&format!(",\n{pad}"))
                ))
            }
            TypeDef::Union { tag, inline, .. } => {
                let map = value.as_object()?;
                let found = map.get(tag)?;
                let variant = resolved
                    .variants
                    .iter()
                    .find(|v| tag_matches(&v.variant.tag, found))?;
                let variant_ident = variant.name.as_deref()?;
                match &variant.variant.type_name {
                    None => Some(format!("{path}::{variant_ident}")),
                    Some(content) => {
                        let content_value = if *inline {
                            let mut rest = map.clone();
                            rest.remove(tag);
                            Value::Object(rest)
                        } else {
                            map.get(variant.key?)?.clone()
                        };
                        let content = TypeRef::Named(content.clone());
                        let inner = self.exact(&content, &content_value, depth)?;
                        Some(format!("{path}::{variant_ident}({inner})"))
                    }
                }
            }
        }
    }

    /// A value for a required field the example leaves out.
    fn placeholder(&self, type_ref: &TypeRef) -> Option<String> {
        Some(match type_ref {
            TypeRef::String => "String::new()".into(),
            TypeRef::Integer => "0".into(),
            TypeRef::Number => "0.0".into(),
            TypeRef::Boolean | TypeRef::Flag => "false".into(),
            TypeRef::Named(name) => match self.group.def(name)? {
                TypeDef::IntEnum { values, .. } => {
                    format!("{}::{}", self.path(name), values.first()?.name)
                }
                TypeDef::StringEnum { values, .. } => {
                    format!("{}::{}", self.path(name), values.first()?.name)
                }
                _ if self.group.derives_default(name) => "Default::default()".into(),
                _ => return None,
            },
            _ => "Default::default()".into(),
        })
    }
}

fn tag_matches(tag: &UnionTag, value: &Value) -> bool {
    match tag {
        UnionTag::Str(s) => value.as_str() == Some(s.as_str()),
        UnionTag::Int(n) => integer(value) == Some(*n),
    }
}

pub fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(_) | Value::String(_) => match integer(value) {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => match value.as_str() {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            },
        },
        _ => None,
    }
}
