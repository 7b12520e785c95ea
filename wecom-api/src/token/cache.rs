//! The refresh path in front of a [`TokenStore`]: per token key, a local copy, the
//! in-process single flight and the memory of a failed refresh, shared by every client of
//! the process using the same store; then the store's cross-process lock, and degradation
//! when the store fails.
//!
//! A refresh runs as its own task, shared by every caller waiting for it: a caller that is
//! dropped (a request deadline, a handler's timeout) leaves the refresh running for the
//! others, and the store's lock is released by a guard whatever happens. Whatever ends the
//! task (a result, a panic, its runtime shutting down), a guard frees its slot.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use futures::channel::oneshot;
use futures::future::{BoxFuture, Shared};

use super::{Lease, Token, TokenKey, TokenStore};
use crate::error::{Error, Result};

/// Refresh this long before WeCom's expiry (capped at half the lifetime).
const REFRESH_MARGIN_SECS: u64 = 300;

/// First and longest pause between two looks at the store while another process holds
/// the refresh lock.
const POLL_FIRST: Duration = Duration::from_millis(20);
const POLL_MAX: Duration = Duration::from_millis(200);

/// Keys held before the ones nobody uses any more are swept (then twice what is left).
const KEYS_SWEPT_FROM: usize = 256;

/// Current unix time in seconds (0 if the clock is before 1970).
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seconds a token with WeCom's `expires_in` is used: 5 minutes less, but never more than
/// half of its lifetime less.
fn usable_secs(expires_in: i64) -> u64 {
    let lifetime = u64::try_from(expires_in).unwrap_or(0);
    lifetime - REFRESH_MARGIN_SECS.min(lifetime / 2)
}

/// Unix time from which a token fetched at `now` with WeCom's `expires_in` is treated as
/// stale (what a shared store keeps: other processes only share the wall clock).
#[cfg(test)]
pub(crate) fn usable_until(now: u64, expires_in: i64) -> u64 {
    now.saturating_add(usable_secs(expires_in))
}

/// `now + d`, capped (far enough for any token) so that no duration overflows an
/// `Instant`.
pub(crate) fn instant_after(d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
    Instant::now() + d.min(FAR)
}

/// A token (or ticket) freshly obtained from WeCom.
pub(crate) struct Fetched {
    pub(crate) value: String,
    pub(crate) expires_in: i64,
}

/// How a client refreshes: the bound on one refresh, and how long a failed refresh is
/// remembered (growing from `backoff_first`, doubling, up to `backoff_max`). The caller
/// that starts a refresh lends it its settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshSettings {
    pub(crate) budget: Duration,
    pub(crate) backoff_first: Duration,
    pub(crate) backoff_max: Duration,
}

/// Default interval a failed refresh is remembered for, and its cap.
pub(crate) const FAILURE_BACKOFF_FIRST: Duration = Duration::from_secs(1);
pub(crate) const FAILURE_BACKOFF_MAX: Duration = Duration::from_secs(60);

impl Default for RefreshSettings {
    fn default() -> Self {
        RefreshSettings {
            budget: Duration::from_secs(60),
            backoff_first: FAILURE_BACKOFF_FIRST,
            backoff_max: FAILURE_BACKOFF_MAX,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A [`TokenStore`], whether it is failing, and the state of each key in this process.
/// Every client whose store answers the same [`TokenStore::refresh_state`] shares one
/// [`StoreState`], so that an outage is logged once and a key is refreshed once.
pub(crate) struct SharedStore {
    store: Arc<dyn TokenStore>,
    state: Arc<StoreState>,
}

/// What the clients of one store share in this process (inside a
/// [`RefreshState`](super::RefreshState)).
#[derive(Default)]
pub(crate) struct StoreState {
    failing: AtomicBool,
    keys: Mutex<Keys>,
}

/// The keys in use. An entry is swept once no client holds it, no refresh runs for it, its
/// local copy is stale and no failure is being remembered: what is left is bounded by the
/// keys used within a token's lifetime.
#[derive(Default)]
struct Keys {
    map: HashMap<TokenKey, Arc<KeyState>>,
    sweep_at: usize,
}

impl fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.store.fmt(f)
    }
}

impl SharedStore {
    /// `store`, sharing its keys' state with every other client of the store (a store
    /// without a [`RefreshState`](super::RefreshState) is on its own).
    pub(crate) fn new(store: Arc<dyn TokenStore>) -> Self {
        let state = store.refresh_state().map(|s| s.0).unwrap_or_default();
        SharedStore { store, state }
    }

