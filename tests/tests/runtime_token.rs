//! The access token: fetched once, cached, shared, refreshed on expiry and on token errors.

mod runtime_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use httpmock::MockServer;
use runtime_common::*;
use wecom_api::MemoryTokenStore;
use wecom_api::token::{StoreFuture, Token, TokenKey, TokenKind, TokenStore};

/// `/cgi-bin/user/get` answering `body` when called with `token`.
async fn mock_user_get<'a>(server: &'a MockServer, token: &str, body: &str) -> httpmock::Mock<'a> {
    let body = body.to_string();
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/user/get")
                .query_param("access_token", token);
            then.status(200).body(body);
        })
        .await
}

const OK: &str = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan"}"#;

#[tokio::test]
async fn token_is_fetched_once_and_reused() {
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, TOKEN, 7200).await;
    let api = mock_user_get(&server, TOKEN, OK).await;
    let client = client(&server);
    for _ in 0..5 {
        client
            .get_json("/cgi-bin/user/get", &[("userid", "zhangsan")])
            .await
            .unwrap();
    }
    // Clones share the cache.
    client
        .clone()
        .get_json("/cgi-bin/user/get", &[])
        .await
        .unwrap();
    gettoken.assert_calls_async(1).await;
    api.assert_calls_async(6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_calls_fetch_exactly_one_token() {
    let server = MockServer::start_async().await;
    // A slow gettoken, so every call arrives while the fetch is in flight.
    let gettoken = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.status(200)
                .body(format!(
                    r#"{{"errcode":0,"access_token":"{TOKEN}","expires_in":7200}}"#
                ))
                .delay(Duration::from_millis(300));
        })
        .await;
    let api = mock_user_get(&server, TOKEN, OK).await;
    let client = client(&server);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_json("/cgi-bin/user/get", &[]).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    gettoken.assert_calls_async(1).await;
    api.assert_calls_async(200).await;
}

