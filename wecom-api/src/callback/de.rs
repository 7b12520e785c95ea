//! Tolerant decoding for the generated callback types: lists that may be one element, items
//! wrapped in a child element, empty elements for absent objects, and dispatch tags.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::Fields;
use crate::de::{Decode, DecodeError, Node, present};
use crate::{Error, Result};

/// The elements of a list that may be an array, a repeated element or a lone element; an
/// empty element (`null` or blank text) is `None`.
fn items<T: Decode>(value: Node<'_>) -> Result<Option<Vec<T>>, DecodeError> {
    match present(value, true) {
        None => Ok(None),
        Some(list) if list.is_array() => <Vec<T> as Decode>::decode(list).map(Some),
        Some(single) => match T::decode(single) {
            Ok(item) => Ok(Some(vec![item])),
            Err(e) => Err(e.under("[0]")),
        },
    }
}

/// A list element `name`: a JSON array, a repeated XML element, or a lone element (a list
/// of one); empty is `None`.
pub(crate) fn list<T: Decode>(
    fields: &mut crate::de::Fields<'_>,
    name: &str,
) -> Result<Option<Vec<T>>, DecodeError> {
    match fields.take(name) {
        Some(value) => items(value).map_err(|e| e.under(name)),
        None => Ok(None),
    }
}

/// A list element `name` whose items sit in child elements named `item`
/// (`<Items><Item>..</Item><Item>..</Item></Items>`), or a plain JSON array.
pub(crate) fn wrapped_list<T: Decode>(
    fields: &mut crate::de::Fields<'_>,
    name: &str,
    item: &str,
) -> Result<Option<Vec<T>>, DecodeError> {
    let Some(value) = fields.take(name) else {
        return Ok(None);
    };
    let read = match crate::de::Fields::of(value) {
        Ok(mut wrapper) => match wrapper.take(item) {
            Some(inner) => items(inner).map_err(|e| e.under(item)),
            None if wrapper.is_empty() => Ok(None),
            None => Err(DecodeError::here(format!("expected `{item}` elements"))),
        },
        Err(_) => items(value),
    };
    read.map_err(|e| e.under(name))
}

/// A nested element `name`; an empty one (`<ScanCodeInfo></ScanCodeInfo>`) is `None`.
pub(crate) fn object<T: Decode>(
    fields: &mut crate::de::Fields<'_>,
    name: &str,
) -> Result<Option<T>, DecodeError> {
    match fields.take(name).and_then(|value| present(value, true)) {
        Some(value) => T::decode(value).map(Some).map_err(|e| e.under(name)),
        None => Ok(None),
    }
}

/// Writes a wrapped list back in its wire shape: `{"<item>": [...]}`.
pub(crate) fn serialize_wrapped<S: Serializer, T: Serialize>(
    value: &Option<Vec<T>>,
    s: S,
    item: &str,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(item, value)?;
    map.end()
}

/// The trimmed text of a dispatch element (`MsgType`, `Event`, ...).
pub(crate) fn tag(fields: &Fields, name: &str) -> Option<String> {
    fields.text(name).map(|t| t.trim().to_string())
}

/// Decodes a known variant, naming the element that does not fit.
pub(crate) fn typed<T: Decode>(fields: Fields, kind: &'static str) -> Result<T> {
    crate::de::decode_value::<T>(&Value::Object(fields.0)).map_err(|e| {
        let e = e.rooted();
        let message = crate::redact::scrub_message(&e.path, &e.message);
        Error::Decode {
            endpoint: format!("callback {kind}").into(),
            path: e.path,
            message,
            excerpt: "(not shown)".to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq)]
    struct Holder {
        ids: Option<Vec<i64>>,
        wrapped: Option<Vec<String>>,
    }

    impl Decode for Holder {
        fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
            let mut fields = crate::de::Fields::of(value)?;
            Ok(Holder {
                ids: list(&mut fields, "ids")?,
                wrapped: wrapped_list(&mut fields, "wrapped", "Item")?,
            })
        }
    }

    fn holder(value: Value) -> Result<Holder, DecodeError> {
        crate::de::decode_value(&value)
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
        let e = holder(json!({"ids": "x"})).unwrap_err();
        assert_eq!(e.path, "ids[0]");
        let e = holder(json!({"wrapped": {"Other": "x"}})).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("wrapped", "expected `Item` elements")
        );
    }

    #[test]
    fn typed_errors_name_the_element() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct T {
            scale: Option<i64>,
        }
        impl Decode for T {
            fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
                let mut fields = crate::de::Fields::of(value)?;
                Ok(T {
                    scale: fields.optional("Scale")?,
                })
            }
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
