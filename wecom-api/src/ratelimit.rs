//! Client-side rate limits: WeCom's documented limits kept before a request is sent, so a
//! burst waits (within the call's deadline) or fails at once with
//! [`Error::RateLimited`](crate::Error::RateLimited) instead of being refused (45009) or,
//! for app messages over the per-member limit, silently dropped by WeCom.
//!
//! A [`Rule`] names the endpoints it covers (by spec id, `robot.send`, or family, `message`;
//! or by path, `/cgi-bin/webhook/send`), what WeCom counts ([`Per`]) and its [`Rate`]s.
//! [`RateLimits`] holds the rules, what happens at the limit ([`OnLimit`]) and where the
//! counts live: a [`RateLimiter`], in memory ([`MemoryRateLimiter`], shared by every client
//! of the process) or in Redis (`RedisRateLimiter`, cargo feature `redis`, shared by every
//! process). Every attempt that goes out counts, retries included.
//!
//! ```
//! use std::time::Duration;
//! use wecom_api::ratelimit::{Per, Rate, RateLimits, Rule};
//!
//! // The documented limits, failing at once rather than waiting, plus one of our own.
//! let limits = RateLimits::documented()
//!     .fail_fast()
//!     .with_rule(Rule::new("contacts", Per::Corp).endpoint("user").rate(Rate::per_minute(600)));
//! let client = wecom_api::Client::builder()
//!     .webhook_key("robot-key")
//!     .rate_limits(limits)
//!     .build()?;
//! # Ok::<(), wecom_api::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use crate::error::{Error, Result};

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use redis::RedisRateLimiter;

/// Future returned by [`RateLimiter`] methods.
pub type LimitFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// At most `max` requests in any window of `per` (a sliding window: no burst at a
/// window's edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Requests allowed in a window (at least 1).
    pub max: u32,
    /// The window (at least 1 ms).
    pub per: Duration,
}

impl Rate {
    /// `max` requests per `per`; a zero `max` or window is raised to 1 (request, ms).
    pub const fn new(max: u32, per: Duration) -> Rate {
        let max = if max == 0 { 1 } else { max };
        let per = if per.is_zero() {
            Duration::from_millis(1)
        } else {
            per
        };
        Rate { max, per }
    }

    /// `max` requests a minute.
    pub const fn per_minute(max: u32) -> Rate {
        Rate::new(max, Duration::from_secs(60))
    }

    /// `max` requests an hour.
    pub const fn per_hour(max: u32) -> Rate {
        Rate::new(max, Duration::from_secs(3600))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.per.as_millis();
        match ms {
            3_600_000 => write!(f, "{} an hour", self.max),
            60_000 => write!(f, "{} a minute", self.max),
            _ if ms % 1000 == 0 => write!(f, "{} per {} s", self.max, ms / 1000),
            _ => write!(f, "{} per {ms} ms", self.max),
        }
    }
}

/// What WeCom counts a limit against, taken from the client that sends the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Per {
    /// The credential the client holds: one group robot (its webhook key), one app (its
    /// secret: each app of a corp has its own), one suite, provider, model or device.
    Credential,
    /// The corp (or suite, model) id the client acts for, across all its apps.
    Corp,
    /// Each member named in the request's `touser` (`a|b|c`), per app: a message to
    /// `@all`, departments or tags names no one and is not counted here.
    Member,
}

/// One limit on a family of endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    name: Cow<'static, str>,
    endpoints: Vec<Cow<'static, str>>,
    per: Per,
    rates: Vec<Rate>,
}

impl Rule {
    /// A rule named `name` (its counters are keyed by it), counted [`Per`] `per`. Give it
    /// endpoints and rates.
    pub fn new(name: impl Into<Cow<'static, str>>, per: Per) -> Rule {
        Rule {
            name: name.into(),
            endpoints: Vec::new(),
            per,
            rates: Vec::new(),
        }
    }

