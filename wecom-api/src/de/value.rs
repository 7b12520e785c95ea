//! Decoding generated types from a parsed JSON body.
//!
//! A response is parsed once into a [`Tape`] (`de/tape.rs`): one vector of entries that
//! borrow their text from the body. Each generated type then takes its fields out of an
//! object with the plain, non-generic functions below; the only per-type code is one
//! `decode` that lists the fields. `#[derive(Deserialize)]` instead compiled a map
//! visitor, a sequence visitor and a wrapper type per lenient field, for every one of the
//! ~2,300 types: most of the crate's build time went there. Reading a tape rather than a
//! `serde_json::Value` skips a string and a map node per member, and keeps numbers as
//! written, so integers are exact or refused. Errors carry the field path (`list[1].n`) as
//! they come back up.

// Generated code calls most of these; with every feature group off, little does.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::DecodeError;
use super::tape::{Entry, Tape, fnv};

/// A type read out of a parsed JSON value, as leniently as WeCom writes it.
pub(crate) trait Decode: Sized {
    /// Whether a blank string (`""`) reads as absent for an optional field of this type
    /// (`"errcode": ""`): true for numbers and booleans, false for text.
    const BLANK_IS_ABSENT: bool = false;

    fn decode(value: Node<'_>) -> Result<Self, DecodeError>;
}

/// One value of a parsed body. Copy: it is an index into the tape.
#[derive(Clone, Copy)]
pub(crate) struct Node<'a> {
    entries: &'a [Entry<'a>],
    at: usize,
    /// For an object a type is flattened into: the members that type already read.
    hidden: Option<&'a Taken>,
}

impl<'a> Node<'a> {
    /// The whole document.
    pub(crate) fn root(tape: &'a Tape<'_>) -> Node<'a> {
        Node {
            entries: &tape.entries,
            at: 0,
            hidden: None,
        }
    }

    /// An empty object (what a union reads when its content key is absent).
    pub(crate) fn empty_object() -> Node<'static> {
        Node {
            entries: &EMPTY_OBJECT,
            at: 0,
            hidden: None,
        }
    }

    /// A number's text as sent.
    pub(crate) fn number_text(self) -> Option<&'a str> {
        match self.entry() {
            Entry::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Whether this is an array.
    pub(crate) fn is_array(self) -> bool {
        matches!(self.entry(), Entry::Array { .. })
    }

    /// A string's text.
    pub(crate) fn as_str(self) -> Option<&'a str> {
        match self.entry() {
            Entry::Str(s) => Some(s),
            _ => None,
        }
    }

    fn entry(&self) -> &'a Entry<'a> {
        // A node is only made for an index its tape has; an empty object otherwise.
        self.entries.get(self.at).unwrap_or(&EMPTY_OBJECT[0])
    }

    /// The elements of an array (none for anything else).
    fn elements(self) -> impl Iterator<Item = Node<'a>> {
        let end = match self.entry() {
            Entry::Array { end, .. } => *end as usize,
            _ => self.at + 1,
        };
        let mut i = self.at + 1;
        std::iter::from_fn(move || {
            (i < end).then(|| {
                let node = Node {
                    entries: self.entries,
                    at: i,
                    hidden: None,
                };
                i = Tape::next(self.entries, i);
                node
            })
        })
    }

    /// The visible members of an object, with their ordinals (none for anything else).
    fn members(self) -> impl Iterator<Item = (u32, &'a str, Node<'a>)> {
        let end = match self.entry() {
            Entry::Object { end, .. } => *end as usize,
            _ => self.at + 1,
        };
        let (mut i, mut ordinal) = (self.at + 1, 0u32);
        std::iter::from_fn(move || {
            while i < end {
                let (key, value) = (i, i + 1);
                let this = ordinal;
                i = Tape::next(self.entries, value);
                ordinal += 1;
                let hidden = self.hidden.is_some_and(|h| h.contains(this));
                if let Some(Entry::Key { name, live: true }) = self.entries.get(key) {
                    if !hidden {
                        let node = Node {
                            entries: self.entries,
                            at: value,
                            hidden: None,
                        };
                        return Some((this, name.as_ref(), node));
                    }
                }
            }
            None
        })
    }

    /// This value as a `serde_json::Value` (a `Json` field, an unknown union variant).
    /// A number too large for `f64` stays its text, as a string.
    pub(crate) fn to_value(self) -> Value {
        match self.entry() {
            Entry::Null | Entry::Key { .. } => Value::Null,
            Entry::Bool(b) => Value::Bool(*b),
            Entry::Number(n) => number_value(n),
            Entry::Str(s) => Value::String(s.to_string()),
            Entry::Array { len, .. } => {
                let mut out = Vec::with_capacity(*len as usize);
                out.extend(self.elements().map(Node::to_value));
                Value::Array(out)
            }
            Entry::Object { .. } => Value::Object(
                self.members()
                    .map(|(_, name, value)| (name.to_owned(), value.to_value()))
                    .collect(),
            ),
        }
    }
}

