//! Blanking of secrets in text that can reach a user: error excerpts, error messages, logs.
//!
//! Bodies and messages are scanned for sensitive keys in the two shapes WeCom uses,
//! JSON (`"access_token": "..."`, also when JSON sits escaped inside a string) and query
//! strings (`corpsecret=...`), and the value is replaced by [`MASK`].

use std::borrow::Cow;

/// What a blanked value is replaced with.
pub(crate) const MASK: &str = "***";

/// Bytes of body looked at for an excerpt: enough for any error payload, bounded for big
/// bodies so an error path stays cheap.
const EXCERPT_WINDOW: usize = 4096;

/// Default length of an excerpt in characters.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// Whether the value of `key` must never be shown.
///
/// Keys are compared without case, `_` or `-`, so `access_token`, `AccessToken` and
/// `ACCESS-TOKEN` are one key. Covers every `*token` (`suite_access_token`, callbacks'
/// `Token`), `*ticket` (`SuiteTicket`), `*secret` (`corpsecret`), `*aeskey`
/// (`EncodingAESKey`), passwords, and the one-time or long-lived codes of OAuth and the
/// callbacks: `code`, `AuthCode`, `PermanentCode`, `RegisterCode`, `ActiveCode`,
/// `WelcomeCode`, `ResponseCode`, `pre_auth_code`, `session_key`, 获客助手's `ChatKey` (reads a
/// member's received messages for 30 minutes); and an AI bot's `response_url`, whose query
/// carries a one-time `response_code`.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    const SUFFIXES: [&str; 6] = ["token", "ticket", "secret", "aeskey", "password", "passwd"];
    // `key`: a group robot's webhook key, which is its whole credential.
    const EXACT: [&str; 13] = [
        "key",
        "chatkey",
        "code",
        "preauthcode",
        "responseurl",
        "authcode",
        "permanentcode",
        "registercode",
        "activecode",
        "previousactivecode",
        "welcomecode",
        "responsecode",
        "sessionkey",
    ];
    let mut norm = String::with_capacity(key.len());
    norm.extend(
        key.chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .map(|c| c.to_ascii_lowercase()),
    );
    SUFFIXES.iter().any(|s| norm.ends_with(s)) || EXACT.contains(&norm.as_str())
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Ends a bare (unquoted) value.
fn is_value_end(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'&' | b'"' | b'\'' | b'#' | b',' | b';' | b'<' | b'>' | b'\\' | b')' | b']' | b'}'
        )
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Byte range of the value that follows a sensitive key ending at `i`, if any.
/// All returned indices sit on ASCII bytes (or the end), so they are char boundaries.
fn value_span(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let n = b.len();
    if i < n && b[i] == b'=' {
        let start = i + 1;
        let end = (start..n).find(|&k| is_value_end(b[k])).unwrap_or(n);
        return (end > start).then_some((start, end));
    }
    // JSON / debug form: optional closing quote (maybe escaped), `:`, the value.
    let mut p = i;
    if p < n && b[p] == b'\\' {
        p += 1;
    }
    if p < n && b[p] == b'"' {
        p += 1;
    }
    p = skip_ws(b, p);
    if p >= n || b[p] != b':' {
        return None;
    }
    p = skip_ws(b, p + 1);
    if p >= n {
        return None;
    }
    let (start, end) = if b[p] == b'"' {
        // Plain JSON string: up to the first unescaped quote.
        let start = p + 1;
        let mut k = start;
        while k < n && b[k] != b'"' {
            k += if b[k] == b'\\' { 2 } else { 1 };
        }
        (start, k.min(n))
    } else if b[p] == b'\\' && p + 1 < n && b[p + 1] == b'"' {
        // JSON escaped inside a string: the value ends at the next backslash.
        let start = p + 2;
        let end = (start..n)
            .find(|&k| b[k] == b'\\' || b[k] == b'"')
            .unwrap_or(n);
        (start, end)
    } else if b[p] == b'{' || b[p] == b'[' {
        // A structure: its own keys are handled one by one.
        return None;
    } else {
        let end = (p..n).find(|&k| is_value_end(b[k])).unwrap_or(n);
        (p, end)
    };
    (end > start).then_some((start, end))
}

