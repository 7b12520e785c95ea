//! Archived messages: fetch a batch, decrypt each message to its typed form, download
//! media in pieces.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::archive::ArchivedMessage;

use super::error::{FinanceError, FinanceResult};
use super::keyring::KeyRing;
use super::sdk::{ArchiveBackend, MAX_CHAT_DATA_LIMIT, NetworkOptions};

/// One encrypted message of a GetChatData answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedChatData {
    /// Position of the message; the next GetChatData starts after the largest one seen.
    pub seq: u64,
    /// Message id.
    pub msgid: String,
    /// Version of the public key that encrypted `encrypt_random_key`.
    pub publickey_ver: u32,
    /// The random key, RSA-encrypted, base64.
    pub encrypt_random_key: String,
    /// The message, encrypted with the random key (for DecryptData).
    pub encrypt_chat_msg: String,
}

#[derive(Deserialize)]
struct ChatDataAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    chatdata: Vec<EncryptedChatData>,
}

/// A decrypted message with its place in the archive.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedRecord {
    /// Its `seq`.
    pub seq: u64,
    /// Its `msgid`.
    pub msgid: String,
    /// The typed message.
    pub message: ArchivedMessage,
}

/// Decodes a GetChatData answer into its encrypted messages.
pub fn parse_chat_data(json: &[u8]) -> FinanceResult<Vec<EncryptedChatData>> {
    let answer: ChatDataAnswer =
        serde_json::from_slice(json).map_err(|e| FinanceError::Decode {
            what: "the GetChatData answer".into(),
            reason: e.to_string(),
        })?;
    if answer.errcode != 0 {
        return Err(FinanceError::Api {
            errcode: answer.errcode,
            errmsg: answer.errmsg,
        });
    }
    Ok(answer.chatdata)
}

/// Decodes one decrypted message (leniently, like every generated type): one parse into
/// a tape borrowing `json`, then the typed fields, as `Client` decodes its responses (not
/// through serde's `Value`, which cost four times a plain `Value` parse).
pub fn decode_message(json: &[u8]) -> FinanceResult<ArchivedMessage> {
    crate::de::decode_body(json).map_err(|e| FinanceError::Decode {
        what: "a decrypted archived message".into(),
        reason: e.to_string(),
    })
}

/// The archive of one corp: an SDK backend, its private keys and network options.
#[derive(Clone)]
pub struct Archive {
    backend: Arc<dyn ArchiveBackend>,
    keys: Arc<KeyRing>,
    net: NetworkOptions,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("keys", &self.keys)
            .field("net", &self.net)
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// An archive reading through `backend` ([`InProcessBackend`](super::InProcessBackend)
    /// or [`WorkerBackend`](super::WorkerBackend)).
    pub fn new(backend: Arc<dyn ArchiveBackend>, keys: KeyRing, net: NetworkOptions) -> Self {
        Archive {
            backend,
            keys: Arc::new(keys),
            net,
        }
    }

    /// The encrypted messages after `seq`, at most `limit` (1–1000).
    pub async fn fetch(&self, seq: u64, limit: u32) -> FinanceResult<Vec<EncryptedChatData>> {
        if limit == 0 || limit > MAX_CHAT_DATA_LIMIT {
            return Err(FinanceError::InvalidArgument(format!(
                "limit {limit} is outside 1..={MAX_CHAT_DATA_LIMIT}"
            )));
        }
        let json = self
            .backend
            .get_chat_data(seq, limit, self.net.clone())
            .await?;
        parse_chat_data(&json)
    }

    /// Decrypts one message: its random key with the key ring, then the message with
    /// DecryptData, then decodes it.
    pub async fn decrypt(&self, item: &EncryptedChatData) -> FinanceResult<ArchivedRecord> {
        let key = self
            .keys
            .decrypt_random_key(item.publickey_ver, &item.encrypt_random_key)?;
        let json = self
            .backend
            .decrypt_data(key, item.encrypt_chat_msg.clone())
            .await?;
        let message = decode_message(&json).map_err(|e| match e {
            FinanceError::Decode { reason, .. } => FinanceError::Decode {
                what: format!("message seq {} msgid {}", item.seq, item.msgid),
                reason,
            },
            other => other,
        })?;
        Ok(ArchivedRecord {
            seq: item.seq,
            msgid: item.msgid.clone(),
            message,
        })
    }

    /// Streams the media `sdkfileid` to `out`, piece by piece (GetMediaData with `indexbuf`
    /// until `is_finish`); returns the number of bytes written.
    pub async fn download_media<W: AsyncWrite + Unpin>(
        &self,
        sdkfileid: &str,
        out: &mut W,
    ) -> FinanceResult<u64> {
        let mut index = String::new();
        let mut written = 0u64;
        loop {
            let chunk = self
                .backend
                .get_media_chunk(sdkfileid.to_owned(), index.clone(), self.net.clone())
                .await?;
            out.write_all(&chunk.data)
                .await
                .map_err(|e| FinanceError::io("writing media", e))?;
            written += chunk.data.len() as u64;
            if chunk.finished {
                break;
            }
            if chunk.next_index.is_empty() || chunk.next_index == index {
                return Err(FinanceError::Decode {
                    what: format!("GetMediaData of {sdkfileid}"),
                    reason: "unfinished piece without a new indexbuf".into(),
                });
            }
            index = chunk.next_index;
        }
        out.flush()
            .await
            .map_err(|e| FinanceError::io("writing media", e))?;
        Ok(written)
    }

    /// Downloads the media `sdkfileid` to a file at `path` (created or truncated).
    pub async fn download_media_to_file(&self, sdkfileid: &str, path: &Path) -> FinanceResult<u64> {
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| FinanceError::io(format!("creating {}", path.display()), e))?;
        self.download_media(sdkfileid, &mut file).await
    }
}
