//! Every credential kind end to end against a mock WeCom on loopback: suites and their
//! pushed tickets, corps that authorised a suite, service providers,
//! downstream corps, hardware models and devices; refusals before sending; no secret in
//! any output.

mod runtime_common;

use std::sync::{Arc, Mutex};

use httpmock::{HttpMockRequest, Mock, MockServer};
use runtime_common::{assert_no_secrets, capture_tracing, fast_retry};
use serde_json::{Value, json};
use wecom_api::callback::SuiteTicketEvent;
use wecom_api::token::{TokenKey, TokenKind};
use wecom_api::{Client, ClientBuilder, CorpGroupKind, Error, MemoryTokenStore, Secret};

const SUITE_ID: &str = "wwsuite0000000001";
const SUITE_SECRET: &str = "SeCrEt-suite-a81f";
const TICKET: &str = "TiCkEt-suite-push-6c2d";
const SUITE_TOKEN: &str = "ToKeN-suite-9b1e";
const PERMANENT_CODE: &str = "PeRmAnEnT-code-55e0";
const CORP_TOKEN: &str = "ToKeN-authorised-corp-3a7c";
const PROVIDER_ID: &str = "wwprovider0000001";
const PROVIDER_SECRET: &str = "SeCrEt-provider-04d9";
const PROVIDER_TOKEN: &str = "ToKeN-provider-e2b4";

fn base(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.base_url())
        .retry_policy(fast_retry())
}

fn suite(server: &MockServer, store: &MemoryTokenStore) -> Client {
    base(server)
        .suite(SUITE_ID, SUITE_SECRET)
        .token_store(store.clone())
        .build()
        .expect("suite client")
}

/// `service/get_suite_token`, answering `token` and recording each request body.
async fn mock_suite_token<'a>(
    server: &'a MockServer,
    token: &str,
    bodies: &Arc<Mutex<Vec<Value>>>,
) -> Mock<'a> {
    let seen = Arc::clone(bodies);
    let answer = json!({ "suite_access_token": token, "expires_in": 7200 });
    server
        .mock_async(move |when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_suite_token")
                .is_true(move |req: &HttpMockRequest| {
                    let body = serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null);
                    seen.lock().unwrap().push(body);
                    true
                });
            then.status(200).json_body(answer);
        })
        .await
}

async fn mock_pre_auth_code<'a>(server: &'a MockServer, token: &str, errcode: i64) -> Mock<'a> {
    let answer = if errcode == 0 {
        json!({ "errcode": 0, "errmsg": "ok", "pre_auth_code": "PRE", "expires_in": 1200 })
    } else {
        json!({ "errcode": errcode, "errmsg": "suite_access_token expired" })
    };
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/service/get_pre_auth_code")
                .query_param("suite_access_token", token);
            then.status(200).json_body(answer);
        })
        .await
}

#[tokio::test]
async fn a_suite_without_a_ticket_sends_nothing_then_uses_the_pushed_one() {
    let server = MockServer::start_async().await;
    let bodies = Arc::default();
    let issuer = mock_suite_token(&server, SUITE_TOKEN, &bodies).await;
    let api = mock_pre_auth_code(&server, SUITE_TOKEN, 0).await;
    let store = MemoryTokenStore::new();
    let suite = suite(&server, &store);

    for _ in 0..3 {
        let error = suite.suite().get_pre_auth_code().await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::MissingTicket {
                    kind: "suite_ticket",
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains(SUITE_ID), "{error}");
    }
    assert_eq!(issuer.calls_async().await, 0, "no ticket, no request");

    // The ticket arrives in the callback; the very next call uses it (no backoff).
    let event = SuiteTicketEvent {
        suite_id: Some(SUITE_ID.into()),
        info_type: Some("suite_ticket".into()),
        time_stamp: Some(now()),
        suite_ticket: Some(Secret::new(TICKET)),
        ..Default::default()
    };
    assert!(suite.save_suite_ticket(&event).await.unwrap());
    let answer = suite.suite().get_pre_auth_code().await.unwrap();
    assert_eq!(answer.pre_auth_code.expose(), "PRE");
    suite.suite().get_pre_auth_code().await.unwrap();
    assert_eq!(issuer.calls_async().await, 1);
    assert_eq!(api.calls_async().await, 2);
    let sent = bodies.lock().unwrap()[0].clone();
    assert_eq!(
        sent,
        json!({ "suite_id": SUITE_ID, "suite_secret": SUITE_SECRET, "suite_ticket": TICKET })
    );

    // A notification for another suite is refused, not mixed up with this one's.
    let other = SuiteTicketEvent {
        suite_id: Some("wwothersuite".into()),
        ..event
    };
    let error = suite.save_suite_ticket(&other).await.unwrap_err();
    assert!(error.to_string().contains("wwothersuite"), "{error}");
}