static EMPTY_OBJECT: [Entry<'static>; 1] = [Entry::Object { len: 0, end: 1 }];

/// Ordinals of the members of an object already taken out.
#[derive(Clone, Default)]
pub(crate) struct Taken {
    first: u64,
    more: Vec<u32>,
}

impl Taken {
    fn contains(&self, ordinal: u32) -> bool {
        match ordinal {
            0..64 => self.first & (1 << ordinal) != 0,
            _ => self.more.contains(&ordinal),
        }
    }

    fn insert(&mut self, ordinal: u32) {
        match ordinal {
            0..64 => self.first |= 1 << ordinal,
            _ => self.more.push(ordinal),
        }
    }
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

/// `Deserialize` for a generated type: read any self-describing input into a tape, then
/// decode it. The tape's reader is generic over the deserializer only.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Decode,
{
    let tape = super::tape_visit::tape_of(deserializer)?;
    T::decode(Node::root(&tape)).map_err(serde::de::Error::custom)
}

/// Decodes a value built in memory (callbacks read XML into one).
pub(crate) fn decode_value<T: Decode>(value: &Value) -> Result<T, DecodeError> {
    let tape = Tape::from_value(value);
    T::decode(Node::root(&tape))
}

/// Decodes a whole JSON body into a generated type; an error names the field path.
pub(crate) fn decode_body<T: Decode>(body: &[u8]) -> Result<T, DecodeError> {
    let tape = Tape::parse(body)?;
    T::decode(Node::root(&tape)).map_err(DecodeError::rooted)
}

/// A number's text as a `Value`: an integer when it is one, else the nearest float
/// (correctly rounded), else (beyond `f64`) the text as a string, so nothing is lost.
pub(super) fn number_value(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(n) = text.parse::<u64>() {
        return Value::from(n);
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(text.to_owned()), Value::Number)
}

/// What a value is, for error messages (`expected a string, found an object`).
fn kind(value: Node<'_>) -> &'static str {
    match value.entry() {
        Entry::Null | Entry::Key { .. } => "null",
        Entry::Bool(_) => "a boolean",
        Entry::Number(_) => "a number",
        Entry::Str(_) => "a string",
        Entry::Array { .. } => "an array",
        Entry::Object { .. } => "an object",
    }
}

fn expected(what: &str, found: Node<'_>) -> DecodeError {
    let shown = match found.entry() {
        Entry::Str(s) if s.chars().count() <= 32 => format!("the string {s:?}"),
        Entry::Number(n) => format!("the number {n}"),
        Entry::Bool(b) => format!("{b}"),
        _ => kind(found).to_owned(),
    };
    DecodeError::here(format!("expected {what}, found {shown}"))
}

fn is_blank(value: Node<'_>) -> bool {
    matches!(value.entry(), Entry::Str(s) if s.trim().is_empty())
}

// ---------------------------------------------------------------- scalars

/// Largest magnitude a fraction or exponent form may have to count as an exact integer:
/// 2^53, past which a float no longer holds every integer (the sender may have rounded).
const EXACT_LIMIT: u64 = 1 << 53;

/// The integer a number's text holds: plain digits in range, or a fraction or exponent
/// form (`2.0`, `"1e3"`) whose value is integral and at most 2^53. Anything else is `None`:
/// `9007199254740993.0` and `1.5` are not read as some nearby integer.
pub(crate) fn integer(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], unsigned[i + 1..].parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    // value = digits × 10^scale
    let scale = i64::from(exponent) - i64::try_from(fraction.len()).ok()?;
    let digits = whole.as_bytes().iter().chain(fraction.as_bytes());
    let count = whole.len() + fraction.len();
    // Digits a negative scale divides away must be zeros.
    let dropped = usize::try_from(-scale.min(0)).ok()?;
    let kept = count.saturating_sub(dropped);
    let mut value: u64 = 0;
    for (i, &d) in digits.enumerate() {
        let d = u64::from(d - b'0');
        if i < kept {
            value = value * 10 + d;
            if value > EXACT_LIMIT {
                return None;
            }
        } else if d != 0 {
            return None;
        }
    }
    if value != 0 {
        for _ in 0..scale.max(0) {
            value *= 10;
            if value > EXACT_LIMIT {
                return None;
            }
        }
    }
    let value = i64::try_from(value).ok()?;
    Some(if negative { -value } else { value })
}

impl Decode for i64 {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        let parsed = match value.entry() {
            Entry::Number(n) => integer(n),
            Entry::Str(s) => integer(s.trim()),
            // Pages type 0/1 settings as int while their own examples send true/false
            // (meeting enable_enter_mute, check-in allow_flex): read them as 1/0, the
            // mirror of `bool` reading 0/1.
            Entry::Bool(b) => Some(i64::from(*b)),
            _ => None,
        };
        parsed.ok_or_else(|| {
            expected(
                "an integer, a string holding one (a fraction or exponent form only when \
                 it is a whole number of at most 2^53), or true/false for 1/0",
                value,
            )
        })
    }
}

impl Decode for f64 {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        let parsed = match value.entry() {
            Entry::Number(n) => n.parse::<f64>().ok().filter(|f| f.is_finite()),
            Entry::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| expected("a number or a string holding one", value))
    }
}

