//! [`RedisStreamStore`]: stream sessions in Redis, so the instance that receives a refresh
//! callback answers it whichever instance writes the stream.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::AibotStreamItem;
use super::reply::MAX_STREAM_BYTES;
use super::stream::{StreamSnapshot, StreamStore, check_images};
use crate::{BoxFuture, Error, Result};

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

/// Marks the session finished with images (ARGV[1], JSON) unless it is gone (-1).
static FINISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end \
         redis.call('HSET', KEYS[1], 'finished', '1', 'images', ARGV[1]) \
         return 0",
    )
});

/// A [`StreamStore`] in Redis: a hash `wecom:aibot:stream:<id>` (content, finished,
/// images, feedback) expiring with the session.
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
            prefix: "wecom:aibot:stream:".into(),
        })
    }

    /// Key prefix (default `wecom:aibot:stream:`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }
}

fn gone(id: &str) -> Error {
    Error::invalid_argument(
        "stream",
        format!("unknown or expired stream session `{id}`"),
    )
}

impl StreamStore for RedisStreamStore {
    fn open(&self, id: &str, feedback_id: Option<String>, ttl: Duration) -> BoxFuture<Result<()>> {
        let (mut conn, key) = (self.conn.clone(), self.key(id));
        Box::pin(async move {
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            redis::pipe()
                .atomic()
                .del(&key)
                .hset_multiple(
                    &key,
                    &[
                        ("content", String::new()),
                        ("finished", "0".to_string()),
                        ("feedback", feedback_id.unwrap_or_default()),
                    ],
                )
                .pexpire(&key, ms as i64)
                .query_async::<()>(&mut conn)
                .await
                .map_err(Error::token_store)
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
        Box::pin(async move {
            check_images(&images)?;
            let images = serde_json::to_string(&images)
                .map_err(|e| Error::invalid_argument("stream.msg_item", e.to_string()))?;
            let status: i64 = FINISH
                .key(key)
                .arg(images)
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
