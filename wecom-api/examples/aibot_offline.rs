//! A complete AI bot that streams its answer word by word, run offline in both modes:
//! webhook (sealed callbacks handed to the endpoint, WeCom's refresh callbacks replayed)
//! and long connection (a loopback WebSocket stand-in speaking the protocol).
//!
//! `cargo run -p wecom-api --example aibot_offline --features aibot`

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use wecom_api::aibot::testing::open_reply;
use wecom_api::aibot::{AibotEndpoint, AibotReply, Bot, LongConnection, Outcome};
use wecom_api::callback::CallbackCrypto;

/// The bot: a welcome on entering the chat; any text answered word by word, as an LLM's
/// tokens would arrive.
fn bot() -> Bot {
    Bot::new(|ctx, callback| async move {
        if callback.is_enter_chat() {
            return Ok(AibotReply::text("你好！问我点什么吧。").into());
        }
        let Some(question) = callback.text() else {
            return Ok(Outcome::Nothing);
        };
        let stream = ctx.stream().await?;
        let writer = stream.clone();
        tokio::spawn(async move {
            let answer = format!("You asked: {question}. Here is my answer, word by word.");
            for (i, word) in answer.split(' ').enumerate() {
                let piece = if i == 0 {
                    word.to_string()
                } else {
                    format!(" {word}")
                };
                if writer.write(&piece).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = writer.finish().await;
        });
        Ok(Outcome::Stream(stream))
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    webhook().await?;
    long_connection().await?;
    Ok(())
}

async fn webhook() -> Result<(), Box<dyn std::error::Error>> {
    println!("== webhook mode");
    // The bot's 接收消息 settings: token and EncodingAESKey; AI bots use receive id "".
    let crypto = CallbackCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "")?;
    let endpoint = AibotEndpoint::new(crypto.clone(), bot());
    // In a server: axum::Router::new().nest_service("/aibot", endpoint.into_router()).

    let message = json!({"msgid": "m1", "aibotid": "BOT", "chattype": "single",
        "from": {"userid": "zhangsan"}, "msgtype": "text", "text": {"content": "what is Rust"}});
    let sealed = crypto.seal_json_request(&message.to_string())?;
    let answer = endpoint
        .receive(&sealed.query, sealed.body.as_bytes())
        .await;
    let first: Value = serde_json::from_str(&open_reply(&crypto, &answer.body)?)?;
    let id = first["stream"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    println!("first reply: {}", first["stream"]["content"]);

    // WeCom polls with stream-refresh callbacks until `finish`.
    for n in 0.. {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refresh = json!({"msgid": format!("r{n}"), "aibotid": "BOT", "msgtype": "stream",
            "stream": {"id": id}});
        let sealed = crypto.seal_json_request(&refresh.to_string())?;
        let answer = endpoint
            .receive(&sealed.query, sealed.body.as_bytes())
            .await;
        let reply: Value = serde_json::from_str(&open_reply(&crypto, &answer.body)?)?;
        println!("refresh {n}: {}", reply["stream"]["content"]);
        if reply["stream"]["finish"] == true {
            break;
        }
    }
    Ok(())
}

async fn long_connection() -> Result<(), Box<dyn std::error::Error>> {
    println!("== long-connection mode");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);

    // A stand-in of WeCom's server: acks the subscription, pushes one message, prints the
    // bot's stream pushes (acking each), then says a newer connection replaced this one.
    let stand_in = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.ok()?;
        let ws = tokio_tungstenite::accept_async(tcp).await.ok()?;
        let (mut sink, mut frames) = ws.split();
        while let Some(Ok(Message::Text(text))) = frames.next().await {
            let frame: Value = serde_json::from_str(&text).ok()?;
            let ack = json!({"headers": frame["headers"], "errcode": 0, "errmsg": "ok"});
            sink.send(Message::text(ack.to_string())).await.ok()?;
            match frame["cmd"].as_str() {
                Some("aibot_subscribe") => {
                    let push = json!({"cmd": "aibot_msg_callback", "headers": {"req_id": "REQ1"},
                        "body": {"msgid": "m2", "aibotid": "BOT", "chattype": "single",
                        "from": {"userid": "lisi"}, "msgtype": "text", "text": {"content": "hello"}}});
                    sink.send(Message::text(push.to_string())).await.ok()?;
                }
                Some("aibot_respond_msg") => {
                    println!("push: {}", frame["body"]["stream"]["content"]);
                    if frame["body"]["stream"]["finish"] == true {
                        let bye = json!({"cmd": "aibot_event_callback", "headers": {"req_id": "REQ2"},
                            "body": {"msgid": "m3", "aibotid": "BOT", "msgtype": "event",
                            "event": {"eventtype": "disconnected_event"}}});
                        sink.send(Message::text(bye.to_string())).await.ok()?;
                    }
                }
                _ => {}
            }
        }
        Some(())
    });

    let connection = LongConnection::new("BOT", "BOT_SECRET").with_url(url);
    let stopped = connection.run(bot()).await;
    println!("stopped: {stopped:?}");
    let _ = stand_in.await;
    Ok(())
}