    /// The value under `key`; `None` when absent or when the store failed (logged once).
    pub(crate) async fn get(&self, key: &TokenKey) -> Option<Token> {
        let found = self.store.get(key).await;
        self.check(key, "get", found).flatten()
    }

    /// [`TokenStore::set_if_newer`]; `None` when the store failed (logged once).
    pub(crate) async fn set_if_newer(&self, key: &TokenKey, token: Token) -> Option<bool> {
        let stored = self.store.set_if_newer(key, token).await;
        self.check(key, "set_if_newer", stored)
    }

    /// `Some` on success; on failure `None`, logged as a warning only when the store was
    /// working until now (later failures go to debug), and its recovery once at info.
    fn check<T>(&self, key: &TokenKey, op: &'static str, outcome: Result<T>) -> Option<T> {
        let failing = &self.state.failing;
        match outcome {
            Ok(v) => {
                if failing.swap(false, Ordering::AcqRel) {
                    tracing::info!(store = ?self.store, "token store works again");
                }
                Some(v)
            }
            Err(e) => {
                if failing.swap(true, Ordering::AcqRel) {
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

    /// The state of `key` shared in this process, made on first use.
    fn key_state(&self, key: &TokenKey) -> Arc<KeyState> {
        let mut keys = lock(&self.state.keys);
        if let Some(state) = keys.map.get(key) {
            return Arc::clone(state);
        }
        if keys.map.len() >= keys.sweep_at {
            let now = Instant::now();
            keys.map
                .retain(|_, state| Arc::strong_count(state) > 1 || state.worth_keeping(now));
            keys.sweep_at = (keys.map.len() * 2).max(KEYS_SWEPT_FROM);
        }
        let state = Arc::new(KeyState::new(key.clone()));
        keys.map.insert(key.clone(), Arc::clone(&state));
        state
    }

    #[cfg(test)]
    fn keys_held(&self) -> usize {
        lock(&self.state.keys).map.len()
    }
}

#[derive(Clone)]
struct Cached {
    value: Arc<str>,
    /// Wall-clock expiry, for the shared store.
    expires_at: u64,
    /// The same on the monotonic clock, for the local copy: a wall clock set back or
    /// forward does not keep a stale token or drop a fresh one.
    fresh_until: Instant,
}

impl Cached {
    fn from_token(t: Token, now: u64) -> Option<Cached> {
        let left = t.expires_at.checked_sub(now).filter(|&s| s > 0)?;
        Some(Cached {
            value: Arc::from(t.value),
            expires_at: t.expires_at,
            fresh_until: instant_after(Duration::from_secs(left)),
        })
    }
}

type Outcome = Shared<BoxFuture<'static, Result<Cached>>>;

/// One refresh in progress, shared by the callers waiting for it.
#[derive(Clone)]
struct Flight {
    id: u64,
    /// A token this refresh must not hand out (one WeCom just rejected).
    avoid: Option<Arc<str>>,
    outcome: Outcome,
}

/// The last refreshes failed: until `until`, callers get `error` without a new request.
struct Failure {
    consecutive: u32,
    until: Instant,
    error: Error,
}

/// One token key in this process: its local copy, the refresh in progress, the last
/// failure. Shared by every client of the same store holding that key.
struct KeyState {
    key: TokenKey,
    /// Read on every call; written only on refresh and invalidation, held for a clone.
    local: RwLock<Option<Cached>>,
    /// The refresh in progress, if any. Never held across an await.
    flight: Mutex<Option<Flight>>,
    next_flight: AtomicU64,
    failure: Mutex<Option<Failure>>,
}

impl KeyState {
    fn new(key: TokenKey) -> Self {
        KeyState {
            key,
            local: RwLock::new(None),
            flight: Mutex::new(None),
            next_flight: AtomicU64::new(0),
            failure: Mutex::new(None),
        }
    }

    fn fresh_local(&self, rejected: Option<&str>) -> Option<Arc<str>> {
        let guard = self.local.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(c) if Instant::now() < c.fresh_until && rejected != Some(&*c.value) => {
                Some(Arc::clone(&c.value))
            }
            _ => None,
        }
    }

    fn set_local(&self, cached: Cached) {
        *self.local.write().unwrap_or_else(PoisonError::into_inner) = Some(cached);
    }

    /// Whether dropping this entry would lose something: a fresh token, a refresh in
    /// progress, or a failure still being remembered.
    fn worth_keeping(&self, now: Instant) -> bool {
        let fresh = self
            .local
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|c| now < c.fresh_until);
        fresh
            || lock(&self.flight).is_some()
            || lock(&self.failure).as_ref().is_some_and(|f| now < f.until)
    }

    /// The remembered failure, while its interval lasts.
    fn backing_off(&self) -> Option<Error> {
        let failure = lock(&self.failure);
        let f = failure.as_ref()?;
        let left = f.until.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        Some(Error::TokenRefreshBackoff {
            source: Arc::new(f.error.clone()),
            failures: f.consecutive,
            retry_in: left,
        })
    }

    fn record(&self, outcome: &Result<Cached>, s: &RefreshSettings) {
        let mut failure = lock(&self.failure);
        match outcome {
            Ok(_) => *failure = None,
            // Waiting for a pushed ticket costs no request: look again on the next call.
            Err(Error::MissingTicket { .. }) => {}
            Err(e) => {
                let consecutive = failure.as_ref().map_or(0, |f| f.consecutive) + 1;
                let exp = (consecutive - 1).min(20);
                let wait = s.backoff_first.saturating_mul(1 << exp).min(s.backoff_max);
                tracing::debug!(
                    key = %self.key,
                    consecutive,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %e,
                    "token refresh failed; callers get this error until the wait is over"
                );
                // A backoff error stays the error it wraps, not a wrapper of a wrapper.
                let error = match e {
                    Error::TokenRefreshBackoff { source, .. } => (**source).clone(),
                    other => other.clone(),
                };
                *failure = Some(Failure {
                    consecutive,
                    until: instant_after(wait),
                    error,
                });
            }
        }
    }
}

/// A client's handle on one key: the key's shared state, the store, and this client's
/// refresh settings. Cheap to clone.
#[derive(Clone)]
pub(crate) struct TokenCache {
    state: Arc<KeyState>,
    store: Arc<SharedStore>,
    settings: RefreshSettings,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("key", &self.state.key)
            .field("store", &self.store)
            .finish()
    }
}

impl TokenCache {
    #[cfg(test)]
    pub(crate) fn new(key: TokenKey, store: Arc<SharedStore>) -> Self {
        Self::with_settings(key, store, RefreshSettings::default())
    }

