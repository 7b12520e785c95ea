//! Bounded retries with exponential backoff and jitter.

use std::time::Duration;

use rand::Rng;

use crate::error::{ERRCODE_BUSY, Error};

/// Whether a call may be sent again after it possibly reached WeCom.
///
/// Generated endpoints carry it from the spec. Raw calls say it: `get_json` uses
/// [`RetrySafety::for_get`], `post_json` and `upload` are [`Unsafe`](Self::Unsafe), and
/// `get_json_with` / `post_json_with` take it. An unsafe call is still sent again when it
/// surely never left (the connection failed), and after a token error (WeCom refused it
/// without performing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetrySafety {
    /// Reads and idempotent writes: a resend after a timeout or a 5xx is harmless.
    Safe,
    /// State-changing or one-time calls: a resend could hide that the first one worked.
    Unsafe,
}

impl RetrySafety {
    /// The default of a raw GET of `path`: [`Unsafe`](Self::Unsafe) for every GET the spec
    /// marks `retry_safe: false` (state-changing or one-time: `user/delete`,
    /// `department/delete`, `tag/delete`, `menu/delete`, `material/del`, `user/authsucc`, the
    /// OAuth code exchanges, `sync/contact_sync_success`, ...), and for any other path whose
    /// last segment says `delete`/`del`, `authsucc` or `getuserinfo`; else
    /// [`Safe`](Self::Safe).
    ///
    /// ```
    /// use wecom_api::RetrySafety;
    /// assert_eq!(RetrySafety::for_get("/cgi-bin/user/get"), RetrySafety::Safe);
    /// assert_eq!(RetrySafety::for_get("/cgi-bin/user/delete"), RetrySafety::Unsafe);
    /// assert_eq!(RetrySafety::for_get("/cgi-bin/service/getuserinfo3rd"), RetrySafety::Unsafe);
    /// ```
    pub fn for_get(path: &str) -> RetrySafety {
        let path = path.trim_end_matches('/');
        if crate::generated::UNSAFE_GETS.binary_search(&path).is_ok() {
            return RetrySafety::Unsafe;
        }
        let last = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        let risky = last == "del"
            || last.contains("delete")
            || last.contains("authsucc")
            || last.contains("getuserinfo");
        if risky {
            RetrySafety::Unsafe
        } else {
            RetrySafety::Safe
        }
    }

    /// Whether it is [`Safe`](Self::Safe).
    pub fn is_safe(self) -> bool {
        self == RetrySafety::Safe
    }
}

/// How often and how patiently transient failures are retried.
///
/// Retried: errcode -1 (system busy), transport failures, HTTP 429 and 5xx, but only for
/// operations that are safe to send again (reads). A failure to connect is retried for
/// every operation, since the request never left. Token errors are handled separately
/// (one refresh, one retry) and do not count here.
///
/// ```
/// use std::time::Duration;
/// let policy = wecom_api::RetryPolicy::default()
///     .with_max_retries(5)
///     .with_base_delay(Duration::from_millis(100));
/// assert_eq!(policy.max_retries, 5);
/// let never = wecom_api::RetryPolicy::none();
/// assert_eq!(never.max_retries, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3, as WeCom advises for -1).
    pub max_retries: u32,
    /// Delay before the first retry; doubles for each further one (default 200 ms).
    pub base_delay: Duration,
    /// Upper bound of any single delay of our own backoff (default 5 s). A server's
    /// `Retry-After` (HTTP 429) is honoured over it, within the call's deadline.
    pub max_delay: Duration,
    /// Also retry WeCom's rate-limit errcodes (45009, 45033, 45011) for retry-safe calls,
    /// after their suggested wait, within the call's deadline (default `false`: they are
    /// returned at once, as [`Error::RateLimited`]).
    pub retry_rate_limited: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            retry_rate_limited: false,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Sets [`max_retries`](Self::max_retries).
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets [`base_delay`](Self::base_delay).
    pub fn with_base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// Sets [`retry_rate_limited`](Self::retry_rate_limited).
    pub fn with_rate_limit_retries(mut self, on: bool) -> Self {
        self.retry_rate_limited = on;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Delay before retry number `retry` (1-based): `base * 2^(retry-1)`, capped at
    /// `max_delay`, then drawn uniformly from its upper half so that clients failing
    /// together do not retry together.
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let nanos = u64::try_from(full.as_nanos()).unwrap_or(u64::MAX);
        if nanos < 2 {
            return full;
        }
        Duration::from_nanos(rand::rng().random_range(nanos / 2..=nanos))
    }

    /// Whether `err`, after `retries_done` retries, should be retried for an operation
    /// whose `retry_safe` flag is given.
    pub(crate) fn should_retry(&self, err: &Error, retry_safe: bool, retries_done: u32) -> bool {
        if retries_done >= self.max_retries {
            return false;
        }
        if err.is_unsent() {
            return true;
        }
        retry_safe && self.is_transient(err)
    }

    fn is_transient(&self, err: &Error) -> bool {
        match err {
            Error::Api { errcode, .. } => *errcode == ERRCODE_BUSY,
            // An errcode limit only on request; a 429 as before (it says when).
            Error::RateLimited { errcode, .. } => errcode.is_none() || self.retry_rate_limited,
            other => other.is_retryable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let p = RetryPolicy::default()
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(350));
        for _ in 0..50 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d2 = p.delay(2);
            assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200));
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(175) && d3 <= Duration::from_millis(350));
            assert!(p.delay(40) <= Duration::from_millis(350));
        }
        assert_eq!(
            RetryPolicy::default()
                .with_base_delay(Duration::ZERO)
                .delay(3),
            Duration::ZERO
        );
    }

    #[test]
    fn only_safe_or_unsent_requests_are_retried() {
        let p = RetryPolicy::default();
        let busy = Error::api("x".into(), -1, "system busy");
        let other = Error::api("x".into(), 60111, "");
        let http = Error::http_status("x".into(), 503, b"");
        assert!(p.should_retry(&busy, true, 0));
        assert!(p.should_retry(&busy, true, 2));
        assert!(!p.should_retry(&busy, true, 3));
        assert!(!p.should_retry(&busy, false, 0));
        assert!(!p.should_retry(&other, true, 0));
        assert!(p.should_retry(&http, true, 0));
        assert!(!p.should_retry(&http, false, 0));
        assert!(!RetryPolicy::none().should_retry(&busy, true, 0));
    }
}
