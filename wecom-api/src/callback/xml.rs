//! Callback XML in both directions: a tolerant reader into [`Fields`] and a small writer for
//! replies.
//!
//! Reading: the children of the root element become fields; an element with children is an
//! object, a leaf is its text (CDATA or plain, entities resolved; whitespace around a CDATA
//! section is layout and dropped), and a repeated element becomes an array. Attributes,
//! comments and processing instructions are ignored. A byte-order mark is skipped.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};
use serde_json::{Map, Value};

use super::Fields;
use crate::{Error, Result};

/// Deepest nesting accepted; WeCom's deepest documented callback has five levels.
pub(crate) const MAX_DEPTH: usize = 32;

/// Builds the error for a callback body that cannot be read. The body is not quoted: a
/// callback may carry tickets and tokens.
pub(crate) fn malformed(what: &str, message: impl Into<String>) -> Error {
    Error::Decode {
        endpoint: "callback".into(),
        path: what.to_string(),
        message: message.into(),
        excerpt: "(not shown)".to_string(),
    }
}

struct Frame {
    name: String,
    children: Map<String, Value>,
    /// Text pieces in order; `true` marks CDATA.
    text: Vec<(bool, String)>,
}

impl Frame {
    fn new(name: String) -> Self {
        Frame {
            name,
            children: Map::new(),
            text: Vec::new(),
        }
    }

    fn push_text(&mut self, cdata: bool, piece: &str) {
        match self.text.last_mut() {
            Some((false, last)) if !cdata => last.push_str(piece),
            _ => self.text.push((cdata, piece.to_string())),
        }
    }

    fn into_value(self) -> Value {
        if !self.children.is_empty() {
            return Value::Object(self.children);
        }
        let has_cdata = self.text.iter().any(|(cdata, _)| *cdata);
        let text = if has_cdata {
            self.text
                .into_iter()
                .filter(|(cdata, piece)| *cdata || !piece.trim().is_empty())
                .map(|(_, piece)| piece)
                .collect::<String>()
        } else {
            let all: String = self.text.into_iter().map(|(_, piece)| piece).collect();
            all.trim().to_string()
        };
        Value::String(text)
    }
}

/// Adds a child, turning a repeated name into an array.
fn insert(map: &mut Map<String, Value>, name: String, value: Value) {
    match map.get_mut(&name) {
        None => {
            map.insert(name, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = std::mem::take(existing);
            *existing = Value::Array(vec![first, value]);
        }
    }
}

pub(crate) fn resolve_ref(reference: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return c.to_string();
    }
    let name = reference.decode().unwrap_or_default();
    match name.as_ref() {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        // An entity XML does not define is kept as written.
        other => format!("&{other};"),
    }
}

