//! [`RedisStreamStore`]: stream sessions in Redis, so the instance that receives a refresh
//! callback answers it whichever instance writes the stream, and every instance counts a
//! user's unfinished streams together.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use redis::aio::ConnectionManager;

use super::AibotStreamItem;
use super::reply::MAX_STREAM_BYTES;
use super::stream::{NewStream, StreamSnapshot, StreamStore, check_images, too_many};
use crate::{BoxFuture, Error, Result};

/// Opens session KEYS[1] (ARGV: ttl ms, feedback, user, max per user, id). With KEYS[2],
/// the user's unfinished sessions (a sorted set of ids scored by expiry on Redis's clock):
/// expired ones are dropped, and the open is refused (-1) when `max` remain.
static OPEN: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if #KEYS == 2 then
  redis.call('ZREM', KEYS[2], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -1 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'content', '', 'finished', '0', 'feedback', ARGV[2], 'user', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
if #KEYS == 2 then
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[5])
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[2], last[2])
end
return 0",
    )
});

/// Appends ARGV[1] unless the session is gone (-1), finished (-2) or would pass ARGV[2]
/// bytes (-3, with the size it would have).
static APPEND: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end \
         if redis.call('HGET', KEYS[1], 'finished') == '1' then return {-2, 0} end \
         local content = redis.call('HGET', KEYS[1], 'content') or '' \
         local total = #content + #ARGV[1] \
         if total > tonumber(ARGV[2]) then return {-3, total} end \
         redis.call('HSET', KEYS[1], 'content', content .. ARGV[1]) \
         return {0, total}",
    )
});

/// Marks the session finished with images (ARGV[1], JSON) unless it is gone (-1); with
/// KEYS[2], no longer counts it (ARGV[2], its id) against its user.
static FINISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end \
         redis.call('HSET', KEYS[1], 'finished', '1', 'images', ARGV[1]) \
         if #KEYS == 2 then redis.call('ZREM', KEYS[2], ARGV[2]) end \
         return 0",
    )
});

/// A [`StreamStore`] in Redis: a hash `wecom:aibot:stream:<id>` (content, finished,
/// images, feedback, user) expiring with the session, and per user a sorted set
/// `wecom:aibot:user:<aibotid>:<userid>` of its unfinished sessions scored by their expiry
/// (on Redis's clock), expiring with the last of them. Opening checks and records the
/// count in one script, so instances sharing the Redis count each user's exchanges
/// together.
#[derive(Clone)]
pub struct RedisStreamStore {
    conn: ConnectionManager,
    addr: String,
    prefix: String,
}

impl fmt::Debug for RedisStreamStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStreamStore")
            .field("addr", &self.addr)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisStreamStore {
    /// Sessions on the Redis at `url`.
    pub async fn connect(url: &str) -> Result<Self> {
        let (conn, addr) = crate::redis_conn::connect(url)?;
        Ok(RedisStreamStore {
            conn,
            addr,
            prefix: "wecom:aibot:".into(),
        })
    }

    /// Key prefix (default `wecom:aibot:`; sessions under `<prefix>stream:`, user counts
    /// under `<prefix>user:`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, id: &str) -> String {
        format!("{}stream:{id}", self.prefix)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}user:{user}", self.prefix)
    }
}

fn gone(id: &str) -> Error {
    Error::invalid_argument(
        "stream",
        format!("unknown or expired stream session `{id}`"),
    )
}

impl StreamStore for RedisStreamStore {
    fn open(&self, stream: NewStream) -> BoxFuture<Result<()>> {
        let mut conn = self.conn.clone();
        let key = self.key(&stream.id);
        let user_key = stream.user.as_deref().map(|user| self.user_key(user));
        Box::pin(async move {
            let ms = u64::try_from(stream.ttl.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let mut call = OPEN.key(key);
            if let Some(user_key) = user_key {
                call.key(user_key);
            }
            let status: i64 = call
                .arg(ms)
                .arg(stream.feedback_id.unwrap_or_default())
                .arg(stream.user.as_deref().unwrap_or_default())
                .arg(stream.max_per_user)
                .arg(&stream.id)
                .invoke_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            match (status, &stream.user) {
                (0, _) => Ok(()),
                (_, Some(user)) => Err(too_many(user, stream.max_per_user)),
                (_, None) => Err(Error::invalid_argument(
                    "stream",
                    format!("session `{}` could not be opened", stream.id),
                )),
            }
        })
    }

    fn append(&self, id: &str, text: &str) -> BoxFuture<Result<()>> {
        let (mut conn, key, id, text) = (
            self.conn.clone(),
            self.key(id),
            id.to_string(),
            text.to_string(),
        );
        Box::pin(async move {
            let (status, size): (i64, i64) = APPEND
                .key(key)
                .arg(text)
                .arg(MAX_STREAM_BYTES)
                .invoke_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            match status {
                0 => Ok(()),
                -2 => Err(Error::invalid_argument("stream", "already finished")),
                -3 => Err(Error::TooLarge {
                    what: "stream content (at most 20,480 bytes)",
                    limit: MAX_STREAM_BYTES as u64,
                    size: u64::try_from(size).ok(),
                }),
                _ => Err(gone(&id)),
            }
        })
    }

    fn finish(&self, id: &str, images: Vec<AibotStreamItem>) -> BoxFuture<Result<()>> {
        let (mut conn, key, id) = (self.conn.clone(), self.key(id), id.to_string());
        let store = self.clone();
        Box::pin(async move {
            check_images(&images)?;
            let images = serde_json::to_string(&images)
                .map_err(|e| Error::invalid_argument("stream.msg_item", e.to_string()))?;
            // A session's user is set once, at open: read first, then named as a key.
            let user: Option<String> = redis::cmd("HGET")
                .arg(&key)
                .arg("user")
                .query_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            let mut call = FINISH.key(key);
            if let Some(user) = user.filter(|u| !u.is_empty()) {
                call.key(store.user_key(&user));
            }
            let status: i64 = call
                .arg(images)
                .arg(&id)
                .invoke_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            if status == 0 { Ok(()) } else { Err(gone(&id)) }
        })
    }

    fn get(&self, id: &str) -> BoxFuture<Result<Option<StreamSnapshot>>> {
        let (mut conn, key) = (self.conn.clone(), self.key(id));
        Box::pin(async move {
            let fields: HashMap<String, String> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            if fields.is_empty() {
                return Ok(None);
            }
            let images = match fields.get("images") {
                Some(json) if !json.is_empty() => serde_json::from_str(json).map_err(|e| {
                    Error::invalid_argument(
                        "stream.msg_item",
                        format!("stored images unreadable: {e}"),
                    )
                })?,
                _ => Vec::new(),
            };
            Ok(Some(StreamSnapshot {
                content: fields.get("content").cloned().unwrap_or_default(),
                finished: fields.get("finished").is_some_and(|f| f == "1"),
                images,
                feedback_id: fields.get("feedback").filter(|f| !f.is_empty()).cloned(),
            }))
        })
    }
}
