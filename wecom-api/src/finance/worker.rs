//! Crash isolation: the SDK runs in a child process (the `wecom-finance-worker` binary),
//! spoken to over its stdin/stdout with length-prefixed JSON frames. A crash of the native
//! library ends the child, not the caller: the call in flight gets
//! [`FinanceError::WorkerCrashed`] and the next call starts a fresh worker.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::{BoxFuture, Secret};

use super::error::{FinanceError, FinanceResult, SdkCode, StuckCall};
use super::ffi::MediaChunk;
use super::sdk::{ArchiveBackend, FinanceSdk, NetworkOptions};

/// How long a new worker may take to load the library and run `NewSdk` and `Init`.
const INIT_DEADLINE: Duration = Duration::from_secs(30);

/// Largest frame either side accepts: a GetChatData answer of 1000 messages is a few MB.
const MAX_FRAME: usize = 256 * 1024 * 1024;

pub(crate) mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Open {
        library: PathBuf,
        corp_id: String,
        secret: Secret,
    },
    ChatData {
        seq: u64,
        limit: u32,
        net: NetworkOptions,
    },
    Decrypt {
        key: Secret,
        encrypted: String,
    },
    Media {
        sdkfileid: String,
        index: String,
        net: NetworkOptions,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Response {
    Opened,
    Data {
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
    },
    Media {
        chunk: MediaChunk,
    },
    SdkError {
        call: String,
        code: i32,
    },
    Failed {
        message: String,
    },
}

fn static_call(call: &str) -> &'static str {
    ["Init", "GetChatData", "DecryptData", "GetMediaData"]
        .into_iter()
        .find(|known| *known == call)
        .unwrap_or("the SDK")
}

fn into_response<T>(result: FinanceResult<T>, ok: impl FnOnce(T) -> Response) -> Response {
    match result {
        Ok(value) => ok(value),
        Err(FinanceError::Sdk { call, code }) => Response::SdkError {
            call: call.to_owned(),
            code: code.0,
        },
        Err(other) => Response::Failed {
            message: other.to_string(),
        },
    }
}

fn read_frame_blocking(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

fn frame(body: &[u8]) -> FinanceResult<Vec<u8>> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|len| *len as usize <= MAX_FRAME)
        .ok_or_else(|| FinanceError::Worker("frame too large".into()))?;
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// The worker process's main loop: serve requests from stdin until it closes. The
/// `wecom-finance-worker` binary calls this; so can a binary of your own.
pub fn run_worker() -> std::process::ExitCode {
    // The native library may print to stdout; keep the frames on a private copy of it.
    let mut output = match super::ffi::take_stdout() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("wecom-finance-worker: cannot set up stdout: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut input = std::io::stdin().lock();
    let mut sdk: Option<FinanceSdk> = None;
    loop {
        let body = match read_frame_blocking(&mut input) {
            Ok(Some(body)) => body,
            Ok(None) => return std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("wecom-finance-worker: reading a request: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let response = match serde_json::from_slice::<Request>(&body) {
            Err(e) => Response::Failed {
                message: format!("bad request: {e}"),
            },
            Ok(Request::Open {
                library,
                corp_id,
                secret,
            }) => into_response(FinanceSdk::open(&library, &corp_id, &secret), |opened| {
                sdk = Some(opened);
                Response::Opened
            }),
            Ok(request) => match &sdk {
                None => Response::Failed {
                    message: "the worker was not opened".into(),
                },
                Some(sdk) => serve(sdk, request),
            },
        };
        let written = serde_json::to_vec(&response)
            .map_err(|e| FinanceError::Worker(e.to_string()))
            .and_then(|body| frame(&body))
            .and_then(|framed| {
                output
                    .write_all(&framed)
                    .and_then(|()| output.flush())
                    .map_err(|e| FinanceError::io("writing a response", e))
            });
        if let Err(e) = written {
            eprintln!("wecom-finance-worker: {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
}

fn serve(sdk: &FinanceSdk, request: Request) -> Response {
    match request {
        Request::Open { .. } => Response::Failed {
            message: "already opened".into(),
        },
        Request::ChatData { seq, limit, net } => {
            into_response(sdk.get_chat_data(seq, limit, &net), |data| Response::Data {
                data,
            })
        }
        Request::Decrypt { key, encrypted } => {
            into_response(sdk.decrypt_data(&key, &encrypted), |data| Response::Data {
                data,
            })
        }
        Request::Media {
            sdkfileid,
            index,
            net,
        } => into_response(sdk.get_media_chunk(&sdkfileid, &index, &net), |chunk| {
            Response::Media { chunk }
        }),
    }
}

/// How to start the worker: its executable, the library and the corp's credentials.
#[derive(Clone)]
pub struct WorkerConfig {
    /// The `wecom-finance-worker` executable (built with `--features finance`).
    pub worker_exe: PathBuf,
    /// `libWeWorkFinanceSdk_C.so`.
    pub library: PathBuf,
    /// Corp id.
    pub corp_id: String,
    /// 会话内容存档 secret.
    pub secret: Secret,
}

impl std::fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("worker_exe", &self.worker_exe)
            .field("library", &self.library)
            .field("corp_id", &self.corp_id)
            .field("secret", &self.secret)
            .finish()
    }
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Set while a request is on the pipe: a caller dropped mid-call leaves it set, and
    /// the half-read pipe is then thrown away with its worker.
    busy: bool,
}

impl Worker {
    async fn roundtrip(&mut self, request: &Request) -> std::io::Result<Response> {
        let body = serde_json::to_vec(request).map_err(std::io::Error::other)?;
        let framed = frame(&body).map_err(std::io::Error::other)?;
        self.busy = true;
        self.stdin.write_all(&framed).await?;
        self.stdin.flush().await?;
        let mut len = [0u8; 4];
        self.stdout.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "frame too large",
            ));
        }
        let mut body = vec![0; len];
        self.stdout.read_exact(&mut body).await?;
        self.busy = false;
        serde_json::from_slice(&body).map_err(std::io::Error::other)
    }

    async fn end(mut self) -> String {
        let _ = self.child.start_kill();
        match self.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => format!("unknown ({e})"),
        }
    }
}