    /// Covers an endpoint: a spec id (`robot.send`) or a family (`message` covers
    /// `message.*`); or, starting with `/`, a path (`/cgi-bin/webhook/send`; ending with
    /// `/`, every path under it). Raw calls (`post_json`) are covered too: by path, and by
    /// id or family through the spec id of the path they call. Endpoints of one rule share
    /// its counters.
    pub fn endpoint(mut self, id_or_path: impl Into<Cow<'static, str>>) -> Rule {
        self.endpoints.push(id_or_path.into());
        self
    }

    /// Adds a rate; a request must fit every rate of the rule.
    pub fn rate(mut self, rate: Rate) -> Rule {
        self.rates.push(rate);
        self
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it is counted against.
    pub fn per(&self) -> Per {
        self.per
    }

    /// Its rates.
    pub fn rates(&self) -> &[Rate] {
        &self.rates
    }

    fn covers(&self, id: Option<&str>, path: &str) -> bool {
        self.endpoints.iter().any(|e| {
            if e.starts_with('/') {
                path == e || (e.ends_with('/') && path.starts_with(e.as_ref()))
            } else {
                id.is_some_and(|id| {
                    id == e || (id.starts_with(e.as_ref()) && id[e.len()..].starts_with('.'))
                })
            }
        })
    }
}

/// What a call does when a limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnLimit {
    /// Wait for a free slot, within the call's deadline; when the wait would outlast
    /// it, fail at once with [`Error::RateLimited`] (default).
    #[default]
    Wait,
    /// Fail at once with [`Error::RateLimited`], its `retry_after` saying when a slot frees.
    FailFast,
}

/// One counter a request takes a slot of: its key and its rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// `wecom:ratelimit:<rule>:<what is counted>`: ids and fingerprints, never a secret.
    pub key: String,
    /// The rate of this counter.
    pub rate: Rate,
}

/// A request refused by a [`RateLimiter`]: which slot was full, and when it frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Index of the full slot in the slice given.
    pub slot: usize,
    /// Time until that slot has room.
    pub wait: Duration,
}

/// Where rate-limit counts live. Object-safe and async, like
/// [`TokenStore`](crate::TokenStore): implement it for your own shared store.
pub trait RateLimiter: Send + Sync + fmt::Debug {
    /// Takes one place in every slot if each has room (fewer than `rate.max` taken in the
    /// last `rate.per`), all or nothing: when one is full, nothing is taken and the answer
    /// names it and how long until it has room.
    fn try_acquire<'a>(&'a self, slots: &'a [Slot]) -> LimitFuture<'a, Option<Refused>>;
}

/// Counts in this process's memory: a sliding log of send times per key. The default,
/// shared by every client of the process (a robot counts once however many clients send
/// with its key). The clock is tokio's, so tests may pause it.
#[derive(Default)]
pub struct MemoryRateLimiter {
    logs: Mutex<HashMap<String, VecDeque<tokio::time::Instant>>>,
}

impl fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryRateLimiter")
    }
}

/// Keys kept before idle ones are swept.
const SWEEP_ABOVE: usize = 4096;

impl MemoryRateLimiter {
    /// An empty limiter of its own (not shared with the process's default one).
    pub fn new() -> Self {
        Self::default()
    }

    /// The limiter every client of this process uses unless told otherwise.
    pub fn shared() -> Arc<MemoryRateLimiter> {
        static SHARED: LazyLock<Arc<MemoryRateLimiter>> =
            LazyLock::new(|| Arc::new(MemoryRateLimiter::new()));
        Arc::clone(&SHARED)
    }

    fn acquire_now(&self, slots: &[Slot]) -> Option<Refused> {
        let now = tokio::time::Instant::now();
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        if logs.len() > SWEEP_ABOVE {
            // A key whose newest send is older than any window we know of is idle.
            let longest = slots.iter().map(|s| s.rate.per).max().unwrap_or_default();
            logs.retain(|_, log| {
                log.back()
                    .is_some_and(|t| now.duration_since(*t) < longest.max(HOUR))
            });
        }
        for (i, slot) in slots.iter().enumerate() {
            let Some(log) = logs.get_mut(&slot.key) else {
                continue;
            };
            while log
                .front()
                .is_some_and(|t| now.duration_since(*t) >= slot.rate.per)
            {
                log.pop_front();
            }
            let max = slot.rate.max as usize;
            if log.len() >= max {
                // Room comes when the send `max` places back leaves the window.
                let oldest = log[log.len() - max];
                let wait = (oldest + slot.rate.per).saturating_duration_since(now);
                return Some(Refused {
                    slot: i,
                    wait: wait.max(Duration::from_millis(1)),
                });
            }
        }
        for slot in slots {
            let log = logs.entry(slot.key.clone()).or_default();
            log.push_back(now);
            // Only the newest `max` sends matter.
            while log.len() > slot.rate.max as usize {
                log.pop_front();
            }
        }
        None
    }
}

