//! Decoding generated types from parsed JSON.
//!
//! A response is parsed once into a `serde_json::Value` (one parser instantiation for the
//! whole crate); each generated type then takes its fields out of the object with the
//! plain, non-generic functions below. `#[derive(Deserialize)]` instead compiled a map
//! visitor, a sequence visitor and a wrapper type per lenient field, for every one of the
//! ~2,300 types and for every deserializer: most of the crate's build time went there.
//! Errors carry the field path (`list[1].n`) as they come back up.

// Generated code calls most of these; with every feature group off, little does.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{DecodeError, exact_int};

/// A type read out of a parsed JSON value, as leniently as WeCom writes it.
pub(crate) trait Decode: Sized {
    /// Whether a blank string (`""`) reads as absent for an optional field of this type
    /// (`"errcode": ""`): true for numbers and booleans, false for text.
    const BLANK_IS_ABSENT: bool = false;

    fn decode(value: Value) -> Result<Self, DecodeError>;
}

impl DecodeError {
    /// An error at the value being decoded (its path is filled in on the way up).
    pub(crate) fn here(message: impl Into<String>) -> Self {
        DecodeError {
            path: String::new(),
            message: message.into(),
        }
    }

    /// This error, seen from one level up: `segment` is a field name or `[index]`.
    pub(crate) fn under(mut self, segment: &str) -> Self {
        self.path = match self.path.as_str() {
            "" | "." => segment.to_owned(),
            inner if inner.starts_with('[') => format!("{segment}{inner}"),
            inner => format!("{segment}.{inner}"),
        };
        self
    }

    /// The path as the rest of the crate shows it: `.` for the whole body.
    pub(crate) fn rooted(mut self) -> Self {
        if self.path.is_empty() {
            self.path = ".".to_owned();
        }
        self
    }
}

/// The serde error for a `Deserialize` implementation built on [`Decode`].
impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path.as_str() {
            "" | "." => f.write_str(&self.message),
            path => write!(f, "{path}: {}", self.message),
        }
    }
}

/// `Deserialize` for a generated type: read any self-describing input into a value, then
/// decode it. Generic over the deserializer only through `Value`'s own implementation.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Decode,
{
    let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
    T::decode(value).map_err(serde::de::Error::custom)
}

/// What a value is, for error messages (`expected a string, found an object`).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(what: &str, found: &Value) -> DecodeError {
    let shown = match found {
        Value::String(s) if s.chars().count() <= 32 => format!("the string {s:?}"),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        other => kind(other).to_owned(),
    };
    DecodeError::here(format!("expected {what}, found {shown}"))
}

fn is_blank(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.trim().is_empty())
}

// ---------------------------------------------------------------- scalars

impl Decode for i64 {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Value) -> Result<Self, DecodeError> {
        const WHAT: &str = "an integer or a string holding one";
        let parsed = match &value {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(exact_int)),
            Value::String(s) => {
                let t = s.trim();
                t.parse::<i64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().and_then(exact_int))
            }
            _ => None,
        };
        parsed.ok_or_else(|| expected(WHAT, &value))
    }
}

impl Decode for f64 {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Value) -> Result<Self, DecodeError> {
        let parsed = match &value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| expected("a number or a string holding one", &value))
    }
}

impl Decode for bool {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Value) -> Result<Self, DecodeError> {
        let parsed = match &value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Value::String(s) => match s.trim() {
                "1" => Some(true),
                "0" => Some(false),
                t if t.eq_ignore_ascii_case("true") => Some(true),
                t if t.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed.ok_or_else(|| expected("a boolean, 0/1, or \"true\"/\"false\"/\"0\"/\"1\"", &value))
    }
}

impl Decode for String {
    fn decode(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::String(s) => Ok(s),
            // Ids documented as strings arrive as numbers now and then.
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(expected("a string or a number", &other)),
        }
    }
}

impl Decode for crate::Secret {
    fn decode(value: Value) -> Result<Self, DecodeError> {
        String::decode(value).map(crate::Secret::from)
    }
}

impl Decode for Value {
    fn decode(value: Value) -> Result<Self, DecodeError> {
        Ok(value)
    }
}

// ---------------------------------------------------------------- containers

