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
    /// The feedback id, sent with the stream's first reply only (101031: 首次回复时设置).
    pub feedback_id: Option<String>,
}

impl StreamSnapshot {
    /// The stream reply for stream `id` in this state, as a refresh answers it.
    pub fn reply(&self, id: &str) -> AibotReply {
        AibotReply {
            content: AibotReplyContent::Stream(AibotStreamReply {
                stream: AibotStream {
                    id: id.to_string(),
                    finish: Some(self.finished),
                    content: Some(self.content.clone()),
                    msg_item: self.images.clone(),
                    feedback: None,
                },
            }),
        }
    }

    /// The stream's first reply: [`reply`](Self::reply) with the feedback id, if any.
    pub fn first_reply(&self, id: &str) -> AibotReply {
        let mut reply = self.reply(id);
        if let AibotReplyContent::Stream(r) = &mut reply.content {
            r.stream.feedback = self.feedback_id.clone().map(|id| AibotFeedbackId { id });
        }
        reply
    }
}

/// What opening a stream session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStream {
    /// The stream id WeCom refreshes.
    pub id: String,
    /// Sent with every reply of the stream.
    pub feedback_id: Option<String>,
    /// How long the session lives.
    pub ttl: Duration,
    /// Whose exchange it is (the bot and the user: [`Context`](super::Context) counts
    /// `<aibotid>:<userid>`), counted against `max_per_user` unfinished sessions; `None`
    /// counts nothing.
    pub user: Option<String>,
    /// How many unfinished sessions `user` may have.
    pub max_per_user: usize,
}

impl NewStream {
    /// Session `id` living `ttl`, of nobody in particular.
    pub fn new(id: impl Into<String>, ttl: Duration) -> Self {
        NewStream {
            id: id.into(),
            feedback_id: None,
            ttl,
            user: None,
            max_per_user: usize::MAX,
        }
    }

    /// With a feedback id.
    pub fn with_feedback(mut self, feedback_id: Option<String>) -> Self {
        self.feedback_id = feedback_id;
        self
    }

    /// Counted against `user`'s unfinished sessions: refused when it has `max` already.
    pub fn for_user(mut self, user: impl Into<String>, max: usize) -> Self {
        self.user = Some(user.into());
        self.max_per_user = max;
        self
    }
}

pub(crate) fn too_many(user: &str, max: usize) -> Error {
    Error::invalid_argument(
        "stream",
        format!(
            "`{user}` already has {max} unfinished streams, WeCom's limit of exchanges per user: finish one first"
        ),
    )
}

/// Where stream sessions live. Object-safe and async so a shared store (Redis) lets
/// another process answer the refresh callbacks of a stream this one writes, and counts
/// each user's unfinished streams across processes.
pub trait StreamStore: Send + Sync + fmt::Debug {
    /// Opens session `stream.id` (empty), living `stream.ttl`; an error when the store is
    /// full, or when `stream.user` already has `stream.max_per_user` unfinished, unexpired
    /// sessions (checked and recorded in one step, so concurrent opens cannot pass it).
    fn open(&self, stream: NewStream) -> BoxFuture<Result<()>>;
    /// Appends `text`; an error when the session is unknown, expired or finished, or
    /// when the content would pass 20,480 bytes.
    fn append(&self, id: &str, text: &str) -> BoxFuture<Result<()>>;
    /// Marks the session finished, with images (at most 10); it no longer counts against
    /// its user.
    fn finish(&self, id: &str, images: Vec<AibotStreamItem>) -> BoxFuture<Result<()>>;
    /// The session's state; `None` when unknown or expired.
    fn get(&self, id: &str) -> BoxFuture<Result<Option<StreamSnapshot>>>;
}

struct Session {
    snapshot: StreamSnapshot,
    expires: Instant,
    user: Option<String>,
}

/// The sessions, and the unfinished ones of each user.
#[derive(Default)]
struct Sessions {
    by_id: HashMap<String, Session>,
    unfinished: HashMap<String, Vec<String>>,
}