#[tokio::test]
async fn a_ticket_saved_by_one_client_is_used_by_another_sharing_the_store() {
    let server = MockServer::start_async().await;
    let bodies = Arc::default();
    let issuer = mock_suite_token(&server, SUITE_TOKEN, &bodies).await;
    mock_pre_auth_code(&server, SUITE_TOKEN, 0).await;
    let store = MemoryTokenStore::new();
    let receiver = suite(&server, &store);
    let caller = suite(&server, &store);
    assert!(receiver.save_ticket(TICKET, Some(now())).await.unwrap());
    caller.suite().get_pre_auth_code().await.unwrap();
    assert_eq!(issuer.calls_async().await, 1);
    assert_eq!(bodies.lock().unwrap()[0]["suite_ticket"], TICKET);
    // Stored under the suite id, not under the ticket: a new push does not miss the cache.
    assert!(receiver.save_ticket("TiCkEt-next", None).await.unwrap());
    caller.suite().get_pre_auth_code().await.unwrap();
    assert_eq!(
        issuer.calls_async().await,
        1,
        "the suite token is still valid"
    );
}

#[tokio::test]
async fn a_suite_token_rejected_with_42009_is_refreshed_once() {
    let server = MockServer::start_async().await;
    let bodies = Arc::default();
    let issuer = mock_suite_token(&server, SUITE_TOKEN, &bodies).await;
    let stale = mock_pre_auth_code(&server, "ToKeN-suite-stale", 42009).await;
    let fresh = mock_pre_auth_code(&server, SUITE_TOKEN, 0).await;
    let store = MemoryTokenStore::new();
    // Another process stored a token WeCom has since expired.
    let key = TokenKey::new(TokenKind::SuiteAccessToken, SUITE_ID, SUITE_SECRET);
    wecom_api::TokenStore::set(
        &store,
        &key,
        wecom_api::token::Token::new("ToKeN-suite-stale", u64::MAX),
    )
    .await
    .unwrap();
    let suite = suite(&server, &store);
    suite.save_ticket(TICKET, None).await.unwrap();
    suite.suite().get_pre_auth_code().await.unwrap();
    assert_eq!(stale.calls_async().await, 1);
    assert_eq!(issuer.calls_async().await, 1, "refreshed once");
    assert_eq!(fresh.calls_async().await, 1);
}

#[tokio::test]
async fn a_suite_token_rejected_again_after_its_refresh_is_an_error_not_a_loop() {
    let server = MockServer::start_async().await;
    let bodies = Arc::default();
    let issuer = mock_suite_token(&server, SUITE_TOKEN, &bodies).await;
    let rejected = mock_pre_auth_code(&server, SUITE_TOKEN, 40082).await;
    let suite = suite(&server, &MemoryTokenStore::new());
    suite.save_ticket(TICKET, None).await.unwrap();
    let error = suite.suite().get_pre_auth_code().await.unwrap_err();
    assert_eq!(error.errcode(), Some(40082));
    assert_eq!(
        issuer.calls_async().await,
        2,
        "the first fetch and one refresh"
    );
    assert_eq!(rejected.calls_async().await, 2);
}

/// `service/get_corp_token` answering `CORP_TOKEN` and recording which corps asked.
async fn mock_corp_token<'a>(server: &'a MockServer, corps: &Arc<Mutex<Vec<String>>>) -> Mock<'a> {
    let seen = Arc::clone(corps);
    server
        .mock_async(move |when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_corp_token")
                .query_param("suite_access_token", SUITE_TOKEN)
                .is_true(move |req: &HttpMockRequest| {
                    let body: Value =
                        serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null);
                    let ok = body["permanent_code"] == format!("{PERMANENT_CODE}-{}", body["auth_corpid"].as_str().unwrap_or(""));
                    if ok {
                        seen.lock().unwrap().push(body["auth_corpid"].as_str().unwrap_or("").to_owned());
                    }
                    ok
                });
            then.status(200)
                .json_body(json!({ "errcode": 0, "errmsg": "ok", "access_token": CORP_TOKEN, "expires_in": 7200 }));
        })
        .await
}

async fn mock_user_get<'a>(server: &'a MockServer, token: &str) -> Mock<'a> {
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/user/get")
                .query_param("access_token", token)
                .query_param("userid", "zhangsan");
            then.status(200).json_body(
                json!({ "errcode": 0, "errmsg": "ok", "userid": "zhangsan", "name": "张三" }),
            );
        })
        .await
}

