//! A callback URL, ready to serve: URL verification, POSTs opened by the registry,
//! deduplicated, dispatched to the router within WeCom's 5 seconds (a slower handler
//! finishes in the background), and answered with the passive reply or `success`.
//! Framework-agnostic here ([`Endpoint::receive`], [`Endpoint::verify`]); the axum `Router`
//! (a tower `Service`) is in `axum.rs`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use super::registry::{Opened, Registry};
use super::router::{Context, Router};
use super::{Callback, Claimed, Dedup, DedupStore, OwnedClaim};
use crate::Error;

/// How long a handler may take before the callback is answered and the handler goes on in
/// the background: a little under WeCom's 5 seconds.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(4500);

/// How many handlers may run at once (answered or still in the background), by default.
pub const DEFAULT_MAX_HANDLERS: usize = 256;

/// How often a retry that found its callback in progress looks again.
const IN_PROGRESS_POLL: Duration = Duration::from_millis(100);

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

    fn refused(status: u16, why: &str) -> Self {
        Answer {
            status,
            body: why.to_string(),
        }
    }

    /// The refusal for an error opening a request: nothing was handled.
    fn from_open_error(error: &Error) -> Self {
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
    handlers: Arc<Semaphore>,
    running: Arc<Running>,
    closing: AtomicBool,
}

/// Handlers still running, for a graceful shutdown.
#[derive(Default)]
struct Running {
    count: AtomicUsize,
    idle: Notify,
}

/// Counts one running handler while alive.
struct RunningGuard(Arc<Running>);

impl RunningGuard {
    fn new(running: &Arc<Running>) -> Self {
        running.count.fetch_add(1, Ordering::SeqCst);
        RunningGuard(Arc::clone(running))
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl<S> fmt::Debug for Endpoint<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Endpoint")
            .field("sources", &i.registry.len())
            .field("router", &i.router)
            .field("dedup", &i.dedup)
            .field("budget", &i.budget)
            .field("running", &i.running.count.load(Ordering::Relaxed))
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
                handlers: Arc::new(Semaphore::new(DEFAULT_MAX_HANDLERS)),
                running: Arc::default(),
                closing: AtomicBool::new(false),
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
        self.with(|i| i.handlers = Arc::new(Semaphore::new(handlers.max(1))))
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
        self.inner.running.count.load(Ordering::SeqCst)
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
        if inner.closing.load(Ordering::SeqCst) {
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
        let Some(claim) = self.claim(&key).await else {
            return Answer::refused(503, "this callback is being handled");
        };
        let claim = match claim {
            Ok(claim) => claim,
            Err(answer) => return answer,
        };
        let Ok(permit) = Arc::clone(&inner.handlers).try_acquire_owned() else {
            tracing::warn!(key, "too many callback handlers running; WeCom will retry");
            drop(claim);
            return Answer::refused(503, "busy");
        };
        self.run(opened, callback, claim, permit).await
    }

    /// Claims `key`: `None` when another attempt still handles it after the budget,
    /// `Err(answer)` when it needs no handling (or the store failed).
    async fn claim(&self, key: &str) -> Option<Result<OwnedClaim, Answer>> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now() + inner.budget;
        loop {
            match OwnedClaim::claim(&inner.dedup, key).await {
                Ok(Ok(claim)) => return Some(Ok(claim)),
                Ok(Err(Claimed::Done)) => return Some(Err(Answer::success())),
                // The first attempt may still fail: wait for it, within the budget.
                Ok(Err(_)) => {
                    if tokio::time::Instant::now() + IN_PROGRESS_POLL > deadline {
                        return None;
                    }
                    tokio::time::sleep(IN_PROGRESS_POLL).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "dedup store failed; WeCom will retry");
                    return Some(Err(Answer::refused(503, "dedup store unavailable")));
                }
            }
        }
    }

    async fn run(
        &self,
        opened: Opened,
        callback: Callback,
        claim: OwnedClaim,
        permit: tokio::sync::OwnedSemaphorePermit,
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
        let guard = RunningGuard::new(&inner.running);
        let (send, answer) = tokio::sync::oneshot::channel();
        let task_inner = Arc::clone(&inner);
        tokio::spawn(async move {
            let _guard = guard;
            let _permit = permit;
            let out = task_inner.router.dispatch(ctx, callback).await;
            let settled = match &out {
                Ok(_) => claim.done().await,
                Err(_) => claim.release().await,
            };
            if let Err(e) = settled {
                tracing::warn!(error = %e, "could not record the callback's outcome in the dedup store");
            }
            if let Err(Ok(Some(_))) = send.send(out) {
                tracing::warn!(
                    "a handler that ran past the budget returned a passive reply: it was dropped (send it through the API)"
                );
            }
        });
        match tokio::time::timeout(inner.budget, answer).await {
            Ok(Ok(Ok(None))) => Answer::success(),
            Ok(Ok(Ok(Some(reply)))) => {
                let reply = reply.addressed(to, from, crate::token::now_unix() as i64);
                match reply.encrypt_now(opened.source.crypto()) {
                    Ok(body) => Answer::ok(body),
                    Err(e) => {
                        tracing::error!(error = %e, "could not encrypt the passive reply");
                        Answer::success()
                    }
                }
            }
            Ok(Ok(Err(_))) => Answer::refused(500, "handler failed"),
            // The task panicked: its claim was released when it unwound.
            Ok(Err(_)) => Answer::refused(500, "handler failed"),
            Err(_) => {
                tracing::info!("handler still running after the budget: answered, it goes on");
                Answer::success()
            }
        }
    }

    /// Stops taking callbacks (they are answered 503, so WeCom retries them elsewhere or
    /// later) and waits up to `timeout` for running handlers; whether all finished.
    pub async fn shutdown(&self, timeout: Duration) -> bool {
        let inner = &self.inner;
        inner.closing.store(true, Ordering::SeqCst);
        let drained = async {
            loop {
                let idle = inner.running.idle.notified();
                if inner.running.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(timeout, drained).await.is_ok()
    }
}
