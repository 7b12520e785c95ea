//! The AI bot's callback URL on the callback kit: the registry opens the encrypted JSON
//! (receive id `""`), dedup by `msgid` skips WeCom's retries, the handler runs on the
//! kit's bounded pool within the budget, and the answer is the encrypted JSON envelope, or
//! an empty 200 (101033: 可以选择直接回复空包). Stream refreshes are answered from the
//! stream store without calling the handler.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::handler::{Bot, Context, Mode, Outcome};
use super::reply::seal_reply;
use super::{AibotCallback, AibotUpdateCardReply};
use crate::Error;
use crate::callback::intake::{self, HandlerPool, Ran};
use crate::callback::{
    Answer, CallbackCrypto, DEFAULT_BUDGET, DEFAULT_MAX_HANDLERS, Dedup, DedupStore, Registry,
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
    pool: Arc<HandlerPool>,
}

impl fmt::Debug for AibotEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AibotEndpoint")
            .field("sources", &self.registry.len())
            .field("bot", &self.bot)
            .field("dedup", &self.dedup)
            .field("budget", &self.budget)
            .field("pool", &self.pool)
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
            pool: Arc::new(HandlerPool::new(DEFAULT_MAX_HANDLERS)),
        }
    }

    /// Where dedup claims of `msgid`s live: a `RedisDedup` lets several instances see each
    /// of WeCom's retries once.
    pub fn with_dedup(mut self, dedup: Arc<dyn DedupStore>) -> Self {
        self.dedup = dedup;
        self
    }

    /// How long the handler may take before WeCom is answered ([`DEFAULT_BUDGET`], a
    /// little under WeCom's 5 seconds). A slower handler goes on in the background; WeCom
    /// gets the first stream it opened by then (content so far, refreshed from the store
    /// until it finishes), or else an empty answer, and whatever it returns later is
    /// dropped (answer through `response_url` instead).
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// How many handlers may run at once ([`DEFAULT_MAX_HANDLERS`]), answered or still in
    /// the background; past that, callbacks are answered 503 and WeCom retries them.
    pub fn with_max_handlers(mut self, handlers: usize) -> Self {
        self.pool = Arc::new(HandlerPool::new(handlers));
        self
    }

    /// How many handlers are running now (answered or not).
    pub fn running(&self) -> usize {
        self.pool.running()
    }

    /// Stops taking new callbacks (answered 503, so WeCom retries them elsewhere or later)
    /// and waits up to `timeout` for running handlers; whether all finished. Refreshes of
    /// open streams are still answered from the store meanwhile: they start no handler.
    pub async fn shutdown(&self, timeout: Duration) -> bool {
        self.pool.shutdown(timeout).await
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
                Answer::from_open_error(&e)
            }
        }
    }

    /// Handles one POST: open, dedup, run the handler within the budget, answer (the
    /// encrypted JSON envelope, or an empty 200 without a reply).
    pub async fn receive(&self, query: &str, body: &[u8]) -> Answer {
        let opened = match self.registry.open(query, body) {
            Ok(opened) => opened,
            Err(e) => {
                tracing::warn!(error = %e, "AI-bot callback refused");
                return Answer::from_open_error(&e);
            }
        };
        let crypto = opened.source.crypto().clone();
        let callback = match AibotCallback::parse(&opened.plaintext) {
            Ok(callback) => callback,
            Err(e) => {
                tracing::warn!(error = %e, "AI-bot callback not readable");
                return Answer::refused(400, "malformed callback");
            }
        };
        // A refresh asks for a stream's state: answered from the store, every time (while
        // shutting down too: draining handlers may be writing the stream).
        if let Some(id) = callback.refreshed_stream() {
            return match self.bot.streams().get(id).await {
                Ok(Some(snapshot)) => seal(&crypto, snapshot.reply(id).to_json()),
                Ok(None) => {
                    tracing::warn!(stream = id, "refresh of an unknown or expired stream");
                    empty()
                }
                Err(e) => {
                    tracing::error!(error = %e, "stream store failed");
                    Answer::refused(503, "stream store unavailable")
                }
            };
        }
        if self.pool.is_closing() {
            return Answer::refused(503, "shutting down");
        }
        let key = callback.dedup_key();
        let claim = match intake::claim(&self.dedup, &key, self.budget)
            .await
            .or_answer(empty())
        {
            Ok(claim) => claim,
            Err(answer) => return answer,
        };
        let Some(admitted) = self.pool.try_admit() else {
            tracing::warn!(key, "too many AI-bot handlers running; WeCom will retry");
            drop(claim);
            return Answer::refused(503, "busy");
        };
        let enter_chat = callback.is_enter_chat();
        let ctx = self.bot.context(Mode::Webhook, &callback);
        let (bot, task_ctx) = (self.bot.clone(), ctx.clone());
        let handler = async move { bot.run(task_ctx, callback).await };
        let late_ctx = ctx.clone();
        let late = move |out: Result<Outcome, _>| match out {
            Ok(Outcome::Nothing) | Err(_) => {}
            Ok(Outcome::Stream(writer))
                if late_ctx
                    .first_stream()
                    .is_some_and(|first| first.id() == writer.id()) => {}
            Ok(_) => tracing::warn!(
                "an AI-bot handler that ran past the budget returned a reply WeCom can no longer get: it was dropped (answer through response_url)"
            ),
        };
        match HandlerPool::run_within(admitted, claim, self.budget, handler, late).await {
            Ran::Returned(Ok(outcome)) => self.answer(&crypto, outcome, enter_chat).await,
            Ran::Returned(Err(e)) => {
                tracing::warn!(error = %e, "AI-bot handler failed; WeCom will retry");
                Answer::refused(500, "handler failed")
            }
            // Its claim was released as it unwound.
            Ran::Panicked => Answer::refused(500, "handler failed"),
            Ran::Late => self.answer_late(&crypto, &ctx).await,
        }
    }

    /// The answer when the handler outlives the budget: the stream it opened, if any, so
    /// WeCom refreshes it while the handler writes; else nothing.
    async fn answer_late(&self, crypto: &CallbackCrypto, ctx: &Context) -> Answer {
        match ctx.first_stream() {
            Some(writer) => {
                tracing::info!(
                    "AI-bot handler still running after the budget: answered with its stream"
                );
                self.answer(crypto, Outcome::Stream(writer), false).await
            }
            None => {
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
                Ok(Some(snapshot)) => seal(crypto, snapshot.first_reply(writer.id()).to_json()),
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
