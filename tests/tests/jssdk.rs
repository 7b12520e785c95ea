//! JS-SDK: every signature vector, and the tickets fetched, cached and refreshed by the
//! client like the access token.

mod runtime_common;

use std::time::Duration;

use httpmock::{Mock, MockServer};
use runtime_common::*;
use serde::Deserialize;
use wecom_api::jssdk::{self, AgentConfig, WxConfig};
use wecom_api::token::{Token, TokenKey, TokenKind, TokenStore};
use wecom_api::{Error, MemoryTokenStore};

/// The reference vectors (copied from the project's shared reference material).
const VECTORS: &str = include_str!("../vectors/jssdk_vectors.json");

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    id: String,
    jsapi_ticket: String,
    noncestr: String,
    timestamp: u64,
    url_input: String,
    url_signed: String,
    string1: String,
    signature: String,
}

#[test]
fn every_signature_vector() {
    let v: Vectors = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(v.vectors.len(), 9);
    for t in &v.vectors {
        assert_eq!(jssdk::signed_url(&t.url_input), t.url_signed, "{}", t.id);
        assert_eq!(
            jssdk::string_to_sign(&t.jsapi_ticket, &t.noncestr, t.timestamp, &t.url_input),
            t.string1,
            "{}",
            t.id
        );
        assert_eq!(
            jssdk::signature(&t.jsapi_ticket, &t.noncestr, t.timestamp, &t.url_input),
            t.signature,
            "{}",
            t.id
        );
        // The config helpers sign the same way, for wx.config and wx.agentConfig alike.
        let c = WxConfig::sign(
            "wwcorp",
            &t.jsapi_ticket,
            &t.url_input,
            &t.noncestr,
            t.timestamp,
        );
        assert_eq!(c.signature, t.signature, "{}", t.id);
        let a = AgentConfig::sign(
            "wwcorp",
            1000002,
            &t.jsapi_ticket,
            &t.url_input,
            &t.noncestr,
            t.timestamp,
        );
        assert_eq!(a.signature, t.signature, "{}", t.id);
    }
}

/// The copy in `tests/vectors` is the shared reference file, where that is at hand.
#[test]
fn vector_copy_matches_the_reference() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/vectors/jssdk_vectors.json"
    );
    match std::fs::read_to_string(shared) {
        Ok(reference) => assert_eq!(
            reference, VECTORS,
            "tests/vectors/jssdk_vectors.json is stale"
        ),
        Err(_) => eprintln!("note: {shared} not found; checked the copy only"),
    }
}

const JSAPI_TICKET: &str =
    "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
const AGENT_TICKET: &str = "TiCkEt-agent-config-0042";
const PAGE: &str = "https://app.example.com/page?x=1#/route";

async fn mock_jsapi_ticket<'a>(server: &'a MockServer, token: &str, body: &str) -> Mock<'a> {
    let body = body.to_string();
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/get_jsapi_ticket")
                .query_param("access_token", token);
            then.status(200).body(body);
        })
        .await
}

fn ticket_body(ticket: &str) -> String {
    format!(r#"{{"errcode":0,"errmsg":"ok","ticket":"{ticket}","expires_in":7200}}"#)
}

#[tokio::test]
async fn wx_config_is_signed_with_the_cached_corp_ticket() {
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, TOKEN, 7200).await;
    let ticket = mock_jsapi_ticket(&server, TOKEN, &ticket_body(JSAPI_TICKET)).await;
    let store = MemoryTokenStore::new();
    let client = builder(server.base_url())
        .token_store(store.clone())
        .build()
        .unwrap();

    let a = client.wx_config(PAGE).await.unwrap();
    let b = client.wx_config(PAGE).await.unwrap();
    assert_eq!(a.app_id, CORP_ID);
    for c in [&a, &b] {
        assert_eq!(
            c.signature,
            jssdk::signature(JSAPI_TICKET, &c.nonce_str, c.timestamp, PAGE)
        );
        assert_eq!(c.nonce_str.len(), 16);
    }
    assert_ne!(a.nonce_str, b.nonce_str);
    let t = client.jsapi_ticket().await.unwrap();
    assert_eq!(t.expose(), JSAPI_TICKET);
    assert!(!format!("{t:?} {client:?}").contains(JSAPI_TICKET));
    gettoken.assert_calls_async(1).await;
    ticket.assert_calls_async(1).await;

    // Stored like the token, under its own key, until 5 minutes before WeCom's 7200 s.
    let key = TokenKey::new(TokenKind::JsapiTicket, CORP_ID, SECRET);
    let stored = store.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.value(), JSAPI_TICKET);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((now + 6890..=now + 6900).contains(&stored.expires_at()));
    assert_eq!(store.len(), 2);

    let json = serde_json::to_value(&a).unwrap();
    let mut fields: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(fields, ["appId", "nonceStr", "signature", "timestamp"]);
}

