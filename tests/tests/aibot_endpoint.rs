//! The AI bot's webhook on the callback kit's machinery: a handler slower than the budget
//! (WeCom answered in time, the handler finishes, its stream still answers refreshes), the
//! bounded handler pool (503 past it), dedup by `msgid` in memory and in Redis shared by
//! two instances, and the graceful shutdown (intake stopped with 503, handlers drained).

mod redis_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use redis_common::RedisServer;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use wecom_api::aibot::testing::open_reply;
use wecom_api::aibot::*;
use wecom_api::callback::{Answer, CallbackCrypto, DedupStore, RedisDedup};

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// Short, so the tests wait little; nothing is asserted about how long anything takes.
const BUDGET: Duration = Duration::from_millis(150);

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new("QDG6eK", KEY, "").expect("documented key")
}

fn message(msgid: &str, user: &str) -> String {
    json!({"msgid": msgid, "aibotid": "B", "chattype": "single", "from": {"userid": user},
           "msgtype": "text", "text": {"content": "question"}})
    .to_string()
}

fn refresh(stream: &str) -> String {
    json!({"msgid": format!("refresh-{stream}"), "aibotid": "B", "from": {"userid": "u"},
           "msgtype": "stream", "stream": {"id": stream}})
    .to_string()
}

async fn post(endpoint: &AibotEndpoint, json: &str) -> Answer {
    let sealed = crypto().seal_json_request(json).unwrap();
    endpoint
        .receive(&sealed.query, sealed.body.as_bytes())
        .await
}

fn opened(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{answer:?}");
    serde_json::from_str(&open_reply(&crypto(), &answer.body).unwrap()).unwrap()
}

