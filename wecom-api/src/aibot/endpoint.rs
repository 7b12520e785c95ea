//! The AI bot's callback URL on the callback kit: the registry opens the encrypted JSON
//! (receive id `""`), dedup skips WeCom's retries, the handler runs within the budget, and
//! the answer is the encrypted JSON envelope. Stream refreshes are answered from the
//! stream store without calling the handler.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::handler::{Bot, Mode, Outcome};
use super::reply::seal_reply;
use super::{AibotCallback, AibotUpdateCardReply};
use crate::Error;
use crate::callback::{
    Answer, CallbackCrypto, Claimed, DEFAULT_BUDGET, Dedup, DedupStore, OwnedClaim, Registry,
    Source,
};

/// An AI bot's callback URL; cheap to clone.
///
/// ```
/// use wecom_api::aibot::{AibotEndpoint, AibotReply, Bot, Outcome};
/// use wecom_api::callback::CallbackCrypto;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> wecom_api::Result<()> {
/// let crypto = CallbackCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "")?;
/// let bot = Bot::new(|_ctx, callback| async move {
///     Ok(if callback.is_enter_chat() { AibotReply::text("你好").into() } else { Outcome::Nothing })
/// });
/// let endpoint = AibotEndpoint::new(crypto.clone(), bot);
/// let request = crypto.seal_json_request(
///     r#"{"msgid":"1","aibotid":"B","from":{"userid":"u"},"msgtype":"event","event":{"eventtype":"enter_chat"}}"#,
/// )?;
/// let answer = endpoint.receive(&request.query, request.body.as_bytes()).await;
/// let reply = wecom_api::aibot::testing::open_reply(&crypto, &answer.body)?;
/// assert!(reply.contains("你好"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AibotEndpoint {
    registry: Registry,
    bot: Bot,
    dedup: Arc<dyn DedupStore>,
    budget: Duration,
}

impl fmt::Debug for AibotEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AibotEndpoint")
            .field("sources", &self.registry.len())
            .field("bot", &self.bot)
            .field("budget", &self.budget)
            .finish()
    }
}

impl AibotEndpoint {
    /// The endpoint of one bot with these callback settings (token, EncodingAESKey;
    /// receive id `""`).
    pub fn new(crypto: CallbackCrypto, bot: Bot) -> Self {
        let registry = Registry::new();
        registry.insert(Source::new("aibot", crypto));
        AibotEndpoint::with_registry(registry, bot)
    }

    /// The endpoint of several bots on one URL: one source per bot.
    pub fn with_registry(registry: Registry, bot: Bot) -> Self {
        AibotEndpoint {
            registry,
            bot,
            dedup: Arc::new(Dedup::default()),
            budget: DEFAULT_BUDGET,
        }
    }

    /// Where dedup claims live (a `RedisDedup` for several instances).
    pub fn with_dedup(mut self, dedup: Arc<dyn DedupStore>) -> Self {
        self.dedup = dedup;
        self
    }

    /// How long the handler may take before WeCom is answered without a reply.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Answers the URL verification (GET): the decrypted `echostr`.
    pub fn verify(&self, query: &str) -> Answer {
        match self.registry.verify_url(query) {
            Ok((_, echo)) => Answer {
                status: 200,
                body: echo,
            },
            Err(e) => {
                tracing::warn!(error = %e, "AI-bot URL verification refused");
                refusal(&e)
            }
        }
    }

