//! Request fields that default from the client (`agentid` from `ClientBuilder::agent_id`),
//! and the constructors and conversions that build messages without nesting by hand.

mod runtime_common;

use httpmock::MockServer;
use runtime_common::{builder, mock_gettoken};
use serde_json::json;
use wecom_api::message::{AppMessage, CardAction, CardClickType, CardMainTitle, TextNoticeCard};

async fn send_mock(server: &MockServer, body: serde_json::Value) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/message/send")
                .json_body(body);
            then.json_body(json!({"errcode": 0, "errmsg": "ok", "msgid": "m1"}));
        })
        .await
}

#[tokio::test]
async fn message_send_takes_the_agent_id_of_the_client_when_the_call_has_none() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let sent = send_mock(
        &server,
        json!({"touser": "@all", "msgtype": "text", "text": {"content": "hi"}, "agentid": 1000002}),
    )
    .await;
    let client = builder(server.base_url())
        .agent_id(1000002)
        .build()
        .expect("client");
    let response = client
        .message()
        .send(AppMessage::text("hi"))
        .touser("@all")
        .await
        .expect("sent");
    assert_eq!(response.msgid.as_deref(), Some("m1"));
    sent.assert_async().await;
}

#[tokio::test]
async fn an_agent_id_set_on_the_call_wins_over_the_client() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let sent = send_mock(
        &server,
        json!({"touser": "a", "msgtype": "text", "text": {"content": "hi"}, "agentid": 7}),
    )
    .await;
    let client = builder(server.base_url())
        .agent_id(1000002)
        .build()
        .expect("client");
    client
        .message()
        .send(AppMessage::text("hi"))
        .touser("a")
        .agentid(7)
        .await
        .expect("sent");
    sent.assert_async().await;
}

#[tokio::test]
async fn a_call_that_needs_an_agent_id_is_refused_before_sending_when_there_is_none() {
    let server = MockServer::start_async().await;
    let token = mock_gettoken(&server, "token", 7200).await;
    let menu = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/menu/get");
            then.json_body(json!({"errcode": 0, "errmsg": "ok", "button": []}));
        })
        .await;
    let client = builder(server.base_url()).build().expect("client");
    let error = client.menu().get().await.expect_err("no agent id anywhere");
    let text = error.to_string();
    assert!(text.contains("agentid"), "{text}");
    assert!(text.contains("ClientBuilder::agent_id"), "{text}");
    assert_eq!(menu.calls_async().await, 0, "nothing was sent");
    assert_eq!(token.calls_async().await, 0, "not even gettoken");
}

#[tokio::test]
async fn a_query_agent_id_defaults_from_the_client_too() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let menu = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/menu/get")
                .query_param("agentid", "1000002");
            then.json_body(json!({"errcode": 0, "errmsg": "ok", "button": []}));
        })
        .await;
    let client = builder(server.base_url())
        .agent_id(1000002)
        .build()
        .expect("client");
    client.menu().get().await.expect("menu");
    menu.assert_async().await;
}

#[test]
fn a_notice_card_converts_into_an_app_message_and_encodes_as_documented() {
    let mut card = TextNoticeCard::new(CardAction {
        kind: CardClickType::Url,
        url: Some("https://work.weixin.qq.com".into()),
        appid: None,
        pagepath: None,
    });
    card.main_title = Some(CardMainTitle {
        title: Some("欢迎".into()),
        desc: None,
    });
    let message = AppMessage::from(card);
    assert_eq!(
        serde_json::to_value(&message).expect("encodes"),
        json!({
            "msgtype": "template_card",
            "template_card": {
                "card_type": "text_notice",
                "main_title": {"title": "欢迎"},
                "card_action": {"type": 1, "url": "https://work.weixin.qq.com"}
            }
        })
    );
}