/// The value of an optional field, or `None` when it reads as absent. Not generic, so
/// the `Option` logic is compiled once.
pub(crate) fn present(value: Value, blank_is_absent: bool) -> Option<Value> {
    match value {
        Value::Null => None,
        v if blank_is_absent && is_blank(&v) => None,
        v => Some(v),
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(value: Value) -> Result<Self, DecodeError> {
        match present(value, T::BLANK_IS_ABSENT) {
            None => Ok(None),
            Some(v) => T::decode(v).map(Some),
        }
    }
}

/// The elements of a list, or why it is not one; `null` is an empty list.
fn elements(value: Value) -> Result<Vec<Value>, DecodeError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        other => Err(expected("an array", &other)),
    }
}

/// A list; `null` is an empty list.
impl<T: Decode> Decode for Vec<T> {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Value) -> Result<Self, DecodeError> {
        let items = elements(value)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match T::decode(item) {
                Ok(v) => out.push(v),
                Err(e) => return Err(e.under(&format!("[{i}]"))),
            }
        }
        Ok(out)
    }
}

/// A map with string keys; `null` is an empty map.
impl<T: Decode> Decode for BTreeMap<String, T> {
    fn decode(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Object(entries) => entries
                .into_iter()
                .map(|(k, v)| match T::decode(v) {
                    Ok(v) => Ok((k, v)),
                    Err(e) => Err(e.under(&k)),
                })
                .collect(),
            Value::Null => Ok(BTreeMap::new()),
            other => Err(expected("an object", &other)),
        }
    }
}

// ---------------------------------------------------------------- objects

/// The members of a JSON object, taken out one field at a time by a generated `decode`.
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    /// The members of `value`, which must be an object.
    pub(crate) fn of(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Object(map) => Ok(Fields(map)),
            other => Err(expected("an object", &other)),
        }
    }

    /// A field the type requires: absent is an error.
    pub(crate) fn required<T: Decode>(&mut self, name: &str) -> Result<T, DecodeError> {
        let value = self.take_required(name)?;
        T::decode(value).map_err(|e| e.under(name))
    }

    /// An optional field: absent and `null` are `None` (and `""` for numbers and booleans).
    pub(crate) fn optional<T: Decode>(&mut self, name: &str) -> Result<Option<T>, DecodeError> {
        match self.take_present(name, T::BLANK_IS_ABSENT) {
            None => Ok(None),
            Some(value) => match T::decode(value) {
                Ok(v) => Ok(Some(v)),
                Err(e) => Err(e.under(name)),
            },
        }
    }

    /// A list or map field: absent and `null` are empty.
    pub(crate) fn or_empty<T: Decode + Default>(&mut self, name: &str) -> Result<T, DecodeError> {
        match self.take_present(name, false) {
            None => Ok(T::default()),
            Some(value) => T::decode(value).map_err(|e| e.under(name)),
        }
    }

    /// A member as it is, taken out (for readers with their own rules, like callbacks').
    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    fn take_required(&mut self, name: &str) -> Result<Value, DecodeError> {
        self.0
            .remove(name)
            .ok_or_else(|| DecodeError::here(format!("missing field `{name}`")))
    }

    fn take_present(&mut self, name: &str, blank_is_absent: bool) -> Option<Value> {
        present(self.0.remove(name)?, blank_is_absent)
    }

    /// A union flattened into this object: it reads every member not taken yet. Call it
    /// after the named fields.
    pub(crate) fn flattened<T: Decode>(&self) -> Result<T, DecodeError> {
        T::decode(Value::Object(self.0.clone()))
    }

    /// An optional flattened union: `None` when its tag field is absent.
    pub(crate) fn flattened_optional<T: Decode>(
        &self,
        tag: &str,
    ) -> Result<Option<T>, DecodeError> {
        if self.0.get(tag).is_none_or(Value::is_null) {
            return Ok(None);
        }
        self.flattened().map(Some)
    }

    /// The members as they are (a union's unknown variant keeps every field).
    pub(crate) fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

/// Decodes a whole JSON body into a generated type; an error names the field path.
#[cfg(test)]
pub(crate) fn decode_body<T: Decode>(body: &[u8]) -> Result<T, DecodeError> {
    T::decode(parse(body)?).map_err(DecodeError::rooted)
}

