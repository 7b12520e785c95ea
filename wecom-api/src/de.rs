//! Lenient deserializers for the loose typing of WeCom responses.
//!
//! WeCom sends the same field as a number in one place and a string in another
//! (`"errcode": "0"`, `"created_at": "1380000000"`), booleans as `0`/`1`, and ids as numbers
//! where a string is documented. Each function here is meant for
//! `#[serde(deserialize_with = "...")]`; the `opt_*` ones also need `#[serde(default)]` so a
//! missing field becomes `None`. For `opt_*`, `null` and `""` are `None`.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Media {
//!     #[serde(deserialize_with = "wecom_api::de::int")]
//!     created_at: i64,
//!     #[serde(default, deserialize_with = "wecom_api::de::opt_boolean")]
//!     enable: Option<bool>,
//! }
//! let m: Media = serde_json::from_str(r#"{"created_at":"1380000000","enable":1}"#).unwrap();
//! assert_eq!(m.created_at, 1_380_000_000);
//! assert_eq!(m.enable, Some(true));
//! ```

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};

mod json_path;
mod tape;
mod tape_visit;
mod value;

// The runtime's own unit tests build no generated group, which is what uses `deserialize`.
#[cfg_attr(test, allow(unused_imports))]
pub(crate) use value::{Decode, Fields, Node, decode_body, deserialize, integer};
// Read by the generated types of some groups only.
#[allow(unused_imports)]
pub(crate) use value::OneOrMany;
// Callbacks read XML into a `Value`, then decode it.
#[cfg(feature = "callbacks")]
pub(crate) use value::decode_value;
// The callback readers share the rule for an absent value.
#[cfg(feature = "callbacks")]
pub(crate) use value::present;

/// Largest float taken as an integer: 2^53, past which a float no longer holds every
/// integer, so `9007199254740993.0` may already have been rounded.
const FLOAT_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Decodes a JSON body into a generated response type exactly as `Client` does: one parse
/// into a tape that borrows the body, then the type's fields. For the benchmarks; not part
/// of the stable API.
#[doc(hidden)]
#[allow(private_bounds)]
pub fn decode_json_body<T: Decode>(body: &[u8]) -> crate::Result<T> {
    decode_body(body).map_err(|e| crate::Error::decode("decode_json_body".into(), e, body))
}

// ---------------------------------------------------------------- integers

// Zero-sized and `Copy` so a sequence can reuse one per element.
#[derive(Clone, Copy)]
struct IntVisitor;

/// The integer a float holds exactly (`2.0`), if it is integral and at most 2^53.
fn exact_int(v: f64) -> Option<i64> {
    // In range and integral, so the cast is exact.
    (v.is_finite() && v.fract() == 0.0 && v.abs() <= FLOAT_INT_LIMIT).then_some(v as i64)
}

fn float_to_int<E: de::Error>(v: f64) -> Result<i64, E> {
    exact_int(v).ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &"an integer"))
}

impl Visitor<'_> for IntVisitor {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer, a string holding one, or true/false for 1/0")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    // Like generated types: a 0/1 setting some examples write as true/false.
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<i64, E> {
        Ok(i64::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        float_to_int(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        // From the text, so `"9007199254740993.0"` is refused rather than rounded.
        value::integer(v.trim()).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

/// `i64` from `1`, `"1"`, `true` (as 1) or `1.0` (a float without fraction, at most 2^53; a string in a
/// fraction or exponent form the same, read exactly from its text).
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(IntVisitor)
}

/// Like [`int`], and `null` or `""` become `None`.
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(Opt(IntVisitor))
}

/// A list of [`int`]s.
pub fn int_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    d.deserialize_seq(SeqOf(IntVisitor))
}

/// Like [`int_vec`], and `null` becomes `None`.
pub fn opt_int_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
    d.deserialize_any(Opt(SeqOf(IntVisitor)))
}

/// Like [`int_vec`], and `null` becomes an empty list.
pub fn int_vec_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    opt_int_vec(d).map(Option::unwrap_or_default)
}

/// A list that is empty when `null` (absent is handled by `#[serde(default)]`).
pub fn vec_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<Vec<T>> as serde::Deserialize>::deserialize(d).map(Option::unwrap_or_default)
}

/// A map that is empty when `null`.
pub fn map_or_null<'de, D, T>(d: D) -> Result<std::collections::BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<std::collections::BTreeMap<String, T>> as serde::Deserialize>::deserialize(d)
        .map(Option::unwrap_or_default)
}

