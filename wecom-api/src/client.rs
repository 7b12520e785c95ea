//! [`Client`] and its builder: authentication, the errcode check, retries and tracing
//! around every call, typed (generated) or raw.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::de::{self, Status};
use crate::error::{Error, Result};
use crate::media::{self, Download, DownloadStream, UploadFile};
use crate::operation::{Credential, Method, Operation};
use crate::redact::MASK;
use crate::retry::{RetryPolicy, RetrySafety};
use crate::token::{
    FAILURE_BACKOFF_FIRST, FAILURE_BACKOFF_MAX, Fetched, MemoryTokenStore, RefreshSettings,
    SharedStore, Token, TokenCache, TokenKind, TokenStore, instant_after,
};

mod principal;
mod third_party;

use principal::Principal;
pub use third_party::CorpGroupKind;

const DEFAULT_BASE_URL: &str = "https://qyapi.weixin.qq.com";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Total time of one call by default: token refresh, attempts and backoffs together.
pub(crate) const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);
/// Largest file a download keeps in memory by default (WeCom's temporary media are at
/// most 20 MB); larger ones are for [`Client::download_stream`].
pub(crate) const DEFAULT_MAX_DOWNLOAD: u64 = 64 * 1024 * 1024;
const USER_AGENT: &str = concat!("wecom-api/", env!("CARGO_PKG_VERSION"));

/// The gettoken call, made by the token cache itself rather than through generated code.
const GETTOKEN: Call<'static> = Call {
    id: Some("token.get"),
    method: Method::Get,
    path: "/cgi-bin/gettoken",
    credential: Credential::CorpSecret,
    retry_safe: true,
};

/// The corp JS-SDK ticket (`wx.config`), fetched by the ticket cache.
const JSAPI_TICKET: Call<'static> = Call {
    id: Some("jsapi_ticket.get"),
    method: Method::Get,
    path: "/cgi-bin/get_jsapi_ticket",
    credential: Credential::AccessToken,
    retry_safe: true,
};

/// The app JS-SDK ticket (`wx.agentConfig`), fetched by the ticket cache.
const AGENT_TICKET: Call<'static> = Call {
    id: Some("agent_ticket.get"),
    method: Method::Get,
    path: "/cgi-bin/ticket/get",
    credential: Credential::AccessToken,
    retry_safe: true,
};

/// Which JS-SDK ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TicketKind {
    /// `jsapi_ticket` of the corp, signs `wx.config`.
    Corp,
    /// Ticket of the app, signs `wx.agentConfig`.
    Agent,
}

/// A WeCom API client holding one credential: a corp's app secret (each secret has its
/// own token), a third-party suite, a corp that authorised one, a service provider, a
/// downstream corp, a hardware model or device, or a group robot's webhook key.
///
/// Cheap to clone: clones share the connection pool and the token cache.
/// Its `Debug` output shows neither the secret nor the token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Total time of one call made through this handle (see [`Client::with_deadline`]).
    deadline: Duration,
    /// The app's agentid (see [`Client::with_agent_id`]).
    agent_id: Option<i64>,
}

struct Inner {
    principal: Principal,
    /// Without trailing `/`; endpoint paths start with one.
    base_url: String,
    /// `base_url` parsed once; each call only swaps in its path.
    base: reqwest::Url,
    /// Path prefix of the base URL (`""` or e.g. `/proxy`), without trailing `/`.
    base_path: String,
    http: reqwest::Client,
    timeout: Duration,
    /// The builder's deadline: the default of every handle, and the one refreshes use.
    deadline: Duration,
    max_download: u64,
    retry: RetryPolicy,
    refresh: RefreshSettings,
    tokens: TokenCache,
    jsapi_ticket: TokenCache,
    agent_ticket: TokenCache,
    /// The newest pushed ticket handed to this process (suites and hardware models), for
    /// when the store cannot be read.
    ticket: Mutex<Option<Token>>,
}

impl Inner {
    /// Settings of `self`, a credential of its own, and token caches for it in the same
    /// store.
    fn derive(&self, principal: Principal) -> Inner {
        Inner {
            timeout: self.timeout,
            deadline: self.deadline,
            max_download: self.max_download,
            retry: self.retry.clone(),
            ..Inner::with_caches(
                principal,
                Arc::clone(self.tokens.store()),
                self.refresh,
                self.base.clone(),
                self.http.clone(),
            )
        }
    }

    /// Token caches for `principal` in `store`; the rest at defaults, to be overwritten.
    fn with_caches(
        principal: Principal,
        store: Arc<SharedStore>,
        refresh: RefreshSettings,
        base: reqwest::Url,
        http: reqwest::Client,
    ) -> Inner {
        let key = principal.token_key();
        let cache = |kind| TokenCache::with_settings(key.with_kind(kind), store.clone(), refresh);
        // Tickets are obtained with this credential's token: same id and fingerprint.
        Inner {
            jsapi_ticket: cache(TokenKind::JsapiTicket),
            agent_ticket: cache(TokenKind::AgentTicket),
            tokens: cache(principal.token_kind()),
            principal,
            base_url: base.as_str().trim_end_matches('/').to_owned(),
            base_path: base.path().trim_end_matches('/').to_owned(),
            base,
            http,
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            max_download: DEFAULT_MAX_DOWNLOAD,
            retry: RetryPolicy::default(),
            refresh,
            ticket: Mutex::new(None),
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("credential", &i.principal)
            .field("base_url", &crate::redact::redact_userinfo(&i.base_url))
            .field("timeout", &i.timeout)
            .field("deadline", &self.deadline)
            .field("retry", &i.retry)
            .field("agent_id", &self.agent_id)
            .field("token_store", i.tokens.store())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]; see [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    corp_id: Option<String>,
    secret: Option<String>,
    base_url: Option<String>,
    http: Option<reqwest::Client>,
    timeout: Duration,
    connect_timeout: Duration,
    deadline: Duration,
    max_download: u64,
    token_backoff: (Duration, Duration),
    retry: RetryPolicy,
    agent_id: Option<i64>,
    store: Option<Arc<SharedStore>>,
    /// A credential other than a corp secret, set by `suite`, `provider`,
    /// `hardware_model` or `webhook_key`.
    other: Option<Principal>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("corp_id", &self.corp_id)
            .field("secret", &self.secret.as_ref().map(|_| MASK))
            .field("credential", &self.other)
            .field(
                "base_url",
                &self.base_url.as_deref().map(crate::redact::redact_userinfo),
            )
            .field("shared_http_client", &self.http.is_some())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("deadline", &self.deadline)
            .field("max_download_size", &self.max_download)
            .field("token_failure_backoff", &self.token_backoff)
            .field("retry", &self.retry)
            .field("agent_id", &self.agent_id)
            .field("token_store", &self.store)
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            corp_id: None,
            secret: None,
            base_url: None,
            http: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            max_download: DEFAULT_MAX_DOWNLOAD,
            token_backoff: (FAILURE_BACKOFF_FIRST, FAILURE_BACKOFF_MAX),
            retry: RetryPolicy::default(),
            agent_id: None,
            store: None,
            other: None,
        }
    }
}

