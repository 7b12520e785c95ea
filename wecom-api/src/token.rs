//! Access tokens and JS-SDK tickets: where they are stored, and the refresh lock.
//!
//! A [`TokenStore`] keeps tokens under a [`TokenKey`] (kind, corp, fingerprint of the
//! secret). [`MemoryTokenStore`] is the default; a shared store lets many processes use
//! one token: `RedisTokenStore` (cargo feature `redis`), or your own (a database, a
//! central token service) implementing the trait.
//!
//! In front of the store, every client of a process that uses the same store (clones of
//! one [`MemoryTokenStore`] or `RedisTokenStore`, or of your own store keeping a
//! [`RefreshState`]; see [`TokenStore::refresh_state`]) shares, per [`TokenKey`], a local
//! copy, the refresh in progress and the memory of a failed refresh. So a call with a
//! fresh token touches neither the store nor a lock beyond a brief read, and clients made
//! per request cost no extra request to WeCom. A refresh is made by exactly one caller: one per key in the
//! process (an in-process single flight), and one across processes when the store offers
//! a lock ([`TokenStore::try_lock`]); the others wait and read what it stored. If the
//! store fails, calls go on with a per-process token and the failure is logged once, not
//! per call.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::redact::MASK;

mod cache;
#[cfg(feature = "redis")]
mod redis;

pub(crate) use cache::{
    FAILURE_BACKOFF_FIRST, FAILURE_BACKOFF_MAX, Fetched, RefreshSettings, SharedStore, TokenCache,
    instant_after, now_unix,
};
#[cfg(feature = "redis")]
pub use redis::RedisTokenStore;

/// Future returned by [`TokenStore`] methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// How long a caller waits, by default, for another process's refresh before fetching
/// by itself.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a refresh lock lasts by default unless its holder renews or releases it: a
/// holder that dies blocks the others for no longer than this. A live holder renews it
/// every third of it while its refresh runs, however long that takes.
pub const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(10);

/// What the clients of one store share in this process: per [`TokenKey`], the local copy
/// of the token, the refresh in progress and a failed refresh being remembered. A store
/// whose clones share their tokens makes one with [`RefreshState::new`], keeps it, and
/// hands out clones of it from [`TokenStore::refresh_state`]; it lives as long as the
/// store (any clone of it) or a client using it. Its `Debug` shows nothing of the tokens.
#[derive(Clone, Default)]
pub struct RefreshState(Arc<cache::StoreState>);

impl RefreshState {
    /// A new state, shared with no one yet.
    pub fn new() -> RefreshState {
        RefreshState::default()
    }

    /// Whether `self` and `other` are the same state (clones of one).
    pub fn same_as(&self, other: &RefreshState) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for RefreshState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshState")
    }
}

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
    /// A third-party app's `suite_access_token` (`/cgi-bin/service/get_suite_token`).
    SuiteAccessToken,
    /// The `suite_ticket` WeCom pushes to a suite's callback URL every ten minutes.
    SuiteTicket,
    /// A service provider's `provider_access_token` (`/cgi-bin/service/get_provider_token`).
    ProviderAccessToken,
    /// A hardware model's `model_access_token` (`/cgi-bin/openhw/get_model_token`).
    ModelAccessToken,
    /// The `model_ticket` WeCom pushes for a hardware model every ten minutes.
    ModelTicket,
    /// A hardware device's `device_access_token` (`/cgi-bin/openhw/get_device_token`).
    DeviceAccessToken,
}

impl TokenKind {
    /// Short stable name, used in storage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "access_token",
            TokenKind::JsapiTicket => "jsapi_ticket",
            TokenKind::AgentTicket => "agent_ticket",
            TokenKind::SuiteAccessToken => "suite_access_token",
            TokenKind::SuiteTicket => "suite_ticket",
            TokenKind::ProviderAccessToken => "provider_access_token",
            TokenKind::ModelAccessToken => "model_access_token",
            TokenKind::ModelTicket => "model_ticket",
            TokenKind::DeviceAccessToken => "device_access_token",
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

/// Proof of holding a store's refresh lock for one key, handed back to
/// [`TokenStore::unlock`]. Its id tells holders apart, so a holder whose lease ran out
/// cannot release the lock another has taken since.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    id: String,
}

