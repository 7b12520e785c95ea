//! A local WeCom (企业微信) generated from the wecom-api spec.
//!
//! Every endpoint of the spec is served on loopback with its documented answer, after the
//! checks WeCom makes: the right credential, issued here and not expired; required query and
//! body fields present and of the right type; bodies within limits. Tokens of every kind are
//! issued (any corp id and secret are accepted unless [`Builder::strict`]), on a clock a test
//! can move. Faults, overrides, records of every request and callback pushes are there for
//! tests.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let standin = wecom_standin::Standin::start().await?;
//! let client = wecom_api::Client::builder()
//!     .corp_id("ww0123456789abcdef")
//!     .secret("any-secret")
//!     .base_url(standin.base_url())
//!     .build()?;
//! let ips = client.get_json("/cgi-bin/get_api_domain_ip", &[]).await?;
//! assert!(ips["ip_list"].is_array());
//! let sent = standin.records_for("ip.api_domain_ip");
//! assert_eq!(sent.len(), 1);
//! assert!(sent[0].query_param("access_token").is_some());
//! # Ok(())
//! # }
//! ```

mod credentials;
mod issue;
mod push;
mod server;
mod state;
mod table;
mod validate;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

pub use credentials::{DEFAULT_LIFETIME, TokenKind};
pub use push::{Callback, PushError, PushReply, suite_ticket_xml};
pub use state::{Fault, Record, Target, UnknownField};
pub use table::{Endpoint, FieldSpec};
pub use wecom_api::callback::CallbackCrypto;

use credentials::Credentials;
use server::Shared;
use state::{FaultRule, State};

/// Records kept by default (the oldest are dropped beyond).
pub const DEFAULT_MAX_RECORDS: usize = 10_000;
/// Largest JSON body accepted by default (WeCom refuses large bodies with 45002).
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Settings of a stand-in, then [`Builder::start`].
#[derive(Debug)]
pub struct Builder {
    addr: SocketAddr,
    strict: bool,
    secrets: Vec<(String, String)>,
    max_records: usize,
    max_body_bytes: usize,
    log_requests: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            strict: false,
            secrets: Vec::new(),
            max_records: DEFAULT_MAX_RECORDS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            log_requests: false,
        }
    }
}

impl Builder {
    /// Where to listen; default a free loopback port.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Accept only configured secrets, pushed or told tickets and issued or told permanent
    /// codes (by default any is accepted).
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }

    /// A corp id (or suite, provider or model id) and its secret; implies [`strict`](Self::strict).
    pub fn secret(mut self, id: &str, secret: &str) -> Self {
        self.strict = true;
        self.secrets.push((id.to_owned(), secret.to_owned()));
        self
    }

    /// How many requests are recorded before the oldest are dropped.
    pub fn max_records(mut self, max: usize) -> Self {
        self.max_records = max;
        self
    }

    /// The largest JSON body accepted.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Log one line per request (`tracing` at info level; the binary prints them).
    pub fn log_requests(mut self, on: bool) -> Self {
        self.log_requests = on;
        self
    }

    /// Binds and serves on the current tokio runtime until the [`Standin`] is dropped.
    pub async fn start(self) -> std::io::Result<Standin> {
        let mut credentials = Credentials::new(!self.strict);
        for (id, secret) in &self.secrets {
            credentials.add_secret(id, secret);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                credentials,
                records: VecDeque::new(),
                max_records: self.max_records,
                dropped_records: 0,
                unknown_fields: VecDeque::new(),
                faults: Vec::new(),
                overrides: HashMap::new(),
            }),
            max_body_bytes: self.max_body_bytes,
            log_requests: self.log_requests,
        });
        // Uploads may be larger than JSON bodies: the spec's largest limit plus framing.
        let largest_upload = table::Table::get()
            .endpoints
            .iter()
            .filter_map(|e| e.multipart().and_then(|(_, max)| max))
            .max()
            .unwrap_or(0);
        let body_limit = self.max_body_bytes.max(
            usize::try_from(largest_upload)
                .unwrap_or(usize::MAX)
                .saturating_add(64 * 1024),
        );
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(Arc::clone(&shared), body_limit);
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!("wecom-standin stopped: {error}");
            }
        });
        Ok(Standin {
            addr,
            shared,
            _stop: stop,
        })
    }
}

