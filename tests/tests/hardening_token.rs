//! Issue 9, items 1 and 2: the token refresh survives its callers, and a failing
//! credential is not asked for again on every call. Issue 18, defect 1: a refresh that
//! panics or whose runtime shuts down counts as a failed one, and a later call asks again.
//!
//! Figures (printed with `--nocapture`):
//! `cargo test -p wecom-api-tests --test hardening_token -- --nocapture`

mod runtime_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use httpmock::MockServer;
use runtime_common::*;
use wecom_api::token::{StoreFuture, Token, TokenKey, TokenStore};
use wecom_api::{Error, MemoryTokenStore};

const OK: &str = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan"}"#;

async fn slow_gettoken(server: &MockServer, delay: Duration) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.status(200).delay(delay).json_body(serde_json::json!({
                "errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200
            }));
        })
        .await
}

async fn user_get(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get")
                .query_param("access_token", TOKEN);
            then.status(200).body(OK);
        })
        .await
}

/// Five callers dropped mid-refresh (a handler's timeout) do not cancel it: one gettoken,
/// and the next caller gets the token that refresh brings instead of starting over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_callers_leave_the_refresh_running() {
    let server = MockServer::start_async().await;
    let gettoken = slow_gettoken(&server, Duration::from_millis(600)).await;
    let api = user_get(&server).await;
    let client = client(&server);

    let started = Instant::now();
    let mut dropped = Vec::new();
    for _ in 0..5 {
        let c = client.clone();
        dropped.push(tokio::spawn(async move {
            tokio::time::timeout(
                Duration::from_millis(250),
                c.get_json("/cgi-bin/user/get", &[]),
            )
            .await
        }));
    }
    for d in dropped {
        assert!(
            d.await.unwrap().is_err(),
            "each caller gave up after 250 ms"
        );
    }
    let after_cancel = Instant::now();
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    let first_success = after_cancel.elapsed();
    println!(
        "FIGURE item 1: first successful call after five cancelled ones took {} ms \
         ({} ms after the first caller started; gettoken takes 600 ms)",
        first_success.as_millis(),
        started.elapsed().as_millis()
    );
    // The refresh the dropped callers started is the one that served the call.
    gettoken.assert_calls_async(1).await;
    api.assert_calls_async(1).await;
}

/// 20 calls with a wrong secret: one gettoken; the others get the same error, saying it
/// is remembered and when the next try is allowed. After the wait, one more request, and
/// the wait doubles.
#[tokio::test]
async fn wrong_secret_under_load_asks_once() {
    let server = MockServer::start_async().await;
    let gettoken = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.status(200)
                .body(r#"{"errcode":40001,"errmsg":"invalid credential"}"#);
        })
        .await;
    let client = builder(server.base_url())
        .token_failure_backoff(Duration::from_millis(300), Duration::from_secs(60))
        .build()
        .unwrap();

    // Sequential, then concurrent: 20 calls in all.
    let mut errors = Vec::new();
    for _ in 0..10 {
        errors.push(client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err());
    }
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.get_json("/cgi-bin/user/get", &[]).await })
        })
        .collect();
    for t in tasks {
        errors.push(t.await.unwrap().unwrap_err());
    }
    let requests = gettoken.calls_async().await;
    println!("FIGURE item 2: gettoken requests for 20 calls with a wrong secret: {requests}");
    assert_eq!(requests, 1);
    assert!(matches!(errors[0], Error::Api { errcode: 40001, .. }));
    for e in &errors[1..] {
        assert_eq!(e.errcode(), Some(40001), "{e}");
        let Error::TokenRefreshBackoff {
            failures, retry_in, ..
        } = e
        else {
            panic!("not a remembered failure: {e:?}");
        };
        assert_eq!(*failures, 1);
        assert!(*retry_in <= Duration::from_millis(300));
        let shown = e.to_string();
        assert!(
            shown.contains("cached") && shown.contains("next try allowed in"),
            "{shown}"
        );
        assert_no_secrets("remembered failure", &format!("{e} {e:?}"));
    }

    // After the wait: one new request, then a longer wait.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let e = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    assert!(matches!(e, Error::Api { errcode: 40001, .. }), "{e:?}");
    let e = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    match e {
        Error::TokenRefreshBackoff {
            failures: 2,
            retry_in,
            ..
        } => assert!(retry_in > Duration::from_millis(300), "{retry_in:?}"),
        other => panic!("{other:?}"),
    }
    gettoken.assert_calls_async(2).await;
}

