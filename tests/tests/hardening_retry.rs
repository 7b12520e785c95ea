//! Issue 9, items 3, 5, 7 and 8: the call deadline, raw calls' retry safety, rate limits
//! (HTTP 429 Retry-After, 45009/45033), the attempt counter, and what Debug shows.

mod runtime_common;

use std::time::{Duration, Instant};

use httpmock::MockServer;
use runtime_common::*;
use wecom_api::{Error, RetryPolicy, RetrySafety};

const OK: &str = r#"{"errcode":0,"errmsg":"ok"}"#;

async fn answer<'a>(
    server: &'a MockServer,
    path: &str,
    status: u16,
    body: &str,
) -> httpmock::Mock<'a> {
    let body = body.to_string();
    let path = path.to_string();
    server
        .mock_async(|when, then| {
            when.path(path);
            then.status(status).body(body);
        })
        .await
}

/// A 503 after the request may have reached WeCom: resent for reads only.
#[tokio::test]
async fn state_changing_gets_are_not_resent() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let client = client(&server);
    let retries = 1 + fast_retry().max_retries as usize;
    for (path, sent) in [
        ("/cgi-bin/user/get", retries),
        ("/cgi-bin/user/delete", 1),
        ("/cgi-bin/department/delete", 1),
        ("/cgi-bin/tag/delete", 1),
        ("/cgi-bin/menu/delete", 1),
        ("/cgi-bin/user/authsucc", 1),
        ("/cgi-bin/auth/getuserinfo", 1),
    ] {
        let m = answer(&server, path, 503, "busy").await;
        let e = client.get_json(path, &[]).await.unwrap_err();
        assert_eq!(e.status(), Some(503));
        assert_eq!(m.calls_async().await, sent, "{path}");
    }
    // Said explicitly, either way.
    let m = answer(&server, "/cgi-bin/custom/read", 503, "busy").await;
    client
        .get_json_with("/cgi-bin/custom/read", &[], RetrySafety::Unsafe)
        .await
        .unwrap_err();
    m.assert_calls_async(1).await;
    let m = answer(&server, "/cgi-bin/custom/search", 503, "busy").await;
    client
        .post_json_with(
            "/cgi-bin/custom/search",
            &[],
            &serde_json::json!({}),
            RetrySafety::Safe,
        )
        .await
        .unwrap_err();
    m.assert_calls_async(retries).await;
}

/// The raw default agrees with the spec: every GET it marks `retry_safe: false`.
#[test]
fn raw_default_covers_every_unsafe_get_of_the_spec() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".yaml") || name.starts_with("callbacks") || name.starts_with("errcodes")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Endpoints are `- id:` items with `method:`, `path:` and `retry_safe:` lines.
        for item in text.split("\n  - id: ").skip(1) {
            let field = |key: &str| {
                item.lines()
                    .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
            };
            let (Some(method), Some(path)) = (field("method:"), field("path:")) else {
                continue;
            };
            // Unsaid, a GET is safe (the spec's default).
            let safe = field("retry_safe:").is_none_or(|v| v == "true");
            if method == "GET" {
                let expected = if safe {
                    RetrySafety::Safe
                } else {
                    RetrySafety::Unsafe
                };
                assert_eq!(RetrySafety::for_get(&path), expected, "{name}: {path}");
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 30,
        "only {checked} GETs found: has the spec layout changed?"
    );
}