/// Parses a body; a syntax error names the path where it is.
pub(crate) fn parse(body: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(body).map_err(|e| DecodeError::at(body, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn int(v: Value) -> Result<i64, DecodeError> {
        i64::decode(v)
    }

    #[test]
    fn scalars_are_as_lenient_as_wecom_is_loose() {
        assert_eq!(int(json!(1)).unwrap(), 1);
        assert_eq!(int(json!("1")).unwrap(), 1);
        assert_eq!(int(json!(" -40014 ")).unwrap(), -40014);
        assert_eq!(int(json!(1.0)).unwrap(), 1);
        assert_eq!(int(json!("2.0")).unwrap(), 2);
        assert!(int(json!(1.5)).is_err());
        assert!(int(json!("x")).is_err());
        assert!(int(json!(18446744073709551615u64)).is_err());
        assert!(int(json!(null)).is_err());
        assert!(int(json!(true)).is_err());
        assert_eq!(f64::decode(json!("1.5")).unwrap(), 1.5);
        assert!(bool::decode(json!(true)).unwrap());
        assert!(!bool::decode(json!(0)).unwrap());
        assert!(bool::decode(json!("1")).unwrap());
        assert!(!bool::decode(json!("false")).unwrap());
        assert!(bool::decode(json!(2)).is_err());
        assert!(bool::decode(json!("yes")).is_err());
        assert_eq!(String::decode(json!(123)).unwrap(), "123");
        assert_eq!(String::decode(json!("abc")).unwrap(), "abc");
        assert_eq!(String::decode(json!(1.5)).unwrap(), "1.5");
        assert!(String::decode(json!(null)).is_err());
    }

    #[test]
    fn optionals_treat_blank_numbers_as_absent_but_keep_empty_text() {
        assert_eq!(Option::<i64>::decode(json!("")).unwrap(), None);
        assert_eq!(Option::<bool>::decode(json!(" ")).unwrap(), None);
        assert_eq!(Option::<f64>::decode(json!(null)).unwrap(), None);
        assert_eq!(Option::<Vec<i64>>::decode(json!("")).unwrap(), None);
        assert_eq!(
            Option::<String>::decode(json!("")).unwrap().as_deref(),
            Some("")
        );
        assert_eq!(
            Option::<String>::decode(json!(5)).unwrap().as_deref(),
            Some("5")
        );
        assert!(Option::<i64>::decode(json!("abc")).is_err());
    }

    #[test]
    fn errors_name_the_path_down_to_the_value() {
        let mut fields = Fields::of(json!({"list": [{"n": 1}, {"n": "x"}]})).unwrap();
        let e = fields
            .required::<Vec<BTreeMap<String, i64>>>("list")
            .unwrap_err();
        assert_eq!(e.path, "list[1].n");
        assert_eq!(
            e.message,
            "expected an integer or a string holding one, found the string \"x\""
        );
        assert_eq!(e.to_string(), format!("list[1].n: {}", e.message));

        let mut fields = Fields::of(json!({})).unwrap();
        let e = fields.required::<String>("jobid").unwrap_err().rooted();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            (".", "missing field `jobid`")
        );
        assert_eq!(fields.optional::<String>("jobid").unwrap(), None);
        assert!(fields.or_empty::<Vec<String>>("ids").unwrap().is_empty());

        let e = Fields::of(json!([1])).err().unwrap();
        assert_eq!(e.message, "expected an object, found an array");
    }

    #[test]
    fn a_flattened_union_sees_the_members_left() {
        let mut fields =
            Fields::of(json!({"msgtype": "text", "text": {"content": "hi"}, "id": 3})).unwrap();
        assert_eq!(fields.required::<i64>("id").unwrap(), 3);
        let rest: Value = fields.flattened().unwrap();
        assert_eq!(rest, json!({"msgtype": "text", "text": {"content": "hi"}}));
        assert_eq!(
            fields.flattened_optional::<Value>("card_type").unwrap(),
            None
        );
    }

    #[test]
    fn bodies_report_syntax_errors_by_position_and_type_errors_by_field() {
        let e = decode_body::<BTreeMap<String, Vec<i64>>>(br#"{"a":[1,"x"]}"#).unwrap_err();
        assert_eq!(e.path, "a[1]");
        // The syntax error is at the `}` that closes the array too early.
        let e = decode_body::<Value>(br#"{"a":[1,}"#).unwrap_err();
        assert_eq!(e.path, "a");
        let e = decode_body::<i64>(br#""x""#).unwrap_err();
        assert_eq!(e.path, ".");
    }
}
