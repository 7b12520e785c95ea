//! What sends a [`Client`](super::Client)'s requests: a plain `reqwest::Client`, or (cargo
//! feature `middleware`) a `reqwest_middleware::ClientWithMiddleware`, whose layers see
//! each attempt. Tokens, the rate limiter, retries, deadlines and redaction stay ours,
//! around the stack.

use std::borrow::Cow;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use crate::error::Error;

/// The HTTP client a `Client` sends with.
#[derive(Clone)]
pub(crate) enum Http {
    Plain(reqwest::Client),
    #[cfg(feature = "middleware")]
    Layered(reqwest_middleware::ClientWithMiddleware),
}

/// A request being built, for either kind of client.
pub(crate) enum HttpRequest {
    Plain(reqwest::RequestBuilder),
    #[cfg(feature = "middleware")]
    Layered(reqwest_middleware::RequestBuilder),
}

/// Why a request got no response.
pub(crate) enum SendError {
    Reqwest(reqwest::Error),
    #[cfg(feature = "middleware")]
    Middleware(String),
}

impl Http {
    pub(crate) fn request(&self, method: reqwest::Method, url: reqwest::Url) -> HttpRequest {
        match self {
            Http::Plain(c) => HttpRequest::Plain(c.request(method, url)),
            #[cfg(feature = "middleware")]
            Http::Layered(c) => HttpRequest::Layered(c.request(method, url)),
        }
    }

    pub(crate) fn has_middleware(&self) -> bool {
        !matches!(self, Http::Plain(_))
    }
}

impl HttpRequest {
    pub(crate) fn timeout(self, timeout: Duration) -> Self {
        match self {
            HttpRequest::Plain(r) => HttpRequest::Plain(r.timeout(timeout)),
            #[cfg(feature = "middleware")]
            HttpRequest::Layered(r) => HttpRequest::Layered(r.timeout(timeout)),
        }
    }

    pub(crate) fn header(self, name: HeaderName, value: HeaderValue) -> Self {
        match self {
            HttpRequest::Plain(r) => HttpRequest::Plain(r.header(name, value)),
            #[cfg(feature = "middleware")]
            HttpRequest::Layered(r) => HttpRequest::Layered(r.header(name, value)),
        }
    }

    pub(crate) fn body(self, body: impl Into<reqwest::Body>) -> Self {
        match self {
            HttpRequest::Plain(r) => HttpRequest::Plain(r.body(body)),
            #[cfg(feature = "middleware")]
            HttpRequest::Layered(r) => HttpRequest::Layered(r.body(body)),
        }
    }

    pub(crate) async fn send(self) -> Result<reqwest::Response, SendError> {
        match self {
            HttpRequest::Plain(r) => r.send().await.map_err(SendError::Reqwest),
            #[cfg(feature = "middleware")]
            HttpRequest::Layered(r) => r.send().await.map_err(|e| match e {
                reqwest_middleware::Error::Reqwest(e) => SendError::Reqwest(e),
                // `{:#}`: the error with its causes. Redacted: a layer may quote the URL.
                reqwest_middleware::Error::Middleware(e) => {
                    SendError::Middleware(crate::redact::redact(&format!("{e:#}")).into_owned())
                }
            }),
        }
    }
}

impl SendError {
    pub(crate) fn into_error(self, endpoint: Cow<'static, str>) -> Error {
        match self {
            SendError::Reqwest(e) => Error::transport(endpoint, e),
            #[cfg(feature = "middleware")]
            SendError::Middleware(message) => Error::Middleware { endpoint, message },
        }
    }
}
