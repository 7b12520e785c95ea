//! Whole callback requests: the query string and body WeCom sent, in; plaintext out.
//!
//! So a web handler is a few lines: hand over the raw query string and body bytes.

use super::xml::{malformed, parse_fields};
use super::{Callback, CallbackCrypto};
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
pub fn encrypted_payload(body: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("body", "the body is not UTF-8"))?;
    let fields = parse_fields(text)?;
    fields
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("encrypt"))
        .and_then(|(_, value)| value.as_str())
        .map(str::to_string)
        .ok_or_else(|| malformed("body", "the body has no Encrypt element"))
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
    pub fn decrypt_request(&self, query: &str, body: &[u8]) -> Result<String> {
        let q = CallbackQuery::parse(query)?;
        let encrypt = encrypted_payload(body)?;
        self.decrypt(&q.msg_signature, &q.timestamp, &q.nonce, &encrypt)
    }

    /// [`decrypt_request`](Self::decrypt_request), then [`Callback::parse`].
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
    }
}
