//! Several OS processes sharing one Redis token store: exactly one `gettoken` between them,
//! a killed lock holder blocks the others only for its lease, and JS-SDK tickets are
//! fetched once too. The processes are `redis-token-worker` (tests/src/bin); the mock
//! WeCom they all call runs in this test process and counts their requests.

mod redis_common;

use std::time::{Duration, Instant};

use httpmock::{Mock, MockServer};
use redis::AsyncCommands;
use redis_common::{RedisServer, Worker};
use wecom_api::jssdk;
use wecom_api::token::{RedisTokenStore, TokenKey, TokenKind};
use wecom_api_tests::*;

const TOKEN: &str = "ToKeN-shared-by-processes-4e1f";
const JSAPI_TICKET: &str = "TiCkEt-corp-jsapi-90ab";
const AGENT_TICKET: &str = "TiCkEt-agent-config-77cd";

const PROCESSES: usize = 8;
const CALLS_PER_PROCESS: usize = 25;

async fn mock_gettoken(server: &MockServer, delay: Duration) -> Mock<'_> {
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/gettoken")
                .query_param("corpid", WORKER_CORP_ID)
                .query_param("corpsecret", WORKER_SECRET);
            then.status(200)
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"errcode":0,"errmsg":"ok","access_token":"{TOKEN}","expires_in":7200}}"#
                ))
                .delay(delay);
        })
        .await
}

/// `/cgi-bin/user/get`, answered only with the shared token.
async fn mock_user_get(server: &MockServer) -> Mock<'_> {
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/user/get")
                .query_param("access_token", TOKEN)
                .query_param("userid", "zhangsan");
            then.status(200)
                .body(r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan"}"#);
        })
        .await
}

fn access_key() -> TokenKey {
    TokenKey::new(TokenKind::AccessToken, WORKER_CORP_ID, WORKER_SECRET)
}

