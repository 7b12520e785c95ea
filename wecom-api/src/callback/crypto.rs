//! WXBizMsgCrypt: the signature, AES-256-CBC encryption and framing WeCom uses for callbacks.
//!
//! The plaintext frame is `random(16) | len(4, big-endian) | msg | receive_id`, padded with
//! PKCS#7 to a **32-byte** block, encrypted with AES-256-CBC (key = the decoded
//! EncodingAESKey, IV = its first 16 bytes) and sent base64-encoded. The signature is
//! `sha1(sorted([token, timestamp, nonce, encrypt]).concat())` in lowercase hex.

use std::fmt;
use std::time::Duration;

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::{Error, Result, Secret};

/// PKCS#7 block of WXBizMsgCrypt: 32 bytes, not AES's 16.
const PAD_BLOCK: usize = 32;
/// Random prefix and length field in front of the message.
const PREFIX: usize = 16;
const HEADER: usize = PREFIX + 4;
/// Length of an EncodingAESKey.
const KEY_CHARS: usize = 43;

/// Decodes base64 leniently: EncodingAESKeys are rarely canonical (their last character
/// carries non-zero trailing bits) and padding is optional.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

type Encryptor = cbc::Encryptor<Aes256>;
type Decryptor = cbc::Decryptor<Aes256>;

/// Verifies, decrypts and encrypts WeCom callbacks (WXBizMsgCrypt).
///
/// ```
/// use wecom_api::callback::CallbackCrypto;
/// // The official sample parameters.
/// let crypto = CallbackCrypto::new(
///     "QDG6eK",
///     "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
///     "wx5823bf96d3bd56c7",
/// )?
/// .without_max_age(); // the sample is from 2014; by default a callback may be 5 minutes old
/// let echo = crypto.verify_url(
///     "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
///     "1409659589",
///     "263014780",
///     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
/// )?;
/// assert_eq!(echo, "1616140317555161061");
/// # Ok::<(), wecom_api::Error>(())
/// ```
#[derive(Clone)]
pub struct CallbackCrypto {
    token: Secret,
    key: [u8; 32],
    iv: [u8; 16],
    receive_id: String,
    max_body: usize,
    max_age: Option<Duration>,
}

impl fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackCrypto")
            .field("token", &self.token)
            .field("encoding_aes_key", &crate::redact::MASK)
            .field("receive_id", &self.receive_id)
            .field("max_body_size", &self.max_body)
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// How far a callback's signed timestamp may be from now by default (either way).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