/// Runs the SDK in worker processes, each restarted after a crash or a stuck call.
///
/// A pool of `pool_size` workers (1 by default, [`WorkerBackend::with_pool_size`]) serves
/// calls side by side, one call per worker at a time: with two or more, a slow
/// GetMediaData does not hold up GetChatData. A crash or a timeout fails only the call in
/// flight on that worker; the worker is killed and the next call on its slot starts a new
/// one.
pub struct WorkerBackend {
    inner: Arc<Inner>,
}

struct Inner {
    config: WorkerConfig,
    /// One slot per worker; a call holds its slot's lock for its whole round trip.
    slots: Vec<tokio::sync::Mutex<Option<Worker>>>,
    /// As many permits as slots: a permit guarantees a free slot.
    free: tokio::sync::Semaphore,
    starts: AtomicU64,
}

impl std::fmt::Debug for WorkerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBackend")
            .field("config", &self.inner.config)
            .field("pool_size", &self.pool_size())
            .field("starts", &self.starts())
            .finish_non_exhaustive()
    }
}

impl WorkerBackend {
    /// A backend of one worker, started on first use.
    pub fn new(config: WorkerConfig) -> Self {
        Self::with_pool_size(config, 1)
    }

    /// A backend of `pool_size` workers (at least 1), each started on first use. Every
    /// worker is its own process with its own SDK handle (`NewSdk` + `Init`).
    pub fn with_pool_size(config: WorkerConfig, pool_size: usize) -> Self {
        let pool_size = pool_size.max(1);
        WorkerBackend {
            inner: Arc::new(Inner {
                config,
                slots: (0..pool_size)
                    .map(|_| tokio::sync::Mutex::new(None))
                    .collect(),
                free: tokio::sync::Semaphore::new(pool_size),
                starts: AtomicU64::new(0),
            }),
        }
    }

    /// How many workers may run at once.
    pub fn pool_size(&self) -> usize {
        self.inner.slots.len()
    }

    /// How many worker processes were started so far (one more after each crash or
    /// killed stuck call).
    pub fn starts(&self) -> u64 {
        self.inner.starts.load(Ordering::Relaxed)
    }
}