impl Decode for bool {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        let parsed = match value.entry() {
            Entry::Bool(b) => Some(*b),
            Entry::Number(n) => match integer(n) {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Entry::Str(s) => match s.trim() {
                "1" => Some(true),
                "0" => Some(false),
                t if t.eq_ignore_ascii_case("true") => Some(true),
                t if t.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed.ok_or_else(|| expected("a boolean, 0/1, or \"true\"/\"false\"/\"0\"/\"1\"", value))
    }
}

impl Decode for String {
    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        match value.entry() {
            Entry::Str(s) => Ok(s.to_string()),
            // Ids documented as strings arrive as numbers now and then: kept as written,
            // digits beyond `u64` included.
            Entry::Number(n) => Ok(n.to_string()),
            Entry::Bool(b) => Ok(b.to_string()),
            _ => Err(expected("a string or a number", value)),
        }
    }
}

impl Decode for crate::Secret {
    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        String::decode(value).map(crate::Secret::from)
    }
}

impl Decode for Value {
    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        Ok(value.to_value())
    }
}

// ---------------------------------------------------------------- containers

/// The value of an optional field, or `None` when it reads as absent. Not generic, so
/// the `Option` logic is compiled once.
pub(crate) fn present(value: Node<'_>, blank_is_absent: bool) -> Option<Node<'_>> {
    match value.entry() {
        Entry::Null => None,
        _ if blank_is_absent && is_blank(value) => None,
        _ => Some(value),
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        match present(value, T::BLANK_IS_ABSENT) {
            None => Ok(None),
            Some(v) => T::decode(v).map(Some),
        }
    }
}

/// The elements of a list being decoded; not generic, so compiled once.
struct Elements<'a> {
    entries: &'a [Entry<'a>],
    next: usize,
    end: usize,
    index: usize,
}