impl CallbackCrypto {
    /// Builds a verifier from the callback settings of the application.
    ///
    /// `receive_id` is the corp id for self-built applications, the suite id for
    /// third-party suite callbacks, and empty for the callbacks that carry none (smart
    /// bots): the decrypted receive id must equal it exactly.
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self> {
        if token.is_empty() {
            return Err(Error::invalid_argument("token", "empty"));
        }
        let key = decode_key(encoding_aes_key)?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&key[..16]);
        Ok(CallbackCrypto {
            token: Secret::new(token),
            key,
            iv,
            receive_id: receive_id.to_string(),
            max_body: super::request::DEFAULT_MAX_BODY,
            max_age: Some(DEFAULT_MAX_AGE),
        })
    }

    /// Largest POST body [`decrypt_request`](Self::decrypt_request) accepts (default
    /// 1 MiB; WeCom's are a few KB). A larger one is refused with [`Error::TooLarge`]
    /// before anything in it is read.
    pub fn with_max_body_size(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The body size limit.
    pub fn max_body_size(&self) -> usize {
        self.max_body
    }

    /// Refuses callbacks whose signed `timestamp` is further than `window` from now
    /// (either way), so a captured request cannot be replayed later. On by default with
    /// [`DEFAULT_MAX_AGE`] (5 minutes): WeCom retries within about 15 s. Keep a
    /// [`Dedup`](super::Dedup) window at least this long, so a replay inside the window is
    /// caught as a duplicate.
    ///
    /// ```
    /// # use wecom_api::callback::CallbackCrypto;
    /// let crypto = CallbackCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?
    ///     .with_max_age(std::time::Duration::from_secs(120));
    /// // The official sample is from 2014: refused as a replay.
    /// let err = crypto.verify_url(
    ///     "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
    ///     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
    /// ).unwrap_err();
    /// assert!(err.to_string().contains("replay"));
    /// # Ok::<(), wecom_api::Error>(())
    /// ```
    pub fn with_max_age(mut self, window: Duration) -> Self {
        self.max_age = Some(window);
        self
    }

    /// Accepts any timestamp: for replaying recorded requests and old test vectors only.
    pub fn without_max_age(mut self) -> Self {
        self.max_age = None;
        self
    }

    /// The freshness window, if any (see [`with_max_age`](Self::with_max_age)).
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// Checks `timestamp` against the freshness window, if one is set.
    fn check_fresh(&self, timestamp: &str) -> Result<()> {
        let Some(window) = self.max_age else {
            return Ok(());
        };
        let Ok(at) = timestamp.trim().parse::<u64>() else {
            return Err(Error::crypto("timestamp is not decimal seconds"));
        };
        let now = crate::token::now_unix();
        let off = now.abs_diff(at);
        if off > window.as_secs() {
            return Err(Error::crypto(format!(
                "timestamp is {off} s from now, outside the freshness window of {} s: refused as a possible replay",
                window.as_secs()
            )));
        }
        Ok(())
    }

    /// The receive id decrypted messages must carry.
    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// URL verification (the GET WeCom sends when the callback URL is saved): checks the
    /// signature and returns the decrypted `echostr`, which is the response body to send.
    ///
    /// Pass the query values already percent-decoded.
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String> {
        self.decrypt(msg_signature, timestamp, nonce, echostr)
    }

    /// Checks the signature of an encrypted callback and decrypts it: `encrypt` is the
    /// `<Encrypt>` value of the POST body. Returns the plaintext (XML or JSON).
    pub fn decrypt(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<String> {
        self.check_signature(msg_signature, timestamp, nonce, encrypt)?;
        self.check_fresh(timestamp)?;
        let message = self.decrypt_unsigned(encrypt)?;
        String::from_utf8(message)
            .map_err(|_| Error::crypto("decrypted message is not valid UTF-8"))
    }

    /// [`decrypt`](Self::decrypt) accepting any receive id that `accept` takes (a provider's
    /// data callbacks carry the authorising corp's id): the plaintext and the receive id.
    #[cfg_attr(not(feature = "callbacks"), allow(dead_code))]
    pub(crate) fn decrypt_for(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
        accept: &dyn Fn(&str) -> bool,
    ) -> Result<(String, String)> {
        self.check_signature(msg_signature, timestamp, nonce, encrypt)?;
        self.check_fresh(timestamp)?;
        let (message, receive_id) = self.unframe(encrypt)?;
        let receive_id = String::from_utf8_lossy(&receive_id).into_owned();
        if !accept(&receive_id) {
            return Err(Error::crypto(format!(
                "receive id check failed: the message carries `{receive_id}`, which no registered app, suite or corp expects"
            )));
        }
        let message = String::from_utf8(message)
            .map_err(|_| Error::crypto("decrypted message is not valid UTF-8"))?;
        Ok((message, receive_id))
    }

    /// Encrypts a passive reply and wraps it in the XML envelope WeCom expects as the
    /// response body: `Encrypt`, `MsgSignature`, `TimeStamp` and `Nonce`.
    ///
    /// `timestamp` is decimal seconds and `nonce` a short ASCII token (letters, digits,
    /// `-`, `_`); reusing the ones of the request is fine.
    pub fn encrypt_reply(&self, plaintext: &str, timestamp: &str, nonce: &str) -> Result<String> {
        self.encrypt_reply_with_prefix(plaintext, timestamp, nonce, rand::random())
    }

    /// Deterministic form of [`encrypt_reply`](Self::encrypt_reply) with a caller-chosen
    /// 16-byte random prefix.
    ///
    /// **For test vectors only.** The prefix must be unpredictable in production: use
    /// `encrypt_reply`, which draws it from a cryptographic RNG.
    pub fn encrypt_reply_with_prefix(
        &self,
        plaintext: &str,
        timestamp: &str,
        nonce: &str,
        random_prefix: [u8; 16],
    ) -> Result<String> {
        check_timestamp(timestamp)?;
        check_nonce(nonce)?;
        let encrypt = self.encrypt_with_prefix(plaintext.as_bytes(), random_prefix)?;
        let signature = self.signature(timestamp, nonce, &encrypt);
        Ok(format!(
            "<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n\
             <MsgSignature><![CDATA[{signature}]]></MsgSignature>\n\
             <TimeStamp>{timestamp}</TimeStamp>\n\
             <Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
        ))
    }

    /// Encrypts `message` into the base64 `Encrypt` value with a caller-chosen 16-byte
    /// random prefix.
    ///
    /// **For test vectors only**: a fixed prefix makes equal messages encrypt equally.
    pub fn encrypt_with_prefix(&self, message: &[u8], random_prefix: [u8; 16]) -> Result<String> {
        let length = u32::try_from(message.len())
            .map_err(|_| Error::invalid_argument("plaintext", "longer than 4 GiB"))?;
        let body = HEADER + message.len() + self.receive_id.len();
        let pad = PAD_BLOCK - body % PAD_BLOCK; // 1..=32: a full block when aligned
        let mut frame = Vec::with_capacity(body + pad);
        frame.extend_from_slice(&random_prefix);
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend_from_slice(message);
        frame.extend_from_slice(self.receive_id.as_bytes());
        // `pad` is at most 32, so the cast is exact.
        frame.resize(body + pad, pad as u8);
        let len = frame.len();
        let cipher = Encryptor::new(&self.key.into(), (&self.iv).into());
        let ciphertext = cipher
            .encrypt_padded_mut::<NoPadding>(&mut frame, len)
            .map_err(|_| Error::crypto("AES encryption failed: frame not block-aligned"))?;
        Ok(STANDARD.encode(ciphertext))
    }

    /// The signature WeCom computes: lowercase hex SHA-1 of the four values sorted and
    /// concatenated.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.expose(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        let mut sha = Sha1::new();
        for part in parts {
            sha.update(part.as_bytes());
        }
        hex(&sha.finalize())
    }

    /// Compares the signature in constant time.
    fn check_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<()> {
        let expected = self.signature(timestamp, nonce, encrypt);
        let given = msg_signature.trim().to_ascii_lowercase();
        // Lengths are public (always 40); the bytes are compared without early exit.
        if given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
        {
            Ok(())
        } else {
            Err(Error::crypto(
                "signature check failed: msg_signature does not match token, timestamp, nonce and Encrypt",
            ))
        }
    }

    /// Decrypts and unframes without looking at the signature, checking the receive id.
    fn decrypt_unsigned(&self, encrypt: &str) -> Result<Vec<u8>> {
        let (message, receive_id) = self.unframe(encrypt)?;
        if receive_id != self.receive_id.as_bytes() {
            return Err(Error::crypto(format!(
                "receive id check failed: expected `{}`, the message carries `{}`",
                self.receive_id,
                String::from_utf8_lossy(&receive_id)
            )));
        }
        Ok(message)
    }

    /// Decrypts and unframes: the message and the receive id. Every length is checked
    /// before it is used.
    fn unframe(&self, encrypt: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        let mut data = LENIENT
            .decode(encrypt.trim())
            .map_err(|e| Error::crypto(format!("Encrypt is not valid base64: {e}")))?;
        if data.is_empty() || data.len() % PAD_BLOCK != 0 {
            return Err(Error::crypto(format!(
                "ciphertext length {} is not a positive multiple of {PAD_BLOCK} bytes",
                data.len()
            )));
        }
        let cipher = Decryptor::new(&self.key.into(), (&self.iv).into());
        let plain = cipher
            .decrypt_padded_mut::<NoPadding>(&mut data)
            .map_err(|_| Error::crypto("AES decryption failed"))?;
        let unpadded = unpad(plain)?;
        if unpadded.len() < HEADER {
            return Err(Error::crypto(format!(
                "decrypted data too short: {} bytes, the frame header alone is {HEADER}",
                unpadded.len()
            )));
        }
        let mut length = [0u8; 4];
        length.copy_from_slice(&unpadded[PREFIX..HEADER]);
        let length = u32::from_be_bytes(length) as usize;
        let rest = &unpadded[HEADER..];
        if length > rest.len() {
            return Err(Error::crypto(format!(
                "message length field {length} exceeds the {} bytes decrypted",
                rest.len()
            )));
        }
        let (message, receive_id) = rest.split_at(length);
        Ok((message.to_vec(), receive_id.to_vec()))
    }
}

