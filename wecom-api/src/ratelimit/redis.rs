//! [`RedisRateLimiter`]: rate-limit counts in Redis, so that every process sending with one
//! robot key, app or corp counts together.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{LimitFuture, RateLimiter, Refused, Slot};
use crate::error::{Error, Result};

/// A sliding log per key: a sorted set of send times (Redis's own clock, in ms, so the
/// processes' clocks do not matter). All keys are checked before any is written, in one
/// script, so a request takes a place in every slot or in none.
///
/// KEYS: the slots. ARGV[1]: a unique id of this request; then per key its max and its
/// window in ms. Returns 0 when taken, else `{index (1-based), wait in ms}`.
static ACQUIRE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  if n >= max then
    local oldest = redis.call('ZRANGE', key, n - max, n - max, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + window - now
    if wait < 1 then wait = 1 end
    return {i, wait}
  end
end
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZADD', key, now, ARGV[1] .. ':' .. i)
  redis.call('PEXPIRE', key, window)
end
return 0
",
    )
});

/// A [`RateLimiter`] in Redis: every process using the same Redis counts each robot, app
/// and corp together.
///
/// ```no_run
/// # async fn demo() -> wecom_api::Result<()> {
/// use wecom_api::ratelimit::{RateLimits, RedisRateLimiter};
/// let limiter = RedisRateLimiter::connect("redis://127.0.0.1:6379").await?;
/// let robot = wecom_api::Client::builder()
///     .webhook_key("robot-key")
///     .rate_limits(RateLimits::documented().with_limiter(limiter))
///     .build()?;
/// # Ok(())
/// # }
/// ```
///
/// Keys are `wecom:ratelimit:<rule>:<n>:<what is counted>` (ids and fingerprints, never a
/// secret): sorted sets of send times that expire with their window. If Redis cannot be
/// reached, calls are counted in their own process and the failure is logged.
#[derive(Clone)]
pub struct RedisRateLimiter {
    conn: ConnectionManager,
    addr: String,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RedisRateLimiter {
    /// A limiter on the Redis at `url` (`redis://[user:password@]host:port[/db]`).
    ///
    /// Fails only if `url` is not a Redis URL; one that cannot be reached now is tried
    /// again on each call.
    pub async fn connect(url: &str) -> Result<Self> {
        let (conn, addr) = crate::redis_conn::connect(url)?;
        Ok(RedisRateLimiter { conn, addr })
    }
}

impl RateLimiter for RedisRateLimiter {
    fn try_acquire<'a>(&'a self, slots: &'a [Slot]) -> LimitFuture<'a, Option<Refused>> {
        Box::pin(async move {
            let mut inv = ACQUIRE.prepare_invoke();
            let id: u64 = rand::random();
            inv.arg(format!("{id:016x}"));
            for slot in slots {
                let window = u64::try_from(slot.rate.per.as_millis()).unwrap_or(u64::MAX);
                inv.key(&slot.key).arg(slot.rate.max).arg(window.max(1));
            }
            let mut conn = self.conn.clone();
            let answer: redis::Value = inv
                .invoke_async(&mut conn)
                .await
                .map_err(Error::token_store)?;
            match answer {
                redis::Value::Int(0) => Ok(None),
                redis::Value::Array(items) => match items.as_slice() {
                    [redis::Value::Int(i), redis::Value::Int(wait)] => Ok(Some(Refused {
                        slot: usize::try_from(*i - 1).unwrap_or(0),
                        wait: Duration::from_millis(u64::try_from(*wait).unwrap_or(1)),
                    })),
                    _ => Err(unexpected()),
                },
                _ => Err(unexpected()),
            }
        })
    }
}

fn unexpected() -> Error {
    Error::token_store("the rate-limit script gave an unexpected answer")
}
