//! One handler for both modes: a typed callback in; a reply, a stream or nothing out.
//! The webhook endpoint and the long connection both run it; it never knows which.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::stream::{DEFAULT_STREAM_TTL, MemoryStreamStore, NewStream, StreamStore, StreamWriter};
use super::{AibotCallback, AibotReply, AibotUpdateCardReply};
use crate::callback::HandlerError;
use crate::{BoxFuture, Result};

/// How many exchanges one user may have going with a bot at once (接收消息: 用户跟同一个
/// 智能机器人最多同时有三条消息交互中): counted as unfinished streams in the
/// [`StreamStore`], so instances sharing a Redis count together.
pub const MAX_EXCHANGES_PER_USER: usize = 3;

/// Which door a callback came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The bot's callback URL (encrypted JSON POSTs).
    Webhook,
    /// The long connection (WebSocket).
    LongConnection,
}

/// What a handler answers.
#[derive(Debug)]
pub enum Outcome {
    /// No reply.
    Nothing,
    /// A reply: text (only to `enter_chat`), template card, stream state.
    Reply(AibotReply),
    /// Replaces a template card (to a `template_card_event`).
    UpdateCard(AibotUpdateCardReply),
    /// A stream the handler (or a task it spawned) writes: answered with its content so
    /// far, then refreshed until it finishes.
    Stream(StreamWriter),
}

impl From<AibotReply> for Outcome {
    fn from(reply: AibotReply) -> Self {
        Outcome::Reply(reply)
    }
}

impl From<StreamWriter> for Outcome {
    fn from(stream: StreamWriter) -> Self {
        Outcome::Stream(stream)
    }
}

/// What a handler gets besides the callback.
#[derive(Clone)]
pub struct Context {
    mode: Mode,
    streams: Arc<dyn StreamStore>,
    stream_ttl: Duration,
    // Whose exchanges a stream counts against: `<aibotid>:<userid>`.
    exchanges_of: Option<String>,
    // The first stream opened for this callback: what a webhook answers with when the
    // handler outlives the budget.
    first: Arc<OnceLock<StreamWriter>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("mode", &self.mode).finish()
    }
}

impl Context {
    /// Which door the callback came through.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The first stream opened for this callback, if any.
    pub(crate) fn first_stream(&self) -> Option<StreamWriter> {
        self.first.get().cloned()
    }

    /// Opens a new stream (random id) to answer with ([`Outcome::Stream`]); feed it from
    /// a spawned task so the handler returns at once.
    pub async fn stream(&self) -> Result<StreamWriter> {
        self.open_stream(None).await
    }

    /// [`stream`](Self::stream) with a feedback id: the user's thumbs up or down comes back
    /// as a `feedback_event` carrying it.
    pub async fn stream_with_feedback(
        &self,
        feedback_id: impl Into<String>,
    ) -> Result<StreamWriter> {
        self.open_stream(Some(feedback_id.into())).await
    }

    /// Opens a stream unless the user already has [`MAX_EXCHANGES_PER_USER`] unfinished
    /// ones with this bot (counted by the store): WeCom would not show another.
    async fn open_stream(&self, feedback_id: Option<String>) -> Result<StreamWriter> {
        let mut stream =
            NewStream::new(new_stream_id(), self.stream_ttl).with_feedback(feedback_id);
        if let Some(user) = &self.exchanges_of {
            stream = stream.for_user(user.clone(), MAX_EXCHANGES_PER_USER);
        }
        let writer = StreamWriter::open_new(Arc::clone(&self.streams), stream).await?;
        let _ = self.first.set(writer.clone());
        Ok(writer)
    }
}

fn new_stream_id() -> String {
    format!("stream-{:032x}", rand::random::<u128>())
}

type Handler =
    Arc<dyn Fn(Context, AibotCallback) -> BoxFuture<Result<Outcome, HandlerError>> + Send + Sync>;

/// The bot: its handler and where its streams live. Cheap to clone; give the same one to
/// [`AibotEndpoint`](super::AibotEndpoint) or [`LongConnection`](super::LongConnection).
///
/// ```
/// use wecom_api::aibot::{AibotCallback, Bot, Context, Outcome};
///
/// let bot = Bot::new(|ctx: Context, callback: AibotCallback| async move {
///     let Some(question) = callback.text() else { return Ok(Outcome::Nothing) };
///     let stream = ctx.stream().await?;
///     let writer = stream.clone();
///     tokio::spawn(async move {
///         for word in question.split_whitespace() {
///             if writer.write(word).await.is_err() { return; }
///             let _ = writer.write(" ").await;
///         }
///         let _ = writer.finish().await;
///     });
///     Ok(Outcome::Stream(stream))
/// });
/// ```
#[derive(Clone)]
pub struct Bot {
    handler: Handler,
    streams: Arc<dyn StreamStore>,
    stream_ttl: Duration,
}

impl fmt::Debug for Bot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bot")
            .field("streams", &self.streams)
            .field("stream_ttl", &self.stream_ttl)
            .finish()
    }
}

impl Bot {
    /// A bot running `handler`, its streams in a [`MemoryStreamStore`].
    pub fn new<F, Fut>(handler: F) -> Self
    where
        F: Fn(Context, AibotCallback) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Outcome, HandlerError>> + Send + 'static,
    {
        Bot {
            handler: Arc::new(move |ctx, callback| Box::pin(handler(ctx, callback))),
            streams: Arc::new(MemoryStreamStore::default()),
            stream_ttl: DEFAULT_STREAM_TTL,
        }
    }

    /// Keeps stream sessions in `store` (a `RedisStreamStore` lets any instance answer a
    /// stream's refresh callbacks).
    pub fn with_stream_store(mut self, store: Arc<dyn StreamStore>) -> Self {
        self.streams = store;
        self
    }

    /// How long a stream session lives ([`DEFAULT_STREAM_TTL`]).
    pub fn with_stream_ttl(mut self, ttl: Duration) -> Self {
        self.stream_ttl = ttl;
        self
    }

    /// Where stream sessions live.
    pub fn streams(&self) -> &Arc<dyn StreamStore> {
        &self.streams
    }

    /// Runs the handler.
    pub async fn handle(
        &self,
        mode: Mode,
        callback: AibotCallback,
    ) -> Result<Outcome, HandlerError> {
        let ctx = self.context(mode, &callback);
        self.run(ctx, callback).await
    }

    /// The context the handler gets for `callback`.
    pub(crate) fn context(&self, mode: Mode, callback: &AibotCallback) -> Context {
        Context {
            mode,
            streams: Arc::clone(&self.streams),
            stream_ttl: self.stream_ttl,
            exchanges_of: callback
                .userid()
                .map(|user| format!("{}:{user}", callback.aibotid.as_deref().unwrap_or_default())),
            first: Arc::default(),
        }
    }

    /// Runs the handler with a context made by [`context`](Self::context).
    pub(crate) async fn run(
        &self,
        ctx: Context,
        callback: AibotCallback,
    ) -> Result<Outcome, HandlerError> {
        (self.handler)(ctx, callback).await
    }
}
