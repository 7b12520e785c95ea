//! The one path every call takes: credential, send, status, errcode, with the token-error
//! refresh and the retry loop, all under the call's total deadline ([`Budget`]).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::Either;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use super::Client;
use super::principal::Principal;
use crate::de::{self, Status};
use crate::error::{Error, Result};
use crate::media::{self};
use crate::operation::{Credential, Method, Operation};
use crate::ratelimit::LimitedCall;
use crate::token::instant_after;

/// One call, from a generated [`Operation`] or a raw path.
#[derive(Clone, Copy)]
pub(super) struct Call<'a> {
    /// Spec id; `None` for raw calls, which are named by their path.
    pub(super) id: Option<&'static str>,
    pub(super) method: Method,
    pub(super) path: &'a str,
    pub(super) credential: Credential,
    pub(super) retry_safe: bool,
}

impl Call<'_> {
    pub(super) fn from_op(op: &'static Operation) -> Call<'static> {
        Call {
            id: Some(op.id),
            method: op.method,
            path: op.path,
            credential: op.credential,
            retry_safe: op.retry_safe,
        }
    }

    pub(super) fn label(&self) -> &str {
        self.id.unwrap_or(self.path)
    }

    /// The spec id rate-limit rules know the call by: a raw call's is looked up by path.
    pub(super) fn limit_id(&self) -> Option<&'static str> {
        self.id.or_else(|| {
            let ids = crate::generated::ENDPOINT_IDS;
            ids.binary_search_by(|(path, _)| (*path).cmp(self.path))
                .ok()
                .map(|i| ids[i].1)
        })
    }

    /// For errors: borrowed for generated calls, so the success path never allocates it.
    pub(super) fn endpoint(&self) -> Cow<'static, str> {
        match self.id {
            Some(id) => Cow::Borrowed(id),
            None => Cow::Owned(self.path.to_owned()),
        }
    }
}

/// Query parameters in either of the shapes callers have.
#[derive(Clone, Copy)]
pub(super) enum Query<'a> {
    None,
    Generated(&'a [(&'static str, String)]),
    Raw(&'a [(&'a str, &'a str)]),
}

impl Query<'_> {
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Query::None => true,
            Query::Generated(q) => q.is_empty(),
            Query::Raw(q) => q.is_empty(),
        }
    }

    pub(super) fn for_each(&self, mut f: impl FnMut(&str, &str)) {
        match self {
            Query::None => {}
            Query::Generated(q) => q.iter().for_each(|(k, v)| f(k, v)),
            Query::Raw(q) => q.iter().for_each(|(k, v)| f(k, v)),
        }
    }
}

/// Request body, kept so that it can be sent again.
pub(super) enum Payload {
    Empty,
    Json(Bytes),
    Multipart(media::Multipart),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    Json,
    Download,
    /// A download whose body is handed over unread (after an error check).
    Stream,
}

/// A successful response: the body, and for downloads the headers that describe it.
/// For a stream, `body` is what was read to rule out an error envelope and `response` the
/// rest.
pub(super) struct Raw {
    pub(super) body: Bytes,
    pub(super) content_type: Option<String>,
    pub(super) disposition: Option<String>,
    pub(super) content_length: Option<u64>,
    pub(super) response: Option<reqwest::Response>,
}

/// What a call was doing, for the error when its deadline runs out.
pub(super) const DURING: [&str; 5] = [
    "while waiting for the access token",
    "while waiting for a response",
    "while waiting to retry",
    "while reading the response",
    "while waiting for a rate-limit slot",
];
pub(super) const PHASE_TOKEN: u8 = 0;
pub(super) const PHASE_REQUEST: u8 = 1;
pub(super) const PHASE_BACKOFF: u8 = 2;
pub(super) const PHASE_BODY: u8 = 3;
pub(super) const PHASE_LIMIT: u8 = 4;

/// The time one call may still take, what it is doing, and its span.
pub(super) struct Budget {
    pub(super) span: Span,
    pub(super) total: Duration,
    pub(super) until: Instant,
    pub(super) phase: AtomicU8,
    /// Each wait of the call is bounded by what is left, instead of one timer around the
    /// whole call: the request's own timeout, a timer only around a refresh or a
    /// rate-limit wait. Saves a timer per call on the common path.
    pub(super) inline: bool,
}

impl Budget {
    pub(super) fn new(total: Duration, span: &Span) -> Self {
        Budget {
            span: span.clone(),
            total,
            until: instant_after(total),
            phase: AtomicU8::new(PHASE_TOKEN),
            inline: false,
        }
    }

