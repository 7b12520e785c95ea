//! The one error type of the crate.
//!
//! Every text an [`Error`] carries is redacted when it is built: no `corpsecret`,
//! `access_token` or ticket can reach `Display`, `Debug` or a log line through it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::de::DecodeError;
use crate::redact;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// errcodes meaning the access token is invalid or expired: 40001 (invalid credential,
/// also returned for a wrong secret by gettoken), 40014 (invalid access_token),
/// 42001 (access_token expired).
pub(crate) const TOKEN_ERRCODES: [i64; 3] = [40001, 40014, 42001];

/// errcode -1: "system busy, retry later".
pub(crate) const ERRCODE_BUSY: i64 = -1;

/// errcodes of WeCom's rate limits, and how long to wait before trying again (WeCom does
/// not say): 45009 (calls over the per-minute/hour limit: its window is a minute),
/// 45033 (too many concurrent calls: a short pause), 45011 (calls too frequent).
pub(crate) const RATE_LIMIT_ERRCODES: [(i64, Duration); 3] = [
    (45009, Duration::from_secs(60)),
    (45033, Duration::from_secs(1)),
    (45011, Duration::from_secs(1)),
];

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection could be made (refused, DNS, TLS handshake): the request never left.
    Connect,
    /// The request or the response did not complete in time.
    Timeout,
    /// Failure while reading the response body.
    Body,
    /// Anything else (connection reset mid-request, protocol error, ...).
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect error",
            TransportKind::Timeout => "timeout",
            TransportKind::Body => "error reading response body",
            TransportKind::Other => "transport error",
        })
    }
}

