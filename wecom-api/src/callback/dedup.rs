//! Retries from WeCom: the same callback arrives again when the answer took over 5 seconds
//! or failed (up to three times). [`Dedup`] remembers recent keys so the handler can skip
//! repeats, and forgets a key whose handling failed so that WeCom's retry is handled.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[cfg(feature = "callbacks")]
use sha2::{Digest, Sha256};

#[cfg(feature = "callbacks")]
use super::Callback;

/// A bounded, time-windowed memory of callback keys; safe to share between threads.
///
/// Mark a callback seen when it has been handled, not before: [`claim`](Self::claim) takes
/// the key (a retry arriving meanwhile is skipped) and the [`DedupClaim`] either keeps it
/// ([`DedupClaim::done`]) or, dropped after a failure, gives it back so WeCom's retry is
/// handled. [`first_time`](Self::first_time) marks at once; pair it with
/// [`forget`](Self::forget) when the handler fails.
///
/// ```
/// use std::time::Duration;
/// use wecom_api::callback::{Callback, Dedup};
///
/// let dedup = Dedup::new(10_000, Duration::from_secs(60));
/// let xml = "<xml><MsgType>text</MsgType><MsgId>42</MsgId></xml>";
/// let callback = Callback::parse(xml)?;
/// assert!(dedup.first_time(&callback.dedup_key()));
/// assert!(!dedup.first_time(&callback.dedup_key())); // WeCom's retry
/// # Ok::<(), wecom_api::Error>(())
/// ```
#[derive(Debug)]
pub struct Dedup {
    capacity: usize,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashMap<String, Instant>,
    /// Keys in the order they were first seen, oldest first.
    order: VecDeque<(String, Instant)>,
}

impl Default for Dedup {
    /// 10,000 keys for 5 minutes: WeCom's retries come within about 15 seconds.
    fn default() -> Self {
        Dedup::new(10_000, Duration::from_secs(300))
    }
}

impl Dedup {
    /// Remembers at most `capacity` keys (at least one), each for `window`.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Dedup {
            capacity: capacity.max(1),
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// Takes `key` for handling: `None` if it was handled (or is being handled) within the
    /// window, else a claim that keeps the key once [`done`](DedupClaim::done), and forgets
    /// it if dropped without that (the handler failed: WeCom's retry must be handled).
    ///
    /// ```
    /// use wecom_api::callback::Dedup;
    /// let dedup = Dedup::default();
    /// {
    ///     let claim = dedup.claim("msgid:1").expect("new");
    ///     assert!(dedup.claim("msgid:1").is_none()); // a retry while we work
    ///     // ... the handler fails: `claim` is dropped
    /// }
    /// let claim = dedup.claim("msgid:1").expect("WeCom's retry is handled");
    /// claim.done();
    /// assert!(dedup.claim("msgid:1").is_none());
    /// ```
    pub fn claim<'a>(&'a self, key: &str) -> Option<DedupClaim<'a>> {
        let now = Instant::now();
        self.first_time_at(key, now).then(|| DedupClaim {
            dedup: self,
            key: key.to_string(),
            at: now,
            done: false,
        })
    }

    /// Forgets `key`, so that the next callback with it counts as new (its handling
    /// failed after [`first_time`](Self::first_time)).
    pub fn forget(&self, key: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.seen.remove(key);
    }

    /// Forgets `key` only if it is still the mark made at `at` (not a newer one).
    fn forget_mark(&self, key: &str, at: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.seen.get(key) == Some(&at) {
            state.seen.remove(key);
        }
    }

    /// Whether `key` is new; it is remembered from now on, handled or not (see
    /// [`claim`](Self::claim) to remember it only once handled).
    pub fn first_time(&self, key: &str) -> bool {
        self.first_time_at(key, Instant::now())
    }

    /// [`first_time`](Self::first_time) at a given instant (for tests and replays).
    pub fn first_time_at(&self, key: &str, now: Instant) -> bool {
        // A poisoned lock only means another thread panicked mid-update; the maps are
        // still consistent enough to go on.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.expire(now, self.window);
        if let Some(&at) = state.seen.get(key) {
            if now.saturating_duration_since(at) < self.window {
                return false;
            }
        }
        while state.seen.len() >= self.capacity {
            match state.order.pop_front() {
                Some((old, at)) => {
                    if state.seen.get(&old) == Some(&at) {
                        state.seen.remove(&old);
                    }
                }
                None => break,
            }
        }
        state.seen.insert(key.to_string(), now);
        state.order.push_back((key.to_string(), now));
        true
    }

    /// How many keys are remembered now.
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |s| s.seen.len())
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A callback key taken for handling (see [`Dedup::claim`]).
#[derive(Debug)]
#[must_use = "dropping the claim forgets the key at once; call `done` once handled"]
pub struct DedupClaim<'a> {
    dedup: &'a Dedup,
    key: String,
    at: Instant,
    done: bool,
}

impl DedupClaim<'_> {
    /// The callback was handled: its retries are skipped from now on.
    pub fn done(mut self) {
        self.done = true;
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for DedupClaim<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.dedup.forget_mark(&self.key, self.at);
        }
    }
}

impl State {
    fn expire(&mut self, now: Instant, window: Duration) {
        while let Some((key, at)) = self.order.front() {
            if now.saturating_duration_since(*at) < window {
                break;
            }
            if self.seen.get(key) == Some(at) {
                self.seen.remove(key);
            }
            self.order.pop_front();
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

#[cfg(all(test, feature = "callbacks"))]
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
        assert_eq!(dedup.len(), 2);
    }

    #[test]
    fn memory_is_bounded_oldest_first() {
        let dedup = Dedup::new(3, Duration::from_secs(3600));
        let t0 = Instant::now();
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(dedup.first_time_at(key, t0 + Duration::from_millis(i as u64)));
        }
        assert_eq!(dedup.len(), 3);
        // "a" was evicted to make room for "d"; the others are still known.
        assert!(!dedup.first_time_at("d", t0));
        assert!(!dedup.first_time_at("c", t0));
        assert!(dedup.first_time_at("a", t0));
        assert_eq!(dedup.len(), 3);
        for i in 0..1000 {
            dedup.first_time_at(&i.to_string(), t0);
        }
        assert_eq!(dedup.len(), 3);
        // A zero capacity still remembers the latest key.
        let tiny = Dedup::new(0, Duration::from_secs(60));
        assert!(tiny.is_empty());
        assert!(tiny.first_time_at("x", t0));
        assert!(!tiny.first_time_at("x", t0));
        assert_eq!(tiny.len(), 1);
    }

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
