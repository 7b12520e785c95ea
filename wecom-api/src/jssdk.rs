//! JS-SDK: the signature of a page, and ready-to-serialize parameters of `wx.config` and
//! `wx.agentConfig`.
//!
//! `wx.config` is signed with the corp's `jsapi_ticket` (`/cgi-bin/get_jsapi_ticket`),
//! `wx.agentConfig` with the app's ticket (`/cgi-bin/ticket/get?type=agent_config`). A
//! [`Client`] fetches both with its access token and caches them like the token (same
//! store, one fetch however many callers, across processes with a shared store): they
//! last 7200 s and WeCom limits how often they may be fetched.
//!
//! ```no_run
//! # async fn demo(client: wecom_api::Client) -> Result<(), Box<dyn std::error::Error>> {
//! // In the handler that serves the page (the URL the browser shows, fragment or not):
//! let config = client.wx_config("https://app.example.com/page?x=1#/route").await?;
//! let json = serde_json::to_string(&config)?; // {"appId":..,"timestamp":..,"nonceStr":..,"signature":..}
//! # Ok(())
//! # }
//! ```

use std::fmt::Write as _;

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::client::{Client, TicketKind};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::now_unix;

/// Length of the nonces made by [`nonce`].
const NONCE_LEN: usize = 16;

/// The part of `url` that is signed: everything before the first `#`.
pub fn signed_url(url: &str) -> &str {
    url.split_once('#').map_or(url, |(before, _)| before)
}

/// The string that is hashed: `jsapi_ticket=..&noncestr=..&timestamp=..&url=..`, values
/// verbatim (no URL encoding), the URL without its fragment. It holds the ticket: do not
/// log it.
pub fn string_to_sign(ticket: &str, noncestr: &str, timestamp: u64, url: &str) -> String {
    format!(
        "jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={}",
        signed_url(url)
    )
}

/// The JS-SDK signature: SHA-1 of [`string_to_sign`], in lowercase hex. The same algorithm
/// serves `wx.config` (corp ticket) and `wx.agentConfig` (app ticket). The URL's
/// `#fragment` is not signed.
///
/// ```
/// let sig = wecom_api::jssdk::signature(
///     "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
///     "Wm3WZYTPz0wzccnW",
///     1414587457,
///     "http://mp.weixin.qq.com?params=value",
/// );
/// assert_eq!(sig, "0f9de62fce790f9a083d5c99e95740ceb90c27ed");
/// ```
pub fn signature(ticket: &str, noncestr: &str, timestamp: u64, url: &str) -> String {
    let digest = Sha1::digest(string_to_sign(ticket, noncestr, timestamp, url).as_bytes());
    let mut out = String::with_capacity(40);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A random nonce of 16 letters and digits.
pub fn nonce() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(NONCE_LEN)
        .map(char::from)
        .collect()
}

/// Parameters of `wx.config`, serialized with the JS-SDK's field names
/// (`appId`, `timestamp`, `nonceStr`, `signature`, and `jsApiList` when given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WxConfig {
    /// The corp id.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// Unix seconds when signed.
    pub timestamp: u64,
    /// The nonce that was signed.
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    /// The signature.
    pub signature: String,
    /// The JS APIs the page uses; left out when empty (the page then sets it).
    #[serde(rename = "jsApiList", default, skip_serializing_if = "Vec::is_empty")]
    pub js_api_list: Vec<String>,
}

impl WxConfig {
    /// Signs `url` for the corp `corp_id` with its `jsapi_ticket`.
    pub fn sign(corp_id: &str, ticket: &str, url: &str, nonce_str: &str, timestamp: u64) -> Self {
        WxConfig {
            app_id: corp_id.to_owned(),
            timestamp,
            nonce_str: nonce_str.to_owned(),
            signature: signature(ticket, nonce_str, timestamp, url),
            js_api_list: Vec::new(),
        }
    }

    /// Sets `jsApiList`.
    #[must_use]
    pub fn js_api_list<I, S>(mut self, apis: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.js_api_list = apis.into_iter().map(Into::into).collect();
        self
    }
}

/// Parameters of `wx.agentConfig`, serialized with the JS-SDK's field names
/// (`corpid`, `agentid`, `timestamp`, `nonceStr`, `signature`, and `jsApiList` when
/// given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentConfig {
    /// The corp id.
    pub corpid: String,
    /// The app's agentid.
    pub agentid: i64,
    /// Unix seconds when signed.
    pub timestamp: u64,
    /// The nonce that was signed.
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    /// The signature.
    pub signature: String,
    /// The JS APIs the page uses; left out when empty (the page then sets it).
    #[serde(rename = "jsApiList", default, skip_serializing_if = "Vec::is_empty")]
    pub js_api_list: Vec<String>,
}