    /// `work` bounded by what is left of the budget when the call bounds its waits one by
    /// one; as it is otherwise (a timer around the whole call already bounds it).
    pub(super) async fn bound<T>(
        &self,
        call: &Call<'_>,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        if !self.inline {
            return work.await;
        }
        tokio::time::timeout(self.left(), work)
            .await
            .unwrap_or_else(|_| Err(self.exceeded(call)))
    }

    pub(super) fn enter(&self, phase: u8) {
        self.phase.store(phase, Ordering::Relaxed);
    }

    pub(super) fn exceeded(&self, call: &Call<'_>) -> Error {
        let phase = usize::from(self.phase.load(Ordering::Relaxed));
        Error::Deadline {
            endpoint: call.endpoint(),
            budget: self.total,
            during: DURING.get(phase).copied().unwrap_or(DURING[1]),
        }
    }

    pub(super) fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by WeCom's gateways).
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Reads a body, refusing it past `limit` bytes (before reading, when `Content-Length`
/// already says so).
pub(super) async fn read_limited(
    call: &Call<'_>,
    resp: &mut reqwest::Response,
    limit: u64,
    what: &'static str,
) -> Result<Bytes> {
    if let Some(len) = resp.content_length().filter(|&l| l > limit) {
        return Err(Error::TooLarge {
            what,
            limit,
            size: Some(len),
        });
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::transport(call.endpoint(), e))?
    {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(Error::TooLarge {
                what,
                limit,
                size: resp.content_length(),
            });
        }
        if buf.is_empty() {
            // A body that came in one piece is handed on without a copy.
            if resp.content_length() == Some(chunk.len() as u64) {
                return Ok(chunk);
            }
            // Else sized once from `Content-Length`, already checked against the limit.
            buf.reserve(resp.content_length().unwrap_or(0) as usize);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// How much of a streamed download that may be an error envelope is read to tell.
pub(super) const ENVELOPE_PEEK: u64 = 64 * 1024;

pub(super) fn header_string(v: Option<&HeaderValue>) -> Option<String> {
    v.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

impl Client {
    /// One call in its tracing span. Not generic, so it is compiled once for all endpoints.
    pub(super) async fn run(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        payload: &Payload,
        expect: Expect,
    ) -> Result<Raw> {
        let span = call_span(call);
        let start = (!span.is_disabled()).then(Instant::now);
        let mut budget = Budget::new(self.deadline, &span);
        // JSON calls on a plain reqwest client bound each wait themselves. Downloads keep
        // the timer around the whole call (a stream's body has no total timeout), and so
        // do middleware stacks (their layers may wait in ways the request timeout misses).
        budget.inline = expect == Expect::Json && !self.inner.http.has_middleware();
        let work = self.with_token(call, query, payload, expect, &budget);
        // Nobody listens: no span to enter on every poll.
        let work = if span.is_disabled() {
            Either::Left(work)
        } else {
            Either::Right(work.instrument(span.clone()))
        };
        let out = if budget.inline {
            work.await
        } else {
            tokio::time::timeout(self.deadline, work)
                .await
                .unwrap_or_else(|_| Err(budget.exceeded(call)))
        };
        finish_span(&span, start, &out);
        out
    }

    /// Adds the access token, and on a token errcode refreshes it and retries once.
    pub(super) async fn with_token(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        payload: &Payload,
        expect: Expect,
        budget: &Budget,
    ) -> Result<Raw> {
        let principal = &self.inner.principal;
        if !principal.sends_token(call.credential, call.label())? {
            return self
                .attempts(call, query, payload, expect, None, budget)
                .await;
        }
        let mut rejected: Option<Arc<str>> = None;
        loop {
            budget.enter(PHASE_TOKEN);
            let token = match self.inner.tokens.fresh(rejected.as_deref()) {
                Some(token) => token,
                None => {
                    budget
                        .bound(call, self.token_slow(rejected.as_deref()))
                        .await?
                }
            };
            match self
                .attempts(call, query, payload, expect, Some(&token), budget)
                .await
            {
                Err(e) if rejected.is_none() && principal.rejects_token(&e) => {
                    tracing::info!(
                        errcode = e.errcode(),
                        kind = principal.token_kind().as_str(),
                        "token rejected; refreshing it and retrying once"
                    );
                    let invalidated = async {
                        self.inner.tokens.invalidate(&token).await;
                        Ok(())
                    };
                    budget.bound(call, invalidated).await?;
                    rejected = Some(token);
                }
                other => return other,
            }
        }
    }

    /// The token from the store or a refresh. Boxed: the refresh's future is several
    /// kilobytes, and inline it would be moved and allocated with every call's future.
    fn token_slow<'a>(
        &'a self,
        rejected: Option<&'a str>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Arc<str>>> + Send + 'a>> {
        // The refresh is shared: it keeps the client's deadline, not this call's.
        let client = self.with_deadline(self.inner.deadline);
        Box::pin(self.inner.tokens.get(
            move || async move { client.fetch_own_token().await },
            rejected,
        ))
    }

    /// Sends the request, retrying transient failures as the policy and `retry_safe` allow.
    pub(super) async fn attempts(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        payload: &Payload,
        expect: Expect,
        token: Option<&str>,
        budget: &Budget,
    ) -> Result<Raw> {
        let span = &budget.span;
        let policy = &self.inner.retry;
        let mut retries: u32 = 0;
        loop {
            // u64: `max_retries` may be u32::MAX.
            span.record("attempt", u64::from(retries) + 1);
            // Client-side limits (crate::ratelimit): each attempt that goes out counts.
            budget.enter(PHASE_LIMIT);
            let body = match payload {
                Payload::Json(b) => Some(&b[..]),
                _ => None,
            };
            let limited = LimitedCall::new(call.limit_id(), call.path, body);
            let limits = &self.inner.limits;
            if limits.covers(&limited) {
                let counted = &self.inner.counted;
                let admitted = Box::pin(limits.admit(&limited, counted, || budget.left()));
                budget.bound(call, admitted).await?;
            }
            budget.enter(PHASE_REQUEST);
            let err = match self
                .attempt(call, query, payload, expect, token, budget)
                .await
            {
                Ok(raw) => return Ok(raw),
                // The request's timeout was what was left of the deadline.
                Err(e) if budget.inline && e.is_timeout() && budget.left().is_zero() => {
                    return Err(budget.exceeded(call));
                }
                Err(e) => e,
            };
            if !policy.should_retry(&err, call.retry_safe, retries) {
                return Err(err);
            }
            retries = retries.saturating_add(1);
            // The server's word, when it gave one, over our own backoff.
            let delay = policy
                .delay(retries)
                .max(err.retry_after().unwrap_or_default());
            if delay >= budget.left() {
                tracing::debug!(error = %err, "no time left in the deadline for a retry");
                return Err(err);
            }
            tracing::debug!(
                retry = retries,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %err,
                "transient failure; retrying"
            );
            budget.enter(PHASE_BACKOFF);
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP exchange and the errcode check.
    pub(super) async fn attempt(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        payload: &Payload,
        expect: Expect,
        token: Option<&str>,
        budget: &Budget,
    ) -> Result<Raw> {
        let span = &budget.span;
        let url = self.url(call, query, token);
        let mut req = self.inner.http.request(call.method.to_reqwest(), url);
        // A stream's body has no total timeout: each chunk gets the request timeout.
        if expect != Expect::Stream {
            let timeout = if budget.inline {
                self.inner.timeout.min(budget.left())
            } else {
                self.inner.timeout
            };
            req = req.timeout(timeout);
        }
        match payload {
            Payload::Empty => {}
            Payload::Json(bytes) => {
                req = req
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(bytes.clone());
            }
            Payload::Multipart(multipart) => {
                req = req
                    .header(CONTENT_TYPE, multipart.content_type.clone())
                    .body(multipart.body.clone());
            }
        }
        let sent = req.send();
        let mut resp = if expect == Expect::Stream {
            match tokio::time::timeout(self.inner.timeout, sent).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Error::Deadline {
                        endpoint: call.endpoint(),
                        budget: self.inner.timeout,
                        during: "while waiting for the response to start (the request timeout)",
                    });
                }
            }
        } else {
            sent.await
        }
        .map_err(|e| e.into_error(call.endpoint()))?;
        let status = resp.status();
        let (content_type, disposition) = if expect == Expect::Json {
            (None, None)
        } else {
            let h = resp.headers();
            (
                header_string(h.get(CONTENT_TYPE)),
                header_string(h.get(CONTENT_DISPOSITION)),
            )
        };
        let content_length = resp.content_length();
        if !status.is_success() {
            let wait = retry_after(resp.headers());
            // Only an excerpt is shown: no need to read a big error page whole.
            let body = read_limited(call, &mut resp, ENVELOPE_PEEK, "error response")
                .await
                .unwrap_or_default();
            return Err(Error::from_status(
                call.endpoint(),
                status.as_u16(),
                wait,
                &body,
            ));
        }
        budget.enter(PHASE_BODY);
        let mut rest = None;
        let body = match expect {
            Expect::Json => {
                read_limited(call, &mut resp, self.inner.max_json, "JSON response").await?
            }
            Expect::Download => {
                read_limited(call, &mut resp, self.inner.max_download, "download").await?
            }
            Expect::Stream => {
                let small = content_length.is_some_and(|l| l <= ENVELOPE_PEEK);
                if media::may_be_error_type(content_type.as_deref()) || small {
                    // Read up to the peek size: an envelope is small; more is a file.
                    let mut buf = bytes::BytesMut::new();
                    let mut done = false;
                    while (buf.len() as u64) < ENVELOPE_PEEK {
                        match resp
                            .chunk()
                            .await
                            .map_err(|e| Error::transport(call.endpoint(), e))?
                        {
                            Some(c) => buf.extend_from_slice(&c),
                            None => {
                                done = true;
                                break;
                            }
                        }
                    }
                    if !done {
                        rest = Some(resp);
                    }
                    buf.freeze()
                } else {
                    rest = Some(resp);
                    Bytes::new()
                }
            }
        };
        let check = expect == Expect::Json
            || (rest.is_none() && media::may_be_error_body(content_type.as_deref(), &body));
        if check {
            match de::envelope(&body) {
                Ok(Status::Ok) => {
                    span.record("errcode", 0);
                }
                Ok(Status::Failed { errcode, errmsg }) => {
                    span.record("errcode", errcode);
                    return Err(Error::from_errcode(call.endpoint(), errcode, &errmsg));
                }
                // A download that only looked like JSON is a file after all.
                Err(_) if expect != Expect::Json => {}
                Err(e) => return Err(Error::decode(call.endpoint(), e, &body)),
            }
        }
        Ok(Raw {
            body,
            content_type,
            disposition,
            content_length,
            response: rest,
        })
    }

    /// `base + path`, then the credential, then the caller's parameters.
    pub(super) fn url(
        &self,
        call: &Call<'_>,
        query: Query<'_>,
        token: Option<&str>,
    ) -> reqwest::Url {
        let i = &self.inner;
        // Cheaper than parsing `base + path` again: scheme, host and port stay as parsed.
        let mut url = i.base.clone();
        if i.base_path.is_empty() {
            url.set_path(call.path);
        } else {
            let mut path = String::with_capacity(i.base_path.len() + call.path.len());
            path.push_str(&i.base_path);
            path.push_str(call.path);
            url.set_path(&path);
        }
        let has_credential = match call.credential {
            Credential::CorpSecret | Credential::WebhookKey => true,
            Credential::None => false,
            _ => token.is_some(),
        };
        if has_credential || !query.is_empty() {
            let mut q = url.query_pairs_mut();
            match (&i.principal, call.credential, token) {
                (Principal::Corp { corp_id, secret }, Credential::CorpSecret, _) => {
                    q.append_pair("corpid", corp_id);
                    q.append_pair("corpsecret", secret);
                }
                (Principal::Webhook { key }, Credential::WebhookKey, _) => {
                    q.append_pair("key", key);
                }
                (_, credential, Some(t)) => {
                    if let Some(name) = credential.query_name() {
                        q.append_pair(name, t);
                    }
                }
                _ => {}
            }
            query.for_each(|k, v| {
                q.append_pair(k, v);
            });
        }
        url
    }
}

/// The `wecom.call` span of one call: endpoint, method, then attempt, errcode and
/// latency as they become known. The URL is never recorded: its query holds the token.
pub(super) fn call_span(call: &Call<'_>) -> Span {
    tracing::info_span!(
        "wecom.call",
        endpoint = call.label(),
        method = call.method.as_str(),
        attempt = Empty,
        errcode = Empty,
        latency_ms = Empty,
    )
}

pub(super) fn finish_span<T>(span: &Span, start: Option<Instant>, out: &Result<T>) {
    // `start` is `None` when nobody listens: no clock read, no formatting.
    let Some(start) = start else {
        return;
    };
    let latency = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.record("latency_ms", latency);
    if let Err(e) = out {
        span.in_scope(|| tracing::debug!(error = %e, "call failed"));
    }
}