/// Strips and checks PKCS#7 padding with a 32-byte block.
fn unpad(data: &[u8]) -> Result<&[u8]> {
    let Some(&last) = data.last() else {
        return Err(Error::crypto("bad padding: no data"));
    };
    let pad = usize::from(last);
    if pad == 0 || pad > PAD_BLOCK || pad > data.len() {
        return Err(Error::crypto(format!(
            "bad PKCS#7 padding: pad byte {pad} is outside 1..={PAD_BLOCK}"
        )));
    }
    let (body, padding) = data.split_at(data.len() - pad);
    if padding.iter().any(|&b| b != last) {
        return Err(Error::crypto(
            "bad PKCS#7 padding: the padding bytes differ",
        ));
    }
    Ok(body)
}

fn decode_key(encoding_aes_key: &str) -> Result<[u8; 32]> {
    let trimmed = encoding_aes_key.trim();
    if trimmed.len() != KEY_CHARS {
        return Err(Error::invalid_argument(
            "encoding_aes_key",
            format!(
                "must be {KEY_CHARS} characters, got {}",
                trimmed.chars().count()
            ),
        ));
    }
    let bytes = LENIENT.decode(trimmed).map_err(|_| {
        Error::invalid_argument("encoding_aes_key", "is not base64 (A-Z, a-z, 0-9, +, /)")
    })?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| Error::invalid_argument("encoding_aes_key", "does not decode to 32 bytes"))
}

