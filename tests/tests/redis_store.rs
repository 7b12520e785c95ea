//! `RedisTokenStore` against a real Redis, in one process: what it stores and under which
//! keys, its lock and lease, and how calls go on when Redis is unreachable.

mod redis_common;
mod runtime_common;

use std::time::Duration;

use httpmock::{Mock, MockServer};
use redis::AsyncCommands;
use redis_common::RedisServer;
use runtime_common::*;
use wecom_api::token::{RedisTokenStore, Token, TokenKey, TokenKind, TokenStore};

const OK: &str = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan"}"#;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn mock_gettoken_for<'a>(
    server: &'a MockServer,
    corp: &str,
    secret: &str,
    token: &str,
) -> Mock<'a> {
    let body = format!(r#"{{"errcode":0,"access_token":"{token}","expires_in":7200}}"#);
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken")
                .query_param("corpid", corp)
                .query_param("corpsecret", secret);
            then.status(200).body(body);
        })
        .await
}

async fn mock_user_get<'a>(server: &'a MockServer, token: &str, body: &str) -> Mock<'a> {
    let body = body.to_string();
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get")
                .query_param("access_token", token);
            then.status(200).body(body);
        })
        .await
}

#[tokio::test]
async fn tokens_are_keyed_per_corp_and_per_secret_without_the_secret() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let other_secret = "SeCrEt-other-app-8c1d";
    let other_corp = "wwothercorp000002";
    let clients = [
        (CORP_ID, SECRET, "TOKEN-A"),
        (CORP_ID, other_secret, "TOKEN-B"),
        (other_corp, SECRET, "TOKEN-C"),
    ];
    let mut fetches = Vec::new();
    for (corp, secret, token) in clients {
        fetches.push(mock_gettoken_for(&server, corp, secret, token).await);
        mock_user_get(&server, token, OK).await;
    }
    for _round in 0..2 {
        // A fresh store and client per round: the second round is "another process".
        for (corp, secret, _) in clients {
            let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
            let client = wecom_api::Client::builder()
                .corp_id(corp)
                .secret(secret)
                .base_url(server.base_url())
                .token_store(store)
                .build()
                .unwrap();
            client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
        }
        for m in &fetches {
            // Each token fetched once, in the first round; never one for another.
            m.assert_calls_async(1).await;
        }
    }
    let mut conn = redis.connection().await;
    let mut keys: Vec<String> = conn.keys("*").await.unwrap();
    keys.sort();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for k in &keys {
        assert!(k.starts_with("wecom:access_token:"), "{k}");
        assert!(!k.contains(SECRET) && !k.contains(other_secret), "{k}");
    }
    for (corp, secret, token) in clients {
        let key = TokenKey::new(TokenKind::AccessToken, corp, secret).storage_key();
        let v: Option<String> = conn.hget(&key, "value").await.unwrap();
        assert_eq!(v.as_deref(), Some(token));
    }
}

#[tokio::test]
async fn store_operations_lock_and_lease() {
    let redis = RedisServer::start();
    let store = RedisTokenStore::connect(&redis.url())
        .await
        .unwrap()
        .with_lock_lease(Duration::from_millis(300));
    let key = TokenKey::new(TokenKind::JsapiTicket, CORP_ID, SECRET);

    assert_eq!(store.get(&key).await.unwrap(), None);
    store
        .set(&key, Token::new("T1", now() + 100))
        .await
        .unwrap();
    assert_eq!(
        store.get(&key).await.unwrap(),
        Some(Token::new("T1", now() + 100))
    );
    // A stale report does not drop the current value; the right one does.
    store.invalidate(&key, "T0").await.unwrap();
    assert!(store.get(&key).await.unwrap().is_some());
    store.invalidate(&key, "T1").await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
    // An already expired token is not stored.
    store.set(&key, Token::new("OLD", 1)).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);

    // The lock: one holder at a time; only the holder releases it.
    let other = RedisTokenStore::connect(&redis.url()).await.unwrap();
    let lease = store
        .try_lock(&key)
        .await
        .unwrap()
        .expect("free lock is taken");
    assert!(other.try_lock(&key).await.unwrap().is_none());
    let stranger = wecom_api::token::Lease::new("not-the-holder");
    other.unlock(&key, &stranger).await.unwrap();
    assert!(other.try_lock(&key).await.unwrap().is_none());
    store.unlock(&key, &lease).await.unwrap();
    let lease2 = other
        .try_lock(&key)
        .await
        .unwrap()
        .expect("released lock is taken");
    assert_ne!(lease, lease2);

    // A holder that never unlocks loses the lock when its lease runs out.
    let key2 = key.with_kind(TokenKind::AgentTicket);
    let _dead = store.try_lock(&key2).await.unwrap().expect("taken");
    let mut conn = redis.connection().await;
    let pttl: i64 = conn.pttl(RedisTokenStore::lock_key(&key2)).await.unwrap();
    assert!(pttl > 0 && pttl <= 300, "pttl {pttl}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(other.try_lock(&key2).await.unwrap().is_some());

    let shown = format!("{store:?}");
    assert!(
        shown.contains(&format!("127.0.0.1:{}", redis.port())),
        "{shown}"
    );
}

