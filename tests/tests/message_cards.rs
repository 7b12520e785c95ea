//! Template cards are an inline union (`card_type` beside the card's fields) inside the
//! `msgtype` union of a message: documented bodies must decode into the typed variants, not
//! the `Unknown` fallback, and typed values must encode to the documented shape.

use serde_json::json;
use wecom_api::message::*;

fn button_card_body() -> serde_json::Value {
    json!({
        "touser": "UserID1|UserID2|UserID3",
        "msgtype": "template_card",
        "agentid": 1,
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": "欢迎使用企业微信"},
            "task_id": "task_id",
            "button_selection": {
                "question_key": "btn_question_key1",
                "option_list": [{"id": "btn_selection_id1", "text": "100分"}],
                "selected_id": "btn_selection_id1"
            },
            "button_list": [{"text": "按钮1", "style": 1, "key": "button_key_1"}]
        }
    })
}

#[test]
fn a_documented_card_decodes_into_its_typed_variant() {
    let request: MessageSendRequest =
        serde_json::from_value(button_card_body()).expect("the request decodes");
    let AppMessage::TemplateCard(TemplateCard {
        card: TemplateCardContent::ButtonInteraction(card),
    }) = &request.message
    else {
        panic!("not a typed button card: {:?}", request.message);
    };
    assert_eq!(card.task_id, "task_id");
    assert_eq!(card.button_list[0].key.as_deref(), Some("button_key_1"));
    assert_eq!(
        card.button_selection
            .as_ref()
            .map(|s| s.question_key.as_str()),
        Some("btn_question_key1")
    );
    assert_eq!(request.agentid, Some(1));
    assert_eq!(serde_json::to_value(&request).unwrap(), button_card_body());
}

#[test]
fn a_typed_card_encodes_with_card_type_beside_its_fields() {
    let card = VoteInteractionCard {
        main_title: wecom_api::common::CardRequiredMainTitle {
            title: "投票".into(),
            desc: None,
        },
        task_id: "t1".into(),
        checkbox: AppCardCheckbox {
            question_key: "q".into(),
            option_list: vec![AppCardCheckboxOption {
                id: "a".into(),
                text: "A".into(),
                is_checked: true,
            }],
            disable: None,
            mode: Some(CardCheckboxMode::Multiple),
        },
        submit_button: CardSubmitButton {
            text: "提交".into(),
            key: "submit".into(),
        },
        ..Default::default()
    };
    let message = AppMessage::from(TemplateCard { card: card.into() });
    assert_eq!(
        serde_json::to_value(&message).unwrap(),
        json!({
            "msgtype": "template_card",
            "template_card": {
                "card_type": "vote_interaction",
                "main_title": {"title": "投票"},
                "task_id": "t1",
                "checkbox": {
                    "question_key": "q",
                    "option_list": [{"id": "a", "text": "A", "is_checked": true}],
                    "mode": 1
                },
                "submit_button": {"text": "提交", "key": "submit"}
            }
        })
    );
}

#[test]
fn an_unknown_card_type_keeps_every_field() {
    let body = json!({"card_type": "future_card", "main_title": {"title": "t"}, "x": [1]});
    let card: TemplateCard = serde_json::from_value(body.clone()).expect("unknown cards decode");
    assert!(matches!(&card.card, TemplateCardContent::Unknown(fields) if fields.len() == 3));
    assert_eq!(serde_json::to_value(&card).unwrap(), body);
}

#[test]
fn a_bad_card_field_is_reported_with_its_card_type() {
    let mut body = button_card_body();
    body["template_card"]["button_list"] = json!("not a list");
    let error = serde_json::from_value::<MessageSendRequest>(body).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("template_card"), "{text}");
    assert!(text.contains("`button_interaction`"), "{text}");
}

/// The card parts whose official tables agree are one Rust type (`wecom_api::common`): parts
/// built for a group robot's card go into an app message's card, and back, as they are.
#[test]
fn card_parts_built_for_a_robot_card_serve_an_app_message_card_and_back() {
    let source = wecom_api::robot::CardSource {
        icon_url: Some("https://example.com/icon.png".into()),
        desc: Some("企业微信".into()),
        desc_color: Some(wecom_api::common::CardSourceColor::Green),
    };
    let action = wecom_api::robot::CardAction {
        kind: wecom_api::robot::CardClickType::Url,
        url: Some("https://work.weixin.qq.com".into()),
        appid: None,
        pagepath: None,
    };
    let jump = wecom_api::robot::CardJump::new("官网");
    let mut message_card = TextNoticeCard::new(action.clone());
    message_card.source = Some(source.clone());
    message_card.jump_list = Some(vec![jump]);
    message_card.sub_title_text = Some("下载企业微信还能抢红包！".into());
    let title = wecom_api::robot::CardMainTitle {
        title: Some("欢迎使用企业微信".into()),
        desc: None,
    };
    let mut robot_card =
        wecom_api::robot::RobotTextNoticeCard::new(title.clone(), message_card.card_action.clone());
    message_card.main_title = Some(title);
    robot_card.source = message_card.source.clone();
    robot_card.jump_list = message_card.jump_list.clone();
    robot_card.sub_title_text = message_card.sub_title_text.clone();
    assert_eq!(robot_card.source.as_ref(), Some(&source));
    assert_eq!(robot_card.card_action, action);
    // Both cards write the shared parts the same way.
    let message_json = serde_json::to_value(&message_card).unwrap();
    let robot_json = serde_json::to_value(&robot_card).unwrap();
    for key in [
        "source",
        "main_title",
        "jump_list",
        "card_action",
        "sub_title_text",
    ] {
        assert_eq!(message_json[key], robot_json[key], "{key}");
    }
    assert_eq!(
        message_json["source"],
        json!({"icon_url": "https://example.com/icon.png", "desc": "企业微信", "desc_color": 3})
    );
    assert_eq!(
        message_json["card_action"],
        json!({"type": 1, "url": "https://work.weixin.qq.com"})
    );
}