fn check_timestamp(timestamp: &str) -> Result<()> {
    if timestamp.is_empty()
        || timestamp.len() > 20
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Error::invalid_argument(
            "timestamp",
            "must be decimal seconds",
        ));
    }
    Ok(())
}

fn check_nonce(nonce: &str) -> Result<()> {
    let ok = !nonce.is_empty()
        && nonce.len() <= 64
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "nonce",
            "must be 1 to 64 ASCII letters, digits, `-` or `_`",
        ))
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A fresh nonce for replies: 16 random letters and digits.
pub(crate) fn random_nonce() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..16)
        .map(|_| char::from(CHARS[rand::random_range(0..CHARS.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    fn crypto(receive_id: &str) -> CallbackCrypto {
        CallbackCrypto::new("QDG6eK", KEY, receive_id)
            .expect("valid settings")
            .without_max_age()
    }

    #[test]
    fn official_post_decrypts() {
        let plain = crypto("wx5823bf96d3bd56c7")
            .decrypt(
                "477715d11cdb4164915debcba66cb864d751f3e6",
                "1409659813",
                "1372623149",
                "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==",
            )
            .expect("official sample");
        assert!(
            plain.contains("<Content><![CDATA[hello]]></Content>"),
            "{plain}"
        );
    }

    #[test]
    fn keys_decode_leniently_and_bad_keys_are_refused() {
        assert!(CallbackCrypto::new("t", KEY, "").is_ok());
        let short = CallbackCrypto::new("t", &KEY[..42], "").unwrap_err();
        assert!(short.to_string().contains("43 characters"), "{short}");
        let bad = CallbackCrypto::new("t", &format!("{}!", &KEY[..42]), "").unwrap_err();
        assert!(bad.to_string().contains("not base64"), "{bad}");
        assert!(CallbackCrypto::new("", KEY, "").is_err());
    }

    #[test]
    fn debug_hides_token_and_key() {
        let shown = format!("{:?}", crypto("corp"));
        assert!(!shown.contains("QDG6eK") && !shown.contains(KEY), "{shown}");
        assert!(shown.contains("corp"));
    }

    #[test]
    fn each_failure_names_its_check() {
        let c = crypto("wx5823bf96d3bd56c7");
        let encrypt = c.encrypt_with_prefix(b"hello", [7; 16]).expect("encrypts");
        let sig = c.signature("1", "n", &encrypt);
        let wrong_sig = c.decrypt(&"0".repeat(40), "1", "n", &encrypt).unwrap_err();
        assert!(wrong_sig.to_string().contains("signature"), "{wrong_sig}");
        let other = crypto("ww0000");
        let rid = other
            .decrypt(&other.signature("1", "n", &encrypt), "1", "n", &encrypt)
            .unwrap_err();
        assert!(rid.to_string().contains("receive id"), "{rid}");
        assert_eq!(c.decrypt(&sig, "1", "n", &encrypt).unwrap(), "hello");
        // Uppercase hex from a proxy still matches.
        assert_eq!(
            c.decrypt(&sig.to_uppercase(), "1", "n", &encrypt).unwrap(),
            "hello"
        );
    }

    #[test]
    fn padding_is_checked() {
        assert!(unpad(&[1, 2, 3, 1]).is_ok());
        assert_eq!(unpad(&[9; 32]).unwrap(), &[9u8; 23][..]);
        assert!(unpad(&[0]).unwrap_err().to_string().contains("padding"));
        assert!(unpad(&[33; 40]).unwrap_err().to_string().contains("1..=32"));
        assert!(
            unpad(&[1, 3, 2, 3])
                .unwrap_err()
                .to_string()
                .contains("differ")
        );
        assert!(unpad(&[]).is_err());
        assert!(unpad(&[5, 5]).is_err());
    }

    #[test]
    fn reply_arguments_are_checked() {
        let c = crypto("corp");
        assert!(c.encrypt_reply("x", "12a", "n").is_err());
        assert!(c.encrypt_reply("x", "12", "]]>").is_err());
        assert!(c.encrypt_reply("x", "12", "").is_err());
        assert!(c.encrypt_reply("x", "12", "abc-_9").is_ok());
        let nonce = random_nonce();
        assert_eq!(nonce.len(), 16);
        assert!(check_nonce(&nonce).is_ok());
    }
}
