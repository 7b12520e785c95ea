//! Issue 9, item 1 with a shared store: callers dropped mid-refresh leave neither the
//! refresh nor Redis's lock stranded, and a Redis killed mid-refresh costs only sharing.
//! Issue 18, defect 3: a refresh slower than the lock's lease keeps the lock.

mod redis_common;
mod runtime_common;

use std::time::{Duration, Instant};

use httpmock::MockServer;
use redis::AsyncCommands;
use redis_common::RedisServer;
use runtime_common::*;
use wecom_api::token::{RedisTokenStore, TokenKey, TokenKind};

const OK: &str = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan"}"#;

async fn slow_gettoken(server: &MockServer, delay: Duration) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.status(200).delay(delay).json_body(serde_json::json!({
                "errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200
            }));
        })
        .await
}

async fn user_get(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get")
                .query_param("access_token", TOKEN);
            then.status(200).body(OK);
        })
        .await
}

fn key() -> TokenKey {
    TokenKey::new(TokenKind::AccessToken, CORP_ID, SECRET)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_callers_leave_no_lease_behind() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    // Longer than the five callers' 100 ms each, with room for a loaded machine.
    let gettoken = slow_gettoken(&server, Duration::from_millis(1500)).await;
    let api = user_get(&server).await;
    let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
    let client = builder(server.base_url())
        .token_store(store.clone())
        .build()
        .unwrap();

    for _ in 0..5 {
        let dropped = tokio::time::timeout(
            Duration::from_millis(100),
            client.get_json("/cgi-bin/user/get", &[]),
        )
        .await;
        assert!(dropped.is_err());
    }
    // The refresh finishes on its own, stores the token and releases the lock, well
    // before the 10 s lease would have expired.
    let mut conn = redis.connection().await;
    let lock = RedisTokenStore::lock_key(&key());
    let started = Instant::now();
    loop {
        let held: bool = conn.exists(&lock).await.unwrap();
        let stored: bool = conn.exists(key().storage_key()).await.unwrap();
        if stored && !held {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "lock still held ({held}) or token not stored ({stored})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "lock released and token stored {} ms after the last caller gave up",
        started.elapsed().as_millis()
    );

    // Another process (a client with its own cache) reads it without asking WeCom.
    let other = builder(server.base_url())
        .token_store(RedisTokenStore::connect(&redis.url()).await.unwrap())
        .build()
        .unwrap();
    other.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    gettoken.assert_calls_async(1).await;
    api.assert_calls_async(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_refresh_still_yields_a_token() {
    let mut redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let gettoken = slow_gettoken(&server, Duration::from_millis(600)).await;
    let api = user_get(&server).await;
    let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
    let client = builder(server.base_url())
        .token_store(store)
        .build()
        .unwrap();

    let call = {
        let c = client.clone();
        tokio::spawn(async move { c.get_json("/cgi-bin/user/get", &[]).await })
    };
    // The refresh holds the lock and waits on gettoken: Redis dies now.
    tokio::time::sleep(Duration::from_millis(250)).await;
    redis.stop();
    let got = call.await.unwrap();
    assert!(got.is_ok(), "{got:?}");
    // Kept per process: the next calls do not ask again.
    for _ in 0..3 {
        client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    }
    gettoken.assert_calls_async(1).await;
    api.assert_calls_async(4).await;

    // Redis comes back empty, with no lock of ours in it.
    redis.restart();
    let mut conn = redis.connection().await;
    let held: bool = conn
        .exists(RedisTokenStore::lock_key(&key()))
        .await
        .unwrap();
    assert!(!held);
}

/// Two processes (two stores, each with its own connection and refresh state) and a
/// gettoken five times slower than the lock's lease: the holder renews its lease, so the
/// other waits for its token instead of fetching a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_slower_than_the_lease_keeps_the_lock() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let lease = Duration::from_millis(300);
    let gettoken = slow_gettoken(&server, lease * 5).await;
    let api = user_get(&server).await;
    let mut processes = Vec::new();
    for _ in 0..2 {
        let store = RedisTokenStore::connect(&redis.url())
            .await
            .unwrap()
            .with_lock_lease(lease)
            .with_lock_timeout(Duration::from_secs(30));
        processes.push(
            builder(server.base_url())
                .token_store(store)
                .build()
                .unwrap(),
        );
    }
    let call = |client: &wecom_api::Client| {
        let c = client.clone();
        tokio::spawn(async move { c.get_json("/cgi-bin/user/get", &[]).await })
    };
    let first = call(&processes[0]);
    // The first holds the lock and waits on gettoken; then the second asks.
    let mut conn = redis.connection().await;
    let lock = RedisTokenStore::lock_key(&key());
    let waited = Instant::now();
    while !conn.exists::<_, bool>(&lock).await.unwrap() {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "lock never taken"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = call(&processes[1]);
    // Three leases later the lock is still held, by the same holder.
    let holder: String = conn.get(&lock).await.unwrap();
    tokio::time::sleep(lease * 3).await;
    let still: Option<String> = conn.get(&lock).await.unwrap();
    assert_eq!(still.as_deref(), Some(holder.as_str()), "the lease ran out");
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    gettoken.assert_calls_async(1).await;
    api.assert_calls_async(2).await;
    // Released at the end.
    assert!(!conn.exists::<_, bool>(&lock).await.unwrap());
}
