//! What the client writes to `tracing`: the `wecom.call` span and its fields, retry events
//! (which also show a POST being retried when it never left),
//! and never a secret or a URL with its query.
//!
//! Kept in its own test binary, one test at a time: `tracing` caches per call site whether
//! anyone listens, and a capture installed while other threads register call sites can miss
//! events.

mod runtime_common;

use httpmock::MockServer;
use runtime_common::*;
use wecom_api::token::{Token, TokenKey, TokenKind, TokenStore};
use wecom_api::{Error, MemoryTokenStore, TransportKind};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn tracing_output_has_fields_and_no_secrets() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.status(200)
                .body(r#"{"errcode":0,"userid":"zhangsan"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/delete");
            then.status(200)
                .body(r#"{"errcode":-1,"errmsg":"system busy"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/message/send");
            then.status(200)
                .body(r#"{"errcode":42001,"errmsg":"expired"}"#);
        })
        .await;
    let _serial = ONE_AT_A_TIME.lock().await;
    let (logs, _guard) = capture_tracing();
    let client = client(&server);
    client
        .get_json("/cgi-bin/user/get", &[("userid", "zhangsan")])
        .await
        .unwrap();
    client
        .get_json("/cgi-bin/user/delete", &[])
        .await
        .unwrap_err();
    client
        .post_json(
            "/cgi-bin/message/send",
            &[],
            &serde_json::json!({"touser": "a"}),
        )
        .await
        .unwrap_err();
    // And a failing transport on gettoken.
    builder(closed_port_url())
        .build()
        .unwrap()
        .get_json("/x", &[])
        .await
        .unwrap_err();

    let out = logs.contents();
    assert_no_secrets("tracing output", &out);
    assert!(!out.contains("corpsecret"), "{out}");
    // hyper may log host:port at trace level; no URL with its query is ever logged.
    for url_part in ["?access_token", "?corpid", "gettoken?", "user/get?"] {
        assert!(!out.contains(url_part), "URL with query logged: {out}");
    }
    for needle in [
        "wecom.call",
        "endpoint=\"token.get\"",
        "endpoint=\"/cgi-bin/user/get\"",
        "method=\"GET\"",
        "method=\"POST\"",
        "errcode=0",
        "errcode=-1",
        "errcode=42001",
        "attempt=4",
        "latency_ms=",
    ] {
        assert!(out.contains(needle), "missing {needle} in:\n{out}");
    }
}

#[tokio::test]
async fn connect_failures_are_retried_even_for_posts() {
    // A token already in the store, so the only request is the POST itself.
    let store = MemoryTokenStore::new();
    let key = TokenKey::new(TokenKind::AccessToken, CORP_ID, SECRET);
    store.set(&key, Token::new(TOKEN, u64::MAX)).await.unwrap();
    let client = builder(closed_port_url())
        .token_store(store)
        .retry_policy(fast_retry().with_max_retries(2))
        .build()
        .unwrap();
    let _serial = ONE_AT_A_TIME.lock().await;
    let (logs, _guard) = capture_tracing();
    let err = client
        .post_json(
            "/cgi-bin/message/send",
            &[],
            &serde_json::json!({"touser": "a"}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.errcode(), None);
    let logs = logs.contents();
    assert_eq!(logs.matches("retrying").count(), 2, "{logs}");
}