const HOUR: Duration = Duration::from_secs(3600);

impl RateLimiter for MemoryRateLimiter {
    fn try_acquire<'a>(&'a self, slots: &'a [Slot]) -> LimitFuture<'a, Option<Refused>> {
        Box::pin(async move { Ok(self.acquire_now(slots)) })
    }
}

/// The rules a client keeps, what it does at a limit, and where the counts live.
///
/// Default: [`RateLimits::documented`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RateLimits {
    rules: Arc<[Rule]>,
    on_limit: OnLimit,
    limiter: Arc<dyn RateLimiter>,
    /// The limiter failed and counting fell back to this process: logged once per outage.
    degraded: Arc<AtomicBool>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::documented()
    }
}

impl RateLimits {
    /// WeCom's documented limits, waiting at a limit, counted in this process's memory:
    ///
    /// | rule | endpoints | counted per | rates | doc page |
    /// | --- | --- | --- | --- | --- |
    /// | `robot` | `/cgi-bin/webhook/send` | robot (webhook key) | 20 a minute | 91770 群机器人配置说明 (消息发送频率限制); also 101066 |
    /// | `app_message_member` | `/cgi-bin/message/send` | member of `touser`, per app | 30 a minute, 1,000 an hour | 90312 频率限制 (发送应用消息频率; the same text in 90454), named by 90236 |
    /// | `jsapi_ticket_corp` | `/cgi-bin/get_jsapi_ticket`, `/cgi-bin/ticket/get` | corp | 400 an hour | 90312 (获取jsapi_ticket频率) |
    /// | `jsapi_ticket_app` | the same | app | 100 an hour | 90312 |
    /// | `token_issuers` | `gettoken`, `service/get_suite_token`, `get_corp_token`, `get_provider_token`, `corpgroup/corp/gettoken` | corp (or suite) | 10,000 a minute, 150,000 an hour | 90312 (基础频率: 每企业调用单个cgi/api); 91039 says only "不能频繁调用gettoken" |
    ///
    /// Not kept here, because the client cannot count them: the per-app daily total of
    /// message recipients (账号上限数 × 200 人次/天 depends on the corp's licence) and
    /// per-IP limits.
    pub fn documented() -> RateLimits {
        RateLimits {
            rules: documented_rules().into(),
            on_limit: OnLimit::Wait,
            limiter: MemoryRateLimiter::shared(),
            degraded: Arc::default(),
        }
    }

    /// No limits: every call is sent as it comes.
    pub fn none() -> RateLimits {
        RateLimits {
            rules: Arc::new([]),
            on_limit: OnLimit::Wait,
            limiter: MemoryRateLimiter::shared(),
            degraded: Arc::default(),
        }
    }

    /// Adds `rule`, replacing a rule of the same name.
    pub fn with_rule(self, rule: Rule) -> RateLimits {
        let mut rules: Vec<Rule> = self
            .rules
            .iter()
            .filter(|r| r.name != rule.name)
            .cloned()
            .collect();
        rules.push(rule);
        RateLimits {
            rules: rules.into(),
            ..self
        }
    }

    /// Drops the rule named `name`.
    pub fn without(self, name: &str) -> RateLimits {
        let rules: Vec<Rule> = self
            .rules
            .iter()
            .filter(|r| r.name != name)
            .cloned()
            .collect();
        RateLimits {
            rules: rules.into(),
            ..self
        }
    }

