//! Retries from WeCom: the same callback arrives again when the answer took over 5 seconds
//! or failed (up to three times). A key is claimed while its callback is handled, marked
//! done once handled (its retries are skipped), or released when handling failed (WeCom's
//! retry is handled). A retry that arrives while the first attempt is still running is
//! told so ([`Claim::InProgress`]), not answered as handled: if the first attempt then
//! fails, a later retry still gets in.
//!
//! [`Dedup`] keeps the marks in this process; [`DedupStore`] is the same for several
//! instances behind a load balancer (`RedisDedup`, cargo feature `redis`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[cfg(feature = "callbacks")]
use sha2::{Digest, Sha256};

#[cfg(feature = "callbacks")]
use super::Callback;
use crate::Result;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use redis::RedisDedup;

/// How long a handled key is remembered, and how long a claim holds at most, by default.
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(300);

/// A bounded, time-windowed memory of callback keys; safe to share between threads.
///
/// [`claim`](Self::claim) a key before handling its callback: a new key gives a
/// [`DedupClaim`], which marks it handled ([`DedupClaim::done`]) or, dropped after a
/// failure, releases it so WeCom's retry is handled.
///
/// ```
/// use wecom_api::callback::{Claim, Dedup};
///
/// let dedup = Dedup::default();
/// let Claim::New(claim) = dedup.claim("msgid:1") else { unreachable!() };
/// assert!(matches!(dedup.claim("msgid:1"), Claim::InProgress)); // a retry while we work
/// drop(claim); // the handler failed
/// let Claim::New(claim) = dedup.claim("msgid:1") else { panic!("the retry gets in") };
/// claim.done();
/// assert!(matches!(dedup.claim("msgid:1"), Claim::Done));
/// ```
pub struct Dedup {
    capacity: usize,
    window: Duration,
    lease: Duration,
    state: Mutex<State>,
}

impl fmt::Debug for Dedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dedup")
            .field("capacity", &self.capacity)
            .field("window", &self.window)
            .field("lease", &self.lease)
            .field("len", &self.len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Being handled by the holder of `token`, until `until` at the latest.
    InProgress {
        token: u64,
    },
    Done,
}

#[derive(Debug)]
struct Entry {
    mark: Mark,
    until: Instant,
    /// Which insertion this is, to tell it from a newer one of the same key.
    seq: u64,
}

#[derive(Debug, Default)]
struct State {
    marks: HashMap<String, Entry>,
    /// Keys in the order they were marked, oldest first, with their insertion's `seq`.
    order: VecDeque<(String, u64)>,
    next_seq: u64,
}

/// What [`Dedup::claim`] found.
#[derive(Debug)]
#[must_use]
pub enum Claim<'a> {
    /// A new key, now claimed for handling.
    New(DedupClaim<'a>),
    /// Another attempt is handling it now: do not answer as handled; WeCom will retry.
    InProgress,
    /// Handled within the window: answer as handled.
    Done,
}

impl Default for Dedup {
    /// 10,000 keys for 5 minutes ([`DEFAULT_DEDUP_WINDOW`], as long as the default
    /// freshness window of [`CallbackCrypto`](super::CallbackCrypto)).
    fn default() -> Self {
        Dedup::new(10_000, DEFAULT_DEDUP_WINDOW)
    }
}

