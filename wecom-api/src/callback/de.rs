//! Tolerant decoding for the generated callback types: lists that may be one element, items
//! wrapped in a child element, empty elements for absent objects, and dispatch tags.

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Fields;
use crate::{Error, Result};

/// An element of a list: scalars are as lenient as single fields (`"5"` is an integer);
/// generated element types use serde (`impl ListItem for T {}`).
pub trait ListItem: DeserializeOwned {
    /// Converts one decoded element.
    fn from_value(value: Value) -> Result<Self, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

fn with<T>(
    value: Value,
    f: impl FnOnce(Value) -> Result<T, serde_json::Error>,
) -> Result<T, String> {
    f(value).map_err(|e| e.to_string())
}

impl ListItem for String {
    fn from_value(value: Value) -> Result<Self, String> {
        with(value, crate::de::string)
    }
}

impl ListItem for i64 {
    fn from_value(value: Value) -> Result<Self, String> {
        with(value, crate::de::int)
    }
}

impl ListItem for f64 {
    fn from_value(value: Value) -> Result<Self, String> {
        with(value, crate::de::float)
    }
}

impl ListItem for bool {
    fn from_value(value: Value) -> Result<Self, String> {
        with(value, crate::de::boolean)
    }
}

impl ListItem for Value {
    fn from_value(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn items<T: ListItem, E: serde::de::Error>(value: Value) -> Result<Option<Vec<T>>, E> {
    let values = match value {
        v if is_blank(&v) => return Ok(None),
        Value::Array(values) => values,
        single => vec![single],
    };
    values
        .into_iter()
        .map(|v| T::from_value(v).map_err(E::custom))
        .collect::<Result<Vec<T>, E>>()
        .map(Some)
}

/// A list: a JSON array, a repeated XML element, or a lone element (a list of one).
pub fn opt_list<'de, D: Deserializer<'de>, T: ListItem>(d: D) -> Result<Option<Vec<T>>, D::Error> {
    items(Value::deserialize(d)?)
}

/// A list whose items sit in child elements named `item`
/// (`<Items><Item>..</Item><Item>..</Item></Items>`), or a plain JSON array.
pub fn wrapped_list<'de, D: Deserializer<'de>, T: ListItem>(
    d: D,
    item: &str,
) -> Result<Option<Vec<T>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Object(mut map) => match map.remove(item) {
            Some(inner) => items(inner),
            None if map.is_empty() => Ok(None),
            None => Err(D::Error::custom(format!("expected `{item}` elements"))),
        },
        other => items(other),
    }
}

/// Writes a wrapped list back in its wire shape: `{"<item>": [...]}`.
pub fn serialize_wrapped<S: Serializer, T: Serialize>(
    value: &Option<Vec<T>>,
    s: S,
    item: &str,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(item, value)?;
    map.end()
}

/// A nested element; an empty one (`<ScanCodeInfo></ScanCodeInfo>`) is `None`.
pub fn opt_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    if is_blank(&value) {
        return Ok(None);
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(D::Error::custom)
}

/// The trimmed text of a dispatch element (`MsgType`, `Event`, ...).
pub fn tag(fields: &Fields, name: &str) -> Option<String> {
    fields.text(name).map(|t| t.trim().to_string())
}

/// Decodes a known variant, naming the element that does not fit.
pub fn typed<T: DeserializeOwned>(fields: Fields, kind: &'static str) -> Result<T> {
    serde_path_to_error::deserialize(Value::Object(fields.0)).map_err(|e| {
        let path = e.path().to_string();
        let message = crate::redact::scrub_message(&path, &e.inner().to_string());
        Error::Decode {
            endpoint: format!("callback {kind}").into(),
            path,
            message,
            excerpt: "(not shown)".to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Holder {
        #[serde(default, deserialize_with = "opt_list")]
        ids: Option<Vec<i64>>,
        #[serde(default, deserialize_with = "items_of_item")]
        wrapped: Option<Vec<String>>,
    }

    fn items_of_item<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        wrapped_list(d, "Item")
    }

    fn holder(value: Value) -> Result<Holder, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn lists_take_every_shape() {
        let h = holder(json!({"ids": "5", "wrapped": {"Item": "a"}})).unwrap();
        assert_eq!(h.ids, Some(vec![5]));
        assert_eq!(h.wrapped, Some(vec!["a".to_string()]));
        let h = holder(json!({"ids": ["5", 6], "wrapped": {"Item": ["a", 1]}})).unwrap();
        assert_eq!(h.ids, Some(vec![5, 6]));
        assert_eq!(h.wrapped, Some(vec!["a".to_string(), "1".to_string()]));
        let h = holder(json!({"ids": "", "wrapped": ""})).unwrap();
        assert_eq!((h.ids, h.wrapped), (None, None));
        let h = holder(json!({"wrapped": ["x"]})).unwrap();
        assert_eq!(h.wrapped, Some(vec!["x".to_string()]));
        assert!(holder(json!({"ids": "x"})).is_err());
        assert!(holder(json!({"wrapped": {"Other": "x"}})).is_err());
    }

    #[test]
    fn typed_errors_name_the_element() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct T {
            #[serde(rename = "Scale", default, deserialize_with = "crate::de::opt_int")]
            scale: Option<i64>,
        }
        let fields: Fields = serde_json::from_value(json!({"Scale": "big"})).unwrap();
        let err = typed::<T>(fields, "message.location").unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("message.location") && shown.contains("Scale"),
            "{shown}"
        );
    }
}
