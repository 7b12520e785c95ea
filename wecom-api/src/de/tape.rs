//! A JSON body as a flat tape of entries that borrow their text from the body.
//!
//! Generated types read responses from this tape (`de/value.rs`). Against a
//! `serde_json::Value` it allocates one vector instead of a string per key and a tree node
//! per member, a member is found by a scan instead of a map, and a number keeps the text it
//! was sent as: an integer field can tell `9007199254740993.0` (not exact) from `2.0`, and an
//! id beyond `u64` stays the digits WeCom wrote. serde_json hands a visitor only the parsed
//! `f64` of such numbers (its `arbitrary_precision` feature would change `Value` for every
//! crate that shares the build), hence this small reader of JSON's grammar (RFC 8259),
//! checked against serde_json on random input in the tests below.

use std::borrow::Cow;

use serde_json::Value;

use super::{DecodeError, json_path};

/// One entry. A container is followed by its members (an object: key, then value) and
/// records where they end, so a reader skips it in one step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Entry<'s> {
    Null,
    Bool(bool),
    /// The number as written (valid JSON number syntax).
    Number(Cow<'s, str>),
    Str(Cow<'s, str>),
    /// An object member's name; `live` is false for one a later duplicate overrides.
    Key {
        name: Cow<'s, str>,
        live: bool,
    },
    Array {
        len: u32,
        end: u32,
    },
    Object {
        len: u32,
        end: u32,
    },
}

/// A parsed JSON document.
#[derive(Debug)]
pub(crate) struct Tape<'s> {
    pub(crate) entries: Vec<Entry<'s>>,
}

