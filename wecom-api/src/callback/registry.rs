//! Many apps, suites and corps on one callback URL: a registry of [`Source`]s, each with
//! its callback settings, chosen for every request by signature, receive id and `AgentID`.

use std::fmt;
use std::sync::{Arc, RwLock};

use super::request::{CallbackQuery, find_encrypt};
use super::{CallbackCrypto, parse_fields};
use crate::{Client, Error, Result};

/// Which receive ids (the id WeCom writes into the encrypted frame) a source accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Receivers {
    /// The crypto's own receive id: the corp id of a self-built app, the suite id of a
    /// suite's 指令回调, `""` for bots.
    Own,
    /// Any of these ids.
    AnyOf(Vec<String>),
    /// Any id: a provider's data callbacks carry the id of whichever corp authorised it.
    Any,
}

/// One app, suite or corp whose callbacks arrive at the endpoint: its callback settings
/// (token, EncodingAESKey, receive id), what it accepts, and what its handlers get
/// ([`Context::source`](super::Context::source)).
///
/// ```
/// use wecom_api::callback::{CallbackCrypto, Source};
/// let key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// // A self-built app: receive id = corp id; only callbacks of agent 1000002.
/// let app = Source::new("oa", CallbackCrypto::new("token", key, "ww0123456789abcdef")?)
///     .agent_id(1000002);
/// // A suite's data callbacks: the receive id is the authorising corp's id.
/// let data = Source::new("suite-data", CallbackCrypto::new("token2", key, "")?).any_receiver();
/// # Ok::<(), wecom_api::Error>(())
/// ```
pub struct Source {
    name: String,
    crypto: CallbackCrypto,
    receivers: Receivers,
    agent_id: Option<i64>,
    client: Option<Client>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("crypto", &self.crypto)
            .field("receivers", &self.receivers)
            .field("agent_id", &self.agent_id)
            .field("client", &self.client.is_some())
            .finish()
    }
}

impl Source {
    /// A source named `name` (reported to handlers and in logs) with these settings.
    pub fn new(name: impl Into<String>, crypto: CallbackCrypto) -> Self {
        Source {
            name: name.into(),
            crypto,
            receivers: Receivers::Own,
            agent_id: None,
            client: None,
        }
    }

    /// Accepts any receive id: a service provider's data callbacks (数据回调) carry the id of
    /// the corp that authorised the suite, whichever it is. The handler reads it from
    /// [`receive_id`](super::Context::receive_id).
    pub fn any_receiver(mut self) -> Self {
        self.receivers = Receivers::Any;
        self
    }

    /// Accepts these receive ids (and no other).
    pub fn receivers<I: IntoIterator<Item = impl Into<String>>>(mut self, ids: I) -> Self {
        self.receivers = Receivers::AnyOf(ids.into_iter().map(Into::into).collect());
        self
    }

    /// Takes only callbacks whose `AgentID` is this app's (several apps of one corp sharing
    /// token and key on one URL).
    pub fn agent_id(mut self, agent_id: i64) -> Self {
        self.agent_id = Some(agent_id);
        self
    }

    /// A client for this app, suite or corp, for handlers to call WeCom with
    /// ([`Source::client`]).
    pub fn with_client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The name given to [`new`](Self::new).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its callback settings.
    pub fn crypto(&self) -> &CallbackCrypto {
        &self.crypto
    }

    /// The client given with [`with_client`](Self::with_client).
    pub fn client(&self) -> Option<&Client> {
        self.client.as_ref()
    }

    fn accepts(&self, receive_id: &str) -> bool {
        match &self.receivers {
            Receivers::Own => receive_id == self.crypto.receive_id(),
            Receivers::AnyOf(ids) => ids.iter().any(|id| id == receive_id),
            Receivers::Any => true,
        }
    }
}