#[tokio::test]
async fn a_token_error_replaces_the_shared_token() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let key = TokenKey::new(TokenKind::AccessToken, CORP_ID, SECRET);
    let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
    // Another process left a token WeCom no longer accepts.
    store
        .set(&key, Token::new(TOKEN, now() + 3600))
        .await
        .unwrap();
    mock_user_get(&server, TOKEN, r#"{"errcode":42001,"errmsg":"expired"}"#).await;
    let fresh = mock_user_get(&server, TOKEN2, OK).await;
    let gettoken = mock_gettoken(&server, TOKEN2, 7200).await;
    let client = builder(server.base_url())
        .token_store(store.clone())
        .build()
        .unwrap();
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    gettoken.assert_calls_async(1).await;
    fresh.assert_calls_async(1).await;
    assert_eq!(store.get(&key).await.unwrap().unwrap().value(), TOKEN2);
}

fn warnings(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("WARN") && l.contains("token store failed"))
        .count()
}

#[tokio::test]
async fn unreachable_redis_degrades_to_a_per_process_token_logged_once() {
    let (log, _guard) = capture_tracing();
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, TOKEN, 7200).await;
    let api = mock_user_get(&server, TOKEN, OK).await;
    let jsapi = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/get_jsapi_ticket")
                .query_param("access_token", TOKEN);
            then.status(200)
                .body(r#"{"errcode":0,"ticket":"TiCkEt-degraded","expires_in":7200}"#);
        })
        .await;
    // Nothing listens there: connecting is not an error.
    let redis_url = closed_port_url().replace("http://", "redis://");
    let store = RedisTokenStore::connect(&redis_url).await.unwrap();
    let client = builder(server.base_url())
        .token_store(store)
        .build()
        .unwrap();
    for _ in 0..20 {
        client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    }
    // Other keys of the same client use the same store: still one warning.
    client.jsapi_ticket().await.unwrap();
    client.wx_config("https://app.example.com/").await.unwrap();
    gettoken.assert_calls_async(1).await;
    api.assert_calls_async(20).await;
    jsapi.assert_calls_async(1).await;
    let log = log.contents();
    assert_eq!(warnings(&log), 1, "{log}");
    assert_no_secrets("degraded log", &log);
    assert!(!log.contains("TiCkEt-degraded"), "{log}");
}

#[tokio::test]
async fn redis_going_away_and_coming_back() {
    let (log, _guard) = capture_tracing();
    let mut redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let key = TokenKey::new(TokenKind::AccessToken, CORP_ID, SECRET);
    let first = mock_gettoken(&server, TOKEN, 7200).await;
    let ok = mock_user_get(&server, TOKEN, OK).await;
    let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
    let client = builder(server.base_url())
        .token_store(store.clone())
        .build()
        .unwrap();
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    first.assert_calls_async(1).await;

    // Redis dies; WeCom then rejects the token, so refreshing needs the store.
    redis.stop();
    ok.delete_async().await;
    let rejected = mock_user_get(&server, TOKEN, r#"{"errcode":40014,"errmsg":"invalid"}"#).await;
    first.delete_async().await;
    let second = mock_gettoken(&server, TOKEN2, 7200).await;
    let ok2 = mock_user_get(&server, TOKEN2, OK).await;
    for _ in 0..10 {
        client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    }
    rejected.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
    ok2.assert_calls_async(10).await;
    assert_eq!(warnings(&log.contents()), 1, "{}", log.contents());

    // Redis is back (empty); the store reconnects when used.
    redis.restart();
    let mut back = false;
    for _ in 0..50 {
        if store.ping().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "the store reconnects to a restarted Redis");
    // The next refresh shares its token again, and the log says the store works.
    ok2.delete_async().await;
    mock_user_get(&server, TOKEN2, r#"{"errcode":42001,"errmsg":"expired"}"#).await;
    second.delete_async().await;
    let third = mock_gettoken(&server, "ToKeN-after-recovery", 7200).await;
    mock_user_get(&server, "ToKeN-after-recovery", OK).await;
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    let shared = store.get(&key).await.unwrap();
    assert_eq!(
        shared.as_ref().map(Token::value),
        Some("ToKeN-after-recovery")
    );
    third.assert_calls_async(1).await;
    let log = log.contents();
    assert!(log.contains("token store works again"), "{log}");
    assert_eq!(warnings(&log), 1, "{log}");
    assert_no_secrets("outage log", &log);
}

#[tokio::test]
async fn a_bad_url_is_refused_without_echoing_it() {
    let err = RedisTokenStore::connect("http://user:PaSsWoRd@127.0.0.1/")
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("redis_url"), "{shown}");
    assert!(!shown.contains("PaSsWoRd"), "{shown}");
}