impl Sessions {
    /// No longer counts `id` against its user.
    fn uncount(&mut self, user: Option<&str>, id: &str) {
        let Some(user) = user else { return };
        if let Some(ids) = self.unfinished.get_mut(user) {
            ids.retain(|i| i != id);
            if ids.is_empty() {
                self.unfinished.remove(user);
            }
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(session) = self.by_id.remove(id) {
            self.uncount(session.user.as_deref(), id);
        }
    }

    fn drop_expired(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .by_id
            .iter()
            .filter(|(_, s)| s.expires <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove(&id);
        }
    }

    /// `user`'s unfinished, unexpired sessions.
    fn count(&mut self, user: &str, now: Instant) -> usize {
        let Some(ids) = self.unfinished.get(user) else {
            return 0;
        };
        let stale: Vec<String> = ids
            .iter()
            .filter(|id| self.by_id.get(*id).is_none_or(|s| s.expires <= now))
            .cloned()
            .collect();
        for id in stale {
            self.remove(&id);
        }
        self.unfinished.get(user).map_or(0, Vec::len)
    }
}

/// Sessions in this process, bounded: expired ones are dropped when room is needed, and
/// opening one more than the bound is refused.
pub struct MemoryStreamStore {
    sessions: Mutex<Sessions>,
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
            sessions: Mutex::new(Sessions::default()),
            capacity: capacity.max(1),
        }
    }

    /// How many sessions are held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`StreamStore::open`] at `now`.
    pub fn open_at(&self, stream: NewStream, now: Instant) -> Result<()> {
        let mut sessions = self.lock();
        if sessions.by_id.len() >= self.capacity && !sessions.by_id.contains_key(&stream.id) {
            sessions.drop_expired(now);
            if sessions.by_id.len() >= self.capacity {
                return Err(Error::invalid_argument(
                    "stream",
                    format!(
                        "{} stream sessions are open, the store's limit: finish some first",
                        self.capacity
                    ),
                ));
            }
        }
        // Reopening an id replaces its session (and its place in its user's count).
        sessions.remove(&stream.id);
        if let Some(user) = &stream.user {
            if sessions.count(user, now) >= stream.max_per_user {
                return Err(too_many(user, stream.max_per_user));
            }
            let ids = sessions.unfinished.entry(user.clone()).or_default();
            ids.push(stream.id.clone());
        }
        sessions.by_id.insert(
            stream.id,
            Session {
                snapshot: StreamSnapshot {
                    feedback_id: stream.feedback_id,
                    ..StreamSnapshot::default()
                },
                expires: now + stream.ttl,
                user: stream.user,
            },
        );
        Ok(())
    }

    fn with_live<T>(
        &self,
        id: &str,
        now: Instant,
        change: impl FnOnce(&mut Sessions, &mut Session) -> Result<T>,
    ) -> Result<T> {
        let mut sessions = self.lock();
        match sessions.by_id.get(id) {
            Some(session) if session.expires > now => {}
            Some(_) => {
                sessions.remove(id);
                return Err(unknown(id, "expired"));
            }
            None => return Err(unknown(id, "unknown")),
        }
        // Taken out for the change, so the change may also touch the user counts.
        let Some(mut session) = sessions.by_id.remove(id) else {
            return Err(unknown(id, "unknown"));
        };
        let out = change(&mut sessions, &mut session);
        sessions.by_id.insert(id.to_string(), session);
        out
    }

    /// [`StreamStore::append`] at `now`.
    pub fn append_at(&self, id: &str, text: &str, now: Instant) -> Result<()> {
        self.with_live(id, now, |_, s| {
            if s.snapshot.finished {
                return Err(Error::invalid_argument("stream", "already finished"));
            }
            append_checked(&mut s.snapshot.content, text)
        })
    }

    /// [`StreamStore::finish`] at `now`.
    pub fn finish_at(&self, id: &str, images: Vec<AibotStreamItem>, now: Instant) -> Result<()> {
        check_images(&images)?;
        self.with_live(id, now, |sessions, s| {
            s.snapshot.finished = true;
            s.snapshot.images = images;
            sessions.uncount(s.user.as_deref(), id);
            Ok(())
        })
    }

    /// [`StreamStore::get`] at `now`: expired sessions are dropped.
    pub fn get_at(&self, id: &str, now: Instant) -> Option<StreamSnapshot> {
        self.with_live(id, now, |_, s| Ok(s.snapshot.clone())).ok()
    }

    /// How many unfinished, unexpired sessions `user` has at `now`.
    pub fn unfinished_at(&self, user: &str, now: Instant) -> usize {
        self.lock().count(user, now)
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
    fn open(&self, stream: NewStream) -> BoxFuture<Result<()>> {
        Box::pin(std::future::ready(self.open_at(stream, Instant::now())))
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
    /// Opens stream `id` in `store`, counted against no user.
    pub async fn open(
        store: Arc<dyn StreamStore>,
        id: impl Into<String>,
        feedback_id: Option<String>,
        ttl: Duration,
    ) -> Result<Self> {
        StreamWriter::open_new(store, NewStream::new(id, ttl).with_feedback(feedback_id)).await
    }

    /// Opens `stream` in `store` (its user's count checked by the store).
    pub async fn open_new(store: Arc<dyn StreamStore>, stream: NewStream) -> Result<Self> {
        check_stream(&AibotStream {
            id: stream.id.clone(),
            feedback: stream.feedback_id.clone().map(|id| AibotFeedbackId { id }),
            ..AibotStream::default()
        })?;
        let id = stream.id.clone();
        store.open(stream).await?;
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