#[tokio::test]
async fn an_authorised_corps_token_rejected_is_refreshed_through_the_suite() {
    let server = MockServer::start_async().await;
    let bodies = Arc::default();
    let suite_issuer = mock_suite_token(&server, SUITE_TOKEN, &bodies).await;
    // First WeCom issues a token that it later expires.
    let old_issuer = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/service/get_corp_token");
            then.status(200)
                .json_body(json!({ "errcode": 0, "errmsg": "ok", "access_token": "ToKeN-old", "expires_in": 7200 }));
        })
        .await;
    let old_ok = mock_user_get(&server, "ToKeN-old").await;
    let suite = suite(&server, &MemoryTokenStore::new());
    suite.save_ticket(TICKET, None).await.unwrap();
    let corp = suite
        .authorized_corp("wwauth1", format!("{PERMANENT_CODE}-wwauth1"))
        .unwrap();
    corp.user().get("zhangsan").await.unwrap();
    old_issuer.delete_async().await;
    old_ok.delete_async().await;
    let expired = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get")
                .query_param("access_token", "ToKeN-old");
            then.status(200)
                .json_body(json!({ "errcode": 42001, "errmsg": "access_token expired" }));
        })
        .await;
    let corps_asking = Arc::default();
    let corp_issuer = mock_corp_token(&server, &corps_asking).await;
    let api = mock_user_get(&server, CORP_TOKEN).await;

    corp.user().get("zhangsan").await.unwrap();
    assert_eq!(expired.calls_async().await, 1);
    assert_eq!(
        corp_issuer.calls_async().await,
        1,
        "refreshed once, through the suite"
    );
    assert_eq!(api.calls_async().await, 1);
    assert_eq!(
        suite_issuer.calls_async().await,
        1,
        "the suite token was still good"
    );
}

#[tokio::test]
async fn a_provider_token_is_sent_as_each_endpoint_names_it() {
    let server = MockServer::start_async().await;
    let issuer = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_provider_token")
                .json_body(json!({ "corpid": PROVIDER_ID, "provider_secret": PROVIDER_SECRET }));
            then.status(200)
                .json_body(json!({ "provider_access_token": PROVIDER_TOKEN, "expires_in": 7200 }));
        })
        .await;
    let login = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_login_info")
                .query_param("access_token", PROVIDER_TOKEN)
                .json_body(json!({ "auth_code": "AUTH" }));
            then.status(200)
                .json_body(json!({ "errcode": 0, "errmsg": "ok", "usertype": 1 }));
        })
        .await;
    let register = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/service/get_register_info")
                .query_param("provider_access_token", PROVIDER_TOKEN);
            then.status(200)
                .json_body(json!({ "errcode": 0, "errmsg": "ok" }));
        })
        .await;
    let provider = base(&server)
        .provider(PROVIDER_ID, PROVIDER_SECRET)
        .build()
        .unwrap();
    let info = provider.provider().get_login_info("AUTH").await.unwrap();
    assert_eq!(
        info.usertype,
        Some(wecom_api::provider::LoginUserType::Creator)
    );
    // A path not in the spec goes out with the client's own token.
    provider
        .get_json("/cgi-bin/service/get_register_info", &[])
        .await
        .unwrap();
    assert_eq!(issuer.calls_async().await, 1);
    assert_eq!(login.calls_async().await, 1);
    assert_eq!(register.calls_async().await, 1);
}

#[tokio::test]
async fn a_downstream_corps_token_comes_from_the_upstream_corps_token() {
    let server = MockServer::start_async().await;
    runtime_common::mock_gettoken(&server, runtime_common::TOKEN, 7200).await;
    let issuer = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/corpgroup/corp/gettoken")
                .query_param("access_token", runtime_common::TOKEN)
                .json_body(json!({ "corpid": "wwdown", "business_type": 1, "agentid": 1000002 }));
            then.status(200)
                .json_body(json!({ "errcode": 0, "errmsg": "ok", "access_token": "ToKeN-down", "expires_in": 7200 }));
        })
        .await;
    let api = mock_user_get(&server, "ToKeN-down").await;
    let upstream = runtime_common::client(&server);
    let down = upstream
        .downstream_corp("wwdown", 1000002, CorpGroupKind::Chain)
        .unwrap();
    down.user().get("zhangsan").await.unwrap();
    down.user().get("zhangsan").await.unwrap();
    assert_eq!(issuer.calls_async().await, 1);
    assert_eq!(api.calls_async().await, 2);
}