impl ClientBuilder {
    /// The corp id (`ww...`). Required.
    pub fn corp_id(mut self, corp_id: impl Into<String>) -> Self {
        self.corp_id = Some(corp_id.into());
        self
    }

    /// The secret of an app, of contacts sync, of customer contact, ... Required.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// A group robot's (or smart sheet's) webhook key, the `key` of its webhook URL, for a
    /// client that calls the endpoints authenticated by it (`client.robot().send(..)`). Such a
    /// client needs no corp id or secret; the key is kept out of Debug and logs like one.
    pub fn webhook_key(mut self, key: impl Into<String>) -> Self {
        self.other = Some(Principal::Webhook { key: key.into() });
        self
    }

    /// A third-party app (suite, 第三方应用) or 代开发 template: its `suite_id` and
    /// `suite_secret`. The client calls the endpoints authenticated by the
    /// `suite_access_token` (`client.suite()...`), obtained with the newest `suite_ticket`
    /// WeCom pushed ([`Client::save_ticket`]), and makes a client per authorised corp
    /// ([`Client::authorized_corp`]). No corp id or secret.
    pub fn suite(mut self, suite_id: impl Into<String>, suite_secret: impl Into<String>) -> Self {
        self.other = Some(Principal::Suite {
            suite_id: suite_id.into(),
            secret: suite_secret.into(),
        });
        self
    }

    /// A service provider (服务商): its corp id and `provider_secret`. The client calls the
    /// endpoints authenticated by the `provider_access_token` (login, registration,
    /// licences: `client.provider()...`, `client.license()...`).
    pub fn provider(
        mut self,
        corp_id: impl Into<String>,
        provider_secret: impl Into<String>,
    ) -> Self {
        self.other = Some(Principal::Provider {
            corp_id: corp_id.into(),
            secret: provider_secret.into(),
        });
        self
    }

    /// A hardware model (智慧硬件): its `model_id` and `model_secret`. The client calls the
    /// endpoints authenticated by the `model_access_token`, obtained with the newest
    /// `model_ticket` WeCom pushed ([`Client::save_ticket`]), and makes device clients
    /// ([`Client::device`]).
    pub fn hardware_model(
        mut self,
        model_id: impl Into<String>,
        model_secret: impl Into<String>,
    ) -> Self {
        self.other = Some(Principal::Model {
            model_id: model_id.into(),
            secret: model_secret.into(),
        });
        self
    }

    /// Base URL (default `https://qyapi.weixin.qq.com`), e.g. a proxy or a test server.
    /// May carry a path prefix; must not carry a query.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Uses this reqwest client (and its connection pool) instead of building one.
    /// [`connect_timeout`](Self::connect_timeout) is then the shared client's business;
    /// [`timeout`](Self::timeout) still applies, per request.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Total time for one HTTP request, from connecting to the end of the body
    /// (default 30 s). Each retry gets its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Total time of one call (default 60 s): getting the token (a refresh, a wait on
    /// another process's refresh), every attempt and every backoff together. A call that
    /// runs out fails with [`Error::Deadline`]; a retry that could not finish in time is
    /// not started (the last error is returned). Per call: [`Client::with_deadline`].
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Largest file a download keeps in memory (default 64 MiB); a larger one fails with
    /// [`Error::TooLarge`] before its body is read. Stream big files with
    /// [`Client::download_stream`].
    pub fn max_download_size(mut self, bytes: u64) -> Self {
        self.max_download = bytes;
        self
    }

    /// How long a failed token (or ticket) refresh is remembered before the next request:
    /// `first` after one failure, doubling with each failure in a row, at most `max`
    /// (default 1 s to 60 s). Meanwhile calls fail at once with
    /// [`Error::TokenRefreshBackoff`]. `Duration::ZERO` turns it off.
    pub fn token_failure_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.token_backoff = (first, max.max(first));
        self
    }

    /// Time to establish a connection (default 10 s), for the client built here.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry policy for transient failures (default: 3 retries with backoff).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The agentid of the app whose secret this is: needed for `wx.agentConfig`
    /// ([`Client::wx_agent_config`]).
    pub fn agent_id(mut self, agent_id: i64) -> Self {
        self.agent_id = Some(agent_id);
        self
    }

    /// Where access tokens and JS-SDK tickets are kept (default: a fresh
    /// [`MemoryTokenStore`]). A shared store, such as `token::RedisTokenStore` (cargo
    /// feature `redis`), lets many processes use one token.
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Arc::new(SharedStore::new(Arc::new(store))));
        self
    }

    /// The store, with its health, shared with other clients (see [`crate::Corp`]).
    pub(crate) fn shared_store(mut self, store: Arc<SharedStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// Fails with [`Error::InvalidArgument`] naming `corp_id`, `secret`, `credential`
    /// (two kinds of credential given), `base_url`, `timeout` or `http_client`.
    pub fn build(self) -> Result<Client> {
        let principal = match self.other {
            Some(other) => {
                if self.corp_id.is_some() || self.secret.is_some() {
                    return Err(Error::invalid_argument(
                        "credential",
                        format!(
                            "a client holds one credential: {} and a corp id/secret were both given",
                            other.describe()
                        ),
                    ));
                }
                other
            }
            None => Principal::Corp {
                corp_id: required(self.corp_id, "corp_id")?,
                secret: required(self.secret, "secret")?,
            },
        };
        let base = normalize_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        if self.timeout.is_zero() {
            return Err(Error::invalid_argument(
                "timeout",
                "must be greater than zero",
            ));
        }
        if self.deadline.is_zero() {
            return Err(Error::invalid_argument(
                "deadline",
                "must be greater than zero",
            ));
        }
        let http = match self.http {
            Some(http) => http,
            None => default_http_client(self.connect_timeout)?,
        };
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(SharedStore::new(Arc::new(MemoryTokenStore::new()))));
        // A refresh runs on its own, bounded like a call.
        let refresh = RefreshSettings {
            budget: self.deadline,
            backoff_first: self.token_backoff.0,
            backoff_max: self.token_backoff.1,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                timeout: self.timeout,
                deadline: self.deadline,
                max_download: self.max_download,
                retry: self.retry,
                ..Inner::with_caches(principal, store, refresh, base, http)
            }),
            deadline: self.deadline,
            agent_id: self.agent_id,
        })
    }
}

/// The reqwest client a builder makes when none is given.
pub(crate) fn default_http_client(connect_timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| Error::invalid_argument("http_client", e.without_url().to_string()))
}

pub(crate) fn required(value: Option<String>, what: &'static str) -> Result<String> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(Error::invalid_argument(what, "must not be empty")),
        None => Err(Error::invalid_argument(what, "is required")),
    }
}

