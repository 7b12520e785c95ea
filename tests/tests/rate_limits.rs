//! Client-side rate limits as a user meets them: a burst of robot messages waits for
//! WeCom's documented 20 a minute (or fails at once, as configured) and nothing over the
//! limit is sent; clients on one Redis count together.

mod redis_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use httpmock::MockServer;
use redis_common::RedisServer;
use reqwest_middleware::{Middleware, Next};
use wecom_api::ratelimit::{OnLimit, Per, Rate, RateLimits, RedisRateLimiter, Rule};
use wecom_api::robot::RobotMessage;
use wecom_api::{Client, Error, RetryPolicy};

/// A robot key no other test uses: the default limiter is shared by the whole process.
fn robot_key(name: &str) -> String {
    format!("robot-{name}-{}", std::process::id())
}

async fn mock_robot_send(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.method("POST").path("/cgi-bin/webhook/send");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"errcode":0,"errmsg":"ok"}"#);
        })
        .await
}

fn robot(base_url: &str, key: &str, limits: RateLimits) -> Client {
    Client::builder()
        .webhook_key(key)
        .base_url(base_url)
        .retry_policy(RetryPolicy::none())
        .rate_limits(limits)
        .build()
        .expect("robot client")
}

async fn burst(client: &Client, n: usize) -> Vec<wecom_api::Result<()>> {
    join_all((0..n).map(|i| {
        let client = client.clone();
        async move {
            client
                .robot()
                .send(RobotMessage::markdown(format!("message {i}")))
                .await
                .map(drop)
        }
    }))
    .await
}

#[tokio::test]
async fn a_burst_of_25_with_fail_fast_sends_20_and_refuses_5_before_sending() {
    let server = MockServer::start_async().await;
    let send = mock_robot_send(&server).await;
    let key = robot_key("fail-fast");
    let client = robot(
        &server.base_url(),
        &key,
        RateLimits::documented().fail_fast(),
    );
    let results = burst(&client, 25).await;
    let refused: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 5, "{refused:?}");
    for e in &refused {
        assert!(e.is_rate_limited() && e.is_local_limit(), "{e:?}");
        assert_eq!(e.errcode(), None);
        let wait = e.retry_after().expect("when a slot frees");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        let shown = e.to_string();
        assert!(shown.contains("`robot`, 20 a minute"), "{shown}");
        assert!(!shown.contains(&key), "{shown}");
    }
    // Nothing over the limit reached WeCom.
    send.assert_calls_async(20).await;
    // Another client with the same key (made per request, say) counts with the first.
    let again = robot(
        &server.base_url(),
        &key,
        RateLimits::documented().fail_fast(),
    );
    let e = burst(&again, 1).await.remove(0).unwrap_err();
    assert!(e.is_local_limit(), "{e:?}");
    send.assert_calls_async(20).await;
}

/// Records when each request goes out (on the caller's clock) and answers it itself, so
/// the test needs no network and tokio's paused clock runs the minute in no time.
#[derive(Clone, Default)]
struct SendLog {
    sent: Arc<Mutex<Vec<tokio::time::Instant>>>,
}