impl Lease {
    /// A lease with this id.
    pub fn new(id: impl Into<String>) -> Self {
        Lease { id: id.into() }
    }

    /// A lease with a fresh random id (128 bits, hex).
    pub fn random() -> Self {
        let bits: u128 = rand::random();
        Lease {
            id: format!("{bits:032x}"),
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Lease").field(&self.id).finish()
    }
}

/// Where tokens live between calls. Implement it to share tokens between processes.
///
/// `get`, `set` and `invalidate` are required. A store shared by several processes should
/// also implement [`try_lock`](Self::try_lock) and [`unlock`](Self::unlock), so that only
/// one of them asks WeCom when a token is missing or about to expire; the defaults grant
/// every lock (right for a store used by one process, which the client's in-process single
/// flight already covers).
///
/// Clients share their refreshes per key only with clients whose store answers the same
/// [`refresh_state`](Self::refresh_state): give one store to several builders as clones
/// of it, and have a store of your own keep a [`RefreshState`].
///
/// Methods return boxed futures so the trait stays object-safe. Implementations must not
/// print token values in their `Debug` output or errors, nor put secrets in their keys
/// (use [`TokenKey::storage_key`], which holds a fingerprint of the secret, not the secret).
///
/// An error from any method does not fail the call that needed the token: the client
/// goes on with a token of its own process and logs the store's failure once.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The token stored under `key`, if any (stale ones may be returned; callers check
    /// [`Token::expires_at`]).
    fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>>;

    /// Stores `token` under `key`, replacing what was there.
    fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()>;

    /// Removes the token under `key` only if its value is still `value`, so that many
    /// calls failing with the same old token do not each throw away a fresh one.
    fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()>;

