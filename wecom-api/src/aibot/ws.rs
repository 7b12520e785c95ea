//! The long connection (长连接, document 101463): the bot dials WeCom over WebSocket,
//! subscribes with its bot id and secret, and receives the same callbacks as JSON frames
//! (`{cmd, headers: {req_id}, body}`); replies go back as frames carrying the callback's
//! `req_id`, each acknowledged by WeCom (`{headers: {req_id}, errcode, errmsg}`).
//!
//! Here: heartbeats (`ping`) with missed-ack detection, reconnects with capped exponential
//! backoff, the server's `disconnected_event` (a newer connection replaced this one) ends
//! the run without reconnecting, replies to one `req_id` sent in order (each awaits its ack
//! before the next, with a timeout) through a bounded queue, and proactive `send_msg`.
//! Frames are never logged: they carry `response_url`s and `aeskey`s.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::AibotCallback;
use super::handler::{Bot, Mode, Outcome};
use super::stream::StreamWriter;
use crate::callback::Dedup;
use crate::{Error, Result, Secret};

/// WeCom's long-connection address.
pub const DEFAULT_WS_URL: &str = "wss://openws.work.weixin.qq.com";

const SUBSCRIBE: &str = "aibot_subscribe";
const PING: &str = "ping";
const RESPOND: &str = "aibot_respond_msg";
const RESPOND_WELCOME: &str = "aibot_respond_welcome_msg";
const RESPOND_UPDATE: &str = "aibot_respond_update_msg";
const SEND_MSG: &str = "aibot_send_msg";
const UPLOAD_INIT: &str = "aibot_upload_media_init";
const UPLOAD_CHUNK: &str = "aibot_upload_media_chunk";
const UPLOAD_FINISH: &str = "aibot_upload_media_finish";
const MSG_CALLBACK: &str = "aibot_msg_callback";
const EVENT_CALLBACK: &str = "aibot_event_callback";

/// Why [`LongConnection::run`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// WeCom sent `disconnected_event`: a newer connection of this bot replaced this one.
    /// Reconnecting would replace that one in turn, so the run ends.
    Replaced,
    /// WeCom refused the subscription (wrong bot id or secret): retrying cannot help.
    SubscribeRefused {
        /// WeCom's errcode.
        errcode: i64,
        /// WeCom's errmsg.
        errmsg: String,
    },
    /// The connection was lost more times in a row than allowed.
    GaveUp {
        /// Reconnect attempts made.
        attempts: u32,
    },
    /// [`LongConnection::shutdown`] was called.
    Shutdown,
}

/// How one connection ended.
enum End {
    Stopped(Stopped),
    /// Lost (closed, silent, unreadable transport): reconnect. `subscribed`: whether it
    /// got as far as a subscription (which resets the backoff).
    Lost {
        reason: String,
        subscribed: bool,
    },
}