/// Reads callback XML into the fields of its root element.
pub fn parse_xml(text: &str) -> Result<Fields> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed("xml", format!("malformed XML: {e}")))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(
                        "xml",
                        format!("elements nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                stack.push(Frame::new(name));
            }
            Event::Empty(empty) => {
                let name = String::from_utf8_lossy(empty.name().as_ref()).into_owned();
                match stack.last_mut() {
                    Some(parent) => {
                        insert(&mut parent.children, name, Value::String(String::new()))
                    }
                    None => return Ok(Fields::default()),
                }
            }
            Event::Text(t) => {
                if let Some(frame) = stack.last_mut() {
                    let piece = t
                        .decode()
                        .map_err(|e| malformed("xml", format!("text is not UTF-8: {e}")))?;
                    frame.push_text(false, &piece);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(frame) = stack.last_mut() {
                    frame.push_text(false, &resolve_ref(&reference));
                }
            }
            Event::CData(c) => {
                if let Some(frame) = stack.last_mut() {
                    let piece = c
                        .decode()
                        .map_err(|e| malformed("xml", format!("CDATA is not UTF-8: {e}")))?;
                    frame.push_text(true, &piece);
                }
            }
            Event::End(_) => {
                let Some(frame) = stack.pop() else {
                    return Err(malformed("xml", "closing tag without an opening one"));
                };
                match stack.last_mut() {
                    Some(parent) => {
                        let name = frame.name.clone();
                        insert(&mut parent.children, name, frame.into_value());
                    }
                    // The root closed: its children are the callback. Anything after is ignored.
                    None => return Ok(Fields(frame.children)),
                }
            }
            Event::Eof => {
                return Err(malformed(
                    "xml",
                    if stack.is_empty() {
                        "no root element".to_string()
                    } else {
                        format!(
                            "unexpected end inside <{}>",
                            stack.last().map_or("", |f| f.name.as_str())
                        )
                    },
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

/// Reads a JSON callback (an object) into its fields.
pub fn parse_json(text: &str) -> Result<Fields> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Fields(map)),
        Ok(_) => Err(malformed("json", "the JSON callback is not an object")),
        Err(e) => Err(malformed("json", format!("malformed JSON: {e}"))),
    }
}

/// Reads a callback in either format: JSON when it starts with `{`, XML otherwise.
pub fn parse_fields(text: &str) -> Result<Fields> {
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if trimmed.starts_with('{') {
        parse_json(trimmed)
    } else {
        parse_xml(trimmed)
    }
}

/// Whether XML 1.0 allows `c` in a document (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn push_xml_chars(out: &mut String, text: &str) {
    if text.chars().all(is_xml_char) {
        out.push_str(text);
    } else {
        out.extend(text.chars().filter(|&c| is_xml_char(c)));
    }
}

/// Writes reply XML: every string in CDATA, numbers as plain text.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens `<name>`.
    pub fn start(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Closes `</name>`.
    pub fn end(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name><![CDATA[text]]></name>`; a `]]>` inside is split across two sections, and
    /// characters XML 1.0 forbids (NUL, ESC, VT, ... from user text) are dropped: strict
    /// parsers, WeCom's among them, refuse a document holding them.
    pub fn cdata(&mut self, name: &str, text: &str) {
        self.start(name);
        self.out.push_str("<![CDATA[");
        let mut rest = text;
        while let Some(at) = rest.find("]]>") {
            push_xml_chars(&mut self.out, &rest[..at]);
            self.out.push_str("]]]]><![CDATA[>");
            rest = &rest[at + 3..];
        }
        push_xml_chars(&mut self.out, rest);
        self.out.push_str("]]>");
        self.end(name);
    }

    /// `<name>value</name>` for a number or boolean.
    pub fn plain(&mut self, name: &str, value: impl std::fmt::Display) {
        self.start(name);
        self.out.push_str(&value.to_string());
        self.end(name);
    }

    /// Writes a free-form value (kept unknown elements). Names that are not XML names are
    /// skipped so the document stays well formed.
    pub fn value(&mut self, name: &str, value: &Value) {
        if !is_xml_name(name) {
            return;
        }
        match value {
            Value::Null => {}
            Value::String(s) => self.cdata(name, s),
            Value::Number(n) => self.plain(name, n),
            Value::Bool(b) => self.plain(name, b),
            Value::Array(items) => {
                for item in items {
                    self.value(name, item);
                }
            }
            Value::Object(map) => {
                self.start(name);
                for (key, item) in map {
                    self.value(key, item);
                }
                self.end(name);
            }
        }
    }

    /// The document written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_cdata_plain_text_nesting_and_repeats() {
        let fields = parse_xml(
            "\u{feff}<xml>\n  <A><![CDATA[ x ]]></A><B>12</B><C> <![CDATA[t]]></C>\
             <D><E>1</E><E>2</E></D><F/><G>a &amp; b &#x4e2d;</G><H></H>\
             <Mode>1</Mode ><I>\n <![CDATA[u]]></I></xml>",
        )
        .unwrap();
        assert_eq!(
            Value::Object(fields.0),
            json!({"A": " x ", "B": "12", "C": "t", "D": {"E": ["1", "2"]}, "F": "",
                   "G": "a & b 中", "H": "", "Mode": "1", "I": "u"})
        );
    }

    #[test]
    fn refuses_broken_documents_without_panicking() {
        for bad in ["", "<xml>", "<xml><a></b></xml>", "no xml", "</xml>"] {
            assert!(parse_xml(bad).is_err(), "{bad:?}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse_xml(&deep).unwrap_err().to_string().contains("nested"));
        assert!(parse_json("[1]").is_err());
        assert!(parse_json("{").is_err());
    }

    #[test]
    fn picks_the_format_by_the_first_character() {
        let json = parse_fields("\u{feff} {\"MsgType\":\"text\",\"MsgId\":1}").unwrap();
        assert_eq!(json.get("MsgId"), Some(&json!(1)));
        let xml = parse_fields("\n<xml><MsgType>text</MsgType></xml>").unwrap();
        assert_eq!(xml.text("MsgType").as_deref(), Some("text"));
    }

    #[test]
    fn writer_escapes_cdata_end_and_skips_bad_names() {
        let mut w = XmlWriter::new();
        w.start("xml");
        w.cdata("Content", "a]]>b");
        w.plain("N", 3);
        w.value("bad name", &json!("x"));
        w.value("L", &json!({"item": [{"T": "1"}, {"T": "2"}]}));
        w.end("xml");
        let xml = w.finish();
        assert_eq!(
            xml,
            "<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><N>3</N>\
             <L><item><T><![CDATA[1]]></T></item><item><T><![CDATA[2]]></T></item></L></xml>"
        );
        assert_eq!(
            parse_xml(&xml).unwrap().text("Content").as_deref(),
            Some("a]]>b")
        );
    }

    #[test]
    fn writer_drops_characters_xml_forbids() {
        let mut w = XmlWriter::new();
        w.start("xml");
        w.cdata("Content", "a\u{0}b\u{1b}c\u{b}d\te\u{fffe}f]]>\u{1}g 中");
        w.end("xml");
        let xml = w.finish();
        assert_eq!(
            xml,
            "<xml><Content><![CDATA[abcd\tef]]]]><![CDATA[>g 中]]></Content></xml>"
        );
        assert!(!xml.chars().any(|c| c.is_control() && c != '\t'));
    }
}