    /// Handles one POST: open, dedup, run the handler, answer (the encrypted JSON
    /// envelope, or an empty 200 without a reply).
    pub async fn receive(&self, query: &str, body: &[u8]) -> Answer {
        let opened = match self.registry.open(query, body) {
            Ok(opened) => opened,
            Err(e) => {
                tracing::warn!(error = %e, "AI-bot callback refused");
                return refusal(&e);
            }
        };
        let crypto = opened.source.crypto().clone();
        let callback = match AibotCallback::parse(&opened.plaintext) {
            Ok(callback) => callback,
            Err(e) => {
                tracing::warn!(error = %e, "AI-bot callback not readable");
                return Answer {
                    status: 400,
                    body: "malformed callback".into(),
                };
            }
        };
        // A refresh asks for a stream's state: answered from the store, every time.
        if let Some(id) = callback.refreshed_stream() {
            return match self.bot.streams().get(id).await {
                Ok(Some(snapshot)) => seal(&crypto, snapshot.reply(id).to_json()),
                Ok(None) => {
                    tracing::warn!(stream = id, "refresh of an unknown or expired stream");
                    empty()
                }
                Err(e) => {
                    tracing::error!(error = %e, "stream store failed");
                    Answer {
                        status: 503,
                        body: "stream store unavailable".into(),
                    }
                }
            };
        }
        let key = callback.dedup_key();
        let claim = match OwnedClaim::claim(&self.dedup, &key).await {
            Ok(Ok(claim)) => claim,
            Ok(Err(Claimed::Done)) => return empty(),
            Ok(Err(_)) => {
                return Answer {
                    status: 503,
                    body: "this callback is being handled".into(),
                };
            }
            Err(e) => {
                tracing::error!(error = %e, "dedup store failed");
                return Answer {
                    status: 503,
                    body: "dedup store unavailable".into(),
                };
            }
        };
        let enter_chat = callback.is_enter_chat();
        let bot = self.bot.clone();
        let (send, answer) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let out = bot.handle(Mode::Webhook, callback).await;
            let settled = match &out {
                Ok(_) => claim.done().await,
                Err(_) => claim.release().await,
            };
            if let Err(e) = settled {
                tracing::warn!(error = %e, "could not record the callback in the dedup store");
            }
            let _ = send.send(out);
        });
        match tokio::time::timeout(self.budget, answer).await {
            Ok(Ok(Ok(outcome))) => self.answer(&crypto, outcome, enter_chat).await,
            Ok(Ok(Err(e))) => {
                tracing::warn!(error = %e, "AI-bot handler failed; WeCom will retry");
                Answer {
                    status: 500,
                    body: "handler failed".into(),
                }
            }
            Ok(Err(_)) => Answer {
                status: 500,
                body: "handler failed".into(),
            },
            Err(_) => {
                tracing::info!(
                    "AI-bot handler still running after the budget: answered without a reply"
                );
                empty()
            }
        }
    }

    async fn answer(&self, crypto: &CallbackCrypto, outcome: Outcome, enter_chat: bool) -> Answer {
        match outcome {
            Outcome::Nothing => empty(),
            Outcome::Reply(reply) => {
                if !enter_chat && matches!(reply.content, super::AibotReplyContent::Text(_)) {
                    tracing::error!("a text reply answers only enter_chat; not sent");
                    return empty();
                }
                seal(crypto, reply.to_json())
            }
            Outcome::UpdateCard(update) => seal(crypto, update_json(&update)),
            Outcome::Stream(writer) => match writer.snapshot().await {
                Ok(Some(snapshot)) => seal(crypto, snapshot.reply(writer.id()).to_json()),
                Ok(None) => empty(),
                Err(e) => {
                    tracing::error!(error = %e, "stream store failed");
                    empty()
                }
            },
        }
    }

    /// The sources (bots) this endpoint serves.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

pub(crate) fn update_json(update: &AibotUpdateCardReply) -> crate::Result<String> {
    serde_json::to_string(update)
        .map_err(|e| Error::invalid_argument("update_template_card", e.to_string()))
}

fn seal(crypto: &CallbackCrypto, json: crate::Result<String>) -> Answer {
    match json.and_then(|json| seal_reply(crypto, &json)) {
        Ok(body) => Answer { status: 200, body },
        Err(e) => {
            tracing::error!(error = %e, "AI-bot reply not sent");
            empty()
        }
    }
}

fn empty() -> Answer {
    Answer {
        status: 200,
        body: String::new(),
    }
}

fn refusal(error: &Error) -> Answer {
    let (status, body) = match error {
        Error::TooLarge { .. } => (413, "callback body too large"),
        Error::Crypto { .. } => (403, "callback not verified"),
        _ => (400, "malformed callback request"),
    };
    Answer {
        status,
        body: body.into(),
    }
}