    /// Where the counts live, e.g. `RedisRateLimiter` to count across processes.
    pub fn with_limiter(self, limiter: impl RateLimiter + 'static) -> RateLimits {
        RateLimits {
            limiter: Arc::new(limiter),
            degraded: Arc::default(),
            ..self
        }
    }

    /// What a call does at a limit.
    pub fn on_limit(self, on_limit: OnLimit) -> RateLimits {
        RateLimits { on_limit, ..self }
    }

    /// Fails at once at a limit ([`OnLimit::FailFast`]).
    pub fn fail_fast(self) -> RateLimits {
        self.on_limit(OnLimit::FailFast)
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule named `name`.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Checks the rules: each has an endpoint and a rate.
    pub(crate) fn validate(&self) -> Result<()> {
        for r in self.rules.iter() {
            if r.endpoints.is_empty() || r.rates.is_empty() {
                return Err(Error::invalid_argument(
                    "rate_limits",
                    format!("rule `{}` needs at least one endpoint and one rate", r.name),
                ));
            }
        }
        Ok(())
    }

    /// Takes a place for one request of `call` by the client `who`, waiting for one if
    /// allowed and `time_left` permits; else [`Error::RateLimited`], nothing sent.
    /// Whether any rule counts this call: most calls have none, and skip [`Self::admit`].
    pub(crate) fn covers(&self, call: &LimitedCall<'_>) -> bool {
        self.rules.iter().any(|r| r.covers(call.id, call.path))
    }

    pub(crate) async fn admit(
        &self,
        call: &LimitedCall<'_>,
        who: &Counted,
        time_left: impl Fn() -> Duration,
    ) -> Result<()> {
        let mut slots = Vec::new();
        let mut names = Vec::new();
        for rule in self.rules.iter().filter(|r| r.covers(call.id, call.path)) {
            let scopes = match rule.per {
                Per::Credential => vec![who.credential.clone()],
                Per::Corp => vec![who.corp.clone()],
                Per::Member => members(call.body)
                    .map(|m| format!("{}:{m}", who.credential))
                    .collect(),
            };
            for scope in &scopes {
                for (i, rate) in rule.rates.iter().enumerate() {
                    slots.push(Slot {
                        key: format!("wecom:ratelimit:{}:{i}:{scope}", rule.name),
                        rate: *rate,
                    });
                    names.push(&rule.name);
                }
            }
        }
        if slots.is_empty() {
            return Ok(());
        }
        loop {
            let refused = match self.limiter.try_acquire(&slots).await {
                Ok(r) => {
                    if self.degraded.swap(false, Ordering::Relaxed) {
                        tracing::info!("rate limiter reachable again");
                    }
                    r
                }
                Err(e) => {
                    // Counting goes on in this process rather than every call failing.
                    if !self.degraded.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "rate limiter failed; counting in this process until it is back");
                    }
                    MemoryRateLimiter::shared().acquire_now(&slots)
                }
            };
            let Some(refused) = refused else {
                return Ok(());
            };
            let rate = slots.get(refused.slot).map(|s| s.rate);
            let name = names.get(refused.slot).map_or("?", |n| n.as_ref());
            if self.on_limit == OnLimit::FailFast || refused.wait >= time_left() {
                // Named only when refused: the common path allocates nothing.
                return Err(Error::RateLimited {
                    endpoint: Cow::Owned(call.id.unwrap_or(call.path).to_owned()),
                    status: None,
                    errcode: None,
                    message: match rate {
                        Some(rate) => format!("`{name}`, {rate}"),
                        None => format!("`{name}`"),
                    },
                    retry_after: Some(refused.wait),
                    local: true,
                });
            }
            tracing::debug!(
                rule = name,
                wait_ms = u64::try_from(refused.wait.as_millis()).unwrap_or(u64::MAX),
                "rate limit reached; waiting for a free slot"
            );
            tokio::time::sleep(refused.wait).await;
        }
    }
}

/// What [`RateLimits::admit`] needs to know of a call.
pub(crate) struct LimitedCall<'a> {
    pub(crate) id: Option<&'a str>,
    pub(crate) path: &'a str,
    /// The JSON body, read for `touser` by [`Per::Member`] rules.
    pub(crate) body: Option<&'a [u8]>,
}

