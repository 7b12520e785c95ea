// The crate's front page is README.md: its typed tour is compiled and run as doctests, so
// an example there can never break unnoticed.
#![doc = include_str!("../README.md")]
// The Finance SDK is C code loaded at run time: its calls (finance/ffi.rs only) are the one
// place allowed `unsafe`, and only when the `finance` feature is on.
#![cfg_attr(not(feature = "finance"), forbid(unsafe_code))]
#![cfg_attr(feature = "finance", deny(unsafe_code))]
#![warn(missing_docs)]

// Built on generated types, which lib unit tests leave out.
#[cfg(all(feature = "aibot", not(test)))]
pub mod aibot;
pub mod callback;
pub mod chunked_upload;
mod client;
mod corp;
pub mod de;
mod error;
// Reads generated types, which the crate's unit tests compile out (see generated/mod.rs).
#[cfg(all(feature = "finance", not(test)))]
pub mod finance;
#[allow(missing_docs)]
mod generated;
pub mod jssdk;
pub mod media;
pub mod oauth;
pub mod operation;
mod paging;
pub mod ratelimit;
mod redact;
#[cfg(feature = "redis")]
mod redis_conn;
mod retry;
// Runtime additions to a generated group.
#[cfg(all(feature = "robot", not(test)))]
mod robot_image;
mod secret;
pub mod token;
mod union;

use std::future::Future;
use std::pin::Pin;

pub use client::{Client, ClientBuilder, CorpGroupKind};
pub use corp::{Corp, CorpBuilder};
pub use error::{Error, Result, TransportKind};
// Generated groups (`contacts`, `base`, ...), each behind its cargo feature (and left out of
// the runtime's unit-test build).
#[cfg(not(test))]
pub use generated::*;
pub use media::{Download, DownloadStream, UploadFile};
pub use paging::Paged;
pub use redact::redact_url;
/// The HTTP client the runtime uses: [`ClientBuilder::http_client`] takes a `reqwest::Client`.
pub use reqwest;
/// The middleware stack [`ClientBuilder::http_middleware`] takes (cargo feature `middleware`).
#[cfg(feature = "middleware")]
pub use reqwest_middleware;
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
