//! Access tokens (and, later, JS-SDK tickets): storage and the single-flight cache.
//!
//! A [`TokenStore`] keeps tokens under a [`TokenKey`]; [`MemoryTokenStore`] is the default,
//! and a shared store (e.g. Redis) lets many processes use one token. In front of the store
//! each [`Client`](crate::Client) keeps a local copy, so a call with a fresh token touches
//! neither the store nor a lock beyond a brief read, and refreshes happen through exactly
//! one request however many calls wait for them.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::redact::MASK;

/// Future returned by [`TokenStore`] methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Refresh this long before WeCom's expiry (capped at half the lifetime).
const REFRESH_MARGIN_SECS: u64 = 300;

/// What a stored value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// `access_token` from `/cgi-bin/gettoken`.
    AccessToken,
    /// Corp JS-SDK ticket (`/cgi-bin/get_jsapi_ticket`).
    JsapiTicket,
    /// App JS-SDK ticket (`/cgi-bin/ticket/get?type=agent_config`).
    AgentTicket,
}

impl TokenKind {
    /// Short stable name, used in storage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "access_token",
            TokenKind::JsapiTicket => "jsapi_ticket",
            TokenKind::AgentTicket => "agent_ticket",
        }
    }
}

/// Identifies one token: its kind, the corp, and a fingerprint of the secret it was
/// issued for (each secret has its own token). The secret itself is never kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    kind: TokenKind,
    corp_id: String,
    fingerprint: String,
}

impl TokenKey {
    /// Key for `kind` of `corp_id` and `secret`. The secret is hashed (SHA-256, truncated)
    /// into a fingerprint that identifies it without revealing it.
    pub fn new(kind: TokenKind, corp_id: impl Into<String>, secret: &str) -> Self {
        let corp_id = corp_id.into();
        let fingerprint = fingerprint(&corp_id, secret);
        TokenKey {
            kind,
            corp_id,
            fingerprint,
        }
    }

    /// Same key for another kind (a ticket obtained with this key's token).
    pub fn with_kind(&self, kind: TokenKind) -> Self {
        TokenKey {
            kind,
            ..self.clone()
        }
    }

    /// The kind.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The corp id.
    pub fn corp_id(&self) -> &str {
        &self.corp_id
    }

    /// Hex fingerprint of the secret (32 characters).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A flat string for key-value stores: `wecom:<kind>:<corp_id>:<fingerprint>`.
    pub fn storage_key(&self) -> String {
        format!(
            "wecom:{}:{}:{}",
            self.kind.as_str(),
            self.corp_id,
            self.fingerprint
        )
    }
}

impl fmt::Display for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.storage_key())
    }
}

fn fingerprint(corp_id: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    // Domain separation, so the digest is useless as a plain SHA-256 of the secret.
    h.update(b"wecom-api token key v1\0");
    h.update(corp_id.as_bytes());
    h.update(b"\0");
    h.update(secret.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(32);
    for b in &digest[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A token value and the unix time (seconds) from which it must no longer be used. The
/// refresh margin is already subtracted, so a store may simply expire it at `expires_at`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    value: String,
    expires_at: u64,
}

impl Token {
    /// A token usable until `expires_at` (unix seconds).
    pub fn new(value: impl Into<String>, expires_at: u64) -> Self {
        Token {
            value: value.into(),
            expires_at,
        }
    }

    /// The secret value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Unix seconds from which the token is stale.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Whether the token may still be used at unix time `now`.
    pub fn is_valid_at(&self, now: u64) -> bool {
        now < self.expires_at
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &MASK)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where tokens live between calls. Implement it to share tokens between processes.
///
/// Methods return boxed futures so the trait stays object-safe. Implementations must not
/// print token values in their `Debug` output or errors.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The token stored under `key`, if any (stale ones may be returned; callers check
    /// [`Token::expires_at`]).
    fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>>;

    /// Stores `token` under `key`, replacing what was there.
    fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()>;

    /// Removes the token under `key` only if its value is still `value`, so that many
    /// calls failing with the same old token do not each throw away a fresh one.
    fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()>;
}

impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
        (**self).get(key)
    }
    fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()> {
        (**self).set(key, token)
    }
    fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()> {
        (**self).invalidate(key, value)
    }
}

/// In-process [`TokenStore`]. Clones share the same map, so one store can serve several
/// clients.
#[derive(Clone, Default)]
pub struct MemoryTokenStore {
    map: Arc<RwLock<HashMap<TokenKey, Token>>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored tokens (fresh or not).
    pub fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTokenStore")
            .field("entries", &self.len())
            .finish()
    }
}

impl TokenStore for MemoryTokenStore {
    fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
        let found = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()> {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), token);
        Box::pin(async { Ok(()) })
    }

    fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.get(key).is_some_and(|t| t.value == value) {
            map.remove(key);
        }
        drop(map);
        Box::pin(async { Ok(()) })
    }
}

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

/// A token freshly obtained from WeCom.
pub(crate) struct Fetched {
    pub(crate) value: String,
    pub(crate) expires_in: i64,
}

#[derive(Clone)]
struct Cached {
    value: Arc<str>,
    expires_at: u64,
}

