//! AI-bot pieces that talk to other services: stream sessions shared through Redis (one
//! instance writes, another answers the refresh), answering through a `response_url`,
//! downloading and decrypting media, and the endpoint served by axum over HTTP.

mod redis_common;

use std::sync::Arc;
use std::time::Duration;

use httpmock::MockServer;
use redis_common::RedisServer;
use serde_json::{Value, json};
use wecom_api::Client;
use wecom_api::Secret;
use wecom_api::aibot::testing::{encrypt_media, open_reply};
use wecom_api::aibot::*;
use wecom_api::callback::CallbackCrypto;
use wecom_api::robot::{AibotMarkdown, AibotMessage};

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

#[tokio::test]
async fn redis_stream_sessions_are_shared_between_instances() {
    let redis = RedisServer::start();
    let writer_store: Arc<dyn StreamStore> =
        Arc::new(RedisStreamStore::connect(&redis.url()).await.unwrap());
    let reader_store: Arc<dyn StreamStore> =
        Arc::new(RedisStreamStore::connect(&redis.url()).await.unwrap());

    let writer = StreamWriter::open(
        Arc::clone(&writer_store),
        "s-1",
        Some("FB".into()),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    writer.write("hello").await.unwrap();
    writer.write(" world").await.unwrap();

    // Another instance (its own endpoint, the same Redis) answers the refresh.
    let crypto = CallbackCrypto::new("QDG6eK", KEY, "").unwrap();
    let other = AibotEndpoint::new(
        crypto.clone(),
        Bot::new(|_, _| async { Ok(Outcome::Nothing) })
            .with_stream_store(Arc::clone(&reader_store)),
    );
    let refresh = json!({"msgid": "r1", "msgtype": "stream", "stream": {"id": "s-1"}}).to_string();
    let sealed = crypto.seal_json_request(&refresh).unwrap();
    let answer = other.receive(&sealed.query, sealed.body.as_bytes()).await;
    let reply: Value = serde_json::from_str(&open_reply(&crypto, &answer.body).unwrap()).unwrap();
    assert_eq!(reply["stream"]["content"], "hello world");
    assert_eq!(reply["stream"]["finish"], false);
    // A refresh: the feedback id went with the first reply only; the store keeps it.
    assert!(reply["stream"].get("feedback").is_none(), "{reply}");
    let kept = reader_store.get("s-1").await.unwrap().unwrap();
    assert_eq!(kept.feedback_id.as_deref(), Some("FB"));

    writer.finish_with_images(&[b"png-bytes"]).await.unwrap();
    let snapshot = writer_store.get("s-1").await.unwrap().unwrap();
    assert!(snapshot.finished);
    assert_eq!(snapshot.images.len(), 1);
    assert!(
        writer
            .write("late")
            .await
            .unwrap_err()
            .to_string()
            .contains("finished")
    );

    // The limit holds in Redis too; unknown sessions are errors, not empty successes.
    let big = StreamWriter::open(
        Arc::clone(&writer_store),
        "s-2",
        None,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    big.write(&"x".repeat(MAX_STREAM_BYTES)).await.unwrap();
    assert!(
        big.write("y")
            .await
            .unwrap_err()
            .to_string()
            .contains("20,480")
    );
    assert!(writer_store.append("nope", "x").await.is_err());
    assert_eq!(writer_store.get("nope").await.unwrap(), None);

    // Sessions expire with their TTL.
    StreamWriter::open(
        Arc::clone(&writer_store),
        "s-3",
        None,
        Duration::from_millis(50),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(writer_store.get("s-3").await.unwrap(), None);
}

/// Two instances (each its own Redis client) count one user's unfinished streams
/// together: 2 opened on one and 1 on the other leave no room on either, concurrent opens
/// from both never pass 3, and a finish or an expiry (on Redis's clock) frees a place.
#[tokio::test]
async fn the_per_user_limit_is_counted_across_instances_in_redis() {
    let redis = RedisServer::start();
    let a: Arc<dyn StreamStore> = Arc::new(RedisStreamStore::connect(&redis.url()).await.unwrap());
    let b: Arc<dyn StreamStore> = Arc::new(RedisStreamStore::connect(&redis.url()).await.unwrap());
    let ttl = Duration::from_secs(60);
    let of = |id: &str, user: &str| NewStream::new(id, ttl).for_user(user, MAX_EXCHANGES_PER_USER);

    a.open(of("s1", "B:u1")).await.unwrap();
    a.open(of("s2", "B:u1")).await.unwrap();
    b.open(of("s3", "B:u1")).await.unwrap();
    let refused = b.open(of("s4", "B:u1")).await.unwrap_err();
    assert!(
        refused.to_string().contains("already has 3 unfinished"),
        "{refused}"
    );
    assert!(a.open(of("s4", "B:u1")).await.is_err());
    assert_eq!(a.get("s4").await.unwrap(), None);
    b.open(of("t1", "B:u2")).await.unwrap();

    // Finished on one instance: the other may open again.
    a.finish("s1", Vec::new()).await.unwrap();
    b.open(of("s4", "B:u1")).await.unwrap();
    assert!(a.open(of("s5", "B:u1")).await.is_err());

    // Concurrent opens from both instances for a fresh user: exactly 3 get through.
    let opens = (0..12).map(|n| {
        let store = Arc::clone(if n % 2 == 0 { &a } else { &b });
        let stream = of(&format!("c{n}"), "B:u3");
        tokio::spawn(async move { store.open(stream).await.is_ok() })
    });
    let mut opened = 0;
    for open in opens {
        opened += usize::from(open.await.unwrap());
    }
    assert_eq!(opened, MAX_EXCHANGES_PER_USER);

    // Unfinished sessions that expire free their places.
    let short = |id: &str| {
        NewStream::new(id, Duration::from_millis(100)).for_user("B:u4", MAX_EXCHANGES_PER_USER)
    };
    for id in ["e1", "e2", "e3"] {
        a.open(short(id)).await.unwrap();
    }
    assert!(b.open(short("e4")).await.is_err());
    tokio::time::sleep(Duration::from_millis(250)).await;
    b.open(short("e4")).await.unwrap();
}

/// The limit through the handler: a bot on two instances sharing a Redis stream store
/// refuses the user's 4th unfinished stream whichever instance gets it.
#[tokio::test]
async fn two_endpoints_sharing_redis_refuse_a_fourth_stream() {
    let redis = RedisServer::start();
    let crypto = CallbackCrypto::new("QDG6eK", KEY, "").unwrap();
    let instance = |store: Arc<dyn StreamStore>| {
        let bot =
            Bot::new(|ctx, _callback| async move { Ok(Outcome::Stream(ctx.stream().await?)) })
                .with_stream_store(store);
        AibotEndpoint::new(crypto.clone(), bot)
    };
    let a = instance(Arc::new(
        RedisStreamStore::connect(&redis.url()).await.unwrap(),
    ));
    let b = instance(Arc::new(
        RedisStreamStore::connect(&redis.url()).await.unwrap(),
    ));
    let post = |endpoint: &AibotEndpoint, msgid: &str, user: &str| {
        let body = json!({"msgid": msgid, "aibotid": "B", "from": {"userid": user},
            "msgtype": "text", "text": {"content": "q"}});
        let sealed = crypto.seal_json_request(&body.to_string()).unwrap();
        let endpoint = endpoint.clone();
        async move {
            endpoint
                .receive(&sealed.query, sealed.body.as_bytes())
                .await
        }
    };
    assert_eq!(post(&a, "m1", "u1").await.status, 200);
    assert_eq!(post(&b, "m2", "u1").await.status, 200);
    assert_eq!(post(&a, "m3", "u1").await.status, 200);
    assert_eq!(post(&b, "m4", "u1").await.status, 500);
    assert_eq!(post(&a, "m5", "u1").await.status, 500);
    assert_eq!(post(&b, "m6", "u2").await.status, 200);
}

#[tokio::test]
async fn answers_through_the_response_url_once_and_keeps_it_secret() {
    let server = MockServer::start_async().await;
    let respond = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/aibot/response")
                .query_param("response_code", "RC-123")
                .json_body(json!({"msgtype": "markdown", "markdown": {"content": "done"}}));
            then.status(200)
                .json_body(json!({"errcode": 0, "errmsg": "ok"}));
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .corp_id("ww1")
        .secret("s")
        .build()
        .unwrap();
    let url =
        Secret::new("https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC-123");
    let message = AibotMessage::Markdown(AibotMarkdown::new("done"));
    respond_via_url(&client, &url, message.clone())
        .await
        .unwrap();
    respond.assert_async().await;

    let bad = Secret::new("https://qyapi.weixin.qq.com/cgi-bin/aibot/response?x=SECRETISH");
    let err = respond_via_url(&client, &bad, message).await.unwrap_err();
    assert!(err.to_string().contains("response_code"), "{err}");
    assert!(!err.to_string().contains("SECRETISH"), "{err}");
}

#[tokio::test]
async fn media_is_downloaded_and_decrypted() {
    let key = MediaKey::from_base64(KEY).unwrap();
    let picture: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method("GET").path("/media/abc");
            then.status(200).body(encrypt_media(&picture, &key));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method("GET").path("/expired");
            then.status(404);
        })
        .await;
    let http = reqwest::Client::new();
    let got = download_media(&http, &server.url("/media/abc"), &key, 1 << 20)
        .await
        .unwrap();
    assert_eq!(got, picture);
    let err = download_media(&http, &server.url("/media/abc"), &key, 100)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
    let err = download_media(&http, &server.url("/expired?token=T0PSECRET"), &key, 100)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(!err.to_string().contains("T0PSECRET"), "{err}");
}

#[tokio::test]
async fn the_endpoint_served_by_axum() {
    let crypto = CallbackCrypto::new("QDG6eK", KEY, "").unwrap();
    let bot = Bot::new(|_, callback| async move {
        Ok(if callback.is_enter_chat() {
            AibotReply::text("hi").into()
        } else {
            Outcome::Nothing
        })
    });
    let app = axum::Router::new().nest_service(
        "/aibot",
        AibotEndpoint::new(crypto.clone(), bot).into_router(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/aibot", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();

    let query = crypto.seal_verification("echo-1").unwrap();
    let verified = http.get(format!("{base}?{query}")).send().await.unwrap();
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.text().await.unwrap(), "echo-1");

    let enter = json!({"msgid": "e1", "aibotid": "B", "from": {"userid": "u"}, "msgtype": "event",
        "event": {"eventtype": "enter_chat"}});
    let sealed = crypto.seal_json_request(&enter.to_string()).unwrap();
    let answer = http
        .post(format!("{base}?{}", sealed.query))
        .body(sealed.body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let reply: Value =
        serde_json::from_str(&open_reply(&crypto, &answer.text().await.unwrap()).unwrap()).unwrap();
    assert_eq!(reply["text"]["content"], "hi");
}