/// A running stand-in; it stops when dropped.
pub struct Standin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for Standin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standin").field("addr", &self.addr).finish()
    }
}

impl Standin {
    /// Starts with the defaults: a free loopback port, any corp id and secret accepted.
    pub async fn start() -> std::io::Result<Standin> {
        Builder::default().start().await
    }

    /// Settings first.
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for `ClientBuilder::base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every recorded request, oldest first.
    pub fn records(&self) -> Vec<Record> {
        self.shared.lock().records.iter().cloned().collect()
    }

    /// The recorded requests to one endpoint (spec id or path).
    pub fn records_for(&self, endpoint: &str) -> Vec<Record> {
        self.shared
            .lock()
            .records
            .iter()
            .filter(|r| r.endpoint.as_deref() == Some(endpoint) || r.path == endpoint)
            .cloned()
            .collect()
    }

    /// How many records were dropped to stay within `max_records`.
    pub fn dropped_records(&self) -> u64 {
        self.shared.lock().dropped_records
    }

    pub fn clear_records(&self) {
        let mut state = self.shared.lock();
        state.records.clear();
        state.unknown_fields.clear();
    }

    /// Body fields the spec does not know, as sent (WeCom ignores them silently).
    pub fn unknown_fields(&self) -> Vec<UnknownField> {
        self.shared.lock().unknown_fields.iter().cloned().collect()
    }

    /// Answers `endpoint` (spec id) with `answer` instead of its documented example, after
    /// the usual checks.
    pub fn override_answer(&self, endpoint: &str, answer: Value) {
        self.shared
            .lock()
            .overrides
            .insert(endpoint.to_owned(), answer);
    }

    pub fn clear_override(&self, endpoint: &str) {
        self.shared.lock().overrides.remove(endpoint);
    }

    /// Fails every call to `target` with `fault` until [`clear_faults`](Self::clear_faults).
    pub fn fault(&self, target: impl Into<Target>, fault: Fault) {
        self.add_fault(target.into(), None, fault);
    }

    /// Fails the next `times` calls to `target` with `fault`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use wecom_standin::{Fault, Standin};
    ///
    /// let standin = Standin::start().await?;
    /// let client = wecom_api::Client::builder()
    ///     .corp_id("ww0123456789abcdef")
    ///     .secret("any")
    ///     .base_url(standin.base_url())
    ///     .build()?;
    /// standin.fault_times("department.list", 1, Fault::RateLimited);
    /// let error = client.get_json("/cgi-bin/department/list", &[]).await.unwrap_err();
    /// assert_eq!(error.errcode(), Some(45009));
    /// // Only once: the next call is answered.
    /// client.get_json("/cgi-bin/department/list", &[]).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn fault_times(&self, target: impl Into<Target>, times: usize, fault: Fault) {
        if times > 0 {
            self.add_fault(target.into(), Some(times), fault);
        }
    }

    fn add_fault(&self, target: Target, remaining: Option<usize>, fault: Fault) {
        self.shared.lock().faults.push(FaultRule {
            target,
            remaining,
            fault,
        });
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Moves the stand-in's clock forward: tokens whose lifetime has passed are refused
    /// (42001, or 42009 for suite tokens).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use wecom_standin::{Standin, TokenKind};
    ///
    /// let standin = Standin::start().await?;
    /// let token = standin.issue_token(TokenKind::Access, "ww0123456789abcdef");
    /// let url = format!("{}/cgi-bin/department/list?access_token={token}", standin.base_url());
    /// let answer: serde_json::Value = wecom_api::reqwest::get(&url).await?.json().await?;
    /// assert_eq!(answer["errcode"], 0);
    /// standin.advance_clock(Duration::from_secs(7200));
    /// let answer: serde_json::Value = wecom_api::reqwest::get(&url).await?.json().await?;
    /// assert_eq!(answer["errcode"], 42001);
    /// # Ok(())
    /// # }
    /// ```
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().credentials.clock.advance(by);
    }

    /// The lifetime of tokens of `kind` issued from now on (default 7200 s).
    pub fn set_token_lifetime(&self, kind: TokenKind, lifetime: Duration) {
        self.shared.lock().credentials.set_lifetime(kind, lifetime);
    }

    /// Issues a token directly (for calls made without the issuing endpoint).
    pub fn issue_token(&self, kind: TokenKind, owner: &str) -> String {
        self.shared.lock().credentials.issue(kind, owner).0
    }

    /// Accepts `secret` for `id` (corp, suite, provider or model id).
    pub fn add_secret(&self, id: &str, secret: &str) {
        self.shared.lock().credentials.add_secret(id, secret);
    }

    /// Accepts `ticket` for a suite or hardware model (as if pushed).
    pub fn add_ticket(&self, id: &str, ticket: &str) {
        self.shared.lock().credentials.add_ticket(id, ticket);
    }

    /// Accepts `code` as the permanent code of authorised corp `corp_id` (get_corp_token).
    pub fn add_permanent_code(&self, corp_id: &str, code: &str) {
        self.shared
            .lock()
            .credentials
            .add_permanent_code(corp_id, code);
    }

    /// A permanent code for `corp_id`, accepted from now on.
    pub fn issue_permanent_code(&self, corp_id: &str) -> String {
        let mut state = self.shared.lock();
        let code = state.credentials.fresh("standin-permanent-code");
        state.credentials.add_permanent_code(corp_id, &code);
        code
    }

    /// A group robot webhook key, accepted from now on (any key is accepted unless strict).
    pub fn issue_webhook_key(&self) -> String {
        let mut state = self.shared.lock();
        let key = state.credentials.fresh("standin-robot-key");
        state.credentials.add_webhook_key(&key);
        key
    }

    /// Seals `callback` with `crypto` (token, EncodingAESKey, receive id) and POSTs it to
    /// `url`, as WeCom does.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use wecom_standin::{Callback, CallbackCrypto, Standin};
    ///
    /// let standin = Standin::start().await?;
    /// let crypto = CallbackCrypto::new(
    ///     "QDG6eK",
    ///     "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    ///     "ww0123456789abcdef",
    /// )?;
    /// let xml = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>";
    /// // Your callback server, running under test.
    /// let reply = standin
    ///     .push("http://127.0.0.1:3000/callback", &crypto, &Callback::Xml(xml.into()))
    ///     .await?;
    /// assert_eq!(reply.status, 200);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn push(
        &self,
        url: &str,
        crypto: &CallbackCrypto,
        callback: &Callback,
    ) -> Result<PushReply, PushError> {
        push::push(url, crypto, callback).await
    }

    /// Pushes the documented example of a callback kind of the spec (its name in
    /// `spec/callbacks.yaml`: `Text`, `ChangeContactCreateUser`-style; see
    /// [`callback_kinds`](Self::callback_kinds)), sealed with `crypto`.
    pub async fn push_documented(
        &self,
        url: &str,
        crypto: &CallbackCrypto,
        kind: &str,
    ) -> Result<PushReply, PushError> {
        let callback = push::documented()
            .get(kind)
            .ok_or_else(|| PushError::UnknownKind(kind.to_owned()))?;
        push::push(url, crypto, callback).await
    }

    /// The callback kinds with a documented example, and that example.
    pub fn callback_kinds() -> impl Iterator<Item = (&'static str, &'static Callback)> {
        push::documented().iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Pushes a fresh suite_ticket for `suite_id` (sealed with `crypto`, whose receive id is
    /// the suite id) and accepts it from then on; returns the ticket.
    pub async fn push_suite_ticket(
        &self,
        url: &str,
        crypto: &CallbackCrypto,
        suite_id: &str,
    ) -> Result<String, PushError> {
        let ticket = {
            let mut state = self.shared.lock();
            let ticket = state.credentials.fresh("standin-suite-ticket");
            state.credentials.add_ticket(suite_id, &ticket);
            ticket
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let xml = suite_ticket_xml(suite_id, &ticket, now);
        push::push(url, crypto, &Callback::Xml(xml)).await?;
        Ok(ticket)
    }

    /// Every endpoint the stand-in serves, from the spec, with its documented request.
    pub fn endpoints() -> &'static [Endpoint] {
        &table::Table::get().endpoints
    }

    /// One endpoint by its spec id (`user.get`).
    pub fn endpoint(id: &str) -> Option<&'static Endpoint> {
        table::Table::get().by_id(id)
    }
}
