//! Whole callback requests: the query string and body WeCom sent, in; plaintext out.
//!
//! So a web handler is a few lines: hand over the raw query string and body bytes.

#[cfg(feature = "callbacks")]
use super::Callback;
use super::CallbackCrypto;
use super::xml::{MAX_DEPTH, malformed, resolve_ref};
use crate::{Error, Result};

/// The signed query parameters of a callback request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackQuery {
    /// `msg_signature`.
    pub msg_signature: String,
    /// `timestamp`.
    pub timestamp: String,
    /// `nonce`.
    pub nonce: String,
    /// `echostr`: present on URL verification (GET) only.
    pub echostr: Option<String>,
}

impl CallbackQuery {
    /// Parses a raw query string (`msg_signature=...&timestamp=...`, with or without a
    /// leading `?`), percent-decoding the values.
    ///
    /// A `+` stays a `+`: none of these values contains a space, while `echostr` is base64
    /// whose `+` some senders leave unencoded.
    pub fn parse(query: &str) -> Result<Self> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut out = CallbackQuery::default();
        let (mut signature, mut timestamp, mut nonce) = (None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            match key {
                "msg_signature" => signature = Some(value),
                "timestamp" => timestamp = Some(value),
                "nonce" => nonce = Some(value),
                "echostr" => out.echostr = Some(value),
                _ => {}
            }
        }
        let missing = |name: &'static str| {
            Error::invalid_argument(name, "missing from the callback query string")
        };
        out.msg_signature = signature.ok_or_else(|| missing("msg_signature"))?;
        out.timestamp = timestamp.ok_or_else(|| missing("timestamp"))?;
        out.nonce = nonce.ok_or_else(|| missing("nonce"))?;
        Ok(out)
    }
}

fn percent_decode(value: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => {
                    return Err(Error::invalid_argument(
                        "query",
                        "bad percent-encoding in the callback query string",
                    ));
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| Error::invalid_argument("query", "a query value is not UTF-8"))
}

/// The `Encrypt` value of a POST body: XML (`<xml><Encrypt>...`) or JSON
/// (`{"encrypt": "..."}`, the key in any case, as bots and JSON callbacks send it).
///
/// The body is not trusted yet (its signature covers only `Encrypt`), so it is scanned,
/// not parsed into a tree: the scan stops at the `Encrypt` child of the root, keeps no
/// element but that one, and allocates nothing else in proportion to the body. Bodies
/// larger than [`DEFAULT_MAX_BODY`] are refused; [`CallbackCrypto::decrypt_request`] uses
/// the crypto's own limit ([`CallbackCrypto::with_max_body_size`]).
pub fn encrypted_payload(body: &[u8]) -> Result<String> {
    find_encrypt(body, DEFAULT_MAX_BODY)
}

/// Largest callback body accepted by default: WeCom's are a few KB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

fn check_size(body: &[u8], max_body: usize) -> Result<()> {
    if body.len() > max_body {
        return Err(Error::TooLarge {
            what: "callback body",
            limit: max_body as u64,
            size: Some(body.len() as u64),
        });
    }
    Ok(())
}

pub(crate) fn find_encrypt(body: &[u8], max_body: usize) -> Result<String> {
    check_size(body, max_body)?;
    let text = std::str::from_utf8(body).map_err(|_| malformed("body", "the body is not UTF-8"))?;
    let text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let found = if text.starts_with('{') {
        encrypt_in_json(text)?
    } else {
        encrypt_in_xml(text)?
    };
    found.ok_or_else(|| malformed("body", "the body has no Encrypt element"))
}

