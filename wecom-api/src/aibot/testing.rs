//! Helpers for testing a bot: open the JSON envelope a webhook answered, encrypt media as
//! WeCom serves it.

use super::media::{MediaKey, encrypt_media as encrypt};
use crate::callback::CallbackCrypto;
use crate::{Error, Result};

/// Verifies and decrypts the encrypted JSON reply envelope
/// (`{encrypt, msgsignature, timestamp, nonce}`), giving the reply's JSON.
pub fn open_reply(crypto: &CallbackCrypto, body: &str) -> Result<String> {
    let envelope: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| Error::invalid_argument("reply", format!("not JSON: {e}")))?;
    let field = |name: &str| -> Result<String> {
        match envelope.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            _ => Err(Error::invalid_argument("reply", format!("no `{name}`"))),
        }
    };
    crypto.decrypt(
        &field("msgsignature")?,
        &field("timestamp")?,
        &field("nonce")?,
        &field("encrypt")?,
    )
}

/// Encrypts `plain` as WeCom serves media downloads (AES-256-CBC, IV the key's first 16
/// bytes, PKCS#7 to 32 bytes).
pub fn encrypt_media(plain: &[u8], key: &MediaKey) -> Vec<u8> {
    encrypt(plain, key)
}