fn normalize_base_url(raw: &str) -> Result<reqwest::Url> {
    let bad = |why: String| Error::invalid_argument("base_url", why);
    let url = reqwest::Url::parse(raw).map_err(|e| bad(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("must be http or https".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment".into()));
    }
    Ok(url)
}

/// One call, from a generated [`Operation`] or a raw path.
#[derive(Clone, Copy)]
struct Call<'a> {
    /// Spec id; `None` for raw calls, which are named by their path.
    id: Option<&'static str>,
    method: Method,
    path: &'a str,
    credential: Credential,
    retry_safe: bool,
}

impl Call<'_> {
    fn from_op(op: &'static Operation) -> Call<'static> {
        Call {
            id: Some(op.id),
            method: op.method,
            path: op.path,
            credential: op.credential,
            retry_safe: op.retry_safe,
        }
    }

    fn label(&self) -> &str {
        self.id.unwrap_or(self.path)
    }

    /// For errors: borrowed for generated calls, so the success path never allocates it.
    fn endpoint(&self) -> Cow<'static, str> {
        match self.id {
            Some(id) => Cow::Borrowed(id),
            None => Cow::Owned(self.path.to_owned()),
        }
    }
}

/// Query parameters in either of the shapes callers have.
#[derive(Clone, Copy)]
enum Query<'a> {
    None,
    Generated(&'a [(&'static str, String)]),
    Raw(&'a [(&'a str, &'a str)]),
}

impl Query<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Query::None => true,
            Query::Generated(q) => q.is_empty(),
            Query::Raw(q) => q.is_empty(),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&str, &str)) {
        match self {
            Query::None => {}
            Query::Generated(q) => q.iter().for_each(|(k, v)| f(k, v)),
            Query::Raw(q) => q.iter().for_each(|(k, v)| f(k, v)),
        }
    }
}

/// Request body, kept so that it can be sent again.
enum Payload {
    Empty,
    Json(Bytes),
    Multipart(media::Multipart),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Json,
    Download,
    /// A download whose body is handed over unread (after an error check).
    Stream,
}

/// A successful response: the body, and for downloads the headers that describe it.
/// For a stream, `body` is what was read to rule out an error envelope and `response` the
/// rest.
struct Raw {
    body: Bytes,
    content_type: Option<String>,
    disposition: Option<String>,
    content_length: Option<u64>,
    response: Option<reqwest::Response>,
}

/// What a call was doing, for the error when its deadline runs out.
const DURING: [&str; 4] = [
    "while waiting for the access token",
    "while waiting for a response",
    "while waiting to retry",
    "while reading the response",
];
const PHASE_TOKEN: u8 = 0;
const PHASE_REQUEST: u8 = 1;
const PHASE_BACKOFF: u8 = 2;
const PHASE_BODY: u8 = 3;

/// The time one call may still take, what it is doing, and its span.
struct Budget {
    span: Span,
    total: Duration,
    until: Instant,
    phase: AtomicU8,
}

impl Budget {
    fn new(total: Duration, span: &Span) -> Self {
        Budget {
            span: span.clone(),
            total,
            until: instant_after(total),
            phase: AtomicU8::new(PHASE_TOKEN),
        }
    }

    fn enter(&self, phase: u8) {
        self.phase.store(phase, Ordering::Relaxed);
    }

    fn exceeded(&self, call: &Call<'_>) -> Error {
        let phase = usize::from(self.phase.load(Ordering::Relaxed));
        Error::Deadline {
            endpoint: call.endpoint(),
            budget: self.total,
            during: DURING.get(phase).copied().unwrap_or(DURING[1]),
        }
    }

    fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by WeCom's gateways).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Reads a body, refusing it past `limit` bytes (before reading, when `Content-Length`
/// already says so).
async fn read_limited(
    call: &Call<'_>,
    resp: &mut reqwest::Response,
    limit: u64,
    what: &'static str,
) -> Result<Bytes> {
    if let Some(len) = resp.content_length().filter(|&l| l > limit) {
        return Err(Error::TooLarge {
            what,
            limit,
            size: Some(len),
        });
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::transport(call.endpoint(), e))?
    {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(Error::TooLarge {
                what,
                limit,
                size: resp.content_length(),
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// How much of a streamed download that may be an error envelope is read to tell.
const ENVELOPE_PEEK: u64 = 64 * 1024;

/// The JSON body of a generated call, encoded before its future is made.
#[allow(dead_code)]
pub(crate) fn encode_body<B: Serialize + ?Sized>(body: &B) -> Result<Option<Bytes>> {
    encode_json(body).map(Some)
}

/// The future of a generated call refused before sending (a required client default unset).
#[allow(dead_code)]
pub(crate) fn refused<T: Send + 'static>(error: Error) -> crate::BoxFuture<Result<T>> {
    Box::pin(std::future::ready(Err(error)))
}

fn encode_json<B: Serialize + ?Sized>(body: &B) -> Result<Bytes> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::invalid_argument("body", e.to_string()))
}

fn check_raw_path(path: &str) -> Result<()> {
    if !path.starts_with('/') {
        return Err(Error::invalid_argument("path", "must start with `/`"));
    }
    if path.contains(['?', '#']) {
        return Err(Error::invalid_argument(
            "path",
            "must not contain a query or fragment; pass parameters in `query`",
        ));
    }
    Ok(())
}

fn header_string(v: Option<&HeaderValue>) -> Option<String> {
    v.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

impl Client {
    /// Starts a [`ClientBuilder`].
    ///
    /// ```
    /// let client = wecom_api::Client::builder()
    ///     .corp_id("ww0123456789abcdef")
    ///     .secret("app-secret")
    ///     .build()?;
    /// assert!(!format!("{client:?}").contains("app-secret"));
    /// # Ok::<(), wecom_api::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The id this client acts for: the corp id (of an app, an authorised or a downstream
    /// corp, a service provider), a suite id, a hardware model id or a device SN; `webhook`
    /// for a group robot.
    pub fn corp_id(&self) -> &str {
        self.inner.principal.id()
    }

    /// The base URL, without trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// This client with another total deadline per call (see
    /// [`ClientBuilder::deadline`]): cheap, it shares everything else.
    ///
    /// ```
    /// # let client = wecom_api::Client::builder().corp_id("ww1").secret("s").build()?;
    /// use std::time::Duration;
    /// let quick = client.with_deadline(Duration::from_secs(3)); // for a web handler
    /// assert_eq!(quick.deadline(), Duration::from_secs(3));
    /// # Ok::<(), wecom_api::Error>(())
    /// ```
    pub fn with_deadline(&self, deadline: Duration) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            deadline: deadline.max(Duration::from_millis(1)),
            agent_id: self.agent_id,
        }
    }

    /// The total deadline of one call made through this handle.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// `GET path?query` with this client's token (`access_token`, or for a suite, provider or
    /// hardware client its own kind), errcode check and retries. For endpoints
    /// not yet in the spec.
    ///
    /// Resent after a transient failure unless `path` is a GET WeCom documents as changing
    /// state or as one-time ([`RetrySafety::for_get`]: `user/delete`, `department/delete`,
    /// `tag/delete`, `menu/delete`, `material/del`, `user/authsucc`, the OAuth code
    /// exchanges `auth/getuserinfo` and `user/getuserinfo`). Say it yourself with
    /// [`get_json_with`](Self::get_json_with).
    pub async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Result<serde_json::Value> {
        self.get_json_with(path, query, RetrySafety::for_get(path))
            .await
    }

    /// [`get_json`](Self::get_json) with explicit retry safety: [`RetrySafety::Unsafe`]
    /// sends it again only when it surely never left (a failed connection).
    pub async fn get_json_with(
        &self,
        path: &str,
        query: &[(&str, &str)],
        safety: RetrySafety,
    ) -> Result<serde_json::Value> {
        check_raw_path(path)?;
        let call = self.raw_call(Method::Get, path, safety.is_safe());
        let raw = self
            .run(&call, Query::Raw(query), &Payload::Empty, Expect::Json)
            .await?;
        decode(&call, &raw.body)
    }

    /// [`post_json`](Self::post_json) with explicit retry safety, for a POST you know to
    /// be idempotent (a read WeCom happens to serve by POST).
    pub fn post_json_with<'a, B: Serialize + ?Sized>(
        &'a self,
        path: &'a str,
        query: &'a [(&'a str, &'a str)],
        body: &B,
        safety: RetrySafety,
    ) -> impl Future<Output = Result<serde_json::Value>> + Send + use<'a, B> {
        let body = encode_json(body);
        async move {
            check_raw_path(path)?;
            let call = self.raw_call(Method::Post, path, safety.is_safe());
            let raw = self
                .run(
                    &call,
                    Query::Raw(query),
                    &Payload::Json(body?),
                    Expect::Json,
                )
                .await?;
            decode(&call, &raw.body)
        }
    }

    /// `POST path?query` with a JSON body, the access token and errcode check. Not retried
    /// once it may have reached WeCom (a write may not be idempotent).
    pub fn post_json<'a, B: Serialize + ?Sized>(
        &'a self,
        path: &'a str,
        query: &'a [(&'a str, &'a str)],
        body: &B,
    ) -> impl Future<Output = Result<serde_json::Value>> + Send + use<'a, B> {
        // Serialized now, so the future holds bytes, not `B` (and is `Send` for any `B`).
        let body = encode_json(body);
        async move {
            check_raw_path(path)?;
            let call = self.raw_call(Method::Post, path, false);
            let raw = self
                .run(
                    &call,
                    Query::Raw(query),
                    &Payload::Json(body?),
                    Expect::Json,
                )
                .await?;
            decode(&call, &raw.body)
        }
    }

    /// `POST path?query` with a multipart body of one file part named `part` (WeCom uses
    /// `media`). Not retried once it may have reached WeCom.
    pub async fn upload(
        &self,
        path: &str,
        query: &[(&str, &str)],
        part: &str,
        file: UploadFile,
    ) -> Result<serde_json::Value> {
        check_raw_path(path)?;
        let call = self.raw_call(Method::Post, path, false);
        let payload = Payload::Multipart(file.to_multipart(part)?);
        let raw = self
            .run(&call, Query::Raw(query), &payload, Expect::Json)
            .await?;
        decode(&call, &raw.body)
    }

    /// `GET path?query` returning a file, in memory (up to
    /// [`ClientBuilder::max_download_size`]). An error envelope is recognised even with
    /// HTTP 200 (as `/cgi-bin/media/get` answers).
    pub async fn download(&self, path: &str, query: &[(&str, &str)]) -> Result<Download> {
        check_raw_path(path)?;
        let call = self.raw_call(Method::Get, path, true);
        let raw = self
            .run(&call, Query::Raw(query), &Payload::Empty, Expect::Download)
            .await?;
        Ok(Download::new(
            raw.body,
            raw.content_type,
            raw.disposition.as_deref(),
        ))
    }

    /// `GET path?query` returning a file as it arrives: to a file
    /// ([`DownloadStream::save_to_file`]), an `AsyncWrite`
    /// ([`DownloadStream::write_to`]) or chunk by chunk ([`DownloadStream::chunk`],
    /// [`DownloadStream::into_stream`]).
    ///
    /// The call (token, retries, deadline) ends when the response starts; the body then
    /// has no total timeout, only the client's request timeout between two chunks, so a
    /// big file on a slow link is neither cut off nor started over. At most
    /// [`DownloadStream::limit`] bytes (default: no limit) are accepted. An error envelope
    /// (HTTP 200 with JSON, as `/cgi-bin/media/get` answers) is recognised first.
    ///
    /// ```no_run
    /// # async fn demo(client: wecom_api::Client) -> wecom_api::Result<()> {
    /// let file = client.download_stream("/cgi-bin/media/get", &[("media_id", "MEDIA_ID")]).await?;
    /// let written = file.limit(200 * 1024 * 1024)?.save_to_file("/tmp/media.bin").await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_stream(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<DownloadStream> {
        check_raw_path(path)?;
        let call = self.raw_call(Method::Get, path, true);
        let raw = self
            .run(&call, Query::Raw(query), &Payload::Empty, Expect::Stream)
            .await?;
        Ok(DownloadStream::new(
            call.endpoint(),
            raw.body,
            raw.response,
            raw.content_type,
            raw.disposition.as_deref(),
            raw.content_length,
            self.inner.timeout,
        ))
    }

    /// A generated JSON call, its body already encoded ([`encode_body`]; `Ok(None)`: no
    /// body). Generated builders return this future as it is: the request side is one
    /// non-generic boxed future for every endpoint, and only the decoding is compiled per
    /// response type.
    // Generated code calls these; with every feature group off some go unused.
    #[allow(dead_code)]
    pub(crate) fn execute_json<R>(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
        body: Result<Option<Bytes>>,
    ) -> crate::BoxFuture<Result<R>>
    where
        R: de::Decode + Send + 'static,
    {
        decoded(op, self.send_json(op, query, body))
    }

    #[allow(dead_code)]
    fn send_json(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
        body: Result<Option<Bytes>>,
    ) -> crate::BoxFuture<Result<Raw>> {
        let client = self.clone();
        Box::pin(async move {
            let payload = match body? {
                Some(bytes) => Payload::Json(bytes),
                // A POST whose documented body has no fields still sends `{}`: WeCom reads
                // every POST body as JSON, and an empty body is not a JSON object.
                None if op.method == crate::operation::Method::Post => {
                    Payload::Json(Bytes::from_static(b"{}"))
                }
                None => Payload::Empty,
            };
            let call = Call::from_op(op);
            client
                .run(&call, Query::Generated(&query), &payload, Expect::Json)
                .await
        })
    }

    /// A generated multipart upload with one file part. The spec's upload limits are
    /// checked first: a file WeCom would refuse is never sent.
    #[allow(dead_code)]
    pub(crate) fn execute_upload<R>(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
        part: &'static str,
        limits: &'static [media::UploadLimit],
        file: UploadFile,
    ) -> crate::BoxFuture<Result<R>>
    where
        R: de::Decode + Send + 'static,
    {
        decoded(op, self.send_upload(op, query, part, limits, file))
    }

    #[allow(dead_code)]
    fn send_upload(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
        part: &'static str,
        limits: &'static [media::UploadLimit],
        file: UploadFile,
    ) -> crate::BoxFuture<Result<Raw>> {
        let client = self.clone();
        Box::pin(async move {
            media::check_limits(op.id, limits, &query, &file)?;
            let call = Call::from_op(op);
            let payload = Payload::Multipart(file.to_multipart(part)?);
            client
                .run(&call, Query::Generated(&query), &payload, Expect::Json)
                .await
        })
    }

    /// A generated download.
    #[allow(dead_code)]
    pub(crate) fn execute_download(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
    ) -> crate::BoxFuture<Result<Download>> {
        let client = self.clone();
        Box::pin(async move {
            let call = Call::from_op(op);
            let raw = client
                .run(
                    &call,
                    Query::Generated(&query),
                    &Payload::Empty,
                    Expect::Download,
                )
                .await?;
            Ok(Download::new(
                raw.body,
                raw.content_type,
                raw.disposition.as_deref(),
            ))
        })
    }

    /// One call in its tracing span. Not generic, so it is compiled once for all endpoints.
    async fn run(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        payload: &Payload,
        expect: Expect,
    ) -> Result<Raw> {
        let span = call_span(call);
        let start = (!span.is_disabled()).then(Instant::now);
        let budget = Budget::new(self.deadline, &span);
        let work = self
            .with_token(call, query, payload, expect, &budget)
            .instrument(span.clone());
        let out = match tokio::time::timeout(self.deadline, work).await {
            Ok(out) => out,
            Err(_) => Err(budget.exceeded(call)),
        };
        finish_span(&span, start, &out);
        out
    }

    /// Adds the access token, and on a token errcode refreshes it and retries once.
    async fn with_token(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        payload: &Payload,
        expect: Expect,
        budget: &Budget,
    ) -> Result<Raw> {
        let principal = &self.inner.principal;
        if !principal.sends_token(call.credential, call.label())? {
            return self
                .attempts(call, query, payload, expect, None, budget)
                .await;
        }
        let mut rejected: Option<Arc<str>> = None;
        loop {
            budget.enter(PHASE_TOKEN);
            // The refresh is shared: it keeps the client's deadline, not this call's.
            let client = self.with_deadline(self.inner.deadline);
            let token = self
                .inner
                .tokens
                .get(
                    move || async move { client.fetch_own_token().await },
                    rejected.as_deref(),
                )
                .await?;
            match self
                .attempts(call, query, payload, expect, Some(&token), budget)
                .await
            {
                Err(e) if rejected.is_none() && principal.rejects_token(&e) => {
                    tracing::info!(
                        errcode = e.errcode(),
                        kind = principal.token_kind().as_str(),
                        "token rejected; refreshing it and retrying once"
                    );
                    self.inner.tokens.invalidate(&token).await;
                    rejected = Some(token);
                }
                other => return other,
            }
        }
    }

    /// `GET /cgi-bin/gettoken` (with its own span and retries).
    async fn fetch_token(&self) -> Result<Fetched> {
        let span = call_span(&GETTOKEN);
        let start = (!span.is_disabled()).then(Instant::now);
        let out = self.fetch_token_in(&span).instrument(span.clone()).await;
        finish_span(&span, start, &out);
        out
    }

    async fn fetch_token_in(&self, span: &Span) -> Result<Fetched> {
        // The refresh task bounds the whole refresh; this only keeps backoffs inside it.
        let budget = Budget::new(self.deadline, span);
        let raw = self
            .attempts(
                &GETTOKEN,
                Query::None,
                &Payload::Empty,
                Expect::Json,
                None,
                &budget,
            )
            .await?;
        issued(&GETTOKEN, &raw.body, "access_token")
    }

    /// A JS-SDK ticket, cached like the token: local copy, then the store, then one fetch
    /// shared by every caller waiting for it (in every process, with a shared store).
    pub(crate) async fn cached_ticket(&self, kind: TicketKind) -> Result<Arc<str>> {
        let (cache, call, query): (_, &'static Call<'static>, &'static [(&str, &str)]) = match kind
        {
            TicketKind::Corp => (&self.inner.jsapi_ticket, &JSAPI_TICKET, &[]),
            TicketKind::Agent => (
                &self.inner.agent_ticket,
                &AGENT_TICKET,
                &[("type", "agent_config")],
            ),
        };
        let client = self.with_deadline(self.inner.deadline);
        cache
            .get(
                move || async move { client.fetch_ticket(call, query).await },
                None,
            )
            .await
    }

    /// `GET` a ticket with the access token; a token error refreshes the token once
    /// (the same path every call takes).
    async fn fetch_ticket(&self, call: &Call<'static>, query: &[(&str, &str)]) -> Result<Fetched> {
        let raw = self
            .run(call, Query::Raw(query), &Payload::Empty, Expect::Json)
            .await?;
        issued(call, &raw.body, "ticket")
    }

    /// A call to a path not in the spec, with this client's own credential.
    fn raw_call<'a>(&self, method: Method, path: &'a str, retry_safe: bool) -> Call<'a> {
        Call {
            id: None,
            method,
            path,
            credential: self.inner.principal.own_credential(),
            retry_safe,
        }
    }

    /// The agentid given to the builder or to [`with_agent_id`](Self::with_agent_id).
    pub fn agent_id(&self) -> Option<i64> {
        self.agent_id
    }

    /// This client with the app's agentid set: what generated calls fill in when the
    /// caller leaves `agentid` unset, and what `wx.agentConfig` signs for. Cheap, it shares
    /// everything else; for a client made by [`authorized_corp`](Self::authorized_corp)
    /// it is the app's agentid in that corp (from its authorisation info).
    pub fn with_agent_id(&self, agent_id: i64) -> Client {
        Client {
            agent_id: Some(agent_id),
            ..self.clone()
        }
    }

    /// Sends the request, retrying transient failures as the policy and `retry_safe` allow.
    async fn attempts(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        payload: &Payload,
        expect: Expect,
        token: Option<&str>,
        budget: &Budget,
    ) -> Result<Raw> {
        let span = &budget.span;
        let policy = &self.inner.retry;
        let mut retries: u32 = 0;
        loop {
            // u64: `max_retries` may be u32::MAX.
            span.record("attempt", u64::from(retries) + 1);
            budget.enter(PHASE_REQUEST);
            let err = match self
                .attempt(call, query, payload, expect, token, budget)
                .await
            {
                Ok(raw) => return Ok(raw),
                Err(e) => e,
            };
            if !policy.should_retry(&err, call.retry_safe, retries) {
                return Err(err);
            }
            retries = retries.saturating_add(1);
            // The server's word, when it gave one, over our own backoff.
            let delay = policy
                .delay(retries)
                .max(err.retry_after().unwrap_or_default());
            if delay >= budget.left() {
                tracing::debug!(error = %err, "no time left in the deadline for a retry");
                return Err(err);
            }
            tracing::debug!(
                retry = retries,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %err,
                "transient failure; retrying"
            );
            budget.enter(PHASE_BACKOFF);
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP exchange and the errcode check.
    async fn attempt(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        payload: &Payload,
        expect: Expect,
        token: Option<&str>,
        budget: &Budget,
    ) -> Result<Raw> {
        let span = &budget.span;
        let url = self.url(call, query, token);
        let mut req = self.inner.http.request(call.method.to_reqwest(), url);
        // A stream's body has no total timeout: each chunk gets the request timeout.
        if expect != Expect::Stream {
            req = req.timeout(self.inner.timeout);
        }
        match payload {
            Payload::Empty => {}
            Payload::Json(bytes) => {
                req = req
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(bytes.clone());
            }
            Payload::Multipart(multipart) => {
                req = req
                    .header(CONTENT_TYPE, multipart.content_type.clone())
                    .body(multipart.body.clone());
            }
        }
        let sent = req.send();
        let mut resp = if expect == Expect::Stream {
            match tokio::time::timeout(self.inner.timeout, sent).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Error::Deadline {
                        endpoint: call.endpoint(),
                        budget: self.inner.timeout,
                        during: "while waiting for the response to start (the request timeout)",
                    });
                }
            }
        } else {
            sent.await
        }
        .map_err(|e| Error::transport(call.endpoint(), e))?;
        let status = resp.status();
        let (content_type, disposition) = if expect == Expect::Json {
            (None, None)
        } else {
            let h = resp.headers();
            (
                header_string(h.get(CONTENT_TYPE)),
                header_string(h.get(CONTENT_DISPOSITION)),
            )
        };
        let content_length = resp.content_length();
        if !status.is_success() {
            let wait = retry_after(resp.headers());
            // Only an excerpt is shown: no need to read a big error page whole.
            let body = read_limited(call, &mut resp, ENVELOPE_PEEK, "error response")
                .await
                .unwrap_or_default();
            return Err(Error::from_status(
                call.endpoint(),
                status.as_u16(),
                wait,
                &body,
            ));
        }
        budget.enter(PHASE_BODY);
        let mut rest = None;
        let body = match expect {
            Expect::Json => resp
                .bytes()
                .await
                .map_err(|e| Error::transport(call.endpoint(), e))?,
            Expect::Download => {
                read_limited(call, &mut resp, self.inner.max_download, "download").await?
            }
            Expect::Stream => {
                let small = content_length.is_some_and(|l| l <= ENVELOPE_PEEK);
                if media::may_be_error_type(content_type.as_deref()) || small {
                    // Read up to the peek size: an envelope is small; more is a file.
                    let mut buf = bytes::BytesMut::new();
                    let mut done = false;
                    while (buf.len() as u64) < ENVELOPE_PEEK {
                        match resp
                            .chunk()
                            .await
                            .map_err(|e| Error::transport(call.endpoint(), e))?
                        {
                            Some(c) => buf.extend_from_slice(&c),
                            None => {
                                done = true;
                                break;
                            }
                        }
                    }
                    if !done {
                        rest = Some(resp);
                    }
                    buf.freeze()
                } else {
                    rest = Some(resp);
                    Bytes::new()
                }
            }
        };
        let check = expect == Expect::Json
            || (rest.is_none() && media::may_be_error_body(content_type.as_deref(), &body));
        if check {
            match de::envelope(&body) {
                Ok(Status::Ok) => {
                    span.record("errcode", 0);
                }
                Ok(Status::Failed { errcode, errmsg }) => {
                    span.record("errcode", errcode);
                    return Err(Error::from_errcode(call.endpoint(), errcode, &errmsg));
                }
                // A download that only looked like JSON is a file after all.
                Err(_) if expect != Expect::Json => {}
                Err(e) => return Err(Error::decode(call.endpoint(), e, &body)),
            }
        }
        Ok(Raw {
            body,
            content_type,
            disposition,
            content_length,
            response: rest,
        })
    }

    /// `base + path`, then the credential, then the caller's parameters.
    fn url(&self, call: &Call<'_>, query: Query<'_>, token: Option<&str>) -> reqwest::Url {
        let i = &self.inner;
        // Cheaper than parsing `base + path` again: scheme, host and port stay as parsed.
        let mut url = i.base.clone();
        if i.base_path.is_empty() {
            url.set_path(call.path);
        } else {
            let mut path = String::with_capacity(i.base_path.len() + call.path.len());
            path.push_str(&i.base_path);
            path.push_str(call.path);
            url.set_path(&path);
        }
        let has_credential = match call.credential {
            Credential::CorpSecret | Credential::WebhookKey => true,
            Credential::None => false,
            _ => token.is_some(),
        };
        if has_credential || !query.is_empty() {
            let mut q = url.query_pairs_mut();
            match (&i.principal, call.credential, token) {
                (Principal::Corp { corp_id, secret }, Credential::CorpSecret, _) => {
                    q.append_pair("corpid", corp_id);
                    q.append_pair("corpsecret", secret);
                }
                (Principal::Webhook { key }, Credential::WebhookKey, _) => {
                    q.append_pair("key", key);
                }
                (_, credential, Some(t)) => {
                    if let Some(name) = credential.query_name() {
                        q.append_pair(name, t);
                    }
                }
                _ => {}
            }
            query.for_each(|k, v| {
                q.append_pair(k, v);
            });
        }
        url
    }
}

