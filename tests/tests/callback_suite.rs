//! A third-party suite's lifecycle end to end, through the callback endpoint of
//! `wecom-api/examples/suite_app.rs`: the ticket, `create_auth` (permanent code kept, with the
//! app's agent id), a data callback from the new corp handled with its client,
//! `cancel_auth`, then a clear refusal. Suite notifications are answered `success`.

#[path = "../../wecom-api/examples/suite_app.rs"]
#[allow(dead_code)]
mod suite_app;

use std::sync::Arc;

use httpmock::MockServer;
use serde_json::json;
use wecom_api::callback::{CallbackCrypto, MemoryPermanentCodes, PermanentCodeStore};
use wecom_api::{Client, RetryPolicy};

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const SUITE_ID: &str = "wwsuite0001";
const CORP: &str = "wwcorp0001";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn notification(info_type: &str, extra: &str) -> String {
    format!(
        "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[{info_type}]]></InfoType>\
         <TimeStamp>{}</TimeStamp>{extra}</xml>",
        now()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_create_auth_calls_cancel_auth_and_refusal() {
    let server = MockServer::start_async().await;
    let suite_token = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_suite_token")
                .json_body_includes(r#"{"suite_ticket":"TICKET-1"}"#);
            then.status(200)
                .json_body(json!({"suite_access_token": "SUITE-TOKEN", "expires_in": 7200}));
        })
        .await;
    let permanent = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_permanent_code")
                .query_param("suite_access_token", "SUITE-TOKEN")
                .json_body(json!({"auth_code": "AUTH-CODE"}));
            then.status(200).json_body(json!({
                "errcode": 0, "errmsg": "ok",
                "access_token": "ignored", "expires_in": 7200,
                "permanent_code": "PERMANENT-1",
                "auth_corp_info": {"corpid": CORP, "corp_name": "示例企业"},
                "auth_info": {"agent": [{"agentid": 1000005, "name": "应用"}]}
            }));
        })
        .await;
    let corp_token = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/service/get_corp_token")
                .json_body(json!({"auth_corpid": CORP, "permanent_code": "PERMANENT-1"}));
            then.status(200)
                .json_body(json!({"access_token": "CORP-TOKEN", "expires_in": 7200}));
        })
        .await;
    let send = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/message/send")
                .query_param("access_token", "CORP-TOKEN")
                .json_body_includes(r#"{"agentid":1000005,"touser":"newcomer"}"#)
                .json_body_includes(r#"{"text":{"content":"欢迎加入"}}"#);
            then.status(200)
                .json_body(json!({"errcode": 0, "errmsg": "ok", "msgid": "m1"}));
        })
        .await;

    let suite = Client::builder()
        .suite(SUITE_ID, "suite-secret")
        .base_url(server.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let codes = Arc::new(MemoryPermanentCodes::new());
    let endpoint = suite_app::endpoint(suite, codes.clone(), "suite-token", KEY).unwrap();
    let lifecycle = Arc::clone(&endpoint_state(&endpoint));
    let push = |crypto: CallbackCrypto, plaintext: String| {
        let endpoint = endpoint.clone();
        let sealed = crypto.seal_request(&plaintext).unwrap();
        async move {
            endpoint
                .receive(&sealed.query, sealed.body.as_bytes())
                .await
        }
    };
    let suite_crypto = CallbackCrypto::new("suite-token", KEY, SUITE_ID).unwrap();
    let corp_crypto = CallbackCrypto::new("suite-token", KEY, CORP).unwrap();

    let ticket = push(
        suite_crypto.clone(),
        notification(
            "suite_ticket",
            "<SuiteTicket><![CDATA[TICKET-1]]></SuiteTicket>",
        ),
    )
    .await;
    assert_eq!((ticket.status, ticket.body.as_str()), (200, "success"));

    let created = push(
        suite_crypto.clone(),
        notification(
            "create_auth",
            "<AuthCode><![CDATA[AUTH-CODE]]></AuthCode><State><![CDATA[s]]></State>",
        ),
    )
    .await;
    assert_eq!((created.status, created.body.as_str()), (200, "success"));
    suite_token.assert_async().await;
    permanent.assert_async().await;
    let kept = codes.get(SUITE_ID, CORP).await.unwrap().expect("kept");
    assert_eq!(kept.agent_id, Some(1000005));
    assert_eq!(kept.permanent_code.expose(), "PERMANENT-1");
    assert!(
        !format!("{kept:?}").contains("PERMANENT-1"),
        "a secret in Debug"
    );

    // A data callback from the new corp: the handler calls WeCom as that corp, with its
    // token from its permanent code and its app's agent id filled.
    let joined = push(
        corp_crypto.clone(),
        format!(
            "<xml><ToUserName>{CORP}</ToUserName><FromUserName>sys</FromUserName><CreateTime>{}</CreateTime>\
             <MsgType>event</MsgType><Event>change_contact</Event><ChangeType>create_user</ChangeType>\
             <UserID>newcomer</UserID></xml>",
            now()
        ),
    )
    .await;
    assert_eq!((joined.status, joined.body.as_str()), (200, "success"));
    corp_token.assert_async().await;
    send.assert_async().await;
    assert_eq!(
        lifecycle.corp(CORP).await.unwrap().agent_id(),
        Some(1000005)
    );

    let cancelled = push(
        suite_crypto.clone(),
        notification("cancel_auth", &format!("<AuthCorpId>{CORP}</AuthCorpId>")),
    )
    .await;
    assert_eq!(
        (cancelled.status, cancelled.body.as_str()),
        (200, "success")
    );
    let refused = lifecycle.corp(CORP).await.unwrap_err().to_string();
    assert!(refused.contains("has not authorised"), "{refused}");
    assert!(refused.contains(CORP), "{refused}");

    // A failed exchange is answered 500 (WeCom retries) and keeps nothing.
    let bad = push(
        suite_crypto.clone(),
        notification("create_auth", "<AuthCode>WRONG</AuthCode>"),
    )
    .await;
    assert_eq!(bad.status, 500);
    assert!(codes.get(SUITE_ID, CORP).await.unwrap().is_none());
}

fn endpoint_state(
    endpoint: &wecom_api::callback::Endpoint<suite_app::App>,
) -> Arc<wecom_api::callback::SuiteLifecycle> {
    Arc::clone(&endpoint.state().lifecycle)
}
