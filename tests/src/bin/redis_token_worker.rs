//! A process that shares a Redis token store with others, for the Redis tests.
//!
//! `redis-token-worker <token|tickets|suite> <redis_url> <base_url> <calls>`
//!
//! It connects, prints `ready`, waits for a line on stdin (so that all workers start
//! together), then makes `calls` concurrent calls: `token` calls `/cgi-bin/user/get`;
//! `tickets` gets the corp and app JS-SDK tickets and prints the signature of
//! `WORKER_PAGE` made with each; `suite` is the suite `WORKER_SUITE_ID`, and call `i` is
//! `/cgi-bin/user/get` in authorised corp `worker_corp(i % WORKER_CORPS)`. It prints
//! `done <calls>` and exits 0, or `error ...` and exits 1. Optional: `WORKER_LEASE_MS`,
//! `WORKER_LOCK_TIMEOUT_MS`, and in `suite` mode `WORKER_SAVE_TICKET` (a pushed
//! `suite_ticket` this process received, saved before `ready`).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use wecom_api::jssdk;
use wecom_api::token::RedisTokenStore;
use wecom_api_tests::*;

fn env_ms(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // The parent reads line by line; nothing to do if it went away.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("error {e}"));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, redis_url, base_url, calls] = args.as_slice() else {
        return Err(
            "usage: redis-token-worker <token|tickets> <redis_url> <base_url> <calls>".into(),
        );
    };
    let calls: usize = calls.parse().map_err(|e| format!("calls: {e}"))?;

    let mut store = RedisTokenStore::connect(redis_url)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(lease) = env_ms("WORKER_LEASE_MS") {
        store = store.with_lock_lease(lease);
    }
    if let Some(timeout) = env_ms("WORKER_LOCK_TIMEOUT_MS") {
        store = store.with_lock_timeout(timeout);
    }
    let builder = wecom_api::Client::builder()
        .base_url(base_url.as_str())
        .token_store(store);
    let client = if mode == "suite" {
        builder.suite(WORKER_SUITE_ID, WORKER_SUITE_SECRET)
    } else {
        builder
            .corp_id(WORKER_CORP_ID)
            .secret(WORKER_SECRET)
            .agent_id(WORKER_AGENT_ID)
    }
    .build()
    .map_err(|e| e.to_string())?;
    if let Ok(ticket) = std::env::var("WORKER_SAVE_TICKET") {
        client
            .save_ticket(&ticket, None)
            .await
            .map_err(|e| e.to_string())?;
    }

    say("ready");
    let mut go = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut go)
        .map_err(|e| e.to_string())?;

    let mut tasks = Vec::new();
    for call in 0..calls {
        let client = client.clone();
        let mode = mode.clone();
        tasks.push(tokio::spawn(async move {
            match mode.as_str() {
                "token" => client
                    .get_json("/cgi-bin/user/get", &[("userid", "zhangsan")])
                    .await
                    .map(|_| None)
                    .map_err(|e| e.to_string()),
                "tickets" => {
                    let corp = client.jsapi_ticket().await.map_err(|e| e.to_string())?;
                    let app = client.agent_ticket().await.map_err(|e| e.to_string())?;
                    let sign = |t: &wecom_api::Secret| {
                        jssdk::signature(t.expose(), WORKER_NONCE, WORKER_TIMESTAMP, WORKER_PAGE)
                    };
                    Ok(Some(format!("{} {}", sign(&corp), sign(&app))))
                }
                "suite" => {
                    let corp_id = worker_corp(call % WORKER_CORPS);
                    let code = worker_permanent_code(&corp_id);
                    let corp = client
                        .authorized_corp(corp_id, code)
                        .map_err(|e| e.to_string())?;
                    corp.get_json("/cgi-bin/user/get", &[("userid", "zhangsan")])
                        .await
                        .map(|_| None)
                        .map_err(|e| e.to_string())
                }
                other => Err(format!("unknown mode {other}")),
            }
        }));
    }
    let mut signatures = Vec::new();
    for t in tasks {
        if let Some(s) = t.await.map_err(|e| e.to_string())?? {
            signatures.push(s);
        }
    }
    signatures.sort();
    signatures.dedup();
    for s in signatures {
        say(&format!("signatures {s}"));
    }
    say(&format!("done {calls}"));
    Ok(())
}