impl Inner {
    async fn start(&self) -> FinanceResult<Worker> {
        let mut child = Command::new(&self.config.worker_exe)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                FinanceError::io(
                    format!("starting worker {}", self.config.worker_exe.display()),
                    e,
                )
            })?;
        self.starts.fetch_add(1, Ordering::Relaxed);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(FinanceError::Worker("worker pipes missing".into()));
        };
        let mut worker = Worker {
            child,
            stdin,
            stdout,
            busy: false,
        };
        let open = Request::Open {
            library: self.config.library.clone(),
            corp_id: self.config.corp_id.clone(),
            secret: self.config.secret.clone(),
        };
        match tokio::time::timeout(INIT_DEADLINE, worker.roundtrip(&open)).await {
            Ok(Ok(Response::Opened)) => Ok(worker),
            Ok(Ok(other)) => {
                worker.end().await;
                Err(response_error("Init", other))
            }
            Ok(Err(_)) => Err(FinanceError::WorkerCrashed {
                call: "Init",
                status: worker.end().await,
            }),
            Err(_) => {
                worker.end().await;
                Err(FinanceError::Timeout {
                    call: "Init",
                    seconds: INIT_DEADLINE.as_secs(),
                    stuck: StuckCall::WorkerKilled,
                })
            }
        }
    }

    /// Waits for a free slot and holds it: the permit is taken first and released last.
    async fn acquire(
        &self,
    ) -> FinanceResult<(
        tokio::sync::SemaphorePermit<'_>,
        tokio::sync::MutexGuard<'_, Option<Worker>>,
    )> {
        let permit = self
            .free
            .acquire()
            .await
            .map_err(|_| FinanceError::Worker("the worker pool is closed".into()))?;
        // Each call holding a slot holds a permit, so with ours one slot is unlocked.
        let guard = self
            .slots
            .iter()
            .find_map(|slot| slot.try_lock().ok())
            .ok_or_else(|| FinanceError::Worker("no free worker slot".into()))?;
        Ok((permit, guard))
    }

    async fn call(
        &self,
        call: &'static str,
        request: Request,
        deadline: Duration,
    ) -> FinanceResult<Response> {
        let (_permit, mut slot) = self.acquire().await?;
        if let Some(stale) = slot.take_if(|w| w.busy) {
            stale.end().await;
        }
        let worker = match slot.as_mut() {
            Some(worker) => worker,
            None => slot.insert(self.start().await?),
        };
        let outcome = tokio::time::timeout(deadline, worker.roundtrip(&request)).await;
        match outcome {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => {
                let status = match slot.take() {
                    Some(dead) => dead.end().await,
                    None => "unknown".into(),
                };
                tracing::warn!(call, %status, "Finance SDK worker died; the next call starts a new one");
                Err(FinanceError::WorkerCrashed { call, status })
            }
            Err(_) => {
                if let Some(stuck) = slot.take() {
                    stuck.end().await;
                }
                tracing::warn!(
                    call,
                    seconds = deadline.as_secs(),
                    "Finance SDK call stuck past its timeout; its worker was killed"
                );
                Err(FinanceError::Timeout {
                    call,
                    seconds: deadline.as_secs(),
                    stuck: StuckCall::WorkerKilled,
                })
            }
        }
    }
}

fn response_error(call: &'static str, response: Response) -> FinanceError {
    match response {
        Response::SdkError { call: at, code } => FinanceError::Sdk {
            call: static_call(&at),
            code: SdkCode(code),
        },
        Response::Failed { message } => FinanceError::Worker(message),
        _ => FinanceError::Worker(format!("unexpected answer to {call}")),
    }
}

impl ArchiveBackend for WorkerBackend {
    fn get_chat_data(
        &self,
        seq: u64,
        limit: u32,
        net: NetworkOptions,
    ) -> BoxFuture<FinanceResult<Vec<u8>>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let deadline = net.deadline();
            let request = Request::ChatData { seq, limit, net };
            match inner.call("GetChatData", request, deadline).await? {
                Response::Data { data } => Ok(data),
                other => Err(response_error("GetChatData", other)),
            }
        })
    }

    fn decrypt_data(&self, key: Secret, encrypted: String) -> BoxFuture<FinanceResult<Vec<u8>>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let request = Request::Decrypt { key, encrypted };
            match inner
                .call("DecryptData", request, Duration::from_secs(30))
                .await?
            {
                Response::Data { data } => Ok(data),
                other => Err(response_error("DecryptData", other)),
            }
        })
    }

    fn get_media_chunk(
        &self,
        sdkfileid: String,
        index: String,
        net: NetworkOptions,
    ) -> BoxFuture<FinanceResult<MediaChunk>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let deadline = net.deadline();
            let request = Request::Media {
                sdkfileid,
                index,
                net,
            };
            match inner.call("GetMediaData", request, deadline).await? {
                Response::Media { chunk } => Ok(chunk),
                other => Err(response_error("GetMediaData", other)),
            }
        })
    }
}
