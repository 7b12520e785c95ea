//! Throughput and CPU of typed calls through `Client` against raw `reqwest` sending the same
//! request (same query, same 30 s per-request timeout that `Client` applies by default) and
//! parsing the answer into a `serde_json::Value`, on one loopback server, for four bodies:
//! `user.get`, a 200-department `department.list`, 1,000 ids from `user.list_id` and a
//! 200-message `kf` `sync_msg` page. Rounds alternate which side goes first. Reports per
//! body the throughput ratio typed/raw, the CPU ratio raw/typed (process CPU time, which the
//! noise of a shared machine moves less) and CPU microseconds per call of each side.
//!
//! Run: `cargo bench -p wecom-api --bench throughput --no-default-features --features contacts,kf`
//! (`BENCH_REQUESTS` (user.get; the lists get a tenth), `BENCH_CONCURRENCY`, `BENCH_ROUNDS`
//! and `BENCH_ONLY` (a body's name) change the load; defaults 20000, 32, 5, all.
//! `BENCH_SIDE=raw` or `typed` runs one side only, for a profiler: `perf record` of it shows
//! that side's own costs.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const USER_JSON: &str = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三","department":[1,2],"order":[1,2],"position":"后台工程师","mobile":"13800000000","gender":"1","email":"zhangsan@gzdev.com","is_leader_in_dept":[1,0],"avatar":"http://wx.qlogo.cn/mmopen/x/0","telephone":"020-123456","alias":"jackzhang","status":1,"main_department":1}"#;
const TOKEN_JSON: &str =
    r#"{"errcode":0,"errmsg":"ok","access_token":"bench-token","expires_in":7200}"#;

