//! A third-party suite's lifecycle, driven by its 指令回调: `suite_ticket` saved for the
//! suite token, `create_auth` exchanged for the permanent code and kept,
//! `change_auth` refreshed, `reset_permanent_code` exchanged again, `cancel_auth`
//! forgotten; and a client per authorised corp made from what is kept.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::router::{Context, HandlerResult, Router};
use super::{
    CancelAuthEvent, ChangeAuthEvent, CreateAuthEvent, DedupFuture, ResetPermanentCodeEvent,
    SuiteTicketEvent,
};
use crate::{Client, Error, Result, Secret};

/// One corp's authorisation of a suite: what a client for it needs. The permanent code is a
/// [`Secret`] (never in `Debug`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The authorising corp's id.
    pub corp_id: String,
    /// Its permanent code.
    pub permanent_code: Secret,
    /// The suite's app in that corp (`auth_info.agent[0].agentid`), filled into app
    /// messages and menus by its client.
    pub agent_id: Option<i64>,
    /// The corp's name, as WeCom gave it.
    pub corp_name: Option<String>,
}

/// Where the authorisations of a suite's corps are kept: [`MemoryPermanentCodes`],
/// `RedisPermanentCodes` (feature `redis`), or your own database.
pub trait PermanentCodeStore: Send + Sync + fmt::Debug {
    /// The authorisation of `corp_id`, if the suite has one.
    fn get<'a>(
        &'a self,
        suite_id: &'a str,
        corp_id: &'a str,
    ) -> DedupFuture<'a, Option<Authorization>>;
    /// Keeps `authorization`, replacing the corp's previous one.
    fn put<'a>(&'a self, suite_id: &'a str, authorization: Authorization) -> DedupFuture<'a, ()>;
    /// Forgets the corp's authorisation.
    fn remove<'a>(&'a self, suite_id: &'a str, corp_id: &'a str) -> DedupFuture<'a, ()>;
}

/// Authorisations in this process's memory.
#[derive(Default)]
pub struct MemoryPermanentCodes {
    codes: Mutex<HashMap<(String, String), Authorization>>,
}

impl fmt::Debug for MemoryPermanentCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.codes.lock().map_or(0, |c| c.len());
        f.debug_struct("MemoryPermanentCodes")
            .field("corps", &count)
            .finish()
    }
}

impl MemoryPermanentCodes {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Authorization>> {
        self.codes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PermanentCodeStore for MemoryPermanentCodes {
    fn get<'a>(
        &'a self,
        suite_id: &'a str,
        corp_id: &'a str,
    ) -> DedupFuture<'a, Option<Authorization>> {
        let found = self.lock().get(&(suite_id.into(), corp_id.into())).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn put<'a>(&'a self, suite_id: &'a str, authorization: Authorization) -> DedupFuture<'a, ()> {
        self.lock().insert(
            (suite_id.into(), authorization.corp_id.clone()),
            authorization,
        );
        Box::pin(std::future::ready(Ok(())))
    }

    fn remove<'a>(&'a self, suite_id: &'a str, corp_id: &'a str) -> DedupFuture<'a, ()> {
        self.lock().remove(&(suite_id.into(), corp_id.into()));
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The suite's side of its lifecycle: handles its notifications and makes clients for the
/// corps that authorised it.
///
/// ```no_run
/// use std::sync::Arc;
/// use wecom_api::callback::{MemoryPermanentCodes, Router, SuiteLifecycle};
///
/// # fn demo() -> wecom_api::Result<()> {
/// let suite = wecom_api::Client::builder().suite("wwsuite", "suite-secret").build()?;
/// let lifecycle = Arc::new(SuiteLifecycle::new(suite, Arc::new(MemoryPermanentCodes::new())));
/// // suite_ticket, create_auth, change_auth, reset_permanent_code, cancel_auth:
/// let router: Router<()> = lifecycle.clone().route(Router::new());
/// // Later, in any handler or job:
/// # async fn later(lifecycle: Arc<SuiteLifecycle>) -> wecom_api::Result<()> {
/// let corp = lifecycle.corp("wwcorp").await?; // agent id filled from the authorisation
/// let user = corp.user().get("zhangsan").await?;
/// # Ok(()) }
/// # Ok(()) }
/// ```
pub struct SuiteLifecycle {
    suite: Client,
    codes: Arc<dyn PermanentCodeStore>,
}

impl fmt::Debug for SuiteLifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuiteLifecycle")
            .field("suite", &self.suite)
            .field("codes", &self.codes)
            .finish()
    }
}

impl SuiteLifecycle {
    /// The lifecycle of the suite held by `suite` (a [`ClientBuilder::suite`]
    /// (crate::ClientBuilder::suite) client), keeping authorisations in `codes`.
    pub fn new(suite: Client, codes: Arc<dyn PermanentCodeStore>) -> Self {
        SuiteLifecycle { suite, codes }
    }

    /// The suite's client.
    pub fn suite(&self) -> &Client {
        &self.suite
    }

