//! The HTTP side: one handler for every path, answering as WeCom does.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State as AxumState};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::credentials::TokenKind;
use crate::issue;
use crate::state::{Fault, Record, State, is_secret_key};
use crate::table::{Endpoint, Table};
use crate::validate::{self, Rejection};

pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub max_body_bytes: usize,
    pub log_requests: bool,
}

impl Shared {
    /// The state; a panic elsewhere while holding it must not stop the stand-in.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) fn router(shared: Arc<Shared>, body_limit: usize) -> axum::Router {
    axum::Router::new()
        .fallback(handle)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(shared)
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let query: Vec<(String, String)> = Query::try_from_uri(&uri)
        .map(|Query(pairs)| pairs)
        .unwrap_or_default();
    let path = uri.path().to_owned();
    let table = Table::get();
    let endpoint = table.by_path(&path);
    let (bytes, too_large) = match body {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::new(), true),
    };
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    shared.lock().record(Record {
        method: method.to_string(),
        path: path.clone(),
        endpoint: endpoint.map(|e| e.id.clone()),
        query: query.clone(),
        body: parsed.clone(),
        body_len: bytes.len(),
    });
    let response = match endpoint {
        None => errcode_response(
            StatusCode::NOT_FOUND,
            &Rejection::new(
                40094,
                format!("invalid url: no WeCom API at {path}, hint: [wecom-standin]"),
            ),
        ),
        Some(endpoint) => {
            answer(
                &shared, table, endpoint, &method, &query, &bytes, parsed, too_large,
            )
            .await
        }
    };
    if shared.log_requests {
        log_line(&method, &path, &query, bytes.len(), &response);
    }
    response
}