/// Everything that can go wrong calling WeCom.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// WeCom answered with a non-zero `errcode`.
    #[error("{endpoint}: WeCom errcode {errcode}{}{}", meaning_suffix(*.errcode), errmsg_suffix(.errmsg))]
    Api {
        /// Endpoint id (`user.get`) or, for raw calls, the path.
        endpoint: Cow<'static, str>,
        /// The errcode.
        errcode: i64,
        /// WeCom's errmsg (redacted).
        errmsg: String,
    },

    /// The HTTP status was not a success (WeCom itself answers errors with 200, so this is
    /// usually a proxy or gateway).
    #[error("{endpoint}: HTTP status {status}{}", body_suffix(.body))]
    HttpStatus {
        /// Endpoint id or path.
        endpoint: Cow<'static, str>,
        /// HTTP status code.
        status: u16,
        /// Short redacted excerpt of the response body.
        body: String,
    },

    /// The request could not be sent or the response not received.
    #[error("{endpoint}: {kind}: {}", source_chain(.source))]
    Transport {
        /// Endpoint id or path.
        endpoint: Cow<'static, str>,
        /// Connect, timeout, body or other.
        kind: TransportKind,
        /// The underlying error, with its URL (which held the token) removed.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// The response was not what the endpoint's type expects.
    #[error("{endpoint}: cannot decode response at `{path}`: {message}; body: {excerpt}")]
    Decode {
        /// Endpoint id or path.
        endpoint: Cow<'static, str>,
        /// Field path of the failure (`user.department[0]`), `.` for the root.
        path: String,
        /// What serde said (redacted).
        message: String,
        /// Start of the body (at most ~200 chars, redacted).
        excerpt: String,
    },

    /// Callback encryption, decryption or signature failure.
    #[error("crypto error: {reason}")]
    Crypto {
        /// What failed.
        reason: Cow<'static, str>,
    },

    /// The caller passed something unusable.
    #[error("invalid argument `{what}`: {why}")]
    InvalidArgument {
        /// Which argument.
        what: Cow<'static, str>,
        /// Why it was refused.
        why: Cow<'static, str>,
    },

    /// A [`TokenStore`](crate::token::TokenStore) failed.
    #[error("token store error: {}", redacted_display(.source))]
    TokenStore {
        /// The store's error, redacted (its message and causes, with secrets and URL
        /// passwords blanked; `Debug` shows the same).
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },

    /// The call's total deadline ran out (see `ClientBuilder::deadline`): token refresh,
    /// every attempt and every backoff together took longer than `budget`.
    #[error("{endpoint}: deadline of {} ran out {during}", fmt_duration(*.budget))]
    Deadline {
        /// Endpoint id or path (for a token refresh: what was being refreshed).
        endpoint: Cow<'static, str>,
        /// The budget that ran out.
        budget: Duration,
        /// What the call was doing then (`while waiting for the access token`, ...).
        during: &'static str,
    },

    /// Getting the access token (or a ticket) failed a moment ago and is not tried again
    /// before `retry_in`: a wrong secret or a revoked app must not turn every call into a
    /// `gettoken` request (WeCom throttles those). The wait doubles with each failure in a
    /// row, up to a minute by default.
    #[error("{source} (cached: token refresh failed {failures} time(s) in a row; next try allowed in {})", fmt_duration(*.retry_in))]
    TokenRefreshBackoff {
        /// The error of the last refresh.
        source: Arc<Error>,
        /// Failures in a row.
        failures: u32,
        /// Time left, when this error was made, before a new request is allowed.
        retry_in: Duration,
    },

    /// A ticket-based credential has no ticket yet: WeCom pushes the `suite_ticket` (or a
    /// hardware model's `model_ticket`) to the callback URL every ten minutes, and the
    /// client was given none ([`Client::save_ticket`](crate::Client::save_ticket)) nor
    /// found one in its token store. Nothing was sent; the next call looks again.
    #[error(
        "no {kind} for {id} yet: WeCom pushes one to the callback URL every 10 minutes; hand it to Client::save_ticket (nothing was sent)"
    )]
    MissingTicket {
        /// `suite_ticket` or `model_ticket`.
        kind: &'static str,
        /// The suite id or model id.
        id: String,
    },

    /// Something was bigger than its limit: a download kept in memory (use
    /// `Client::download_stream`), a streamed download past its `limit`, or a callback
    /// body (WeCom's are a few KB).
    #[error("{what} is larger than the limit of {limit} bytes{}", size_suffix(*.size))]
    TooLarge {
        /// What: `download`, `callback body`, ...
        what: &'static str,
        /// The limit, in bytes.
        limit: u64,
        /// The size, when known (a `Content-Length`, a body's length).
        size: Option<u64>,
    },

    /// A layer of the outbound middleware stack
    /// ([`ClientBuilder::http_middleware`](crate::ClientBuilder), cargo feature
    /// `middleware`) failed the request; whether it was sent is the layer's business, so it
    /// is not retried.
    #[error("{endpoint}: outbound middleware failed: {message}")]
    Middleware {
        /// Endpoint id or path.
        endpoint: Cow<'static, str>,
        /// The layer's error and its causes (redacted).
        message: String,
    },

    /// WeCom or a gateway said to slow down: HTTP 429 (with its `Retry-After`), or errcode
    /// 45009 / 45033 / 45011. `retry_after` is the server's word, or for an errcode (WeCom
    /// gives none) a suggestion: 60 s for 45009, 1 s for the others.
    ///
    /// Or, with `local`, this client's own limit ([`crate::ratelimit`]) was reached and the
    /// request was not sent; `retry_after` is when a slot frees.
    #[error("{endpoint}: rate limited: {}{}; retry after {}{}", describe_limit(*.status, *.errcode), errmsg_suffix(.message), retry_after.map_or_else(|| "an unknown time".to_string(), fmt_duration), if *.local { " (nothing was sent)" } else { "" })]
    RateLimited {
        /// Endpoint id or path.
        endpoint: Cow<'static, str>,
        /// HTTP status (429), when the limit came as one.
        status: Option<u16>,
        /// WeCom errcode, when the limit came as one.
        errcode: Option<i64>,
        /// WeCom's errmsg or a body excerpt (redacted).
        message: String,
        /// When to try again.
        retry_after: Option<Duration>,
        /// The limit is this client's own: nothing was sent.
        local: bool,
    },

    /// The AI bot's long connection could not carry a frame: closed, reconnecting, its
    /// queue full, or stopped. `what` is the frame's command.
    #[error("{what}: long connection: {reason}")]
    Connection {
        /// The command of the frame (`aibot_respond_msg`, `aibot_send_msg`, ...).
        what: Cow<'static, str>,
        /// What went wrong.
        reason: Cow<'static, str>,
    },
}