/// Local copy plus single-flight refresh in front of a [`TokenStore`], for one key.
pub(crate) struct TokenCache {
    key: TokenKey,
    store: Arc<dyn TokenStore>,
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
    pub(crate) fn new(key: TokenKey, store: Arc<dyn TokenStore>) -> Self {
        TokenCache {
            key,
            store,
            local: RwLock::new(None),
            flight: tokio::sync::Mutex::new(None),
            completed: AtomicU64::new(0),
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn TokenStore> {
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
    /// obtained by `fetch`, run by exactly one of the callers waiting at that moment.
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
        let now = now_unix();
        if let Some(v) = self.fresh_local(now) {
            return Ok(v);
        }
        if let Some(t) = self.store.get(&self.key).await? {
            if t.is_valid_at(now) {
                let cached = Cached {
                    value: Arc::from(t.value),
                    expires_at: t.expires_at,
                };
                self.set_local(cached.clone());
                return Ok(cached.value);
            }
        }

        let outcome = fetch().await.map(|f| Cached {
            value: Arc::from(f.value),
            expires_at: usable_until(now, f.expires_in),
        });
        if let Ok(c) = &outcome {
            let token = Token::new(&*c.value, c.expires_at);
            if let Err(e) = self.store.set(&self.key, token).await {
                // The token itself is good; a shared store that is down only costs sharing.
                tracing::warn!(key = %self.key, error = %e, "token store set failed");
            }
            self.set_local(c.clone());
        }
        *last = Some(outcome.clone());
        self.completed.fetch_add(1, Ordering::Release);
        outcome.map(|c| c.value)
    }

    /// Drops `failed` from the local copy and the store, if it is still the current token.
    pub(crate) async fn invalidate(&self, failed: &str) {
        {
            let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
            if local.as_ref().is_some_and(|c| &*c.value == failed) {
                *local = None;
            }
        }
        if let Err(e) = self.store.invalidate(&self.key, failed).await {
            tracing::warn!(key = %self.key, error = %e, "token store invalidate failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    const SECRET: &str = "S3cr3t-very-secret-value";

    fn key() -> TokenKey {
        TokenKey::new(TokenKind::AccessToken, "wwcorp", SECRET)
    }

    #[test]
    fn key_hides_the_secret() {
        let k = key();
        assert_eq!(k.fingerprint().len(), 32);
        for shown in [format!("{k}"), format!("{k:?}"), k.storage_key()] {
            assert!(!shown.contains(SECRET), "{shown}");
        }
        assert!(k.storage_key().starts_with("wecom:access_token:wwcorp:"));
        assert_eq!(k, key());
        assert_ne!(k, TokenKey::new(TokenKind::AccessToken, "wwcorp", "other"));
        assert_ne!(k, k.with_kind(TokenKind::JsapiTicket));
        assert_eq!(
            k.with_kind(TokenKind::AgentTicket).fingerprint(),
            k.fingerprint()
        );
    }

    #[test]
    fn token_debug_hides_value() {
        let t = Token::new("TOKVALUE", 10);
        assert!(!format!("{t:?}").contains("TOKVALUE"));
        assert!(t.is_valid_at(9));
        assert!(!t.is_valid_at(10));
    }

    #[test]
    fn refresh_margin() {
        assert_eq!(usable_until(1000, 7200), 1000 + 7200 - 300);
        assert_eq!(usable_until(1000, 400), 1000 + 200);
        assert_eq!(usable_until(1000, 1), 1001);
        assert_eq!(usable_until(1000, 0), 1000);
        assert_eq!(usable_until(1000, -5), 1000);
    }

    #[tokio::test]
    async fn memory_store_compare_and_invalidate() {
        let store = MemoryTokenStore::new();
        let k = key();
        assert!(store.get(&k).await.unwrap().is_none());
        store.set(&k, Token::new("A", u64::MAX)).await.unwrap();
        store.invalidate(&k, "B").await.unwrap();
        assert_eq!(store.get(&k).await.unwrap().unwrap().value(), "A");
        store.invalidate(&k, "A").await.unwrap();
        assert!(store.get(&k).await.unwrap().is_none());
        assert!(store.is_empty());
        assert_eq!(format!("{store:?}"), "MemoryTokenStore { entries: 0 }");
    }

    fn cache() -> (TokenCache, MemoryTokenStore) {
        let store = MemoryTokenStore::new();
        (TokenCache::new(key(), Arc::new(store.clone())), store)
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
        let v = cache
            .get(|| async {
                Ok(Fetched {
                    value: "T2".into(),
                    expires_in: 7200,
                })
            })
            .await
            .unwrap();
        assert_eq!(&*v, "T2");
    }

    #[tokio::test]
    async fn invalidate_only_drops_the_failed_token() {
        let (cache, store) = cache();
        let fetch = |v: &'static str| {
            move || async move {
                Ok(Fetched {
                    value: v.into(),
                    expires_in: 7200,
                })
            }
        };
        assert_eq!(&*cache.get(fetch("T1")).await.unwrap(), "T1");
        // A stale failure report does not drop the current token.
        cache.invalidate("T0").await;
        assert_eq!(&*cache.get(fetch("never")).await.unwrap(), "T1");
        cache.invalidate("T1").await;
        assert!(store.is_empty());
        assert_eq!(&*cache.get(fetch("T2")).await.unwrap(), "T2");
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
        let cache2 = TokenCache::new(key(), Arc::new(store.clone()));
        let got = cache2
            .get(|| async {
                Ok(Fetched {
                    value: "NEW".into(),
                    expires_in: 7200,
                })
            })
            .await
            .unwrap();
        assert_eq!(&*got, "NEW");
    }
}
