//! Throughput of typed calls through `Client` against raw `reqwest` doing the same request
//! (same query, same 30 s per-request timeout that `Client` applies by default) and the same
//! decode, on one loopback server. Reports the throughput ratio (goal: at least 0.95), and the
//! ratio of process CPU time for the same work, which the noise of a shared machine moves less.
//!
//! Run: `cargo bench -p wecom-api --bench throughput`
//! (`BENCH_REQUESTS`, `BENCH_CONCURRENCY` and `BENCH_ROUNDS` change the load; defaults 20000,
//! 32 and 7.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wecom_api::contacts::User;

const USER_JSON: &str = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三","department":[1,2],"order":[1,2],"position":"后台工程师","mobile":"13800000000","gender":"1","email":"zhangsan@gzdev.com","is_leader_in_dept":[1,0],"avatar":"http://wx.qlogo.cn/mmopen/x/0","telephone":"020-123456","alias":"jackzhang","status":1,"main_department":1}"#;
const TOKEN_JSON: &str =
    r#"{"errcode":0,"errmsg":"ok","access_token":"bench-token","expires_in":7200}"#;

/// A minimal keep-alive HTTP/1.1 server: GET requests only, fixed answers.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut buffer = Vec::with_capacity(4096);
            let mut chunk = [0u8; 4096];
            loop {
                let Ok(read) = socket.read(&mut chunk).await else {
                    return;
                };
                if read == 0 {
                    return;
                }
                buffer.extend_from_slice(&chunk[..read]);
                while let Some(end) = find(&buffer, b"\r\n\r\n") {
                    let head = &buffer[..end];
                    let body = if find(head, b"/cgi-bin/gettoken").is_some() {
                        TOKEN_JSON
                    } else {
                        USER_JSON
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                    buffer.drain(..end + 4);
                }
            }
        });
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn run_concurrently<F, Fut>(requests: usize, concurrency: usize, call: F) -> Duration
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let call = Arc::clone(&call);
            let share = requests / concurrency + usize::from(worker < requests % concurrency);
            tokio::spawn(async move {
                for _ in 0..share {
                    call().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("bench task");
    }
    start.elapsed()
}

/// CPU time of this process so far (user + system), from /proc on Linux; zero elsewhere.
fn process_cpu() -> Duration {
    let ticks = || -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    // The kernel counts in USER_HZ, 100 per second on Linux.
    Duration::from_millis(ticks().unwrap_or(0) * 10)
}

/// Wall time and process CPU time of one batch of calls.
async fn measure<F, Fut>(requests: usize, concurrency: usize, call: F) -> (Duration, Duration)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let cpu = process_cpu();
    let wall = run_concurrently(requests, concurrency, call).await;
    (wall, process_cpu().saturating_sub(cpu))
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let requests = env_or("BENCH_REQUESTS", 20_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(serve(listener));

    let http = reqwest::Client::new();
    let client = wecom_api::Client::builder()
        .corp_id("wwbench")
        .secret("bench-secret")
        .base_url(&base_url)
        .http_client(http.clone())
        .build()
        .expect("client");

    let raw = {
        let http = http.clone();
        let url = format!("{base_url}/cgi-bin/user/get");
        move || {
            let http = http.clone();
            let url = url.clone();
            async move {
                let body = http
                    .get(&url)
                    .query(&[("access_token", "bench-token"), ("userid", "zhangsan")])
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .expect("raw request")
                    .bytes()
                    .await
                    .expect("raw body");
                let user: User = serde_json::from_slice(&body).expect("raw decode");
                assert_eq!(user.userid, "zhangsan");
            }
        }
    };
    let typed = {
        let client = client.clone();
        move || {
            let client = client.clone();
            async move {
                let user = client.user().get("zhangsan").await.expect("typed call");
                assert_eq!(user.userid, "zhangsan");
            }
        }
    };

    // Warm both paths (connections, token), then alternate rounds so drift hits both alike.
    run_concurrently(concurrency * 10, concurrency, raw.clone()).await;
    run_concurrently(concurrency * 10, concurrency, typed.clone()).await;
    let rounds = env_or("BENCH_ROUNDS", 7).max(1);
    let mut ratios = Vec::new();
    let (mut raw_total, mut typed_total) = (Duration::ZERO, Duration::ZERO);
    // CPU of the whole process (client and server alike): steadier than wall time.
    let (mut raw_cpu_total, mut typed_cpu_total) = (Duration::ZERO, Duration::ZERO);
    for round in 0..rounds {
        // Alternate which side goes first, so neither always runs on a warmer machine.
        let ((raw_time, raw_cpu), (typed_time, typed_cpu)) = if round % 2 == 0 {
            let raw_side = measure(requests, concurrency, raw.clone()).await;
            (
                raw_side,
                measure(requests, concurrency, typed.clone()).await,
            )
        } else {
            let typed_side = measure(requests, concurrency, typed.clone()).await;
            (
                measure(requests, concurrency, raw.clone()).await,
                typed_side,
            )
        };
        raw_cpu_total += raw_cpu;
        typed_cpu_total += typed_cpu;
        raw_total += raw_time;
        typed_total += typed_time;
        ratios.push(raw_time.as_secs_f64() / typed_time.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let per_second = |total: Duration| (requests * rounds) as f64 / total.as_secs_f64();
    println!("requests per round: {requests}, concurrency: {concurrency}, rounds: {rounds}");
    println!("raw reqwest:      {:>9.0} req/s", per_second(raw_total));
    println!("wecom-api typed:  {:>9.0} req/s", per_second(typed_total));
    println!(
        "throughput ratio typed/raw: median {:.3} (min {:.3}, max {:.3})",
        ratios[rounds / 2],
        ratios[0],
        ratios[rounds - 1]
    );
    if !typed_cpu_total.is_zero() {
        println!(
            "CPU time ratio raw/typed for the same work (whole process): {:.3}",
            raw_cpu_total.as_secs_f64() / typed_cpu_total.as_secs_f64()
        );
    }
}