#[tokio::test]
async fn gettoken_failure_returns_its_errcode_and_is_remembered() {
    for (code, msg) in [(40013, "invalid corpid"), (40001, "invalid secret")] {
        let server = MockServer::start_async().await;
        let gettoken = server
            .mock_async(|when, then| {
                when.path("/cgi-bin/gettoken");
                then.status(200)
                    .body(format!(r#"{{"errcode":{code},"errmsg":"{msg}"}}"#));
            })
            .await;
        let api = mock_user_get(&server, TOKEN, OK).await;
        let client = client(&server);
        for _ in 0..2 {
            let err = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
            assert_eq!(err.errcode(), Some(code));
            assert_eq!(err.endpoint(), Some("token.get"));
            assert_no_secrets("gettoken error", &format!("{err} {err:?}"));
        }
        // Remembered for a moment (see hardening_token.rs): one request, not one per call;
        // and a bad secret is not "refreshed" in a loop.
        gettoken.assert_calls_async(1).await;
        api.assert_calls_async(0).await;
    }
}

#[tokio::test]
async fn token_is_refreshed_after_it_expires() {
    let server = MockServer::start_async().await;
    // expires_in 2 s: used for at most 1 s (never more than half the lifetime early).
    let gettoken = mock_gettoken(&server, TOKEN, 2).await;
    mock_user_get(&server, TOKEN, OK).await;
    let client = client(&server);
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    gettoken.assert_calls_async(2).await;
}

#[tokio::test]
async fn token_error_refreshes_once_and_retries() {
    for code in [40001, 40014, 42001] {
        let server = MockServer::start_async().await;
        let first = mock_gettoken(&server, TOKEN, 7200).await;
        let stale = mock_user_get(
            &server,
            TOKEN,
            &format!(r#"{{"errcode":{code},"errmsg":"bad token"}}"#),
        )
        .await;
        let fresh = mock_user_get(&server, TOKEN2, OK).await;
        let store = MemoryTokenStore::new();
        let client = builder(server.base_url())
            .token_store(store.clone())
            .build()
            .unwrap();

        // Warm the cache with TOKEN (its call fails twice: token errors are retried once).
        let err = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
        assert_eq!(err.errcode(), Some(code));
        assert!(err.is_token_error());
        first.assert_calls_async(2).await;
        stale.assert_calls_async(2).await;

        // WeCom now issues TOKEN2: the stale token is dropped, refreshed, the call retried.
        first.delete_async().await;
        let second = mock_gettoken(&server, TOKEN2, 7200).await;
        let v = client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
        assert_eq!(v["userid"], "zhangsan");
        second.assert_calls_async(1).await;
        stale.assert_calls_async(3).await;
        fresh.assert_calls_async(1).await;
        let key = TokenKey::new(TokenKind::AccessToken, CORP_ID, SECRET);
        assert_eq!(store.get(&key).await.unwrap().unwrap().value(), TOKEN2);
    }
}

#[tokio::test]
async fn a_second_token_error_is_returned_not_looped() {
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, TOKEN, 7200).await;
    let api = mock_user_get(&server, TOKEN, r#"{"errcode":42001,"errmsg":"expired"}"#).await;
    // post_json too: a token error means WeCom did not perform the call, so one retry is safe.
    let post = server
        .mock_async(|when, then| {
            when.method("POST").path("/cgi-bin/message/send");
            then.status(200)
                .body(r#"{"errcode":40014,"errmsg":"invalid access_token"}"#);
        })
        .await;
    let client = client(&server);
    let err = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    assert_eq!(err.errcode(), Some(42001));
    api.assert_calls_async(2).await;
    gettoken.assert_calls_async(2).await;
    let err = client
        .post_json(
            "/cgi-bin/message/send",
            &[],
            &serde_json::json!({"touser": "a"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40014));
    post.assert_calls_async(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_token_errors_cause_one_refresh() {
    let server = MockServer::start_async().await;
    let store = MemoryTokenStore::new();
    let key = TokenKey::new(TokenKind::AccessToken, CORP_ID, SECRET);
    // The cache starts with TOKEN, which WeCom no longer accepts.
    store.set(&key, Token::new(TOKEN, u64::MAX)).await.unwrap();
    // Slow to refuse, so that all 50 calls hold the stale token before any refresh starts.
    let stale = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get")
                .query_param("access_token", TOKEN);
            then.status(200)
                .body(r#"{"errcode":40014,"errmsg":"invalid"}"#)
                .delay(Duration::from_millis(300));
        })
        .await;
    let fresh = mock_user_get(&server, TOKEN2, OK).await;
    let gettoken = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.status(200)
                .body(format!(
                    r#"{{"access_token":"{TOKEN2}","expires_in":7200}}"#
                ))
                .delay(Duration::from_millis(100));
        })
        .await;
    let client = builder(server.base_url())
        .token_store(store)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_json("/cgi-bin/user/get", &[]).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    gettoken.assert_calls_async(1).await;
    stale.assert_calls_async(50).await;
    fresh.assert_calls_async(50).await;
}

#[tokio::test]
async fn clients_sharing_a_store_share_the_token() {
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, TOKEN, 7200).await;
    mock_user_get(&server, TOKEN, OK).await;
    let store = MemoryTokenStore::new();
    let a = builder(server.base_url())
        .token_store(store.clone())
        .build()
        .unwrap();
    let b = builder(server.base_url())
        .token_store(store.clone())
        .build()
        .unwrap();
    a.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    b.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    gettoken.assert_calls_async(1).await;
    assert_eq!(store.len(), 1);
    assert_no_secrets("store Debug", &format!("{store:?} {a:?}"));
}

/// A store that counts its use and wraps a memory store: proves the trait can be
/// implemented outside the crate and is what the client talks to.
#[derive(Debug, Default)]
struct CountingStore {
    inner: MemoryTokenStore,
    gets: AtomicUsize,
    sets: AtomicUsize,
}

impl TokenStore for CountingStore {
    fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key)
    }
    fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()> {
        self.sets.fetch_add(1, Ordering::SeqCst);
        self.inner.set(key, token)
    }
    fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()> {
        self.inner.invalidate(key, value)
    }
}

#[tokio::test]
async fn custom_store_is_consulted_before_gettoken() {
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, TOKEN2, 7200).await;
    let api = mock_user_get(&server, TOKEN, OK).await;
    let store = Arc::new(CountingStore::default());
    let key = TokenKey::new(TokenKind::AccessToken, CORP_ID, SECRET);
    assert!(!key.storage_key().contains(SECRET));
    // Another process already put a fresh token there.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    store
        .inner
        .set(&key, Token::new(TOKEN, now + 3600))
        .await
        .unwrap();

    let client = builder(server.base_url())
        .token_store(Arc::clone(&store))
        .build()
        .unwrap();
    for _ in 0..3 {
        client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    }
    gettoken.assert_calls_async(0).await;
    api.assert_calls_async(3).await;
    // Read once, then served from the client's local copy.
    assert_eq!(store.gets.load(Ordering::SeqCst), 1);
    assert_eq!(store.sets.load(Ordering::SeqCst), 0);
    let dyn_store: &dyn TokenStore = &*store;
    assert!(format!("{dyn_store:?}").contains("CountingStore"));
}