    fn suite_id(&self) -> &str {
        self.suite.corp_id()
    }

    /// A client for a corp that authorised the suite, from its kept authorisation (with
    /// its agent id). A corp that never authorised it, or cancelled, is a clear error.
    pub async fn corp(&self, corp_id: &str) -> Result<Client> {
        let Some(auth) = self.codes.get(self.suite_id(), corp_id).await? else {
            return Err(Error::invalid_argument(
                "corp_id",
                format!(
                    "corp `{corp_id}` has not authorised suite `{}` (or cancelled the authorisation)",
                    self.suite_id()
                ),
            ));
        };
        let client = self
            .suite
            .authorized_corp(auth.corp_id, auth.permanent_code)?;
        Ok(match auth.agent_id {
            Some(agent_id) => client.with_agent_id(agent_id),
            None => client,
        })
    }

    /// The kept authorisation of `corp_id`.
    pub async fn authorization(&self, corp_id: &str) -> Result<Option<Authorization>> {
        self.codes.get(self.suite_id(), corp_id).await
    }

    /// Saves a pushed `suite_ticket` (the suite token is obtained with the newest).
    pub async fn on_suite_ticket(&self, event: &SuiteTicketEvent) -> Result<()> {
        let ticket = event
            .suite_ticket
            .as_ref()
            .ok_or_else(|| Error::invalid_argument("SuiteTicket", "missing from suite_ticket"))?;
        self.suite
            .save_ticket(ticket.expose(), event.time_stamp)
            .await?;
        Ok(())
    }

    /// Exchanges the temporary auth code of `create_auth` for the permanent code and keeps
    /// the authorisation.
    pub async fn on_create_auth(&self, event: &CreateAuthEvent) -> Result<Authorization> {
        self.exchange(event.auth_code.as_ref()).await
    }

    /// Exchanges the new auth code of `reset_permanent_code` and keeps it.
    pub async fn on_reset_permanent_code(
        &self,
        event: &ResetPermanentCodeEvent,
    ) -> Result<Authorization> {
        self.exchange(event.auth_code.as_ref()).await
    }

    /// Reads the corp's authorisation again (`service/get_auth_info`) after `change_auth`
    /// and keeps its new agent id.
    pub async fn on_change_auth(&self, event: &ChangeAuthEvent) -> Result<()> {
        let corp_id = required(event.auth_corp_id.as_deref(), "AuthCorpId")?;
        let Some(mut auth) = self.codes.get(self.suite_id(), corp_id).await? else {
            tracing::warn!(corp_id, "change_auth for a corp with no kept authorisation");
            return Ok(());
        };
        let info = self
            .suite
            .post_json(
                "/cgi-bin/service/get_auth_info",
                &[],
                &json!({ "auth_corpid": corp_id, "permanent_code": auth.permanent_code.expose() }),
            )
            .await?;
        auth.agent_id = first_agent_id(&info).or(auth.agent_id);
        self.codes.put(self.suite_id(), auth).await
    }

    /// Forgets the corp after `cancel_auth`: its client can no longer be made.
    pub async fn on_cancel_auth(&self, event: &CancelAuthEvent) -> Result<()> {
        let corp_id = required(event.auth_corp_id.as_deref(), "AuthCorpId")?;
        self.codes.remove(self.suite_id(), corp_id).await
    }

    async fn exchange(&self, auth_code: Option<&Secret>) -> Result<Authorization> {
        let code = auth_code.ok_or_else(|| Error::invalid_argument("AuthCode", "missing"))?;
        // Not resent by the client: the code works once.
        let answer = self
            .suite
            .post_json(
                "/cgi-bin/service/get_permanent_code",
                &[],
                &json!({ "auth_code": code.expose() }),
            )
            .await?;
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let missing = |what: &'static str| Error::Decode {
            endpoint: "suite.get_permanent_code".into(),
            path: what.into(),
            message: format!("no {what} in the answer"),
            excerpt: String::new(),
        };
        let authorization = Authorization {
            corp_id: text(&answer["auth_corp_info"]["corpid"])
                .ok_or_else(|| missing("auth_corp_info.corpid"))?,
            permanent_code: text(&answer["permanent_code"])
                .ok_or_else(|| missing("permanent_code"))?
                .into(),
            agent_id: first_agent_id(&answer),
            corp_name: text(&answer["auth_corp_info"]["corp_name"]),
        };
        self.codes
            .put(self.suite_id(), authorization.clone())
            .await?;
        tracing::info!(corp_id = %authorization.corp_id, "suite authorised by a corp");
        Ok(authorization)
    }

    /// Registers handlers for the five lifecycle notifications on `router` (they answer
    /// `success`; a failure is answered 500, so WeCom retries).
    pub fn route<S: Clone + Send + Sync + 'static>(
        self: Arc<Self>,
        router: Router<S>,
    ) -> Router<S> {
        let (a, b, c, d, e) = (
            Arc::clone(&self),
            Arc::clone(&self),
            Arc::clone(&self),
            Arc::clone(&self),
            self,
        );
        router
            .on(move |_ctx: Context<S>, event: SuiteTicketEvent| {
                let lifecycle = Arc::clone(&a);
                async move { done(lifecycle.on_suite_ticket(&event).await) }
            })
            .on(move |_ctx: Context<S>, event: CreateAuthEvent| {
                let lifecycle = Arc::clone(&b);
                async move { done(lifecycle.on_create_auth(&event).await.map(drop)) }
            })
            .on(move |_ctx: Context<S>, event: ChangeAuthEvent| {
                let lifecycle = Arc::clone(&c);
                async move { done(lifecycle.on_change_auth(&event).await) }
            })
            .on(move |_ctx: Context<S>, event: ResetPermanentCodeEvent| {
                let lifecycle = Arc::clone(&d);
                async move { done(lifecycle.on_reset_permanent_code(&event).await.map(drop)) }
            })
            .on(move |_ctx: Context<S>, event: CancelAuthEvent| {
                let lifecycle = Arc::clone(&e);
                async move { done(lifecycle.on_cancel_auth(&event).await) }
            })
    }
}

