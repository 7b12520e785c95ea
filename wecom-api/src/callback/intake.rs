//! What every callback door shares once a request is opened: the dedup claim (waiting,
//! within the budget, for an attempt still in progress), the bounded pool of handler tasks,
//! the run within the budget (a slower handler goes on in the background), and the
//! graceful shutdown that stops intake and drains the pool. The XML callback endpoint and
//! the AI bot's webhook both use it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::{Answer, Claimed, DedupStore, OwnedClaim};
use crate::Error;

/// How often a retry that found its callback in progress looks again.
const IN_PROGRESS_POLL: Duration = Duration::from_millis(100);

/// What claiming a callback's dedup key found.
pub(crate) enum Claim {
    /// New: handle it, then settle the claim.
    New(OwnedClaim),
    /// A retry of one handled within the store's window.
    Done,
    /// Another attempt still handles it after the budget: WeCom should retry later.
    InProgress,
    /// The store failed.
    Failed(Error),
}

impl Claim {
    /// The new claim, or what WeCom is answered instead: `done` for a retry of a handled
    /// one, 503 (retry later) otherwise.
    pub(crate) fn or_answer(self, done: Answer) -> Result<OwnedClaim, Answer> {
        match self {
            Claim::New(claim) => Ok(claim),
            Claim::Done => Err(done),
            Claim::InProgress => Err(Answer::refused(503, "this callback is being handled")),
            Claim::Failed(e) => {
                tracing::error!(error = %e, "dedup store failed; WeCom will retry");
                Err(Answer::refused(503, "dedup store unavailable"))
            }
        }
    }
}

/// Claims `key`, waiting up to `budget` while another attempt has it in progress (that
/// attempt may still fail and release it).
pub(crate) async fn claim(store: &Arc<dyn DedupStore>, key: &str, budget: Duration) -> Claim {
    let deadline = tokio::time::Instant::now() + budget;
    loop {
        match OwnedClaim::claim(store, key).await {
            Ok(Ok(claim)) => return Claim::New(claim),
            Ok(Err(Claimed::Done)) => return Claim::Done,
            Ok(Err(_)) => {
                if tokio::time::Instant::now() + IN_PROGRESS_POLL > deadline {
                    return Claim::InProgress;
                }
                tokio::time::sleep(IN_PROGRESS_POLL).await;
            }
            Err(e) => return Claim::Failed(e),
        }
    }
}

/// How a handler run within the budget ended, as far as the answer is concerned.
pub(crate) enum Ran<T, E> {
    /// It returned within the budget.
    Returned(Result<T, E>),
    /// It panicked within the budget (its claim was released as it unwound).
    Panicked,
    /// Still running when the budget ran out: it goes on in the background.
    Late,
}

/// Handler tasks: at most a fixed number at once, counted for a graceful shutdown.
pub(crate) struct HandlerPool {
    permits: Arc<Semaphore>,
    running: Arc<Running>,
    closing: AtomicBool,
}

impl std::fmt::Debug for HandlerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerPool")
            .field("running", &self.running())
            .field("closing", &self.is_closing())
            .finish()
    }
}

/// Handlers still running.
#[derive(Default)]
struct Running {
    count: AtomicUsize,
    idle: Notify,
}

/// A place in the pool: the permit and the running count, both given back on drop.
pub(crate) struct Admitted {
    _permit: OwnedSemaphorePermit,
    _running: RunningGuard,
}

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

impl HandlerPool {
    /// A pool of at most `max` handlers (at least one).
    pub(crate) fn new(max: usize) -> Self {
        HandlerPool {
            permits: Arc::new(Semaphore::new(max.max(1))),
            running: Arc::default(),
            closing: AtomicBool::new(false),
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called: new callbacks are refused.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// How many handlers are running (answered or not).
    pub(crate) fn running(&self) -> usize {
        self.running.count.load(Ordering::SeqCst)
    }

    /// A place for one more handler; `None` when the pool is full.
    pub(crate) fn try_admit(&self) -> Option<Admitted> {
        let permit = Arc::clone(&self.permits).try_acquire_owned().ok()?;
        Some(Admitted {
            _permit: permit,
            _running: RunningGuard::new(&self.running),
        })
    }

    /// Runs `handler` as its own task holding `admitted` and `claim` (settled done on `Ok`,
    /// released on `Err`), and waits for it up to `budget`. What a late handler returns is
    /// given to `late` (its answer was already sent).
    pub(crate) async fn run_within<T, E, F>(
        admitted: Admitted,
        claim: OwnedClaim,
        budget: Duration,
        handler: F,
        late: impl FnOnce(Result<T, E>) + Send + 'static,
    ) -> Ran<T, E>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (send, answer) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let _admitted = admitted;
            let out = handler.await;
            let settled = match &out {
                Ok(_) => claim.done().await,
                Err(_) => claim.release().await,
            };
            if let Err(e) = settled {
                tracing::warn!(error = %e, "could not record the callback's outcome in the dedup store");
            }
            if let Err(out) = send.send(out) {
                late(out);
            }
        });
        match tokio::time::timeout(budget, answer).await {
            Ok(Ok(out)) => Ran::Returned(out),
            Ok(Err(_)) => Ran::Panicked,
            Err(_) => Ran::Late,
        }
    }

    /// Stops intake (callbacks are then answered 503, so WeCom retries them elsewhere or
    /// later) and waits up to `timeout` for running handlers; whether all finished.
    pub(crate) async fn shutdown(&self, timeout: Duration) -> bool {
        self.closing.store(true, Ordering::SeqCst);
        let drained = async {
            loop {
                let idle = self.running.idle.notified();
                if self.running() == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(timeout, drained).await.is_ok()
    }
}
