//! Pulls the archive from a checkpoint and hands each message to a handler, in `seq`
//! order and at least once (the checkpoint moves only after the handler succeeded).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::archive::ArchivedMessage;

use super::archive::Archive;
use super::checkpoint::Checkpoint;
use super::error::{FinanceError, FinanceResult};

/// A message as the puller delivers it: its place, and the typed message or why it could
/// not be decrypted or decoded (the handler decides whether to skip it or stop).
#[derive(Debug)]
pub struct PulledMessage {
    /// Its `seq`.
    pub seq: u64,
    /// Its `msgid`.
    pub msgid: String,
    /// The message, or the error decrypting it (e.g. an unknown key version).
    pub message: FinanceResult<ArchivedMessage>,
}

/// Wakes a waiting puller at once (e.g. on a `msgaudit_notify` callback).
#[derive(Debug, Clone)]
pub struct PullerWaker(Arc<Notify>);

impl PullerWaker {
    /// Makes the puller fetch now (or right after the batch it is handling).
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Stops a puller: it finishes the message in hand, saves its checkpoint and returns.
#[derive(Debug, Clone)]
pub struct PullerStop(Arc<watch::Sender<bool>>);

impl PullerStop {
    /// Asks the puller to stop.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// The puller of one corp's archive.
pub struct Puller {
    archive: Archive,
    checkpoint: Arc<dyn Checkpoint>,
    batch: u32,
    idle_wait: Duration,
    retry_wait: Duration,
    wake: Arc<Notify>,
    stop: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Puller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Puller")
            .field("archive", &self.archive)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Puller {
    /// A puller of `archive` from `checkpoint`: batches of 1000, polling every 60 s when
    /// idle unless woken, retrying transient failures after 5 s.
    pub fn new(archive: Archive, checkpoint: Arc<dyn Checkpoint>) -> Self {
        Puller {
            archive,
            checkpoint,
            batch: super::MAX_CHAT_DATA_LIMIT,
            idle_wait: Duration::from_secs(60),
            retry_wait: Duration::from_secs(5),
            wake: Arc::new(Notify::new()),
            stop: Arc::new(watch::channel(false).0),
        }
    }

    /// Messages per GetChatData (1–1000).
    pub fn batch_size(mut self, batch: u32) -> Self {
        self.batch = batch.clamp(1, super::MAX_CHAT_DATA_LIMIT);
        self
    }

    /// How long to wait after an empty batch before polling again, unless woken.
    pub fn idle_wait(mut self, wait: Duration) -> Self {
        self.idle_wait = wait;
        self
    }

    /// How long to wait after a transient failure (network error, worker crash).
    pub fn retry_wait(mut self, wait: Duration) -> Self {
        self.retry_wait = wait;
        self
    }

    /// A handle that wakes the puller.
    pub fn waker(&self) -> PullerWaker {
        PullerWaker(self.wake.clone())
    }

    /// A handle that stops the puller.
    pub fn stopper(&self) -> PullerStop {
        PullerStop(self.stop.clone())
    }

    /// Waits `wait`, or less if woken; returns whether a stop was asked.
    async fn pause(&self, stop: &mut watch::Receiver<bool>, wait: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.wake.notified() => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
        *stop.borrow()
    }

    /// Runs until stopped (`Ok`), or until the handler, the checkpoint or a non-transient
    /// SDK error fails (`Err`; the failed message is delivered again by the next run).
    pub async fn run<H, F, E>(&self, mut handler: H) -> FinanceResult<()>
    where
        H: FnMut(PulledMessage) -> F,
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut stop = self.stop.subscribe();
        let mut seq = self.checkpoint.load().await?;
        'pull: loop {
            if *stop.borrow() {
                return Ok(());
            }
            let fetched = tokio::select! {
                fetched = self.archive.fetch(seq, self.batch) => fetched,
                _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
            };
            let mut items = match fetched {
                Ok(items) => items,
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, seq, "GetChatData failed; retrying");
                    if self.pause(&mut stop, self.retry_wait).await {
                        return Ok(());
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            items.retain(|item| item.seq > seq);
            items.sort_by_key(|item| item.seq);
            if items.is_empty() {
                if self.pause(&mut stop, self.idle_wait).await {
                    return Ok(());
                }
                continue;
            }
            for item in items {
                let message = match self.archive.decrypt(&item).await {
                    // A crash or timeout says nothing about the message: fetch it again.
                    Err(e) if e.is_retryable() => {
                        tracing::warn!(error = %e, seq = item.seq, "DecryptData failed; retrying");
                        if self.pause(&mut stop, self.retry_wait).await {
                            return Ok(());
                        }
                        continue 'pull;
                    }
                    decrypted => decrypted.map(|record| record.message),
                };
                let pulled = PulledMessage {
                    seq: item.seq,
                    msgid: item.msgid.clone(),
                    message,
                };
                handler(pulled).await.map_err(|e| FinanceError::Handler {
                    seq: item.seq,
                    reason: e.to_string(),
                })?;
                self.checkpoint.save(item.seq).await?;
                seq = item.seq;
                if *stop.borrow() {
                    return Ok(());
                }
            }
        }
    }
}