#[async_trait::async_trait]
impl Middleware for SendLog {
    async fn handle(
        &self,
        _req: reqwest::Request,
        _extensions: &mut http::Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.sent
            .lock()
            .expect("log")
            .push(tokio::time::Instant::now());
        let answer = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(r#"{"errcode":0,"errmsg":"ok"}"#)
            .expect("response");
        Ok(reqwest::Response::from(answer))
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_25_sends_20_in_the_first_minute_and_the_rest_wait() {
    let log = SendLog::default();
    let stack = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(log.clone())
        .build();
    let client = Client::builder()
        .webhook_key(robot_key("wait"))
        .base_url("http://127.0.0.1:9")
        .http_middleware(stack)
        .deadline(Duration::from_secs(600))
        .build()
        .expect("client");
    let start = tokio::time::Instant::now();
    let results = burst(&client, 25).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let sent: Vec<Duration> = log
        .sent
        .lock()
        .expect("log")
        .iter()
        .map(|t| t.duration_since(start))
        .collect();
    assert_eq!(sent.len(), 25);
    let first_minute = sent
        .iter()
        .filter(|t| **t < Duration::from_secs(60))
        .count();
    assert_eq!(first_minute, 20, "{sent:?}");
    // The other 5 went as soon as the first ones left the window, not later.
    assert!(
        sent.iter().all(|t| *t <= Duration::from_secs(60)),
        "{sent:?}"
    );
    let mut sorted = sent.clone();
    sorted.sort();
    for pair in sorted.windows(21) {
        assert!(pair[20] - pair[0] >= Duration::from_secs(60), "{sorted:?}");
    }
}

#[tokio::test]
async fn a_wait_that_would_outlast_the_deadline_fails_at_once() {
    let server = MockServer::start_async().await;
    let send = mock_robot_send(&server).await;
    let client = robot(
        &server.base_url(),
        &robot_key("deadline"),
        RateLimits::documented(),
    )
    .with_deadline(Duration::from_secs(5));
    let results = burst(&client, 21).await;
    let refused: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    assert!(refused[0].is_local_limit(), "{:?}", refused[0]);
    send.assert_calls_async(20).await;
}

#[tokio::test]
async fn rules_of_your_own_cover_raw_calls_by_path_and_can_be_turned_off() {
    let server = MockServer::start_async().await;
    let send = mock_robot_send(&server).await;
    let key = robot_key("raw");
    let tight = RateLimits::none()
        .with_rule(
            Rule::new("robot_tight", Per::Credential)
                .endpoint("/cgi-bin/webhook/send")
                .rate(Rate::per_minute(2)),
        )
        .on_limit(OnLimit::FailFast);
    let client = robot(&server.base_url(), &key, tight);
    let body = serde_json::json!({"msgtype": "text", "text": {"content": "raw"}});
    for _ in 0..2 {
        client
            .post_json("/cgi-bin/webhook/send", &[], &body)
            .await
            .expect("sent");
    }
    let e = client
        .post_json("/cgi-bin/webhook/send", &[], &body)
        .await
        .unwrap_err();
    assert!(e.is_local_limit(), "{e:?}");
    send.assert_calls_async(2).await;
    // No limits at all: sent as it comes.
    let free = robot(&server.base_url(), &key, RateLimits::none());
    assert!(burst(&free, 3).await.iter().all(Result::is_ok));
    send.assert_calls_async(5).await;
}

/// A rule naming an endpoint by its spec id (or family) also counts raw calls to its path.
#[tokio::test]
async fn rules_by_id_or_family_cover_raw_calls_to_the_same_path() {
    let server = MockServer::start_async().await;
    let send = mock_robot_send(&server).await;
    for (name, endpoint) in [("by_id", "robot.send"), ("by_family", "robot")] {
        let key = robot_key(name);
        let tight = RateLimits::none()
            .with_rule(
                Rule::new(name, Per::Credential)
                    .endpoint(endpoint)
                    .rate(Rate::per_minute(1)),
            )
            .on_limit(OnLimit::FailFast);
        let client = robot(&server.base_url(), &key, tight);
        let body = serde_json::json!({"msgtype": "text", "text": {"content": name}});
        client
            .post_json("/cgi-bin/webhook/send", &[], &body)
            .await
            .expect("sent");
        let e = client
            .post_json("/cgi-bin/webhook/send", &[], &body)
            .await
            .unwrap_err();
        assert!(e.is_local_limit(), "{endpoint}: {e:?}");
    }
    send.assert_calls_async(2).await;
}

#[tokio::test]
async fn app_messages_count_per_member_of_touser() {
    let server = MockServer::start_async().await;
    runtime_gettoken(&server).await;
    let sent = server
        .mock_async(|when, then| {
            when.method("POST").path("/cgi-bin/message/send");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"errcode":0,"errmsg":"ok"}"#);
        })
        .await;
    let client = Client::builder()
        .corp_id("wwlimits000000001")
        .secret(format!("secret-members-{}", std::process::id()))
        .base_url(server.base_url())
        .rate_limits(RateLimits::documented().fail_fast())
        .build()
        .expect("client");
    let to = |touser: &str| {
        serde_json::json!({
            "touser": touser, "msgtype": "text", "agentid": 1, "text": {"content": "hi"}
        })
    };
    // 30 a minute to zhangsan, some of them also to lisi.
    for i in 0..30 {
        let touser = if i % 2 == 0 {
            "zhangsan|lisi"
        } else {
            "zhangsan"
        };
        client
            .post_json("/cgi-bin/message/send", &[], &to(touser))
            .await
            .expect("within the limit");
    }
    // zhangsan is full: a message naming him is refused, whoever else it names.
    let e = client
        .post_json("/cgi-bin/message/send", &[], &to("lisi|zhangsan"))
        .await
        .unwrap_err();
    assert!(e.is_local_limit(), "{e:?}");
    assert!(e.to_string().contains("app_message_member"), "{e}");
    // lisi had 15 and was not charged for the refused one; @all names no one.
    client
        .post_json("/cgi-bin/message/send", &[], &to("lisi"))
        .await
        .expect("lisi has room");
    client
        .post_json("/cgi-bin/message/send", &[], &to("@all"))
        .await
        .expect("@all is not counted per member");
    sent.assert_calls_async(32).await;
}

async fn runtime_gettoken(server: &MockServer) {
    server
        .mock_async(|when, then| {
            when.method("GET").path("/cgi-bin/gettoken");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"errcode":0,"errmsg":"ok","access_token":"T","expires_in":7200}"#);
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_one_redis_count_together() {
    let redis = RedisServer::start();
    let server = MockServer::start_async().await;
    let send = mock_robot_send(&server).await;
    let key = robot_key("redis");
    // A short window, so the test takes seconds rather than a minute.
    let window = Duration::from_secs(2);
    let limits = |limiter: RedisRateLimiter| {
        RateLimits::documented()
            .with_rule(
                Rule::new("robot", Per::Credential)
                    .endpoint("/cgi-bin/webhook/send")
                    .rate(Rate::new(20, window)),
            )
            .with_limiter(limiter)
            .fail_fast()
    };
    // Two independent limiters and clients, as two processes would have.
    let a = robot(
        &server.base_url(),
        &key,
        limits(RedisRateLimiter::connect(&redis.url()).await.expect("a")),
    );
    let b = robot(
        &server.base_url(),
        &key,
        limits(RedisRateLimiter::connect(&redis.url()).await.expect("b")),
    );
    let (ra, rb) = tokio::join!(burst(&a, 15), burst(&b, 10));
    let ok = ra.iter().chain(&rb).filter(|r| r.is_ok()).count();
    assert_eq!(ok, 20, "{ra:?} {rb:?}");
    assert!(
        ra.iter()
            .chain(&rb)
            .filter_map(|r| r.as_ref().err())
            .all(Error::is_local_limit)
    );
    send.assert_calls_async(20).await;
    // Once the window has passed, both may send again, still counted together.
    tokio::time::sleep(window + Duration::from_millis(200)).await;
    let (ra, rb) = tokio::join!(burst(&a, 12), burst(&b, 12));
    let ok = ra.iter().chain(&rb).filter(|r| r.is_ok()).count();
    assert_eq!(ok, 20, "{ra:?} {rb:?}");
    send.assert_calls_async(40).await;
    // The counters hold no secret: only the rule and a fingerprint.
    let conn = redis::Client::open(redis.url()).expect("redis url");
    let mut conn = conn
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("wecom:ratelimit:*")
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| !k.contains(&key)), "{keys:?}");
}

#[tokio::test]
async fn with_redis_down_calls_are_still_counted_in_the_process() {
    let server = MockServer::start_async().await;
    let send = mock_robot_send(&server).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let limiter = RedisRateLimiter::connect(&format!("redis://127.0.0.1:{closed}"))
        .await
        .expect("a Redis URL");
    let client = robot(
        &server.base_url(),
        &robot_key("redis-down"),
        RateLimits::documented().with_limiter(limiter).fail_fast(),
    );
    let results = burst(&client, 25).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 20);
    send.assert_calls_async(20).await;
}