impl AgentConfig {
    /// Signs `url` for the app `agent_id` of `corp_id` with the app's ticket.
    pub fn sign(
        corp_id: &str,
        agent_id: i64,
        ticket: &str,
        url: &str,
        nonce_str: &str,
        timestamp: u64,
    ) -> Self {
        AgentConfig {
            corpid: corp_id.to_owned(),
            agentid: agent_id,
            timestamp,
            nonce_str: nonce_str.to_owned(),
            signature: signature(ticket, nonce_str, timestamp, url),
            js_api_list: Vec::new(),
        }
    }

    /// Sets `jsApiList`.
    #[must_use]
    pub fn js_api_list<I, S>(mut self, apis: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.js_api_list = apis.into_iter().map(Into::into).collect();
        self
    }
}

fn check_url(url: &str) -> Result<()> {
    if signed_url(url).trim().is_empty() {
        return Err(Error::invalid_argument(
            "url",
            "must be the page's full URL (before any `#`)",
        ));
    }
    Ok(())
}

impl Client {
    /// The corp's `jsapi_ticket` (`/cgi-bin/get_jsapi_ticket`), cached in the token store.
    pub async fn jsapi_ticket(&self) -> Result<Secret> {
        let t = self.cached_ticket(TicketKind::Corp).await?;
        Ok(Secret::new(&*t))
    }

    /// The app's JS-SDK ticket (`/cgi-bin/ticket/get?type=agent_config`), cached in the
    /// token store. The client's secret must be that app's.
    pub async fn agent_ticket(&self) -> Result<Secret> {
        let t = self.cached_ticket(TicketKind::Agent).await?;
        Ok(Secret::new(&*t))
    }

    /// `wx.config` parameters for the page at `url`, signed now with a fresh nonce.
    pub async fn wx_config(&self, url: &str) -> Result<WxConfig> {
        check_url(url)?;
        let ticket = self.cached_ticket(TicketKind::Corp).await?;
        Ok(WxConfig::sign(
            self.corp_id(),
            &ticket,
            url,
            &nonce(),
            now_unix(),
        ))
    }

    /// `wx.agentConfig` parameters for the page at `url`, signed now with a fresh nonce.
    /// Needs the app's agentid ([`ClientBuilder::agent_id`](crate::ClientBuilder::agent_id)).
    pub async fn wx_agent_config(&self, url: &str) -> Result<AgentConfig> {
        check_url(url)?;
        let agent_id = self.agent_id().ok_or_else(|| {
            Error::invalid_argument(
                "agent_id",
                "is not set: give the app's agentid with ClientBuilder::agent_id",
            )
        })?;
        let ticket = self.cached_ticket(TicketKind::Agent).await?;
        Ok(AgentConfig::sign(
            self.corp_id(),
            agent_id,
            &ticket,
            url,
            &nonce(),
            now_unix(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_is_not_signed() {
        assert_eq!(
            signed_url("https://a.b/p?q=1#/x?y=2#z"),
            "https://a.b/p?q=1"
        );
        assert_eq!(signed_url("https://a.b/"), "https://a.b/");
        assert_eq!(
            signature("T", "n", 1, "https://a.b/p#frag"),
            signature("T", "n", 1, "https://a.b/p")
        );
        assert_ne!(
            signature("T", "n", 1, "https://a.b/p"),
            signature("T", "n", 2, "https://a.b/p")
        );
    }

    #[test]
    fn nonces_are_alphanumeric_and_differ() {
        let (a, b) = (nonce(), nonce());
        assert_eq!(a.len(), NONCE_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn configs_serialize_with_js_sdk_names() {
        let c = WxConfig::sign("wwcorp", "T", "https://a.b/", "nonce", 10);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"appId": "wwcorp", "timestamp": 10, "nonceStr": "nonce",
                "signature": signature("T", "nonce", 10, "https://a.b/")})
        );
        let a = AgentConfig::sign("wwcorp", 1000002, "T", "https://a.b/", "nonce", 10)
            .js_api_list(["getContext"]);
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["corpid"], "wwcorp");
        assert_eq!(v["agentid"], 1000002);
        assert_eq!(v["nonceStr"], "nonce");
        assert_eq!(v["jsApiList"], serde_json::json!(["getContext"]));
        assert_eq!(serde_json::from_value::<AgentConfig>(v).unwrap(), a);
    }
}