/// A WeCom acknowledgement.
struct Ack {
    errcode: i64,
    errmsg: String,
    body: Value,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Ack>>>>;

/// The current connection, for whoever sends on it.
#[derive(Clone)]
struct Link {
    out: mpsc::Sender<String>,
    pending: Pending,
    ack_timeout: Duration,
}

impl Link {
    /// Sends one frame and waits for its ack; the ack's body.
    async fn request(&self, cmd: &'static str, req_id: &str, body: Value) -> Result<Value> {
        let frame = json!({"cmd": cmd, "headers": {"req_id": req_id}, "body": body}).to_string();
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(req_id.to_string(), tx);
        if let Err(e) = self.out.try_send(frame) {
            lock(&self.pending).remove(req_id);
            let reason = match e {
                mpsc::error::TrySendError::Full(_) => "the send queue is full",
                mpsc::error::TrySendError::Closed(_) => "the connection closed",
            };
            return Err(Error::Connection {
                what: cmd.into(),
                reason: reason.into(),
            });
        }
        match tokio::time::timeout(self.ack_timeout, rx).await {
            Ok(Ok(ack)) if ack.errcode == 0 => Ok(ack.body),
            Ok(Ok(ack)) => Err(Error::Api {
                endpoint: cmd.into(),
                errcode: ack.errcode,
                errmsg: ack.errmsg,
            }),
            Ok(Err(_)) => Err(Error::Connection {
                what: cmd.into(),
                reason: "the connection closed before the ack".into(),
            }),
            Err(_) => {
                lock(&self.pending).remove(req_id);
                Err(Error::Deadline {
                    endpoint: cmd.into(),
                    budget: self.ack_timeout,
                    during: "waiting for WeCom's ack",
                })
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn new_req_id(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

struct Settings {
    url: String,
    bot_id: String,
    secret: Secret,
    heartbeat: Duration,
    max_missed_acks: u32,
    ack_timeout: Duration,
    queue: usize,
    backoff_base: Duration,
    backoff_cap: Duration,
    max_attempts: Option<u32>,
    push_every: Duration,
}

struct Shared {
    settings: Settings,
    link: Mutex<Option<Link>>,
    stop: watch::Sender<bool>,
    dedup: Dedup,
}

/// An AI bot's long connection; cheap to clone (clones share the connection).
///
/// ```no_run
/// use wecom_api::aibot::{Bot, LongConnection, Outcome};
/// # async fn demo() {
/// let bot = Bot::new(|_ctx, _callback| async { Ok(Outcome::Nothing) });
/// let connection = LongConnection::new("BOT_ID", "BOT_SECRET");
/// let stopped = connection.run(bot).await; // reconnects until replaced, refused or shut down
/// println!("{stopped:?}");
/// # }
/// ```
#[derive(Clone)]
pub struct LongConnection {
    shared: Arc<Shared>,
}

impl fmt::Debug for LongConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared.settings;
        f.debug_struct("LongConnection")
            .field("url", &s.url)
            .field("bot_id", &s.bot_id)
            .field("secret", &s.secret)
            .field("heartbeat", &s.heartbeat)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl LongConnection {
    /// A connection for the bot `bot_id` with its long-connection `secret`, to
    /// [`DEFAULT_WS_URL`]: heartbeat every 30 s, dead after 2 missed heartbeat acks, acks
    /// awaited 5 s, 500 frames queued at most, backoff from 1 s doubling to 30 s, no limit
    /// on reconnects, stream content pushed at most every 300 ms.
    pub fn new(bot_id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        LongConnection::from_settings(Settings {
            url: DEFAULT_WS_URL.to_string(),
            bot_id: bot_id.into(),
            secret: secret.into(),
            heartbeat: Duration::from_secs(30),
            max_missed_acks: 2,
            ack_timeout: Duration::from_secs(5),
            queue: 500,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            max_attempts: None,
            push_every: Duration::from_millis(300),
        })
    }

    fn from_settings(settings: Settings) -> Self {
        LongConnection {
            shared: Arc::new(Shared {
                settings,
                link: Mutex::new(None),
                stop: watch::Sender::new(false),
                dedup: Dedup::default(),
            }),
        }
    }

    fn with(self, change: impl FnOnce(&mut Settings)) -> Self {
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => {
                let mut settings = shared.settings;
                change(&mut settings);
                LongConnection::from_settings(settings)
            }
            // Settings are made before the connection is shared.
            Err(shared) => LongConnection { shared },
        }
    }

    /// Another address (a stand-in, a proxy).
    pub fn with_url(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.with(|s| s.url = url)
    }

    /// How often to send a heartbeat, and after how many unacknowledged ones the
    /// connection counts as dead.
    pub fn with_heartbeat(self, every: Duration, max_missed_acks: u32) -> Self {
        self.with(|s| {
            s.heartbeat = every.max(Duration::from_millis(1));
            s.max_missed_acks = max_missed_acks.max(1);
        })
    }

    /// How long a reply waits for WeCom's ack.
    pub fn with_ack_timeout(self, timeout: Duration) -> Self {
        self.with(|s| s.ack_timeout = timeout)
    }

    /// How many frames may wait to be written; past that, sends fail at once.
    pub fn with_queue(self, frames: usize) -> Self {
        self.with(|s| s.queue = frames.max(1))
    }

    /// Reconnect delays: `base`, doubling up to `cap`; after `max_attempts` failed
    /// reconnects in a row (`None`: never) the run gives up.
    pub fn with_backoff(self, base: Duration, cap: Duration, max_attempts: Option<u32>) -> Self {
        self.with(|s| {
            s.backoff_base = base;
            s.backoff_cap = cap.max(base);
            s.max_attempts = max_attempts;
        })
    }

    /// The least time between two pushes of a growing stream (tokens arriving meanwhile
    /// go in the next push).
    pub fn with_push_interval(self, every: Duration) -> Self {
        self.with(|s| s.push_every = every)
    }

    /// Whether a subscribed connection is open now.
    pub fn is_connected(&self) -> bool {
        lock(&self.shared.link).is_some()
    }

    /// Ends [`run`](Self::run) (it returns [`Stopped::Shutdown`]).
    pub fn shutdown(&self) {
        self.shared.stop.send_replace(true);
    }

    /// Sends a message on the bot's own initiative (`aibot_send_msg`) to `chatid` (a
    /// group's chatid, or a user's userid for a single chat), waiting for WeCom's ack.
    pub async fn send_msg(&self, chatid: &str, message: &crate::robot::AibotMessage) -> Result<()> {
        let mut body = serde_json::to_value(message)
            .map_err(|e| Error::invalid_argument("message", e.to_string()))?;
        body["chatid"] = Value::String(chatid.to_string());
        let link = lock(&self.shared.link).clone().ok_or(Error::Connection {
            what: SEND_MSG.into(),
            reason: "not connected".into(),
        })?;
        link.request(SEND_MSG, &new_req_id(SEND_MSG), body)
            .await
            .map(drop)
    }

    /// Uploads a temporary media file over the connection (`aibot_upload_media_init`, then
    /// 512 KiB chunks in order, then `aibot_upload_media_finish`), each step acked; the
    /// `media_id` (valid 3 days) for a `send_msg` or reply. `kind`: `file`, `image`,
    /// `voice` or `video`. At most 100 chunks (about 50 MB).
    pub async fn upload_media(&self, kind: &str, filename: &str, data: &[u8]) -> Result<String> {
        use base64::Engine;
        use md5::Digest;
        const CHUNK: usize = 512 * 1024;
        const MAX_CHUNKS: usize = 100;
        if !matches!(kind, "file" | "image" | "voice" | "video") {
            return Err(Error::invalid_argument(
                "type",
                "one of file, image, voice, video",
            ));
        }
        if data.is_empty() {
            return Err(Error::invalid_argument("media", "empty"));
        }
        let chunks = data.len().div_ceil(CHUNK);
        if chunks > MAX_CHUNKS {
            return Err(Error::TooLarge {
                what: "media uploaded over the long connection (100 chunks of 512 KiB)",
                limit: (MAX_CHUNKS * CHUNK) as u64,
                size: Some(data.len() as u64),
            });
        }
        let link = lock(&self.shared.link).clone().ok_or(Error::Connection {
            what: UPLOAD_INIT.into(),
            reason: "not connected".into(),
        })?;
        let md5: String = md5::Md5::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let init = json!({"type": kind, "filename": filename, "total_size": data.len(),
            "total_chunks": chunks, "md5": md5});
        let answer = link
            .request(UPLOAD_INIT, &new_req_id(UPLOAD_INIT), init)
            .await?;
        let upload_id = answer
            .get("upload_id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid_argument("upload_id", "missing from the init ack"))?
            .to_string();
        for (index, chunk) in data.chunks(CHUNK).enumerate() {
            let body = json!({"upload_id": upload_id, "chunk_index": index,
                "base64_data": base64::engine::general_purpose::STANDARD.encode(chunk)});
            link.request(UPLOAD_CHUNK, &new_req_id(UPLOAD_CHUNK), body)
                .await?;
        }
        let done = link
            .request(
                UPLOAD_FINISH,
                &new_req_id(UPLOAD_FINISH),
                json!({"upload_id": upload_id}),
            )
            .await?;
        done.get("media_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::invalid_argument("media_id", "missing from the finish ack"))
    }

    /// Connects, subscribes and serves `bot` until WeCom replaces the connection, refuses
    /// the subscription, reconnects run out, or [`shutdown`](Self::shutdown).
    pub async fn run(&self, bot: Bot) -> Stopped {
        let s = &self.shared.settings;
        let mut stop = self.shared.stop.subscribe();
        let mut failures = 0u32;
        loop {
            if *stop.borrow_and_update() {
                return Stopped::Shutdown;
            }
            match self.connection(&bot, &mut stop).await {
                End::Stopped(stopped) => return stopped,
                End::Lost { reason, subscribed } => {
                    if subscribed {
                        failures = 0;
                    }
                    tracing::warn!(reason, "AI-bot long connection lost");
                }
            }
            failures += 1;
            if s.max_attempts.is_some_and(|max| failures > max) {
                return Stopped::GaveUp {
                    attempts: failures - 1,
                };
            }
            let delay = s
                .backoff_base
                .saturating_mul(1u32 << (failures - 1).min(20))
                .min(s.backoff_cap);
            tracing::info!(
                attempt = failures,
                ?delay,
                "AI-bot long connection: reconnecting"
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => return Stopped::Shutdown,
            }
        }
    }

    async fn connection(&self, bot: &Bot, stop: &mut watch::Receiver<bool>) -> End {
        let s = &self.shared.settings;
        let lost = |reason: String, subscribed| End::Lost { reason, subscribed };
        let (ws, _) = match tokio_tungstenite::connect_async(s.url.as_str()).await {
            Ok(ws) => ws,
            Err(e) => return lost(format!("connect: {e}"), false),
        };
        let (mut sink, mut frames) = ws.split();

        // Subscribe and wait for its ack.
        let sub_id = new_req_id(SUBSCRIBE);
        let subscribe = json!({
            "cmd": SUBSCRIBE,
            "headers": {"req_id": sub_id},
            "body": {"bot_id": s.bot_id, "secret": s.secret.expose()},
        });
        if let Err(e) = sink.send(WsMessage::text(subscribe.to_string())).await {
            return lost(format!("sending the subscription: {e}"), false);
        }
        let ack = tokio::time::timeout(s.ack_timeout, async {
            while let Some(message) = frames.next().await {
                let Ok(WsMessage::Text(text)) = message else {
                    if message.is_err() {
                        return None;
                    }
                    continue;
                };
                match serde_json::from_str::<Value>(&text) {
                    Ok(frame) if req_id_of(&frame) == sub_id => return Some(ack_of(&frame)),
                    Ok(_) => tracing::warn!(
                        "AI-bot long connection: a frame before the subscription's ack, ignored"
                    ),
                    Err(_) => tracing::warn!("AI-bot long connection: malformed frame, ignored"),
                }
            }
            None
        })
        .await;
        match ack {
            Ok(Some(ack)) if ack.errcode == 0 => {
                tracing::info!(bot_id = s.bot_id, "AI-bot long connection subscribed")
            }
            Ok(Some(ack)) => {
                return End::Stopped(Stopped::SubscribeRefused {
                    errcode: ack.errcode,
                    errmsg: ack.errmsg,
                });
            }
            Ok(None) => return lost("closed before the subscription's ack".into(), false),
            Err(_) => return lost("no ack to the subscription".into(), false),
        }

        let (out_tx, mut out_rx) = mpsc::channel::<String>(s.queue);
        let pending: Pending = Arc::default();
        *lock(&self.shared.link) = Some(Link {
            out: out_tx,
            pending: Arc::clone(&pending),
            ack_timeout: s.ack_timeout,
        });
        let end = self
            .serve(bot, stop, &mut sink, &mut frames, &mut out_rx, &pending)
            .await;
        *lock(&self.shared.link) = None;
        // Waiting senders learn the connection closed.
        lock(&pending).clear();
        let _ = sink.close().await;
        end
    }

    async fn serve<Si, St>(
        &self,
        bot: &Bot,
        stop: &mut watch::Receiver<bool>,
        sink: &mut Si,
        frames: &mut St,
        out_rx: &mut mpsc::Receiver<String>,
        pending: &Pending,
    ) -> End
    where
        Si: futures::Sink<WsMessage> + Unpin,
        Si::Error: fmt::Display,
        St: futures::Stream<
                Item = std::result::Result<WsMessage, tokio_tungstenite::tungstenite::Error>,
            > + Unpin,
    {
        let s = &self.shared.settings;
        let lost = |reason: String| End::Lost {
            reason,
            subscribed: true,
        };
        let mut heartbeat = tokio::time::interval(s.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await; // the first tick is immediate
        let mut missed = 0u32;
        loop {
            tokio::select! {
                _ = stop.changed() => return End::Stopped(Stopped::Shutdown),
                Some(frame) = out_rx.recv() => {
                    if let Err(e) = sink.send(WsMessage::text(frame)).await {
                        return lost(format!("write: {e}"));
                    }
                }
                _ = heartbeat.tick() => {
                    if missed >= s.max_missed_acks {
                        return lost(format!("{missed} heartbeats without an ack"));
                    }
                    missed += 1;
                    let ping = json!({"cmd": PING, "headers": {"req_id": new_req_id(PING)}});
                    if let Err(e) = sink.send(WsMessage::text(ping.to_string())).await {
                        return lost(format!("write: {e}"));
                    }
                }
                message = frames.next() => match message {
                    None => return lost("closed by the server".into()),
                    Some(Err(e)) => return lost(format!("read: {e}")),
                    Some(Ok(WsMessage::Close(_))) => return lost("closed by the server".into()),
                    Some(Ok(WsMessage::Text(text))) => {
                        if let Some(stopped) = self.on_frame(bot, &text, pending, &mut missed) {
                            return End::Stopped(stopped);
                        }
                    }
                    Some(Ok(_)) => {} // ping/pong answered by tungstenite; binary unused
                },
            }
        }
    }

    /// One incoming frame; `Some` when it ends the run.
    fn on_frame(
        &self,
        bot: &Bot,
        text: &str,
        pending: &Pending,
        missed: &mut u32,
    ) -> Option<Stopped> {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            tracing::error!(
                bytes = text.len(),
                "AI-bot long connection: malformed frame, ignored"
            );
            return None;
        };
        let cmd = frame.get("cmd").and_then(Value::as_str).unwrap_or("");
        let req_id = req_id_of(&frame).to_string();
        if cmd == MSG_CALLBACK || cmd == EVENT_CALLBACK {
            let body = frame.get("body").cloned().unwrap_or(Value::Null);
            let callback = match AibotCallback::from_value(body) {
                Ok(callback) => callback,
                Err(e) => {
                    tracing::error!(cmd, error = %e, "AI-bot long connection: callback not readable");
                    return None;
                }
            };
            if callback.kind() == "event.disconnected_event" {
                tracing::warn!("AI-bot long connection replaced by a newer one: not reconnecting");
                return Some(Stopped::Replaced);
            }
            if !self.shared.dedup.first_time(&callback.dedup_key()) {
                tracing::debug!("AI-bot long connection: a repeated callback, skipped");
                return None;
            }
            let link = lock(&self.shared.link).clone();
            if let Some(link) = link {
                let bot = bot.clone();
                let push_every = self.shared.settings.push_every;
                tokio::spawn(respond(bot, link, req_id, callback, push_every));
            }
            return None;
        }
        if let Some(waiter) = lock(pending).remove(&req_id) {
            let _ = waiter.send(ack_of(&frame));
        } else if req_id.starts_with(PING) {
            let ack = ack_of(&frame);
            if ack.errcode == 0 {
                *missed = 0;
            } else {
                tracing::warn!(
                    errcode = ack.errcode,
                    "AI-bot long connection: heartbeat refused"
                );
            }
        } else if !cmd.is_empty() {
            tracing::error!(cmd, "AI-bot long connection: unknown command, ignored");
        } else {
            tracing::warn!("AI-bot long connection: an ack nobody waits for (timed out?), ignored");
        }
        None
    }
}

fn req_id_of(frame: &Value) -> &str {
    frame
        .get("headers")
        .and_then(|h| h.get("req_id"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn ack_of(frame: &Value) -> Ack {
    Ack {
        errcode: frame.get("errcode").and_then(Value::as_i64).unwrap_or(0),
        errmsg: frame
            .get("errmsg")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        body: frame.get("body").cloned().unwrap_or(Value::Null),
    }
}

/// Runs the handler for one callback and sends its answer on `req_id`.
async fn respond(
    bot: Bot,
    link: Link,
    req_id: String,
    callback: AibotCallback,
    push_every: Duration,
) {
    let kind = callback.kind();
    let enter_chat = callback.is_enter_chat();
    let outcome = match bot.handle(Mode::LongConnection, callback).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(kind, error = %e, "AI-bot handler failed");
            return;
        }
    };
    let sent = match outcome {
        Outcome::Nothing => Ok(Value::Null),
        Outcome::Reply(reply) => {
            let cmd = if enter_chat { RESPOND_WELCOME } else { RESPOND };
            match reply.to_json().and_then(|j| parse(&j)) {
                Ok(body) => link.request(cmd, &req_id, body).await,
                Err(e) => Err(e),
            }
        }
        Outcome::UpdateCard(update) => {
            match super::endpoint::update_json(&update).and_then(|j| parse(&j)) {
                Ok(body) => link.request(RESPOND_UPDATE, &req_id, body).await,
                Err(e) => Err(e),
            }
        }
        Outcome::Stream(writer) => push_stream(&link, &req_id, &writer, push_every)
            .await
            .map(|()| Value::Null),
    };
    if let Err(e) = sent {
        tracing::warn!(kind, error = %e, "AI-bot reply not delivered");
    }
}

fn parse(json: &str) -> Result<Value> {
    serde_json::from_str(json).map_err(|e| Error::invalid_argument("reply", e.to_string()))
}

/// Pushes a stream's content as it grows, each push acknowledged before the next, until
/// it finishes (or its session expires).
async fn push_stream(
    link: &Link,
    req_id: &str,
    writer: &StreamWriter,
    push_every: Duration,
) -> Result<()> {
    let mut changes = writer.changes();
    let mut last: Option<(String, bool)> = None;
    loop {
        let Some(snapshot) = writer.snapshot().await? else {
            return Err(Error::invalid_argument(
                "stream",
                format!("session `{}` expired before it finished", writer.id()),
            ));
        };
        let state = (snapshot.content.clone(), snapshot.finished);
        // Nothing to show yet: wait for the first words rather than push an empty stream.
        let idle = state.0.is_empty() && !state.1;
        if !idle && last.as_ref() != Some(&state) {
            let reply = match last {
                None => snapshot.first_reply(writer.id()),
                Some(_) => snapshot.reply(writer.id()),
            };
            let body = parse(&reply.to_json()?)?;
            link.request(RESPOND, req_id, body).await?;
            last = Some(state);
        }
        if snapshot.finished {
            return Ok(());
        }
        // Wait for a change (a writer in another process is seen within a second).
        let _ = tokio::time::timeout(Duration::from_secs(1), changes.changed()).await;
        tokio::time::sleep(push_every).await;
    }
}
