//! The callback endpoint as WeCom meets it: a real axum server on loopback, sealed requests
//! in, opened replies out; refusals with their status and nothing handled; the 5-second
//! budget; retries while a handler runs; many corps on one URL; dedup across instances.

mod redis_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use redis_common::RedisServer;
use wecom_api::callback::{
    CallbackCrypto, ChangeContactEvent, Context, DedupStore, Endpoint, HandlerResult, RedisDedup,
    Registry, Reply, Router, Source, TextMessage,
};

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "ww0123456789abcdef";

fn crypto(receive_id: &str) -> CallbackCrypto {
    CallbackCrypto::new("QDG6eK", KEY, receive_id).expect("sample settings")
}

fn text(msg_id: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>\
         <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )
}

#[derive(Clone, Default)]
struct Counters {
    handled: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

/// Echoes text; `slow...` sleeps 600 ms first, `...fail...` fails.
async fn on_text(ctx: Context<Counters>, text: TextMessage) -> HandlerResult {
    ctx.state().handled.fetch_add(1, Ordering::SeqCst);
    let content = text.content.unwrap_or_default();
    if content.starts_with("slow") {
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    if content.contains("fail") {
        return Err("the handler failed".into());
    }
    ctx.state().finished.fetch_add(1, Ordering::SeqCst);
    Ok(Some(Reply::text(format!(
        "echo {content} via {}",
        ctx.source().name()
    ))))
}

fn endpoint(counters: &Counters) -> Endpoint<Counters> {
    let registry = Registry::new();
    registry.insert(Source::new("oa", crypto(CORP)));
    Endpoint::new(registry, Router::new().on(on_text), counters.clone())
        .with_budget(Duration::from_millis(300))
}

/// Serves `endpoint` under `/wecom/callback` on a free loopback port.
async fn serve(endpoint: Endpoint<Counters>) -> String {
    let app = axum::Router::new().nest_service("/wecom/callback", endpoint.into_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/wecom/callback")
}

async fn post(url: &str, query: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{url}?{query}"))
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_and_a_reply_over_http() {
    let counters = Counters::default();
    let url = serve(endpoint(&counters)).await;
    let c = crypto(CORP);

    let query = c.seal_verification("4242").unwrap();
    let resp = reqwest::get(format!("{url}?{query}")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "4242");
    let forged = query.replace("msg_signature=", "msg_signature=0");
    assert_eq!(
        reqwest::get(format!("{url}?{forged}"))
            .await
            .unwrap()
            .status(),
        403
    );

    let sealed = c.seal_request(&text(1, "hi")).unwrap();
    let (status, body) = post(&url, &sealed.query, sealed.body).await;
    assert_eq!(status, 200);
    let reply = c.open_reply(&body).unwrap();
    assert!(reply.contains("echo hi via oa"), "{reply}");
    assert!(
        reply.contains("<ToUserName><![CDATA[zhangsan]]></ToUserName>"),
        "{reply}"
    );
    assert_eq!(counters.handled.load(Ordering::SeqCst), 1);

    // Methods other than GET and POST are refused by the router.
    let put = reqwest::Client::new().put(&url).send().await.unwrap();
    assert_eq!(put.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_status_and_nothing_is_handled() {
    let counters = Counters::default();
    let url = serve(endpoint(&counters)).await;
    let c = crypto(CORP);
    let sealed = c.seal_request(&text(2, "hi")).unwrap();

    let bad_signature = sealed.query.replace("msg_signature=", "msg_signature=f");
    assert_eq!(post(&url, &bad_signature, sealed.body.clone()).await.0, 403);

    let other_corp = crypto("wwsomebodyelse")
        .seal_request(&text(3, "hi"))
        .unwrap();
    assert_eq!(post(&url, &other_corp.query, other_corp.body).await.0, 403);

    let old = c
        .seal_request_at(&text(4, "hi"), "1409659589", "nonce")
        .unwrap();
    assert_eq!(
        post(&url, &old.query, old.body).await.0,
        403,
        "a replay from 2014"
    );

    let huge = vec![b' '; 2 * 1024 * 1024];
    assert_eq!(post(&url, &sealed.query, huge).await.0, 413);

    assert_eq!(
        post(&url, &sealed.query, "<xml><A>1</A></xml>").await.0,
        400
    );
    assert_eq!(post(&url, "timestamp=1", sealed.body.clone()).await.0, 400);

    assert_eq!(counters.handled.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_is_answered_in_time_and_still_completes() {
    let counters = Counters::default();
    let endpoint = endpoint(&counters);
    let url = serve(endpoint.clone()).await;
    let c = crypto(CORP);
    let sealed = c.seal_request(&text(5, "slow one")).unwrap();

    let started = Instant::now();
    let (status, body) = post(&url, &sealed.query, sealed.body.clone()).await;
    let answered = started.elapsed();
    assert_eq!((status, body.as_str()), (200, "success"));
    assert!(
        answered < Duration::from_millis(590),
        "answered after {answered:?}"
    );
    assert_eq!(counters.finished.load(Ordering::SeqCst), 0, "still running");
    assert_eq!(endpoint.running(), 1);

    // A graceful shutdown waits for it; callbacks after that are refused for a retry.
    assert!(endpoint.shutdown(Duration::from_secs(10)).await);
    assert_eq!(counters.finished.load(Ordering::SeqCst), 1);
    let later = c.seal_request(&text(6, "hi")).unwrap();
    assert_eq!(post(&url, &later.query, later.body).await.0, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_while_the_first_attempt_runs_is_not_answered_as_handled() {
    let counters = Counters::default();
    let endpoint = endpoint(&counters);
    let c = crypto(CORP);

    // The first attempt outlives the budget (answered `success`, going on in the
    // background) and then fails. A retry arriving meanwhile is told to come back (503),
    // not answered as handled; the retry after the failure handles it.
    let failing = c.seal_request(&text(7, "slow, then fail")).unwrap();
    let (first, during) = tokio::join!(
        endpoint.receive(&failing.query, failing.body.as_bytes()),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            endpoint
                .receive(&failing.query, failing.body.as_bytes())
                .await
        }
    );
    assert_eq!((first.status, first.body.as_str()), (200, "success"));
    assert_eq!(during.status, 503);
    assert!(endpoint.shutdown(Duration::from_secs(10)).await);
    assert_eq!(counters.handled.load(Ordering::SeqCst), 1);

    // A slow success: the retry after it finished is answered as handled, not run again.
    let endpoint = self::endpoint(&counters);
    let slow = c.seal_request(&text(8, "slow")).unwrap();
    assert_eq!(
        endpoint
            .receive(&slow.query, slow.body.as_bytes())
            .await
            .body,
        "success"
    );
    assert_eq!(
        endpoint
            .receive(&slow.query, slow.body.as_bytes())
            .await
            .status,
        503
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let after = endpoint.receive(&slow.query, slow.body.as_bytes()).await;
    assert_eq!((after.status, after.body.as_str()), (200, "success"));
    assert_eq!(counters.handled.load(Ordering::SeqCst), 2);
    assert_eq!(counters.finished.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failure_in_the_background_the_next_retry_is_handled() {
    let counters = Counters::default();
    let endpoint = endpoint(&counters);
    let c = crypto(CORP);
    let failing = c.seal_request(&text(13, "slow, then fail")).unwrap();
    assert_eq!(
        endpoint
            .receive(&failing.query, failing.body.as_bytes())
            .await
            .body,
        "success"
    );
    tokio::time::sleep(Duration::from_millis(700)).await; // it failed and was released
    endpoint
        .receive(&failing.query, failing.body.as_bytes())
        .await;
    assert_eq!(
        counters.handled.load(Ordering::SeqCst),
        2,
        "WeCom's retry was handled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_url_takes_data_callbacks_of_three_corps() {
    #[derive(Clone, Default)]
    struct Seen(Arc<std::sync::Mutex<Vec<(String, String)>>>);
    async fn on_contacts(ctx: Context<Seen>, change: ChangeContactEvent) -> HandlerResult {
        let seen = (ctx.receive_id().to_string(), change.kind().to_string());
        ctx.state().0.lock().unwrap().push(seen);
        Ok(None)
    }
    let registry = Registry::new();
    registry.insert(Source::new("suite-data", crypto("")).any_receiver());
    let seen = Seen::default();
    let endpoint = Endpoint::new(registry, Router::new().on(on_contacts), seen.clone());
    for corp in ["wwcorp1", "wwcorp2", "wwcorp3"] {
        let change = format!(
            "<xml><ToUserName>{corp}</ToUserName><FromUserName>sys</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>change_contact</Event>\
             <ChangeType>create_user</ChangeType><UserID>u-{corp}</UserID></xml>"
        );
        let sealed = crypto(corp).seal_request(&change).unwrap();
        let answer = endpoint
            .receive(&sealed.query, sealed.body.as_bytes())
            .await;
        assert_eq!((answer.status, answer.body.as_str()), (200, "success"));
    }
    let seen = seen.0.lock().unwrap().clone();
    let corps: Vec<&str> = seen.iter().map(|(corp, _)| corp.as_str()).collect();
    assert_eq!(corps, ["wwcorp1", "wwcorp2", "wwcorp3"]);
    assert!(
        seen.iter()
            .all(|(_, kind)| kind == "event.change_contact.create_user")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_sharing_a_url_are_told_apart_and_sources_change_at_run_time() {
    let counters = Counters::default();
    let registry = Registry::new();
    registry.insert(Source::new("app-a", crypto(CORP)).agent_id(1000001));
    registry.insert(Source::new("app-b", crypto(CORP)).agent_id(1000002));
    let endpoint = Endpoint::new(registry, Router::new().on(on_text), counters.clone());
    let c = crypto(CORP);
    let sealed = c.seal_request(&text(9, "hi")).unwrap(); // AgentID 1000002
    let answer = endpoint
        .receive(&sealed.query, sealed.body.as_bytes())
        .await;
    assert!(c.open_reply(&answer.body).unwrap().contains("via app-b"));

    assert!(endpoint.registry().remove("app-b"));
    let again = c.seal_request(&text(10, "hi")).unwrap();
    assert_eq!(
        endpoint
            .receive(&again.query, again.body.as_bytes())
            .await
            .status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_handled_once_across_two_instances_sharing_redis() {
    let redis = RedisServer::start();
    let counters = Counters::default();
    let mut instances = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn DedupStore> = Arc::new(RedisDedup::connect(&redis.url()).await.unwrap());
        instances.push(endpoint(&counters).with_dedup(store));
    }
    let c = crypto(CORP);
    // WeCom's first attempt and two retries, spread over both instances, some at once.
    let sealed = c.seal_request(&text(11, "hi")).unwrap();
    let (a, b) = tokio::join!(
        instances[0].receive(&sealed.query, sealed.body.as_bytes()),
        instances[1].receive(&sealed.query, sealed.body.as_bytes()),
    );
    let c3 = instances[1]
        .receive(&sealed.query, sealed.body.as_bytes())
        .await;
    assert_eq!(counters.handled.load(Ordering::SeqCst), 1);
    let statuses = [a.status, b.status, c3.status];
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(c3.body, "success", "a retry of a handled callback");

    // A failed attempt on one instance lets the retry in on the other.
    let failing = c.seal_request(&text(12, "fail now")).unwrap();
    assert_eq!(
        instances[0]
            .receive(&failing.query, failing.body.as_bytes())
            .await
            .status,
        500
    );
    assert_eq!(
        instances[1]
            .receive(&failing.query, failing.body.as_bytes())
            .await
            .status,
        500
    );
    assert_eq!(counters.handled.load(Ordering::SeqCst), 3);
}