/// Returns `text` with the value of every sensitive key, and the user and password of
/// every URL (`redis://user:pass@host`), replaced by [`MASK`].
pub(crate) fn redact(text: &str) -> Cow<'_, str> {
    match redact_keys(text) {
        Cow::Borrowed(t) => redact_userinfo(t),
        Cow::Owned(t) => Cow::Owned(redact_userinfo(&t).into_owned()),
    }
}

/// A URL (or any text) with the credentials WeCom requests carry blanked: the values of
/// `access_token`, `corpsecret`, a robot's `key`, every `*_token`, `*ticket`, `*secret` and
/// one-time code in its query, and a `user:password@` before its host. For middleware and
/// logs that see the URLs the client sends.
///
/// ```
/// let url = "https://qyapi.weixin.qq.com/cgi-bin/user/get?access_token=T0KEN&userid=zhangsan";
/// assert_eq!(
///     wecom_api::redact_url(url),
///     "https://qyapi.weixin.qq.com/cgi-bin/user/get?access_token=***&userid=zhangsan"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    redact(url).into_owned()
}

/// Blanks `user:pass` in `scheme://user:pass@host`.
pub(crate) fn redact_userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str(MASK);
                out.push_str(&authority[i..]);
                changed = true;
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Returns `text` with the value of every sensitive key replaced by [`MASK`].
fn redact_keys(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !is_ident(b[i]) || (i > 0 && is_ident(b[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        if !is_sensitive_key(&text[start..i]) {
            continue;
        }
        if let Some((vs, ve)) = value_span(b, i) {
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[copied..vs]);
            buf.push_str(MASK);
            copied = ve;
            i = ve;
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// A short, redacted, single-line excerpt of a response body for error messages.
pub(crate) fn excerpt(body: &[u8], max_chars: usize) -> String {
    let window = &body[..body.len().min(EXCERPT_WINDOW)];
    let text = String::from_utf8_lossy(window);
    // Redact before cutting so a cut can never split a key from its value.
    let clean = redact(&text);
    let mut out = String::with_capacity(max_chars.min(clean.len()) + 3);
    let mut chars = clean.chars();
    for c in chars.by_ref().take(max_chars) {
        out.push(if c == '\n' || c == '\r' { ' ' } else { c });
    }
    if chars.next().is_some() || body.len() > window.len() {
        out.push('…');
    }
    out
}

/// Cleans a decode error message: serde quotes offending values verbatim
/// (`invalid type: string "..."`), so when the field path names a sensitive key every
/// quoted part is blanked as well.
pub(crate) fn scrub_message(path: &str, message: &str) -> String {
    let sensitive_path = path
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|seg| !seg.is_empty() && is_sensitive_key(seg));
    let message = redact(message);
    if !sensitive_path {
        return message.into_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut in_quote = false;
    for c in message.chars() {
        if c == '"' {
            if in_quote {
                out.push_str(MASK);
            }
            out.push(c);
            in_quote = !in_quote;
        } else if !in_quote {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_json_values() {
        let s = r#"{"errcode":0,"access_token":"TOKEN123","expires_in":7200}"#;
        assert_eq!(
            redact(s),
            r#"{"errcode":0,"access_token":"***","expires_in":7200}"#
        );
        let s = r#"{ "ticket" : "bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA" }"#;
        assert_eq!(redact(s), r#"{ "ticket" : "***" }"#);
        let s = r#"{"EncodingAESKey":"abc","Secret":"s\"x","name":"ok"}"#;
        assert_eq!(
            redact(s),
            r#"{"EncodingAESKey":"***","Secret":"***","name":"ok"}"#
        );
    }

    #[test]
    fn blanks_query_values() {
        let s = "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=SECRET-XYZ&x=1";
        assert_eq!(
            redact(s),
            "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=***&x=1"
        );
        let s = "url: http://h/cgi-bin/user/get?access_token=T0K&userid=a";
        assert_eq!(
            redact(s),
            "url: http://h/cgi-bin/user/get?access_token=***&userid=a"
        );
        assert_eq!(redact("jsapi_ticket=abc"), "jsapi_ticket=***");
    }

    #[test]
    fn blanks_escaped_json_and_debug_form() {
        let s = r#""{\"access_token\":\"TOK\",\"a\":1}""#;
        assert_eq!(redact(s), r#""{\"access_token\":\"***\",\"a\":1}""#);
        assert_eq!(
            redact(r#"Token { access_token: "TOK", n: 1 }"#),
            r#"Token { access_token: "***", n: 1 }"#
        );
        assert_eq!(
            redact(r#"{"suite_ticket": 12345}"#),
            r#"{"suite_ticket": ***}"#
        );
    }

    #[test]
    fn keys_match_without_case_or_underscores() {
        for key in [
            "AuthCode",
            "PermanentCode",
            "permanent_code",
            "SuiteTicket",
            "suite_ticket",
            "AccessToken",
            "ACCESS-TOKEN",
            "EncodingAESKey",
            "encoding_aes_key",
            "RegisterCode",
            "WelcomeCode",
            "ResponseCode",
            "pre_auth_code",
            "PreAuthCode",
            "response_url",
            "ResponseUrl",
            "ActiveCode",
            "code",
            "SessionKey",
            "password",
        ] {
            assert!(is_sensitive_key(key), "{key}");
        }
        for key in [
            "errcode",
            "ErrCode",
            "ChangeType",
            "EventKey",
            "userid",
            "token_count",
        ] {
            assert!(!is_sensitive_key(key), "{key}");
        }
        assert_eq!(
            redact(r#"{"AuthCode":"AC","PermanentCode":"PC"}"#),
            r#"{"AuthCode":"***","PermanentCode":"***"}"#
        );
    }

    #[test]
    fn blanks_pre_auth_codes_and_response_urls() {
        let s = r#"{"errcode":0,"pre_auth_code":"Cx_Dk6qiBE0Dmx4EmlT3oRfArPvwSQ-oa3NL_fwHM7VI08r52wazoZX2Rhpz1dEw","expires_in":1200}"#;
        assert_eq!(
            redact(s),
            r#"{"errcode":0,"pre_auth_code":"***","expires_in":1200}"#
        );
        let s = r#"{"msgtype":"text","response_url":"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC123","text":{"content":"hi"}}"#;
        let clean = redact(s);
        assert!(!clean.contains("RC123"), "{clean}");
        assert!(clean.contains(r#""response_url":"***""#), "{clean}");
        assert_eq!(
            redact("ResponseUrl=https://h/x?response_code=RC9&a=1"),
            "ResponseUrl=***&a=1"
        );
    }

    #[test]
    fn blanks_url_passwords() {
        assert_eq!(
            redact("connect to redis://user:p4ss@127.0.0.1:6379/0 failed"),
            "connect to redis://***@127.0.0.1:6379/0 failed"
        );
        assert_eq!(
            redact("http://u:p@h:1/x?a=1 and https://h2/"),
            "http://***@h:1/x?a=1 and https://h2/"
        );
        assert!(matches!(
            redact("https://qyapi.weixin.qq.com/cgi-bin"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn leaves_other_text_alone() {
        let s = r#"{"errcode":40014,"errmsg":"invalid access_token, hint: [x]","userid":"zhangsan","token_count":3}"#;
        assert!(matches!(redact(s), Cow::Borrowed(_)));
        assert_eq!(redact("中文 access_token 无值"), "中文 access_token 无值");
        assert_eq!(redact(""), "");
    }

    #[test]
    fn unterminated_values_are_blanked_to_the_end() {
        assert_eq!(
            redact(r#"{"access_token":"TOKEN"#),
            r#"{"access_token":"***"#
        );
        assert_eq!(redact("corpsecret=abc"), "corpsecret=***");
    }

    #[test]
    fn excerpt_is_short_redacted_and_char_safe() {
        let mut body = String::from(r#"{"ticket":"SECRET-TICKET","name":""#);
        body.push_str(&"张".repeat(500));
        body.push_str("\"}");
        let e = excerpt(body.as_bytes(), EXCERPT_CHARS);
        assert!(!e.contains("SECRET-TICKET"));
        assert!(e.chars().count() <= EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"line1\nline2", 200), "line1 line2");
    }

    #[test]
    fn scrub_message_hides_quoted_values_of_sensitive_fields() {
        let m = r#"invalid type: string "TOPSECRET", expected i64 at line 1 column 30"#;
        let s = scrub_message("ticket", m);
        assert!(!s.contains("TOPSECRET"));
        assert!(s.contains("expected i64"));
        let s = scrub_message("user.name", m);
        assert!(s.contains("TOPSECRET"));
    }
}
