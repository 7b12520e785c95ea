//! Shared pieces of the runtime tests: a mock WeCom with a counting `gettoken`, clients
//! with fast retries, and a closed loopback port.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use httpmock::{Mock, MockServer};
use wecom_api::{Client, ClientBuilder, RetryPolicy};

pub const CORP_ID: &str = "wwruntime00000001";
/// Distinctive values, so a leak anywhere is found by a plain substring search.
pub const SECRET: &str = "SeCrEt-runtime-3f9a1c";
pub const TOKEN: &str = "ToKeN-runtime-7d2e8b";
pub const TOKEN2: &str = "ToKeN-runtime-second-11aa";

/// `gettoken` for `CORP_ID`/`SECRET`, answering `token`.
pub async fn mock_gettoken<'a>(server: &'a MockServer, token: &str, expires_in: i64) -> Mock<'a> {
    let body = serde_json::json!({
        "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": expires_in
    });
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/gettoken")
                .query_param("corpid", CORP_ID)
                .query_param("corpsecret", SECRET);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(body);
        })
        .await
}

/// Retries with millisecond delays, so tests stay fast.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(5))
}

pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
    Client::builder()
        .corp_id(CORP_ID)
        .secret(SECRET)
        .base_url(base_url)
        .retry_policy(fast_retry())
}

pub fn client(server: &MockServer) -> Client {
    builder(server.base_url()).build().expect("client")
}

/// A loopback URL where nothing listens.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Collects everything a `tracing` fmt subscriber writes.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a TRACE-level subscriber writing into a buffer, for this thread, with span
/// close events (which carry the span's recorded fields).
pub fn capture_tracing() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buf = LogBuffer::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Call sites first seen while no one listened cached "never": ask them again.
    tracing::callsite::rebuild_interest_cache();
    (buf, guard)
}

/// Asserts that no secret of the tests shows up in `text`.
pub fn assert_no_secrets(what: &str, text: &str) {
    for secret in [SECRET, TOKEN, TOKEN2] {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}