// ---------------------------------------------------------------- floats

struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a string holding one")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        v.trim()
            .parse::<f64>()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

/// `f64` from a number or a numeric string.
pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(FloatVisitor)
}

/// Like [`float`], and `null` or `""` become `None`.
pub fn opt_float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(Opt(FloatVisitor))
}

// ---------------------------------------------------------------- booleans

struct BoolVisitor;

impl Visitor<'_> for BoolVisitor {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean, 0/1, or \"true\"/\"false\"/\"0\"/\"1\"")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            "1" => Ok(true),
            "0" => Ok(false),
            t if t.eq_ignore_ascii_case("true") => Ok(true),
            t if t.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

/// `bool` from `true`/`false`, `0`/`1`, `"0"`/`"1"` or `"true"`/`"false"`.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// Like [`boolean`], and `null` or `""` become `None`.
pub fn opt_boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(Opt(BoolVisitor))
}

/// A 0/1 flag: `bool` in Rust, written as `0`/`1`, read like [`boolean`].
pub mod flag {
    use serde::{Deserializer, Serializer};

    /// `true` as `1`, `false` as `0`.
    pub fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(u8::from(*value))
    }

    /// As [`boolean`](super::boolean).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        super::boolean(d)
    }
}

/// Like [`flag`], for an optional field.
pub mod opt_flag {
    use serde::{Deserializer, Serializer};

    /// `Some(true)` as `1`, `Some(false)` as `0`.
    pub fn serialize<S: Serializer>(value: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => s.serialize_u8(u8::from(*value)),
            None => s.serialize_none(),
        }
    }

    /// As [`opt_boolean`](super::opt_boolean).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        super::opt_boolean(d)
    }
}

// ---------------------------------------------------------------- strings

struct StringVisitor;

impl Visitor<'_> for StringVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// `String` from a string, or a number / boolean written out (`123` → `"123"`).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(StringVisitor)
}

/// Like [`string`], and `null` becomes `None` (an empty string stays `Some("")`).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(OptString)
}

// ---------------------------------------------------------------- combinators

/// Wraps a scalar visitor: `null`, unit and `""` give `None`, anything else goes to the
/// inner visitor.
struct Opt<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Opt<V> {
    type Value = Option<V::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)?;
        f.write_str(", or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.0.visit_bool(v).map(Some)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.0.visit_i64(v).map(Some)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.0.visit_u64(v).map(Some)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.0.visit_f64(v).map(Some)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        self.0.visit_str(v).map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(seq).map(Some)
    }
}

/// `Option<String>`: only `null` is `None`, `""` is a real (empty) value.
struct OptString;

impl<'de> Visitor<'de> for OptString {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, a number, or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        StringVisitor.visit_i64(v).map(Some)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        StringVisitor.visit_u64(v).map(Some)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        StringVisitor.visit_f64(v).map(Some)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        StringVisitor.visit_bool(v).map(Some)
    }
}

/// A sequence whose elements each go through a scalar visitor.
struct SeqOf<V>(V);

/// One element of a [`SeqOf`], deserialized with `deserialize_any` and the inner visitor.
struct Elem<V>(V);

impl<'de, V: Visitor<'de> + Copy> de::DeserializeSeed<'de> for Elem<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_any(self.0)
    }
}

impl<'de, V: Visitor<'de> + Copy> Visitor<'de> for SeqOf<V> {
    type Value = Vec<V::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of ")?;
        self.0.expecting(f)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element_seed(Elem(self.0))? {
            out.push(v);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------- response bodies

/// The part of every WeCom JSON response the runtime looks at before decoding the rest.
/// Other fields are skipped without being built.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "opt_int")]
    errcode: Option<i64>,
}

/// The same with the message, parsed only when the errcode says there is an error.
#[derive(serde::Deserialize)]
struct ErrorEnvelope {
    #[serde(default, deserialize_with = "opt_string")]
    errmsg: Option<String>,
}

/// What the envelope of a JSON body says.
pub(crate) enum Status {
    /// errcode 0, `"0"`, or absent.
    Ok,
    /// A non-zero errcode and its message.
    Failed { errcode: i64, errmsg: String },
}

