//! Outgoing calls through a user's reqwest-middleware stack: a layer sees every attempt
//! (with the credential in the URL, so it must redact what it logs) and can add headers;
//! its failures are errors of their own, redacted.

mod runtime_common;

use std::sync::{Arc, Mutex};

use httpmock::MockServer;
use reqwest_middleware::{Middleware, Next};
use runtime_common::{CORP_ID, SECRET, TOKEN, builder, mock_gettoken};

/// Adds an egress proxy's auth header and logs each request's method and URL, redacted.
#[derive(Clone, Default)]
struct EgressAuth {
    seen: Arc<Mutex<Vec<String>>>,
    raw_urls: Arc<Mutex<Vec<String>>>,
}

#[async_trait::async_trait]
impl Middleware for EgressAuth {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        req.headers_mut().insert(
            "x-egress-auth",
            reqwest::header::HeaderValue::from_static("proxy-pass-42"),
        );
        self.raw_urls
            .lock()
            .expect("log")
            .push(req.url().to_string());
        self.seen.lock().expect("log").push(format!(
            "{} {}",
            req.method(),
            wecom_api::redact_url(req.url().as_str())
        ));
        next.run(req, extensions).await
    }
}

#[tokio::test]
async fn a_layer_sees_every_request_and_adds_its_header() {
    let server = MockServer::start_async().await;
    let token = mock_gettoken(&server, TOKEN, 7200).await;
    let user = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/user/get")
                .query_param("access_token", TOKEN)
                .header("x-egress-auth", "proxy-pass-42");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三"}"#);
        })
        .await;
    let layer = EgressAuth::default();
    let stack = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(layer.clone())
        .build();
    let client = builder(server.base_url())
        .http_middleware(stack)
        .build()
        .expect("client");
    let got = client.user().get("zhangsan").await.expect("user");
    assert_eq!(got.name.as_deref(), Some("张三"));
    token.assert_calls_async(1).await;
    user.assert_calls_async(1).await;
    let seen = layer.seen.lock().expect("log").clone();
    // gettoken went through the stack too, then the call.
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].starts_with("GET ") && seen[0].contains("/cgi-bin/gettoken"));
    assert!(seen[1].contains("/cgi-bin/user/get") && seen[1].contains("userid=zhangsan"));
    let logged = seen.join("\n");
    assert!(
        !logged.contains(TOKEN) && !logged.contains(SECRET),
        "{logged}"
    );
    assert!(logged.contains(CORP_ID), "{logged}");
    // What the layer is handed does carry the credential: hence the redaction above.
    let raw = layer.raw_urls.lock().expect("log").join("\n");
    assert!(raw.contains(TOKEN) && raw.contains(SECRET));
    assert!(format!("{client:?}").contains("http_middleware: true"));
}

#[tokio::test]
async fn retries_stay_ours_and_each_attempt_passes_the_stack() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let busy = server
        .mock_async(|when, then| {
            when.method("GET").path("/cgi-bin/user/get");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"errcode":-1,"errmsg":"system busy"}"#);
        })
        .await;
    let layer = EgressAuth::default();
    let stack = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(layer.clone())
        .build();
    let client = builder(server.base_url())
        .http_middleware(stack)
        .build()
        .expect("client");
    let e = client.user().get("zhangsan").await.unwrap_err();
    assert_eq!(e.errcode(), Some(-1));
    // The first attempt and three retries (the default policy), each seen by the layer.
    busy.assert_calls_async(4).await;
    let user_gets = layer
        .seen
        .lock()
        .expect("log")
        .iter()
        .filter(|l| l.contains("/cgi-bin/user/get"))
        .count();
    assert_eq!(user_gets, 4);
}

/// A layer that refuses, quoting the URL it was given (as careless ones do).
struct Refuse;

#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "egress denied for {}", self.0)
    }
}

impl std::error::Error for Refusal {}

#[async_trait::async_trait]
impl Middleware for Refuse {
    async fn handle(
        &self,
        req: reqwest::Request,
        _extensions: &mut http::Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        Err(reqwest_middleware::Error::middleware(Refusal(
            req.url().to_string(),
        )))
    }
}

#[tokio::test]
async fn a_layers_failure_is_an_error_of_its_own_without_secrets() {
    let server = MockServer::start_async().await;
    let stack = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(Refuse)
        .build();
    let client = builder(server.base_url())
        .http_middleware(stack)
        .build()
        .expect("client");
    let e = client.user().get("zhangsan").await.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(
        shown.contains("token.get: outbound middleware failed: egress denied"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "{shown}");
}

/// A `Corp` hands its stack to the client of every secret.
#[tokio::test]
async fn a_corps_clients_all_go_through_its_stack() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/gettoken")
                .query_param("corpsecret", "another-secret-0002");
            then.status(200)
                .header("content-type", "application/json")
                .body(
                    r#"{"errcode":0,"errmsg":"ok","access_token":"other-token","expires_in":7200}"#,
                );
        })
        .await;
    let user = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/user/get")
                .header("x-egress-auth", "proxy-pass-42");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三"}"#);
        })
        .await;
    let layer = EgressAuth::default();
    let stack = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(layer.clone())
        .build();
    let corp = wecom_api::Corp::builder()
        .corp_id(CORP_ID)
        .base_url(server.base_url())
        .secret("app", SECRET)
        .secret("contacts", "another-secret-0002")
        .http_middleware(stack)
        .build()
        .expect("corp");
    for name in ["app", "contacts"] {
        let client = corp.client(name).expect("client");
        client.user().get("zhangsan").await.expect(name);
    }
    user.assert_calls_async(2).await;
    let seen = layer.seen.lock().expect("log").clone();
    assert_eq!(
        seen.iter()
            .filter(|l| l.contains("/cgi-bin/user/get"))
            .count(),
        2,
        "{seen:?}"
    );
}
