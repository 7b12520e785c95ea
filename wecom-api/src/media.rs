//! Files going to WeCom (multipart uploads) and coming back (media downloads), and the
//! endpoints of the `media` group (素材管理) that use them.

mod limits;

// The generated group shares this module's name: its items are re-exported here, so
// `wecom_api::media::MediaType` and `wecom_api::media::UploadFile` both resolve.
#[cfg(all(feature = "media", not(test)))]
#[cfg_attr(docsrs, doc(cfg(feature = "media")))]
pub use crate::generated::media::*;

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::Stream;
use reqwest::header::HeaderValue;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};

#[allow(unused_imports)] // used by generated upload endpoints only
pub(crate) use limits::{UploadLimit, check_limits};

const OCTET_STREAM: &str = "application/octet-stream";

/// A file to upload: its bytes, the file name WeCom shows, and a content type.
#[derive(Clone)]
pub struct UploadFile {
    file_name: String,
    bytes: Bytes,
    content_type: String,
}

impl UploadFile {
    /// A file from memory. The content type is guessed from the name's extension
    /// (`application/octet-stream` when unknown); see [`with_content_type`](Self::with_content_type).
    pub fn from_bytes(file_name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        let file_name = file_name.into();
        let content_type = guess_content_type(&file_name).to_owned();
        UploadFile {
            file_name,
            bytes: bytes.into(),
            content_type,
        }
    }

    /// Reads a file; its name becomes the upload's file name.
    pub async fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::invalid_argument("path", "has no file name"))?;
        let data = tokio::fs::read(path).await.map_err(|e| {
            Error::invalid_argument("path", format!("cannot read {}: {e}", path.display()))
        })?;
        Ok(UploadFile::from_bytes(name, data))
    }

    /// Overrides the content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Overrides the file name.
    pub fn with_file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = file_name.into();
        self
    }

    /// The file name.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The content type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The content.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The file name's extension, lower case, without the dot (`"jpg"`); `None` without one.
    pub fn extension(&self) -> Option<String> {
        self.file_name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .filter(|ext| !ext.is_empty())
    }

    /// A multipart body with this file as its only part, named `part` (WeCom uses `media`),
    /// laid out as WeCom documents it (with `filelength`). Built once per call; resending
    /// it clones the shared bytes, never the content.
    pub(crate) fn to_multipart(&self, part: &str) -> Result<Multipart> {
        if part.is_empty() || !part.chars().all(|c| c.is_ascii_graphic() && c != '"') {
            return Err(Error::invalid_argument(
                "part",
                "must be a non-empty name of visible ASCII characters without quotes",
            ));
        }
        let valid_type = self.content_type.contains('/')
            && self
                .content_type
                .chars()
                .all(|c| c == ' ' || c.is_ascii_graphic());
        if !valid_type {
            return Err(Error::invalid_argument(
                "content_type",
                "is not a valid MIME type",
            ));
        }
        let boundary = boundary_for(&self.bytes);
        let body = encode_multipart(&boundary, part, self);
        let content_type =
            HeaderValue::try_from(format!("multipart/form-data; boundary={boundary}"))
                .map_err(|_| Error::invalid_argument("boundary", "is not a valid header value"))?;
        Ok(Multipart { content_type, body })
    }
}

/// An encoded `multipart/form-data` request body and its `Content-Type` header.
#[derive(Debug, Clone)]
pub(crate) struct Multipart {
    pub(crate) content_type: HeaderValue,
    pub(crate) body: Bytes,
}

/// One file part, byte for byte in the layout of WeCom's documented request (素材管理 概述):
/// `name="media";filename="..."; filelength=N`, then the part's content type.
fn encode_multipart(boundary: &str, part: &str, file: &UploadFile) -> Bytes {
    // WeCom shows the file name as sent: UTF-8 as is, never percent-encoded.
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\";filename=\"{}\"; \
         filelength={}\r\nContent-Type: {}\r\n\r\n",
        header_safe_name(&file.file_name),
        file.bytes.len(),
        file.content_type,
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let mut body = BytesMut::with_capacity(head.len() + file.bytes.len() + tail.len());
    body.put_slice(head.as_bytes());
    body.put_slice(&file.bytes);
    body.put_slice(tail.as_bytes());
    body.freeze()
}

/// A random boundary that does not occur in the content.
fn boundary_for(content: &[u8]) -> String {
    loop {
        let boundary = format!("wecom-api-{:032x}", rand::random::<u128>());
        let needle = boundary.as_bytes();
        if !content.windows(needle.len()).any(|w| w == needle) {
            return boundary;
        }
    }
}

