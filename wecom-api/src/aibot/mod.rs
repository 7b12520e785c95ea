//! AI bots (智能机器人): typed JSON callbacks, replies, streams, and the two ways WeCom
//! delivers them: the webhook URL ([`AibotEndpoint`]) and the long connection
//! ([`LongConnection`]). One [`Bot`] handler serves both.
//!
//! - [`AibotCallback`]: a message (text, image, mixed, voice, file, video), a stream
//!   refresh or an event (`enter_chat`, `template_card_event`, `feedback_event`,
//!   `disconnected_event`), typed from `spec/aibot_callback.yaml`; unknown kinds are kept
//!   whole in the `Unknown` variants. `msgid` is the dedup key.
//! - [`AibotReply`] builders check WeCom's limits before anything is sent (stream content
//!   at most 20,480 bytes, at most 10 images, and only at `finish`).
//! - Streams: [`Context::stream`] opens a [`StreamWriter`] the handler feeds (an LLM's
//!   tokens); the webhook answers WeCom's refresh callbacks from a [`StreamStore`]
//!   (memory, or Redis with feature `redis`), the long connection pushes the growing
//!   content itself.
//! - Media: [`decrypt_media`] opens the encrypted image, file and video downloads.

mod callback;
mod endpoint;
#[cfg(feature = "axum")]
mod endpoint_axum;
mod handler;
mod media;
mod reply;
mod respond;
mod stream;
#[cfg(feature = "redis")]
mod stream_redis;
pub mod testing;
mod ws;

pub use crate::generated::aibot_callback::*;
pub use endpoint::AibotEndpoint;
pub use handler::{Bot, Context, MAX_EXCHANGES_PER_USER, Mode, Outcome};
pub use media::{MediaKey, decrypt_media, download_media};
pub use reply::{MAX_STREAM_BYTES, MAX_STREAM_IMAGES, seal_reply};
pub use respond::{respond_via_url, response_code};
pub use stream::{
    DEFAULT_MAX_STREAMS, DEFAULT_STREAM_TTL, MemoryStreamStore, NewStream, StreamSnapshot,
    StreamStore, StreamWriter,
};
#[cfg(feature = "redis")]
pub use stream_redis::RedisStreamStore;
pub use ws::{DEFAULT_WS_URL, LongConnection, Stopped};