    /// Stores `token` unless the one under `key` expires later; returns whether it was
    /// stored. Pushed tickets use it: WeCom resends a push that was not acknowledged, so an
    /// older ticket can arrive after a newer one, and the newest must win in every process.
    ///
    /// The default reads, then writes: right for a store used by one process at a time.
    /// A shared store should do it atomically (`RedisTokenStore` runs a script).
    fn set_if_newer<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if let Some(held) = self.get(key).await?
                && held.expires_at > token.expires_at
            {
                return Ok(false);
            }
            self.set(key, token).await?;
            Ok(true)
        })
    }

    /// Tries to take the lock that lets one caller, across every process sharing this
    /// store, refresh `key`. `Some(lease)`: taken; the caller fetches, stores, then calls
    /// [`unlock`](Self::unlock). `None`: someone else holds it; the caller waits, reading
    /// the store again, for at most [`lock_timeout`](Self::lock_timeout).
    ///
    /// The lock must expire by itself (a lease), so that a holder that dies does not block
    /// the others for longer than that. The default grants it at once.
    fn try_lock<'a>(&'a self, _key: &'a TokenKey) -> StoreFuture<'a, Option<Lease>> {
        Box::pin(async { Ok(Some(Lease::new("local"))) })
    }

    /// Releases the lock on `key` if `lease` still holds it. The default does nothing.
    fn unlock<'a>(&'a self, _key: &'a TokenKey, _lease: &'a Lease) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Extends the lock on `key` by a whole [`lock_lease`](Self::lock_lease) if `lease`
    /// still holds it; returns whether it does. The holder calls it every third of the
    /// lease while its refresh runs, so that a slow issuer does not let another holder in.
    /// The default answers `true`.
    fn renew_lock<'a>(&'a self, _key: &'a TokenKey, _lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async { Ok(true) })
    }

    /// How long a lock lasts unless renewed or released; `None` (the default): it needs
    /// no renewal.
    fn lock_lease(&self) -> Option<Duration> {
        None
    }

    /// How long a caller waits for another holder's refresh before fetching a token by
    /// itself (default [`DEFAULT_LOCK_TIMEOUT`]).
    fn lock_timeout(&self) -> Duration {
        DEFAULT_LOCK_TIMEOUT
    }

    /// What clients of this store share in this process, the same for all its clones (see
    /// [`RefreshState`]): clients given clones of the store then refresh each key once.
    /// `None` (the default): each client builder's store is on its own, and only the
    /// store's lock keeps their refreshes apart.
    ///
    /// ```
    /// # use wecom_api::token::*;
    /// #[derive(Debug, Clone, Default)]
    /// struct MyStore {
    ///     refresh: RefreshState, // made once; clones of the store share it
    ///     // ... the connection to where the tokens live
    /// }
    /// impl TokenStore for MyStore {
    /// #   fn get<'a>(&'a self, _: &'a TokenKey) -> StoreFuture<'a, Option<Token>> { Box::pin(async { Ok(None) }) }
    /// #   fn set<'a>(&'a self, _: &'a TokenKey, _: Token) -> StoreFuture<'a, ()> { Box::pin(async { Ok(()) }) }
    /// #   fn invalidate<'a>(&'a self, _: &'a TokenKey, _: &'a str) -> StoreFuture<'a, ()> { Box::pin(async { Ok(()) }) }
    ///     // get, set, invalidate ...
    ///     fn refresh_state(&self) -> Option<RefreshState> {
    ///         Some(self.refresh.clone())
    ///     }
    /// }
    /// ```
    fn refresh_state(&self) -> Option<RefreshState> {
        None
    }
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
    fn set_if_newer<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, bool> {
        (**self).set_if_newer(key, token)
    }
    fn try_lock<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Lease>> {
        (**self).try_lock(key)
    }
    fn unlock<'a>(&'a self, key: &'a TokenKey, lease: &'a Lease) -> StoreFuture<'a, ()> {
        (**self).unlock(key, lease)
    }
    fn renew_lock<'a>(&'a self, key: &'a TokenKey, lease: &'a Lease) -> StoreFuture<'a, bool> {
        (**self).renew_lock(key, lease)
    }
    fn lock_lease(&self) -> Option<Duration> {
        (**self).lock_lease()
    }
    fn lock_timeout(&self) -> Duration {
        (**self).lock_timeout()
    }
    fn refresh_state(&self) -> Option<RefreshState> {
        (**self).refresh_state()
    }
}

/// In-process [`TokenStore`]. Clones share the same tokens, locks and
/// [`RefreshState`], so one store serves several clients: give
/// each builder a clone and they share one token (and one refresh) per key.
///
/// ```
/// let store = wecom_api::MemoryTokenStore::new();
/// let app = wecom_api::Client::builder()
///     .corp_id("ww0123456789abcdef")
///     .secret("app-secret")
///     .token_store(store.clone())
///     .build()?;
/// // Made again, per request say: the same token, refreshed once for both.
/// let again = wecom_api::Client::builder()
///     .corp_id("ww0123456789abcdef")
///     .secret("app-secret")
///     .token_store(store.clone())
///     .build()?;
/// # let _ = (app, again);
/// # Ok::<(), wecom_api::Error>(())
/// ```
///
/// Its refresh lock is a lease per key, like `RedisTokenStore`'s: released only by its
/// holder, expiring after [`with_lock_lease`](Self::with_lock_lease) unless renewed.
#[derive(Clone)]
pub struct MemoryTokenStore {
    map: Arc<RwLock<HashMap<TokenKey, Token>>>,
    locks: Arc<Mutex<HashMap<TokenKey, Held>>>,
    refresh: RefreshState,
    lease: Duration,
    lock_timeout: Duration,
}