impl<'s> Tape<'s> {
    /// Parses a whole JSON text; a syntax error names the path where it is.
    pub(crate) fn parse(body: &'s [u8]) -> Result<Tape<'s>, DecodeError> {
        let text = match std::str::from_utf8(body) {
            Ok(text) => text,
            Err(e) => return Err(syntax(body, e.valid_up_to(), "invalid UTF-8")),
        };
        let (open, key_marks) = SCRATCH
            .try_with(std::cell::Cell::take)
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut parser = Parser {
            text,
            bytes: body,
            at: 0,
            // A rough guess from typical bodies (an entry per 8 bytes or so); it grows if short.
            entries: spare_entries((body.len() / 8).clamp(16, 1 << 16)),
            open,
            key_marks,
        };
        let parsed = parser.document();
        give_back_scratch(parser.open, parser.key_marks);
        parsed?;
        Ok(Tape {
            entries: parser.entries,
        })
    }

    /// The tape of a value built in memory (callbacks' XML, a `Deserialize` input).
    pub(crate) fn from_value(value: &'s Value) -> Tape<'s> {
        let mut entries = Vec::new();
        push_value(&mut entries, value);
        Tape { entries }
    }

    /// Index just past the entry at `i` and everything it contains.
    pub(crate) fn next(entries: &[Entry<'_>], i: usize) -> usize {
        match entries.get(i) {
            Some(Entry::Array { end, .. } | Entry::Object { end, .. }) => *end as usize,
            _ => i + 1,
        }
    }
}

fn push_value<'s>(entries: &mut Vec<Entry<'s>>, value: &'s Value) {
    match value {
        Value::Null => entries.push(Entry::Null),
        Value::Bool(b) => entries.push(Entry::Bool(*b)),
        Value::Number(n) => entries.push(Entry::Number(Cow::Owned(n.to_string()))),
        Value::String(s) => entries.push(Entry::Str(Cow::Borrowed(s))),
        Value::Array(items) => {
            let at = entries.len();
            entries.push(Entry::Null);
            items.iter().for_each(|item| push_value(entries, item));
            entries[at] = Entry::Array {
                len: count(items.len()),
                end: count(entries.len()),
            };
        }
        Value::Object(map) => {
            let at = entries.len();
            entries.push(Entry::Null);
            for (key, item) in map {
                entries.push(Entry::Key {
                    name: Cow::Borrowed(key),
                    live: true,
                });
                push_value(entries, item);
            }
            entries[at] = Entry::Object {
                len: count(map.len()),
                end: count(entries.len()),
            };
        }
    }
}

/// Tape indices and lengths are `u32`: a body is capped far below 4 GiB before it is read.
pub(super) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cold]
fn syntax(body: &[u8], offset: usize, what: &str) -> DecodeError {
    let offset = offset.min(body.len().saturating_sub(1));
    DecodeError {
        path: json_path::path_at(body, offset),
        message: format!("invalid JSON at byte {offset}: {what}"),
    }
}

/// Objects with at most this many members are checked for duplicate names pair by pair.
const SMALL_OBJECT: usize = 32;

thread_local! {
    /// The parser's working vectors, kept per thread between parses: every response is
    /// parsed, and these would otherwise be two allocations each time.
    static SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

type Scratch = (Vec<Open>, Vec<(u64, usize, usize)>);

/// Scratch bigger than this (a hostile, deeply nested or very wide body) is not kept.
const SCRATCH_KEPT: usize = 4096;

fn give_back_scratch(mut open: Vec<Open>, mut key_marks: Vec<(u64, usize, usize)>) {
    if open.capacity() > SCRATCH_KEPT || key_marks.capacity() > SCRATCH_KEPT {
        return;
    }
    open.clear();
    key_marks.clear();
    let _ = SCRATCH.try_with(|s| s.set(Some((open, key_marks))));
}

thread_local! {
    /// The entries' vector of the last tape this thread dropped, kept for the next one:
    /// every response is parsed into a tape, and its vector is one of the call's larger
    /// allocations.
    static SPARE_ENTRIES: std::cell::Cell<Vec<Entry<'static>>> =
        const { std::cell::Cell::new(Vec::new()) };
}

/// A spare vector bigger than this many entries (128 KiB; a long list) is let go, so a
/// thread keeps little even when many threads decode.
const ENTRIES_KEPT: usize = 4 * 1024;

/// An empty vector with room for `n` entries, this thread's spare one when it has one.
pub(super) fn spare_entries<'s>(n: usize) -> Vec<Entry<'s>> {
    let spare = SPARE_ENTRIES
        .try_with(std::cell::Cell::take)
        .unwrap_or_default();
    let mut entries = relabel(spare);
    entries.reserve(n);
    entries
}

/// The same allocation, emptied, for entries of another lifetime. Collecting a vector's
/// own iterator reuses its allocation (std's in-place collection; the test below checks
/// it still does).
// `filter` would keep the lifetime: the map to `None` is what changes it.
#[allow(clippy::unnecessary_filter_map)]
fn relabel<'a, 'b>(entries: Vec<Entry<'a>>) -> Vec<Entry<'b>> {
    entries.into_iter().filter_map(|_| None).collect()
}

impl Drop for Tape<'_> {
    fn drop(&mut self) {
        let mut spare = std::mem::take(&mut self.entries);
        if spare.capacity() > ENTRIES_KEPT {
            return;
        }
        spare.clear();
        let spare = relabel(spare);
        let _ = SPARE_ENTRIES.try_with(|s| s.set(spare));
    }
}

/// Containers nest at most this deep, as in serde_json: readers of the tape recurse.
pub(super) const MAX_DEPTH: usize = 128;

/// A container being read: where its entry is, how many members so far, and (objects)
/// where its members' key marks start in `key_marks`.
struct Open {
    at: usize,
    len: u32,
    object: bool,
    marks_from: usize,
}

struct Parser<'s> {
    text: &'s str,
    bytes: &'s [u8],
    at: usize,
    entries: Vec<Entry<'s>>,
    open: Vec<Open>,
    /// (hash of the name, entry index, byte offset) of the keys of every open object.
    key_marks: Vec<(u64, usize, usize)>,
}

impl<'s> Parser<'s> {
    fn fail(&self, what: &str) -> DecodeError {
        syntax(self.bytes, self.at, what)
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    /// The whole text: one value, then only whitespace. Iterative, so no input can
    /// exhaust the stack.
    fn document(&mut self) -> Result<(), DecodeError> {
        self.value()?;
        while let Some(top) = self.open.last() {
            let (object, first) = (top.object, top.len == 0);
            match self.peek() {
                Some(b'}') if object => self.close()?,
                Some(b']') if !object => self.close()?,
                Some(b',') if !first => {
                    self.at += 1;
                    self.member(object)?;
                }
                Some(_) if first => self.member(object)?,
                None => return Err(self.fail("unexpected end of input")),
                Some(_) if object => return Err(self.fail("expected `,` or `}`")),
                Some(_) => return Err(self.fail("expected `,` or `]`")),
            }
        }
        if self.peek().is_some() {
            return Err(self.fail("trailing characters after the value"));
        }
        Ok(())
    }

    /// The next member of the open container: a name first in an object.
    fn member(&mut self, object: bool) -> Result<(), DecodeError> {
        if object {
            self.key()?;
        }
        self.value()
    }

    /// One value; a container is only opened (its members follow in `document`).
    fn value(&mut self) -> Result<(), DecodeError> {
        if let Some(top) = self.open.last_mut() {
            top.len += 1;
        }
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                self.open_container(true)
            }
            Some(b'[') => {
                self.at += 1;
                self.open_container(false)
            }
            Some(b'"') => {
                let s = self.string()?;
                self.entries.push(Entry::Str(s));
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Entry::Bool(true)),
            Some(b'f') => self.literal("false", Entry::Bool(false)),
            Some(b'n') => self.literal("null", Entry::Null),
            None => Err(self.fail("unexpected end of input")),
            Some(_) => Err(self.fail("expected a value")),
        }
    }