impl fmt::Debug for UploadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadFile")
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// A downloaded file.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Download {
    /// The content.
    pub bytes: Bytes,
    /// File name from `Content-Disposition`, reduced to its last path component.
    pub file_name: Option<String>,
    /// `Content-Type` as sent.
    pub content_type: Option<String>,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("len", &self.bytes.len())
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .finish()
    }
}

impl Download {
    pub(crate) fn new(
        bytes: Bytes,
        content_type: Option<String>,
        disposition: Option<&str>,
    ) -> Self {
        Download {
            bytes,
            file_name: disposition.and_then(file_name_from_disposition),
            content_type,
        }
    }
}

/// A file being downloaded, read as it arrives (see
/// [`Client::download_stream`](crate::Client::download_stream)).
///
/// Nothing is kept in memory beyond one chunk. Between two chunks the client's request
/// timeout applies; there is no total timeout. [`limit`](Self::limit) caps the size.
pub struct DownloadStream {
    endpoint: Cow<'static, str>,
    /// Bytes read before the stream was handed over (to rule out an error envelope).
    first: Option<Bytes>,
    response: Option<reqwest::Response>,
    /// File name from `Content-Disposition`, reduced to its last path component.
    file_name: Option<String>,
    content_type: Option<String>,
    content_length: Option<u64>,
    idle_timeout: Duration,
    limit: u64,
    received: u64,
}