/// A right secret after a wrong one (a corrected deployment, a revoked app restored) is
/// used as soon as the wait is over, and a success clears the remembered failure.
#[tokio::test]
async fn success_after_the_wait_clears_the_failure() {
    let server = MockServer::start_async().await;
    let bad = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.status(200)
                .body(r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#);
        })
        .await;
    let api = user_get(&server).await;
    let client = builder(server.base_url())
        .token_failure_backoff(Duration::from_millis(100), Duration::from_secs(1))
        .build()
        .unwrap();
    let e = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    // 45009 is a rate limit, typed as such.
    assert!(e.is_rate_limited(), "{e:?}");
    assert_eq!(e.errcode(), Some(45009));
    bad.delete_async().await;
    let good = slow_gettoken(&server, Duration::ZERO).await;
    let e = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    assert!(matches!(e, Error::TokenRefreshBackoff { .. }), "{e:?}");
    tokio::time::sleep(Duration::from_millis(150)).await;
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    good.assert_calls_async(1).await;
    api.assert_calls_async(2).await;
}

/// A deadline shorter than a hanging gettoken: the call fails in time, naming the budget
/// and what it was waiting for.
#[tokio::test]
async fn deadline_bounds_a_hanging_gettoken() {
    let server = MockServer::start_async().await;
    slow_gettoken(&server, Duration::from_secs(5)).await;
    let client = builder(server.base_url())
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    let took = started.elapsed();
    match &e {
        Error::Deadline { budget, during, .. } => {
            assert_eq!(*budget, Duration::from_millis(300));
            assert!(during.contains("access token"), "{during}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_timeout());
    assert!(e.to_string().contains("deadline of 300 ms"), "{e}");
    // Generous: the point is "not 5 s, not minutes".
    assert!(took < Duration::from_secs(4), "{took:?}");
}

/// A custom store with a bug: its first read panics.
#[derive(Debug, Default)]
struct PanicsOnce {
    inner: MemoryTokenStore,
    panicked: AtomicBool,
}

impl TokenStore for PanicsOnce {
    fn get<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Token>> {
        if !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("a bug in a custom token store");
        }
        self.inner.get(key)
    }
    fn set<'a>(&'a self, key: &'a TokenKey, token: Token) -> StoreFuture<'a, ()> {
        self.inner.set(key, token)
    }
    fn invalidate<'a>(&'a self, key: &'a TokenKey, value: &'a str) -> StoreFuture<'a, ()> {
        self.inner.invalidate(key, value)
    }
}

/// The refresh task panics (in the store): its callers get an error, later calls back off
/// like after any failed refresh, and after the wait a call asks WeCom and succeeds.
#[tokio::test]
async fn a_refresh_that_panics_is_a_failed_refresh_not_a_broken_client() {
    let server = MockServer::start_async().await;
    let gettoken = slow_gettoken(&server, Duration::ZERO).await;
    let api = user_get(&server).await;
    let client = builder(server.base_url())
        .token_store(PanicsOnce::default())
        .token_failure_backoff(Duration::from_millis(100), Duration::from_secs(1))
        .build()
        .unwrap();
    let e = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    assert!(e.to_string().contains("panicked"), "{e}");
    let e = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    assert!(
        matches!(e, Error::TokenRefreshBackoff { failures: 1, .. }),
        "{e:?}"
    );
    gettoken.assert_calls_async(0).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    gettoken.assert_calls_async(1).await;
    api.assert_calls_async(2).await;
}

/// The runtime running a refresh is dropped while gettoken is out (a test harness, a
/// per-request runtime): a call on another runtime backs off, then asks again.
#[test]
fn a_refresh_whose_runtime_is_dropped_is_a_failed_refresh() {
    let server = MockServer::start();
    let mut hanging = server.mock(|when, then| {
        when.path("/cgi-bin/gettoken");
        then.status(200).delay(Duration::from_secs(30)).body("{}");
    });
    let client = builder(server.base_url())
        .token_failure_backoff(Duration::from_millis(100), Duration::from_secs(1))
        .build()
        .unwrap();
    let first = tokio::runtime::Runtime::new().unwrap();
    {
        let client = client.clone();
        first.spawn(async move { client.get_json("/cgi-bin/user/get", &[]).await });
    }
    let waited = Instant::now();
    while hanging.calls() == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "gettoken never sent"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(first);
    hanging.delete();
    let gettoken = server.mock(|when, then| {
        when.path("/cgi-bin/gettoken");
        then.status(200).json_body(serde_json::json!({
            "errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200
        }));
    });
    let api = server.mock(|when, then| {
        when.path("/cgi-bin/user/get")
            .query_param("access_token", TOKEN);
        then.status(200).body(OK);
    });
    let second = tokio::runtime::Runtime::new().unwrap();
    second.block_on(async {
        let e = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
        assert!(
            matches!(e, Error::TokenRefreshBackoff { failures: 1, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("cancelled"), "{e}");
        tokio::time::sleep(Duration::from_millis(150)).await;
        client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    });
    gettoken.assert_calls(1);
    api.assert_calls(1);
}
