//! A callback URL, ready to serve: URL verification, POSTs opened by the registry,
//! deduplicated, dispatched to the router within WeCom's 5 seconds (a slower handler
//! finishes in the background), and answered with the passive reply or `success`.
//! Framework-agnostic here ([`Endpoint::receive`], [`Endpoint::verify`]); the axum `Router`
//! (a tower `Service`) is in `axum.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::intake::{self, Admitted, HandlerPool, Ran};
use super::registry::{Opened, Registry};
use super::router::{Context, Router};
use super::{Callback, Dedup, DedupStore, OwnedClaim};
use crate::Error;

/// How long a handler may take before the callback is answered and the handler goes on in
/// the background: a little under WeCom's 5 seconds.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(4500);

/// How many handlers may run at once (answered or still in the background), by default.
pub const DEFAULT_MAX_HANDLERS: usize = 256;

/// An HTTP answer for WeCom: status and body (`text/plain`; a passive reply is XML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
}

impl Answer {
    fn ok(body: impl Into<String>) -> Self {
        Answer {
            status: 200,
            body: body.into(),
        }
    }

    /// `200 success`: handled (or a retry of a handled one), no passive reply. Suite
    /// notifications (指令回调) must be answered with exactly this.
    fn success() -> Self {
        Answer::ok("success")
    }

    pub(crate) fn refused(status: u16, why: &str) -> Self {
        Answer {
            status,
            body: why.to_string(),
        }
    }

    /// The refusal for an error opening a request: nothing was handled.
    pub(crate) fn from_open_error(error: &Error) -> Self {
        match error {
            Error::TooLarge { .. } => Answer::refused(413, "callback body too large"),
            Error::Crypto { .. } => Answer::refused(403, "callback not verified"),
            _ => Answer::refused(400, "malformed callback request"),
        }
    }
}

/// The callback URL's machinery; cheap to clone (clones share everything).
///
/// ```
/// use wecom_api::callback::{CallbackCrypto, Context, Endpoint, HandlerResult, Registry, Reply, Router, Source, TextMessage};
///
/// async fn on_text(_ctx: Context<()>, text: TextMessage) -> HandlerResult {
///     Ok(Some(Reply::text(format!("echo: {}", text.content.unwrap_or_default()))))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> wecom_api::Result<()> {
/// let crypto = CallbackCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww1")?;
/// let registry = Registry::new();
/// registry.insert(Source::new("app", crypto.clone()));
/// let endpoint = Endpoint::new(registry, Router::new().on(on_text), ());
///
/// // A test drives it with a sealed request, no network:
/// let request = crypto.seal_request(
///     "<xml><ToUserName>ww1</ToUserName><FromUserName>zhangsan</FromUserName>\
///      <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content>\
///      <MsgId>1</MsgId><AgentID>1</AgentID></xml>",
/// )?;
/// let answer = endpoint.receive(&request.query, request.body.as_bytes()).await;
/// assert_eq!(answer.status, 200);
/// assert!(crypto.open_reply(&answer.body)?.contains("echo: hi"));
/// # Ok(())
/// # }
/// ```
pub struct Endpoint<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Endpoint<S> {
    fn clone(&self) -> Self {
        Endpoint {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<S> {
    registry: Registry,
    router: Router<S>,
    state: S,
    dedup: Arc<dyn DedupStore>,
    budget: Duration,
    pool: HandlerPool,
}

impl<S> fmt::Debug for Endpoint<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Endpoint")
            .field("sources", &i.registry.len())
            .field("router", &i.router)
            .field("dedup", &i.dedup)
            .field("budget", &i.budget)
            .field("pool", &i.pool)
            .finish()
    }
}

impl<S: Clone + Send + Sync + 'static> Endpoint<S> {
    /// An endpoint for the sources in `registry`, dispatching to `router` with `state`;
    /// in-memory dedup, [`DEFAULT_BUDGET`], [`DEFAULT_MAX_HANDLERS`].
    pub fn new(registry: Registry, router: Router<S>, state: S) -> Self {
        Endpoint {
            inner: Arc::new(Inner {
                registry,
                router,
                state,
                dedup: Arc::new(Dedup::default()),
                budget: DEFAULT_BUDGET,
                pool: HandlerPool::new(DEFAULT_MAX_HANDLERS),
            }),
        }
    }

