//! [`Client`]: one credential, its token caches and settings, cheap to clone. The call
//! pipeline, the builder, raw calls, generated calls and the token issuers each have a
//! file of their own below `client/`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ratelimit::{Counted, RateLimits};
use crate::retry::RetryPolicy;
use crate::token::{RefreshSettings, SharedStore, Token, TokenCache, TokenKind};

mod builder;
mod call;
mod generated;
mod http;
mod issuers;
mod principal;
mod raw;
#[cfg(test)]
mod tests;
mod third_party;

pub use builder::ClientBuilder;
pub(crate) use builder::{default_http_client, required};
#[allow(unused_imports)]
pub(crate) use generated::{encode_body, refused};
pub(crate) use http::Http;

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
/// Largest JSON answer read by default: WeCom's largest (full member lists) are a few MiB.
pub(crate) const DEFAULT_MAX_JSON: u64 = 16 * 1024 * 1024;
const USER_AGENT: &str = concat!("wecom-api/", env!("CARGO_PKG_VERSION"));

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
    http: http::Http,
    timeout: Duration,
    /// The builder's deadline: the default of every handle, and the one refreshes use.
    deadline: Duration,
    max_download: u64,
    max_json: u64,
    retry: RetryPolicy,
    /// Client-side rate limits, and whom this client's requests count against.
    limits: RateLimits,
    counted: Counted,
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
            max_json: self.max_json,
            retry: self.retry.clone(),
            limits: self.limits.clone(),
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
        http: http::Http,
    ) -> Inner {
        let key = principal.token_key();
        let counted = Counted {
            credential: format!(
                "{}:{}:{}",
                key.kind().as_str(),
                key.corp_id(),
                key.fingerprint()
            ),
            corp: principal.id().to_owned(),
        };
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
            max_json: DEFAULT_MAX_JSON,
            retry: RetryPolicy::default(),
            limits: RateLimits::documented(),
            counted,
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
            .field("http_middleware", &i.http.has_middleware())
            .field("timeout", &i.timeout)
            .field("deadline", &self.deadline)
            .field("retry", &i.retry)
            .field("rate_limits", &i.limits.rules().len())
            .field("agent_id", &self.agent_id)
            .field("token_store", i.tokens.store())
            .finish_non_exhaustive()
    }
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
}