/// A lock on one key: the holder's lease id and when it runs out.
struct Held {
    lease: Lease,
    until: Instant,
}

/// Locks kept before expired ones are swept on the next `try_lock`.
const LOCKS_SWEPT_ABOVE: usize = 64;

impl Default for MemoryTokenStore {
    fn default() -> Self {
        MemoryTokenStore {
            map: Arc::default(),
            locks: Arc::default(),
            refresh: RefreshState::new(),
            lease: DEFAULT_LOCK_LEASE,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a refresh lock lasts unless renewed or released (default 10 s).
    pub fn with_lock_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// How long a caller waits for another holder's refresh before fetching by itself
    /// (default 30 s).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
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

    fn locks(&self) -> std::sync::MutexGuard<'_, HashMap<TokenKey, Held>> {
        self.locks.lock().unwrap_or_else(PoisonError::into_inner)
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

    fn set_if_newer<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, bool> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let newer = map
            .get(key)
            .is_none_or(|held| held.expires_at <= token.expires_at);
        if newer {
            map.insert(key.clone(), token);
        }
        drop(map);
        Box::pin(async move { Ok(newer) })
    }

    fn try_lock<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Lease>> {
        let now = Instant::now();
        let mut locks = self.locks();
        if locks.len() > LOCKS_SWEPT_ABOVE {
            locks.retain(|_, held| held.until > now);
        }
        let taken = match locks.get(key) {
            Some(held) if held.until > now => None,
            _ => {
                let lease = Lease::random();
                let until = instant_after(self.lease);
                locks.insert(
                    key.clone(),
                    Held {
                        lease: lease.clone(),
                        until,
                    },
                );
                Some(lease)
            }
        };
        drop(locks);
        Box::pin(async move { Ok(taken) })
    }

    fn unlock<'a>(&'a self, key: &'a TokenKey, lease: &'a Lease) -> StoreFuture<'a, ()> {
        let mut locks = self.locks();
        if locks.get(key).is_some_and(|held| held.lease == *lease) {
            locks.remove(key);
        }
        drop(locks);
        Box::pin(async { Ok(()) })
    }

    fn renew_lock<'a>(&'a self, key: &'a TokenKey, lease: &'a Lease) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        let mut locks = self.locks();
        let renewed = match locks.get_mut(key) {
            Some(held) if held.lease == *lease && held.until > now => {
                held.until = instant_after(self.lease);
                true
            }
            _ => false,
        };
        drop(locks);
        Box::pin(async move { Ok(renewed) })
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn newest_ticket_wins_in_memory_and_through_the_default() {
        #[derive(Debug, Default)]
        struct PlainStore(MemoryTokenStore);
        impl TokenStore for PlainStore {
            fn get<'a>(&'a self, k: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
                self.0.get(k)
            }
            fn set<'a>(&'a self, k: &'a TokenKey, t: Token) -> StoreFuture<'a, ()> {
                self.0.set(k, t)
            }
            fn invalidate<'a>(&'a self, k: &'a TokenKey, v: &'a str) -> StoreFuture<'a, ()> {
                self.0.invalidate(k, v)
            }
        }
        let k = TokenKey::new(TokenKind::SuiteTicket, "wwsuite", "");
        let memory: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
        let plain: Arc<dyn TokenStore> = Arc::new(PlainStore::default());
        for store in [memory, plain] {
            assert!(store.set_if_newer(&k, Token::new("T2", 200)).await.unwrap());
            assert!(!store.set_if_newer(&k, Token::new("T1", 100)).await.unwrap());
            assert_eq!(store.get(&k).await.unwrap().unwrap().value(), "T2");
            assert!(store.set_if_newer(&k, Token::new("T3", 300)).await.unwrap());
            assert_eq!(store.get(&k).await.unwrap().unwrap().value(), "T3");
        }
    }

    #[tokio::test]
    async fn default_lock_is_granted_and_arc_forwards_every_method() {
        #[derive(Debug)]
        struct Locking;
        impl TokenStore for Locking {
            fn get<'a>(&'a self, _: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
                Box::pin(async { Ok(None) })
            }
            fn set<'a>(&'a self, _: &'a TokenKey, _: Token) -> StoreFuture<'a, ()> {
                Box::pin(async { Ok(()) })
            }
            fn invalidate<'a>(&'a self, _: &'a TokenKey, _: &'a str) -> StoreFuture<'a, ()> {
                Box::pin(async { Ok(()) })
            }
            fn try_lock<'a>(&'a self, _: &'a TokenKey) -> StoreFuture<'a, Option<Lease>> {
                Box::pin(async { Ok(None) })
            }
            fn lock_timeout(&self) -> Duration {
                Duration::from_millis(7)
            }
        }
        let k = key();
        assert!(Locking.renew_lock(&k, &Lease::random()).await.unwrap());
        assert_eq!(Locking.lock_lease(), None);
        assert!(Locking.refresh_state().is_none());
        assert_eq!(MemoryTokenStore::new().lock_timeout(), DEFAULT_LOCK_TIMEOUT);
        // Through an Arc (what the client holds) the store's own methods are used.
        let shared: Arc<dyn TokenStore> = Arc::new(Locking);
        assert!(shared.try_lock(&k).await.unwrap().is_none());
        assert_eq!(shared.lock_timeout(), Duration::from_millis(7));
        let twice = Arc::new(Arc::clone(&shared));
        assert!(twice.try_lock(&k).await.unwrap().is_none());
        assert_eq!(twice.lock_timeout(), Duration::from_millis(7));
        assert!(twice.refresh_state().is_none());
        // A store's state is the same behind any Arc.
        let memory = MemoryTokenStore::new();
        let behind = Arc::new(memory.clone()).refresh_state().unwrap();
        assert!(behind.same_as(&memory.refresh_state().unwrap()));
    }

    #[tokio::test]
    async fn memory_lock_is_a_lease_released_by_its_holder_only() {
        let store = MemoryTokenStore::new().with_lock_lease(Duration::from_millis(40));
        let clone = store.clone();
        let (k, other) = (key(), key().with_kind(TokenKind::JsapiTicket));
        let lease = store.try_lock(&k).await.unwrap().expect("free lock");
        // Held, for clones too; other keys are free.
        assert!(clone.try_lock(&k).await.unwrap().is_none());
        assert!(clone.try_lock(&other).await.unwrap().is_some());
        // Another lease cannot release or renew it.
        let stranger = Lease::random();
        clone.unlock(&k, &stranger).await.unwrap();
        assert!(!clone.renew_lock(&k, &stranger).await.unwrap());
        assert!(store.try_lock(&k).await.unwrap().is_none());
        // Its holder renews it past the lease...
        tokio::time::sleep(Duration::from_millis(25)).await;
        assert!(store.renew_lock(&k, &lease).await.unwrap());
        tokio::time::sleep(Duration::from_millis(25)).await;
        assert!(store.try_lock(&k).await.unwrap().is_none());
        // ...and releases it.
        store.unlock(&k, &lease).await.unwrap();
        let next = clone.try_lock(&k).await.unwrap().expect("released");
        // A lease not renewed runs out, and then cannot be renewed.
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!clone.renew_lock(&k, &next).await.unwrap());
        assert!(store.try_lock(&k).await.unwrap().is_some());
        assert_eq!(store.lock_lease(), Some(Duration::from_millis(40)));
        let state = store.refresh_state().unwrap();
        assert!(state.same_as(&clone.refresh_state().unwrap()));
        assert!(!state.same_as(&MemoryTokenStore::new().refresh_state().unwrap()));
    }

    #[test]
    fn random_leases_differ() {
        let (a, b) = (Lease::random(), Lease::random());
        assert_eq!(a.id().len(), 32);
        assert_ne!(a, b);
        assert_eq!(Lease::new("x").id(), "x");
    }
}
