//! Stream sessions: what a handler has written to a stream so far, by stream id, so that
//! WeCom's refresh callbacks (for up to 6 minutes after the first `stream` reply) are
//! answered with the content so far, and `finish` at the end.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::reply::{MAX_STREAM_BYTES, MAX_STREAM_IMAGES, check_stream, inline_image};
use super::{
    AibotFeedbackId, AibotReply, AibotReplyContent, AibotStream, AibotStreamItem, AibotStreamReply,
};
use crate::{BoxFuture, Error, Result};

/// How long a session lives: WeCom stops refreshing 6 minutes after the user's message.
pub const DEFAULT_STREAM_TTL: Duration = Duration::from_secs(6 * 60 + 30);
/// How many sessions a [`MemoryStreamStore`] holds at once, by default.
pub const DEFAULT_MAX_STREAMS: usize = 10_000;

/// A stream's state as a refresh callback answers it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamSnapshot {
    /// Everything written so far.
    pub content: String,
    /// Whether the writer finished.
    pub finished: bool,
    /// Images sent with the finish.
    pub images: Vec<AibotStreamItem>,
    /// The feedback id, sent with every reply of the stream.
    pub feedback_id: Option<String>,
}

impl StreamSnapshot {
    /// The stream reply for stream `id` in this state.
    pub fn reply(&self, id: &str) -> AibotReply {
        AibotReply {
            content: AibotReplyContent::Stream(AibotStreamReply {
                stream: AibotStream {
                    id: id.to_string(),
                    finish: Some(self.finished),
                    content: Some(self.content.clone()),
                    msg_item: self.images.clone(),
                    feedback: self.feedback_id.clone().map(|id| AibotFeedbackId { id }),
                },
            }),
        }
    }
}

/// Where stream sessions live. Object-safe and async so a shared store (Redis) lets
/// another process answer the refresh callbacks of a stream this one writes.
pub trait StreamStore: Send + Sync + fmt::Debug {
    /// Opens session `id` (empty), living `ttl`; an error when the store is full.
    fn open(&self, id: &str, feedback_id: Option<String>, ttl: Duration) -> BoxFuture<Result<()>>;
    /// Appends `text`; an error when the session is unknown, expired or finished, or
    /// when the content would pass 20,480 bytes.
    fn append(&self, id: &str, text: &str) -> BoxFuture<Result<()>>;
    /// Marks the session finished, with images (at most 10).
    fn finish(&self, id: &str, images: Vec<AibotStreamItem>) -> BoxFuture<Result<()>>;
    /// The session's state; `None` when unknown or expired.
    fn get(&self, id: &str) -> BoxFuture<Result<Option<StreamSnapshot>>>;
}

struct Session {
    snapshot: StreamSnapshot,
    expires: Instant,
}

/// Sessions in this process, bounded: expired ones are dropped when room is needed, and
/// opening one more than the bound is refused.
pub struct MemoryStreamStore {
    sessions: Mutex<HashMap<String, Session>>,
    capacity: usize,
}