    fn open_container(&mut self, object: bool) -> Result<(), DecodeError> {
        if self.open.len() >= MAX_DEPTH {
            return Err(self.fail("nested too deeply"));
        }
        self.open.push(Open {
            at: self.entries.len(),
            len: 0,
            object,
            marks_from: self.key_marks.len(),
        });
        self.entries.push(Entry::Null);
        Ok(())
    }

    fn close(&mut self) -> Result<(), DecodeError> {
        self.at += 1;
        let Some(open) = self.open.pop() else {
            return Err(self.fail("unbalanced bracket"));
        };
        let end = count(self.entries.len());
        self.entries[open.at] = if open.object {
            self.check_duplicates(open.marks_from);
            Entry::Object { len: open.len, end }
        } else {
            Entry::Array { len: open.len, end }
        };
        Ok(())
    }

    /// A member's name and its `:`.
    fn key(&mut self) -> Result<(), DecodeError> {
        if self.peek() != Some(b'"') {
            return Err(self.fail("expected a member name in quotes"));
        }
        let offset = self.at;
        let name = self.string()?;
        if self.peek() != Some(b':') {
            return Err(self.fail("expected `:`"));
        }
        self.at += 1;
        self.key_marks
            .push((fnv(name.as_bytes()), self.entries.len(), offset));
        self.entries.push(Entry::Key { name, live: true });
        Ok(())
    }

    /// Duplicate names in the object whose keys are marked from `from`: the last one
    /// wins, as in serde_json and JavaScript, and each earlier one is logged with its path.
    fn check_duplicates(&mut self, from: usize) {
        for offset in hide_overridden(&mut self.entries, &mut self.key_marks[from..]) {
            let path = json_path::path_at(self.bytes, offset + 1);
            tracing::warn!(
                path = %path,
                "duplicate member in a JSON response; the last one is kept"
            );
        }
        self.key_marks.truncate(from);
    }

