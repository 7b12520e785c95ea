//! AI-bot figures for BENCHMARKS.md: frames per second through one long connection (a
//! loopback stand-in that acks every frame), and memory per open stream session.
//!
//! `cargo bench -p wecom-api --bench aibot --features aibot`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use wecom_api::aibot::{Bot, LongConnection, MemoryStreamStore, NewStream, Outcome, StreamStore};
use wecom_api::robot::{AibotMarkdown, AibotMessage};

/// Counts live heap bytes.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[tokio::main]
async fn main() {
    frames_per_second().await;
    memory_per_session().await;
}

async fn frames_per_second() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let (mut sink, mut frames) = ws.split();
        while let Some(Ok(Message::Text(text))) = frames.next().await {
            let frame: Value = serde_json::from_str(&text).unwrap();
            let ack = json!({"headers": frame["headers"], "errcode": 0, "errmsg": "ok"});
            if sink.send(Message::text(ack.to_string())).await.is_err() {
                return;
            }
        }
    });
    let conn = LongConnection::new("BOT", "SECRET").with_url(url);
    let run = tokio::spawn({
        let conn = conn.clone();
        async move {
            conn.run(Bot::new(|_, _| async { Ok(Outcome::Nothing) }))
                .await
        }
    });
    while !conn.is_connected() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let message = AibotMessage::Markdown(AibotMarkdown::new(
        "a reply of about sixty bytes, as a stream push would carry",
    ));
    for senders in [1usize, 16] {
        let total = 20_000;
        let start = Instant::now();
        let tasks: Vec<_> = (0..senders)
            .map(|_| {
                let (conn, message) = (conn.clone(), message.clone());
                tokio::spawn(async move {
                    for _ in 0..total / senders {
                        conn.send_msg("u1", &message).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "long connection, {senders} sender(s): {total} acked frames in {secs:.2} s = {:.0} frames/s",
            total as f64 / secs
        );
    }
    conn.shutdown();
    let _ = run.await;
}

async fn memory_per_session() {
    for (content, counted) in [(0usize, false), (0, true), (2_000, false), (20_480, false)] {
        let store = Arc::new(MemoryStreamStore::new(100_000));
        let n = 10_000;
        let text = "x".repeat(content);
        let before = LIVE.load(Ordering::Relaxed);
        for i in 0..n {
            let id = format!("stream-{i:032x}");
            let mut stream = NewStream::new(id.clone(), Duration::from_secs(360));
            if counted {
                // Each against its own user (bot id and userid): the per-user index at its largest.
                stream = stream.for_user(format!("BOT:user{i:06}"), 3);
            }
            store.open(stream).await.unwrap();
            if content > 0 {
                store.append(&id, &text).await.unwrap();
            }
        }
        let per = (LIVE.load(Ordering::Relaxed) - before) as f64 / n as f64;
        let of = if counted {
            ", counted against its user"
        } else {
            ""
        };
        println!(
            "memory per open stream session with {content} bytes of content{of}: {per:.0} bytes"
        );
        drop(store);
    }
}
