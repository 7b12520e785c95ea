//! Retries: bounded, only for calls that are safe to send again, except when the request
//! never left.

mod runtime_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
use runtime_common::*;
use wecom_api::{Error, RetryPolicy, TransportKind};

const BUSY: &str = r#"{"errcode":-1,"errmsg":"system busy"}"#;

#[tokio::test]
async fn busy_get_is_retried_up_to_max_retries() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let m = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.status(200).body(BUSY);
        })
        .await;
    let client = client(&server);
    let err = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    assert_eq!(err.errcode(), Some(-1));
    assert!(err.is_retryable());
    // One attempt plus the default 3 retries.
    m.assert_calls_async(4).await;
}

#[tokio::test]
async fn busy_then_success_returns_the_success() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.respond_with(move |_: &HttpMockRequest| {
                let body = if seen.fetch_add(1, Ordering::SeqCst) < 2 {
                    BUSY
                } else {
                    r#"{"errcode":0,"userid":"a"}"#
                };
                HttpMockResponse::builder().status(200).body(body).build()
            });
        })
        .await;
    let v = client(&server)
        .get_json("/cgi-bin/user/get", &[])
        .await
        .unwrap();
    assert_eq!(v["userid"], "a");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn busy_post_is_not_resent() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let m = server
        .mock_async(|when, then| {
            when.method("POST").path("/cgi-bin/message/send");
            then.status(200).body(BUSY);
        })
        .await;
    let err = client(&server)
        .post_json(
            "/cgi-bin/message/send",
            &[],
            &serde_json::json!({"touser": "a"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(-1));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn retry_policy_none_and_custom_bounds() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let m = server
        .mock_async(|when, then| {
            when.path("/busy");
            then.status(200).body(BUSY);
        })
        .await;
    let none = builder(server.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    none.get_json("/busy", &[]).await.unwrap_err();
    m.assert_calls_async(1).await;
    let one = builder(server.base_url())
        .retry_policy(fast_retry().with_max_retries(1))
        .build()
        .unwrap();
    one.get_json("/busy", &[]).await.unwrap_err();
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn gateway_errors_are_retried_for_gets_only() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let get = server
        .mock_async(|when, then| {
            when.method("GET").path("/gw");
            then.status(503).body("<html>Service Unavailable</html>");
        })
        .await;
    let post = server
        .mock_async(|when, then| {
            when.method("POST").path("/gw");
            then.status(502).body("bad gateway");
        })
        .await;
    let client = client(&server);
    let err = client.get_json("/gw", &[]).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(matches!(err, Error::HttpStatus { .. }));
    get.assert_calls_async(4).await;
    let err = client
        .post_json("/gw", &[], &serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    post.assert_calls_async(1).await;
}

#[tokio::test]
async fn timeouts_are_retried_for_gets_but_a_post_is_sent_once() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let slow_get = server
        .mock_async(|when, then| {
            when.method("GET").path("/slow");
            then.status(200).body("{}").delay(Duration::from_secs(2));
        })
        .await;
    let slow_post = server
        .mock_async(|when, then| {
            when.method("POST").path("/slow");
            then.status(200).body("{}").delay(Duration::from_secs(2));
        })
        .await;
    let client = builder(server.base_url())
        .timeout(Duration::from_millis(150))
        .retry_policy(fast_retry().with_max_retries(2))
        .build()
        .unwrap();
    let err = client.get_json("/slow", &[]).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(
        err,
        Error::Transport {
            kind: TransportKind::Timeout,
            ..
        }
    ));
    slow_get.assert_calls_async(3).await;
    // The send may have reached WeCom: never sent again.
    let err = client
        .post_json("/slow", &[], &serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    slow_post.assert_calls_async(1).await;
}
