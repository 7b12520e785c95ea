//! What generated builders call: `execute_json`, `execute_upload`, `execute_download`, and
//! the per-response-type decoding future.

use bytes::Bytes;
use serde::Serialize;

use super::Client;
use super::call::{Call, Expect, Payload, Query, Raw};
use super::raw::encode_json;
use crate::de::{self};
use crate::error::{Error, Result};
use crate::media::{self, Download, UploadFile};
use crate::operation::Operation;

/// The JSON body of a generated call, encoded before its future is made.
#[allow(dead_code)]
pub(crate) fn encode_body<B: Serialize + ?Sized>(body: &B) -> Result<Option<Bytes>> {
    encode_json(body).map(Some)
}

/// The future of a generated call refused before sending (a required client default unset).
#[allow(dead_code)]
pub(crate) fn refused<T: Send + 'static>(error: Error) -> crate::BoxFuture<Result<T>> {
    Box::pin(std::future::ready(Err(error)))
}

impl Client {
    /// A generated JSON call, its body already encoded ([`encode_body`]; `Ok(None)`: no
    /// body). Generated builders return this future as it is: the request side is one
    /// non-generic boxed future for every endpoint, and only the decoding is compiled per
    /// response type.
    // Generated code calls these; with every feature group off some go unused.
    #[allow(dead_code)]
    pub(crate) fn execute_json<R>(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
        body: Result<Option<Bytes>>,
    ) -> crate::BoxFuture<Result<R>>
    where
        R: de::Decode + Send + 'static,
    {
        decoded(op, self.send_json(op, query, body))
    }

    #[allow(dead_code)]
    pub(super) fn send_json(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
        body: Result<Option<Bytes>>,
    ) -> crate::BoxFuture<Result<Raw>> {
        let client = self.clone();
        Box::pin(async move {
            let payload = match body? {
                Some(bytes) => Payload::Json(bytes),
                // A POST whose documented body has no fields still sends `{}`: WeCom reads
                // every POST body as JSON, and an empty body is not a JSON object.
                None if op.method == crate::operation::Method::Post => {
                    Payload::Json(Bytes::from_static(b"{}"))
                }
                None => Payload::Empty,
            };
            let call = Call::from_op(op);
            client
                .run(&call, Query::Generated(&query), &payload, Expect::Json)
                .await
        })
    }

    /// A generated multipart upload with one file part. The spec's upload limits are
    /// checked first: a file WeCom would refuse is never sent.
    #[allow(dead_code)]
    pub(crate) fn execute_upload<R>(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
        part: &'static str,
        limits: &'static [media::UploadLimit],
        file: UploadFile,
    ) -> crate::BoxFuture<Result<R>>
    where
        R: de::Decode + Send + 'static,
    {
        decoded(op, self.send_upload(op, query, part, limits, file))
    }

    #[allow(dead_code)]
    pub(super) fn send_upload(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
        part: &'static str,
        limits: &'static [media::UploadLimit],
        file: UploadFile,
    ) -> crate::BoxFuture<Result<Raw>> {
        let client = self.clone();
        Box::pin(async move {
            media::check_limits(op.id, limits, &query, &file)?;
            let call = Call::from_op(op);
            let payload = Payload::Multipart(file.to_multipart(part)?);
            client
                .run(&call, Query::Generated(&query), &payload, Expect::Json)
                .await
        })
    }

    /// A generated download.
    #[allow(dead_code)]
    pub(crate) fn execute_download(
        &self,
        op: &'static Operation,
        query: Vec<(&'static str, String)>,
    ) -> crate::BoxFuture<Result<Download>> {
        let client = self.clone();
        Box::pin(async move {
            let call = Call::from_op(op);
            let raw = client
                .run(
                    &call,
                    Query::Generated(&query),
                    &Payload::Empty,
                    Expect::Download,
                )
                .await?;
            Ok(Download::new(
                raw.body,
                raw.content_type,
                raw.disposition.as_deref(),
            ))
        })
    }
}

/// The typed answer of a generated call: the only part of it compiled per response type.
#[allow(dead_code)]
pub(super) fn decoded<R>(
    op: &'static Operation,
    raw: crate::BoxFuture<Result<Raw>>,
) -> crate::BoxFuture<Result<R>>
where
    R: de::Decode + Send + 'static,
{
    Box::pin(Decoded {
        op,
        raw,
        response: std::marker::PhantomData,
    })
}

/// Awaits a generated call's raw answer, then decodes it. A plain future rather than an
/// async block: one small `poll` per response type instead of a state machine.
pub(super) struct Decoded<R> {
    op: &'static Operation,
    raw: crate::BoxFuture<Result<Raw>>,
    response: std::marker::PhantomData<fn() -> R>,
}

impl<R: de::Decode> std::future::Future for Decoded<R> {
    type Output = Result<R>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<R>> {
        let raw = std::task::ready!(self.raw.as_mut().poll(cx));
        std::task::Poll::Ready(raw.and_then(|raw| {
            // Straight from the bytes: one parse into a tape that borrows them, then the
            // type's fields.
            de::decode_body(&raw.body).map_err(|e| Error::decode(self.op.id.into(), e, &raw.body))
        }))
    }
}