#[tokio::test]
async fn wx_agent_config_uses_the_app_ticket_and_agentid() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let agent = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/ticket/get")
                .query_param("access_token", TOKEN)
                .query_param("type", "agent_config");
            then.status(200).body(ticket_body(AGENT_TICKET));
        })
        .await;
    let client = builder(server.base_url())
        .agent_id(1000002)
        .build()
        .unwrap();
    let c = client
        .wx_agent_config(PAGE)
        .await
        .unwrap()
        .js_api_list(["getCurExternalContact"]);
    assert_eq!(c.corpid, CORP_ID);
    assert_eq!(c.agentid, 1000002);
    assert_eq!(
        c.signature,
        jssdk::signature(AGENT_TICKET, &c.nonce_str, c.timestamp, PAGE)
    );
    let json = serde_json::to_value(&c).unwrap();
    let mut fields: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "agentid",
            "corpid",
            "jsApiList",
            "nonceStr",
            "signature",
            "timestamp"
        ]
    );
    client.agent_ticket().await.unwrap();
    agent.assert_calls_async(1).await;

    // Without an agentid there is nothing to sign for.
    let no_agent = builder(server.base_url()).build().unwrap();
    match no_agent.wx_agent_config(PAGE).await.unwrap_err() {
        Error::InvalidArgument { what, .. } => assert_eq!(what, "agent_id"),
        other => panic!("{other:?}"),
    }
    match client.wx_config("#only-a-fragment").await.unwrap_err() {
        Error::InvalidArgument { what, .. } => assert_eq!(what, "url"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_token_error_while_fetching_a_ticket_refreshes_the_token_once() {
    let server = MockServer::start_async().await;
    let store = MemoryTokenStore::new();
    let key = TokenKey::new(TokenKind::AccessToken, CORP_ID, SECRET);
    // The store holds TOKEN, which WeCom no longer accepts; it now issues TOKEN2.
    store.set(&key, Token::new(TOKEN, u64::MAX)).await.unwrap();
    let stale = mock_jsapi_ticket(&server, TOKEN, r#"{"errcode":42001,"errmsg":"expired"}"#).await;
    let fresh = mock_jsapi_ticket(&server, TOKEN2, &ticket_body(JSAPI_TICKET)).await;
    let gettoken = mock_gettoken(&server, TOKEN2, 7200).await;
    let client = builder(server.base_url())
        .token_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(client.jsapi_ticket().await.unwrap().expose(), JSAPI_TICKET);
    stale.assert_calls_async(1).await;
    gettoken.assert_calls_async(1).await;
    fresh.assert_calls_async(1).await;
    assert_eq!(store.get(&key).await.unwrap().unwrap().value(), TOKEN2);
}

#[tokio::test]
async fn a_second_token_error_is_returned_not_looped() {
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, TOKEN, 7200).await;
    let rejected = mock_jsapi_ticket(
        &server,
        TOKEN,
        r#"{"errcode":40014,"errmsg":"invalid access_token"}"#,
    )
    .await;
    let client = client(&server);
    let err = client.jsapi_ticket().await.unwrap_err();
    assert_eq!(err.errcode(), Some(40014));
    assert_eq!(err.endpoint(), Some("jsapi_ticket.get"));
    rejected.assert_calls_async(2).await;
    gettoken.assert_calls_async(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pages_share_one_ticket_fetch() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let ticket = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/get_jsapi_ticket");
            then.status(200)
                .body(ticket_body(JSAPI_TICKET))
                .delay(Duration::from_millis(200));
        })
        .await;
    let client = client(&server);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.wx_config(PAGE).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    ticket.assert_calls_async(1).await;
}

#[tokio::test]
async fn ticket_errors_and_logs_never_show_the_ticket() {
    let (log, _guard) = capture_tracing();
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    // A ticket where a number was expected: a decode error quoting the body.
    mock_jsapi_ticket(
        &server,
        TOKEN,
        &format!(r#"{{"errcode":0,"ticket":"{JSAPI_TICKET}","expires_in":"soon"}}"#),
    )
    .await;
    let client = client(&server);
    let err = client.jsapi_ticket().await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, Error::Decode { .. }), "{shown}");
    assert!(!shown.contains(JSAPI_TICKET), "{shown}");
    let log = log.contents();
    assert!(!log.contains(JSAPI_TICKET), "{log}");
    assert_no_secrets("ticket log", &log);
}