fn departments_json() -> String {
    let items: Vec<String> = (1..=200)
        .map(|id| {
            format!(
                r#"{{"id":{id},"name":"部门{id}","name_en":"dept{id}","department_leader":["u{id}"],"parentid":1,"order":{id}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"errcode":0,"errmsg":"ok","department":[{}]}}"#,
        items.join(",")
    )
}

fn member_ids_json() -> String {
    let items: Vec<String> = (1..=1000)
        .map(|i| format!(r#"{{"userid":"user{i:04}","department":{}}}"#, i % 50 + 1))
        .collect();
    format!(
        r#"{{"errcode":0,"errmsg":"ok","next_cursor":"xxxxxxx","dept_user":[{}]}}"#,
        items.join(",")
    )
}

fn kf_page_json() -> String {
    let items: Vec<String> = (1..=200)
        .map(|i| {
            if i % 4 == 0 {
                format!(
                    r#"{{"msgid":"from_msgid_{i}","send_time":1615478585,"origin":4,"msgtype":"event","event":{{"event_type":"enter_session","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","scene":"123","scene_param":"abc","welcome_code":"aaaaaa"}}}}"#
                )
            } else {
                format!(
                    r#"{{"msgid":"from_msgid_{i}","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","send_time":1615478585,"origin":3,"servicer_userid":"Zhangsan","msgtype":"text","text":{{"content":"你好，第{i}条消息","menu_id":"101"}}}}"#
                )
            }
        })
        .collect();
    format!(
        r#"{{"errcode":0,"errmsg":"ok","next_cursor":"4gw7MepFLfgF2VC5npN","has_more":1,"msg_list":[{}]}}"#,
        items.join(",")
    )
}

/// A minimal keep-alive HTTP/1.1 server: answers by path, reads and drops request bodies.
async fn serve(listener: TcpListener, routes: Arc<Vec<(&'static str, String)>>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let routes = Arc::clone(&routes);
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
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let body_len = head
                        .split("content-length:")
                        .nth(1)
                        .and_then(|v| v.lines().next())
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buffer.len() < end + 4 + body_len {
                        break;
                    }
                    let body = routes
                        .iter()
                        .find(|(path, _)| head.contains(path))
                        .map_or("{}", |(_, body)| body.as_str());
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                    buffer.drain(..end + 4 + body_len);
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

type BoxFut = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
type Side = Arc<dyn Fn() -> BoxFut + Send + Sync>;

/// The raw side: the request by hand, the answer parsed into a `Value`.
fn raw_side(
    http: reqwest::Client,
    url: String,
    post: Option<&'static str>,
    check: &'static str,
) -> Side {
    Arc::new(move || {
        let (http, url) = (http.clone(), url.clone());
        Box::pin(async move {
            let query = [("access_token", "bench-token"), ("userid", "zhangsan")];
            let request = match post {
                Some(body) => http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body),
                None => http.get(&url),
            };
            let body = request
                .query(&query)
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .expect("raw request")
                .bytes()
                .await
                .expect("raw body");
            let value: serde_json::Value = serde_json::from_slice(&body).expect("raw parse");
            assert!(value.get(check).is_some());
        })
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let requests = env_or("BENCH_REQUESTS", 20_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let rounds = env_or("BENCH_ROUNDS", 5).max(1);
    let only = std::env::var("BENCH_ONLY").ok();
    let routes = Arc::new(vec![
        ("/cgi-bin/gettoken", TOKEN_JSON.to_owned()),
        ("/cgi-bin/user/get", USER_JSON.to_owned()),
        ("/cgi-bin/department/list", departments_json()),
        ("/cgi-bin/user/list_id", member_ids_json()),
        ("/cgi-bin/kf/sync_msg", kf_page_json()),
    ]);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(serve(listener, routes));

    let http = reqwest::Client::new();
    let client = wecom_api::Client::builder()
        .corp_id("wwbench")
        .secret("bench-secret")
        .base_url(&base)
        .http_client(http.clone())
        .build()
        .expect("client");

    let typed = |f: fn(wecom_api::Client) -> BoxFut| -> Side {
        let client = client.clone();
        Arc::new(move || f(client.clone()))
    };
    let cases: Vec<(&str, usize, Side, Side)> = vec![
        (
            "user.get",
            requests,
            raw_side(
                http.clone(),
                format!("{base}/cgi-bin/user/get"),
                None,
                "userid",
            ),
            typed(|c| {
                Box::pin(async move {
                    let user = c.user().get("zhangsan").await.expect("typed call");
                    assert_eq!(user.userid, "zhangsan");
                })
            }),
        ),
        (
            "department.list (200)",
            requests / 10,
            raw_side(
                http.clone(),
                format!("{base}/cgi-bin/department/list"),
                None,
                "department",
            ),
            typed(|c| {
                Box::pin(async move {
                    let list = c.department().list().await.expect("typed call");
                    assert_eq!(list.department.len(), 200);
                })
            }),
        ),
        (
            "user.list_id (1,000 ids)",
            requests / 10,
            raw_side(
                http.clone(),
                format!("{base}/cgi-bin/user/list_id"),
                Some(r#"{"limit":1000}"#),
                "dept_user",
            ),
            typed(|c| {
                Box::pin(async move {
                    let page = c.user().list_id().limit(1000).await.expect("typed call");
                    assert_eq!(page.dept_user.len(), 1000);
                })
            }),
        ),
        (
            "kf sync_msg (200 messages)",
            requests / 10,
            raw_side(
                http.clone(),
                format!("{base}/cgi-bin/kf/sync_msg"),
                Some(r#"{"open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","limit":200}"#),
                "msg_list",
            ),
            typed(|c| {
                Box::pin(async move {
                    let page = c
                        .kf_message()
                        .sync("wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q")
                        .await
                        .expect("typed call");
                    assert_eq!(page.msg_list.len(), 200);
                })
            }),
        ),
    ];

    println!("concurrency: {concurrency}, rounds: {rounds}");
    for (name, requests, raw, typed) in cases {
        if only.as_deref().is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        if let Ok(side) = std::env::var("BENCH_SIDE") {
            let call: Side = if side == "raw" {
                Arc::clone(&raw)
            } else {
                Arc::clone(&typed)
            };
            let call = move || call();
            let (wall, cpu) = measure(requests * rounds, concurrency, call).await;
            let calls = (requests * rounds) as f64;
            println!(
                "{name}, {side} only: {:.0} req/s, {:.1} us CPU per call",
                calls / wall.as_secs_f64(),
                cpu.as_secs_f64() * 1e6 / calls
            );
            continue;
        }
        let (raw_call, typed_call) = (Arc::clone(&raw), Arc::clone(&typed));
        let raw = move || raw_call();
        let typed = move || typed_call();
        // Warm both paths (connections, token), then alternate rounds so drift hits both alike.
        run_concurrently(concurrency * 10, concurrency, raw.clone()).await;
        run_concurrently(concurrency * 10, concurrency, typed.clone()).await;
        let mut ratios = Vec::new();
        let (mut raw_wall, mut typed_wall) = (Duration::ZERO, Duration::ZERO);
        // CPU of the whole process (client and server alike): steadier than wall time.
        let (mut raw_cpu, mut typed_cpu) = (Duration::ZERO, Duration::ZERO);
        for round in 0..rounds {
            let (r, t) = if round % 2 == 0 {
                let r = measure(requests, concurrency, raw.clone()).await;
                (r, measure(requests, concurrency, typed.clone()).await)
            } else {
                let t = measure(requests, concurrency, typed.clone()).await;
                (measure(requests, concurrency, raw.clone()).await, t)
            };
            raw_wall += r.0;
            raw_cpu += r.1;
            typed_wall += t.0;
            typed_cpu += t.1;
            ratios.push(r.0.as_secs_f64() / t.0.as_secs_f64());
        }
        ratios.sort_by(f64::total_cmp);
        let calls = (requests * rounds) as f64;
        let per_call_us = |cpu: Duration| cpu.as_secs_f64() * 1e6 / calls;
        println!(
            "{name}: {requests} requests per round; raw {:.0} req/s, typed {:.0} req/s",
            calls / raw_wall.as_secs_f64(),
            calls / typed_wall.as_secs_f64()
        );
        println!(
            "  throughput typed/raw: median {:.3} (min {:.3}, max {:.3})",
            ratios[rounds / 2],
            ratios[0],
            ratios[rounds - 1]
        );
        if !typed_cpu.is_zero() {
            println!(
                "  CPU raw/typed: {:.3} (CPU per call, server included: raw {:.1} us, typed {:.1} us)",
                raw_cpu.as_secs_f64() / typed_cpu.as_secs_f64(),
                per_call_us(raw_cpu),
                per_call_us(typed_cpu)
            );
        }
    }
}
