//! Helpers for testing your own callback handler: seal a plaintext into the request WeCom
//! would send, and open the encrypted reply your handler returns. Real crypto, real
//! signatures: a handler that passes with these passes with WeCom.
//!
//! ```
//! use wecom_api::callback::CallbackCrypto;
//!
//! # fn main() -> wecom_api::Result<()> {
//! let crypto = CallbackCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
//! let text = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\
//!     <FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1348831860</CreateTime>\
//!     <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>\
//!     <MsgId>1234567890123456</MsgId><AgentID>1</AgentID></xml>";
//! let request = crypto.seal_request(text)?;
//! // Hand `request.query` and `request.body` to your handler, as your web framework would.
//! let opened = crypto.open_request(&request.query, request.body.as_bytes())?;
//! assert!(opened.dedup_key().contains("1234567890123456"));
//! # Ok(())
//! # }
//! ```

use super::crypto::random_nonce;
use super::{CallbackCrypto, encrypted_payload};
use crate::{Error, Result};

/// A callback POST as WeCom sends it: the raw query string (`msg_signature`, `timestamp`,
/// `nonce`) and the XML body carrying `Encrypt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRequest {
    /// Raw query string, without the `?`.
    pub query: String,
    /// The POST body.
    pub body: String,
}

impl CallbackCrypto {
    /// Encrypts and signs `plaintext` (a callback's XML or JSON) into the request WeCom would
    /// POST to your callback URL, stamped with the current time.
    pub fn seal_request(&self, plaintext: &str) -> Result<SealedRequest> {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        self.seal_request_at(plaintext, &timestamp, &random_nonce())
    }

    /// [`seal_request`](Self::seal_request) with a chosen timestamp and nonce (to test
    /// freshness windows or replays).
    pub fn seal_request_at(
        &self,
        plaintext: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<SealedRequest> {
        let encrypt = self.encrypt_with_prefix(plaintext.as_bytes(), rand::random())?;
        let signature = self.signature(timestamp, nonce, &encrypt);
        let receiver = self.receive_id();
        Ok(SealedRequest {
            query: format!("msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"),
            body: format!(
                "<xml><ToUserName><![CDATA[{receiver}]]></ToUserName>\
                 <AgentID><![CDATA[]]></AgentID><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            ),
        })
    }

    /// The query string of WeCom's URL verification (the GET sent when a callback URL is
    /// saved) whose `echostr` decrypts to `echo`: what [`verify_url_request`]
    /// (Self::verify_url_request) must answer with `echo`.
    ///
    /// ```
    /// # use wecom_api::callback::CallbackCrypto;
    /// let crypto = CallbackCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww1")?;
    /// let query = crypto.seal_verification("1616140317555161061")?;
    /// assert_eq!(crypto.verify_url_request(&query)?, "1616140317555161061");
    /// # Ok::<(), wecom_api::Error>(())
    /// ```
    pub fn seal_verification(&self, echo: &str) -> Result<String> {
        let request = self.seal_request(echo)?;
        let encrypt = encrypted_payload(request.body.as_bytes())?;
        Ok(format!(
            "{}&echostr={}",
            request.query,
            percent_encode(&encrypt)
        ))
    }

    /// [`seal_request`](Self::seal_request) with a JSON body (`{"encrypt": "..."}`), as
    /// WeCom sends JSON callbacks (AI bots, for example).
    pub fn seal_json_request(&self, plaintext: &str) -> Result<SealedRequest> {
        let sealed = self.seal_request(plaintext)?;
        let encrypt = encrypted_payload(sealed.body.as_bytes())?;
        Ok(SealedRequest {
            query: sealed.query,
            body: serde_json::json!({ "encrypt": encrypt }).to_string(),
        })
    }

    /// Verifies and decrypts an encrypted passive reply (the body your handler returned),
    /// giving the reply's plaintext XML.
    pub fn open_reply(&self, reply_body: &str) -> Result<String> {
        let fields = super::parse_fields(reply_body)?;
        let value = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .and_then(|(_, value)| value.as_str())
                .map(str::to_string)
                .ok_or_else(|| Error::invalid_argument("reply", format!("no {name} element")))
        };
        let encrypt = encrypted_payload(reply_body.as_bytes())?;
        self.decrypt(
            &value("MsgSignature")?,
            &value("TimeStamp")?,
            &value("Nonce")?,
            &encrypt,
        )
    }
}

/// Percent-encodes what base64 holds that a query value cannot carry as is.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '+' => out.push_str("%2B"),
            '/' => out.push_str("%2F"),
            '=' => out.push_str("%3D"),
            '&' => out.push_str("%26"),
            other => out.push(other),
        }
    }
    out
}