impl Dedup {
    /// Remembers at most `capacity` keys (at least one), each handled one for `window`; a
    /// claim holds for `window` too unless [`with_lease`](Self::with_lease) says otherwise.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Dedup {
            capacity: capacity.max(1),
            window,
            lease: window,
            state: Mutex::new(State::default()),
        }
    }

    /// How long a claim holds at most before it counts as abandoned (default: the window).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a handled key is remembered.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Takes `key` for handling, unless it is being handled or was handled within the
    /// window.
    pub fn claim(&self, key: &str) -> Claim<'_> {
        self.claim_at(key, Instant::now())
    }

    /// [`claim`](Self::claim) at a given instant (for tests and replays).
    pub fn claim_at(&self, key: &str, now: Instant) -> Claim<'_> {
        match self.claim_token(key, now) {
            Claimed::New(token) => Claim::New(DedupClaim {
                dedup: self,
                key: key.to_string(),
                token,
                settled: false,
            }),
            Claimed::InProgress => Claim::InProgress,
            Claimed::Done => Claim::Done,
        }
    }

    fn claim_token(&self, key: &str, now: Instant) -> Claimed {
        let mut state = self.lock();
        if let Some(entry) = state.marks.get(key).filter(|e| e.until > now) {
            return match entry.mark {
                Mark::Done => Claimed::Done,
                Mark::InProgress { .. } => Claimed::InProgress,
            };
        }
        let token = rand::random::<u64>();
        state.insert(
            key,
            Mark::InProgress { token },
            now + self.lease,
            self.capacity,
            now,
        );
        Claimed::New(token)
    }

    /// Whether `key` is new; it is marked handled from now on (see [`claim`](Self::claim)
    /// to mark it only once handled, and [`forget`](Self::forget) if handling fails).
    pub fn first_time(&self, key: &str) -> bool {
        self.first_time_at(key, Instant::now())
    }

    /// [`first_time`](Self::first_time) at a given instant (for tests and replays).
    pub fn first_time_at(&self, key: &str, now: Instant) -> bool {
        let mut state = self.lock();
        if state.marks.get(key).is_some_and(|e| e.until > now) {
            return false;
        }
        state.insert(key, Mark::Done, now + self.window, self.capacity, now);
        true
    }

    /// Forgets `key`, so that the next callback with it counts as new.
    pub fn forget(&self, key: &str) {
        self.lock().marks.remove(key);
    }

    /// Marks a claimed key handled, if `token` still holds it.
    fn finish_token(&self, key: &str, token: u64) -> bool {
        let mut state = self.lock();
        match state.marks.get_mut(key) {
            Some(entry) if entry.mark == (Mark::InProgress { token }) => {
                entry.mark = Mark::Done;
                entry.until = Instant::now() + self.window;
                true
            }
            _ => false,
        }
    }

    /// Releases a claimed key, if `token` still holds it.
    fn release_token(&self, key: &str, token: u64) {
        let mut state = self.lock();
        if state
            .marks
            .get(key)
            .is_some_and(|e| e.mark == (Mark::InProgress { token }))
        {
            state.marks.remove(key);
        }
    }

    /// How many keys are remembered now (handled or being handled).
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.lock().marks.values().filter(|e| e.until > now).count()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update; the maps are
        // still consistent enough to go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn insert(&mut self, key: &str, mark: Mark, until: Instant, capacity: usize, now: Instant) {
        self.drop_stale(now);
        while self.marks.len() >= capacity {
            let Some((old, seq)) = self.order.pop_front() else {
                break;
            };
            if self.marks.get(&old).is_some_and(|e| e.seq == seq) {
                self.marks.remove(&old);
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.marks
            .insert(key.to_string(), Entry { mark, until, seq });
        self.order.push_back((key.to_string(), seq));
        // Released and replaced keys leave stale entries in `order`: keep it bounded by
        // the capacity too.
        if self.order.len() > 2 * capacity + 16 {
            let marks = &self.marks;
            self.order
                .retain(|(k, seq)| marks.get(k).is_some_and(|e| e.seq == *seq));
        }
    }

    /// Drops expired marks and stale order entries at the front.
    fn drop_stale(&mut self, now: Instant) {
        while let Some((key, seq)) = self.order.front() {
            match self.marks.get(key) {
                Some(e) if e.seq == *seq && e.until > now => break,
                Some(e) if e.seq == *seq => {
                    self.marks.remove(key);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }
}

/// A callback key taken for handling (see [`Dedup::claim`]).
#[derive(Debug)]
#[must_use = "dropping the claim releases the key at once; call `done` once handled"]
pub struct DedupClaim<'a> {
    dedup: &'a Dedup,
    key: String,
    token: u64,
    settled: bool,
}

impl DedupClaim<'_> {
    /// The callback was handled: its retries are skipped from now on.
    pub fn done(mut self) {
        self.settled = true;
        self.dedup.finish_token(&self.key, self.token);
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for DedupClaim<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.dedup.release_token(&self.key, self.token);
        }
    }
}

/// What a [`DedupStore`] found for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// New: claimed now; the token settles it ([`DedupStore::finish`],
    /// [`DedupStore::release`]).
    New(u64),
    /// Being handled by another attempt (in this process or another).
    InProgress,
    /// Handled within the window.
    Done,
}

/// The future a [`DedupStore`] method returns.
pub type DedupFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'a>>;

/// Where claims of callback keys live: [`Dedup`] in this process, `RedisDedup` (feature
/// `redis`) for every instance behind a load balancer, or your own.
///
/// A claim holds for a bounded lease; `finish` marks the key handled for the store's
/// window; `release` forgets it so WeCom's retry is handled. Both act only while `token`
/// still holds the key (a claim that outlived its lease changes nothing).
pub trait DedupStore: Send + Sync + fmt::Debug {
    /// Claims `key` unless it is being handled or was handled within the window.
    fn claim<'a>(&'a self, key: &'a str) -> DedupFuture<'a, Claimed>;
    /// Marks `key` handled.
    fn finish<'a>(&'a self, key: &'a str, token: u64) -> DedupFuture<'a, ()>;
    /// Releases `key` after a failure.
    fn release<'a>(&'a self, key: &'a str, token: u64) -> DedupFuture<'a, ()>;
    /// Releases at once, without a runtime, where the store can (the in-memory one);
    /// `false` asks the caller to spawn [`release`](Self::release).
    fn release_now(&self, _key: &str, _token: u64) -> bool {
        false
    }
}