/// WeCom's documented lifetime, for a gettoken answer without `expires_in`.
const DEFAULT_TOKEN_LIFETIME: i64 = 7200;

/// What the token and ticket issuers answer: each names its value after its kind.
#[derive(serde::Deserialize)]
struct Issued {
    #[serde(
        default,
        alias = "access_token",
        alias = "suite_access_token",
        alias = "provider_access_token",
        alias = "model_access_token",
        alias = "device_access_token",
        alias = "ticket"
    )]
    value: String,
    #[serde(default, deserialize_with = "de::opt_int")]
    expires_in: Option<i64>,
}

/// The token (or ticket) an issuer answered; `field` names it when it is missing.
fn issued(call: &Call<'_>, body: &[u8], field: &'static str) -> Result<Fetched> {
    let issued: Issued = decode(call, body)?;
    if issued.value.is_empty() {
        return Err(Error::Decode {
            endpoint: call.endpoint(),
            path: field.into(),
            message: format!("no {field} in the answer"),
            excerpt: String::new(),
        });
    }
    Ok(Fetched {
        value: issued.value,
        expires_in: issued.expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME),
    })
}

/// The typed answer of a generated call: the only part of it compiled per response type.
#[allow(dead_code)]
fn decoded<R>(
    op: &'static Operation,
    raw: crate::BoxFuture<Result<Raw>>,
) -> crate::BoxFuture<Result<R>>
where
    R: de::Decode + Send + 'static,
{
    Box::pin(Decoded {
        op,
        raw,
        response: std::marker::PhantomData,
    })
}

