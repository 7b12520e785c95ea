//! [`Corp`]: one corp id and several named secrets (an app, contacts sync, customer
//! contact, ...), handing out one [`Client`] per secret. The clients share one connection
//! pool and one token store; each secret keeps its own token, as WeCom requires.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::{Client, ClientBuilder, Http, default_http_client, required};
use crate::error::{Error, Result};
use crate::ratelimit::RateLimits;
use crate::redact::MASK;
use crate::retry::RetryPolicy;
use crate::token::{MemoryTokenStore, SharedStore, TokenStore};

/// Default time to establish a connection, as for [`ClientBuilder`].
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A corp and its secrets. Cheap to clone.
///
/// ```
/// # fn demo() -> wecom_api::Result<()> {
/// let corp = wecom_api::Corp::builder()
///     .corp_id("ww0123456789abcdef")
///     .app("oa", 1000002, "oa-app-secret") // an app: its agentid serves wx.agentConfig
///     .secret("contacts", "contacts-sync-secret")
///     .secret("customer", "customer-contact-secret")
///     .build()?;
/// let contacts = corp.client("contacts")?; // its own token, the shared pool and store
/// assert!(corp.client("nope").is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Corp {
    inner: Arc<CorpInner>,
}

struct CorpInner {
    corp_id: String,
    clients: BTreeMap<String, Client>,
}

impl fmt::Debug for Corp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Corp")
            .field("corp_id", &self.inner.corp_id)
            .field("secrets", &self.inner.clients.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Corp {
    /// Starts a [`CorpBuilder`].
    pub fn builder() -> CorpBuilder {
        CorpBuilder::default()
    }

    /// The corp id.
    pub fn corp_id(&self) -> &str {
        &self.inner.corp_id
    }

    /// The client of the secret named `name`. Fails with [`Error::InvalidArgument`] naming
    /// the known names if there is none.
    pub fn client(&self, name: &str) -> Result<Client> {
        self.inner.clients.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.names().collect();
            Error::invalid_argument(
                "secret name",
                format!("no secret named `{name}` (known: {})", known.join(", ")),
            )
        })
    }

    /// The names of the secrets, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.inner.clients.keys().map(String::as_str)
    }
}

struct NamedSecret {
    name: String,
    secret: String,
    agent_id: Option<i64>,
}

/// Builds a [`Corp`]; see [`Corp::builder`]. The settings apply to every client.
#[must_use]
pub struct CorpBuilder {
    corp_id: Option<String>,
    secrets: Vec<NamedSecret>,
    base_url: Option<String>,
    http: Option<Http>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    deadline: Option<Duration>,
    retry: Option<RetryPolicy>,
    store: Option<Arc<dyn TokenStore>>,
    limits: Option<RateLimits>,
    max_json: Option<u64>,
    max_download: Option<u64>,
}

impl Default for CorpBuilder {
    fn default() -> Self {
        CorpBuilder {
            corp_id: None,
            secrets: Vec::new(),
            base_url: None,
            http: None,
            timeout: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            deadline: None,
            retry: None,
            store: None,
            limits: None,
            max_json: None,
            max_download: None,
        }
    }
}