impl<'a> Elements<'a> {
    /// The elements of `value`, or why it is not a list; `null` is an empty list.
    fn of(value: Node<'a>) -> Result<(Self, usize), DecodeError> {
        let (end, len) = match value.entry() {
            Entry::Array { end, len } => (*end as usize, *len as usize),
            Entry::Null => (value.at + 1, 0),
            _ => return Err(expected("an array", value)),
        };
        let elements = Elements {
            entries: value.entries,
            next: value.at + 1,
            end,
            index: 0,
        };
        Ok((elements, len))
    }

    fn next_item(&mut self) -> Option<Node<'a>> {
        (self.next < self.end).then(|| {
            let at = self.next;
            self.next = Tape::next(self.entries, at);
            self.index += 1;
            Node {
                entries: self.entries,
                at,
                hidden: None,
            }
        })
    }

    /// An error in the element last returned.
    #[cold]
    fn error(&self, e: DecodeError) -> DecodeError {
        e.under(&format!("[{}]", self.index.saturating_sub(1)))
    }
}

/// A list; `null` is an empty list.
impl<T: Decode> Decode for Vec<T> {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        let (mut items, len) = Elements::of(value)?;
        let mut out = Vec::with_capacity(len);
        while let Some(item) = items.next_item() {
            match T::decode(item) {
                Ok(v) => out.push(v),
                Err(e) => return Err(items.error(e)),
            }
        }
        Ok(out)
    }
}

/// A list a page documents while its example sends the one item bare
/// (`"promotion_detail": {..}`): read either way, as a list. Generated code reads such a
/// field (`one_or_many` in the spec) through it; the field itself stays a `Vec`.
#[cfg_attr(not(test), allow(dead_code))] // unused when no such group is compiled in
pub(crate) struct OneOrMany<T>(pub(crate) Vec<T>);

impl<T> OneOrMany<T> {
    pub(crate) fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<T: Decode> Decode for OneOrMany<T> {
    const BLANK_IS_ABSENT: bool = true;

    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        match value.entry() {
            Entry::Array { .. } | Entry::Null => Vec::decode(value).map(OneOrMany),
            _ => T::decode(value).map(|item| OneOrMany(vec![item])),
        }
    }
}

/// A map with string keys; `null` is an empty map.
impl<T: Decode> Decode for BTreeMap<String, T> {
    fn decode(value: Node<'_>) -> Result<Self, DecodeError> {
        match value.entry() {
            Entry::Object { .. } => value
                .members()
                .map(|(_, k, v)| match T::decode(v) {
                    Ok(v) => Ok((k.to_owned(), v)),
                    Err(e) => Err(e.under(k)),
                })
                .collect(),
            Entry::Null => Ok(BTreeMap::new()),
            _ => Err(expected("an object", value)),
        }
    }
}

// ---------------------------------------------------------------- objects

/// The members of a JSON object, taken out one field at a time by a generated `decode`.
///
/// A member is looked for from just after the last one found: generated types list their
/// fields in the order WeCom documents and sends them, so a lookup is usually one compare.
pub(crate) struct Fields<'a> {
    entries: &'a [Entry<'a>],
    /// The object's entry.
    at: usize,
    end: usize,
    /// Where the next lookup starts: a key's entry and its member ordinal.
    cursor: (usize, u32),
    taken: Taken,
    /// A bit per member name ([`name_bit`]), made on the first lookup that finds nothing:
    /// generated types have many optional fields a body leaves out, and each would
    /// otherwise scan every member.
    names: std::cell::Cell<Option<u64>>,
}