    /// The handle on `key` in `store`: the same state as every other client's of that
    /// store in this process.
    pub(crate) fn with_settings(
        key: TokenKey,
        store: Arc<SharedStore>,
        settings: RefreshSettings,
    ) -> Self {
        TokenCache {
            state: store.key_state(&key),
            store,
            settings,
        }
    }

    pub(crate) fn store(&self) -> &Arc<SharedStore> {
        &self.store
    }

    pub(crate) fn key(&self) -> &TokenKey {
        &self.state.key
    }

    /// The local copy, when fresh and not `rejected`: what nearly every call takes, with
    /// no lock but the copy's read lock and no future.
    pub(crate) fn fresh(&self, rejected: Option<&str>) -> Option<Arc<str>> {
        self.state.fresh_local(rejected)
    }

    /// A usable token: the local copy if fresh, else the store's if fresh, else one
    /// obtained by `fetch`, run once for every caller waiting at that moment in this
    /// process (and, when the store has a lock, in every process sharing it).
    ///
    /// `rejected` is a token WeCom has just refused: it is never returned, even if a
    /// refresh that started earlier comes back with it.
    ///
    /// The refresh is a task of its own: dropping this future does not stop it. After a
    /// failed refresh, callers get its error (as [`Error::TokenRefreshBackoff`]) without a
    /// new request until a growing interval has passed.
    pub(crate) async fn get<F, Fut>(&self, fetch: F, rejected: Option<&str>) -> Result<Arc<str>>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Fetched>> + Send + 'static,
    {
        let state = &self.state;
        let mut fetch = Some(fetch);
        // Twice at most: a refresh joined that hands back `rejected`, then one that avoids it.
        let mut first = true;
        loop {
            let (flight, refresh) = {
                let mut slot = lock(&state.flight);
                if let Some(v) = state.fresh_local(rejected) {
                    return Ok(v);
                }
                let join = slot
                    .as_ref()
                    .filter(|f| first || (rejected.is_some() && f.avoid.as_deref() == rejected))
                    .cloned();
                match (join, fetch.take()) {
                    (Some(f), unused) => {
                        fetch = unused;
                        (f, None)
                    }
                    (None, Some(fetch)) => {
                        if let Some(err) = state.backing_off() {
                            return Err(err);
                        }
                        let (f, refresh) = self.refresh(fetch, rejected.map(Arc::from));
                        *slot = Some(f.clone());
                        (f, Some(refresh))
                    }
                    // Unreachable: the loop goes round only while `fetch` is unused.
                    (None, None) => return Err(Error::token_store("token refresh lost")),
                }
            };
            // Spawned with the slot free: a runtime shutting down drops the task at once,
            // and its end takes the slot's lock.
            if let Some(refresh) = refresh {
                tokio::spawn(refresh);
            }
            let cached = flight.outcome.await?;
            let handed_back_rejected = rejected.is_some_and(|r| &*cached.value == r)
                && flight.avoid.as_deref() != rejected;
            if !handed_back_rejected || !first || fetch.is_none() {
                return Ok(cached.value);
            }
            first = false;
        }
    }

