//! Encrypted media of AI-bot callbacks: image, file and video `url`s are valid 5 minutes and
//! serve AES-256-CBC ciphertext. The key: in webhook mode the bot's EncodingAESKey
//! (43 characters, base64 without the trailing `=`); in long-connection mode the
//! message's own `aeskey` (base64). IV: the key's first 16 bytes. Padding: PKCS#7 to a
//! multiple of 32 bytes (pad values 1..=32), as the callback crypto pads.

use std::fmt;

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::{Error, Result};

type Decryptor = cbc::Decryptor<Aes256>;

/// Keys often are not canonical base64 (trailing bits set): decode leniently.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A media decryption key (32 bytes); never shown in Debug.
#[derive(Clone)]
pub struct MediaKey([u8; 32]);

impl fmt::Debug for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MediaKey(***)")
    }
}

impl MediaKey {
    /// The key of a long-connection message's `aeskey`, or of a webhook bot's
    /// EncodingAESKey (both base64 of 32 bytes; the `=` may be missing).
    pub fn from_base64(key: &str) -> Result<Self> {
        let bytes = LENIENT
            .decode(key.trim())
            .map_err(|_| Error::invalid_argument("aeskey", "not base64"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            Error::invalid_argument(
                "aeskey",
                format!("{} bytes; an AES-256 key has 32", b.len()),
            )
        })?;
        Ok(MediaKey(key))
    }
}

/// Decrypts a downloaded encrypted image, file or video with `key`.
pub fn decrypt_media(ciphertext: &[u8], key: &MediaKey) -> Result<Vec<u8>> {
    if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
        return Err(Error::crypto(
            "encrypted media: length is not a positive multiple of the AES block",
        ));
    }
    let mut buf = ciphertext.to_vec();
    let iv: [u8; 16] = key.0[..16]
        .try_into()
        .map_err(|_| Error::crypto("key too short"))?;
    let plain_len = Decryptor::new(&key.0.into(), &iv.into())
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| Error::crypto("encrypted media: AES decryption failed"))?
        .len();
    let pad = usize::from(*buf[..plain_len].last().unwrap_or(&0));
    if pad == 0
        || pad > 32
        || pad > plain_len
        || buf[plain_len - pad..plain_len]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return Err(Error::crypto(
            "encrypted media: bad padding (wrong key, or not encrypted media)",
        ));
    }
    buf.truncate(plain_len - pad);
    Ok(buf)
}

/// Encrypts like WeCom does (tests, stand-ins).
pub(crate) fn encrypt_media(plain: &[u8], key: &MediaKey) -> Vec<u8> {
    use aes::cipher::BlockEncryptMut;
    let pad = 32 - plain.len() % 32;
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + pad, pad as u8);
    let iv: [u8; 16] = key.0[..16].try_into().unwrap_or([0; 16]);
    let len = buf.len();
    let _ = cbc::Encryptor::<Aes256>::new(&key.0.into(), &iv.into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, len);
    buf
}

/// Downloads an encrypted media `url` (valid 5 minutes) with `http` and decrypts it with
/// `key`; at most `limit` bytes are read. The URL is not put in errors.
pub async fn download_media(
    http: &reqwest::Client,
    url: &str,
    key: &MediaKey,
    limit: usize,
) -> Result<Vec<u8>> {
    const WHAT: &str = "aibot media download";
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|e| Error::transport(WHAT.into(), e.without_url()))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(Error::http_status(WHAT.into(), status, b""));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::transport(WHAT.into(), e.without_url()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(Error::TooLarge {
                what: "encrypted media",
                limit: limit as u64,
                size: None,
            });
        }
        body.extend_from_slice(&chunk);
    }
    decrypt_media(&body, key)
}
