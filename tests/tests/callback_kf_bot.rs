//! The 微信客服 bot of `wecom-api/examples/kf_bot.rs`, tested as a user would test theirs:
//! sealed callbacks into its endpoint, a stand-in WeCom (httpmock) for the API it calls.

#[path = "../../wecom-api/examples/kf_bot.rs"]
#[allow(dead_code)]
mod kf_bot;

use std::sync::Arc;

use httpmock::MockServer;
use serde_json::json;
use wecom_api::callback::CallbackCrypto;

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "ww0123456789abcdef";

fn kf_event(token: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><CreateTime>1700000000</CreateTime>\
         <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>\
         <Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[wkBOT]]></OpenKfId></xml>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_pulls_from_its_cursor_answers_and_keeps_the_next() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let wecom = MockServer::start_async().await;
    wecom
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.json_body(json!({"errcode": 0, "access_token": "KF-TOKEN", "expires_in": 7200}));
        })
        .await;
    let first_pull = wecom
        .mock_async(|when, then| {
            when.path("/cgi-bin/kf/sync_msg")
                .json_body(json!({"open_kfid": "wkBOT", "token": "EV1", "limit": 1000}));
            then.json_body(json!({
                "errcode": 0, "errmsg": "ok", "next_cursor": "CUR1", "has_more": 0,
                "msg_list": [{"msgid": "m1", "open_kfid": "wkBOT", "external_userid": "wmCUSTOMER",
                              "send_time": 1, "origin": 3, "msgtype": "text", "text": {"content": "你好"}}]
            }));
        })
        .await;
    let second_pull = wecom
        .mock_async(|when, then| {
            when.path("/cgi-bin/kf/sync_msg").json_body(
                json!({"open_kfid": "wkBOT", "token": "EV2", "limit": 1000, "cursor": "CUR1"}),
            );
            then.json_body(json!({"errcode": 0, "errmsg": "ok", "next_cursor": "CUR2", "has_more": 0, "msg_list": []}));
        })
        .await;
    let answer = wecom
        .mock_async(|when, then| {
            when.path("/cgi-bin/kf/send_msg").json_body_includes(
                r#"{"touser":"wmCUSTOMER","open_kfid":"wkBOT","msgtype":"text","text":{"content":"收到：你好"}}"#,
            );
            then.json_body(json!({"errcode": 0, "errmsg": "ok", "msgid": "sent1"}));
        })
        .await;

    let kf = wecom_api::Client::builder()
        .corp_id(CORP)
        .secret("kf-secret")
        .base_url(wecom.base_url())
        .build()
        .unwrap();
    let bot = kf_bot::Bot {
        kf,
        cursors: Arc::default(),
    };
    let crypto = CallbackCrypto::new("kf-token", KEY, CORP).unwrap();
    let endpoint = kf_bot::endpoint(crypto.clone(), bot.clone());

    let sealed = crypto.seal_request(&kf_event("EV1")).unwrap();
    let reply = endpoint
        .receive(&sealed.query, sealed.body.as_bytes())
        .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "success"));
    first_pull.assert_async().await;
    answer.assert_async().await;
    assert_eq!(
        bot.cursors.lock().unwrap().get("wkBOT").map(String::as_str),
        Some("CUR1")
    );

    // The next wake-up resumes from the kept cursor.
    let sealed = crypto.seal_request(&kf_event("EV2")).unwrap();
    assert_eq!(
        endpoint
            .receive(&sealed.query, sealed.body.as_bytes())
            .await
            .status,
        200
    );
    second_pull.assert_async().await;
    assert_eq!(
        bot.cursors.lock().unwrap().get("wkBOT").map(String::as_str),
        Some("CUR2")
    );
}