    /// Drops `failed` from the local copy and the store, if it is still the current token.
    pub(crate) async fn invalidate(&self, failed: &str) {
        {
            let mut local = self
                .state
                .local
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if local.as_ref().is_some_and(|c| &*c.value == failed) {
                *local = None;
            }
        }
        let key = &self.state.key;
        let dropped = self.store.store.invalidate(key, failed).await;
        self.store.check(key, "invalidate", dropped);
    }

    /// A refresh to spawn, and the flight its callers wait on. Made with the flight slot
    /// held and put in it before the task runs, so that the task's end finds it there.
    fn refresh<F, Fut>(
        &self,
        fetch: F,
        avoid: Option<Arc<str>>,
    ) -> (Flight, impl Future<Output = ()> + Send + 'static)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Fetched>> + Send + 'static,
    {
        let id = self.state.next_flight.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let cache = self.clone();
        let avoid_in_task = avoid.clone();
        // Made here, not in the task: a task dropped before its first poll drops it too.
        let mut end = FlightEnd {
            cache: self.clone(),
            id,
            tx: Some(tx),
        };
        let task = async move {
            let budget = cache.settings.budget;
            let work = cache.obtain(fetch, avoid_in_task.as_deref());
            let outcome = match tokio::time::timeout(budget, work).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::Deadline {
                    endpoint: cache.key().kind().as_str().into(),
                    budget,
                    during: "while refreshing it (a refresh gets the client's deadline)",
                }),
            };
            end.finish(outcome);
        };
        let outcome = rx
            .map(|sent| {
                // `FlightEnd` always sends; this is only its absence.
                sent.unwrap_or_else(|_| {
                    Err(Error::token_store(
                        "the token refresh ended without a result",
                    ))
                })
            })
            .boxed()
            .shared();
        (Flight { id, avoid, outcome }, task)
    }