/// One of 64 bits for a member name: the top six bits of its FNV-1a hash.
fn name_bit(name: &str) -> u64 {
    1 << (fnv(name.as_bytes()) >> 58)
}

impl<'a> Fields<'a> {
    /// The members of `value`, which must be an object.
    pub(crate) fn of(value: Node<'a>) -> Result<Self, DecodeError> {
        match value.entry() {
            Entry::Object { end, .. } => Ok(Fields {
                entries: value.entries,
                at: value.at,
                end: *end as usize,
                cursor: (value.at + 1, 0),
                taken: value.hidden.cloned().unwrap_or_default(),
                names: std::cell::Cell::new(None),
            }),
            _ => Err(expected("an object", value)),
        }
    }

    /// The key entry and ordinal of the visible member `name`, if any.
    fn find(&self, name: &str) -> Option<(usize, u32)> {
        let bit = name_bit(name);
        if self.names.get().is_some_and(|names| names & bit == 0) {
            return None;
        }
        let found = self.scan(name);
        if found.is_none() && self.names.get().is_none() {
            self.names.set(Some(self.name_bits()));
        }
        found
    }

    /// The bits of every member's name.
    fn name_bits(&self) -> u64 {
        let mut bits = 0;
        let mut i = self.at + 1;
        while i < self.end {
            if let Entry::Key { name, .. } = &self.entries[i] {
                bits |= name_bit(name);
            }
            i = Tape::next(self.entries, i + 1);
        }
        bits
    }

    fn scan(&self, name: &str) -> Option<(usize, u32)> {
        let is = |i: usize, ordinal: u32| {
            matches!(&self.entries[i], Entry::Key { name: k, live: true } if k == name)
                && !self.taken.contains(ordinal)
        };
        let (mut i, mut ordinal) = self.cursor;
        while i < self.end {
            if is(i, ordinal) {
                return Some((i, ordinal));
            }
            (i, ordinal) = (Tape::next(self.entries, i + 1), ordinal + 1);
        }
        (i, ordinal) = (self.at + 1, 0);
        while i < self.cursor.0 {
            if is(i, ordinal) {
                return Some((i, ordinal));
            }
            (i, ordinal) = (Tape::next(self.entries, i + 1), ordinal + 1);
        }
        None
    }