/// Reads `errcode` (and `errmsg` when non-zero) from a JSON body.
pub(crate) fn envelope(body: &[u8]) -> Result<Status, DecodeError> {
    if leading_zero_errcode(body) {
        return Ok(Status::Ok);
    }
    let env: Envelope = match serde_json::from_slice(body) {
        Ok(env) => env,
        Err(_) => return Err(envelope_error(body)),
    };
    match env.errcode {
        None | Some(0) => Ok(Status::Ok),
        Some(errcode) => {
            let errmsg = serde_json::from_slice::<ErrorEnvelope>(body)
                .ok()
                .and_then(|e| e.errmsg)
                .unwrap_or_default();
            Ok(Status::Failed { errcode, errmsg })
        }
    }
}

/// Fast path for the usual success body, which WeCom starts with `{"errcode":0,`.
/// Anything else (other spacing aside) takes the full parse.
fn leading_zero_errcode(body: &[u8]) -> bool {
    let skip = |mut i: usize| {
        while i < body.len() && body[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let expect = |i: usize, lit: &[u8]| body.get(i..i + lit.len()) == Some(lit);
    let mut i = skip(0);
    if !expect(i, b"{") {
        return false;
    }
    i = skip(i + 1);
    if !expect(i, b"\"errcode\"") {
        return false;
    }
    i = skip(i + 9);
    if !expect(i, b":") {
        return false;
    }
    i = skip(i + 1);
    if expect(i, b"0") {
        i += 1;
    } else if expect(i, b"\"0\"") {
        i += 3;
    } else {
        return false;
    }
    i = skip(i);
    expect(i, b",") || expect(i, b"}")
}

/// The envelope failed to parse: parse again to say where.
#[cold]
fn envelope_error(body: &[u8]) -> DecodeError {
    match serde_json::from_slice::<Envelope>(body) {
        Err(e) => DecodeError::at(body, &e),
        // Unreachable in practice: the plain parse failed on the same bytes.
        Ok(_) => DecodeError {
            path: ".".to_owned(),
            message: "invalid response envelope".to_owned(),
        },
    }
}

/// Decodes a whole JSON body into `T`; an error names the field path where it failed.
///
/// One plain deserializer, no path tracking: a tracking wrapper compiled every response
/// type's `Deserialize` a second time, which with hundreds of endpoints was most of the
/// crate's compile time. The path is found after the fact, from the error's position
/// (`json_path`).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value =
        <T as serde::Deserialize>::deserialize(&mut de).map_err(|e| DecodeError::at(body, &e))?;
    // Trailing input after the value is an error too, as `from_slice` would say.
    de.end().map_err(|e| DecodeError {
        path: ".".to_owned(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Where and why decoding failed (not yet redacted).
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl DecodeError {
    /// The error `e` of decoding `body`, with the path of the place it points to.
    #[cold]
    fn at(body: &[u8], e: &serde_json::Error) -> Self {
        let offset = json_path::offset_of(body, e.line(), e.column());
        DecodeError {
            path: json_path::path_at(body, offset),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(default, deserialize_with = "super::opt_int")]
        oi: Option<i64>,
        #[serde(default, deserialize_with = "super::opt_int_vec")]
        oiv: Option<Vec<i64>>,
        #[serde(default, deserialize_with = "super::opt_float")]
        of: Option<f64>,
        #[serde(default, deserialize_with = "super::opt_boolean")]
        ob: Option<bool>,
        #[serde(default, deserialize_with = "super::opt_string")]
        os: Option<String>,
    }

    fn int(v: &str) -> Result<i64, serde_json::Error> {
        super::int(&mut serde_json::Deserializer::from_str(v))
    }
    fn boolean(v: &str) -> Result<bool, serde_json::Error> {
        super::boolean(&mut serde_json::Deserializer::from_str(v))
    }
    fn string(v: &str) -> Result<String, serde_json::Error> {
        super::string(&mut serde_json::Deserializer::from_str(v))
    }

    #[test]
    fn envelope_reads_errcode_leniently() {
        use super::{Status, envelope};
        let ok = |b: &str| matches!(envelope(b.as_bytes()), Ok(Status::Ok));
        assert!(ok(r#"{"errcode":0,"errmsg":"ok","x":[1,2]}"#));
        assert!(ok(r#"{"errcode":"0","errmsg":"ok"}"#));
        assert!(ok(r#"{"userid":"a"}"#));
        match envelope(br#"{"errmsg":"invalid \"x\"","errcode":"60111"}"#) {
            Ok(Status::Failed { errcode, errmsg }) => {
                assert_eq!(errcode, 60111);
                assert_eq!(errmsg, "invalid \"x\"");
            }
            _ => panic!("expected failure"),
        }
        let e = envelope(br#"{"errcode":"zero"}"#).err().unwrap();
        assert_eq!(e.path, "errcode");
        assert!(envelope(b"<html>").is_err());
        assert!(ok(" { \"errcode\" : \"0\" }"));
        assert!(super::leading_zero_errcode(br#"{"errcode":0,"x":1}"#));
        assert!(!super::leading_zero_errcode(br#"{"errcode":0.5}"#));
        assert!(!super::leading_zero_errcode(br#"{"errcode":01}"#));
        assert!(!super::leading_zero_errcode(
            br#"{"errmsg":"","errcode":0}"#
        ));
        match envelope(br#"{"errcode":00}"#) {
            Err(e) => assert_eq!(e.path, "errcode"),
            Ok(_) => panic!("leading zeros are not JSON"),
        }
    }

    #[test]
    fn decode_names_the_field_path() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Outer {
            list: Vec<Inner>,
        }
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Inner {
            n: u32,
        }
        let e = super::decode::<Outer>(br#"{"list":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        assert_eq!(e.path, "list[1].n");
        let e = super::decode::<Outer>(br#"{"list":[]} trailing"#).unwrap_err();
        assert_eq!(e.path, ".");
    }

    #[test]
    fn ints() {
        assert_eq!(int("1").unwrap(), 1);
        assert_eq!(int("\"1\"").unwrap(), 1);
        assert_eq!(int("\" -40014 \"").unwrap(), -40014);
        assert_eq!(int("1.0").unwrap(), 1);
        assert_eq!(int("\"2.0\"").unwrap(), 2);
        assert_eq!(int("true").unwrap(), 1);
        assert_eq!(int("false").unwrap(), 0);
        assert!(int("1.5").is_err());
        assert!(int("\"x\"").is_err());
        assert!(int("18446744073709551615").is_err());
        assert!(int("\"9007199254740993.0\"").is_err());
        assert!(int("9007199254740994.0").is_err());
        assert_eq!(int("\"1e3\"").unwrap(), 1000);
        assert!(int("null").is_err());
        let v: Vec<i64> =
            super::int_vec(&mut serde_json::Deserializer::from_str(r#"[1,"2",3.0]"#)).unwrap();
        assert_eq!(v, [1, 2, 3]);
    }

    #[test]
    fn floats_booleans_strings() {
        assert_eq!(
            super::float(&mut serde_json::Deserializer::from_str("\"1.5\"")).unwrap(),
            1.5
        );
        assert!(boolean("true").unwrap());
        assert!(!boolean("0").unwrap());
        assert!(boolean("\"1\"").unwrap());
        assert!(!boolean("\"false\"").unwrap());
        assert!(boolean("2").is_err());
        assert!(boolean("\"yes\"").is_err());
        assert_eq!(string("123").unwrap(), "123");
        assert_eq!(string("\"abc\"").unwrap(), "abc");
        assert_eq!(string("1.5").unwrap(), "1.5");
    }

    #[test]
    fn optionals() {
        let t: T = serde_json::from_str("{}").unwrap();
        assert_eq!(
            t,
            T {
                oi: None,
                oiv: None,
                of: None,
                ob: None,
                os: None
            }
        );
        let t: T =
            serde_json::from_str(r#"{"oi":null,"oiv":null,"of":"","ob":"","os":null}"#).unwrap();
        assert_eq!(
            t,
            T {
                oi: None,
                oiv: None,
                of: None,
                ob: None,
                os: None
            }
        );
        let t: T =
            serde_json::from_str(r#"{"oi":"7","oiv":["1",2],"of":2,"ob":1,"os":5}"#).unwrap();
        assert_eq!(
            t,
            T {
                oi: Some(7),
                oiv: Some(vec![1, 2]),
                of: Some(2.0),
                ob: Some(true),
                os: Some("5".into())
            }
        );
        let t: T = serde_json::from_str(r#"{"os":""}"#).unwrap();
        assert_eq!(t.os.as_deref(), Some(""));
        assert!(serde_json::from_str::<T>(r#"{"oi":"abc"}"#).is_err());
    }
}
