//! No corpsecret, access_token or ticket in any error's Display/Debug, nor in tracing
//! output; tracing spans carry the documented fields.

mod runtime_common;

use std::time::Duration;

use httpmock::MockServer;
use runtime_common::*;
use wecom_api::{Error, RetryPolicy, TransportKind};

fn shown(err: &Error) -> String {
    let mut s = format!("{err}\n{err:?}");
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        s.push_str(&format!("\n{c}\n{c:?}"));
        cause = c.source();
    }
    s
}

#[tokio::test]
async fn transport_error_on_gettoken_hides_the_secret() {
    // Nothing listens: the gettoken request (corpsecret in its URL) fails to connect.
    let client = builder(closed_port_url()).build().unwrap();
    let err = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
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
    assert_eq!(err.endpoint(), Some("token.get"));
    assert_no_secrets("transport error", &shown(&err));
    assert!(!shown(&err).contains("corpsecret"));
}

#[tokio::test]
async fn transport_error_on_a_call_hides_the_token() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.status(200).body("{}").delay(Duration::from_secs(2));
        })
        .await;
    let client = builder(server.base_url())
        .timeout(Duration::from_millis(100))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .get_json("/cgi-bin/user/get", &[("userid", "zhangsan")])
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_no_secrets("timeout error", &shown(&err));
    assert!(!shown(&err).contains("access_token"));
}

#[tokio::test]
async fn decode_error_names_the_field_and_hides_secrets() {
    let server = MockServer::start_async().await;
    // gettoken answers with an access_token of the wrong type: decode error on token.get.
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.status(200).body(format!(
                r#"{{"errcode":0,"access_token":"{TOKEN}","expires_in":"soon"}}"#
            ));
        })
        .await;
    let err = builder(server.base_url())
        .build()
        .unwrap()
        .get_json("/x", &[])
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            endpoint,
            path,
            excerpt,
            ..
        } => {
            assert_eq!(endpoint, "token.get");
            assert_eq!(path, "expires_in");
            assert!(excerpt.contains("\"access_token\":\"***\""), "{excerpt}");
        }
        other => panic!("{other:?}"),
    }
    assert_no_secrets("decode error", &shown(&err));
}

#[tokio::test]
async fn decode_error_excerpt_is_short_and_redacted() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let long_tail = "x".repeat(5000);
    server
        .mock_async(|when, then| {
            when.path("/ticket");
            then.status(200).body(format!(
                r#"{{"errcode":0,"ticket":"{TOKEN2}","corpsecret":"{SECRET}","pad":"{long_tail}"#
            ));
        })
        .await;
    let err = client(&server).get_json("/ticket", &[]).await.unwrap_err();
    match &err {
        Error::Decode { excerpt, .. } => {
            assert!(excerpt.chars().count() <= 201, "{}", excerpt.len());
        }
        other => panic!("{other:?}"),
    }
    assert_no_secrets("decode error", &shown(&err));
}

#[tokio::test]
async fn http_status_error_excerpt_is_redacted() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.status(500).body(format!(
                "upstream failed for /cgi-bin/user/get?access_token={TOKEN}&userid=a"
            ));
        })
        .await;
    let client = builder(server.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    let s = shown(&err);
    assert!(s.contains("access_token=***"), "{s}");
    assert_no_secrets("HTTP error", &s);
}

#[tokio::test]
async fn api_error_message_is_redacted() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/echo");
            then.status(200).body(format!(
                r#"{{"errcode":40058,"errmsg":"bad param ticket={TOKEN2}"}}"#
            ));
        })
        .await;
    let err = client(&server).get_json("/echo", &[]).await.unwrap_err();
    assert_eq!(err.errcode(), Some(40058));
    assert_no_secrets("API error", &shown(&err));
}
