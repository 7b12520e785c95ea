//! The refresh path in front of a [`TokenStore`]: a local copy, the in-process single
//! flight, the store's cross-process lock, and degradation when the store fails.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Lease, Token, TokenKey, TokenStore};
use crate::error::Result;

/// Refresh this long before WeCom's expiry (capped at half the lifetime).
const REFRESH_MARGIN_SECS: u64 = 300;

/// First and longest pause between two looks at the store while another process holds
/// the refresh lock.
const POLL_FIRST: Duration = Duration::from_millis(20);
const POLL_MAX: Duration = Duration::from_millis(200);

/// Current unix time in seconds (0 if the clock is before 1970).
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Unix time from which a token fetched at `now` with WeCom's `expires_in` is treated as
/// stale: 5 minutes early, but never more than half of its lifetime early.
pub(crate) fn usable_until(now: u64, expires_in: i64) -> u64 {
    let lifetime = u64::try_from(expires_in).unwrap_or(0);
    let margin = REFRESH_MARGIN_SECS.min(lifetime / 2);
    now.saturating_add(lifetime - margin)
}

/// A token (or ticket) freshly obtained from WeCom.
pub(crate) struct Fetched {
    pub(crate) value: String,
    pub(crate) expires_in: i64,
}

/// A [`TokenStore`] and whether it is failing, shared by every cache of the clients that
/// use it, so that an outage is logged once rather than per call or per key.
pub(crate) struct SharedStore {
    store: Arc<dyn TokenStore>,
    failing: AtomicBool,
}

impl fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.store.fmt(f)
    }
}

impl SharedStore {
    pub(crate) fn new(store: Arc<dyn TokenStore>) -> Self {
        SharedStore {
            store,
            failing: AtomicBool::new(false),
        }
    }

    /// `Some` on success; on failure `None`, logged as a warning only when the store was
    /// working until now (later failures go to debug), and its recovery once at info.
    fn check<T>(&self, key: &TokenKey, op: &'static str, outcome: Result<T>) -> Option<T> {
        match outcome {
            Ok(v) => {
                if self.failing.swap(false, Ordering::AcqRel) {
                    tracing::info!(store = ?self.store, "token store works again");
                }
                Some(v)
            }
            Err(e) => {
                if self.failing.swap(true, Ordering::AcqRel) {
                    tracing::debug!(%key, op, error = %e, "token store still failing");
                } else {
                    tracing::warn!(
                        store = ?self.store,
                        op,
                        error = %e,
                        "token store failed; tokens are fetched and kept per process until it works again"
                    );
                }
                None
            }
        }
    }
}

#[derive(Clone)]
struct Cached {
    value: Arc<str>,
    expires_at: u64,
}

impl Cached {
    fn from_token(t: Token, now: u64) -> Option<Cached> {
        t.is_valid_at(now).then(|| Cached {
            value: Arc::from(t.value),
            expires_at: t.expires_at,
        })
    }
}

/// Local copy plus single-flight refresh in front of a [`TokenStore`], for one key.
pub(crate) struct TokenCache {
    key: TokenKey,
    store: Arc<SharedStore>,
    /// Read on every call; written only on refresh and invalidation, held for a clone.
    local: RwLock<Option<Cached>>,
    /// Held by the one caller refreshing; keeps the outcome of the last refresh so the
    /// callers that waited share it, success or failure.
    flight: tokio::sync::Mutex<Option<Result<Cached>>>,
    /// Number of completed refreshes; tells a waiter whether one finished while it waited.
    completed: AtomicU64,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("key", &self.key)
            .field("store", &self.store)
            .finish()
    }
}

impl TokenCache {
    pub(crate) fn new(key: TokenKey, store: Arc<SharedStore>) -> Self {
        TokenCache {
            key,
            store,
            local: RwLock::new(None),
            flight: tokio::sync::Mutex::new(None),
            completed: AtomicU64::new(0),
        }
    }

    pub(crate) fn store(&self) -> &Arc<SharedStore> {
        &self.store
    }

