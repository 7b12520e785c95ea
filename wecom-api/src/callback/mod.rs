//! Receiving callbacks: what WeCom pushes to the application's callback URL.
//!
//! - [`CallbackCrypto`] checks the signature and decrypts (WXBizMsgCrypt), answers the URL
//!   verification, and encrypts passive replies.
//! - [`Callback`] is the decrypted message or event, typed from `spec/callbacks.yaml`:
//!   dispatched on `MsgType`, `Event`, `InfoType` and `ChangeType`, with an `Unknown`
//!   variant (keeping every element) for anything this version does not know.
//! - [`Reply`] builds passive replies; [`Dedup`] (or any [`DedupStore`]) skips WeCom's
//!   retries.
//!
//! A handler, whatever the web framework:
//!
//! ```
//! use wecom_api::callback::{Callback, CallbackCrypto, Claim, Dedup, Message, Reply};
//!
//! /// `Ok(None)`: answer 503, so WeCom retries later.
//! fn on_post(crypto: &CallbackCrypto, dedup: &Dedup, query: &str, body: &[u8])
//!     -> wecom_api::Result<Option<String>>
//! {
//!     let callback = crypto.open_request(query, body)?;
//!     let claim = match dedup.claim(&callback.dedup_key()) {
//!         Claim::New(claim) => claim,
//!         Claim::Done => return Ok(Some(String::new())), // a retry of a handled one
//!         Claim::InProgress => return Ok(None), // the first attempt may still fail
//!     };
//!     let answer = match &callback {
//!         Callback::Message(Message::Text(text)) => {
//!             let echo = text.content.clone().unwrap_or_default();
//!             Reply::text(echo).to(&callback).encrypt_now(crypto)?
//!         }
//!         other => {
//!             println!("{}", other.kind());
//!             String::new() // an empty 200 answers without a reply
//!         }
//!     };
//!     claim.done(); // handled: WeCom's retries are skipped from now on
//!     Ok(Some(answer))
//! }
//! ```

mod crypto;
// Only the generated callback types read through it.
#[cfg(feature = "callbacks")]
pub(crate) mod de;
mod dedup;
#[cfg(feature = "callbacks")]
mod endpoint;
#[cfg(feature = "axum")]
mod endpoint_axum;
mod fields;
#[cfg(feature = "callbacks")]
pub(crate) mod intake;
#[cfg(feature = "callbacks")]
mod registry;
#[cfg(feature = "callbacks")]
mod reply;
mod request;
#[cfg(feature = "callbacks")]
mod router;
#[cfg(all(feature = "callbacks", feature = "provider"))]
mod suite;
pub mod testing;
// The reply writer serves the typed replies only (feature `callbacks`).
#[cfg_attr(not(feature = "callbacks"), allow(dead_code))]
pub(crate) mod xml;

// The typed messages, events and replies: cargo feature `callbacks` (on by default). Without
// it, the crypto, the element tree (`Fields`) and dedup remain.
#[cfg(feature = "callbacks")]
pub use crate::generated::callbacks::*;
pub use crypto::{CallbackCrypto, DEFAULT_MAX_AGE};
#[cfg(feature = "redis")]
pub use dedup::RedisDedup;
pub use dedup::{
    Claim, Claimed, DEFAULT_DEDUP_WINDOW, Dedup, DedupClaim, DedupFuture, DedupStore, OwnedClaim,
};
#[cfg(feature = "callbacks")]
pub use endpoint::{Answer, DEFAULT_BUDGET, DEFAULT_MAX_HANDLERS, Endpoint};
pub use fields::Fields;
#[cfg(feature = "callbacks")]
pub use registry::{Opened, Registry, Source};
pub use request::{CallbackQuery, DEFAULT_MAX_BODY, encrypted_payload};
#[cfg(feature = "callbacks")]
pub use router::{Context, FromCallback, HandlerError, HandlerResult, Router};
#[cfg(all(feature = "callbacks", feature = "provider", feature = "redis"))]
pub use suite::RedisPermanentCodes;
#[cfg(all(feature = "callbacks", feature = "provider"))]
pub use suite::{Authorization, MemoryPermanentCodes, PermanentCodeStore, SuiteLifecycle};
pub use testing::SealedRequest;
pub use xml::parse_fields;

#[cfg(feature = "callbacks")]
use crate::Result;

#[cfg(feature = "callbacks")]
impl Callback {
    /// Parses a decrypted callback, XML or JSON.
    ///
    /// ```
    /// use wecom_api::callback::{Callback, Event};
    /// let xml = "<xml><FromUserName><![CDATA[zhangsan]]></FromUserName>\
    ///            <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>";
    /// let Callback::Event(Event::Subscribe(event)) = Callback::parse(xml)? else { panic!() };
    /// assert_eq!(event.from_user_name.as_deref(), Some("zhangsan"));
    /// # Ok::<(), wecom_api::Error>(())
    /// ```
    pub fn parse(plaintext: &str) -> Result<Self> {
        Callback::from_fields(parse_fields(plaintext)?)
    }

    /// Every element, typed ones written back in their wire names.
    pub fn to_fields(&self) -> Fields {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => Fields(map),
            _ => Fields::default(),
        }
    }
}

#[cfg(feature = "callbacks")]
impl Reply {
    /// Parses reply XML (as [`to_xml`](Self::to_xml) writes it).
    pub fn parse(plaintext: &str) -> Result<Self> {
        Reply::from_fields(parse_fields(plaintext)?)
    }
}
