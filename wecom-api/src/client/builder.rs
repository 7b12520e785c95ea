//! [`ClientBuilder`]: the settings of a [`Client`], checked once when it is built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::http::Http;
use super::principal::Principal;
use super::{
    Client, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DEADLINE, DEFAULT_MAX_DOWNLOAD,
    DEFAULT_MAX_JSON, DEFAULT_TIMEOUT, Inner, USER_AGENT,
};
use crate::error::{Error, Result};
use crate::ratelimit::RateLimits;
use crate::redact::MASK;
use crate::retry::RetryPolicy;
use crate::token::{
    FAILURE_BACKOFF_FIRST, FAILURE_BACKOFF_MAX, MemoryTokenStore, RefreshSettings, SharedStore,
    TokenStore,
};

/// Builds a [`Client`]; see [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    corp_id: Option<String>,
    secret: Option<String>,
    base_url: Option<String>,
    http: Option<Http>,
    timeout: Duration,
    connect_timeout: Duration,
    deadline: Duration,
    max_download: u64,
    max_json: u64,
    token_backoff: (Duration, Duration),
    retry: RetryPolicy,
    limits: RateLimits,
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
            .field("max_json_size", &self.max_json)
            .field("token_failure_backoff", &self.token_backoff)
            .field("retry", &self.retry)
            .field("rate_limits", &self.limits)
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
            max_json: DEFAULT_MAX_JSON,
            token_backoff: (FAILURE_BACKOFF_FIRST, FAILURE_BACKOFF_MAX),
            retry: RetryPolicy::default(),
            limits: RateLimits::documented(),
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
        self.http = Some(Http::Plain(http));
        self
    }

    /// Sends every request through this `reqwest_middleware` stack (cargo feature
    /// `middleware`): metrics, tracing of your own, an egress proxy's auth header, request
    /// logs. Each layer sees every attempt as it goes out, after the client has added the
    /// credential, taken its rate-limit slot and set the request timeout; retries, the
    /// deadline, token refreshes and the redaction of errors stay the client's, around the
    /// stack. [`connect_timeout`](Self::connect_timeout) is the stack's client's business.
    ///
    /// The URL a layer sees carries the credential in its query (`access_token`,
    /// `corpsecret`, a robot's `key`): a layer that logs URLs must strip it, e.g. with
    /// [`redact_url`](crate::redact_url).
    #[cfg(feature = "middleware")]
    pub fn http_middleware(mut self, http: reqwest_middleware::ClientWithMiddleware) -> Self {
        self.http = Some(Http::Layered(http));
        self
    }

    /// What sends the requests, as [`Corp`](crate::Corp)'s builder hands it on.
    pub(crate) fn http(mut self, http: Http) -> Self {
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

    /// Largest JSON answer read (default 16 MiB); a larger one fails with
    /// [`Error::TooLarge`], before it is read when its `Content-Length` says so, else as
    /// soon as it passes the limit. Raise it for unusually large lists (a full member list
    /// of a very large corp).
    pub fn max_json_size(mut self, bytes: u64) -> Self {
        self.max_json = bytes;
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

    /// Client-side rate limits (default [`RateLimits::documented`]: WeCom's documented
    /// limits, waiting for a free slot, counted in this process's memory). Clients made
    /// from this one (`authorized_corp`, `downstream_corp`, `device`) keep them.
    /// [`RateLimits::none`] turns them off.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = limits;
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
    /// feature `redis`), lets many processes use one token. Builders given clones of one
    /// store share, in this process, one refresh per token key (see [`TokenStore`]).
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
        self.limits.validate()?;
        let http = match self.http {
            Some(http) => http,
            None => Http::Plain(default_http_client(self.connect_timeout)?),
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
                max_json: self.max_json,
                retry: self.retry,
                limits: self.limits,
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
