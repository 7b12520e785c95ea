//! Raw calls for endpoints not yet in the spec: JSON, uploads and downloads by path.

use std::future::Future;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Client;
use super::call::{Call, Expect, Payload, Query};
use crate::de::{self};
use crate::error::{Error, Result};
use crate::media::{Download, DownloadStream, UploadFile};
use crate::operation::Method;
use crate::retry::RetrySafety;

pub(super) fn encode_json<B: Serialize + ?Sized>(body: &B) -> Result<Bytes> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::invalid_argument("body", e.to_string()))
}

pub(super) fn check_raw_path(path: &str) -> Result<()> {
    if !path.starts_with('/') {
        return Err(Error::invalid_argument("path", "must start with `/`"));
    }
    if path.contains(['?', '#']) {
        return Err(Error::invalid_argument(
            "path",
            "must not contain a query or fragment; pass parameters in `query`",
        ));
    }
    Ok(())
}

impl Client {
    /// `GET path?query` with this client's token (`access_token`, or for a suite, provider or
    /// hardware client its own kind), errcode check and retries. For endpoints
    /// not yet in the spec.
    ///
    /// Resent after a transient failure unless `path` is a GET WeCom documents as changing
    /// state or as one-time ([`RetrySafety::for_get`]: `user/delete`, `department/delete`,
    /// `tag/delete`, `menu/delete`, `material/del`, `user/authsucc`, the OAuth code
    /// exchanges `auth/getuserinfo` and `user/getuserinfo`). Say it yourself with
    /// [`get_json_with`](Self::get_json_with).
    pub async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Result<serde_json::Value> {
        self.get_json_with(path, query, RetrySafety::for_get(path))
            .await
    }

    /// [`get_json`](Self::get_json) with explicit retry safety: [`RetrySafety::Unsafe`]
    /// sends it again only when it surely never left (a failed connection).
    pub async fn get_json_with(
        &self,
        path: &str,
        query: &[(&str, &str)],
        safety: RetrySafety,
    ) -> Result<serde_json::Value> {
        check_raw_path(path)?;
        let call = self.raw_call(Method::Get, path, safety.is_safe());
        let raw = self
            .run(&call, Query::Raw(query), &Payload::Empty, Expect::Json)
            .await?;
        decode(&call, &raw.body)
    }

    /// [`post_json`](Self::post_json) with explicit retry safety, for a POST you know to
    /// be idempotent (a read WeCom happens to serve by POST).
    pub fn post_json_with<'a, B: Serialize + ?Sized>(
        &'a self,
        path: &'a str,
        query: &'a [(&'a str, &'a str)],
        body: &B,
        safety: RetrySafety,
    ) -> impl Future<Output = Result<serde_json::Value>> + Send + use<'a, B> {
        let body = encode_json(body);
        async move {
            check_raw_path(path)?;
            let call = self.raw_call(Method::Post, path, safety.is_safe());
            let raw = self
                .run(
                    &call,
                    Query::Raw(query),
                    &Payload::Json(body?),
                    Expect::Json,
                )
                .await?;
            decode(&call, &raw.body)
        }
    }

    /// `POST path?query` with a JSON body, the access token and errcode check. Not retried
    /// once it may have reached WeCom (a write may not be idempotent).
    pub fn post_json<'a, B: Serialize + ?Sized>(
        &'a self,
        path: &'a str,
        query: &'a [(&'a str, &'a str)],
        body: &B,
    ) -> impl Future<Output = Result<serde_json::Value>> + Send + use<'a, B> {
        // Serialized now, so the future holds bytes, not `B` (and is `Send` for any `B`).
        let body = encode_json(body);
        async move {
            check_raw_path(path)?;
            let call = self.raw_call(Method::Post, path, false);
            let raw = self
                .run(
                    &call,
                    Query::Raw(query),
                    &Payload::Json(body?),
                    Expect::Json,
                )
                .await?;
            decode(&call, &raw.body)
        }
    }

    /// `POST path?query` with a multipart body of one file part named `part` (WeCom uses
    /// `media`). Not retried once it may have reached WeCom.
    pub async fn upload(
        &self,
        path: &str,
        query: &[(&str, &str)],
        part: &str,
        file: UploadFile,
    ) -> Result<serde_json::Value> {
        check_raw_path(path)?;
        let call = self.raw_call(Method::Post, path, false);
        let payload = Payload::Multipart(file.to_multipart(part)?);
        let raw = self
            .run(&call, Query::Raw(query), &payload, Expect::Json)
            .await?;
        decode(&call, &raw.body)
    }

    /// `GET path?query` returning a file, in memory (up to
    /// [`ClientBuilder::max_download_size`]). An error envelope is recognised even with
    /// HTTP 200 (as `/cgi-bin/media/get` answers).
    pub async fn download(&self, path: &str, query: &[(&str, &str)]) -> Result<Download> {
        check_raw_path(path)?;
        let call = self.raw_call(Method::Get, path, true);
        let raw = self
            .run(&call, Query::Raw(query), &Payload::Empty, Expect::Download)
            .await?;
        Ok(Download::new(
            raw.body,
            raw.content_type,
            raw.disposition.as_deref(),
        ))
    }

    /// `GET path?query` returning a file as it arrives: to a file
    /// ([`DownloadStream::save_to_file`]), an `AsyncWrite`
    /// ([`DownloadStream::write_to`]) or chunk by chunk ([`DownloadStream::chunk`],
    /// [`DownloadStream::into_stream`]).
    ///
    /// The call (token, retries, deadline) ends when the response starts; the body then
    /// has no total timeout, only the client's request timeout between two chunks, so a
    /// big file on a slow link is neither cut off nor started over. At most
    /// [`DownloadStream::limit`] bytes (default: no limit) are accepted. An error envelope
    /// (HTTP 200 with JSON, as `/cgi-bin/media/get` answers) is recognised first.
    ///
    /// ```no_run
    /// # async fn demo(client: wecom_api::Client) -> wecom_api::Result<()> {
    /// let file = client.download_stream("/cgi-bin/media/get", &[("media_id", "MEDIA_ID")]).await?;
    /// let written = file.limit(200 * 1024 * 1024)?.save_to_file("/tmp/media.bin").await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_stream(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<DownloadStream> {
        check_raw_path(path)?;
        let call = self.raw_call(Method::Get, path, true);
        let raw = self
            .run(&call, Query::Raw(query), &Payload::Empty, Expect::Stream)
            .await?;
        Ok(DownloadStream::new(
            call.endpoint(),
            raw.body,
            raw.response,
            raw.content_type,
            raw.disposition.as_deref(),
            raw.content_length,
            self.inner.timeout,
        ))
    }

    /// A call to a path not in the spec, with this client's own credential.
    pub(super) fn raw_call<'a>(&self, method: Method, path: &'a str, retry_safe: bool) -> Call<'a> {
        Call {
            id: None,
            method,
            path,
            credential: self.inner.principal.own_credential(),
            retry_safe,
        }
    }
}

pub(super) fn decode<T: DeserializeOwned>(call: &Call<'_>, body: &[u8]) -> Result<T> {
    de::decode(body).map_err(|e| Error::decode(call.endpoint(), e, body))
}