#[tokio::test]
async fn a_device_token_comes_from_its_models_token_and_the_pushed_model_ticket() {
    let server = MockServer::start_async().await;
    let model_issuer = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/openhw/get_model_token")
                .json_body(json!({ "model_id": "mdl1", "model_secret": "SeCrEt-model", "model_ticket": "TiCkEt-model" }));
            then.status(200)
                .json_body(json!({ "model_access_token": "ToKeN-model", "expires_in": 7200 }));
        })
        .await;
    let device_issuer = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/openhw/get_device_token")
                .query_param("model_access_token", "ToKeN-model")
                .json_body(json!({ "device_sn": "SN1", "device_secret": "SeCrEt-device" }));
            then.status(200)
                .json_body(json!({ "device_access_token": "ToKeN-device", "expires_in": 7200 }));
        })
        .await;
    let report = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/openhw/device/report_access_data")
                .query_param("device_access_token", "ToKeN-device");
            then.status(200)
                .json_body(json!({ "errcode": 0, "errmsg": "ok" }));
        })
        .await;
    let model = base(&server)
        .hardware_model("mdl1", "SeCrEt-model")
        .build()
        .unwrap();
    let device = model.device("SN1", "SeCrEt-device").unwrap();
    let error = device
        .post_json("/cgi-bin/openhw/device/report_access_data", &[], &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::MissingTicket {
                kind: "model_ticket",
                ..
            }
        ),
        "{error}"
    );
    model.save_ticket("TiCkEt-model", None).await.unwrap();
    device
        .post_json("/cgi-bin/openhw/device/report_access_data", &[], &json!({}))
        .await
        .unwrap();
    assert_eq!(model_issuer.calls_async().await, 1);
    assert_eq!(device_issuer.calls_async().await, 1);
    assert_eq!(report.calls_async().await, 1);
}

#[tokio::test]
async fn a_call_needing_another_credential_is_refused_before_sending() {
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|_, then| {
            then.status(500);
        })
        .await;
    let corp = runtime_common::client(&server);
    let error = corp.suite().get_pre_auth_code().await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("suite.get_pre_auth_code needs a suite_access_token"),
        "{text}"
    );
    assert!(text.contains("Client::builder().suite("), "{text}");

    let suite = suite(&server, &MemoryTokenStore::new());
    let text = suite.user().get("zhangsan").await.unwrap_err().to_string();
    assert!(
        text.contains("user.get needs a corp's access_token"),
        "{text}"
    );
    assert!(text.contains(&format!("suite {SUITE_ID}")), "{text}");
    assert!(text.contains(".authorized_corp("), "{text}");

    let robot = base(&server).webhook_key("KeY-robot").build().unwrap();
    assert!(robot.user().get("zhangsan").await.is_err());
    let provider = base(&server)
        .provider(PROVIDER_ID, PROVIDER_SECRET)
        .build()
        .unwrap();
    assert!(provider.suite().get_pre_auth_code().await.is_err());
    assert_eq!(anything.calls_async().await, 0, "nothing was sent");

    let both = base(&server)
        .corp_id("ww1")
        .secret("s")
        .suite(SUITE_ID, SUITE_SECRET)
        .build()
        .unwrap_err();
    assert!(both.to_string().contains("one credential"), "{both}");
}

#[tokio::test]
async fn no_secret_of_any_credential_shows_in_debug_errors_or_logs() {
    let (logs, _guard) = capture_tracing();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/service/get_suite_token");
            then.status(200)
                .json_body(json!({ "errcode": 40085, "errmsg": "invalid suite_ticket" }));
        })
        .await;
    let store = MemoryTokenStore::new();
    let suite = suite(&server, &store);
    suite.save_ticket(TICKET, None).await.unwrap();
    let corp = suite.authorized_corp("wwauth1", PERMANENT_CODE).unwrap();
    let error = corp.user().get("zhangsan").await.unwrap_err();
    assert_eq!(error.errcode(), Some(40085));
    let provider = base(&server)
        .provider(PROVIDER_ID, PROVIDER_SECRET)
        .build()
        .unwrap();
    let model = base(&server)
        .hardware_model("mdl1", "SeCrEt-model")
        .build()
        .unwrap();
    let device = model.device("SN1", "SeCrEt-device").unwrap();
    let shown = format!(
        "{suite:?} {corp:?} {provider:?} {model:?} {device:?} {error} {error:?} {}",
        logs.contents()
    );
    assert_no_secrets("output", &shown);
    for secret in [
        SUITE_SECRET,
        TICKET,
        PERMANENT_CODE,
        PROVIDER_SECRET,
        "SeCrEt-model",
        "SeCrEt-device",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    let builder = format!("{:?}", Client::builder().suite(SUITE_ID, SUITE_SECRET));
    assert!(!builder.contains(SUITE_SECRET), "{builder}");
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}