/// Busy for ever, a long backoff, a short deadline: the call ends within it.
#[tokio::test]
async fn the_deadline_bounds_retries_and_names_itself() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/hangs");
            then.status(200).delay(Duration::from_secs(5)).body(OK);
        })
        .await;
    let busy = answer(
        &server,
        "/cgi-bin/busy",
        200,
        r#"{"errcode":-1,"errmsg":"busy"}"#,
    )
    .await;
    let client = builder(server.base_url())
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(u32::MAX) // and no overflow of the attempt counter
                .with_base_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_millis(100)),
        )
        .deadline(Duration::from_millis(600))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client.get_json("/cgi-bin/busy", &[]).await.unwrap_err();
    // The last real error, once no retry fits in the deadline; or the deadline itself.
    assert!(
        e.errcode() == Some(-1) || matches!(e, Error::Deadline { .. }),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(busy.calls_async().await >= 1);

    // Per call: a handler's shorter budget.
    let quick = client.with_deadline(Duration::from_millis(200));
    let started = Instant::now();
    let e = quick.get_json("/cgi-bin/hangs", &[]).await.unwrap_err();
    match &e {
        Error::Deadline {
            budget,
            during,
            endpoint,
        } => {
            assert_eq!(*budget, Duration::from_millis(200));
            assert!(during.contains("response"), "{during}");
            assert_eq!(endpoint, "/cgi-bin/hangs");
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(client.deadline(), Duration::from_millis(600));
}

/// HTTP 429 with Retry-After: typed, and the retry waits as told.
#[tokio::test]
async fn http_429_retry_after_is_honoured() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let limited = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.status(429)
                .header("retry-after", "1")
                .body("slow down access_token=LEAK");
        })
        .await;
    let client = client(&server);
    let call = {
        let c = client.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            (
                c.get_json("/cgi-bin/user/get", &[]).await,
                started.elapsed(),
            )
        })
    };
    while limited.calls_async().await == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    limited.delete_async().await;
    answer(&server, "/cgi-bin/user/get", 200, OK).await;
    let (out, took) = call.await.unwrap();
    out.unwrap();
    // Our own backoff is 1-5 ms: only Retry-After explains a second's wait.
    assert!(took >= Duration::from_secs(1), "{took:?}");

    // Without a retry (a write), the error carries the wait.
    let limited = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/message/send");
            then.status(429)
                .header("retry-after", "7")
                .body("slow down");
        })
        .await;
    let e = client
        .post_json("/cgi-bin/message/send", &[], &serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(e.is_rate_limited());
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.to_string().contains("retry after 7 s"), "{e}");
    limited.assert_calls_async(1).await;
}

/// 45009 / 45033: typed with a suggested wait; retried only when asked, for reads, and
/// only when the wait fits in the deadline.
#[tokio::test]
async fn rate_limit_errcodes_are_typed_and_retried_on_request() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let freq = answer(
        &server,
        "/cgi-bin/freq",
        200,
        r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
    )
    .await;
    let conc = answer(
        &server,
        "/cgi-bin/conc",
        200,
        r#"{"errcode":45033,"errmsg":"api concurrent out of limit"}"#,
    )
    .await;

    let plain = client(&server);
    let e = plain.get_json("/cgi-bin/freq", &[]).await.unwrap_err();
    match &e {
        Error::RateLimited {
            errcode: Some(45009),
            retry_after: Some(wait),
            ..
        } => {
            assert_eq!(*wait, Duration::from_secs(60));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.errcode(), Some(45009));
    assert_eq!(e.errmsg(), Some("api freq out of limit"));
    freq.assert_calls_async(1).await;
    plain.get_json("/cgi-bin/conc", &[]).await.unwrap_err();
    conc.assert_calls_async(1).await;

    let patient = builder(server.base_url())
        .retry_policy(
            fast_retry()
                .with_max_retries(1)
                .with_rate_limit_retries(true),
        )
        .deadline(Duration::from_secs(10))
        .build()
        .unwrap();
    // 45033: retried after its 1 s.
    let started = Instant::now();
    let e = patient.get_json("/cgi-bin/conc", &[]).await.unwrap_err();
    assert_eq!(e.errcode(), Some(45033));
    assert!(started.elapsed() >= Duration::from_secs(1));
    conc.assert_calls_async(3).await;
    // 45009: its minute does not fit in the 10 s deadline: returned at once.
    let started = Instant::now();
    patient.get_json("/cgi-bin/freq", &[]).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    freq.assert_calls_async(2).await;
    // A write is never retried for it.
    let m = answer(
        &server,
        "/cgi-bin/conc_post",
        200,
        r#"{"errcode":45033,"errmsg":"x"}"#,
    )
    .await;
    patient
        .post_json("/cgi-bin/conc_post", &[], &serde_json::json!({}))
        .await
        .unwrap_err();
    m.assert_calls_async(1).await;
}

#[test]
fn debug_shows_no_url_password_or_store_secret() {
    let client = wecom_api::Client::builder()
        .corp_id(CORP_ID)
        .secret(SECRET)
        .base_url("http://proxyuser:pr0xy-pa55@127.0.0.1:9/wecom")
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    assert!(
        !shown.contains("pr0xy-pa55") && !shown.contains("proxyuser"),
        "{shown}"
    );
    assert!(shown.contains("127.0.0.1:9"), "{shown}");

    let e =
        Error::token_store("cannot reach redis://default:r3dis-pa55@10.0.0.1:6379: token=TOK-123");
    let shown = format!("{e} {e:?}");
    for secret in ["r3dis-pa55", "TOK-123"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("10.0.0.1:6379"), "{shown}");
}