    fn literal(&mut self, word: &str, entry: Entry<'s>) -> Result<(), DecodeError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            self.entries.push(entry);
            Ok(())
        } else {
            Err(self.fail("expected a value"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<(), DecodeError> {
        let start = self.at;
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        match self.bytes.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.fail("invalid number")),
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.fail("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.fail("invalid number"));
            }
        }
        let text = &self.text[start..self.at];
        self.entries.push(Entry::Number(Cow::Borrowed(text)));
        Ok(())
    }

    /// A string at the opening quote: borrowed from the body unless it has escapes.
    fn string(&mut self) -> Result<Cow<'s, str>, DecodeError> {
        self.at += 1;
        let start = self.at;
        self.at += plain_run(&self.bytes[self.at..]);
        loop {
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    let s = &self.text[start..self.at];
                    self.at += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(0..=0x1f) => return Err(self.fail("control character in a string")),
                Some(_) => self.at += 1,
                None => return Err(self.fail("unterminated string")),
            }
        }
        let mut out = String::from(&self.text[start..self.at]);
        loop {
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.at += 1;
                    self.escape(&mut out)?;
                }
                Some(0..=0x1f) => return Err(self.fail("control character in a string")),
                Some(_) => {
                    // Copy the run up to the next quote or backslash (UTF-8 boundaries
                    // are safe: both are ASCII).
                    let run = self.at;
                    while let Some(&b) = self.bytes.get(self.at) {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        self.at += 1;
                    }
                    out.push_str(&self.text[run..self.at]);
                }
                None => return Err(self.fail("unterminated string")),
            }
        }
    }

    /// The escape after a backslash.
    fn escape(&mut self, out: &mut String) -> Result<(), DecodeError> {
        let Some(&c) = self.bytes.get(self.at) else {
            return Err(self.fail("unterminated string"));
        };
        self.at += 1;
        let ch = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                match first {
                    0xD800..=0xDBFF => {
                        if !self.bytes[self.at..].starts_with(b"\\u") {
                            return Err(self.fail("lone leading surrogate in a \\u escape"));
                        }
                        self.at += 2;
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(self.fail("invalid surrogate pair in a \\u escape"));
                        }
                        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        char::from_u32(code).ok_or_else(|| self.fail("invalid \\u escape"))?
                    }
                    0xDC00..=0xDFFF => {
                        return Err(self.fail("lone trailing surrogate in a \\u escape"));
                    }
                    code => char::from_u32(code).ok_or_else(|| self.fail("invalid \\u escape"))?,
                }
            }
            _ => {
                self.at -= 1;
                return Err(self.fail("invalid escape"));
            }
        };
        out.push(ch);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, DecodeError> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.fail("invalid \\u escape"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.fail("invalid \\u escape"))?;
        self.at += 4;
        Ok(code)
    }
}

/// FNV-1a: a cheap fingerprint of a member name, to find duplicates by sorting.
/// How many of the leading bytes are plain string content (no `"`, `\\` or control
/// character), eight at a time: only where it stops does the byte loop take over.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A high bit per zero byte of `v` (exact for the first zero byte, which is all we need).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut done = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        // Bytes below 0x20: `v - 0x20` borrows into the high bit, which `!v` keeps only
        // for ASCII bytes (UTF-8's lead and continuation bytes have it set).
        let special = zero(v ^ (ONES * u64::from(b'"')))
            | zero(v ^ (ONES * u64::from(b'\\')))
            | (v.wrapping_sub(ONES * 0x20) & !v & HIGH);
        if special != 0 {
            return done;
        }
        done += 8;
    }
    done
}

