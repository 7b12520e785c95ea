//! Typed client for the WeCom (企业微信) server API.
//!
//! A [`Client`] holds one corp id and one secret (WeCom issues a separate access token per
//! secret: app, contacts sync, customer contact, ...). It fetches and caches the access
//! token, checks every response's `errcode`, retries what is safe to retry, and keeps
//! secrets out of errors and logs.
//!
//! ```no_run
//! # async fn demo() -> wecom_api::Result<()> {
//! let client = wecom_api::Client::builder()
//!     .corp_id("ww0123456789abcdef")
//!     .secret("app-or-contacts-secret")
//!     .build()?;
//!
//! // Endpoints not (yet) in the spec: raw JSON with the same token, checks and retries.
//! let user = client
//!     .get_json("/cgi-bin/user/get", &[("userid", "zhangsan")])
//!     .await?;
//! println!("{}", user["name"]);
//!
//! match client.get_json("/cgi-bin/user/get", &[("userid", "nobody")]).await {
//!     Err(e) if e.errcode() == Some(60111) => println!("no such user"),
//!     other => println!("{other:?}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Every call runs in a `wecom.call` [`tracing`] span with the endpoint id, method,
//! attempt, errcode and latency; URLs (whose query carries the token) are never logged.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod callback;
mod client;
mod corp;
pub mod de;
mod error;
#[allow(missing_docs)]
mod generated;
pub mod jssdk;
pub mod media;
pub mod oauth;
pub mod operation;
mod paging;
mod redact;
mod retry;
mod secret;
pub mod token;
mod union;

use std::future::Future;
use std::pin::Pin;

pub use client::{Client, ClientBuilder};
pub use corp::{Corp, CorpBuilder};
pub use error::{Error, Result, TransportKind};
// Generated groups (`contacts`, `base`, ...), each behind its cargo feature.
pub use generated::*;
pub use media::{Download, DownloadStream, UploadFile};
pub use retry::{RetryPolicy, RetrySafety};
pub use secret::Secret;
pub use token::{MemoryTokenStore, TokenStore};

/// A boxed, `Send` future: what generated builders return from `into_future`.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Meaning of a global WeCom errcode (from the spec's errcode table), if known.
///
/// ```
/// // -1 is documented as "system busy".
/// let _ = wecom_api::errcode_meaning(-1);
/// assert_eq!(wecom_api::errcode_meaning(123_456_789), None);
/// ```
pub fn errcode_meaning(code: i64) -> Option<&'static str> {
    generated::errcodes::describe(code)
}