/// One line per request; credentials in the query are masked.
fn log_line(
    method: &Method,
    path: &str,
    query: &[(String, String)],
    len: usize,
    response: &Response,
) {
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| {
            if is_secret_key(k) {
                format!("{k}=***")
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    let errcode = response
        .headers()
        .get("x-standin-errcode")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info!(
        "{method} {path}?{} body={len}B -> {} errcode={errcode}",
        query.join("&"),
        response.status().as_u16()
    );
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    shared: &Shared,
    table: &'static Table,
    endpoint: &Endpoint,
    method: &Method,
    query: &[(String, String)],
    bytes: &Bytes,
    parsed: Option<Value>,
    too_large: bool,
) -> Response {
    if method.as_str() != endpoint.method {
        return ok_status(&Rejection::new(
            40058,
            format!(
                "invalid request: {} requires {}, got {method}, hint: [wecom-standin]",
                endpoint.path, endpoint.method
            ),
        ));
    }
    let fault = shared.lock().take_fault(&endpoint.id, &endpoint.path);
    match fault {
        None => {}
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Drop) => return dropped(),
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut response = errcode_response(
                StatusCode::TOO_MANY_REQUESTS,
                &Rejection::new(45009, "api freq out of limit, hint: [wecom-standin]"),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return response;
        }
        Some(Fault::Busy) => return ok_status(&Rejection::new(-1, "system busy")),
        Some(Fault::RateLimited) => {
            return ok_status(&Rejection::new(45009, "api freq out of limit"));
        }
        Some(Fault::ConcurrencyLimited) => {
            return ok_status(&Rejection::new(45033, "api concurrent out of limit"));
        }
        Some(Fault::Errcode(code, message)) => return ok_status(&Rejection::new(code, message)),
    }
    match checked(shared, table, endpoint, query, bytes, parsed, too_large) {
        Ok(body) => success(endpoint, body),
        Err(rejection) => ok_status(&rejection),
    }
}

/// Validates the call and computes its answer.
fn checked(
    shared: &Shared,
    table: &'static Table,
    endpoint: &Endpoint,
    query: &[(String, String)],
    bytes: &Bytes,
    parsed: Option<Value>,
    too_large: bool,
) -> Result<Value, Rejection> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut state = shared.lock();
    let token = |kind: TokenKind, name: &str| (Some(kind), param(name));
    let (kind, presented) = match endpoint.credential.as_str() {
        "access_token" => token(TokenKind::Access, "access_token"),
        // One endpoint takes a provider token under the name `access_token`.
        "provider_access_token_as_access_token" => token(TokenKind::Provider, "access_token"),
        "suite_access_token" => token(TokenKind::Suite, "suite_access_token"),
        "provider_access_token" => token(TokenKind::Provider, "provider_access_token"),
        "model_access_token" => token(TokenKind::Model, "model_access_token"),
        "device_access_token" => token(TokenKind::Device, "device_access_token"),
        "webhook_key" => {
            if !state
                .credentials
                .webhook_key_ok(param("key").unwrap_or_default())
            {
                return Err(Rejection::new(
                    93000,
                    "invalid webhook url, hint: [wecom-standin]",
                ));
            }
            (None, None)
        }
        _ => (None, None),
    };
    if let Some(kind) = kind {
        state.credentials.check(&[kind], presented)?;
    }
    validate::query(table, endpoint, query)?;
    if too_large {
        return Err(too_large_rejection(endpoint, shared.max_body_bytes));
    }
    if let Some((part, max_bytes)) = endpoint.multipart() {
        if bytes.is_empty() {
            return Err(Rejection::new(
                44001,
                format!("empty media data: no `{part}` part, hint: [wecom-standin]"),
            ));
        }
        // The multipart framing adds a few hundred bytes to the file itself.
        if max_bytes.is_some_and(|max| bytes.len() as u64 > max + 4096) {
            return Err(too_large_rejection(endpoint, shared.max_body_bytes));
        }
    }
    let body = match endpoint.json_body() {
        None => Value::Null,
        Some(type_name) => {
            if bytes.len() > shared.max_body_bytes {
                return Err(too_large_rejection(endpoint, shared.max_body_bytes));
            }
            let body = if bytes.iter().all(u8::is_ascii_whitespace) {
                json!({})
            } else {
                parsed.ok_or_else(|| {
                    Rejection::new(
                        40058,
                        "invalid json: the body does not parse as JSON, hint: [wecom-standin]",
                    )
                })?
            };
            let mut unknown = Vec::new();
            validate::body(table, endpoint, type_name, &body, &mut unknown)?;
            state.note_unknown(&endpoint.id, unknown);
            body
        }
    };
    if let Some(answer) = issue::issuer_answer(&mut state.credentials, endpoint, query, &body)? {
        return Ok(answer);
    }
    Ok(state
        .overrides
        .get(&endpoint.id)
        .cloned()
        .unwrap_or_else(|| endpoint.response.clone()))
}

fn too_large_rejection(endpoint: &Endpoint, max_body: usize) -> Rejection {
    if endpoint.multipart().is_some() {
        Rejection::new(
            40006,
            "invalid file size: over the documented limit, hint: [wecom-standin]",
        )
    } else {
        Rejection::new(
            45002,
            format!("content size out of limit: body over {max_body} bytes, hint: [wecom-standin]"),
        )
    }
}

fn success(endpoint: &Endpoint, body: Value) -> Response {
    if endpoint.is_binary() && body.as_str() == Some("binary") {
        let mut response = Response::new(Body::from(&b"example"[..]));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"example.txt\""),
        );
        return response;
    }
    json_response(StatusCode::OK, &body)
}

/// WeCom answers refusals with HTTP 200 and the errcode in the body.
fn ok_status(rejection: &Rejection) -> Response {
    errcode_response(StatusCode::OK, rejection)
}

fn errcode_response(status: StatusCode, rejection: &Rejection) -> Response {
    json_response(
        status,
        &json!({ "errcode": rejection.errcode, "errmsg": rejection.errmsg }),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let errcode = body.get("errcode").and_then(Value::as_i64).unwrap_or(0);
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    headers.insert("x-standin-errcode", HeaderValue::from(errcode));
    response
}

/// A response whose body fails after the headers: the connection is closed mid-answer.
fn dropped() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "wecom-standin dropped the connection (fault)",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