/// Starts `n` workers, waits until each is connected, then lets them all go at once.
fn start_together(
    n: usize,
    mode: &str,
    redis: &RedisServer,
    server: &MockServer,
    calls: usize,
) -> Vec<Worker> {
    let mut workers: Vec<Worker> = (0..n)
        .map(|_| Worker::spawn(mode, &redis.url(), &server.base_url(), calls, &[]))
        .collect();
    for w in &mut workers {
        w.expect("ready");
    }
    for w in &mut workers {
        w.go();
    }
    workers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_make_exactly_one_gettoken_request() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    // Slow, so that every process wants the token while the first fetch is in flight.
    let gettoken = mock_gettoken(&server, Duration::from_millis(500)).await;
    let api = mock_user_get(&server).await;

    let workers = start_together(PROCESSES, "token", &redis, &server, CALLS_PER_PROCESS);
    for w in workers {
        let said = w.finish();
        assert!(
            said.contains(&format!("done {CALLS_PER_PROCESS}")),
            "{said:?}"
        );
    }

    let requests = gettoken.calls_async().await;
    let calls = api.calls_async().await;
    println!("{PROCESSES} processes, {calls} calls, {requests} gettoken request(s) between them");
    assert_eq!(
        requests, 1,
        "gettoken requests across {PROCESSES} processes"
    );
    assert_eq!(calls, PROCESSES * CALLS_PER_PROCESS);

    // The token is in Redis for the next process, keyed without the secret; the lock is
    // released.
    let mut conn = redis.connection().await;
    let key = access_key().storage_key();
    let stored: Option<String> = conn.hget(&key, "value").await.unwrap();
    assert_eq!(stored.as_deref(), Some(TOKEN));
    let ttl: i64 = conn.ttl(&key).await.unwrap();
    assert!(ttl > 0 && ttl <= 7200, "ttl {ttl}");
    let lock: bool = conn
        .exists(RedisTokenStore::lock_key(&access_key()))
        .await
        .unwrap();
    assert!(!lock, "the lock is released");
    let keys: Vec<String> = conn.keys("*").await.unwrap();
    assert!(keys.iter().all(|k| !k.contains(WORKER_SECRET)), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lock_holder_blocks_the_others_only_for_its_lease() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    // WeCom never answers the first process: it holds the lock while it waits.
    let hanging = mock_gettoken(&server, Duration::from_secs(120)).await;
    let api = mock_user_get(&server).await;

    let lease = Duration::from_millis(1500);
    let mut holder = Worker::spawn(
        "token",
        &redis.url(),
        &server.base_url(),
        1,
        &[("WORKER_LEASE_MS", lease.as_millis().to_string())],
    );
    holder.expect("ready");
    holder.go();
    // Its gettoken arrived: it took the lock before asking.
    let deadline = Instant::now() + Duration::from_secs(60);
    while hanging.calls_async().await == 0 {
        assert!(
            Instant::now() < deadline,
            "the holder never asked for a token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    holder.kill();

    // Its lock outlives it, until the lease runs out.
    let mut conn = redis.connection().await;
    let lock_key = RedisTokenStore::lock_key(&access_key());
    let pttl: i64 = conn.pttl(&lock_key).await.unwrap();
    assert!(
        pttl > 0 && pttl <= 1500,
        "dead holder's lock still there with its lease: pttl {pttl}"
    );

    hanging.delete_async().await;
    let gettoken = mock_gettoken(&server, Duration::ZERO).await;
    // The next process would wait up to 10 minutes for a live holder: it only gets on
    // because the dead holder's lease expires.
    let mut next = Worker::spawn(
        "token",
        &redis.url(),
        &server.base_url(),
        3,
        &[("WORKER_LOCK_TIMEOUT_MS", "600000".to_string())],
    );
    next.expect("ready");
    next.go();
    next.finish();

    assert_eq!(gettoken.calls_async().await, 1);
    assert_eq!(api.calls_async().await, 3);
    let stored: Option<String> = conn
        .hget(access_key().storage_key(), "value")
        .await
        .unwrap();
    assert_eq!(stored.as_deref(), Some(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_sdk_tickets_are_fetched_once_across_processes() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, Duration::from_millis(200)).await;
    let jsapi = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/get_jsapi_ticket")
                .query_param("access_token", TOKEN);
            then.status(200)
                .body(format!(
                    r#"{{"errcode":0,"errmsg":"ok","ticket":"{JSAPI_TICKET}","expires_in":7200}}"#
                ))
                .delay(Duration::from_millis(200));
        })
        .await;
    let agent = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/ticket/get")
                .query_param("access_token", TOKEN)
                .query_param("type", "agent_config");
            then.status(200)
                .body(format!(
                    r#"{{"errcode":0,"errmsg":"ok","ticket":"{AGENT_TICKET}","expires_in":7200}}"#
                ))
                .delay(Duration::from_millis(200));
        })
        .await;

    let workers = start_together(4, "tickets", &redis, &server, 10);
    let expected = format!(
        "signatures {} {}",
        jssdk::signature(JSAPI_TICKET, WORKER_NONCE, WORKER_TIMESTAMP, WORKER_PAGE),
        jssdk::signature(AGENT_TICKET, WORKER_NONCE, WORKER_TIMESTAMP, WORKER_PAGE),
    );
    for w in workers {
        let said = w.finish();
        // Every call of every process signed with the one ticket of each kind.
        let signatures: Vec<&String> = said
            .iter()
            .filter(|l| l.starts_with("signatures"))
            .collect();
        assert_eq!(signatures, [&expected], "{said:?}");
    }
    assert_eq!(gettoken.calls_async().await, 1);
    assert_eq!(jsapi.calls_async().await, 1);
    assert_eq!(agent.calls_async().await, 1);

    // Ticket keys are distinct from the token key.
    let mut conn = redis.connection().await;
    for (kind, value) in [
        (TokenKind::AccessToken, TOKEN),
        (TokenKind::JsapiTicket, JSAPI_TICKET),
        (TokenKind::AgentTicket, AGENT_TICKET),
    ] {
        let key = access_key().with_kind(kind).storage_key();
        let stored: Option<String> = conn.hget(&key, "value").await.unwrap();
        assert_eq!(stored.as_deref(), Some(value), "{key}");
    }
}