fn done(out: Result<()>) -> HandlerResult {
    out.map(|()| None).map_err(Into::into)
}

fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::invalid_argument(name, "missing from the notification"))
}

fn first_agent_id(answer: &Value) -> Option<i64> {
    let id = &answer["auth_info"]["agent"][0]["agentid"];
    id.as_i64().or_else(|| id.as_str()?.parse().ok())
}

#[cfg(feature = "redis")]
mod redis_store {
    use std::fmt;

    use redis::aio::ConnectionManager;

    use super::{Authorization, PermanentCodeStore};
    use crate::callback::DedupFuture;
    use crate::error::{Error, Result};

    /// Authorisations in Redis, shared by every instance: a hash `wecom:permanent_codes:<suite
    /// id>` with a field per corp (the permanent code is stored as it must be used).
    #[derive(Clone)]
    pub struct RedisPermanentCodes {
        conn: ConnectionManager,
        addr: String,
    }

    impl fmt::Debug for RedisPermanentCodes {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RedisPermanentCodes")
                .field("addr", &self.addr)
                .finish()
        }
    }

    impl RedisPermanentCodes {
        /// The store on the Redis at `url`.
        pub async fn connect(url: &str) -> Result<Self> {
            let (conn, addr) = crate::redis_conn::connect(url)?;
            Ok(RedisPermanentCodes { conn, addr })
        }

        fn key(suite_id: &str) -> String {
            format!("wecom:permanent_codes:{suite_id}")
        }
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Stored {
        corp_id: String,
        permanent_code: String,
        agent_id: Option<i64>,
        corp_name: Option<String>,
    }

    impl PermanentCodeStore for RedisPermanentCodes {
        fn get<'a>(
            &'a self,
            suite_id: &'a str,
            corp_id: &'a str,
        ) -> DedupFuture<'a, Option<Authorization>> {
            Box::pin(async move {
                let mut conn = self.conn.clone();
                let stored: Option<String> = redis::cmd("HGET")
                    .arg(Self::key(suite_id))
                    .arg(corp_id)
                    .query_async(&mut conn)
                    .await
                    .map_err(Error::token_store)?;
                let Some(stored) = stored else {
                    return Ok(None);
                };
                let s: Stored = serde_json::from_str(&stored)
                    .map_err(|_| Error::token_store("a stored authorisation is not readable"))?;
                Ok(Some(Authorization {
                    corp_id: s.corp_id,
                    permanent_code: s.permanent_code.into(),
                    agent_id: s.agent_id,
                    corp_name: s.corp_name,
                }))
            })
        }

        fn put<'a>(&'a self, suite_id: &'a str, a: Authorization) -> DedupFuture<'a, ()> {
            Box::pin(async move {
                let stored = Stored {
                    permanent_code: a.permanent_code.expose().to_string(),
                    corp_id: a.corp_id,
                    agent_id: a.agent_id,
                    corp_name: a.corp_name,
                };
                let json = serde_json::to_string(&stored)
                    .map_err(|e| Error::invalid_argument("authorization", e.to_string()))?;
                let mut conn = self.conn.clone();
                redis::cmd("HSET")
                    .arg(Self::key(suite_id))
                    .arg(&stored.corp_id)
                    .arg(json)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map(drop)
                    .map_err(Error::token_store)
            })
        }

        fn remove<'a>(&'a self, suite_id: &'a str, corp_id: &'a str) -> DedupFuture<'a, ()> {
            Box::pin(async move {
                let mut conn = self.conn.clone();
                redis::cmd("HDEL")
                    .arg(Self::key(suite_id))
                    .arg(corp_id)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map(drop)
                    .map_err(Error::token_store)
            })
        }
    }
}

#[cfg(feature = "redis")]
pub use redis_store::RedisPermanentCodes;