impl<'a> LimitedCall<'a> {
    pub(crate) fn new(id: Option<&'a str>, path: &'a str, body: Option<&'a [u8]>) -> Self {
        LimitedCall { id, path, body }
    }
}

/// Whom a client's requests count against: no secret, only ids and fingerprints.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    /// `<kind>:<id>:<fingerprint of the credential>`.
    pub(crate) credential: String,
    /// The corp (suite, model) id.
    pub(crate) corp: String,
}

/// The members a message names in `touser` (`a|b|c`), without `@all`.
fn members(body: Option<&[u8]>) -> impl Iterator<Item = String> {
    #[derive(serde::Deserialize)]
    struct Touser {
        touser: Option<String>,
    }
    let touser = body
        .and_then(|b| serde_json::from_slice::<Touser>(b).ok())
        .and_then(|t| t.touser)
        .unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    for m in touser.split('|').map(str::trim) {
        if !m.is_empty() && m != "@all" && !seen.iter().any(|s| s == m) {
            seen.push(m.to_owned());
        }
    }
    seen.into_iter()
}

fn documented_rules() -> Vec<Rule> {
    vec![
        // 91770 群机器人配置说明, 消息发送频率限制: 每个机器人发送的消息不能超过20条/分钟
        // (also on 101066, robot.send's page).
        Rule::new("robot", Per::Credential)
            .endpoint("/cgi-bin/webhook/send")
            .rate(Rate::per_minute(20)),
        // 90312 频率限制, 发送应用消息频率 (90454 for third-party apps says the same):
        // 每应用对同一个成员不可超过30次/分钟，1000次/小时，超过部分会被丢弃不下发.
        Rule::new("app_message_member", Per::Member)
            .endpoint("/cgi-bin/message/send")
            .rate(Rate::per_minute(30))
            .rate(Rate::per_hour(1000)),
        // 90312, 获取jsapi_ticket频率: 一小时内，一个企业最多可获取400次，且单个应用不能超过100次.
        Rule::new("jsapi_ticket_corp", Per::Corp)
            .endpoint("/cgi-bin/get_jsapi_ticket")
            .endpoint("/cgi-bin/ticket/get")
            .rate(Rate::per_hour(400)),
        Rule::new("jsapi_ticket_app", Per::Credential)
            .endpoint("/cgi-bin/get_jsapi_ticket")
            .endpoint("/cgi-bin/ticket/get")
            .rate(Rate::per_hour(100)),
        // 90312, 基础频率: 每企业调用单个cgi/api不可超过1万次/分，15万次/小时. The token
        // pages (91039 gettoken, the suite and provider token pages) only warn that frequent
        // calls are intercepted, without a number; the single flight per key keeps these
        // to one per expiry, this is the documented ceiling behind it.
        Rule::new("token_issuers", Per::Corp)
            .endpoint("/cgi-bin/gettoken")
            .endpoint("/cgi-bin/service/get_suite_token")
            .endpoint("/cgi-bin/service/get_corp_token")
            .endpoint("/cgi-bin/service/get_provider_token")
            .endpoint("/cgi-bin/corpgroup/corp/gettoken")
            .rate(Rate::per_minute(10_000))
            .rate(Rate::per_hour(150_000)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(key: &str, rate: Rate) -> Slot {
        Slot {
            key: key.to_owned(),
            rate,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_robot_burst_of_25_sends_20_then_waits_for_the_window() {
        let limiter = MemoryRateLimiter::new();
        let rate = RateLimits::documented()
            .rule("robot")
            .expect("robot rule")
            .rates()[0];
        assert_eq!(rate, Rate::per_minute(20));
        let slots = [slot("wecom:ratelimit:robot:0:k", rate)];
        let start = tokio::time::Instant::now();
        for _ in 0..20 {
            assert_eq!(limiter.acquire_now(&slots), None);
        }
        let refused = limiter.acquire_now(&slots).expect("the 21st is refused");
        assert_eq!(refused.slot, 0);
        assert_eq!(refused.wait, Duration::from_secs(60));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            limiter.acquire_now(&slots).map(|r| r.wait),
            Some(Duration::from_secs(30))
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        // The first minute's sends have left the window: 20 more fit, not 21.
        for _ in 0..20 {
            assert_eq!(limiter.acquire_now(&slots), None);
        }
        assert!(limiter.acquire_now(&slots).is_some());
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn slots_are_taken_all_or_nothing() {
        let limiter = MemoryRateLimiter::new();
        let a = slot("a", Rate::per_minute(5));
        let b = slot("b", Rate::per_minute(1));
        assert_eq!(limiter.acquire_now(&[a.clone(), b.clone()]), None);
        let refused = limiter
            .acquire_now(&[a.clone(), b.clone()])
            .expect("b is full");
        assert_eq!(refused.slot, 1);
        // `a` was not charged for the refused request: 4 more fit.
        for _ in 0..4 {
            assert_eq!(limiter.acquire_now(std::slice::from_ref(&a)), None);
        }
        assert!(limiter.acquire_now(std::slice::from_ref(&a)).is_some());
    }

    #[test]
    fn rules_cover_ids_families_and_paths() {
        let r = Rule::new("x", Per::Corp)
            .endpoint("message")
            .endpoint("/cgi-bin/webhook/send")
            .endpoint("/cgi-bin/wedrive/");
        assert!(r.covers(Some("message.send"), "/cgi-bin/message/send"));
        assert!(!r.covers(Some("messages.x"), "/x"));
        assert!(r.covers(Some("message"), "/x"));
        assert!(r.covers(None, "/cgi-bin/webhook/send"));
        assert!(!r.covers(None, "/cgi-bin/webhook/send2"));
        assert!(r.covers(None, "/cgi-bin/wedrive/file_upload"));
        assert!(!r.covers(Some("user.get"), "/cgi-bin/user/get"));
    }

    #[test]
    fn members_are_read_from_touser() {
        let got: Vec<String> =
            members(Some(br#"{"touser":"a|b| a |@all","msgtype":"text"}"#)).collect();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(members(Some(br#"{"toparty":"1"}"#)).count(), 0);
        assert_eq!(members(Some(b"not json")).count(), 0);
        assert_eq!(members(None).count(), 0);
    }

    #[test]
    fn documented_rules_are_valid_and_rates_display() {
        RateLimits::documented().validate().expect("valid");
        let bad = RateLimits::none().with_rule(Rule::new("empty", Per::Corp));
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("`empty`"), "{e}");
        assert_eq!(Rate::per_minute(20).to_string(), "20 a minute");
        assert_eq!(
            Rate::new(3, Duration::from_secs(2)).to_string(),
            "3 per 2 s"
        );
        assert_eq!(
            Rate::new(0, Duration::ZERO),
            Rate::new(1, Duration::from_millis(1))
        );
        let limits = RateLimits::documented().without("robot");
        assert!(limits.rule("robot").is_none());
        assert!(limits.rule("app_message_member").is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn admit_waits_within_the_deadline_or_fails_fast() {
        let limits = RateLimits::none()
            .with_limiter(MemoryRateLimiter::new())
            .with_rule(
                Rule::new("robot", Per::Credential)
                    .endpoint("robot.send")
                    .rate(Rate::per_minute(2)),
            );
        let call = LimitedCall::new(Some("robot.send"), "/cgi-bin/webhook/send", None);
        let who = Counted {
            credential: "access_token:webhook:fp".into(),
            corp: "webhook".into(),
        };
        let long = || Duration::from_secs(120);
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            limits.admit(&call, &who, long).await.expect("admitted");
        }
        // The third waited for the first two to leave the window; a fourth fits beside it.
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        limits.admit(&call, &who, long).await.expect("admitted");
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        let short = || Duration::from_secs(5);
        let e = limits.admit(&call, &who, short).await.unwrap_err();
        assert!(e.is_rate_limited() && e.is_local_limit(), "{e:?}");
        let fast = limits.clone().fail_fast();
        let e = fast.admit(&call, &who, long).await.unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
        let shown = e.to_string();
        assert!(shown.contains("own limit: `robot`, 2 a minute"), "{shown}");
        assert!(shown.contains("nothing was sent"), "{shown}");
    }
}
