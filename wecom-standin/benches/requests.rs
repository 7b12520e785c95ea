//! Requests per second the stand-in serves on one core: its server runs on a single-threaded
//! runtime in its own thread; a client on another thread keeps 32 requests in flight.
//!
//! `cargo bench -p wecom-standin --bench requests` (SECONDS=n to change the 5 s per case)

use std::time::{Duration, Instant};

use wecom_standin::{Standin, TokenKind};

fn main() {
    let seconds: u64 = std::env::var("SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let (ready, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let standin = Standin::builder().max_records(1000).start().await.unwrap();
            let token = standin.issue_token(TokenKind::Access, "ww0123456789abcdef");
            ready.send((standin.base_url(), token)).unwrap();
            std::future::pending::<()>().await;
            drop(standin);
        });
    });
    let (base, token) = started.recv().unwrap();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get = format!("{base}/cgi-bin/user/get?access_token={token}&userid=zhangsan");
    let post = format!("{base}/cgi-bin/message/send?access_token={token}");
    let body =
        r#"{"touser":"zhangsan","msgtype":"text","agentid":1000002,"text":{"content":"hi"}}"#;
    for (name, url, body) in [
        ("GET user.get", &get, None),
        ("POST message.send", &post, Some(body)),
    ] {
        let rate = client.block_on(run(url, body, Duration::from_secs(seconds)));
        println!("{name}: {rate:.0} requests/s (server on one core, 32 in flight, {seconds} s)");
    }
}

async fn run(url: &str, body: Option<&'static str>, length: Duration) -> f64 {
    let http = wecom_api::reqwest::Client::new();
    let end = Instant::now() + length;
    let started = Instant::now();
    let workers = (0..32).map(|_| {
        let (http, url) = (http.clone(), url.to_owned());
        tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < end {
                let request = match body {
                    Some(body) => http.post(&url).body(body),
                    None => http.get(&url),
                };
                let answer = request.send().await.unwrap().bytes().await.unwrap();
                assert!(
                    answer.starts_with(b"{") && !answer.windows(8).any(|w| w == b"errcode\":4")
                );
                done += 1;
            }
            done
        })
    });
    let mut total = 0;
    for worker in workers.collect::<Vec<_>>() {
        total += worker.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}
