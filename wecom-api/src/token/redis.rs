//! [`RedisTokenStore`]: tokens and tickets kept in Redis, shared by every process that uses
//! it, with a lock (a lease) so that one of them refreshes.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{
    DEFAULT_LOCK_LEASE, Lease, RefreshState, StoreFuture, Token, TokenKey, TokenStore, now_unix,
};
use crate::error::{Error, Result};

/// Deletes a token only if it still holds the value that failed.
static INVALIDATE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('HGET', KEYS[1], 'value') == ARGV[1] then \
           return redis.call('DEL', KEYS[1]) \
         end \
         return 0",
    )
});

/// Replaces the token unless the stored one expires later (ARGV: value, expires_at).
static SET_IF_NEWER: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "local held = tonumber(redis.call('HGET', KEYS[1], 'expires_at')) \
         if held and held > tonumber(ARGV[2]) then return 0 end \
         redis.call('DEL', KEYS[1]) \
         redis.call('HSET', KEYS[1], 'value', ARGV[1], 'expires_at', ARGV[2]) \
         redis.call('EXPIREAT', KEYS[1], ARGV[2]) \
         return 1",
    )
});

/// Releases a lock only if this holder's lease still holds it.
static UNLOCK: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return redis.call('DEL', KEYS[1]) \
         end \
         return 0",
    )
});

/// Extends a lock (ARGV: lease id, milliseconds) only if this holder's lease still holds it.
static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return redis.call('PEXPIRE', KEYS[1], ARGV[2]) \
         end \
         return 0",
    )
});

/// A [`TokenStore`] in Redis: every process using the same Redis shares one access token
/// (and one JS-SDK ticket) per corp and secret, and only one of them asks WeCom for a new
/// one when it is missing or about to expire.
///
/// ```no_run
/// # async fn demo() -> wecom_api::Result<()> {
/// let store = wecom_api::token::RedisTokenStore::connect("redis://127.0.0.1:6379").await?;
/// let client = wecom_api::Client::builder()
///     .corp_id("ww0123456789abcdef")
///     .secret("app-secret")
///     .token_store(store)
///     .build()?;
/// # Ok(())
/// # }
/// ```
///
/// - Keys: a token lives in the hash `wecom:<kind>:<corp_id>:<fingerprint>` (fields `value`
///   and `expires_at`, expiring with the token); the refresh lock of that key is
///   `<that key>:lock`. The fingerprint identifies the secret without revealing it, so
///   tokens are never shared across secrets or corps.
/// - Lock: `SET NX PX` with a random lease id, released only by its holder; it expires by
///   itself after the lease ([`with_lock_lease`](Self::with_lock_lease), default 10 s), so a
///   holder that dies blocks the others no longer than that. A live holder renews it
///   (`PEXPIRE`, only while it still holds it) every third of the lease while its refresh
///   runs, so a slow issuer does not let a second process fetch. The others poll the token
///   key for at most [`with_lock_timeout`](Self::with_lock_timeout) (default 30 s).
/// - Outages: if Redis cannot be reached, calls go on with a token of their own process,
///   the failure is logged once, and the connection is made again when Redis is back.
///
/// Clones share one multiplexed connection and, in one process, one refresh per key: give
/// every builder a clone of one store. `Debug` shows the address only.
#[derive(Clone)]
pub struct RedisTokenStore {
    conn: ConnectionManager,
    addr: String,
    lease: Duration,
    lock_timeout: Duration,
    refresh: RefreshState,
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("addr", &self.addr)
            .field("lease", &self.lease)
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

impl RedisTokenStore {
    /// A store on the Redis at `url` (`redis://[user:password@]host:port[/db]`).
    ///
    /// Fails only if `url` is not a Redis URL. A Redis that cannot be reached now is not
    /// an error: calls then use per-process tokens until it can be.
    pub async fn connect(url: &str) -> Result<Self> {
        let (conn, addr) = crate::redis_conn::connect(url)?;
        let store = RedisTokenStore {
            conn,
            addr,
            lease: DEFAULT_LOCK_LEASE,
            lock_timeout: super::DEFAULT_LOCK_TIMEOUT,
            refresh: RefreshState::new(),
        };
        // Connect now rather than on the first call. A failure is the clients' to report
        // (once) when they use the store.
        if let Err(e) = store.ping().await {
            tracing::debug!(addr = %store.addr, error = %e, "Redis not reachable yet");
        }
        Ok(store)
    }

    /// How long a refresh lock lasts unless renewed or released (default 10 s). It bounds
    /// how long a dead holder blocks the others; a live one renews it while it refreshes.
    pub fn with_lock_lease(mut self, lease: Duration) -> Self {
        // Redis refuses a zero PX.
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// How long a caller waits for another process's refresh before fetching by itself
    /// (default 30 s).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The Redis key of the refresh lock of `key`.
    pub fn lock_key(key: &TokenKey) -> String {
        format!("{}:lock", key.storage_key())
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(Error::token_store)
    }
}

impl TokenStore for RedisTokenStore {
    fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let (value, expires_at): (Option<String>, Option<u64>) = redis::cmd("HMGET")
                .arg(key.storage_key())
                .arg("value")
                .arg("expires_at")
                .query_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            Ok(value.zip(expires_at).map(|(v, e)| Token::new(v, e)))
        })
    }

    fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if !token.is_valid_at(now_unix()) {
                return Ok(());
            }
            let k = key.storage_key();
            let mut conn = self.conn.clone();
            redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(&k)
                .ignore()
                .cmd("HSET")
                .arg(&k)
                .arg("value")
                .arg(token.value())
                .arg("expires_at")
                .arg(token.expires_at())
                .ignore()
                .cmd("EXPIREAT")
                .arg(&k)
                .arg(token.expires_at())
                .ignore()
                .query_async::<()>(&mut conn)
                .await
                .map_err(Error::token_store)
        })
    }

    fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            INVALIDATE
                .key(key.storage_key())
                .arg(value)
                .invoke_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(Error::token_store)
        })
    }

    fn set_if_newer<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if !token.is_valid_at(now_unix()) {
                return Ok(false);
            }
            let mut conn = self.conn.clone();
            SET_IF_NEWER
                .key(key.storage_key())
                .arg(token.value())
                .arg(token.expires_at())
                .invoke_async::<i64>(&mut conn)
                .await
                .map(|stored| stored == 1)
                .map_err(Error::token_store)
        })
    }

    fn try_lock<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Lease>> {
        Box::pin(async move {
            let lease = Lease::random();
            let ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
            let mut conn = self.conn.clone();
            let set: Option<String> = redis::cmd("SET")
                .arg(Self::lock_key(key))
                .arg(lease.id())
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            Ok(set.map(|_| lease))
        })
    }

    fn unlock<'a>(&'a self, key: &'a TokenKey, lease: &'a Lease) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            UNLOCK
                .key(Self::lock_key(key))
                .arg(lease.id())
                .invoke_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(Error::token_store)
        })
    }

    fn renew_lock<'a>(&'a self, key: &'a TokenKey, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
            let mut conn = self.conn.clone();
            RENEW
                .key(Self::lock_key(key))
                .arg(lease.id())
                .arg(ms)
                .invoke_async::<i64>(&mut conn)
                .await
                .map(|renewed| renewed == 1)
                .map_err(Error::token_store)
        })
    }

    fn lock_lease(&self) -> Option<Duration> {
        Some(self.lease)
    }

    fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    fn refresh_state(&self) -> Option<RefreshState> {
        Some(self.refresh.clone())
    }
}