fn size_suffix(size: Option<u64>) -> String {
    size.map_or_else(String::new, |s| format!(" (it is {s} bytes)"))
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn describe_limit(status: Option<u16>, errcode: Option<i64>) -> String {
    match (status, errcode) {
        (_, Some(code)) => format!("WeCom errcode {code}{}", meaning_suffix(code)),
        (Some(s), None) => format!("HTTP status {s}"),
        (None, None) => "this client's own limit".to_string(),
    }
}

/// A store error as text only: its message and causes, redacted once, so that neither
/// `Display` nor `Debug` of [`Error::TokenStore`] can show a password or token.
struct RedactedError(String);

impl fmt::Debug for RedactedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RedactedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedactedError {}

fn meaning_suffix(code: i64) -> String {
    match crate::errcode_meaning(code) {
        Some(m) => format!(" ({m})"),
        None => String::new(),
    }
}

fn errmsg_suffix(errmsg: &str) -> String {
    if errmsg.is_empty() {
        String::new()
    } else {
        format!(": {errmsg}")
    }
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The error and its causes on one line (reqwest's own message is terse: the cause says
/// "connection refused" or "timed out").
fn source_chain(err: &reqwest::Error) -> String {
    let mut out = err.to_string();
    let mut cur = std::error::Error::source(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.ends_with(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    redact::redact(&out).into_owned()
}

fn redacted_display(err: &(dyn std::error::Error + Send + Sync)) -> String {
    redact::redact(&err.to_string()).into_owned()
}

impl Error {
    /// Wraps an error of a [`TokenStore`](crate::token::TokenStore) implementation.
    ///
    /// Only its message and causes are kept, redacted (a Redis URL's password, a token
    /// quoted in a message): the original error value is not.
    pub fn token_store(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let err = err.into();
        let mut text = err.to_string();
        let mut cur = err.source();
        while let Some(e) = cur {
            let s = e.to_string();
            if !text.ends_with(&s) {
                text.push_str(": ");
                text.push_str(&s);
            }
            cur = e.source();
        }
        Error::TokenStore {
            source: Arc::new(RedactedError(redact::redact(&text).into_owned())),
        }
    }

    /// An errcode answer: [`Error::RateLimited`] for a rate-limit errcode, else
    /// [`Error::Api`].
    pub(crate) fn from_errcode(endpoint: Cow<'static, str>, errcode: i64, errmsg: &str) -> Self {
        match RATE_LIMIT_ERRCODES.iter().find(|(c, _)| *c == errcode) {
            Some(&(_, wait)) => Error::RateLimited {
                endpoint,
                status: None,
                errcode: Some(errcode),
                message: redact::redact(errmsg).into_owned(),
                retry_after: Some(wait),
                local: false,
            },
            None => Error::api(endpoint, errcode, errmsg),
        }
    }

    /// An HTTP status answer: [`Error::RateLimited`] for 429 (with its `Retry-After`), else
    /// [`Error::HttpStatus`].
    pub(crate) fn from_status(
        endpoint: Cow<'static, str>,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        if status == 429 {
            return Error::RateLimited {
                endpoint,
                status: Some(status),
                errcode: None,
                message: redact::excerpt(body, redact::EXCERPT_CHARS),
                retry_after,
                local: false,
            };
        }
        Error::http_status(endpoint, status, body)
    }

    /// Builds a [`Error::Crypto`].
    pub fn crypto(reason: impl Into<Cow<'static, str>>) -> Self {
        Error::Crypto {
            reason: reason.into(),
        }
    }

    /// Builds a [`Error::InvalidArgument`].
    pub fn invalid_argument(
        what: impl Into<Cow<'static, str>>,
        why: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::InvalidArgument {
            what: what.into(),
            why: why.into(),
        }
    }

    pub(crate) fn api(endpoint: Cow<'static, str>, errcode: i64, errmsg: &str) -> Self {
        Error::Api {
            endpoint,
            errcode,
            errmsg: redact::redact(errmsg).into_owned(),
        }
    }

    pub(crate) fn http_status(endpoint: Cow<'static, str>, status: u16, body: &[u8]) -> Self {
        Error::HttpStatus {
            endpoint,
            status,
            body: redact::excerpt(body, redact::EXCERPT_CHARS),
        }
    }

    /// Classifies a reqwest error and strips its URL (the query holds the token).
    pub(crate) fn transport(endpoint: Cow<'static, str>, err: reqwest::Error) -> Self {
        let kind = if err.is_connect() {
            TransportKind::Connect
        } else if err.is_timeout() {
            TransportKind::Timeout
        } else if err.is_body() || err.is_decode() {
            TransportKind::Body
        } else {
            TransportKind::Other
        };
        Error::Transport {
            endpoint,
            kind,
            source: Arc::new(err.without_url()),
        }
    }

    pub(crate) fn decode(endpoint: Cow<'static, str>, err: DecodeError, body: &[u8]) -> Self {
        let message = redact::scrub_message(&err.path, &err.message);
        Error::Decode {
            endpoint,
            path: err.path,
            message,
            excerpt: redact::excerpt(body, redact::EXCERPT_CHARS),
        }
    }

    /// The WeCom errcode, when WeCom answered with one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            Error::Api { errcode, .. } => Some(*errcode),
            Error::RateLimited { errcode, .. } => *errcode,
            Error::TokenRefreshBackoff { source, .. } => source.errcode(),
            _ => None,
        }
    }

    /// WeCom's errmsg, when WeCom answered with an errcode.
    pub fn errmsg(&self) -> Option<&str> {
        match self {
            Error::Api { errmsg, .. } => Some(errmsg),
            Error::RateLimited {
                message,
                errcode: Some(_),
                ..
            } => Some(message),
            Error::TokenRefreshBackoff { source, .. } => source.errmsg(),
            _ => None,
        }
    }

    /// Endpoint id (or raw path) the error belongs to, if any.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Error::Api { endpoint, .. }
            | Error::HttpStatus { endpoint, .. }
            | Error::Transport { endpoint, .. }
            | Error::Decode { endpoint, .. }
            | Error::Deadline { endpoint, .. }
            | Error::Middleware { endpoint, .. }
            | Error::RateLimited { endpoint, .. } => Some(endpoint),
            Error::TokenRefreshBackoff { source, .. } => source.endpoint(),
            _ => None,
        }
    }

    /// HTTP status, for [`Error::HttpStatus`] (and a 429 [`Error::RateLimited`]).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::HttpStatus { status, .. } => Some(*status),
            Error::RateLimited { status, .. } => *status,
            _ => None,
        }
    }

    /// When to try again: the `Retry-After` of an HTTP 429, the suggested wait of a
    /// rate-limit errcode, or the time left before a failed token refresh is tried again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::TokenRefreshBackoff { retry_in, .. } => Some(*retry_in),
            _ => None,
        }
    }

    /// WeCom or a gateway asked to slow down ([`Error::RateLimited`]).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
    }

    /// This client's own rate limit ([`crate::ratelimit`]) refused the call before anything
    /// was sent.
    pub fn is_local_limit(&self) -> bool {
        matches!(self, Error::RateLimited { local: true, .. })
    }

    /// The access token was rejected (40001, 40014, 42001).
    pub fn is_token_error(&self) -> bool {
        self.errcode().is_some_and(|c| TOKEN_ERRCODES.contains(&c))
    }

    /// The same request may succeed later: system busy (-1), a transport failure, HTTP 429
    /// or 5xx. Whether it is *safe* to send again is a separate question (see
    /// [`Operation::retry_safe`](crate::operation::Operation::retry_safe)).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { errcode, .. } => *errcode == ERRCODE_BUSY,
            Error::Transport { .. } => true,
            Error::HttpStatus { status, .. } => *status == 429 || *status >= 500,
            Error::RateLimited { .. } => true,
            _ => false,
        }
    }

    /// The request timed out (connect or request timeout), or the call's deadline ran out.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport { kind, source, .. } => {
                *kind == TransportKind::Timeout || source.is_timeout()
            }
            Error::Deadline { .. } => true,
            _ => false,
        }
    }

    /// The request never left this machine (no connection could be made), so sending it
    /// again cannot duplicate it.
    pub(crate) fn is_unsent(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_display_and_helpers() {
        let e = Error::api("user.get".into(), 60111, "userid not found");
        assert_eq!(e.errcode(), Some(60111));
        assert_eq!(e.errmsg(), Some("userid not found"));
        assert_eq!(e.endpoint(), Some("user.get"));
        let s = e.to_string();
        assert!(s.starts_with("user.get: WeCom errcode 60111"), "{s}");
        assert!(s.ends_with(": userid not found"), "{s}");
        if let Some(m) = crate::errcode_meaning(60111) {
            assert!(s.contains(m));
        }
        assert!(!e.is_token_error());
        assert!(!e.is_retryable());
        assert!(Error::api("x".into(), 42001, "").is_token_error());
        assert!(Error::api("x".into(), -1, "busy").is_retryable());
    }

    #[test]
    fn errmsg_is_redacted() {
        let e = Error::api("x".into(), 40014, "bad access_token=ABCDEF hint");
        assert!(!format!("{e} {e:?}").contains("ABCDEF"));
    }

    #[test]
    fn http_status_excerpt_is_redacted() {
        let e = Error::http_status("x".into(), 502, br#"{"access_token":"TOKSECRET"}"#);
        assert_eq!(e.status(), Some(502));
        assert!(e.is_retryable());
        assert!(!format!("{e} {e:?}").contains("TOKSECRET"));
    }

    #[test]
    fn decode_error_names_the_path_and_hides_secrets() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct R {
            ticket: i64,
        }
        let body = br#"{"errcode":0,"ticket":"TICKETVALUE"}"#;
        let err = crate::de::decode::<R>(body).unwrap_err();
        let e = Error::decode("ticket.get".into(), err, body);
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("`ticket`"), "{shown}");
        assert!(!shown.contains("TICKETVALUE"), "{shown}");
    }

    #[test]
    fn errors_are_send_sync_clone() {
        fn check<T: Send + Sync + Clone + std::error::Error + 'static>() {}
        check::<Error>();
    }
}
