//! What can go wrong with the Finance SDK, and the SDK's own return codes.

use std::fmt;
use std::path::PathBuf;

/// A return code of the Finance SDK's C functions (doc 91774, 错误码).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SdkCode(pub i32);

impl SdkCode {
    /// The documented meaning of the code, if WeCom documents it.
    pub fn meaning(self) -> Option<&'static str> {
        Some(match self.0 {
            10000 => "参数错误，请求参数错误",
            10001 => "网络错误，网络请求错误",
            10002 => "数据解析失败",
            10003 => "系统失败",
            10004 => "密钥错误导致加密失败",
            10005 => "fileid错误",
            10006 => "解密失败",
            10007 => "找不到消息加密版本的私钥，需要重新传入私钥对",
            10008 => "解析encrypt_key出错",
            10009 => "ip非法",
            10010 => "数据过期",
            10011 => "证书错误",
            _ => return None,
        })
    }

    /// Whether the same call may succeed later: network errors, failed parsing of
    /// WeCom's answer and system failures (10001–10003) are transient.
    pub fn is_retryable(self) -> bool {
        matches!(self.0, 10001..=10003)
    }
}

impl fmt::Debug for SdkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SdkCode({})", self.0)
    }
}

impl fmt::Display for SdkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.meaning() {
            Some(meaning) => write!(f, "{} ({meaning})", self.0),
            None => write!(f, "{} (undocumented)", self.0),
        }
    }
}

/// What became of a native call that did not return in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StuckCall {
    /// Worker mode: its worker process was killed; the next call starts a new one.
    WorkerKilled,
    /// In-process mode: a native call cannot be stopped from outside, so it keeps its
    /// blocking thread (and the SDK handle, which later GetChatData and GetMediaData calls
    /// wait for) until the library returns.
    StillRunning,
}

impl fmt::Display for StuckCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StuckCall::WorkerKilled => {
                "its worker process was killed; the next call starts a new one"
            }
            StuckCall::StillRunning => {
                "the native call cannot be stopped in this process and still holds its thread \
                 (WorkerBackend kills stuck calls)"
            }
        })
    }
}

/// An error of the Finance SDK wrapper. Never holds the archive secret or a decrypted key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FinanceError {
    /// The native library could not be opened, or lacks a function.
    #[error("cannot load the Finance SDK from {path}: {reason}")]
    Load {
        /// The path given.
        path: PathBuf,
        /// Why (from the dynamic loader).
        reason: String,
    },
    /// WeCom publishes the library for Linux x86_64/arm64 and Windows x86_64 only.
    #[error(
        "the Finance SDK has no build for {os}/{arch} (WeCom ships Linux x86_64 and aarch64, Windows x86_64)"
    )]
    UnsupportedPlatform {
        /// `std::env::consts::OS`.
        os: &'static str,
        /// `std::env::consts::ARCH`.
        arch: &'static str,
    },
    /// A C function of the SDK returned a non-zero code.
    #[error("Finance SDK {call} returned {code}")]
    Sdk {
        /// The C function.
        call: &'static str,
        /// Its return code.
        code: SdkCode,
    },
    /// GetChatData answered with a WeCom errcode (e.g. 301042 ip not allowed).
    #[error("GetChatData answered errcode {errcode}: {errmsg}")]
    Api {
        /// WeCom's errcode.
        errcode: i64,
        /// WeCom's errmsg.
        errmsg: String,
    },
    /// A message was encrypted with a public key whose private key is not in the key ring.
    #[error("no private key of version {version} in the key ring (have {known:?})")]
    UnknownKeyVersion {
        /// `publickey_ver` of the message.
        version: u32,
        /// The versions the key ring holds.
        known: Vec<u32>,
    },
    /// A key could not be read or used.
    #[error("RSA key of version {version}: {reason}")]
    Key {
        /// The key version.
        version: u32,
        /// What is wrong (never key material).
        reason: String,
    },
    /// Data from the SDK or WeCom that does not decode.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded, and where (seq, msgid).
        what: String,
        /// Why.
        reason: String,
    },
    /// An argument the SDK cannot take (limit over 1000, a NUL byte in a string).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The call did not finish in its timeout (plus a grace period).
    #[error("Finance SDK {call} did not finish within {seconds} s: {stuck}")]
    Timeout {
        /// The C function.
        call: &'static str,
        /// The time allowed.
        seconds: u64,
        /// What became of the native call.
        stuck: StuckCall,
    },
    /// The worker process died (a crash in the native library) during the call; the next
    /// call starts a new worker.
    #[error("the Finance SDK worker process died during {call}: {status}")]
    WorkerCrashed {
        /// What was being done.
        call: &'static str,
        /// How it ended (exit status or signal).
        status: String,
    },
    /// The worker could not be started or spoke out of turn.
    #[error("Finance SDK worker: {0}")]
    Worker(String),
    /// Reading or writing a file or pipe.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The puller's handler failed on a message; it is delivered again by the next run.
    #[error("handler failed on seq {seq}: {reason}")]
    Handler {
        /// The message's seq.
        seq: u64,
        /// The handler's error.
        reason: String,
    },
    /// The checkpoint store failed.
    #[error("checkpoint store: {0}")]
    Checkpoint(String),
}

impl FinanceError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            FinanceError::Sdk { code, .. } => code.is_retryable(),
            FinanceError::Timeout { .. } | FinanceError::WorkerCrashed { .. } => true,
            FinanceError::Checkpoint(_) => true,
            _ => false,
        }
    }

    /// The SDK return code, when the error is one.
    pub fn sdk_code(&self) -> Option<SdkCode> {
        match self {
            FinanceError::Sdk { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        FinanceError::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result of the finance module.
pub type FinanceResult<T> = std::result::Result<T, FinanceError>;
