//! Pushing callbacks: a plaintext sealed with `wecom_api`'s WXBizMsgCrypt, POSTed to a URL
//! as WeCom would.

use std::fmt;

use wecom_api::callback::CallbackCrypto;

/// The plaintext of a callback, in the envelope WeCom uses for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// An XML callback (messages, events, suite notifications): sealed into `<xml><Encrypt>`.
    Xml(String),
    /// A JSON callback (intelligent robots): sealed into `{"encrypt": ...}`.
    Json(String),
}

/// What the callback server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReply {
    pub status: u16,
    pub body: String,
}

/// Why a push failed before an answer came back.
#[derive(Debug)]
pub enum PushError {
    /// Sealing failed (a bad plaintext for the envelope).
    Seal(wecom_api::Error),
    /// The POST failed (connection refused, timeout, ...).
    Send(String),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Seal(error) => write!(f, "sealing the callback failed: {error}"),
            PushError::Send(error) => write!(f, "posting the callback failed: {error}"),
        }
    }
}

impl std::error::Error for PushError {}

/// Seals `callback` for `crypto`'s token, EncodingAESKey and receive id and POSTs it to `url`
/// with `msg_signature`, `timestamp` and `nonce` in the query.
pub async fn push(
    url: &str,
    crypto: &CallbackCrypto,
    callback: &Callback,
) -> Result<PushReply, PushError> {
    let plaintext = match callback {
        Callback::Xml(text) | Callback::Json(text) => text,
    };
    let sealed = crypto.seal_request(plaintext).map_err(PushError::Seal)?;
    let body = match callback {
        Callback::Xml(_) => sealed.body,
        // The signature covers the ciphertext only, so the same one serves a JSON envelope.
        Callback::Json(_) => {
            let encrypt =
                between(&sealed.body, "<Encrypt><![CDATA[", "]]></Encrypt>").unwrap_or_default();
            serde_json::json!({ "encrypt": encrypt }).to_string()
        }
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let target = format!("{url}{separator}{}", sealed.query);
    let response = wecom_api::reqwest::Client::new()
        .post(target)
        .body(body)
        .send()
        .await
        .map_err(|e| PushError::Send(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| PushError::Send(e.without_url().to_string()))?;
    Ok(PushReply { status, body })
}

fn between<'t>(text: &'t str, start: &str, end: &str) -> Option<&'t str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// The suite_ticket notification WeCom pushes every ten minutes.
pub fn suite_ticket_xml(suite_id: &str, ticket: &str, timestamp: u64) -> String {
    format!(
        "<xml><SuiteId><![CDATA[{suite_id}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>{timestamp}</TimeStamp><SuiteTicket><![CDATA[{ticket}]]></SuiteTicket></xml>"
    )
}