impl DedupStore for Dedup {
    fn claim<'a>(&'a self, key: &'a str) -> DedupFuture<'a, Claimed> {
        let claimed = self.claim_token(key, Instant::now());
        Box::pin(std::future::ready(Ok(claimed)))
    }

    fn finish<'a>(&'a self, key: &'a str, token: u64) -> DedupFuture<'a, ()> {
        self.finish_token(key, token);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(&'a self, key: &'a str, token: u64) -> DedupFuture<'a, ()> {
        self.release_token(key, token);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release_now(&self, key: &str, token: u64) -> bool {
        self.release_token(key, token);
        true
    }
}

/// A claim that owns its store: it can move into a spawned task (a handler finishing in
/// the background). Dropped without [`done`](Self::done), it releases the key.
#[must_use = "dropping the claim releases the key; call `done` once handled"]
pub struct OwnedClaim {
    store: Arc<dyn DedupStore>,
    key: String,
    token: u64,
    settled: bool,
}

impl fmt::Debug for OwnedClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedClaim")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl OwnedClaim {
    /// Claims `key` in `store`: `Ok(Err(claimed))` when it is not new.
    pub async fn claim(
        store: &Arc<dyn DedupStore>,
        key: &str,
    ) -> Result<std::result::Result<OwnedClaim, Claimed>> {
        Ok(match store.claim(key).await? {
            Claimed::New(token) => Ok(OwnedClaim {
                store: Arc::clone(store),
                key: key.to_string(),
                token,
                settled: false,
            }),
            other => Err(other),
        })
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The callback was handled: its retries are skipped from now on.
    pub async fn done(mut self) -> Result<()> {
        self.settled = true;
        self.store.finish(&self.key, self.token).await
    }

    /// Handling failed: WeCom's retry is handled.
    pub async fn release(mut self) -> Result<()> {
        self.settled = true;
        self.store.release(&self.key, self.token).await
    }
}

impl Drop for OwnedClaim {
    fn drop(&mut self) {
        if self.settled || self.store.release_now(&self.key, self.token) {
            return;
        }
        // Without a runtime the lease ends the claim by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = Arc::clone(&self.store);
            let key = std::mem::take(&mut self.key);
            let token = self.token;
            runtime.spawn(async move {
                if let Err(e) = store.release(&key, token).await {
                    tracing::warn!(error = %e, "could not release a callback claim; its lease will");
                }
            });
        }
    }
}