impl fmt::Debug for DownloadStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadStream")
            .field("endpoint", &self.endpoint)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .field("limit", &self.limit)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl DownloadStream {
    pub(crate) fn new(
        endpoint: Cow<'static, str>,
        first: Bytes,
        response: Option<reqwest::Response>,
        content_type: Option<String>,
        disposition: Option<&str>,
        content_length: Option<u64>,
        idle_timeout: Duration,
    ) -> Self {
        DownloadStream {
            endpoint,
            first: (!first.is_empty()).then_some(first),
            response,
            file_name: disposition.and_then(file_name_from_disposition),
            content_type,
            content_length,
            idle_timeout,
            limit: u64::MAX,
            received: 0,
        }
    }

    /// Accepts at most `max_bytes`: fails at once with [`Error::TooLarge`] when the
    /// announced `Content-Length` is larger, else while reading once more has arrived.
    pub fn limit(mut self, max_bytes: u64) -> Result<Self> {
        self.limit = max_bytes;
        match self.content_length {
            Some(len) if len > max_bytes => Err(self.too_large(Some(len))),
            _ => Ok(self),
        }
    }

    fn too_large(&self, size: Option<u64>) -> Error {
        Error::TooLarge {
            what: "download",
            limit: self.limit,
            size,
        }
    }

    /// File name from `Content-Disposition`, reduced to its last path component.
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// `Content-Type` as sent.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// `Content-Length` as sent, if it was.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Bytes handed out so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next chunk; `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        let next = match self.first.take() {
            Some(first) => Some(first),
            None => match self.response.as_mut() {
                None => None,
                Some(resp) => match tokio::time::timeout(self.idle_timeout, resp.chunk()).await {
                    Err(_) => {
                        return Err(Error::Deadline {
                            endpoint: self.endpoint.clone(),
                            budget: self.idle_timeout,
                            during: "while waiting for the next chunk of a download (the request timeout)",
                        });
                    }
                    Ok(r) => r.map_err(|e| Error::transport(self.endpoint.clone(), e))?,
                },
            },
        };
        let Some(chunk) = next else {
            self.response = None;
            return Ok(None);
        };
        self.received = self.received.saturating_add(chunk.len() as u64);
        if self.received > self.limit {
            self.response = None;
            return Err(self.too_large(self.content_length));
        }
        Ok(Some(chunk))
    }

    /// The chunks as a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes>> + Send + 'static {
        futures::stream::unfold(Some(self), |state| async move {
            let mut s = state?;
            match s.chunk().await {
                Ok(Some(c)) => Some((Ok(c), Some(s))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// Writes every chunk to `out` (then flushes it); returns the number of bytes.
    pub async fn write_to<W: AsyncWrite + Unpin + ?Sized>(mut self, out: &mut W) -> Result<u64> {
        let io = |e: std::io::Error| Error::invalid_argument("writer", e.to_string());
        while let Some(chunk) = self.chunk().await? {
            out.write_all(&chunk).await.map_err(io)?;
        }
        out.flush().await.map_err(io)?;
        Ok(self.received)
    }

    /// Writes the file to `path` (created or truncated); on failure the partial file is
    /// removed. Returns the number of bytes.
    pub async fn save_to_file(self, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        let mut file = tokio::fs::File::create(path).await.map_err(|e| {
            Error::invalid_argument("path", format!("cannot create {}: {e}", path.display()))
        })?;
        match self.write_to(&mut file).await {
            Ok(n) => Ok(n),
            Err(e) => {
                drop(file);
                let _ = tokio::fs::remove_file(path).await;
                Err(e)
            }
        }
    }

    /// Reads the rest into memory, within the limit.
    pub async fn into_download(mut self) -> Result<Download> {
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            buf.extend_from_slice(&chunk);
        }
        Ok(Download {
            bytes: buf.freeze(),
            file_name: self.file_name,
            content_type: self.content_type,
        })
    }
}

impl crate::Client {
    /// A temporary media file (`/cgi-bin/media/get`, what `media().get(..)` reads into
    /// memory) as a [`DownloadStream`], for files too big or links too slow for memory.
    ///
    /// ```no_run
    /// # async fn demo(client: wecom_api::Client) -> wecom_api::Result<()> {
    /// let bytes = client.media_stream("MEDIA_ID").await?.limit(50 << 20)?.save_to_file("video.mp4").await?;
    /// # Ok(()) }
    /// ```
    pub async fn media_stream(&self, media_id: &str) -> Result<DownloadStream> {
        self.download_stream("/cgi-bin/media/get", &[("media_id", media_id)])
            .await
    }
}

/// Whether a content type is one WeCom's error envelopes come with (JSON or text), or
/// unknown.
pub(crate) fn may_be_error_type(content_type: Option<&str>) -> bool {
    match content_type {
        Some(ct) => {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json") || mime.starts_with("text/")
        }
        None => true,
    }
}

/// Whether a download response may be a JSON error envelope rather than a file:
/// WeCom answers download errors with HTTP 200 and a JSON (sometimes `text/plain`) body.
pub(crate) fn may_be_error_body(content_type: Option<&str>, body: &[u8]) -> bool {
    let starts_like_json = || {
        body.iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{')
    };
    match content_type {
        Some(ct) => {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            (mime == "application/json" || mime.ends_with("+json") || mime.starts_with("text/"))
                && starts_like_json()
        }
        None => starts_like_json(),
    }
}

/// The file name of a `Content-Disposition` value; `filename*` (RFC 5987) wins over
/// `filename`.
pub(crate) fn file_name_from_disposition(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for param in split_params(value) {
        let Some((name, val)) = param.split_once('=') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let val = val.trim();
        if name == "filename*" {
            extended = decode_ext_value(val);
        } else if name == "filename" {
            plain = Some(unquote(val));
        }
    }
    extended.or(plain).and_then(|n| sanitize_file_name(&n))
}

/// Splits on `;` outside double quotes.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"') else {
        return v.to_owned();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `charset'lang'percent-encoded` → text (UTF-8 or Latin-1 charset, lossy).
fn decode_ext_value(v: &str) -> Option<String> {
    let mut it = v.splitn(3, '\'');
    let charset = it.next()?.trim().to_ascii_lowercase();
    let _lang = it.next()?;
    let encoded = it.next()?;
    let raw = percent_decode(encoded.trim_matches('"'));
    if charset == "iso-8859-1" {
        Some(raw.iter().map(|&b| char::from(b)).collect())
    } else {
        Some(String::from_utf8_lossy(&raw).into_owned())
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| char::from(c).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Keeps the last path component and drops control characters, so a name from the
/// network can be used as a local file name without escaping its directory.
fn sanitize_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        None
    } else {
        Some(clean.to_owned())
    }
}

/// A file name that cannot break the multipart header it is written into.
fn header_safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn guess_content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "amr" => "audio/amr",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        _ => OCTET_STREAM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_file_names() {
        let f = file_name_from_disposition;
        assert_eq!(
            f(r#"attachment; filename="MEDIA_ID.jpg""#).as_deref(),
            Some("MEDIA_ID.jpg")
        );
        assert_eq!(
            f("attachment; filename=plain.amr").as_deref(),
            Some("plain.amr")
        );
        assert_eq!(
            f(r#"attachment; filename="fallback.txt"; filename*=UTF-8''%E6%96%87%E4%BB%B6.txt"#)
                .as_deref(),
            Some("文件.txt")
        );
        assert_eq!(
            f(r#"attachment; filename="a;b \"q\".txt""#).as_deref(),
            Some(r#"a;b "q".txt"#)
        );
        assert_eq!(
            f(r#"attachment; filename="../../etc/passwd""#).as_deref(),
            Some("passwd")
        );
        assert_eq!(f(r#"attachment; filename="..""#), None);
        assert_eq!(f("attachment"), None);
        assert_eq!(f("attachment; filename*=UTF-8''100%"), Some("100%".into()));
    }

    #[test]
    fn error_body_detection() {
        let json = br#"{"errcode":40007,"errmsg":"invalid media_id"}"#;
        assert!(may_be_error_body(
            Some("application/json; charset=utf-8"),
            json
        ));
        assert!(may_be_error_body(Some("text/plain"), json));
        assert!(may_be_error_body(None, json));
        assert!(!may_be_error_body(Some("image/jpeg"), json));
        assert!(!may_be_error_body(Some("text/plain"), b"hello"));
    }

    #[test]
    fn upload_file_basics() {
        let f = UploadFile::from_bytes("photo.JPG", &b"abc"[..]);
        assert_eq!(f.content_type(), "image/jpeg");
        assert_eq!(f.len(), 3);
        let f = f.with_content_type("image/png").with_file_name("x");
        assert_eq!(f.content_type(), "image/png");
        assert_eq!(f.file_name(), "x");
        assert_eq!(
            UploadFile::from_bytes("x.bin", vec![1u8]).content_type(),
            OCTET_STREAM
        );
        assert!(format!("{f:?}").contains("len: 3"));
        assert_eq!(f.extension(), None);
        assert!(f.to_multipart("media").is_ok());
        assert!(f.to_multipart("a\"b").is_err());
        assert!(
            f.clone()
                .with_content_type("not a mime")
                .to_multipart("media")
                .is_err()
        );
        assert!(
            f.with_content_type("text/plain\r\nX-Evil: 1")
                .to_multipart("media")
                .is_err()
        );
        assert_eq!(
            UploadFile::from_bytes("a.B.PNG", vec![0u8])
                .extension()
                .as_deref(),
            Some("png")
        );
        assert_eq!(header_safe_name("a\"b\r\n.txt"), "a_b__.txt");
    }

    #[test]
    fn multipart_matches_the_documented_request_byte_for_byte() {
        // 上传临时素材 (path/90253): the documented body, Content-Length 220.
        let documented = "---------------------------acebdf13572468\r\n\
            Content-Disposition: form-data; name=\"media\";filename=\"wework.txt\"; filelength=6\r\n\
            Content-Type: application/octet-stream\r\n\r\n\
            mytext\r\n\
            ---------------------------acebdf13572468--\r\n";
        let file = UploadFile::from_bytes("wework.txt", &b"mytext"[..])
            .with_content_type("application/octet-stream");
        let body = encode_multipart("-------------------------acebdf13572468", "media", &file);
        assert_eq!(body.len(), 220);
        assert_eq!(std::str::from_utf8(&body).unwrap(), documented);
    }

    #[test]
    fn multipart_boundary_is_announced_and_absent_from_the_content() {
        let file = UploadFile::from_bytes("a.bin", vec![7u8; 1000]);
        let m = file.to_multipart("media").unwrap();
        let ct = m.content_type.to_str().unwrap();
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let body = std::str::from_utf8(&m.body[..2 + boundary.len()]).unwrap();
        assert_eq!(body, format!("--{boundary}"));
        assert!(
            m.body
                .ends_with(format!("\r\n--{boundary}--\r\n").as_bytes())
        );
        assert!(
            !boundary_for(b"x").is_empty() && boundary.len() == "wecom-api-".len() + 32,
            "{boundary}"
        );
    }

    #[tokio::test]
    async fn from_path_reads_the_file() {
        let dir = std::env::temp_dir().join(format!("wecom-api-media-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("note.txt");
        std::fs::write(&p, b"mytext").unwrap();
        let f = UploadFile::from_path(&p).await.unwrap();
        assert_eq!(f.file_name(), "note.txt");
        assert_eq!(&f.bytes()[..], b"mytext");
        assert_eq!(f.content_type(), "text/plain");
        std::fs::remove_dir_all(&dir).unwrap();
        let e = UploadFile::from_path(dir.join("missing.bin"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }));
    }
}