/// A request opened by one source.
#[derive(Debug)]
pub struct Opened {
    /// The source that verified and decrypted it.
    pub source: Arc<Source>,
    /// The plaintext (XML, or JSON).
    pub plaintext: String,
    /// The receive id the frame carried.
    pub receive_id: String,
}

/// The sources of one callback URL; cheap to clone (clones share the list) and changeable
/// while the endpoint runs (a corp authorises a suite, an app is added).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    sources: Arc<RwLock<Vec<Arc<Source>>>>,
}

impl Registry {
    /// No sources yet.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds `source`, replacing one of the same name.
    pub fn insert(&self, source: Source) {
        let mut sources = self.write();
        sources.retain(|s| s.name != source.name);
        sources.push(Arc::new(source));
    }

    /// Removes the source named `name`; whether there was one.
    pub fn remove(&self, name: &str) -> bool {
        let mut sources = self.write();
        let before = sources.len();
        sources.retain(|s| s.name != name);
        sources.len() != before
    }

    /// The source named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Source>> {
        self.read().iter().find(|s| s.name == name).cloned()
    }

    /// How many sources there are.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest body any source accepts.
    pub fn max_body_size(&self) -> usize {
        self.read()
            .iter()
            .map(|s| s.crypto.max_body_size())
            .max()
            .unwrap_or(super::DEFAULT_MAX_BODY)
    }

    /// Answers a URL verification (GET): the decrypted `echostr` and the source that
    /// verified it.
    pub fn verify_url(&self, query: &str) -> Result<(Arc<Source>, String)> {
        let q = CallbackQuery::parse(query)?;
        let echostr = q.echostr.as_deref().ok_or_else(|| {
            Error::invalid_argument("echostr", "missing from the callback query string")
        })?;
        let opened = self.open_encrypt(&q, echostr, false)?;
        Ok((opened.source, opened.plaintext))
    }

    /// Verifies and decrypts a POST with the first source whose signature, receive id and
    /// `AgentID` fit. The body is size-capped and only scanned for `Encrypt` before a
    /// signature is checked.
    pub fn open(&self, query: &str, body: &[u8]) -> Result<Opened> {
        let max = self.max_body_size();
        if body.len() > max {
            return Err(Error::TooLarge {
                what: "callback body",
                limit: max as u64,
                size: Some(body.len() as u64),
            });
        }
        let q = CallbackQuery::parse(query)?;
        let encrypt = find_encrypt(body, max)?;
        self.open_encrypt(&q, &encrypt, true)
    }

    fn open_encrypt(&self, q: &CallbackQuery, encrypt: &str, check_agent: bool) -> Result<Opened> {
        let sources: Vec<Arc<Source>> = self.read().clone();
        if sources.is_empty() {
            return Err(Error::crypto("no callback source is registered"));
        }
        let mut last = None;
        for source in sources {
            let accept = |id: &str| source.accepts(id);
            match source.crypto.decrypt_for(
                &q.msg_signature,
                &q.timestamp,
                &q.nonce,
                encrypt,
                &accept,
            ) {
                Ok((plaintext, receive_id)) => {
                    if check_agent && !agent_fits(source.agent_id, &plaintext) {
                        last = Some(Error::crypto(
                            "the callback's AgentID is not that of a registered app",
                        ));
                        continue;
                    }
                    return Ok(Opened {
                        source,
                        plaintext,
                        receive_id,
                    });
                }
                // A signature that does not fit says least: keep a more telling error.
                Err(e) if last.is_some() && e.to_string().contains("signature") => {}
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::crypto("no registered source verifies this callback")))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Source>>> {
        self.sources.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<Source>>> {
        self.sources.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether the plaintext's `AgentID` is `agent_id` (any, when the source names none).
fn agent_fits(agent_id: Option<i64>, plaintext: &str) -> bool {
    let Some(want) = agent_id else {
        return true;
    };
    parse_fields(plaintext)
        .ok()
        .and_then(|fields| fields.text("AgentID"))
        .and_then(|id| id.trim().parse::<i64>().ok())
        == Some(want)
}
