//! Client construction and the raw JSON calls: token, query, body, errcode check.

mod runtime_common;

use std::time::Duration;

use httpmock::MockServer;
use runtime_common::*;
use serde_json::json;
use wecom_api::{Client, Error};

fn invalid_what(err: Error) -> String {
    match err {
        Error::InvalidArgument { what, .. } => what.into_owned(),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn builder_requires_corp_id_and_secret() {
    let e = Client::builder().secret(SECRET).build().unwrap_err();
    assert_eq!(invalid_what(e), "corp_id");
    let e = Client::builder().corp_id(CORP_ID).build().unwrap_err();
    assert_eq!(invalid_what(e), "secret");
    let e = Client::builder()
        .corp_id("")
        .secret(SECRET)
        .build()
        .unwrap_err();
    assert_eq!(invalid_what(e), "corp_id");
    let e = Client::builder()
        .corp_id(CORP_ID)
        .secret(" ")
        .build()
        .unwrap_err();
    assert_eq!(invalid_what(e), "secret");
}

#[test]
fn builder_rejects_bad_base_urls() {
    for bad in [
        "not a url",
        "ftp://example.com",
        "http://h/x?a=1",
        "/relative",
    ] {
        let e = builder(bad).build().unwrap_err();
        let shown = e.to_string();
        assert_eq!(invalid_what(e), "base_url", "{bad}: {shown}");
    }
    let e = builder("http://127.0.0.1:1")
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(invalid_what(e), "timeout");
}

#[test]
fn defaults_and_debug_hide_the_secret() {
    let b = Client::builder().corp_id(CORP_ID).secret(SECRET);
    assert_no_secrets("ClientBuilder Debug", &format!("{b:?}"));
    let client = b.build().unwrap();
    assert_eq!(client.base_url(), "https://qyapi.weixin.qq.com");
    assert_eq!(client.corp_id(), CORP_ID);
    let shown = format!("{client:?}");
    assert_no_secrets("Client Debug", &shown);
    assert!(shown.contains(CORP_ID));

    fn traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    traits::<Client>();
    traits::<Error>();
}

#[tokio::test]
async fn get_json_sends_token_and_query() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let m = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/user/get")
                .query_param("access_token", TOKEN)
                .query_param("userid", "zhangsan");
            then.status(200)
                .body(r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三"}"#);
        })
        .await;
    let client = client(&server);
    let v = client
        .get_json("/cgi-bin/user/get", &[("userid", "zhangsan")])
        .await
        .unwrap();
    assert_eq!(v["name"], "张三");
    m.assert_async().await;
}

#[tokio::test]
async fn post_json_sends_the_body_as_json() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let body = json!({"userid": "zhangsan", "name": "张三", "department": [1]});
    let m = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/user/create")
                .query_param("access_token", TOKEN)
                .header("content-type", "application/json")
                .json_body(body.clone());
            then.status(200).body(r#"{"errcode":0,"errmsg":"created"}"#);
        })
        .await;
    let client = client(&server);
    // The body is serialized when the call is made: the future does not borrow it, so it
    // may be a temporary.
    let call = client.post_json("/cgi-bin/user/create", &[], &body.clone());
    let v = call.await.unwrap();
    assert_eq!(v["errmsg"], "created");
    m.assert_async().await;
}

#[tokio::test]
async fn string_errcode_zero_and_missing_errcode_are_success() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/string-zero");
            then.status(200)
                .body(r#"{"errcode":"0","errmsg":"ok","x":1}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/no-errcode");
            then.status(200).body(r#"{"x":2}"#);
        })
        .await;
    let client = client(&server);
    assert_eq!(client.get_json("/string-zero", &[]).await.unwrap()["x"], 1);
    assert_eq!(client.get_json("/no-errcode", &[]).await.unwrap()["x"], 2);
}

#[tokio::test]
async fn api_error_carries_errcode_errmsg_and_meaning() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.status(200)
                .body(r#"{"errcode":"60111","errmsg":"userid not found"}"#);
        })
        .await;
    let err = client(&server)
        .get_json("/cgi-bin/user/get", &[("userid", "nobody")])
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(60111));
    assert_eq!(err.errmsg(), Some("userid not found"));
    assert!(!err.is_token_error());
    assert!(!err.is_retryable());
    let shown = err.to_string();
    assert!(shown.contains("/cgi-bin/user/get"), "{shown}");
    assert!(
        shown.contains("60111") && shown.contains("userid not found"),
        "{shown}"
    );
    if let Some(meaning) = wecom_api::errcode_meaning(60111) {
        assert!(shown.contains(meaning), "{shown}");
    }
}

#[tokio::test]
async fn non_json_body_is_a_decode_error() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/html");
            then.status(200).body("<html>gateway</html>");
        })
        .await;
    let err = client(&server).get_json("/html", &[]).await.unwrap_err();
    match err {
        Error::Decode { excerpt, .. } => assert!(excerpt.contains("gateway")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn raw_paths_are_checked() {
    let client = builder("http://127.0.0.1:9").build().unwrap();
    for bad in ["cgi-bin/user/get", "/cgi-bin/user/get?userid=a", "/x#y"] {
        let e = client.get_json(bad, &[]).await.unwrap_err();
        assert_eq!(invalid_what(e), "path", "{bad}");
    }
}

#[tokio::test]
async fn base_url_may_carry_a_path_prefix() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/proxy/cgi-bin/gettoken");
            then.status(200)
                .body(format!(r#"{{"access_token":"{TOKEN}","expires_in":7200}}"#));
        })
        .await;
    let m = server
        .mock_async(|when, then| {
            when.path("/proxy/cgi-bin/agent/list");
            then.status(200).body(r#"{"errcode":0}"#);
        })
        .await;
    let client = builder(format!("{}/proxy/", server.base_url()))
        .build()
        .unwrap();
    client.get_json("/cgi-bin/agent/list", &[]).await.unwrap();
    m.assert_async().await;
}

#[tokio::test]
async fn shared_http_client_still_gets_the_per_request_timeout() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/slow");
            then.status(200).body("{}").delay(Duration::from_secs(3));
        })
        .await;
    let shared = reqwest::Client::new();
    let client = builder(server.base_url())
        .http_client(shared.clone())
        .timeout(Duration::from_millis(200))
        .retry_policy(wecom_api::RetryPolicy::none())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.get_json("/slow", &[]).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A second client on the same pool works independently.
    let other = builder(server.base_url())
        .http_client(shared)
        .build()
        .unwrap();
    assert!(format!("{other:?}").contains(CORP_ID));
}