    /// The store's token if fresh; else the lock and a fetch; else, while another holds
    /// the lock, the token it stores. A failing store leaves a per-process fetch.
    async fn obtain<F, Fut>(&self, fetch: F, avoid: Option<&str>) -> Result<Cached>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched>>,
    {
        let store = &self.store.store;
        let key = self.key();
        let started = Instant::now();
        let timeout = store.lock_timeout();
        let mut pause = POLL_FIRST;
        loop {
            let Some(found) = self.shared_token(avoid).await else {
                return fetch_now(fetch).await;
            };
            if let Some(c) = found {
                return Ok(c);
            }
            let taken = store.try_lock(key).await;
            let Some(lease) = self.store.check(key, "try_lock", taken) else {
                return fetch_now(fetch).await;
            };
            match lease {
                Some(lease) => {
                    let guard = LeaseGuard {
                        cache: self.clone(),
                        lease: Some(lease.clone()),
                    };
                    let out = self.holding(&lease, self.fetch_locked(fetch, avoid)).await;
                    guard.release().await;
                    return out;
                }
                None if started.elapsed() >= timeout => {
                    tracing::warn!(
                        key = %key,
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

    /// Runs `work` while renewing `lease` every third of the store's lease, so that a
    /// refresh slower than the lease keeps the lock to the end.
    async fn holding<T>(&self, lease: &Lease, work: impl Future<Output = T>) -> T {
        let Some(every) = self.store.store.lock_lease().map(|l| l / 3) else {
            return work.await;
        };
        let every = every.max(Duration::from_millis(1));
        let key = self.key();
        let renew = async {
            loop {
                tokio::time::sleep(every).await;
                let renewed = self.store.store.renew_lock(key, lease).await;
                // A failing store is logged once; the next renewal tries again.
                if self.store.check(key, "renew_lock", renewed) == Some(false) {
                    tracing::warn!(
                        key = %key,
                        "token refresh lock lost before the refresh ended; another holder may fetch too"
                    );
                    return;
                }
            }
        };
        let work = std::pin::pin!(work);
        let renew = std::pin::pin!(renew);
        match futures::future::select(work, renew).await {
            futures::future::Either::Left((out, _)) => out,
            futures::future::Either::Right(((), work)) => work.await,
        }
    }

    /// `Some(fresh token or None)` from the store; `None` if the store failed. A token
    /// equal to `avoid` counts as none.
    async fn shared_token(&self, avoid: Option<&str>) -> Option<Option<Cached>> {
        let got = self.store.store.get(self.key()).await;
        let found = self.store.check(self.key(), "get", got)?;
        Some(
            found
                .filter(|t| avoid != Some(t.value()))
                .and_then(|t| Cached::from_token(t, now_unix())),
        )
    }

    async fn fetch_locked<F, Fut>(&self, fetch: F, avoid: Option<&str>) -> Result<Cached>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched>>,
    {
        // The previous holder may have stored a token between our read and our lock.
        match self.shared_token(avoid).await {
            Some(Some(c)) => Ok(c),
            _ => self.fetch_and_share(fetch).await,
        }
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
            .set(self.key(), Token::new(&*c.value, c.expires_at))
            .await;
        // The token itself is good; a store that is down only costs sharing.
        self.store.check(self.key(), "set", stored);
        Ok(c)
    }
}

/// Ends a refresh whatever ends its task: records its outcome (a task that panicked or
/// was dropped with its runtime counts as a failed refresh, so the next caller after the
/// backoff starts a new one), frees the key's slot, then hands the outcome to the callers
/// waiting (so that none of them finds the finished refresh still in the slot).
struct FlightEnd {
    cache: TokenCache,
    id: u64,
    /// Until the outcome is sent.
    tx: Option<oneshot::Sender<Result<Cached>>>,
}

impl FlightEnd {
    fn finish(&mut self, outcome: Result<Cached>) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        let state = &self.cache.state;
        if let Ok(c) = &outcome {
            state.set_local(c.clone());
        }
        state.record(&outcome, &self.cache.settings);
        {
            let mut slot = lock(&state.flight);
            if slot.as_ref().is_some_and(|f| f.id == self.id) {
                *slot = None;
            }
        }
        // No one may be waiting any more.
        let _ = tx.send(outcome);
    }
}

impl Drop for FlightEnd {
    fn drop(&mut self) {
        if self.tx.is_none() {
            return;
        }
        let how = if std::thread::panicking() {
            "panicked"
        } else {
            "was cancelled (its runtime shut down)"
        };
        tracing::warn!(key = %self.cache.key(), "token refresh {how}; counted as a failed refresh");
        self.finish(Err(Error::token_store(format!(
            "the token refresh task {how}"
        ))));
    }
}

/// Holds a store lock; releases it when done, or, if dropped first (the runtime shutting
/// down mid-refresh), from a task of its own, so other processes do not wait out the lease.
struct LeaseGuard {
    cache: TokenCache,
    lease: Option<Lease>,
}

impl LeaseGuard {
    async fn release(mut self) {
        if let Some(lease) = self.lease.take() {
            let c = &self.cache;
            let released = c.store.store.unlock(c.key(), &lease).await;
            c.store.check(c.key(), "unlock", released);
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        // A store that releases before its future is polled (`MemoryTokenStore`) is
        // released now, even if no runtime is left to run a task.
        let c = &self.cache;
        drop(c.store.store.unlock(c.key(), &lease));
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let cache = self.cache.clone();
        handle.spawn(async move {
            let released = cache.store.store.unlock(cache.key(), &lease).await;
            cache.store.check(cache.key(), "unlock", released);
        });
    }
}

async fn fetch_now<F, Fut>(fetch: F) -> Result<Cached>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Fetched>>,
{
    let now = now_unix();
    let started = Instant::now();
    let f = fetch().await?;
    let usable = Duration::from_secs(usable_secs(f.expires_in));
    Ok(Cached {
        value: Arc::from(f.value),
        expires_at: now.saturating_add(usable.as_secs()),
        // Counted from before the request, on the monotonic clock.
        fresh_until: instant_after(usable.saturating_sub(started.elapsed())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::token::{MemoryTokenStore, StoreFuture, TokenKind};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize};

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
                    .get(
                        move || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(Fetched {
                                value: "T1".into(),
                                expires_in: 7200,
                            })
                        },
                        None,
                    )
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(&*t.await.unwrap().unwrap(), "T1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn failure_is_shared_by_waiters_then_remembered_for_a_while() {
        let (cache, store) = cache();
        let cache = Arc::new(cache);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = Arc::clone(&cache);
            let calls = Arc::clone(&calls);
            tasks.push(tokio::spawn(async move {
                cache
                    .get(
                        move || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Err::<Fetched, _>(Error::api(
                                "token.get".into(),
                                40013,
                                "invalid corpid",
                            ))
                        },
                        None,
                    )
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap_err().errcode(), Some(40013));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(store.is_empty());
        // The next call gets the same failure, said to be remembered, without a request.
        let err = cache.get(ok("T2"), None).await.unwrap_err();
        assert!(
            matches!(err, Error::TokenRefreshBackoff { failures: 1, .. }),
            "{err:?}"
        );
        assert_eq!(err.errcode(), Some(40013));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidate_only_drops_the_failed_token() {
        let (cache, store) = cache();
        assert_eq!(&*cache.get(ok("T1"), None).await.unwrap(), "T1");
        // A stale failure report does not drop the current token.
        cache.invalidate("T0").await;
        assert_eq!(&*cache.get(ok("never"), None).await.unwrap(), "T1");
        cache.invalidate("T1").await;
        assert!(store.is_empty());
        assert_eq!(&*cache.get(ok("T2"), None).await.unwrap(), "T2");
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
            .get(
                || async { Err::<Fetched, _>(Error::crypto("must not fetch")) },
                None,
            )
            .await
            .unwrap();
        assert_eq!(&*got, "SHARED");
        // A stale one is replaced (another store: this one's clients now hold SHARED).
        let other = MemoryTokenStore::new();
        other.set(&key(), Token::new("OLD", 1)).await.unwrap();
        let cache2 = TokenCache::new(key(), shared(other.clone()));
        assert_eq!(&*cache2.get(ok("NEW"), None).await.unwrap(), "NEW");
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
            .get(
                || async { Err::<Fetched, _>(Error::crypto("must not fetch")) },
                None,
            )
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
        assert_eq!(&*cache.get(ok("MINE"), None).await.unwrap(), "MINE");
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
            .get(
                || async { Err::<Fetched, _>(Error::api("t".into(), 40013, "bad")) },
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40013));
        assert_eq!(store.unlocked.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn lock_never_released_means_fetching_after_the_timeout() {
        let store = Arc::new(Contended::default());
        let cache = TokenCache::new(key(), shared(Arc::clone(&store)));
        assert_eq!(&*cache.get(ok("LATE"), None).await.unwrap(), "LATE");
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
        assert_eq!(&*cache.get(ok("LOCAL"), None).await.unwrap(), "LOCAL");
        // Served locally from now on: the next call does not fetch.
        let again = cache
            .get(
                || async { Err::<Fetched, _>(Error::crypto("must not fetch")) },
                None,
            )
            .await
            .unwrap();
        assert_eq!(&*again, "LOCAL");
        // The lock is not even tried once the store failed a read.
        assert_eq!(store.lock_attempts.load(Ordering::SeqCst), 0);
        assert!(shared_store.state.failing.load(Ordering::SeqCst));
    }

    /// A store whose reads take a while and return what was there when they began: a
    /// refresh reading it can come back with a token invalidated meanwhile.
    #[derive(Debug, Default)]
    struct SlowReads {
        inner: MemoryTokenStore,
    }

    impl TokenStore for SlowReads {
        fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
            let snapshot = self.inner.map.read().unwrap().get(key).cloned();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(snapshot)
            })
        }
        fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()> {
            self.inner.set(key, token)
        }
        fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()> {
            self.inner.invalidate(key, value)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rejected_token_is_not_handed_back_by_a_refresh_already_running() {
        let store = Arc::new(SlowReads::default());
        store
            .set(&key(), Token::new("REJECTED", now_unix() + 1000))
            .await
            .unwrap();
        let cache = Arc::new(TokenCache::new(key(), shared(Arc::clone(&store))));
        // A refresh starts and reads the store (slowly): it will find REJECTED.
        let early = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get(ok("FRESH"), None).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Meanwhile WeCom rejects REJECTED: the caller drops it and asks again.
        cache.invalidate("REJECTED").await;
        let got = cache.get(ok("FRESH"), Some("REJECTED")).await.unwrap();
        assert_eq!(&*got, "FRESH");
        // The caller that knew nothing of the rejection gets what its refresh found.
        assert_eq!(&*early.await.unwrap().unwrap(), "REJECTED");
        // From now on the fresh one is served.
        assert_eq!(&*cache.get(ok("never"), None).await.unwrap(), "FRESH");
    }

    #[tokio::test]
    async fn a_dropped_caller_does_not_cancel_the_refresh_and_the_lock_is_released() {
        let store = Arc::new(Contended {
            grant: true,
            ..Contended::default()
        });
        let cache = Arc::new(TokenCache::new(key(), shared(Arc::clone(&store))));
        let calls = Arc::new(AtomicUsize::new(0));
        let slow = {
            let calls = Arc::clone(&calls);
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(Fetched {
                    value: "SLOW".into(),
                    expires_in: 7200,
                })
            }
        };
        let dropped = tokio::time::timeout(Duration::from_millis(50), cache.get(slow, None)).await;
        assert!(dropped.is_err());
        // The refresh goes on without its caller: the next caller gets its token.
        let got = cache
            .get(
                || async { Err::<Fetched, _>(Error::crypto("must not fetch")) },
                None,
            )
            .await
            .unwrap();
        assert_eq!(&*got, "SLOW");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(*store.unlocked.lock().unwrap(), [Lease::new("mine")]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn caches_over_clones_of_one_store_share_one_refresh() {
        let store = MemoryTokenStore::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            // A handle of its own each time, as a client made per request has.
            let cache = TokenCache::new(key(), shared(store.clone()));
            let calls = Arc::clone(&calls);
            tasks.push(tokio::spawn(async move {
                cache
                    .get(
                        move || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(Fetched {
                                value: "ONE".into(),
                                expires_in: 7200,
                            })
                        },
                        None,
                    )
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(&*t.await.unwrap().unwrap(), "ONE");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another store with the same key is on its own.
        let other = TokenCache::new(key(), shared(MemoryTokenStore::new()));
        assert_eq!(&*other.get(ok("TWO"), None).await.unwrap(), "TWO");
    }

    #[tokio::test]
    async fn a_remembered_failure_is_shared_by_every_handle_on_the_key() {
        let store = MemoryTokenStore::new();
        let first = TokenCache::new(key(), shared(store.clone()));
        let failing = || async { Err::<Fetched, _>(Error::api("t".into(), 40001, "bad secret")) };
        assert_eq!(
            first.get(failing, None).await.unwrap_err().errcode(),
            Some(40001)
        );
        drop(first);
        // A new handle (a client made for the next request) still backs off.
        let next = TokenCache::new(key(), shared(store.clone()));
        let err = next.get(ok("never"), None).await.unwrap_err();
        assert!(matches!(err, Error::TokenRefreshBackoff { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn keys_nobody_uses_any_more_are_swept() {
        let shared_store = shared(MemoryTokenStore::new());
        let failing = || async { Err::<Fetched, _>(Error::crypto("down")) };
        let settings = RefreshSettings {
            backoff_first: Duration::ZERO,
            backoff_max: Duration::ZERO,
            ..RefreshSettings::default()
        };
        for i in 0..KEYS_SWEPT_FROM * 4 {
            let k = TokenKey::new(TokenKind::AccessToken, format!("corp{i}"), SECRET);
            let cache = TokenCache::with_settings(k, Arc::clone(&shared_store), settings);
            // Nothing worth keeping: no token, no failure remembered (no backoff).
            assert!(cache.get(failing, None).await.is_err());
        }
        assert!(
            shared_store.keys_held() <= KEYS_SWEPT_FROM,
            "{} keys held",
            shared_store.keys_held()
        );
        // A key still held by a client, or holding a fresh token, stays.
        let kept = TokenCache::new(key(), Arc::clone(&shared_store));
        assert_eq!(&*kept.get(ok("KEPT"), None).await.unwrap(), "KEPT");
        drop(kept);
        for i in 0..KEYS_SWEPT_FROM * 4 {
            let k = TokenKey::new(TokenKind::JsapiTicket, format!("corp{i}"), SECRET);
            let cache = TokenCache::with_settings(k, Arc::clone(&shared_store), settings);
            assert!(cache.get(failing, None).await.is_err());
        }
        let again = TokenCache::new(key(), Arc::clone(&shared_store));
        let got = again
            .get(
                || async { Err::<Fetched, _>(Error::crypto("must not fetch")) },
                None,
            )
            .await
            .unwrap();
        assert_eq!(&*got, "KEPT");
    }

    /// A store that panics on its first read, then works.
    #[derive(Debug, Default)]
    struct PanicsOnce {
        inner: MemoryTokenStore,
        panicked: AtomicBool,
    }

    impl TokenStore for PanicsOnce {
        fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
            assert!(
                self.panicked.swap(true, Ordering::SeqCst),
                "store bug (the first read panics)"
            );
            self.inner.get(key)
        }
        fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()> {
            self.inner.set(key, token)
        }
        fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()> {
            self.inner.invalidate(key, value)
        }
    }

    fn quick_backoff() -> RefreshSettings {
        RefreshSettings {
            backoff_first: Duration::from_millis(100),
            backoff_max: Duration::from_millis(100),
            ..RefreshSettings::default()
        }
    }

    #[tokio::test]
    async fn a_refresh_that_panics_counts_as_a_failed_one() {
        let cache =
            TokenCache::with_settings(key(), shared(PanicsOnce::default()), quick_backoff());
        let err = cache.get(ok("never"), None).await.unwrap_err();
        assert!(err.to_string().contains("panicked"), "{err}");
        // Remembered like a failure: no new refresh until the backoff is over.
        let err = cache.get(ok("never"), None).await.unwrap_err();
        assert!(
            matches!(err, Error::TokenRefreshBackoff { failures: 1, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("panicked"), "{err}");
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(&*cache.get(ok("AFTER"), None).await.unwrap(), "AFTER");
    }

    #[test]
    fn a_refresh_whose_runtime_shuts_down_counts_as_a_failed_one() {
        let store = MemoryTokenStore::new();
        let cache = Arc::new(TokenCache::with_settings(
            key(),
            shared(store.clone()),
            quick_backoff(),
        ));
        let started = Arc::new(AtomicBool::new(false));
        let first = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        {
            let (cache, started) = (Arc::clone(&cache), Arc::clone(&started));
            first.spawn(async move {
                let slow = move || async move {
                    started.store(true, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(Fetched {
                        value: "NEVER".into(),
                        expires_in: 7200,
                    })
                };
                cache.get(slow, None).await
            });
        }
        while !started.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(first);
        // Its store lock is released with it, not left to run out.
        assert!(store.locks().get(&key()).is_none());
        let second = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        second.block_on(async {
            let err = cache.get(ok("never"), None).await.unwrap_err();
            assert!(
                matches!(err, Error::TokenRefreshBackoff { failures: 1, .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains("cancelled"), "{err}");
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_eq!(&*cache.get(ok("AFTER"), None).await.unwrap(), "AFTER");
        });
    }

    #[test]
    fn a_refresh_started_on_a_runtime_already_shut_down_fails_without_hanging() {
        let cache =
            TokenCache::with_settings(key(), shared(MemoryTokenStore::new()), quick_backoff());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let handle = runtime.handle().clone();
        runtime.shutdown_background();
        // The task is dropped as it is spawned: the refresh ends there, as a failure.
        let err = handle.block_on(cache.get(ok("never"), None)).unwrap_err();
        assert!(err.to_string().contains("cancelled"), "{err}");
        let err = handle.block_on(cache.get(ok("never"), None)).unwrap_err();
        assert!(matches!(err, Error::TokenRefreshBackoff { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn the_lock_is_renewed_while_a_slow_refresh_runs() {
        let store = MemoryTokenStore::new().with_lock_lease(Duration::from_millis(60));
        let cache = Arc::new(TokenCache::new(key(), shared(store.clone())));
        let slow = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                let fetch = || async {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    Ok(Fetched {
                        value: "SLOW".into(),
                        expires_in: 7200,
                    })
                };
                cache.get(fetch, None).await
            })
        };
        // Long past the 60 ms lease, the refresh still holds the lock.
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(store.try_lock(&key()).await.unwrap().is_none());
        }
        assert_eq!(&*slow.await.unwrap().unwrap(), "SLOW");
        // Released at the end.
        assert!(store.try_lock(&key()).await.unwrap().is_some());
    }

    #[test]
    fn instants_never_overflow() {
        let far = instant_after(Duration::MAX);
        assert!(far > Instant::now());
        let t = Token::new("T", u64::MAX);
        assert!(Cached::from_token(t, now_unix()).is_some());
        assert!(Cached::from_token(Token::new("T", 5), 10).is_none());
    }
}
