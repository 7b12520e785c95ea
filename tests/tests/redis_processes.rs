//! Several OS processes sharing one Redis token store: exactly one `gettoken` between them,
//! a killed lock holder blocks the others only for its lease, and JS-SDK tickets are
//! fetched once too; four suite processes share one suite token (from a ticket only one
//! of them received) and one token per authorised corp; a thousand authorised corps cost
//! one token request each. The processes are `redis-token-worker` (tests/src/bin); the mock
//! WeCom they all call runs in this test process and counts their requests.

mod redis_common;

use std::time::{Duration, Instant};

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use httpmock::{HttpMockRequest, Mock, MockServer};
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

const SUITE_TICKET: &str = "TiCkEt-pushed-to-one-process-71f0";
const SUITE_TOKEN: &str = "ToKeN-suite-shared-5d2a";
const CORP_TOKEN: &str = "ToKeN-authorised-corp-shared-a4c9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_suite_processes_share_one_suite_token_and_one_token_per_authorised_corp() {
    const SUITE_PROCESSES: usize = 4;
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    // Slow answers, so that every process wants each token while it is being fetched.
    let delay = Duration::from_millis(300);
    let suite_issuer = mock_suite_issuer(&server, delay).await;
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let corp_issuer = mock_corp_issuer(&server, &asked, delay).await;
    let api = mock_corp_user_get(&server).await;

    // WeCom pushed the ticket to one process only; it saved it before saying `ready`.
    let mut workers = vec![Worker::spawn(
        "suite",
        &redis.url(),
        &server.base_url(),
        CALLS_PER_PROCESS,
        &[("WORKER_SAVE_TICKET", SUITE_TICKET.to_string())],
    )];
    workers[0].expect("ready");
    for _ in 1..SUITE_PROCESSES {
        let mut w = Worker::spawn(
            "suite",
            &redis.url(),
            &server.base_url(),
            CALLS_PER_PROCESS,
            &[],
        );
        w.expect("ready");
        workers.push(w);
    }
    for w in &mut workers {
        w.go();
    }
    for w in workers {
        let said = w.finish();
        assert!(
            said.contains(&format!("done {CALLS_PER_PROCESS}")),
            "{said:?}"
        );
    }

    assert_eq!(
        suite_issuer.calls_async().await,
        1,
        "one suite token between the processes"
    );
    assert_eq!(
        corp_issuer.calls_async().await,
        WORKER_CORPS,
        "one token request per authorised corp between the processes"
    );
    let distinct: BTreeSet<String> = asked.lock().unwrap().iter().cloned().collect();
    assert_eq!(distinct.len(), WORKER_CORPS);
    assert_eq!(api.calls_async().await, SUITE_PROCESSES * CALLS_PER_PROCESS);
    let mut conn = redis.connection().await;
    let keys: Vec<String> = conn.keys("*").await.unwrap();
    for secret in [WORKER_SUITE_SECRET, SUITE_TICKET, "PeRmAnEnT-"] {
        assert!(keys.iter().all(|k| !k.contains(secret)), "{keys:?}");
    }
}

/// `service/get_suite_token` for the worker suite and `SUITE_TICKET`, answering `SUITE_TOKEN`.
async fn mock_suite_issuer(server: &MockServer, delay: Duration) -> Mock<'_> {
    server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_suite_token")
                .json_body(serde_json::json!({
                    "suite_id": WORKER_SUITE_ID,
                    "suite_secret": WORKER_SUITE_SECRET,
                    "suite_ticket": SUITE_TICKET,
                }));
            then.status(200)
                .json_body(
                    serde_json::json!({ "suite_access_token": SUITE_TOKEN, "expires_in": 7200 }),
                )
                .delay(delay);
        })
        .await
}

/// `service/get_corp_token` with `SUITE_TOKEN`, for a corp with its own permanent code,
/// answering `CORP_TOKEN`; records the corps that asked.
async fn mock_corp_issuer<'a>(
    server: &'a MockServer,
    asked: &Arc<Mutex<Vec<String>>>,
    delay: Duration,
) -> Mock<'a> {
    let recorder = Arc::clone(asked);
    server
        .mock_async(move |when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_corp_token")
                .query_param("suite_access_token", SUITE_TOKEN)
                .is_true(move |req: &HttpMockRequest| {
                    let body: serde_json::Value =
                        serde_json::from_slice(req.body_ref()).unwrap_or_default();
                    let corp = body["auth_corpid"].as_str().unwrap_or_default().to_owned();
                    let ok = body["permanent_code"] == worker_permanent_code(&corp);
                    if ok {
                        recorder.lock().unwrap().push(corp);
                    }
                    ok
                });
            then.status(200)
                .json_body(serde_json::json!({ "errcode": 0, "errmsg": "ok", "access_token": CORP_TOKEN, "expires_in": 7200 }))
                .delay(delay);
        })
        .await
}

