//! The AI bot's long connection against a loopback stand-in of WeCom's WebSocket server:
//! subscribe, pushed callbacks, ordered acked replies, a stream pushed as it grows,
//! reconnects after a dropped connection and after a silent server, the disconnected
//! event, malformed frames and unknown commands, proactive send_msg, shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::tungstenite::Message;
use wecom_api::aibot::{AibotReply, Bot, LongConnection, Outcome, Stopped};

const SECRET: &str = "BOT-SECRET-123";

/// What the stand-in does besides acking.
#[derive(Default)]
struct Behaviour {
    /// Do not ack pings.
    silent_heartbeat: AtomicBool,
    /// Do not ack replies and send_msg.
    no_reply_acks: AtomicBool,
    /// Close each connection right after acking its subscription (the first N times).
    drop_after_subscribe: AtomicUsize,
}

struct StandIn {
    url: String,
    connections: Arc<AtomicUsize>,
    received: mpsc::UnboundedReceiver<Value>,
    push: Arc<Mutex<Option<mpsc::UnboundedSender<Message>>>>,
    behaviour: Arc<Behaviour>,
}

impl StandIn {
    async fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let (received_tx, received) = mpsc::unbounded_channel();
        let push: Arc<Mutex<Option<mpsc::UnboundedSender<Message>>>> = Arc::default();
        let behaviour = Arc::new(Behaviour::default());
        let (c, p, b) = (
            Arc::clone(&connections),
            Arc::clone(&push),
            Arc::clone(&behaviour),
        );
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    continue;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (mut sink, mut frames) = ws.split();
                let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
                *p.lock().await = Some(tx.clone());
                let received_tx = received_tx.clone();
                let b = Arc::clone(&b);
                tokio::spawn(async move {
                    while let Some(m) = rx.recv().await {
                        let close = matches!(m, Message::Close(_));
                        if sink.send(m).await.is_err() || close {
                            return;
                        }
                    }
                });
                tokio::spawn(async move {
                    while let Some(Ok(Message::Text(text))) = frames.next().await {
                        let frame: Value = serde_json::from_str(&text).unwrap();
                        let cmd = frame["cmd"].as_str().unwrap_or("").to_string();
                        let ack = |errcode: i64| {
                            Message::text(json!({"headers": frame["headers"], "errcode": errcode, "errmsg": "ok"}).to_string())
                        };
                        match cmd.as_str() {
                            "aibot_subscribe" => {
                                let good = frame["body"]["secret"] == SECRET;
                                let _ = tx.send(ack(if good { 0 } else { 40058 }));
                                if b.drop_after_subscribe.load(Ordering::SeqCst) > 0 {
                                    b.drop_after_subscribe.fetch_sub(1, Ordering::SeqCst);
                                    let _ = tx.send(Message::Close(None));
                                }
                            }
                            "ping" if !b.silent_heartbeat.load(Ordering::SeqCst) => {
                                let _ = tx.send(ack(0));
                            }
                            "ping" => {}
                            "aibot_upload_media_init" | "aibot_upload_media_finish" => {
                                let body = if cmd.ends_with("init") {
                                    json!({"upload_id": "U1"})
                                } else {
                                    json!({"type": "file", "media_id": "MEDIA-1", "created_at": "1"})
                                };
                                let reply = json!({"headers": frame["headers"], "errcode": 0, "errmsg": "ok", "body": body});
                                let _ = tx.send(Message::text(reply.to_string()));
                            }
                            _ if !b.no_reply_acks.load(Ordering::SeqCst) => {
                                let _ = tx.send(ack(0));
                            }
                            _ => {}
                        }
                        let _ = received_tx.send(frame);
                    }
                });
            }
        });
        StandIn {
            url,
            connections,
            received,
            push,
            behaviour,
        }
    }

    async fn send(&self, frame: Value) {
        let push = self.push.lock().await;
        push.as_ref()
            .expect("a connection")
            .send(Message::text(frame.to_string()))
            .unwrap();
    }

    /// The next frame the client sent with this command.
    async fn next(&mut self, cmd: &str) -> Value {
        let wait = async {
            loop {
                let frame = self.received.recv().await.expect("stand-in running");
                if frame["cmd"] == cmd {
                    return frame;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("no {cmd} frame"))
    }

    async fn wait_connections(&self, n: usize) {
        for _ in 0..500 {
            if self.connections.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "{} connections, expected {n}",
            self.connections.load(Ordering::SeqCst)
        );
    }
}

fn text_callback(req_id: &str, msgid: &str, content: &str) -> Value {
    json!({"cmd": "aibot_msg_callback", "headers": {"req_id": req_id}, "body": {
        "msgid": msgid, "aibotid": "BOT", "chattype": "single", "from": {"userid": "u1"},
        "msgtype": "text", "text": {"content": content}}})
}

fn event(req_id: &str, msgid: &str, eventtype: &str) -> Value {
    json!({"cmd": "aibot_event_callback", "headers": {"req_id": req_id}, "body": {
        "msgid": msgid, "create_time": 1, "aibotid": "BOT", "from": {"userid": "u1"},
        "msgtype": "event", "event": {"eventtype": eventtype}}})
}

/// Streams the question back word by word, the way an LLM's tokens arrive.
fn word_bot() -> Bot {
    Bot::new(|ctx, callback| async move {
        if callback.is_enter_chat() {
            return Ok(AibotReply::text("welcome").into());
        }
        let Some(question) = callback.text() else {
            return Ok(Outcome::Nothing);
        };
        let stream = ctx.stream_with_feedback("FB-WS").await?;
        let writer = stream.clone();
        tokio::spawn(async move {
            for (i, word) in question.split_whitespace().enumerate() {
                let piece = if i == 0 {
                    word.to_string()
                } else {
                    format!(" {word}")
                };
                writer.write(&piece).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            writer.finish().await.unwrap();
        });
        Ok(Outcome::Stream(stream))
    })
}

fn connection(url: &str) -> LongConnection {
    LongConnection::new("BOT", SECRET)
        .with_url(url)
        .with_backoff(Duration::from_millis(10), Duration::from_millis(40), None)
        .with_ack_timeout(Duration::from_millis(500))
        .with_push_interval(Duration::from_millis(1))
}

#[tokio::test]
async fn subscribes_then_streams_a_reply_in_order_on_the_callbacks_req_id() {
    let mut server = StandIn::start().await;
    let conn = connection(&server.url);
    let run = tokio::spawn({
        let conn = conn.clone();
        async move { conn.run(word_bot()).await }
    });
    let subscribe = server.next("aibot_subscribe").await;
    assert_eq!(
        subscribe["body"],
        json!({"bot_id": "BOT", "secret": SECRET})
    );

    server
        .send(text_callback("REQ-1", "m1", "the quick brown fox"))
        .await;
    let mut contents = Vec::new();
    loop {
        let frame = server.next("aibot_respond_msg").await;
        assert_eq!(frame["headers"]["req_id"], "REQ-1");
        assert_eq!(frame["body"]["msgtype"], "stream");
        // The feedback id goes with the first push only (首次回复时设置).
        let feedback = frame["body"]["stream"].get("feedback");
        if contents.is_empty() {
            assert_eq!(feedback, Some(&json!({"id": "FB-WS"})), "{frame}");
        } else {
            assert_eq!(feedback, None, "{frame}");
        }
        contents.push(
            frame["body"]["stream"]["content"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        if frame["body"]["stream"]["finish"] == true {
            break;
        }
    }
    // Each push holds all before it (sent in order, each after the previous ack) and
    // differs from it, except the last, which may only add `finish`.
    let (last, growing) = contents.split_last().unwrap();
    for pair in growing.windows(2) {
        assert!(
            pair[1].starts_with(&pair[0]) && pair[1] != pair[0],
            "{contents:?}"
        );
    }
    assert!(last.starts_with(growing.last().unwrap()), "{contents:?}");
    assert_eq!(contents.last().unwrap(), "the quick brown fox");

    // enter_chat is answered with the welcome command.
    server.send(event("REQ-2", "m2", "enter_chat")).await;
    let welcome = server.next("aibot_respond_welcome_msg").await;
    assert_eq!(welcome["headers"]["req_id"], "REQ-2");
    assert_eq!(
        welcome["body"],
        json!({"msgtype": "text", "text": {"content": "welcome"}})
    );

    // A repeated msgid is not handled twice.
    server.send(event("REQ-3", "m2", "enter_chat")).await;
    server.send(event("REQ-4", "m4", "enter_chat")).await;
    assert_eq!(
        server.next("aibot_respond_welcome_msg").await["headers"]["req_id"],
        "REQ-4"
    );

    conn.shutdown();
    assert_eq!(run.await.unwrap(), Stopped::Shutdown);
}

#[tokio::test]
async fn dropped_connection_reconnects_and_still_serves() {
    let mut server = StandIn::start().await;
    server
        .behaviour
        .drop_after_subscribe
        .store(2, Ordering::SeqCst);
    let conn = connection(&server.url);
    let run = tokio::spawn({
        let conn = conn.clone();
        async move { conn.run(word_bot()).await }
    });
    server.wait_connections(3).await;
    for _ in 0..3 {
        server.next("aibot_subscribe").await;
    }
    for _ in 0..200 {
        if conn.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.send(event("REQ-9", "m9", "enter_chat")).await;
    assert_eq!(
        server.next("aibot_respond_welcome_msg").await["headers"]["req_id"],
        "REQ-9"
    );
    conn.shutdown();
    assert_eq!(run.await.unwrap(), Stopped::Shutdown);
}

#[tokio::test]
async fn silent_server_fails_the_heartbeat_and_the_client_reconnects() {
    let mut server = StandIn::start().await;
    server
        .behaviour
        .silent_heartbeat
        .store(true, Ordering::SeqCst);
    let conn = connection(&server.url).with_heartbeat(Duration::from_millis(30), 2);
    let run = tokio::spawn({
        let conn = conn.clone();
        async move { conn.run(word_bot()).await }
    });
    server.next("ping").await;
    server.next("ping").await;
    server.wait_connections(2).await;
    // Answered heartbeats keep the connection.
    server
        .behaviour
        .silent_heartbeat
        .store(false, Ordering::SeqCst);
    let connections = server.connections.load(Ordering::SeqCst);
    for _ in 0..6 {
        server.next("ping").await;
    }
    assert!(server.connections.load(Ordering::SeqCst) <= connections + 1);
    conn.shutdown();
    assert_eq!(run.await.unwrap(), Stopped::Shutdown);
}

#[tokio::test]
async fn disconnected_event_stops_without_reconnecting() {
    let server = StandIn::start().await;
    let conn = connection(&server.url);
    let run = tokio::spawn({
        let conn = conn.clone();
        async move { conn.run(word_bot()).await }
    });
    server.wait_connections(1).await;
    for _ in 0..200 {
        if conn.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server
        .send(event("REQ-D", "md", "disconnected_event"))
        .await;
    let stopped = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped, Stopped::Replaced);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert!(!conn.is_connected());
}

#[tokio::test]
async fn malformed_frames_and_unknown_commands_are_skipped() {
    let mut server = StandIn::start().await;
    let conn = connection(&server.url);
    let run = tokio::spawn({
        let conn = conn.clone();
        async move { conn.run(word_bot()).await }
    });
    server.next("aibot_subscribe").await;
    {
        let push = server.push.lock().await;
        let push = push.as_ref().unwrap();
        for bad in [
            "",
            "{",
            "[1,2]",
            "null",
            r#"{"cmd":"aibot_future_cmd","headers":{"req_id":"x"}}"#,
            r#"{"cmd":"aibot_msg_callback","headers":{"req_id":"y"},"body":{"msgtype":"text"}}"#,
            r#"{"headers":{"req_id":"nobody"},"errcode":0}"#,
        ] {
            push.send(Message::text(bad)).unwrap();
        }
        push.send(Message::binary(vec![0u8, 1, 2])).unwrap();
    }
    server.send(event("REQ-OK", "mok", "enter_chat")).await;
    assert_eq!(
        server.next("aibot_respond_welcome_msg").await["headers"]["req_id"],
        "REQ-OK"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    conn.shutdown();
    assert_eq!(run.await.unwrap(), Stopped::Shutdown);
}

#[tokio::test]
async fn a_refused_subscription_stops() {
    let server = StandIn::start().await;
    let conn = LongConnection::new("BOT", "wrong").with_url(&server.url);
    let stopped = tokio::time::timeout(Duration::from_secs(5), conn.run(word_bot()))
        .await
        .unwrap();
    assert!(
        matches!(stopped, Stopped::SubscribeRefused { errcode: 40058, .. }),
        "{stopped:?}"
    );
}

#[tokio::test]
async fn unreachable_server_gives_up_after_the_allowed_attempts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    drop(listener);
    let conn = LongConnection::new("BOT", SECRET)
        .with_url(url)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(4), Some(3));
    let stopped = tokio::time::timeout(Duration::from_secs(5), conn.run(word_bot()))
        .await
        .unwrap();
    assert_eq!(stopped, Stopped::GaveUp { attempts: 3 });
}

#[tokio::test]
async fn send_msg_awaits_the_ack_and_times_out_without_one() {
    use wecom_api::robot::{AibotMarkdown, AibotMessage};
    let mut server = StandIn::start().await;
    let conn = connection(&server.url);
    let message = AibotMessage::Markdown(AibotMarkdown::new("**hi**"));
    let err = conn.send_msg("u1", &message).await.unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");

    let run = tokio::spawn({
        let conn = conn.clone();
        async move { conn.run(word_bot()).await }
    });
    server.next("aibot_subscribe").await;
    for _ in 0..200 {
        if conn.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    conn.send_msg("u1", &message).await.unwrap();
    let sent = server.next("aibot_send_msg").await;
    assert_eq!(
        sent["body"],
        json!({"chatid": "u1", "msgtype": "markdown", "markdown": {"content": "**hi**"}})
    );

    server.behaviour.no_reply_acks.store(true, Ordering::SeqCst);
    let err = conn.send_msg("u1", &message).await.unwrap_err();
    assert!(err.is_timeout() || err.to_string().contains("ack"), "{err}");
    conn.shutdown();
    assert_eq!(run.await.unwrap(), Stopped::Shutdown);
}

#[test]
fn the_secret_stays_out_of_debug() {
    let conn = LongConnection::new("BOT", SECRET);
    let shown = format!("{conn:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("BOT"));
}

#[tokio::test]
async fn media_is_uploaded_in_acked_chunks() {
    use base64::Engine;
    let mut server = StandIn::start().await;
    let conn = connection(&server.url);
    let run = tokio::spawn({
        let conn = conn.clone();
        async move { conn.run(word_bot()).await }
    });
    server.next("aibot_subscribe").await;
    for _ in 0..200 {
        if conn.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let data: Vec<u8> = (0..(512 * 1024 + 10)).map(|i| (i % 253) as u8).collect();
    let media_id = conn
        .upload_media("file", "report.pdf", &data)
        .await
        .unwrap();
    assert_eq!(media_id, "MEDIA-1");
    let init = server.next("aibot_upload_media_init").await;
    assert_eq!(init["body"]["total_size"], data.len());
    assert_eq!(init["body"]["total_chunks"], 2);
    let mut joined = Vec::new();
    for index in 0..2 {
        let chunk = server.next("aibot_upload_media_chunk").await;
        assert_eq!(chunk["body"]["upload_id"], "U1");
        assert_eq!(chunk["body"]["chunk_index"], index);
        let part = base64::engine::general_purpose::STANDARD
            .decode(chunk["body"]["base64_data"].as_str().unwrap())
            .unwrap();
        joined.extend(part);
    }
    assert_eq!(joined, data);
    assert_eq!(
        server.next("aibot_upload_media_finish").await["body"]["upload_id"],
        "U1"
    );
    assert!(conn.upload_media("sticker", "x", b"1").await.is_err());
    assert!(conn.upload_media("file", "x", &[]).await.is_err());
    conn.shutdown();
    assert_eq!(run.await.unwrap(), Stopped::Shutdown);
}