/// Waits until no handler runs (each returned and gave back its place and its claim).
async fn idle(endpoint: &AibotEndpoint) {
    while endpoint.running() > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A handler that waits for the test's go-ahead: it counts its calls, and each call
/// reports when it returns.
struct Gated {
    calls: Arc<AtomicUsize>,
    go: Arc<Notify>,
    returned: mpsc::UnboundedReceiver<String>,
}

fn gated_bot(stream: bool) -> (Bot, Gated) {
    let calls = Arc::new(AtomicUsize::new(0));
    let go = Arc::new(Notify::new());
    let (done_tx, returned) = mpsc::unbounded_channel();
    let (c, g) = (Arc::clone(&calls), Arc::clone(&go));
    let bot = Bot::new(move |ctx, callback| {
        c.fetch_add(1, Ordering::SeqCst);
        let (go, done_tx) = (Arc::clone(&g), done_tx.clone());
        async move {
            let outcome = if stream {
                let writer = ctx.stream().await?;
                writer.write("thinking").await?;
                go.notified().await;
                writer.write(", done").await?;
                writer.finish().await?;
                Outcome::Stream(writer)
            } else {
                go.notified().await;
                Outcome::Nothing
            };
            let _ = done_tx.send(callback.msgid.clone());
            Ok(outcome)
        }
    });
    let gated = Gated {
        calls,
        go,
        returned,
    };
    (bot, gated)
}

#[tokio::test]
async fn a_handler_past_the_budget_answers_with_its_stream_and_finishes() {
    let (bot, mut gated) = gated_bot(true);
    let endpoint = AibotEndpoint::new(crypto(), bot).with_budget(BUDGET);

    // The handler is still blocked when WeCom gets its answer: the stream so far.
    let first = opened(&post(&endpoint, &message("m1", "u")).await);
    assert_eq!(first["msgtype"], "stream");
    assert_eq!(first["stream"]["content"], "thinking");
    assert_eq!(first["stream"]["finish"], false);
    assert_eq!(endpoint.running(), 1);
    let id = first["stream"]["id"].as_str().unwrap().to_string();

    gated.go.notify_one();
    assert_eq!(gated.returned.recv().await.as_deref(), Some("m1"));
    idle(&endpoint).await;
    let refreshed = opened(&post(&endpoint, &refresh(&id)).await);
    assert_eq!(refreshed["stream"]["id"], id.as_str());
    assert_eq!(refreshed["stream"]["content"], "thinking, done");
    assert_eq!(refreshed["stream"]["finish"], true);

    // Handled: WeCom's retry is not run again.
    let retry = post(&endpoint, &message("m1", "u")).await;
    assert_eq!((retry.status, retry.body.as_str()), (200, ""));
    assert_eq!(gated.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_handler_past_the_budget_without_a_stream_gets_an_empty_answer() {
    let (bot, mut gated) = gated_bot(false);
    let endpoint = AibotEndpoint::new(crypto(), bot).with_budget(BUDGET);
    let answer = post(&endpoint, &message("m1", "u")).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    assert_eq!(endpoint.running(), 1);
    gated.go.notify_one();
    assert_eq!(gated.returned.recv().await.as_deref(), Some("m1"));
}

#[tokio::test]
async fn a_full_pool_answers_503_and_the_refused_callback_runs_on_retry() {
    let (bot, mut gated) = gated_bot(false);
    let endpoint = AibotEndpoint::new(crypto(), bot)
        .with_budget(BUDGET)
        .with_max_handlers(1);
    assert_eq!(post(&endpoint, &message("m1", "u")).await.status, 200);
    let busy = post(&endpoint, &message("m2", "u")).await;
    assert_eq!((busy.status, busy.body.as_str()), (503, "busy"));
    assert_eq!(gated.calls.load(Ordering::SeqCst), 1);

    gated.go.notify_one();
    assert_eq!(gated.returned.recv().await.as_deref(), Some("m1"));
    idle(&endpoint).await;
    // The refused one was not marked seen: WeCom's retry is handled.
    let retry = {
        let endpoint = endpoint.clone();
        tokio::spawn(async move { post(&endpoint, &message("m2", "u")).await })
    };
    while gated.calls.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    gated.go.notify_one();
    assert_eq!(retry.await.unwrap().status, 200);
    assert_eq!(gated.returned.recv().await.as_deref(), Some("m2"));
}

#[tokio::test]
async fn a_duplicate_msgid_is_handled_once() {
    let (bot, mut gated) = gated_bot(false);
    let endpoint = AibotEndpoint::new(crypto(), bot).with_budget(BUDGET);
    assert_eq!(post(&endpoint, &message("m1", "u")).await.status, 200);
    // A retry while the first still runs waits within the budget, then asks WeCom to come
    // back later.
    let during = post(&endpoint, &message("m1", "u")).await;
    assert_eq!(
        (during.status, during.body.as_str()),
        (503, "this callback is being handled")
    );
    gated.go.notify_one();
    assert_eq!(gated.returned.recv().await.as_deref(), Some("m1"));
    idle(&endpoint).await;
    let after = post(&endpoint, &message("m1", "u")).await;
    assert_eq!((after.status, after.body.as_str()), (200, ""));
    assert_eq!(gated.calls.load(Ordering::SeqCst), 1);
}

/// Two instances behind a load balancer share their claims in Redis: WeCom's retry that
/// lands on the other one is not handled again.
#[tokio::test]
async fn a_duplicate_msgid_is_handled_once_across_instances_through_redis() {
    let redis = RedisServer::start();
    let calls = Arc::new(AtomicUsize::new(0));
    let instance = || {
        let calls = Arc::clone(&calls);
        let url = redis.url();
        async move {
            let dedup: Arc<dyn DedupStore> = Arc::new(RedisDedup::connect(&url).await.unwrap());
            let bot = Bot::new(move |_ctx, _callback| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Ok(AibotReply::text("欢迎").into()) }
            });
            AibotEndpoint::new(crypto(), bot).with_dedup(dedup)
        }
    };
    let (a, b) = (instance().await, instance().await);
    let enter = json!({"msgid": "e1", "aibotid": "B", "from": {"userid": "u"},
        "msgtype": "event", "event": {"eventtype": "enter_chat"}})
    .to_string();
    let welcome = opened(&post(&a, &enter).await);
    assert_eq!(welcome["text"]["content"], "欢迎");
    let retry = post(&b, &enter).await;
    assert_eq!((retry.status, retry.body.as_str()), (200, ""));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Another msgid is new on either.
    let other = enter.replace("\"e1\"", "\"e2\"");
    assert_eq!(opened(&post(&b, &other).await)["text"]["content"], "欢迎");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn shutdown_stops_intake_and_drains_running_handlers() {
    let (bot, mut gated) = gated_bot(true);
    let endpoint = AibotEndpoint::new(crypto(), bot).with_budget(BUDGET);
    let first = opened(&post(&endpoint, &message("m1", "u")).await);
    let id = first["stream"]["id"].as_str().unwrap().to_string();

    // Not drained while the handler runs.
    assert!(!endpoint.shutdown(Duration::from_millis(50)).await);
    let refused = post(&endpoint, &message("m2", "u")).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (503, "shutting down")
    );
    assert_eq!(gated.calls.load(Ordering::SeqCst), 1);
    // The draining handler's stream is still refreshed.
    assert_eq!(
        opened(&post(&endpoint, &refresh(&id)).await)["stream"]["content"],
        "thinking"
    );

    let drained = {
        let endpoint = endpoint.clone();
        tokio::spawn(async move { endpoint.shutdown(Duration::from_secs(60)).await })
    };
    gated.go.notify_one();
    assert!(drained.await.unwrap());
    assert_eq!(endpoint.running(), 0);
    assert_eq!(gated.returned.recv().await.as_deref(), Some("m1"));
    let last = opened(&post(&endpoint, &refresh(&id)).await);
    assert_eq!(last["stream"]["finish"], true);
}

/// A reply returned after the budget cannot reach WeCom any more: it is dropped (logged),
/// and the handler still runs to its end.
#[tokio::test]
async fn a_late_reply_is_dropped_and_the_handler_runs_to_its_end() {
    let go = Arc::new(Notify::new());
    let finished = Arc::new(AtomicBool::new(false));
    let (g, f) = (Arc::clone(&go), Arc::clone(&finished));
    let bot = Bot::new(move |_ctx, _callback| {
        let (g, f) = (Arc::clone(&g), Arc::clone(&f));
        async move {
            g.notified().await;
            f.store(true, Ordering::SeqCst);
            Ok(AibotReply::stream("s", "late", true).into())
        }
    });
    let endpoint = AibotEndpoint::new(crypto(), bot).with_budget(BUDGET);
    let answer = post(&endpoint, &message("m1", "u")).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    assert!(!finished.load(Ordering::SeqCst));
    go.notify_one();
    idle(&endpoint).await;
    assert!(finished.load(Ordering::SeqCst));
}
