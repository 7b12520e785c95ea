//! Helpers for generated tagged unions: `{"type": 1, "web": {...}}`, where a tag field
//! says which sibling key holds the content (WeCom's `msgtype` pattern).
//!
//! Generated types flatten the union into the object holding it, so these work on the
//! object's whole field map.

// Only generated code calls these; with every feature group off nothing does.
#![allow(dead_code)]

use crate::de::{Decode, DecodeError, Fields, Node};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Value of the tag field for one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// A number (`"type": 1`); a numeric string also matches when reading.
    Int(i64),
    /// A string (`"msgtype": "text"`).
    Str(&'static str),
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tag::Int(n) => s.serialize_i64(*n),
            Tag::Str(v) => s.serialize_str(v),
        }
    }
}

/// Writes `{tag_field: tag, key: content}` (as map entries, so it also works flattened).
pub(crate) fn serialize<S, T>(
    s: S,
    tag_field: &'static str,
    tag: Tag,
    key: &'static str,
    content: &T,
) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize + ?Sized,
{
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry(tag_field, &tag)?;
    map.serialize_entry(key, content)?;
    map.end()
}

/// Whether the tag field of `fields` holds `tag`.
pub(crate) fn matches(fields: &Fields<'_>, tag_field: &str, tag: Tag) -> bool {
    let Some(value) = fields.get(tag_field) else {
        return false;
    };
    match tag {
        Tag::Int(want) => match (value.number_text(), value.as_str()) {
            (Some(n), _) => crate::de::integer(n) == Some(want),
            (_, Some(s)) => s.trim().parse::<i64>() == Ok(want),
            _ => false,
        },
        Tag::Str(want) => value.as_str() == Some(want),
    }
}

/// Decodes the content under `key`; a missing key reads as an empty object, so content
/// types whose fields are all optional still decode.
pub(crate) fn content<T: Decode>(fields: &Fields<'_>, key: &str) -> Result<T, DecodeError> {
    match fields.get(key) {
        Some(value) => T::decode(value).map_err(|e| e.under(key)),
        None => T::decode(Node::empty_object()),
    }
}

/// Decodes an inline variant, whose fields sit beside the tag; `context` names the variant
/// in an error.
pub(crate) fn inline_content<T: Decode>(
    fields: &Fields<'_>,
    context: &str,
) -> Result<T, DecodeError> {
    T::decode(fields.whole()).map_err(|mut e| {
        e.message = format!("{context}: {}", e.message);
        e
    })
}

/// Writes a variant without content: the tag alone.
pub(crate) fn serialize_tag<S: serde::Serializer>(
    serializer: S,
    tag_key: &str,
    tag: Tag,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    match tag {
        Tag::Int(n) => map.serialize_entry(tag_key, &n)?,
        Tag::Str(s) => map.serialize_entry(tag_key, s)?,
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    #[derive(Debug, PartialEq, Serialize)]
    struct Web {
        url: String,
    }

    impl Decode for Web {
        fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
            let mut fields = Fields::of(value)?;
            Ok(Web {
                url: fields.required("url")?,
            })
        }
    }

    #[derive(Debug, PartialEq)]
    enum Attr {
        Web(Web),
        Unknown(Map<String, Value>),
    }

    impl Serialize for Attr {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Attr::Web(c) => serialize(s, "type", Tag::Int(1), "web", c),
                Attr::Unknown(f) => f.serialize(s),
            }
        }
    }

    impl Decode for Attr {
        fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
            let fields = Fields::of(value)?;
            if matches(&fields, "type", Tag::Int(1)) {
                return content(&fields, "web").map(Attr::Web);
            }
            Ok(Attr::Unknown(fields.into_map()))
        }
    }

    #[derive(Debug, PartialEq, Serialize)]
    struct Holder {
        name: String,
        #[serde(flatten)]
        attr: Attr,
    }

    impl Decode for Holder {
        fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
            let mut fields = Fields::of(value)?;
            Ok(Holder {
                name: fields.required("name")?,
                attr: fields.flattened()?,
            })
        }
    }

    fn holder(json: &str) -> Result<Holder, DecodeError> {
        crate::de::decode_body(json.as_bytes())
    }

    #[test]
    fn round_trip_flattened() {
        let json = r#"{"name":"n","type":1,"web":{"url":"https://x"}}"#;
        let h = holder(json).unwrap();
        assert_eq!(
            h.attr,
            Attr::Web(Web {
                url: "https://x".into()
            })
        );
        assert_eq!(serde_json::to_string(&h).unwrap(), json);
        let h = holder(r#"{"name":"n","type":"1","web":{"url":"u"}}"#).unwrap();
        assert!(matches!(h.attr, Attr::Web(_)));
        let h = holder(r#"{"name":"n","type":9,"x":1}"#).unwrap();
        // The unknown variant keeps what the holder did not read, as sent.
        let rest: Map<String, Value> = serde_json::from_str(r#"{"type":9,"x":1}"#).unwrap();
        assert_eq!(h.attr, Attr::Unknown(rest));
        let h = holder(r#"{"name":"n","type":1.0,"web":{"url":"u"}}"#).unwrap();
        assert!(matches!(h.attr, Attr::Web(_)));
        let e = holder(r#"{"name":"n","type":1,"web":{"url":[5]}}"#).unwrap_err();
        assert_eq!(e.path, "web.url");
        let e = holder(r#"{"name":"n","type":1}"#).unwrap_err();
        assert_eq!(e.message, "missing field `url`");
        struct IsText(bool);
        impl Decode for IsText {
            fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
                Ok(IsText(matches(
                    &Fields::of(value)?,
                    "msgtype",
                    Tag::Str("text"),
                )))
            }
        }
        let is_text = |json| crate::de::decode_body::<IsText>(json).unwrap().0;
        assert!(is_text(br#"{"msgtype":"text"}"#));
        assert!(!is_text(br#"{"msgtype":"texts"}"#));
        assert!(!is_text(br#"{"type":"text"}"#));
    }
}
