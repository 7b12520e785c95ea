//! [`RedisDedup`]: callback claims in Redis, so every instance behind a load balancer sees
//! each of WeCom's retries once.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{Claimed, DEFAULT_DEDUP_WINDOW, DedupFuture, DedupStore};
use crate::error::{Error, Result};

/// Claims a key unless it is marked (ARGV: claim value, lease in ms). 0: new, 1: in
/// progress, 2: done.
static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "local held = redis.call('GET', KEYS[1]) \
         if not held then \
           redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
           return 0 \
         end \
         if held == 'done' then return 2 end \
         return 1",
    )
});

/// Marks a key done for the window, if the claim still holds it (ARGV: claim value, ms).
static FINISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2]) \
           return 1 \
         end \
         return 0",
    )
});

/// Deletes a key, if the claim still holds it (ARGV: claim value).
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return redis.call('DEL', KEYS[1]) \
         end \
         return 0",
    )
});

/// A [`DedupStore`] in Redis. A key `wecom:dedup:<callback key>` holds `claim:<token>`
/// while a callback is handled (for at most the lease) and `done` for the window after.
///
/// ```no_run
/// # async fn demo() -> wecom_api::Result<()> {
/// use std::sync::Arc;
/// use wecom_api::callback::{DedupStore, RedisDedup};
/// let dedup: Arc<dyn DedupStore> = Arc::new(RedisDedup::connect("redis://127.0.0.1:6379").await?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisDedup {
    conn: ConnectionManager,
    addr: String,
    window: Duration,
    lease: Duration,
    prefix: String,
}

impl fmt::Debug for RedisDedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedup")
            .field("addr", &self.addr)
            .field("window", &self.window)
            .field("lease", &self.lease)
            .finish()
    }
}

impl RedisDedup {
    /// Claims on the Redis at `url`; window and lease [`DEFAULT_DEDUP_WINDOW`].
    pub async fn connect(url: &str) -> Result<Self> {
        let (conn, addr) = crate::redis_conn::connect(url)?;
        Ok(RedisDedup {
            conn,
            addr,
            window: DEFAULT_DEDUP_WINDOW,
            lease: DEFAULT_DEDUP_WINDOW,
            prefix: "wecom:dedup:".into(),
        })
    }

    /// How long a handled key is remembered (at least the callbacks' freshness window).
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window.max(Duration::from_millis(1));
        self
    }

    /// How long a claim holds at most: longer than a handler may run in the background.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// Key prefix (default `wecom:dedup:`), to keep apps on one Redis apart.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl DedupStore for RedisDedup {
    fn claim<'a>(&'a self, key: &'a str) -> DedupFuture<'a, Claimed> {
        Box::pin(async move {
            let token = rand::random::<u64>();
            let mut conn = self.conn.clone();
            let found: i64 = CLAIM
                .key(self.key(key))
                .arg(format!("claim:{token}"))
                .arg(millis(self.lease))
                .invoke_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            Ok(match found {
                0 => Claimed::New(token),
                2 => Claimed::Done,
                _ => Claimed::InProgress,
            })
        })
    }

    fn finish<'a>(&'a self, key: &'a str, token: u64) -> DedupFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            FINISH
                .key(self.key(key))
                .arg(format!("claim:{token}"))
                .arg(millis(self.window))
                .invoke_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(Error::token_store)
        })
    }

    fn release<'a>(&'a self, key: &'a str, token: u64) -> DedupFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            RELEASE
                .key(self.key(key))
                .arg(format!("claim:{token}"))
                .invoke_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(Error::token_store)
        })
    }
}