/// Awaits a generated call's raw answer, then decodes it. A plain future rather than an
/// async block: one small `poll` per response type instead of a state machine.
struct Decoded<R> {
    op: &'static Operation,
    raw: crate::BoxFuture<Result<Raw>>,
    response: std::marker::PhantomData<fn() -> R>,
}

impl<R: de::Decode> std::future::Future for Decoded<R> {
    type Output = Result<R>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<R>> {
        let raw = std::task::ready!(self.raw.as_mut().poll(cx));
        std::task::Poll::Ready(raw.and_then(|raw| {
            let value = parse_body(self.op, &raw.body)?;
            R::decode(value).map_err(|e| Error::decode(self.op.id.into(), e.rooted(), &raw.body))
        }))
    }
}

/// A generated call's body as JSON; not generic.
fn parse_body(op: &'static Operation, body: &[u8]) -> Result<serde_json::Value> {
    de::parse(body).map_err(|e| Error::decode(op.id.into(), e, body))
}

fn decode<T: DeserializeOwned>(call: &Call<'_>, body: &[u8]) -> Result<T> {
    de::decode(body).map_err(|e| Error::decode(call.endpoint(), e, body))
}

/// The `wecom.call` span of one call: endpoint, method, then attempt, errcode and
/// latency as they become known. The URL is never recorded: its query holds the token.
fn call_span(call: &Call<'_>) -> Span {
    tracing::info_span!(
        "wecom.call",
        endpoint = call.label(),
        method = call.method.as_str(),
        attempt = Empty,
        errcode = Empty,
        latency_ms = Empty,
    )
}