    fn with(self, change: impl FnOnce(&mut Inner<S>)) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                change(&mut inner);
                Endpoint {
                    inner: Arc::new(inner),
                }
            }
            // Settings are made before the endpoint is shared; a clone keeps them as they are.
            Err(inner) => Endpoint { inner },
        }
    }

    /// Where claims of callback keys live: a shared store (`RedisDedup`) lets several
    /// instances see each of WeCom's retries once. Its window should be at least the
    /// callbacks' freshness window (5 minutes by default).
    pub fn with_dedup(self, store: Arc<dyn DedupStore>) -> Self {
        self.with(|i| i.dedup = store)
    }

    /// How long a handler may take before WeCom is answered (`success`) and the handler
    /// goes on in the background; its reply is then dropped (send it through the API).
    pub fn with_budget(self, budget: Duration) -> Self {
        self.with(|i| i.budget = budget)
    }

    /// How many handlers may run at once; past that, callbacks are answered 503 and WeCom
    /// retries them.
    pub fn with_max_handlers(self, handlers: usize) -> Self {
        self.with(|i| i.pool = HandlerPool::new(handlers))
    }

    /// The state handlers get.
    pub fn state(&self) -> &S {
        &self.inner.state
    }

    /// The sources: add or remove them while the endpoint runs.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// How many handlers are running now (answered or not).
    pub fn running(&self) -> usize {
        self.inner.pool.running()
    }

    /// Answers WeCom's URL verification (the GET sent when the URL is saved): the
    /// decrypted `echostr`, or a refusal.
    pub fn verify(&self, query: &str) -> Answer {
        match self.inner.registry.verify_url(query) {
            Ok((source, echo)) => {
                tracing::info!(source = source.name(), "callback URL verified");
                Answer::ok(echo)
            }
            Err(e) => {
                tracing::warn!(error = %e, "callback URL verification refused");
                Answer::from_open_error(&e)
            }
        }
    }

    /// Handles one POST: open, dedup, dispatch within the budget, answer.
    pub async fn receive(&self, query: &str, body: &[u8]) -> Answer {
        let inner = &self.inner;
        if inner.pool.is_closing() {
            return Answer::refused(503, "shutting down");
        }
        let opened = match inner.registry.open(query, body) {
            Ok(opened) => opened,
            Err(e) => {
                tracing::warn!(error = %e, "callback refused");
                return Answer::from_open_error(&e);
            }
        };
        let callback = match Callback::parse(&opened.plaintext) {
            Ok(callback) => callback,
            Err(e) => {
                tracing::warn!(source = opened.source.name(), error = %e, "callback not readable");
                return Answer::refused(400, "malformed callback");
            }
        };
        let key = callback.dedup_key();
        let claim = match intake::claim(&inner.dedup, &key, inner.budget)
            .await
            .or_answer(Answer::success())
        {
            Ok(claim) => claim,
            Err(answer) => return answer,
        };
        let Some(admitted) = inner.pool.try_admit() else {
            tracing::warn!(key, "too many callback handlers running; WeCom will retry");
            drop(claim);
            return Answer::refused(503, "busy");
        };
        self.run(opened, callback, claim, admitted).await
    }

    async fn run(
        &self,
        opened: Opened,
        callback: Callback,
        claim: OwnedClaim,
        admitted: Admitted,
    ) -> Answer {
        let inner = Arc::clone(&self.inner);
        let fields = callback.to_fields();
        let (to, from) = (
            fields.text("FromUserName").unwrap_or_default(),
            fields.text("ToUserName").unwrap_or_default(),
        );
        let source = Arc::clone(&opened.source);
        let key = claim.key().to_string();
        let ctx = Context::with_key(
            inner.state.clone(),
            source,
            opened.receive_id,
            &callback,
            key,
        );
        let task_inner = Arc::clone(&inner);
        let handler = async move { task_inner.router.dispatch(ctx, callback).await };
        let late = |out: Result<Option<_>, _>| {
            if let Ok(Some(_)) = out {
                tracing::warn!(
                    "a handler that ran past the budget returned a passive reply: it was dropped (send it through the API)"
                );
            }
        };
        match HandlerPool::run_within(admitted, claim, inner.budget, handler, late).await {
            Ran::Returned(Ok(None)) => Answer::success(),
            Ran::Returned(Ok(Some(reply))) => {
                let reply = reply.addressed(to, from, crate::token::now_unix() as i64);
                match reply.encrypt_now(opened.source.crypto()) {
                    Ok(body) => Answer::ok(body),
                    Err(e) => {
                        tracing::error!(error = %e, "could not encrypt the passive reply");
                        Answer::success()
                    }
                }
            }
            Ran::Returned(Err(_)) => Answer::refused(500, "handler failed"),
            // The task panicked: its claim was released when it unwound.
            Ran::Panicked => Answer::refused(500, "handler failed"),
            Ran::Late => {
                tracing::info!("handler still running after the budget: answered, it goes on");
                Answer::success()
            }
        }
    }

    /// Stops taking callbacks (they are answered 503, so WeCom retries them elsewhere or
    /// later) and waits up to `timeout` for running handlers; whether all finished.
    pub async fn shutdown(&self, timeout: Duration) -> bool {
        self.inner.pool.shutdown(timeout).await
    }
}
