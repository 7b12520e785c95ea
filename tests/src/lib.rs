//! Integration tests live in `tests/`. This library holds only what the Redis tests share
//! with their worker process (`src/bin/redis_token_worker.rs`), which they start as
//! separate OS processes.

/// The corp of the worker processes.
pub const WORKER_CORP_ID: &str = "wwworker000000001";
/// Its secret (a distinctive value, so a leak is found by a substring search).
pub const WORKER_SECRET: &str = "SeCrEt-worker-5b7c21";
/// The app agentid of the worker processes (for `wx.agentConfig`).
pub const WORKER_AGENT_ID: i64 = 1000002;
/// The page the worker signs in `tickets` mode, with a fixed nonce and timestamp, so the
/// test can check which ticket each process used.
pub const WORKER_PAGE: &str = "https://app.example.com/page?x=1";
/// Nonce signed in `tickets` mode.
pub const WORKER_NONCE: &str = "Wm3WZYTPz0wzccnW";
/// Timestamp signed in `tickets` mode.
pub const WORKER_TIMESTAMP: u64 = 1414587457;
/// The third-party suite of the worker processes in `suite` mode.
pub const WORKER_SUITE_ID: &str = "wwsuiteworker0001";
/// Its secret.
pub const WORKER_SUITE_SECRET: &str = "SeCrEt-suite-worker-0c3e";
/// How many corps have authorised the suite; call `i` goes to corp `i % WORKER_CORPS`.
pub const WORKER_CORPS: usize = 5;

/// The corp id of authorised corp `i`.
pub fn worker_corp(i: usize) -> String {
    format!("wwauthworker{i:04}")
}

/// The permanent code of corp `corp_id`'s authorisation.
pub fn worker_permanent_code(corp_id: &str) -> String {
    format!("PeRmAnEnT-{corp_id}")
}