/// Hides every key of one object that a later key of the same name overrides, given the
/// object's key marks (name fingerprint, entry index, byte offset); returns the hidden
/// keys' offsets.
pub(super) fn hide_overridden(
    entries: &mut [Entry<'_>],
    marks: &mut [(u64, usize, usize)],
) -> Vec<usize> {
    // Pairs of equal fingerprints: compared directly in small objects (no sort), by
    // sorting in large ones.
    let mut same: Vec<(usize, usize)> = Vec::new();
    if marks.len() <= SMALL_OBJECT {
        for later in 1..marks.len() {
            for first in 0..later {
                if marks[first].0 == marks[later].0 {
                    same.push((first, later));
                }
            }
        }
    } else {
        marks.sort_unstable();
        same.extend(
            (1..marks.len())
                .filter(|&i| marks[i - 1].0 == marks[i].0)
                .map(|i| (i - 1, i)),
        );
    }
    let mut hidden_at = Vec::new();
    for (first, later) in same {
        let ((_, first, offset), (_, later, _)) = (marks[first], marks[later]);
        let (Entry::Key { name: a, .. }, Entry::Key { name: b, .. }) =
            (&entries[first], &entries[later])
        else {
            continue;
        };
        if a != b {
            continue;
        }
        // Hide the earlier of the two (the tape runs in document order).
        if let Entry::Key { live, .. } = &mut entries[first.min(later)] {
            *live = false;
        }
        hidden_at.push(offset);
    }
    hidden_at
}

/// FNV-1a: member names' fingerprint, here and in `Fields`' name filter.
#[inline]
pub(super) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The tape back as a `Value`, for comparing with serde_json.
    fn to_value(entries: &[Entry<'_>], i: usize) -> Value {
        match &entries[i] {
            Entry::Null => Value::Null,
            Entry::Bool(b) => Value::Bool(*b),
            Entry::Number(n) => super::super::value::number_value(n),
            Entry::Str(s) => Value::String(s.to_string()),
            Entry::Key { .. } => unreachable!("a key is read with its object"),
            Entry::Array { end, .. } => {
                let mut out = Vec::new();
                let mut j = i + 1;
                while j < *end as usize {
                    out.push(to_value(entries, j));
                    j = Tape::next(entries, j);
                }
                Value::Array(out)
            }
            Entry::Object { end, .. } => {
                let mut out = serde_json::Map::new();
                let mut j = i + 1;
                while j < *end as usize {
                    let Entry::Key { name, .. } = &entries[j] else {
                        unreachable!("members start with a key")
                    };
                    out.insert(name.to_string(), to_value(entries, j + 1));
                    j = Tape::next(entries, j + 1);
                }
                Value::Object(out)
            }
        }
    }

    fn parsed(body: &str) -> Result<Value, DecodeError> {
        Tape::parse(body.as_bytes()).map(|t| to_value(&t.entries, 0))
    }

    #[test]
    fn reads_every_kind_of_value() {
        let body = r#" {"a": [1, -2.5e3, "x\"y\u00e9\ud83d\ude00", true, false, null, {}, []], "名": "张三"} "#;
        assert_eq!(
            parsed(body).unwrap(),
            serde_json::from_str::<Value>(body).unwrap()
        );
        let tape =
            Tape::parse(br#"{"n":9007199254740993.0,"big":123456789012345678901234}"#).unwrap();
        assert_eq!(tape.entries[2], Entry::Number("9007199254740993.0".into()));
        assert_eq!(
            tape.entries[4],
            Entry::Number("123456789012345678901234".into())
        );
        assert!(matches!(tape.entries[0], Entry::Object { len: 2, end: 5 }));
    }

    #[test]
    fn a_dropped_tapes_vector_serves_the_next_parse() {
        let relabelled: Vec<Entry<'static>> = relabel(Vec::<Entry<'_>>::with_capacity(100));
        assert!(relabelled.capacity() >= 100, "{}", relabelled.capacity());
        drop(Tape::parse(b"[1,2,3]").unwrap());
        let first = spare_entries(1);
        assert!(first.capacity() >= 16, "{}", first.capacity());
        let at = first.as_ptr();
        drop(Tape { entries: first });
        let second = spare_entries(1);
        assert_eq!(second.as_ptr(), at);
    }

    #[test]
    fn the_eight_byte_scan_stops_at_every_special_byte_wherever_it_is() {
        for at in 0..20 {
            for special in ["\\n", "\\\"", "\\u00e9", "é", "\u{1}"] {
                let text = format!("{}{special}{}", "a".repeat(at), "b".repeat(at % 9));
                let body = serde_json::to_string(&text)
                    .unwrap()
                    .replace("\\u0001", "\u{1}");
                let body = format!("[{body}]");
                let ours = Tape::parse(body.as_bytes()).map(|t| to_value(&t.entries, 0));
                let theirs = serde_json::from_str::<Value>(&body);
                match (ours, theirs) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{body:?}"),
                    (Err(_), Err(_)) => {}
                    (a, b) => panic!("{body:?}: {a:?} vs {b:?}"),
                }
            }
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let tape = Tape::parse(br#"["plain","esc\n"]"#).unwrap();
        assert!(matches!(
            &tape.entries[1],
            Entry::Str(Cow::Borrowed("plain"))
        ));
        assert!(matches!(&tape.entries[2], Entry::Str(Cow::Owned(s)) if s == "esc\n"));
    }

    #[test]
    fn syntax_errors_name_the_path() {
        let e = parsed(r#"{"a":[1,}"#).unwrap_err();
        assert_eq!(e.path, "a");
        let e = parsed(r#"{"a":{"b":tru}}"#).unwrap_err();
        assert_eq!(e.path, "a.b");
        assert!(e.message.contains("expected a value"), "{}", e.message);
        assert_eq!(parsed("[1] x").unwrap_err().path, ".");
        for bad in [
            "",
            "{",
            "[",
            "[1,]",
            "{\"a\"}",
            "{\"a\":1,}",
            "01",
            "1.",
            "-",
            "1e",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"a\nb\"",
            "nul",
            "{1:2}",
            "[1 2]",
            "\u{feff}1",
        ] {
            assert!(parsed(bad).is_err(), "{bad:?} is not JSON");
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(Tape::parse(b"[\"\xff\"]").is_err());
    }

    #[test]
    fn nesting_is_bounded_as_in_serde_json() {
        let nested = |depth: usize| "[".repeat(depth) + &"]".repeat(depth);
        assert!(Tape::parse(nested(MAX_DEPTH).as_bytes()).is_ok());
        let e = Tape::parse(nested(MAX_DEPTH + 1).as_bytes()).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{}", e.message);
        assert!(serde_json::from_str::<Value>(&nested(MAX_DEPTH + 1)).is_err());
        assert!(Tape::parse("[".repeat(200_000).as_bytes()).is_err());
    }

    #[test]
    fn a_duplicate_member_keeps_the_last_and_hides_the_first() {
        let tape = Tape::parse(br#"{"a":1,"b":{"c":1,"c":2},"a":3}"#).unwrap();
        assert_eq!(
            to_value(&tape.entries, 0),
            serde_json::json!({"a": 3, "b": {"c": 2}})
        );
        let live: Vec<(String, bool)> = tape
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Key { name, live } => Some((name.to_string(), *live)),
                _ => None,
            })
            .collect();
        assert_eq!(
            live,
            [
                ("a".into(), false),
                ("b".into(), true),
                ("c".into(), false),
                ("c".into(), true),
                ("a".into(), true)
            ]
        );
    }

    #[test]
    fn duplicates_are_found_in_large_objects_too() {
        let mut members: Vec<String> = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect();
        members.push(r#""k7":"late""#.to_owned());
        let text = format!("{{{}}}", members.join(","));
        let tape = Tape::parse(text.as_bytes()).unwrap();
        let value = to_value(&tape.entries, 0);
        assert_eq!(value["k7"], "late");
        assert_eq!(value.as_object().unwrap().len(), 40);
        let hidden = tape
            .entries
            .iter()
            .filter(|e| matches!(e, Entry::Key { live: false, .. }))
            .count();
        assert_eq!(hidden, 1);
    }

    /// Collects what a `tracing` fmt subscriber writes.
    #[derive(Clone, Default)]
    struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_duplicate_member_is_logged_with_its_path() {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            Tape::parse(br#"{"list":[{"id":1},{"id":2,"name":"a","id":3}]}"#).unwrap();
        });
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("WARN"), "{text}");
        assert!(text.contains("path=list[1].id"), "{text}");
        assert_eq!(text.matches("duplicate member").count(), 1, "{text}");
    }

    #[test]
    fn values_built_in_memory_read_the_same() {
        let value = serde_json::json!({"a": [1, "x", null, {"b": 2.5}], "c": true});
        let tape = Tape::from_value(&value);
        assert_eq!(to_value(&tape.entries, 0), value);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e300f64..1e300).prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json_on_its_output(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            prop_assert_eq!(parsed(&text).unwrap(), value);
        }

        #[test]
        fn accepts_exactly_what_serde_json_accepts(text in r#"[\[\]{}":,0-9a-z\\. eE+-]{0,24}"#) {
            let ours = parsed(&text);
            let theirs = serde_json::from_str::<Value>(&text);
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}: {:?}", text, ours);
            if let (Ok(a), Ok(b)) = (ours, theirs) {
                prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Tape::parse(&bytes);
        }
    }
}
