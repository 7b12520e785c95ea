//! The dispatcher: async handlers registered per callback kind or family, each given the
//! typed value it asked for and a [`Context`] (shared state, which app or corp the
//! callback came for, its dedup key). Sources (the HTTP endpoint, tests) feed it.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::registry::Source;
use super::{Callback, Event, Message, Reply};
use crate::BoxFuture;

/// An error a handler returns: logged (or given to [`Router::on_error`]); the callback is
/// then answered with an error status, so WeCom retries it.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a handler returns: a passive reply, or `None` for the plain `success` answer.
pub type HandlerResult = Result<Option<Reply>, HandlerError>;

/// A type a handler can ask for: a message or event struct, a `ChangeType` family
/// (`ChangeContactEvent`), all messages ([`Message`]), all events ([`Event`]) or anything
/// ([`Callback`]). Generated for every typed callback.
pub trait FromCallback: Sized + Send + 'static {
    /// The kind, or the family of kinds, it stands for (`message.text`,
    /// `event.change_contact`, `event`, `""` for every callback): see [`Callback::kind`].
    const KIND: &'static str;
    /// The typed value, or the callback back if it is of another kind.
    // Handing the callback back by value is the point; a mismatch only follows a routing bug.
    #[allow(clippy::result_large_err)]
    fn from_callback(callback: Callback) -> Result<Self, Callback>;
}

impl FromCallback for Callback {
    const KIND: &'static str = "";
    fn from_callback(callback: Callback) -> Result<Self, Callback> {
        Ok(callback)
    }
}

// Generated groups are not built for the runtime's own unit tests.
#[cfg(all(feature = "hardware", not(test)))]
impl FromCallback for crate::generated::hardware::HardwareCallback {
    const KIND: &'static str = "hardware";
    fn from_callback(callback: Callback) -> Result<Self, Callback> {
        match callback {
            Callback::Hardware(push) => Ok(push),
            other => Err(other),
        }
    }
}

impl FromCallback for Message {
    const KIND: &'static str = "message";
    fn from_callback(callback: Callback) -> Result<Self, Callback> {
        match callback {
            Callback::Message(message) => Ok(message),
            other => Err(other),
        }
    }
}

impl FromCallback for Event {
    const KIND: &'static str = "event";
    fn from_callback(callback: Callback) -> Result<Self, Callback> {
        match callback {
            Callback::Event(event) => Ok(event),
            other => Err(other),
        }
    }
}

/// What a handler gets besides the typed value.
pub struct Context<S> {
    state: S,
    source: Arc<Source>,
    receive_id: String,
    kind: &'static str,
    key: String,
}

impl<S: Clone> Clone for Context<S> {
    fn clone(&self) -> Self {
        Context {
            state: self.state.clone(),
            source: Arc::clone(&self.source),
            receive_id: self.receive_id.clone(),
            kind: self.kind,
            key: self.key.clone(),
        }
    }
}

impl<S> fmt::Debug for Context<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("source", &self.source.name())
            .field("kind", &self.kind)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<S> Context<S> {
    /// A context for dispatching `callback`, opened by `source` from a frame carrying
    /// `receive_id` (the endpoint makes these; so can tests).
    pub fn new(state: S, source: Arc<Source>, receive_id: String, callback: &Callback) -> Self {
        Self::with_key(state, source, receive_id, callback, callback.dedup_key())
    }

    /// [`new`](Self::new) with the dedup key already computed (the endpoint claimed it).
    pub(crate) fn with_key(
        state: S,
        source: Arc<Source>,
        receive_id: String,
        callback: &Callback,
        key: String,
    ) -> Self {
        Context {
            state,
            source,
            receive_id,
            kind: callback.kind(),
            key,
        }
    }

    /// The state given to the endpoint.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Which registered app, suite or corp the callback came for.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The receive id of the encrypted frame: the corp id (for a provider's data
    /// callbacks, the authorising corp's), the suite id, or `""` for bots.
    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// The callback's kind (`message.text`, `event.change_contact.create_user`, ...).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The key that identifies the callback across WeCom's retries.
    pub fn dedup_key(&self) -> &str {
        &self.key
    }
}

type Erased<S> = Arc<dyn Fn(Context<S>, Callback) -> BoxFuture<HandlerResult> + Send + Sync>;
type ErrorHook<S> = Arc<dyn Fn(&Context<S>, &HandlerError) + Send + Sync>;

