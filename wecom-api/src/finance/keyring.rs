//! Private keys by version: `encrypt_random_key` is RSA PKCS#1 v1.5 with the corp's public
//! key of version `publickey_ver`.

use std::collections::BTreeMap;

use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};

use crate::Secret;

use super::error::{FinanceError, FinanceResult};

/// The corp's message-encryption private keys, by public key version (管理端「消息加密公钥」版本).
/// `Debug` shows the versions only.
#[derive(Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<u32, RsaPrivateKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("versions", &self.versions())
            .finish()
    }
}

impl KeyRing {
    /// An empty key ring.
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// Adds the key of `version` from PEM: PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8
    /// (`BEGIN PRIVATE KEY`). Replaces a key of the same version.
    pub fn add_pem(&mut self, version: u32, pem: &str) -> FinanceResult<()> {
        let pem = pem.trim();
        let key = match RsaPrivateKey::from_pkcs1_pem(pem) {
            Ok(key) => key,
            Err(pkcs1) => {
                RsaPrivateKey::from_pkcs8_pem(pem).map_err(|pkcs8| FinanceError::Key {
                    version,
                    reason: format!("not a PEM RSA private key (PKCS#1: {pkcs1}; PKCS#8: {pkcs8})"),
                })?
            }
        };
        self.keys.insert(version, key);
        Ok(())
    }

    /// Adds a key already parsed.
    pub fn add_key(&mut self, version: u32, key: RsaPrivateKey) {
        self.keys.insert(version, key);
    }

    /// The versions held, ascending.
    pub fn versions(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// Decrypts a message's `encrypt_random_key` (base64 of the RSA ciphertext) with the
    /// key of `version`: the key DecryptData takes.
    pub fn decrypt_random_key(
        &self,
        version: u32,
        encrypt_random_key: &str,
    ) -> FinanceResult<Secret> {
        let key = self
            .keys
            .get(&version)
            .ok_or_else(|| FinanceError::UnknownKeyVersion {
                version,
                known: self.versions(),
            })?;
        let cipher = base64::engine::general_purpose::STANDARD
            .decode(encrypt_random_key.trim())
            .map_err(|e| FinanceError::Key {
                version,
                reason: format!("encrypt_random_key is not base64: {e}"),
            })?;
        let plain = key
            .decrypt(Pkcs1v15Encrypt, &cipher)
            .map_err(|e| FinanceError::Key {
                version,
                reason: format!(
                    "RSA decryption of encrypt_random_key failed (wrong key for this version?): {e}"
                ),
            })?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| FinanceError::Key {
                version,
                reason: "the decrypted random key is not text".into(),
            })
    }
}