fn finish_span<T>(span: &Span, start: Option<Instant>, out: &Result<T>) {
    // `start` is `None` when nobody listens: no clock read, no formatting.
    let Some(start) = start else {
        return;
    };
    let latency = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.record("latency_ms", latency);
    if let Err(e) = out {
        span.in_scope(|| tracing::debug!(error = %e, "call failed"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use httpmock::MockServer;

    const TOKEN: &str = "unit-token-0001";
    const SECRET: &str = "unit-secret-0001";

    static OP_GET: Operation = Operation {
        id: "user.get",
        method: Method::Get,
        path: "/cgi-bin/user/get",
        credential: Credential::AccessToken,
        retry_safe: true,
    };
    static OP_SEND: Operation = Operation {
        id: "message.send",
        method: Method::Post,
        path: "/cgi-bin/message/send",
        credential: Credential::AccessToken,
        retry_safe: false,
    };
    static OP_UPLOAD: Operation = Operation {
        id: "media.upload",
        method: Method::Post,
        path: "/cgi-bin/media/upload",
        credential: Credential::AccessToken,
        retry_safe: false,
    };
    static OP_DOWNLOAD: Operation = Operation {
        id: "media.get",
        method: Method::Get,
        path: "/cgi-bin/media/get",
        credential: Credential::AccessToken,
        retry_safe: true,
    };
    static OP_PUBLIC: Operation = Operation {
        id: "public.ping",
        method: Method::Get,
        path: "/cgi-bin/ping",
        credential: Credential::None,
        retry_safe: true,
    };

    async fn setup() -> (MockServer, Client) {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method("GET").path("/cgi-bin/gettoken");
                then.status(200).json_body(serde_json::json!({
                    "errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200
                }));
            })
            .await;
        let client = Client::builder()
            .corp_id("wwunit")
            .secret(SECRET)
            .base_url(server.base_url())
            .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(1)))
            .build()
            .unwrap();
        (server, client)
    }

    #[derive(Debug)]
    struct User {
        userid: String,
        department: Vec<i64>,
    }

    impl crate::de::Decode for User {
        fn decode(value: serde_json::Value) -> std::result::Result<Self, crate::de::DecodeError> {
            let mut fields = crate::de::Fields::of(value)?;
            Ok(User {
                userid: fields.required("userid")?,
                department: fields.required("department")?,
            })
        }
    }

    #[tokio::test]
    async fn execute_json_get_decodes_typed_response() {
        let (server, client) = setup().await;
        let m = server
            .mock_async(|when, then| {
                when.method("GET")
                    .path("/cgi-bin/user/get")
                    .query_param("access_token", TOKEN)
                    .query_param("userid", "zhangsan");
                then.status(200).body(
                    r#"{"errcode":"0","errmsg":"ok","userid":"zhangsan","department":[1,"2"]}"#,
                );
            })
            .await;
        let query = vec![("userid", "zhangsan".to_string())];
        let u: User = client
            .execute_json::<User>(&OP_GET, query, Ok(None))
            .await
            .unwrap();
        assert_eq!(u.userid, "zhangsan");
        assert_eq!(u.department, [1, 2]);
        m.assert_async().await;
    }

    #[tokio::test]
    async fn execute_json_future_is_send_and_boxable() {
        let (server, client) = setup().await;
        server
            .mock_async(|when, then| {
                when.path("/cgi-bin/user/get");
                then.status(200).body(r#"{"userid":"a","department":[]}"#);
            })
            .await;
        // What generated builders hand out as their `IntoFuture`: no wrapping needed.
        let fut: crate::BoxFuture<Result<User>> =
            client.execute_json::<User>(&OP_GET, Vec::new(), Ok(None));
        drop(client);
        assert_eq!(fut.await.unwrap().userid, "a");
    }

    #[tokio::test]
    async fn decode_error_names_endpoint_and_field() {
        let (server, client) = setup().await;
        server
            .mock_async(|when, then| {
                when.path("/cgi-bin/user/get");
                then.status(200)
                    .body(r#"{"errcode":0,"userid":"a","department":[1,"x"]}"#);
            })
            .await;
        let err = client
            .execute_json::<User>(&OP_GET, Vec::new(), Ok(None))
            .await
            .unwrap_err();
        match &err {
            Error::Decode { endpoint, path, .. } => {
                assert_eq!(endpoint, "user.get");
                assert_eq!(path, "department[1]");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn post_sends_json_and_busy_is_not_resent() {
        let (server, client) = setup().await;
        let m = server
            .mock_async(|when, then| {
                when.method("POST")
                    .path("/cgi-bin/message/send")
                    .header("content-type", "application/json")
                    .json_body(serde_json::json!({"touser": "a", "msgtype": "text"}));
                then.status(200)
                    .body(r#"{"errcode":-1,"errmsg":"system busy"}"#);
            })
            .await;
        let body = serde_json::json!({"touser": "a", "msgtype": "text"});
        let err = client
            .execute_json::<serde_json::Value>(&OP_SEND, Vec::new(), encode_body(&body))
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(-1));
        assert_eq!(err.endpoint(), Some("message.send"));
        m.assert_calls_async(1).await;
    }

    #[tokio::test]
    async fn credential_none_sends_no_token() {
        let (server, client) = setup().await;
        let m = server
            .mock_async(|when, then| {
                when.path("/cgi-bin/ping")
                    .query_param_missing("access_token");
                then.status(200).body("{}");
            })
            .await;
        let v: serde_json::Value = client
            .execute_json::<serde_json::Value>(&OP_PUBLIC, Vec::new(), Ok(None))
            .await
            .unwrap();
        assert_eq!(v, serde_json::json!({}));
        m.assert_async().await;
    }

    #[derive(Debug)]
    struct Uploaded {
        media_id: String,
        created_at: i64,
    }

    impl crate::de::Decode for Uploaded {
        fn decode(value: serde_json::Value) -> std::result::Result<Self, crate::de::DecodeError> {
            let mut fields = crate::de::Fields::of(value)?;
            Ok(Uploaded {
                media_id: fields.required("media_id")?,
                created_at: fields.required("created_at")?,
            })
        }
    }

    #[tokio::test]
    async fn execute_upload_sends_one_file_part() {
        let (server, client) = setup().await;
        let m = server
            .mock_async(|when, then| {
                when.method("POST")
                    .path("/cgi-bin/media/upload")
                    .query_param("access_token", TOKEN)
                    .query_param("type", "file")
                    .header_includes("content-type", "multipart/form-data; boundary=")
                    .header_exists("content-length")
                    .body_includes(r#"name="media";filename="wework.txt"; filelength=6"#)
                    .body_includes("Content-Type: text/plain\r\n\r\nmytext\r\n");
                then.status(200).body(
                    r#"{"errcode":0,"errmsg":"","type":"file","media_id":"1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0","created_at":"1380000000"}"#,
                );
            })
            .await;
        let query = vec![("type", "file".to_string())];
        let file = UploadFile::from_bytes("wework.txt", &b"mytext"[..]);
        let r: Uploaded = client
            .execute_upload(&OP_UPLOAD, query, "media", &[], file)
            .await
            .unwrap();
        assert_eq!(r.media_id, "1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0");
        assert_eq!(r.created_at, 1_380_000_000);
        m.assert_async().await;
    }

    #[tokio::test]
    async fn upload_is_resent_after_a_token_error() {
        let (server, client) = setup().await;
        let m = server
            .mock_async(|when, then| {
                when.path("/cgi-bin/media/upload").body_includes("mytext");
                then.status(200)
                    .body(r#"{"errcode":42001,"errmsg":"expired"}"#);
            })
            .await;
        let err = client
            .execute_upload::<serde_json::Value>(
                &OP_UPLOAD,
                Vec::new(),
                "media",
                &[],
                UploadFile::from_bytes("a.txt", &b"mytext"[..]),
            )
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(42001));
        // Refused without being performed, so sending it again (with the body) is safe.
        m.assert_calls_async(2).await;
    }

    #[tokio::test]
    async fn execute_download_returns_file_or_error() {
        let (server, client) = setup().await;
        server
            .mock_async(|when, then| {
                when.path("/cgi-bin/media/get")
                    .query_param("media_id", "ok");
                then.status(200)
                    .header("content-type", "image/jpeg")
                    .header(
                        "content-disposition",
                        "attachment; filename=\"MEDIA_ID.jpg\"",
                    )
                    .body([0xffu8, 0xd8, 0xff, 0xe0]);
            })
            .await;
        server
            .mock_async(|when, then| {
                when.path("/cgi-bin/media/get")
                    .query_param("media_id", "bad");
                then.status(200)
                    .header("content-type", "application/json; charset=UTF-8")
                    .body(r#"{"errcode":40007,"errmsg":"invalid media_id"}"#);
            })
            .await;
        server
            .mock_async(|when, then| {
                when.path("/cgi-bin/media/get")
                    .query_param("media_id", "txt");
                then.status(200)
                    .header("content-type", "text/plain")
                    .body("just a text file");
            })
            .await;
        let q = |id: &str| vec![("media_id", id.to_string())];
        let d = client
            .execute_download(&OP_DOWNLOAD, q("ok"))
            .await
            .unwrap();
        assert_eq!(&d.bytes[..], [0xff, 0xd8, 0xff, 0xe0]);
        assert_eq!(d.file_name.as_deref(), Some("MEDIA_ID.jpg"));
        assert_eq!(d.content_type.as_deref(), Some("image/jpeg"));

        let e = client
            .execute_download(&OP_DOWNLOAD, q("bad"))
            .await
            .unwrap_err();
        assert_eq!(e.errcode(), Some(40007));
        assert_eq!(e.endpoint(), Some("media.get"));

        let d = client
            .execute_download(&OP_DOWNLOAD, q("txt"))
            .await
            .unwrap();
        assert_eq!(&d.bytes[..], b"just a text file");
        assert_eq!(d.file_name, None);
    }

    #[test]
    fn url_keeps_base_path_and_orders_credential_first() {
        let client = Client::builder()
            .corp_id("wwx")
            .secret("s")
            .base_url("http://127.0.0.1:9/proxy/")
            .build()
            .unwrap();
        let call = Call::from_op(&OP_GET);
        let q = [("userid", "a b".to_string())];
        let url = client.url(&call, Query::Generated(&q), Some("T"));
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/proxy/cgi-bin/user/get?access_token=T&userid=a+b"
        );
        let url = client.url(&GETTOKEN, Query::None, None);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/proxy/cgi-bin/gettoken?corpid=wwx&corpsecret=s"
        );
        let url = client.url(&Call::from_op(&OP_PUBLIC), Query::None, None);
        assert_eq!(url.as_str(), "http://127.0.0.1:9/proxy/cgi-bin/ping");
    }

    #[tokio::test]
    async fn connect_failures_are_unsent_and_retryable_for_any_call() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/x?access_token=SECRETTOKEN"
            ))
            .send()
            .await
            .unwrap_err();
        let err = Error::transport("x".into(), err);
        assert!(err.is_unsent());
        assert!(RetryPolicy::default().should_retry(&err, false, 0));
        assert!(!format!("{err} {err:?}").contains("SECRETTOKEN"));
    }
}