impl fmt::Debug for CorpBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secrets: Vec<(&str, &str)> = self
            .secrets
            .iter()
            .map(|s| (s.name.as_str(), MASK))
            .collect();
        f.debug_struct("CorpBuilder")
            .field("corp_id", &self.corp_id)
            .field("secrets", &secrets)
            .field(
                "base_url",
                &self.base_url.as_deref().map(crate::redact::redact_userinfo),
            )
            .field("token_store", &self.store)
            .field("rate_limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl CorpBuilder {
    /// The corp id (`ww...`). Required.
    pub fn corp_id(mut self, corp_id: impl Into<String>) -> Self {
        self.corp_id = Some(corp_id.into());
        self
    }

    /// A secret, named as you will refer to it in [`Corp::client`] (`contacts`,
    /// `customer`, ...).
    pub fn secret(mut self, name: impl Into<String>, secret: impl Into<String>) -> Self {
        self.secrets.push(NamedSecret {
            name: name.into(),
            secret: secret.into(),
            agent_id: None,
        });
        self
    }

    /// An app's secret with its agentid (for `wx.agentConfig`).
    pub fn app(
        mut self,
        name: impl Into<String>,
        agent_id: i64,
        secret: impl Into<String>,
    ) -> Self {
        self.secrets.push(NamedSecret {
            name: name.into(),
            secret: secret.into(),
            agent_id: Some(agent_id),
        });
        self
    }

    /// Base URL of every client (default `https://qyapi.weixin.qq.com`).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The reqwest client (connection pool) every client uses; by default one is built.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(Http::Plain(http));
        self
    }

    /// Sends every client's requests through this `reqwest_middleware` stack (cargo
    /// feature `middleware`; see [`ClientBuilder::http_middleware`]).
    #[cfg(feature = "middleware")]
    pub fn http_middleware(mut self, http: reqwest_middleware::ClientWithMiddleware) -> Self {
        self.http = Some(Http::Layered(http));
        self
    }

    /// Client-side rate limits of every client (see [`ClientBuilder::rate_limits`]; default
    /// [`RateLimits::documented`]). The clients share the limits' counts.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Largest JSON answer read (see [`ClientBuilder::max_json_size`]).
    pub fn max_json_size(mut self, bytes: u64) -> Self {
        self.max_json = Some(bytes);
        self
    }

    /// Largest file a download keeps in memory (see [`ClientBuilder::max_download_size`]).
    pub fn max_download_size(mut self, bytes: u64) -> Self {
        self.max_download = Some(bytes);
        self
    }

    /// Total time for one HTTP request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time to establish a connection (default 10 s), for the pool built here.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Total deadline of one call, for every client (see [`ClientBuilder::deadline`]).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Retry policy of every client (see [`ClientBuilder::retry_policy`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The token store every client uses (default: one [`MemoryTokenStore`]).
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Checks the settings and builds a client per secret. Fails with
    /// [`Error::InvalidArgument`] on a missing corp id, no secret, an empty or repeated
    /// name, an empty secret, or a setting a client refuses.
    pub fn build(self) -> Result<Corp> {
        let corp_id = required(self.corp_id, "corp_id")?;
        if self.secrets.is_empty() {
            return Err(Error::invalid_argument(
                "secrets",
                "at least one is required",
            ));
        }
        let http = match self.http {
            Some(http) => http,
            None => Http::Plain(default_http_client(self.connect_timeout)?),
        };
        let store = Arc::new(SharedStore::new(
            self.store
                .unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
        ));
        let mut clients = BTreeMap::new();
        for s in self.secrets {
            if s.name.trim().is_empty() {
                return Err(Error::invalid_argument("secret name", "must not be empty"));
            }
            if s.secret.trim().is_empty() {
                return Err(Error::invalid_argument(
                    format!("secret `{}`", s.name),
                    "must not be empty",
                ));
            }
            if clients.contains_key(&s.name) {
                return Err(Error::invalid_argument(
                    "secret name",
                    format!("`{}` is given twice", s.name),
                ));
            }
            let mut b: ClientBuilder = Client::builder()
                .corp_id(corp_id.clone())
                .secret(s.secret)
                .http(http.clone())
                .shared_store(Arc::clone(&store));
            if let Some(url) = &self.base_url {
                b = b.base_url(url.clone());
            }
            if let Some(t) = self.timeout {
                b = b.timeout(t);
            }
            if let Some(d) = self.deadline {
                b = b.deadline(d);
            }
            if let Some(r) = &self.retry {
                b = b.retry_policy(r.clone());
            }
            if let Some(id) = s.agent_id {
                b = b.agent_id(id);
            }
            if let Some(limits) = &self.limits {
                b = b.rate_limits(limits.clone());
            }
            if let Some(bytes) = self.max_json {
                b = b.max_json_size(bytes);
            }
            if let Some(bytes) = self.max_download {
                b = b.max_download_size(bytes);
            }
            clients.insert(s.name, b.build()?);
        }
        Ok(Corp {
            inner: Arc::new(CorpInner { corp_id, clients }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(r: Result<Corp>) -> String {
        match r {
            Err(Error::InvalidArgument { what, why }) => format!("{what}: {why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_bad_settings_naming_them() {
        let b = || Corp::builder().corp_id("ww");
        assert!(what(Corp::builder().secret("a", "s").build()).starts_with("corp_id"));
        assert!(what(b().build()).starts_with("secrets"));
        assert!(what(b().secret("", "s").build()).starts_with("secret name"));
        assert!(what(b().secret("a", " ").build()).starts_with("secret `a`"));
        assert!(what(b().secret("a", "s").secret("a", "t").build()).contains("twice"));
    }

    #[test]
    fn hands_out_clients_by_name_and_hides_secrets() {
        let corp = Corp::builder()
            .corp_id("wwcorp")
            .app("oa", 1000002, "SECRET-ONE")
            .secret("contacts", "SECRET-TWO")
            .build()
            .unwrap();
        assert_eq!(corp.names().collect::<Vec<_>>(), ["contacts", "oa"]);
        assert_eq!(corp.client("oa").unwrap().agent_id(), Some(1000002));
        assert_eq!(corp.client("contacts").unwrap().agent_id(), None);
        assert_eq!(corp.client("oa").unwrap().corp_id(), "wwcorp");
        let err = corp.client("kf").unwrap_err().to_string();
        assert!(
            err.contains("`kf`") && err.contains("contacts, oa"),
            "{err}"
        );
        let shown = format!("{corp:?}");
        assert!(!shown.contains("SECRET-"), "{shown}");
        let b = Corp::builder().secret("x", "SECRET-THREE");
        assert!(!format!("{b:?}").contains("SECRET-"));
    }
}