#[cfg(feature = "callbacks")]
impl Callback {
    /// The key that identifies this callback across WeCom's retries.
    ///
    /// `msgid:<MsgId>` for messages. Events have no id: WeCom suggests FromUserName +
    /// CreateTime, but several events from `sys` can share a second (a batch of approvals
    /// or contact changes), so a digest of the whole callback is added; a retry repeats
    /// the callback exactly, so its key is the same.
    pub fn dedup_key(&self) -> String {
        let fields = self.to_fields();
        if let Some(id) = fields.text("MsgId").filter(|id| !id.is_empty()) {
            return format!("msgid:{id}");
        }
        let from = fields
            .text("FromUserName")
            .or_else(|| fields.text("SuiteId"))
            .or_else(|| fields.text("AuthCorpId"))
            .unwrap_or_default();
        let time = fields
            .text("CreateTime")
            .or_else(|| fields.text("TimeStamp"))
            .unwrap_or_default();
        let canonical = serde_json::to_vec(&fields.0).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        let short: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        format!("event:{from}:{time}:{short}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_within_the_window_are_caught_and_forgotten_after() {
        let dedup = Dedup::new(100, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(dedup.first_time_at("a", t0));
        assert!(!dedup.first_time_at("a", t0 + Duration::from_secs(5)));
        assert!(dedup.first_time_at("b", t0 + Duration::from_secs(5)));
        // "a" has aged out; "b" has not.
        assert!(dedup.first_time_at("a", t0 + Duration::from_secs(11)));
        assert!(!dedup.first_time_at("b", t0 + Duration::from_secs(12)));
    }

    #[test]
    fn a_claim_is_in_progress_then_done_or_released() {
        let dedup = Dedup::new(100, Duration::from_secs(60));
        let Claim::New(first) = dedup.claim("k") else {
            panic!("new key")
        };
        // WeCom's retry while the first attempt runs: not answered as handled.
        assert!(matches!(dedup.claim("k"), Claim::InProgress));
        drop(first); // failed
        let Claim::New(second) = dedup.claim("k") else {
            panic!("the retry after a failure is handled")
        };
        second.done();
        assert!(matches!(dedup.claim("k"), Claim::Done));
    }

    #[test]
    fn an_abandoned_claim_ends_with_its_lease_and_cannot_settle_a_newer_one() {
        let dedup = Dedup::new(100, Duration::from_secs(60)).with_lease(Duration::from_secs(5));
        let t0 = Instant::now();
        let Claimed::New(old) = dedup.claim_token("k", t0) else {
            panic!()
        };
        assert_eq!(
            dedup.claim_token("k", t0 + Duration::from_secs(4)),
            Claimed::InProgress
        );
        let Claimed::New(new) = dedup.claim_token("k", t0 + Duration::from_secs(6)) else {
            panic!("the lease ran out")
        };
        // The old holder wakes up: it neither finishes nor releases the new claim.
        assert!(!dedup.finish_token("k", old));
        dedup.release_token("k", old);
        assert_eq!(
            dedup.claim_token("k", t0 + Duration::from_secs(7)),
            Claimed::InProgress
        );
        assert!(dedup.finish_token("k", new));
    }

    #[test]
    fn memory_is_bounded_oldest_first_even_when_claims_fail() {
        let dedup = Dedup::new(3, Duration::from_secs(3600));
        let t0 = Instant::now();
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(dedup.first_time_at(key, t0 + Duration::from_millis(i as u64)));
        }
        assert_eq!(dedup.len(), 3);
        assert!(!dedup.first_time_at("d", t0));
        assert!(
            dedup.first_time_at("a", t0),
            "a was evicted to make room for d"
        );
        // A hundred thousand failed claims leave nothing behind.
        for i in 0..100_000u32 {
            let claim = dedup.claim(&i.to_string());
            drop(claim);
        }
        let state = dedup.lock();
        assert!(state.marks.len() <= 3, "{}", state.marks.len());
        assert!(state.order.len() <= 2 * 3 + 16, "{}", state.order.len());
        drop(state);
        let tiny = Dedup::new(0, Duration::from_secs(60));
        assert!(tiny.is_empty());
        assert!(tiny.first_time_at("x", t0));
        assert!(!tiny.first_time_at("x", t0));
        assert_eq!(tiny.len(), 1);
    }

    #[tokio::test]
    async fn owned_claims_move_into_tasks_and_release_on_drop() {
        let store: Arc<dyn DedupStore> = Arc::new(Dedup::default());
        let claim = OwnedClaim::claim(&store, "k").await.unwrap().unwrap();
        assert_eq!(
            OwnedClaim::claim(&store, "k").await.unwrap().unwrap_err(),
            Claimed::InProgress
        );
        tokio::spawn(async move { drop(claim) }).await.unwrap();
        let claim = OwnedClaim::claim(&store, "k").await.unwrap().unwrap();
        tokio::spawn(claim.done()).await.unwrap().unwrap();
        assert_eq!(
            OwnedClaim::claim(&store, "k").await.unwrap().unwrap_err(),
            Claimed::Done
        );
    }

    #[cfg(feature = "callbacks")]
    #[test]
    fn keys_follow_msgid_or_event_identity() {
        let text = |id: &str| {
            Callback::parse(&format!(
                "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime>\
                 <MsgType>text</MsgType><Content>hi</Content><MsgId>{id}</MsgId></xml>"
            ))
            .unwrap()
        };
        assert_eq!(text("7").dedup_key(), "msgid:7");
        assert_ne!(text("7").dedup_key(), text("8").dedup_key());
        let approval = |sp_no: &str| {
            Callback::parse(&format!(
                "<xml><FromUserName>sys</FromUserName><CreateTime>1668557076</CreateTime>\
                 <MsgType>event</MsgType><Event>sys_approval_change</Event>\
                 <ApprovalInfo><SpNo>{sp_no}</SpNo></ApprovalInfo></xml>"
            ))
            .unwrap()
        };
        let a = approval("1").dedup_key();
        assert!(a.starts_with("event:sys:1668557076:"), "{a}");
        // Same sender and second, different approvals: not duplicates.
        assert_ne!(a, approval("2").dedup_key());
        assert_eq!(a, approval("1").dedup_key());
    }
}
