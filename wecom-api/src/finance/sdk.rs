//! The SDK in this process: a blocking handle, and the async backend that runs it on
//! tokio's blocking threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{BoxFuture, Secret};

use super::error::{FinanceError, FinanceResult, StuckCall};
use super::ffi::{self, Library, MediaChunk, RawSdk};

/// Largest `limit` of one GetChatData call (doc 91774).
pub const MAX_CHAT_DATA_LIMIT: u32 = 1000;

/// Where and how to reach WeCom: proxy and timeout of the SDK's network calls.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct NetworkOptions {
    /// Proxy, e.g. `socks5://10.0.0.1:8081` or `http://10.0.0.1:8080`; empty for none.
    pub proxy: String,
    /// Proxy credentials `user:password`; empty for none.
    pub proxy_password: Secret,
    /// Timeout of one SDK call, in seconds (the SDK takes whole seconds).
    pub timeout_secs: u32,
}

impl std::fmt::Debug for NetworkOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkOptions")
            .field("proxy", &crate::redact::redact_userinfo(&self.proxy))
            .field("proxy_password", &self.proxy_password)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl NetworkOptions {
    /// No proxy, the given timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        NetworkOptions {
            timeout_secs: u32::try_from(timeout.as_secs().max(1)).unwrap_or(u32::MAX),
            ..NetworkOptions::default()
        }
    }

    fn timeout_arg(&self) -> i32 {
        i32::try_from(self.timeout_secs.max(1)).unwrap_or(i32::MAX)
    }

    /// How long to wait for a call before giving up on it: its timeout plus a grace period
    /// for the SDK's own bookkeeping.
    pub(crate) fn deadline(&self) -> Duration {
        Duration::from_secs(u64::from(self.timeout_secs.max(1)) + 2)
    }
}

/// What the crate needs from the SDK, in this process or in a worker process.
pub trait ArchiveBackend: Send + Sync {
    /// GetChatData: the raw JSON answer (`{"errcode":0,"chatdata":[...]}`).
    fn get_chat_data(
        &self,
        seq: u64,
        limit: u32,
        net: NetworkOptions,
    ) -> BoxFuture<FinanceResult<Vec<u8>>>;
    /// DecryptData: the decrypted message JSON.
    fn decrypt_data(
        &self,
        random_key: Secret,
        encrypted: String,
    ) -> BoxFuture<FinanceResult<Vec<u8>>>;
    /// GetMediaData: one piece of a media file.
    fn get_media_chunk(
        &self,
        sdkfileid: String,
        index: String,
        net: NetworkOptions,
    ) -> BoxFuture<FinanceResult<MediaChunk>>;
}

/// The Finance SDK loaded into this process, initialised for one corp. Blocking calls.
///
/// A crash inside the native library takes this process down, and a native call that
/// never returns cannot be stopped (a thread cannot be cancelled safely from outside): it
/// keeps its thread and the SDK handle for good. Use
/// [`WorkerBackend`](super::WorkerBackend) to contain both: it kills a crashed or stuck
/// worker process and starts a new one.
pub struct FinanceSdk {
    lib: Arc<Library>,
    sdk: Mutex<RawSdk>,
    library_path: PathBuf,
}

impl std::fmt::Debug for FinanceSdk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinanceSdk")
            .field("library", &self.library_path)
            .finish_non_exhaustive()
    }
}

impl FinanceSdk {
    /// Loads the library at `library` (`libWeWorkFinanceSdk_C.so`) and runs `NewSdk` and
    /// `Init` with the corp id and the 会话内容存档 secret.
    pub fn open(library: &Path, corp_id: &str, secret: &Secret) -> FinanceResult<Self> {
        let lib = Library::load(library)?;
        let sdk = RawSdk::new(lib.clone(), corp_id, secret.expose())?;
        Ok(FinanceSdk {
            lib,
            sdk: Mutex::new(sdk),
            library_path: library.to_path_buf(),
        })
    }