/// The `Encrypt` child of the root element, read event by event; end tags are not matched
/// against a stack of names (that stack would grow with a hostile body), only counted.
fn encrypt_in_xml(text: &str) -> Result<Option<String>> {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let bad = |e: &dyn std::fmt::Display| malformed("xml", format!("malformed XML: {e}"));
    let mut depth = 0usize;
    // Some(text so far) while inside <Encrypt> at depth 2.
    let mut inside: Option<String> = None;
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(start) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(malformed(
                        "xml",
                        format!("elements nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                if depth == 2 && start.name().as_ref().eq_ignore_ascii_case(b"encrypt") {
                    inside = Some(String::new());
                }
            }
            Event::Empty(empty) => {
                if depth == 0 {
                    return Ok(None);
                }
                if depth == 1 && empty.name().as_ref().eq_ignore_ascii_case(b"encrypt") {
                    return Ok(Some(String::new()));
                }
            }
            Event::Text(t) if depth == 2 => {
                if let Some(buf) = inside.as_mut() {
                    let piece = t.decode().map_err(|e| bad(&e))?;
                    buf.push_str(piece.trim());
                }
            }
            Event::GeneralRef(reference) if depth == 2 => {
                if let Some(buf) = inside.as_mut() {
                    buf.push_str(&resolve_ref(&reference));
                }
            }
            Event::CData(c) if depth == 2 => {
                if let Some(buf) = inside.as_mut() {
                    let piece = c.decode().map_err(|e| bad(&e))?;
                    buf.push_str(&piece);
                }
            }
            Event::End(_) => {
                if depth == 0 {
                    return Err(malformed("xml", "closing tag without an opening one"));
                }
                if depth == 2 && inside.is_some() {
                    return Ok(inside);
                }
                depth -= 1;
                if depth == 0 {
                    return Ok(None);
                }
            }
            Event::Eof => {
                return Err(malformed("xml", "the document ends inside an element"));
            }
            _ => {}
        }
    }
}

/// The top-level `encrypt` key (any case) of a JSON object; other values are skipped
/// without being kept.
fn encrypt_in_json(text: &str) -> Result<Option<String>> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::borrow::Cow;
    use std::fmt;

    struct Find;
    impl<'de> Visitor<'de> for Find {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found: Option<Option<String>> = None;
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if found.is_none() && key.eq_ignore_ascii_case("encrypt") {
                    // Not a string: no Encrypt, and nothing of it is kept.
                    found = Some(map.next_value::<StringOnly>()?.0);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found.flatten())
        }
    }

    /// A string value, or `None` for any other value, skipped without being built.
    struct StringOnly(Option<String>);
    impl<'de> serde::Deserialize<'de> for StringOnly {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Only;
            impl<'de> Visitor<'de> for Only {
                type Value = StringOnly;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_str<E>(self, v: &str) -> Result<StringOnly, E> {
                    Ok(StringOnly(Some(v.to_owned())))
                }
                fn visit_string<E>(self, v: String) -> Result<StringOnly, E> {
                    Ok(StringOnly(Some(v)))
                }
                fn visit_bool<E>(self, _: bool) -> Result<StringOnly, E> {
                    Ok(StringOnly(None))
                }
                fn visit_i64<E>(self, _: i64) -> Result<StringOnly, E> {
                    Ok(StringOnly(None))
                }
                fn visit_u64<E>(self, _: u64) -> Result<StringOnly, E> {
                    Ok(StringOnly(None))
                }
                fn visit_f64<E>(self, _: f64) -> Result<StringOnly, E> {
                    Ok(StringOnly(None))
                }
                fn visit_unit<E>(self) -> Result<StringOnly, E> {
                    Ok(StringOnly(None))
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<StringOnly, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(StringOnly(None))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringOnly, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(StringOnly(None))
                }
            }
            deserializer.deserialize_any(Only)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let found = de
        .deserialize_map(Find)
        .map_err(|e| malformed("json", format!("malformed JSON: {e}")))?;
    de.end()
        .map_err(|e| malformed("json", format!("malformed JSON: {e}")))?;
    Ok(found)
}

impl CallbackCrypto {
    /// Answers WeCom's URL verification: give the raw query string of the GET; the result
    /// is the body of the `200 OK` to send back.
    pub fn verify_url_request(&self, query: &str) -> Result<String> {
        let q = CallbackQuery::parse(query)?;
        let echostr = q.echostr.ok_or_else(|| {
            Error::invalid_argument("echostr", "missing from the callback query string")
        })?;
        self.verify_url(&q.msg_signature, &q.timestamp, &q.nonce, &echostr)
    }