async fn mock_corp_user_get(server: &MockServer) -> Mock<'_> {
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get")
                .query_param("access_token", CORP_TOKEN);
            then.status(200)
                .body(r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三"}"#);
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_authorised_corps_cost_one_token_request_each() {
    const CORPS: usize = 1000;
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let suite_issuer = mock_suite_issuer(&server, Duration::ZERO).await;
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let corp_issuer = mock_corp_issuer(&server, &asked, Duration::ZERO).await;
    let api = mock_corp_user_get(&server).await;
    let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
    let suite = wecom_api::Client::builder()
        .base_url(server.base_url())
        .suite(WORKER_SUITE_ID, WORKER_SUITE_SECRET)
        .token_store(store)
        .build()
        .unwrap();
    suite.save_ticket(SUITE_TICKET, None).await.unwrap();
    let corp = |i: usize| {
        let id = worker_corp(i);
        let code = worker_permanent_code(&id);
        suite.authorized_corp(id, code).unwrap()
    };

    let mut tasks = Vec::new();
    for i in 0..CORPS {
        let client = corp(i);
        tasks.push(tokio::spawn(async move {
            // Two concurrent calls per corp: one token request between them.
            let (a, b) = tokio::join!(client.user().get("zhangsan"), client.user().get("zhangsan"));
            a.and(b).map(|user| user.name)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().as_deref(), Some("张三"));
    }
    // Made again (per request, say), a corp's client finds its token in the store.
    for i in (0..CORPS).step_by(100) {
        corp(i).user().get("zhangsan").await.unwrap();
    }

    assert_eq!(
        suite_issuer.calls_async().await,
        1,
        "one suite token for all"
    );
    assert_eq!(
        corp_issuer.calls_async().await,
        CORPS,
        "one token request per corp"
    );
    let distinct: BTreeSet<String> = asked.lock().unwrap().iter().cloned().collect();
    assert_eq!(distinct.len(), CORPS, "each corp asked once");
    assert_eq!(api.calls_async().await, 2 * CORPS + CORPS / 100);
    // In Redis: the ticket, the suite token and one token per corp; no lock left behind.
    let mut conn = redis.connection().await;
    let keys: Vec<String> = conn.keys("wecom:*").await.unwrap();
    assert_eq!(keys.len(), CORPS + 2, "{:?}", &keys[..keys.len().min(5)]);
    assert!(keys.iter().all(|k| !k.ends_with(":lock")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suite_token_rejected_with_42009_in_redis_is_refreshed_once() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let issuer = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/service/get_suite_token");
            then.status(200).json_body(
                serde_json::json!({ "suite_access_token": SUITE_TOKEN, "expires_in": 7200 }),
            );
        })
        .await;
    let expired = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/service/get_pre_auth_code")
                .query_param("suite_access_token", "ToKeN-suite-expired");
            then.status(200).json_body(
                serde_json::json!({ "errcode": 42009, "errmsg": "suite_access_token expired" }),
            );
        })
        .await;
    let fresh = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/service/get_pre_auth_code")
                .query_param("suite_access_token", SUITE_TOKEN);
            then.status(200).json_body(serde_json::json!({ "errcode": 0, "errmsg": "ok", "pre_auth_code": "PRE", "expires_in": 1200 }));
        })
        .await;
    // What another process stored, since expired by WeCom.
    let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
    let key = TokenKey::new(
        TokenKind::SuiteAccessToken,
        WORKER_SUITE_ID,
        WORKER_SUITE_SECRET,
    );
    wecom_api::TokenStore::set(
        &store,
        &key,
        wecom_api::token::Token::new("ToKeN-suite-expired", in_an_hour()),
    )
    .await
    .unwrap();
    let suite = wecom_api::Client::builder()
        .base_url(server.base_url())
        .suite(WORKER_SUITE_ID, WORKER_SUITE_SECRET)
        .token_store(store)
        .build()
        .unwrap();
    suite.save_ticket(SUITE_TICKET, None).await.unwrap();
    let answer = suite.suite().get_pre_auth_code().await.unwrap();
    assert_eq!(answer.pre_auth_code.expose(), "PRE");
    assert_eq!(expired.calls_async().await, 1);
    assert_eq!(issuer.calls_async().await, 1, "refreshed once");
    assert_eq!(fresh.calls_async().await, 1);
    let mut conn = redis.connection().await;
    let stored: Option<String> = conn.hget(key.storage_key(), "value").await.unwrap();
    assert_eq!(
        stored.as_deref(),
        Some(SUITE_TOKEN),
        "the fresh token replaced it for every process"
    );
}

fn in_an_hour() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600
}