    fn node(&self, at: usize) -> Node<'a> {
        Node {
            entries: self.entries,
            at,
            hidden: None,
        }
    }

    /// A member as it is, taken out (for readers with their own rules, like callbacks').
    pub(crate) fn take(&mut self, name: &str) -> Option<Node<'a>> {
        let (key, ordinal) = self.find(name)?;
        self.taken.insert(ordinal);
        let value = key + 1;
        self.cursor = (Tape::next(self.entries, value), ordinal + 1);
        Some(self.node(value))
    }

    /// A member, left in place (a union's tag).
    pub(crate) fn get(&self, name: &str) -> Option<Node<'a>> {
        self.find(name).map(|(key, _)| self.node(key + 1))
    }

    /// Whether the object has the member `name` (not taken yet).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Whether every member has been taken (or there were none).
    pub(crate) fn is_empty(&self) -> bool {
        self.whole().members().next().is_none()
    }

    /// The name to read a field under that pages spell two ways: the first of `names` the
    /// object has, else the first (the table's spelling, named in errors).
    #[cfg_attr(not(test), allow(dead_code))] // unused when no such group is compiled in
    pub(crate) fn named(&self, names: &[&'static str]) -> &'static str {
        let first = names.first().copied().unwrap_or_default();
        names
            .iter()
            .copied()
            .find(|name| self.contains(name))
            .unwrap_or(first)
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

    // The generic methods above stay small: the work is in these, compiled once.

    fn take_required(&mut self, name: &str) -> Result<Node<'a>, DecodeError> {
        self.take(name)
            .ok_or_else(|| DecodeError::here(format!("missing field `{name}`")))
    }

    fn take_present(&mut self, name: &str, blank_is_absent: bool) -> Option<Node<'a>> {
        present(self.take(name)?, blank_is_absent)
    }

    /// The object without the members taken so far.
    pub(crate) fn whole(&self) -> Node<'_> {
        Node {
            entries: self.entries,
            at: self.at,
            hidden: Some(&self.taken),
        }
    }

    /// A union flattened into this object: it reads every member not taken yet. Call it
    /// after the named fields.
    pub(crate) fn flattened<T: Decode>(&self) -> Result<T, DecodeError> {
        T::decode(self.whole())
    }

    /// An optional flattened union: `None` when its tag field is absent.
    pub(crate) fn flattened_optional<T: Decode>(
        &self,
        tag: &str,
    ) -> Result<Option<T>, DecodeError> {
        if self.get(tag).is_none_or(|v| present(v, false).is_none()) {
            return Ok(None);
        }
        self.flattened().map(Some)
    }

    /// The members not taken, as they are (a union's unknown variant, callbacks' extra
    /// elements).
    pub(crate) fn into_map(self) -> Map<String, Value> {
        self.whole()
            .members()
            .map(|(_, name, value)| (name.to_owned(), value.to_value()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dec<T: Decode>(v: Value) -> Result<T, DecodeError> {
        decode_value(&v)
    }

    fn int(v: Value) -> Result<i64, DecodeError> {
        dec(v)
    }

    /// Decodes JSON text (a number's text reaches the decoder as written).
    fn body<T: Decode>(text: &str) -> Result<T, DecodeError> {
        decode_body(text.as_bytes())
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
        assert_eq!(int(json!(true)).unwrap(), 1);
        assert_eq!(int(json!(false)).unwrap(), 0);
        assert!(int(json!([1])).is_err());
        assert_eq!(dec::<f64>(json!("1.5")).unwrap(), 1.5);
        assert!(dec::<bool>(json!(true)).unwrap());
        assert!(!dec::<bool>(json!(0)).unwrap());
        assert!(dec::<bool>(json!("1")).unwrap());
        assert!(!dec::<bool>(json!("false")).unwrap());
        assert!(dec::<bool>(json!(2)).is_err());
        assert!(dec::<bool>(json!("yes")).is_err());
        assert_eq!(dec::<String>(json!(123)).unwrap(), "123");
        assert_eq!(dec::<String>(json!("abc")).unwrap(), "abc");
        assert_eq!(dec::<String>(json!(1.5)).unwrap(), "1.5");
        assert!(dec::<String>(json!(null)).is_err());
    }

    #[test]
    fn integers_are_exact_or_refused() {
        // Plain integers: the whole i64 range.
        assert_eq!(
            body::<i64>("9007199254740993").unwrap(),
            9_007_199_254_740_993
        );
        assert_eq!(body::<i64>("-9223372036854775808").unwrap(), i64::MIN);
        assert_eq!(body::<i64>(r#""9223372036854775807""#).unwrap(), i64::MAX);
        // Fraction and exponent forms: only whole numbers up to 2^53.
        assert_eq!(body::<i64>("2.000").unwrap(), 2);
        assert_eq!(body::<i64>(r#""1e3""#).unwrap(), 1000);
        assert_eq!(body::<i64>("1E+3").unwrap(), 1000);
        assert_eq!(body::<i64>("12.5e1").unwrap(), 125);
        assert_eq!(body::<i64>("-1000e-3").unwrap(), -1);
        assert_eq!(body::<i64>("0e999999").unwrap(), 0);
        assert_eq!(body::<i64>("9007199254740992.0").unwrap(), 1 << 53);
        for inexact in [
            r#""9007199254740993.0""#,
            "9007199254740993.0",
            "9007199254740994.0",
            "1e16",
            r#""1e400""#,
            "1.5",
            "4503599627370496.5",
            "1.00000000000000001",
            "1e-3",
            r#""1e""#,
            r#""-""#,
            r#""inf""#,
            r#""NaN""#,
            "18446744073709551616",
        ] {
            let e = body::<i64>(inexact).unwrap_err();
            assert!(
                e.message.starts_with("expected an integer"),
                "{inexact}: {e}"
            );
        }
        // The field is named.
        let e = body::<BTreeMap<String, i64>>(r#"{"id":"9007199254740993.0"}"#).unwrap_err();
        assert_eq!(e.path, "id");
        assert!(e.message.contains("9007199254740993.0"), "{}", e.message);
    }

    #[test]
    fn numbers_read_as_text_keep_every_digit() {
        assert_eq!(
            body::<String>("123456789012345678901234").unwrap(),
            "123456789012345678901234"
        );
        assert_eq!(body::<String>("1e3").unwrap(), "1e3");
        assert_eq!(body::<String>("-0.10").unwrap(), "-0.10");
        // A `Json` field keeps numbers serde_json can hold, and the others' text.
        assert_eq!(body::<Value>("[1, 2.5]").unwrap(), json!([1, 2.5]));
        assert_eq!(body::<Value>("1e400").unwrap(), json!("1e400"));
        assert_eq!(body::<f64>("0.1").unwrap(), 0.1);
        assert!(body::<f64>("1e400").is_err());
    }

    #[test]
    fn duplicate_members_keep_the_last() {
        let map = body::<BTreeMap<String, i64>>(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(map, BTreeMap::from([("a".into(), 3), ("b".into(), 2)]));
        let tape = Tape::parse(br#"{"a":1,"b":2,"a":3}"#).unwrap();
        let mut fields = Fields::of(Node::root(&tape)).unwrap();
        assert_eq!(fields.required::<i64>("a").unwrap(), 3);
        assert_eq!(fields.take("a").map(Node::to_value), None);
        assert_eq!(
            fields.into_map(),
            json!({"b": 2}).as_object().cloned().unwrap()
        );
    }

    #[test]
    fn optionals_treat_blank_numbers_as_absent_but_keep_empty_text() {
        assert_eq!(dec::<Option<i64>>(json!("")).unwrap(), None);
        assert_eq!(dec::<Option<bool>>(json!(" ")).unwrap(), None);
        assert_eq!(dec::<Option<f64>>(json!(null)).unwrap(), None);
        assert_eq!(dec::<Option<Vec<i64>>>(json!("")).unwrap(), None);
        assert_eq!(
            dec::<Option<String>>(json!("")).unwrap().as_deref(),
            Some("")
        );
        assert_eq!(
            dec::<Option<String>>(json!(5)).unwrap().as_deref(),
            Some("5")
        );
        assert!(dec::<Option<i64>>(json!("abc")).is_err());
    }

    #[test]
    fn errors_name_the_path_down_to_the_value() {
        let value = json!({"list": [{"n": 1}, {"n": "x"}]});
        let tape = Tape::from_value(&value);
        let mut fields = Fields::of(Node::root(&tape)).unwrap();
        let e = fields
            .required::<Vec<BTreeMap<String, i64>>>("list")
            .unwrap_err();
        assert_eq!(e.path, "list[1].n");
        assert!(
            e.message
                .starts_with("expected an integer, a string holding one"),
            "{}",
            e.message
        );
        assert!(
            e.message.ends_with("found the string \"x\""),
            "{}",
            e.message
        );
        assert_eq!(e.to_string(), format!("list[1].n: {}", e.message));

        let value = json!({});
        let tape = Tape::from_value(&value);
        let mut fields = Fields::of(Node::root(&tape)).unwrap();
        let e = fields.required::<String>("jobid").unwrap_err().rooted();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            (".", "missing field `jobid`")
        );
        assert_eq!(fields.optional::<String>("jobid").unwrap(), None);
        assert!(fields.or_empty::<Vec<String>>("ids").unwrap().is_empty());

        let value = json!([1]);
        let tape = Tape::from_value(&value);
        let e = Fields::of(Node::root(&tape)).err().unwrap();
        assert_eq!(e.message, "expected an object, found an array");
    }

    #[test]
    fn fields_are_found_in_any_order() {
        let tape = Tape::parse(br#"{"c":3,"a":1,"b":2,"d":null}"#).unwrap();
        let mut fields = Fields::of(Node::root(&tape)).unwrap();
        assert_eq!(fields.required::<i64>("a").unwrap(), 1);
        assert_eq!(fields.required::<i64>("b").unwrap(), 2);
        assert_eq!(fields.required::<i64>("c").unwrap(), 3);
        assert_eq!(fields.optional::<i64>("d").unwrap(), None);
        assert_eq!(fields.optional::<i64>("e").unwrap(), None);
        // Taken members are gone, as from a map.
        assert!(fields.take("a").is_none());
        assert!(fields.is_empty());
    }

    #[test]
    fn many_members_are_tracked_past_64() {
        let members: Vec<String> = (0..100).map(|i| format!(r#""k{i}":{i}"#)).collect();
        let text = format!("{{{}}}", members.join(","));
        let tape = Tape::parse(text.as_bytes()).unwrap();
        let mut fields = Fields::of(Node::root(&tape)).unwrap();
        for i in (0..100).rev().step_by(3) {
            assert_eq!(fields.required::<i64>(&format!("k{i}")).unwrap(), i);
        }
        let rest = fields.into_map();
        assert_eq!(rest.len(), 100 - 34);
        assert!(!rest.contains_key("k99") && rest.contains_key("k98"));
    }

    #[test]
    fn a_flattened_union_sees_the_members_left() {
        let value = json!({"msgtype": "text", "text": {"content": "hi"}, "id": 3});
        let tape = Tape::from_value(&value);
        let mut fields = Fields::of(Node::root(&tape)).unwrap();
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

    #[test]
    fn a_list_sent_as_its_one_item_reads_as_a_list_of_one() {
        let many = |v: Value| dec::<OneOrMany<i64>>(v).map(OneOrMany::into_vec);
        assert_eq!(many(json!([1, 2])).unwrap(), vec![1, 2]);
        assert_eq!(many(json!(3)).unwrap(), vec![3]);
        assert_eq!(many(json!(null)).unwrap(), Vec::<i64>::new());
        assert_eq!(
            many(json!("x")).unwrap_err().to_string(),
            dec::<i64>(json!("x")).unwrap_err().to_string()
        );
        let value = json!({"list": {"a": 1}});
        let tape = Tape::from_value(&value);
        let mut fields = Fields::of(Node::root(&tape)).unwrap();
        let list = fields
            .or_empty::<OneOrMany<Value>>("list")
            .unwrap()
            .into_vec();
        assert_eq!(list, vec![json!({"a": 1})]);
    }

    #[test]
    fn a_field_spelled_two_ways_reads_under_either_name() {
        let read = |v: Value| {
            let tape = Tape::from_value(&v);
            let mut fields = Fields::of(Node::root(&tape)).unwrap();
            fields.required::<i64>(fields.named(&["node_apv_status", "node_status"]))
        };
        assert_eq!(read(json!({"node_apv_status": 1})).unwrap(), 1);
        assert_eq!(read(json!({"node_status": 2})).unwrap(), 2);
        // Both present: the table's spelling wins.
        assert_eq!(
            read(json!({"node_status": 2, "node_apv_status": 3})).unwrap(),
            3
        );
        let missing = read(json!({})).unwrap_err().to_string();
        assert!(missing.contains("node_apv_status"), "{missing}");
    }
}