    fn handle(&self) -> std::sync::MutexGuard<'_, RawSdk> {
        // A panic while holding the lock cannot leave the C handle half-updated.
        self.sdk
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// GetChatData from `seq` (exclusive), at most `limit` (1–1000) messages.
    pub fn get_chat_data(
        &self,
        seq: u64,
        limit: u32,
        net: &NetworkOptions,
    ) -> FinanceResult<Vec<u8>> {
        if limit == 0 || limit > MAX_CHAT_DATA_LIMIT {
            return Err(FinanceError::InvalidArgument(format!(
                "limit {limit} is outside 1..={MAX_CHAT_DATA_LIMIT}"
            )));
        }
        self.handle().get_chat_data(
            seq,
            limit,
            &net.proxy,
            net.proxy_password.expose(),
            net.timeout_arg(),
        )
    }

    /// DecryptData of `encrypt_chat_msg` with the random key decrypted by the key ring.
    pub fn decrypt_data(&self, random_key: &Secret, encrypted: &str) -> FinanceResult<Vec<u8>> {
        ffi::decrypt_data(&self.lib, random_key.expose(), encrypted)
    }

    /// GetMediaData: the piece of `sdkfileid` starting at `index` (empty for the first).
    pub fn get_media_chunk(
        &self,
        sdkfileid: &str,
        index: &str,
        net: &NetworkOptions,
    ) -> FinanceResult<MediaChunk> {
        if sdkfileid.is_empty() {
            return Err(FinanceError::InvalidArgument("sdkfileid is empty".into()));
        }
        self.handle().get_media_chunk(
            index,
            sdkfileid,
            &net.proxy,
            net.proxy_password.expose(),
            net.timeout_arg(),
        )
    }
}

/// Runs [`FinanceSdk`] calls on tokio's blocking threads, each bounded by its timeout.
///
/// **A stuck native call cannot be stopped in this mode.** A call past its deadline
/// (the SDK timeout plus 2 s) returns [`FinanceError::Timeout`] with
/// [`StuckCall::StillRunning`](super::StuckCall::StillRunning), but the native call goes on
/// in its blocking thread until the library returns, and later GetChatData and
/// GetMediaData calls wait for the SDK handle it holds. If the library may hang (or
/// crash), use [`WorkerBackend`](super::WorkerBackend): it kills the stuck worker process,
/// the call fails with [`StuckCall::WorkerKilled`](super::StuckCall::WorkerKilled), and
/// later calls go on in a new worker.
#[derive(Debug, Clone)]
pub struct InProcessBackend {
    sdk: Arc<FinanceSdk>,
}

impl InProcessBackend {
    /// Wraps an opened SDK.
    pub fn new(sdk: FinanceSdk) -> Self {
        InProcessBackend { sdk: Arc::new(sdk) }
    }
}

async fn blocking<T: Send + 'static>(
    call: &'static str,
    deadline: Duration,
    f: impl FnOnce() -> FinanceResult<T> + Send + 'static,
) -> FinanceResult<T> {
    let task = tokio::task::spawn_blocking(f);
    match tokio::time::timeout(deadline, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(FinanceError::Worker(format!("{call} panicked: {join}"))),
        Err(_) => Err(FinanceError::Timeout {
            call,
            seconds: deadline.as_secs(),
            stuck: StuckCall::StillRunning,
        }),
    }
}

impl ArchiveBackend for InProcessBackend {
    fn get_chat_data(
        &self,
        seq: u64,
        limit: u32,
        net: NetworkOptions,
    ) -> BoxFuture<FinanceResult<Vec<u8>>> {
        let sdk = self.sdk.clone();
        Box::pin(blocking("GetChatData", net.deadline(), move || {
            sdk.get_chat_data(seq, limit, &net)
        }))
    }

    fn decrypt_data(
        &self,
        random_key: Secret,
        encrypted: String,
    ) -> BoxFuture<FinanceResult<Vec<u8>>> {
        let sdk = self.sdk.clone();
        // Local computation: bounded only to never wait forever on a stuck library.
        Box::pin(blocking(
            "DecryptData",
            Duration::from_secs(30),
            move || sdk.decrypt_data(&random_key, &encrypted),
        ))
    }

    fn get_media_chunk(
        &self,
        sdkfileid: String,
        index: String,
        net: NetworkOptions,
    ) -> BoxFuture<FinanceResult<MediaChunk>> {
        let sdk = self.sdk.clone();
        Box::pin(blocking("GetMediaData", net.deadline(), move || {
            sdk.get_media_chunk(&sdkfileid, &index, &net)
        }))
    }
}