    fn fresh_local(&self, now: u64) -> Option<Arc<str>> {
        let guard = self.local.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(c) if now < c.expires_at => Some(Arc::clone(&c.value)),
            _ => None,
        }
    }

    fn set_local(&self, cached: Cached) {
        *self.local.write().unwrap_or_else(PoisonError::into_inner) = Some(cached);
    }

    /// A usable token: the local copy if fresh, else the store's if fresh, else one
    /// obtained by `fetch`, run by exactly one of the callers waiting at that moment in
    /// this process, and, when the store has a lock, in every process sharing it.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<Arc<str>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched>>,
    {
        if let Some(v) = self.fresh_local(now_unix()) {
            return Ok(v);
        }
        let seen = self.completed.load(Ordering::Acquire);
        let mut last = self.flight.lock().await;
        if self.completed.load(Ordering::Acquire) != seen {
            // Someone refreshed while we waited: take their outcome, even an error, rather
            // than asking WeCom again.
            if let Some(outcome) = last.as_ref() {
                return outcome.clone().map(|c| c.value);
            }
        }
        if let Some(v) = self.fresh_local(now_unix()) {
            return Ok(v);
        }
        let outcome = self.obtain(fetch).await;
        if let Ok(c) = &outcome {
            self.set_local(c.clone());
        }
        *last = Some(outcome.clone());
        self.completed.fetch_add(1, Ordering::Release);
        outcome.map(|c| c.value)
    }

    /// The store's token if fresh; else the lock and a fetch; else, while another holds
    /// the lock, the token it stores. A failing store leaves a per-process fetch.
    async fn obtain<F, Fut>(&self, fetch: F) -> Result<Cached>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched>>,
    {
        let store = &self.store.store;
        let started = Instant::now();
        let timeout = store.lock_timeout();
        let mut pause = POLL_FIRST;
        loop {
            let Some(found) = self.shared_token().await else {
                return fetch_now(fetch).await;
            };
            if let Some(c) = found {
                return Ok(c);
            }
            let taken = store.try_lock(&self.key).await;
            let Some(lease) = self.store.check(&self.key, "try_lock", taken) else {
                return fetch_now(fetch).await;
            };
            match lease {
                Some(lease) => return self.fetch_locked(fetch, &lease).await,
                None if started.elapsed() >= timeout => {
                    tracing::warn!(
                        key = %self.key,
                        waited_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                        "token refresh lock still held by another holder; fetching without it"
                    );
                    return self.fetch_and_share(fetch).await;
                }
                None => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(POLL_MAX);
                }
            }
        }
    }

    /// `Some(fresh token or None)` from the store; `None` if the store failed.
    async fn shared_token(&self) -> Option<Option<Cached>> {
        let got = self.store.store.get(&self.key).await;
        let found = self.store.check(&self.key, "get", got)?;
        Some(found.and_then(|t| Cached::from_token(t, now_unix())))
    }

    async fn fetch_locked<F, Fut>(&self, fetch: F, lease: &Lease) -> Result<Cached>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched>>,
    {
        // The previous holder may have stored a token between our read and our lock.
        let out = match self.shared_token().await {
            Some(Some(c)) => Ok(c),
            _ => self.fetch_and_share(fetch).await,
        };
        let released = self.store.store.unlock(&self.key, lease).await;
        self.store.check(&self.key, "unlock", released);
        out
    }

    async fn fetch_and_share<F, Fut>(&self, fetch: F) -> Result<Cached>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched>>,
    {
        let c = fetch_now(fetch).await?;
        let stored = self
            .store
            .store
            .set(&self.key, Token::new(&*c.value, c.expires_at))
            .await;
        // The token itself is good; a store that is down only costs sharing.
        self.store.check(&self.key, "set", stored);
        Ok(c)
    }

    /// Drops `failed` from the local copy and the store, if it is still the current token.
    pub(crate) async fn invalidate(&self, failed: &str) {
        {
            let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
            if local.as_ref().is_some_and(|c| &*c.value == failed) {
                *local = None;
            }
        }
        let dropped = self.store.store.invalidate(&self.key, failed).await;
        self.store.check(&self.key, "invalidate", dropped);
    }
}

