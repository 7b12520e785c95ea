//! 会话内容存档 (archived chat content) through WeCom's native Finance SDK (feature
//! `finance`).
//!
//! - The library (`libWeWorkFinanceSdk_C.so`) is loaded at run time from a path you give
//!   ([`FinanceSdk::open`]); nothing is linked at build time.
//! - Calls run on tokio's blocking threads ([`InProcessBackend`]) or, to survive a crash
//!   of the native code, in a worker process ([`WorkerBackend`], the
//!   `wecom-finance-worker` binary, a pool of one or more), restarted after a crash; a call
//!   past its timeout kills its worker. In process, a stuck native call cannot be stopped.
//! - [`KeyRing`] decrypts `encrypt_random_key` with the private key of its
//!   `publickey_ver`; [`Archive`] decrypts and decodes messages into
//!   [`ArchivedMessage`](crate::archive::ArchivedMessage) and streams media.
//! - [`Puller`] delivers messages in order, at least once, from a [`Checkpoint`].

mod archive;
mod checkpoint;
mod error;
mod ffi;
mod keyring;
mod puller;
mod sdk;
mod worker;

pub use archive::{Archive, ArchivedRecord, EncryptedChatData, decode_message, parse_chat_data};
#[cfg(feature = "redis")]
pub use checkpoint::RedisCheckpoint;
pub use checkpoint::{Checkpoint, MemoryCheckpoint};
pub use error::{FinanceError, FinanceResult, SdkCode, StuckCall};
pub use ffi::MediaChunk;
pub use keyring::KeyRing;
pub use puller::{PulledMessage, Puller, PullerStop, PullerWaker};
pub use sdk::{ArchiveBackend, FinanceSdk, InProcessBackend, MAX_CHAT_DATA_LIMIT, NetworkOptions};
pub use worker::{WorkerBackend, WorkerConfig, run_worker};