/// Handlers by callback kind or family, a fallback and an error hook.
///
/// A callback goes to the handler of its exact kind, else of the nearest family
/// (`event.change_contact.create_user`, then `event.change_contact`, then `event`), else
/// to the fallback; with none, it is answered `success` unhandled.
///
/// ```
/// use wecom_api::callback::{ChangeContactEvent, Context, HandlerResult, Reply, Router, TextMessage};
///
/// #[derive(Clone)]
/// struct App { greeting: String }
///
/// async fn on_text(ctx: Context<App>, text: TextMessage) -> HandlerResult {
///     let echo = format!("{} {}", ctx.state().greeting, text.content.unwrap_or_default());
///     Ok(Some(Reply::text(echo)))
/// }
///
/// async fn on_contacts(_ctx: Context<App>, change: ChangeContactEvent) -> HandlerResult {
///     println!("contacts changed: {}", change.kind());
///     Ok(None)
/// }
///
/// let router = Router::new().on(on_text).on(on_contacts);
/// assert!(router.handles("message.text"));
/// assert!(router.handles("event.change_contact.update_user"));
/// assert!(!router.handles("event.click"));
/// ```
pub struct Router<S> {
    routes: HashMap<&'static str, Erased<S>>,
    fallback: Option<Erased<S>>,
    on_error: Option<ErrorHook<S>>,
}

impl<S> Clone for Router<S> {
    fn clone(&self) -> Self {
        Router {
            routes: self.routes.clone(),
            fallback: self.fallback.clone(),
            on_error: self.on_error.clone(),
        }
    }
}

impl<S> fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kinds: Vec<_> = self.routes.keys().collect();
        kinds.sort();
        f.debug_struct("Router")
            .field("routes", &kinds)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl<S: Send + 'static> Default for Router<S> {
    fn default() -> Self {
        Router::new()
    }
}

impl<S: Send + 'static> Router<S> {
    /// No handlers yet.
    pub fn new() -> Self {
        Router {
            routes: HashMap::new(),
            fallback: None,
            on_error: None,
        }
    }

    /// Handles every callback of `T`'s kind or family with `handler`. A later handler
    /// for the same kind replaces the earlier one.
    pub fn on<T, F, Fut>(mut self, handler: F) -> Self
    where
        T: FromCallback,
        F: Fn(Context<S>, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: Erased<S> = Arc::new(move |ctx, callback| {
            match T::from_callback(callback) {
                Ok(value) => Box::pin(handler(ctx, value)),
                // The route is chosen by kind, so this is a bug of ours; say so, do not panic.
                Err(other) => {
                    let kind = other.kind();
                    Box::pin(std::future::ready(Err(format!(
                        "callback router: `{kind}` was routed to a handler of `{}`",
                        T::KIND
                    )
                    .into())))
                }
            }
        });
        if T::KIND.is_empty() {
            self.fallback = Some(erased);
        } else {
            self.routes.insert(T::KIND, erased);
        }
        self
    }

    /// Handles every callback no other handler takes (unknown kinds included).
    pub fn fallback<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Context<S>, Callback) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.on::<Callback, _, _>(handler)
    }

    /// Called with every error a handler returns (by default they are logged with
    /// `tracing`).
    pub fn on_error(
        mut self,
        hook: impl Fn(&Context<S>, &HandlerError) + Send + Sync + 'static,
    ) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Whether a handler (not the fallback) takes callbacks of `kind`.
    pub fn handles(&self, kind: &str) -> bool {
        self.route(kind).is_some()
    }

    fn route(&self, kind: &str) -> Option<&Erased<S>> {
        let mut prefix = kind;
        loop {
            if let Some(handler) = self.routes.get(prefix) {
                return Some(handler);
            }
            prefix = &prefix[..prefix.rfind('.')?];
        }
    }

    /// Runs the handler for `callback`. Errors go to the error hook too.
    pub async fn dispatch(&self, ctx: Context<S>, callback: Callback) -> HandlerResult
    where
        S: Clone,
    {
        let handler = self
            .route(callback.kind())
            .or(self.fallback.as_ref())
            .cloned();
        let Some(handler) = handler else {
            tracing::debug!(kind = callback.kind(), "no handler for this callback");
            return Ok(None);
        };
        let hook_ctx = ctx.clone();
        let out = handler(ctx, callback).await;
        if let Err(e) = &out {
            match &self.on_error {
                Some(hook) => hook(&hook_ctx, e),
                None => tracing::warn!(
                    kind = hook_ctx.kind(),
                    source = hook_ctx.source().name(),
                    error = %e,
                    "callback handler failed; WeCom will retry"
                ),
            }
        }
        out
    }
}