impl fmt::Debug for MemoryStreamStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStreamStore")
            .field("sessions", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for MemoryStreamStore {
    fn default() -> Self {
        MemoryStreamStore::new(DEFAULT_MAX_STREAMS)
    }
}

impl MemoryStreamStore {
    /// At most `capacity` open sessions.
    pub fn new(capacity: usize) -> Self {
        MemoryStreamStore {
            sessions: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// How many sessions are held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a session now (the sync core of [`StreamStore::open`]).
    pub fn open_at(
        &self,
        id: &str,
        feedback_id: Option<String>,
        ttl: Duration,
        now: Instant,
    ) -> Result<()> {
        let mut sessions = self.lock();
        if sessions.len() >= self.capacity && !sessions.contains_key(id) {
            sessions.retain(|_, s| s.expires > now);
            if sessions.len() >= self.capacity {
                return Err(Error::invalid_argument(
                    "stream",
                    format!(
                        "{} stream sessions are open, the store's limit: finish some first",
                        self.capacity
                    ),
                ));
            }
        }
        sessions.insert(
            id.to_string(),
            Session {
                snapshot: StreamSnapshot {
                    feedback_id,
                    ..StreamSnapshot::default()
                },
                expires: now + ttl,
            },
        );
        Ok(())
    }

    fn with_live<T>(
        &self,
        id: &str,
        now: Instant,
        change: impl FnOnce(&mut StreamSnapshot) -> Result<T>,
    ) -> Result<T> {
        let mut sessions = self.lock();
        match sessions.get_mut(id) {
            Some(session) if session.expires > now => change(&mut session.snapshot),
            Some(_) => {
                sessions.remove(id);
                Err(unknown(id, "expired"))
            }
            None => Err(unknown(id, "unknown")),
        }
    }

    /// [`StreamStore::append`] at `now`.
    pub fn append_at(&self, id: &str, text: &str, now: Instant) -> Result<()> {
        self.with_live(id, now, |s| {
            if s.finished {
                return Err(Error::invalid_argument("stream", "already finished"));
            }
            append_checked(&mut s.content, text)
        })
    }

    /// [`StreamStore::finish`] at `now`.
    pub fn finish_at(&self, id: &str, images: Vec<AibotStreamItem>, now: Instant) -> Result<()> {
        check_images(&images)?;
        self.with_live(id, now, |s| {
            s.finished = true;
            s.images = images;
            Ok(())
        })
    }

    /// [`StreamStore::get`] at `now`: expired sessions are dropped.
    pub fn get_at(&self, id: &str, now: Instant) -> Option<StreamSnapshot> {
        self.with_live(id, now, |s| Ok(s.clone())).ok()
    }
}

fn unknown(id: &str, why: &str) -> Error {
    Error::invalid_argument("stream", format!("{why} stream session `{id}`"))
}

pub(crate) fn append_checked(content: &mut String, text: &str) -> Result<()> {
    let size = content.len() + text.len();
    if size > MAX_STREAM_BYTES {
        return Err(Error::TooLarge {
            what: "stream content (at most 20,480 bytes)",
            limit: MAX_STREAM_BYTES as u64,
            size: Some(size as u64),
        });
    }
    content.push_str(text);
    Ok(())
}

pub(crate) fn check_images(images: &[AibotStreamItem]) -> Result<()> {
    if images.len() > MAX_STREAM_IMAGES {
        return Err(Error::invalid_argument(
            "stream.msg_item",
            format!("{} images; at most {MAX_STREAM_IMAGES}", images.len()),
        ));
    }
    Ok(())
}

impl StreamStore for MemoryStreamStore {
    fn open(&self, id: &str, feedback_id: Option<String>, ttl: Duration) -> BoxFuture<Result<()>> {
        Box::pin(std::future::ready(self.open_at(
            id,
            feedback_id,
            ttl,
            Instant::now(),
        )))
    }
    fn append(&self, id: &str, text: &str) -> BoxFuture<Result<()>> {
        Box::pin(std::future::ready(self.append_at(id, text, Instant::now())))
    }
    fn finish(&self, id: &str, images: Vec<AibotStreamItem>) -> BoxFuture<Result<()>> {
        Box::pin(std::future::ready(self.finish_at(
            id,
            images,
            Instant::now(),
        )))
    }
    fn get(&self, id: &str) -> BoxFuture<Result<Option<StreamSnapshot>>> {
        Box::pin(std::future::ready(Ok(self.get_at(id, Instant::now()))))
    }
}

/// The writing end of one stream: feed it text as it comes (an LLM's tokens), then
/// [`finish`](Self::finish). Cheap to clone.
#[derive(Clone)]
pub struct StreamWriter {
    id: String,
    store: Arc<dyn StreamStore>,
    // Bumped on every change: the long connection waits on it rather than polling.
    version: Arc<tokio::sync::watch::Sender<u64>>,
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamWriter")
            .field("id", &self.id)
            .finish()
    }
}

impl StreamWriter {
    /// Opens stream `id` in `store`.
    pub async fn open(
        store: Arc<dyn StreamStore>,
        id: impl Into<String>,
        feedback_id: Option<String>,
        ttl: Duration,
    ) -> Result<Self> {
        let id = id.into();
        if let Some(feedback) = &feedback_id {
            check_stream(&AibotStream {
                id: id.clone(),
                feedback: Some(AibotFeedbackId {
                    id: feedback.clone(),
                }),
                ..AibotStream::default()
            })?;
        }
        store.open(&id, feedback_id, ttl).await?;
        Ok(StreamWriter {
            id,
            store,
            version: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// The stream id WeCom refreshes.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends `text` to the stream.
    pub async fn write(&self, text: &str) -> Result<()> {
        self.store.append(&self.id, text).await?;
        self.version.send_modify(|v| *v += 1);
        Ok(())
    }

    /// Ends the stream.
    pub async fn finish(&self) -> Result<()> {
        self.finish_with_images(&[]).await
    }

    /// Ends the stream with images (JPG or PNG bytes, at most 10).
    pub async fn finish_with_images(&self, images: &[&[u8]]) -> Result<()> {
        let items: Vec<AibotStreamItem> = images.iter().map(|i| inline_image(i)).collect();
        check_images(&items)?;
        self.store.finish(&self.id, items).await?;
        self.version.send_modify(|v| *v += 1);
        Ok(())
    }

    /// The state now.
    pub async fn snapshot(&self) -> Result<Option<StreamSnapshot>> {
        self.store.get(&self.id).await
    }

    /// A receiver told of every write and the finish (by this process's writers).
    pub(crate) fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.version.subscribe()
    }
}
