//! Access tokens and JS-SDK tickets: where they are stored, and the refresh lock.
//!
//! A [`TokenStore`] keeps tokens under a [`TokenKey`] (kind, corp, fingerprint of the
//! secret). [`MemoryTokenStore`] is the default; a shared store lets many processes use
//! one token: `RedisTokenStore` (cargo feature `redis`), or your own (a database, a
//! central token service) implementing the trait.
//!
//! In front of the store each [`Client`](crate::Client) keeps a local copy, so a call
//! with a fresh token touches neither the store nor a lock beyond a brief read. A refresh
//! is made by exactly one caller: one per process (an in-process single flight), and one
//! across processes when the store offers a lock ([`TokenStore::try_lock`]); the others
//! wait and read what it stored. If the store fails, calls go on with a per-process token
//! and the failure is logged once, not per call.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

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

    /// How long a caller waits for another holder's refresh before fetching a token by
    /// itself (default [`DEFAULT_LOCK_TIMEOUT`]).
    fn lock_timeout(&self) -> Duration {
        DEFAULT_LOCK_TIMEOUT
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
    fn lock_timeout(&self) -> Duration {
        (**self).lock_timeout()
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
        let plain = MemoryTokenStore::new();
        assert!(plain.try_lock(&k).await.unwrap().is_some());
        plain.unlock(&k, &Lease::random()).await.unwrap();
        assert_eq!(plain.lock_timeout(), DEFAULT_LOCK_TIMEOUT);
        // Through an Arc (what the client holds) the store's own methods are used.
        let shared: Arc<dyn TokenStore> = Arc::new(Locking);
        assert!(shared.try_lock(&k).await.unwrap().is_none());
        assert_eq!(shared.lock_timeout(), Duration::from_millis(7));
        let twice = Arc::new(Arc::clone(&shared));
        assert!(twice.try_lock(&k).await.unwrap().is_none());
        assert_eq!(twice.lock_timeout(), Duration::from_millis(7));
    }

    #[test]
    fn random_leases_differ() {
        let (a, b) = (Lease::random(), Lease::random());
        assert_eq!(a.id().len(), 32);
        assert_ne!(a, b);
        assert_eq!(Lease::new("x").id(), "x");
    }
}