async fn fetch_now<F, Fut>(fetch: F) -> Result<Cached>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Fetched>>,
{
    let now = now_unix();
    let f = fetch().await?;
    Ok(Cached {
        value: Arc::from(f.value),
        expires_at: usable_until(now, f.expires_in),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::token::{MemoryTokenStore, StoreFuture, TokenKind};
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    const SECRET: &str = "S3cr3t-very-secret-value";

    fn key() -> TokenKey {
        TokenKey::new(TokenKind::AccessToken, "wwcorp", SECRET)
    }

    fn shared(store: impl TokenStore + 'static) -> Arc<SharedStore> {
        Arc::new(SharedStore::new(Arc::new(store)))
    }

    fn ok(v: &'static str) -> impl FnOnce() -> std::future::Ready<Result<Fetched>> {
        move || {
            std::future::ready(Ok(Fetched {
                value: v.into(),
                expires_in: 7200,
            }))
        }
    }

    #[test]
    fn refresh_margin() {
        assert_eq!(usable_until(1000, 7200), 1000 + 7200 - 300);
        assert_eq!(usable_until(1000, 400), 1000 + 200);
        assert_eq!(usable_until(1000, 1), 1001);
        assert_eq!(usable_until(1000, 0), 1000);
        assert_eq!(usable_until(1000, -5), 1000);
    }

    fn cache() -> (TokenCache, MemoryTokenStore) {
        let store = MemoryTokenStore::new();
        (TokenCache::new(key(), shared(store.clone())), store)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn single_flight_under_concurrency() {
        let (cache, _) = cache();
        let cache = Arc::new(cache);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let cache = Arc::clone(&cache);
            let calls = Arc::clone(&calls);
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(Fetched {
                            value: "T1".into(),
                            expires_in: 7200,
                        })
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(&*t.await.unwrap().unwrap(), "T1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn failure_is_shared_by_waiters_and_not_cached() {
        let (cache, store) = cache();
        let cache = Arc::new(cache);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = Arc::clone(&cache);
            let calls = Arc::clone(&calls);
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err::<Fetched, _>(Error::api("token.get".into(), 40013, "invalid corpid"))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap_err().errcode(), Some(40013));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(store.is_empty());
        // The next call tries again.
        assert_eq!(&*cache.get(ok("T2")).await.unwrap(), "T2");
    }

    #[tokio::test]
    async fn invalidate_only_drops_the_failed_token() {
        let (cache, store) = cache();
        assert_eq!(&*cache.get(ok("T1")).await.unwrap(), "T1");
        // A stale failure report does not drop the current token.
        cache.invalidate("T0").await;
        assert_eq!(&*cache.get(ok("never")).await.unwrap(), "T1");
        cache.invalidate("T1").await;
        assert!(store.is_empty());
        assert_eq!(&*cache.get(ok("T2")).await.unwrap(), "T2");
        assert_eq!(store.get(&key()).await.unwrap().unwrap().value(), "T2");
    }

    #[tokio::test]
    async fn fresh_token_in_store_is_used_without_fetching() {
        let (cache, store) = cache();
        store
            .set(&key(), Token::new("SHARED", now_unix() + 1000))
            .await
            .unwrap();
        let got = cache
            .get(|| async { Err::<Fetched, _>(Error::crypto("must not fetch")) })
            .await
            .unwrap();
        assert_eq!(&*got, "SHARED");
        // A stale one is replaced.
        store.set(&key(), Token::new("OLD", 1)).await.unwrap();
        let cache2 = TokenCache::new(key(), shared(store.clone()));
        assert_eq!(&*cache2.get(ok("NEW")).await.unwrap(), "NEW");
    }

    /// A store whose lock another "process" holds until it has stored its token, or for
    /// ever; and whose every method can be made to fail.
    #[derive(Debug, Default)]
    struct Contended {
        inner: MemoryTokenStore,
        /// The other holder stores this token at the n-th `try_lock` (0: never).
        other_stores_at: usize,
        lock_attempts: AtomicUsize,
        unlocked: Mutex<Vec<Lease>>,
        grant: bool,
        broken: bool,
    }

    impl TokenStore for Contended {
        fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
            if self.broken {
                return Box::pin(async { Err(Error::token_store("connection refused")) });
            }
            self.inner.get(key)
        }
        fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()> {
            if self.broken {
                return Box::pin(async { Err(Error::token_store("connection refused")) });
            }
            self.inner.set(key, token)
        }
        fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()> {
            self.inner.invalidate(key, value)
        }
        fn try_lock<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Lease>> {
            let n = self.lock_attempts.fetch_add(1, Ordering::SeqCst) + 1;
            if n == self.other_stores_at {
                self.inner
                    .map
                    .write()
                    .unwrap()
                    .insert(key.clone(), Token::new("THEIRS", now_unix() + 1000));
            }
            let lease = self.grant.then(|| Lease::new("mine"));
            Box::pin(async move { Ok(lease) })
        }
        fn unlock<'a>(&'a self, _: &'a TokenKey, lease: &'a Lease) -> StoreFuture<'a, ()> {
            self.unlocked.lock().unwrap().push(lease.clone());
            Box::pin(async { Ok(()) })
        }
        fn lock_timeout(&self) -> Duration {
            Duration::from_millis(300)
        }
    }

    #[tokio::test]
    async fn waits_for_the_lock_holder_and_reads_its_token() {
        let store = Arc::new(Contended {
            other_stores_at: 3,
            ..Contended::default()
        });
        let cache = TokenCache::new(key(), shared(Arc::clone(&store)));
        let got = cache
            .get(|| async { Err::<Fetched, _>(Error::crypto("must not fetch")) })
            .await
            .unwrap();
        assert_eq!(&*got, "THEIRS");
        assert_eq!(store.lock_attempts.load(Ordering::SeqCst), 3);
        assert!(store.unlocked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn holder_fetches_stores_and_unlocks() {
        let store = Arc::new(Contended {
            grant: true,
            ..Contended::default()
        });
        let cache = TokenCache::new(key(), shared(Arc::clone(&store)));
        assert_eq!(&*cache.get(ok("MINE")).await.unwrap(), "MINE");
        assert_eq!(
            store.inner.get(&key()).await.unwrap().unwrap().value(),
            "MINE"
        );
        assert_eq!(*store.unlocked.lock().unwrap(), [Lease::new("mine")]);
        // A failed fetch unlocks too.
        let cache = TokenCache::new(
            key().with_kind(TokenKind::JsapiTicket),
            shared(Arc::clone(&store)),
        );
        let err = cache
            .get(|| async { Err::<Fetched, _>(Error::api("t".into(), 40013, "bad")) })
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40013));
        assert_eq!(store.unlocked.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn lock_never_released_means_fetching_after_the_timeout() {
        let store = Arc::new(Contended::default());
        let cache = TokenCache::new(key(), shared(Arc::clone(&store)));
        assert_eq!(&*cache.get(ok("LATE")).await.unwrap(), "LATE");
        assert!(store.lock_attempts.load(Ordering::SeqCst) > 1);
        // And shared for the others.
        assert_eq!(
            store.inner.get(&key()).await.unwrap().unwrap().value(),
            "LATE"
        );
    }

    #[tokio::test]
    async fn broken_store_means_a_per_process_token() {
        let store = Arc::new(Contended {
            broken: true,
            grant: true,
            ..Contended::default()
        });
        let shared_store = shared(Arc::clone(&store));
        let cache = TokenCache::new(key(), Arc::clone(&shared_store));
        assert_eq!(&*cache.get(ok("LOCAL")).await.unwrap(), "LOCAL");
        // Served locally from now on: the next call does not fetch.
        let again = cache
            .get(|| async { Err::<Fetched, _>(Error::crypto("must not fetch")) })
            .await
            .unwrap();
        assert_eq!(&*again, "LOCAL");
        // The lock is not even tried once the store failed a read.
        assert_eq!(store.lock_attempts.load(Ordering::SeqCst), 0);
        assert!(shared_store.failing.load(Ordering::SeqCst));
    }
}