    /// Verifies and decrypts a callback POST: give the raw query string and body. Returns
    /// the plaintext (XML, or JSON for bots and JSON callbacks).
    ///
    /// Nothing of the body is parsed before the signature is checked but the scan for
    /// `Encrypt`, and a body over the size limit (default 1 MiB) is refused unread.
    pub fn decrypt_request(&self, query: &str, body: &[u8]) -> Result<String> {
        check_size(body, self.max_body_size())?;
        let q = CallbackQuery::parse(query)?;
        let encrypt = find_encrypt(body, self.max_body_size())?;
        self.decrypt(&q.msg_signature, &q.timestamp, &q.nonce, &encrypt)
    }

    /// [`decrypt_request`](Self::decrypt_request), then [`Callback::parse`] (of the
    /// authenticated plaintext only).
    #[cfg(feature = "callbacks")]
    pub fn open_request(&self, query: &str, body: &[u8]) -> Result<Callback> {
        Callback::parse(&self.decrypt_request(query, body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded_and_plus_kept() {
        let q = CallbackQuery::parse("?msg_signature=ab&timestamp=1&nonce=n&echostr=a%2Bb%3D+c&x")
            .unwrap();
        assert_eq!(q.echostr.as_deref(), Some("a+b=+c"));
        assert_eq!(
            (
                q.msg_signature.as_str(),
                q.timestamp.as_str(),
                q.nonce.as_str()
            ),
            ("ab", "1", "n")
        );
        let missing = CallbackQuery::parse("timestamp=1&nonce=2").unwrap_err();
        assert!(missing.to_string().contains("msg_signature"), "{missing}");
        assert!(CallbackQuery::parse("msg_signature=%zz&timestamp=1&nonce=2").is_err());
        assert!(CallbackQuery::parse("msg_signature=%e4&timestamp=1&nonce=2").is_err());
        assert!(CallbackQuery::parse("msg_signature=%4").is_err());
    }

    #[test]
    fn encrypt_is_found_in_xml_and_json_bodies() {
        let xml =
            b"<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>";
        assert_eq!(encrypted_payload(xml).unwrap(), "abc");
        assert_eq!(encrypted_payload(br#"{"encrypt":"abc"}"#).unwrap(), "abc");
        assert_eq!(
            encrypted_payload(br#"{"Encrypt":"abc","AgentID":1}"#).unwrap(),
            "abc"
        );
        assert!(encrypted_payload(b"<xml><A>1</A></xml>").is_err());
        assert!(encrypted_payload(b"\xff").is_err());
        assert!(encrypted_payload(br#"{"encrypt":1}"#).is_err());
        // Only a child of the root counts, and the scan stops there.
        let nested = b"<xml><A><Encrypt>no</Encrypt></A><Encrypt>yes</Encrypt><B></xml>";
        assert_eq!(encrypted_payload(nested).unwrap(), "yes");
        assert_eq!(
            encrypted_payload(b"\xef\xbb\xbf <xml><Encrypt>\n abc \n</Encrypt></xml>").unwrap(),
            "abc"
        );
        assert_eq!(
            encrypted_payload(br#"{"a":{"encrypt":"no"},"ENCRYPT":"yes"}"#).unwrap(),
            "yes"
        );
        for bad in [
            &b"<xml><Encrypt>abc"[..],
            b"<xml>",
            b"",
            b"{",
            b"[1]",
            b"</x>",
        ] {
            assert!(encrypted_payload(bad).is_err(), "{bad:?}");
        }
        // Entity references are resolved as the full parser resolves them.
        assert_eq!(
            encrypted_payload(b"<xml><Encrypt>AB&#43;CD&amp;&#x2F;</Encrypt></xml>").unwrap(),
            "AB+CD&/"
        );
        let big = vec![b' '; DEFAULT_MAX_BODY + 1];
        assert!(matches!(
            encrypted_payload(&big).unwrap_err(),
            Error::TooLarge { .. }
        ));
    }
}
