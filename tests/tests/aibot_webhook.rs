//! AI bots in webhook mode: the documented callbacks sealed and opened to their typed
//! variants, the endpoint's answers opened by the test, streams across refresh callbacks,
//! size limits, dedup, secrets kept out of Debug, media decryption.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wecom_api::aibot::testing::{encrypt_media, open_reply};
use wecom_api::aibot::*;
use wecom_api::callback::CallbackCrypto;

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, KEY, "").expect("documented key")
}

/// The documented examples (接收消息 100719, 接收事件 101027), as WeCom writes them.
fn documented() -> Vec<(&'static str, Value)> {
    let base = |extra: Value| {
        let mut v = json!({
            "msgid": "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=",
            "aibotid": "AIBOTID",
            "chatid": "CHATID",
            "chattype": "group",
            "from": {"userid": "USERID"},
            "response_url": "RESPONSEURL",
        });
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    };
    let event = |eventtype: &str, body: Value| {
        let mut e = json!({"eventtype": eventtype});
        if !body.is_null() {
            e[eventtype] = body;
        }
        json!({
            "msgid": "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=", "create_time": 1700000000,
            "aibotid": "AIBOTID", "chatid": "CHATID", "chattype": "single",
            "from": {"corpid": "wpxxxx", "userid": "USERID"},
            "msgtype": "event", "event": e,
        })
    };
    vec![
        (
            "message.text",
            base(
                json!({"msgtype": "text", "text": {"content": "@RobotA hello robot"},
            "quote": {"msgtype": "text", "text": {"content": "这是今日的测试情况"}}}),
            ),
        ),
        (
            "message.image",
            base(json!({"msgtype": "image", "image": {"url": "URL"}})),
        ),
        (
            "message.mixed",
            base(json!({"msgtype": "mixed", "mixed": {"msg_item": [
            {"msgtype": "text", "text": {"content": "@机器人 这是今日的测试情况"}},
            {"msgtype": "image", "image": {"url": "URL"}}]}})),
        ),
        (
            "message.voice",
            base(json!({"msgtype": "voice", "voice": {"content": "这是语音转成文本的内容"}})),
        ),
        (
            "message.file",
            base(json!({"msgtype": "file", "file": {"url": "URL"}})),
        ),
        (
            "message.video",
            base(json!({"msgtype": "video", "video": {"url": "URL", "aeskey": "AESKEY"}})),
        ),
        (
            "stream",
            base(json!({"msgtype": "stream", "stream": {"id": "STREAMID"}})),
        ),
        ("event.enter_chat", event("enter_chat", Value::Null)),
        (
            "event.template_card_event",
            event(
                "template_card_event",
                json!({
            "card_type": "button_interaction", "event_key": "button_key_1", "task_id": "task_id_1"}),
            ),
        ),
        (
            "event.template_card_event",
            event(
                "template_card_event",
                json!({
            "card_type": "vote_interaction", "event_key": "submit_key", "task_id": "task_id_2",
            "selected_items": {"selected_item": [{"question_key": "question_key_one",
                "option_ids": {"option_id": ["one", "two"]}}]}}),
            ),
        ),
        (
            "event.template_card_event",
            event(
                "template_card_event",
                json!({
            "card_type": "multiple_interaction", "event_key": "submit_key", "task_id": "task_id_3",
            "selected_items": {"selected_item": [
                {"question_key": "q1", "option_ids": {"option_id": ["a"]}},
                {"question_key": "q2", "option_ids": {"option_id": ["b"]}}]}}),
            ),
        ),
        (
            "event.template_card_event",
            event(
                "template_card_event",
                json!({
            "card_type": "text_notice", "event_key": "menu_key_1", "task_id": "task_id_4"}),
            ),
        ),
        (
            "event.feedback_event",
            event(
                "feedback_event",
                json!({
            "id": "FEEDBACKID", "type": 2, "content": "答案不对", "inaccurate_reason_list": [2, 4]}),
            ),
        ),
        (
            "event.disconnected_event",
            event("disconnected_event", Value::Null),
        ),
        (
            "message.sticker",
            base(json!({"msgtype": "sticker", "sticker": {"id": "S1"}})),
        ),
        ("event.future_event", event("future_event", json!({"x": 1}))),
    ]
}

#[test]
fn every_documented_callback_is_sealed_opened_and_typed() {
    let crypto = crypto();
    for (kind, example) in documented() {
        let sealed = crypto.seal_json_request(&example.to_string()).unwrap();
        assert!(sealed.body.starts_with("{\"encrypt\""), "{kind}: JSON body");
        let plaintext = crypto
            .decrypt_request(&sealed.query, sealed.body.as_bytes())
            .unwrap();
        let callback = AibotCallback::parse(&plaintext).unwrap();
        assert_eq!(callback.kind(), kind, "{example}");
        assert_eq!(callback.msgid, "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=");
        assert_eq!(
            callback.dedup_key(),
            "aibot:AIBOTID:CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="
        );
        assert_eq!(callback.userid(), Some("USERID"));
    }
}

#[test]
fn typed_fields_of_the_documented_examples() {
    let all = documented();
    let get = |i: usize| AibotCallback::from_value(all[i].1.clone()).unwrap();

    let text = get(0);
    assert_eq!(text.text().as_deref(), Some("@RobotA hello robot"));
    assert_eq!(text.chattype, Some(AibotChatType::Group));
    assert_eq!(
        text.response_url.as_ref().map(|u| u.expose()),
        Some("RESPONSEURL")
    );
    let Some(AibotQuote {
        content: AibotQuoteContent::Text(quoted),
    }) = &text.quote
    else {
        panic!("quote: {:?}", text.quote)
    };
    assert_eq!(quoted.content.as_deref(), Some("这是今日的测试情况"));

    let mixed = get(2);
    let AibotCallbackContent::Mixed(m) = &mixed.content else {
        panic!()
    };
    assert_eq!(m.msg_item.len(), 2);
    assert!(
        matches!(&m.msg_item[1].content, AibotMixedItemContent::Image(i) if i.url.as_deref() == Some("URL"))
    );
    assert_eq!(mixed.text().as_deref(), Some("@机器人 这是今日的测试情况"));

    assert_eq!(get(6).refreshed_stream(), Some("STREAMID"));
    assert!(get(7).is_enter_chat());
    assert_eq!(get(7).from.unwrap().corpid.as_deref(), Some("wpxxxx"));

    let AibotCallbackContent::Event(vote) = get(9).content else {
        panic!()
    };
    let AibotEventKind::TemplateCard(card) = vote.kind else {
        panic!()
    };
    assert_eq!(card.card_type.as_deref(), Some("vote_interaction"));
    let items = card.selected_items.unwrap().selected_item;
    assert_eq!(items[0].question_key.as_deref(), Some("question_key_one"));
    assert_eq!(
        items[0].option_ids.as_ref().unwrap().option_id,
        vec!["one", "two"]
    );

    let AibotCallbackContent::Event(feedback) = get(12).content else {
        panic!()
    };
    let AibotEventKind::Feedback(feedback) = feedback.kind else {
        panic!()
    };
    assert_eq!(feedback.kind, Some(AibotFeedbackType::Inaccurate));
    assert_eq!(feedback.inaccurate_reason_list, vec![2, 4]);

    // Unknown kinds are kept whole.
    let AibotCallbackContent::Unknown(fields) = get(14).content else {
        panic!()
    };
    assert_eq!(fields["sticker"]["id"], "S1");
    let AibotCallbackContent::Event(future) = get(15).content else {
        panic!()
    };
    let AibotEventKind::Unknown(fields) = future.kind else {
        panic!()
    };
    assert_eq!(fields["future_event"]["x"], 1);
}

#[test]
fn secrets_stay_out_of_debug() {
    let callback = AibotCallback::from_value(documented()[5].1.clone()).unwrap();
    let shown = format!("{callback:?}");
    assert!(!shown.contains("RESPONSEURL"), "{shown}");
    assert!(!shown.contains("AESKEY"), "{shown}");
    assert!(shown.contains("URL")); // the download URL itself is not a secret
    let key = MediaKey::from_base64(KEY).unwrap();
    assert!(!format!("{key:?}").contains(KEY));
}

#[test]
fn bad_callbacks_are_errors_not_panics() {
    for bad in [
        "",
        "{",
        "[]",
        r#"{"msgtype":"text"}"#,
        r#"{"msgid":1.5e400}"#,
    ] {
        let err = AibotCallback::parse(bad).unwrap_err();
        assert!(err.to_string().contains("aibot callback"), "{err}");
    }
}

#[test]
fn reply_limits_are_checked_before_sending() {
    let ok = AibotReply::stream("s1", "x".repeat(MAX_STREAM_BYTES), true);
    assert!(ok.to_json().is_ok());
    let err = AibotReply::stream("s1", "x".repeat(MAX_STREAM_BYTES + 1), true)
        .to_json()
        .unwrap_err();
    assert!(err.to_string().contains("20,480"), "{err}");

    let png = [0x89u8, b'P', b'N', b'G'];
    let early = AibotReply::stream("s1", "a", false).with_image(&png);
    assert!(early.to_json().unwrap_err().to_string().contains("finish"));
    let mut many = AibotReply::stream("s1", "a", true);
    for _ in 0..=MAX_STREAM_IMAGES {
        many = many.with_image(&png);
    }
    assert!(
        many.to_json()
            .unwrap_err()
            .to_string()
            .contains("at most 10")
    );
    let long_feedback = AibotReply::stream("s1", "a", true).with_feedback("f".repeat(257));
    assert!(
        long_feedback
            .to_json()
            .unwrap_err()
            .to_string()
            .contains("feedback")
    );
    assert!(AibotReply::stream("", "a", true).to_json().is_err());

    // The wire form WeCom documents.
    let json: Value = serde_json::from_str(
        &AibotReply::stream("s1", "hi", true)
            .with_image(&png)
            .with_feedback("F")
            .to_json()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["msgtype"], "stream");
    assert_eq!(json["stream"]["id"], "s1");
    assert_eq!(json["stream"]["finish"], true);
    assert_eq!(json["stream"]["feedback"]["id"], "F");
    assert_eq!(json["stream"]["msg_item"][0]["msgtype"], "image");
    assert_eq!(
        json["stream"]["msg_item"][0]["image"]["md5"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
}

#[test]
fn card_replies_have_the_documented_shape() {
    use wecom_api::robot::{AibotTemplateCardContent, CardAction, CardClickType, TextNoticeCard};
    let card = AibotTemplateCardContent::TextNotice(TextNoticeCard::new(CardAction::new(
        CardClickType::NoAction,
    )));
    let reply: Value =
        serde_json::from_str(&AibotReply::template_card(&card).unwrap().to_json().unwrap())
            .unwrap();
    assert_eq!(reply["msgtype"], "template_card");
    assert_eq!(reply["template_card"]["card_type"], "text_notice");
    let both: Value = serde_json::from_str(
        &AibotReply::stream_with_template_card("s", "c", false, &card)
            .unwrap()
            .to_json()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(both["msgtype"], "stream_with_template_card");
    assert_eq!(both["stream"]["id"], "s");
    assert_eq!(both["template_card"]["card_type"], "text_notice");
    let update =
        serde_json::to_value(AibotUpdateCardReply::new(&card).unwrap().for_users(["u1"])).unwrap();
    assert_eq!(update["response_type"], "update_template_card");
    assert_eq!(update["userids"], json!(["u1"]));

    // A card's feedback id (the official SDK's `template_card.feedback`), size-checked.
    let rated: Value = serde_json::from_str(
        &AibotReply::template_card(&card)
            .unwrap()
            .with_card_feedback("CARD-FB")
            .to_json()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rated["template_card"]["feedback"]["id"], "CARD-FB");
    assert_eq!(rated["template_card"]["card_type"], "text_notice");
    let both_rated: Value = serde_json::from_str(
        &AibotReply::stream_with_template_card("s", "c", false, &card)
            .unwrap()
            .with_card_feedback("F2")
            .to_json()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(both_rated["template_card"]["feedback"]["id"], "F2");
    let too_long = AibotReply::template_card(&card)
        .unwrap()
        .with_card_feedback("f".repeat(257))
        .to_json()
        .unwrap_err();
    assert!(
        too_long.to_string().contains("template_card.feedback.id"),
        "{too_long}"
    );
}

/// 101027 nests a card event's fields under `template_card_event`; the official Node SDK
/// types them beside `eventtype`. Both read the same.
#[test]
fn a_card_event_with_its_fields_beside_eventtype_reads_the_same() {
    let flat = json!({"msgid": "m", "aibotid": "B", "from": {"userid": "u"}, "msgtype": "event",
        "event": {"eventtype": "template_card_event", "card_type": "button_interaction",
                  "event_key": "ok", "task_id": "T1"}});
    let nested = json!({"msgid": "m", "aibotid": "B", "from": {"userid": "u"}, "msgtype": "event",
        "event": {"eventtype": "template_card_event", "template_card_event": {
            "card_type": "button_interaction", "event_key": "ok", "task_id": "T1"}}});
    let read = |v: &Value| {
        let callback = AibotCallback::parse(&v.to_string()).unwrap();
        let AibotCallbackContent::Event(event) = callback.content else {
            panic!("{v}")
        };
        let AibotEventKind::TemplateCard(card) = event.kind else {
            panic!("{v}")
        };
        card
    };
    let card = read(&flat);
    assert_eq!(card.event_key.as_deref(), Some("ok"));
    assert_eq!(card.task_id.as_deref(), Some("T1"));
    assert_eq!(card, read(&nested));
}

fn answer_json(crypto: &CallbackCrypto, body: &str) -> Value {
    let envelope: Value = serde_json::from_str(body).unwrap();
    for key in ["encrypt", "msgsignature", "timestamp", "nonce"] {
        assert!(envelope.get(key).is_some(), "envelope lacks {key}: {body}");
    }
    assert!(envelope["timestamp"].is_u64());
    serde_json::from_str(&open_reply(crypto, body).unwrap()).unwrap()
}

#[tokio::test]
async fn url_verification_with_an_empty_receive_id() {
    let crypto = crypto();
    let endpoint = AibotEndpoint::new(
        crypto.clone(),
        Bot::new(|_, _| async { Ok(Outcome::Nothing) }),
    );
    let query = crypto.seal_verification("1616140317555161061").unwrap();
    let answer = endpoint.verify(&query);
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "1616140317555161061")
    );
    // A corp id where "" is expected is refused.
    let other = CallbackCrypto::new(TOKEN, KEY, "ww1").unwrap();
    assert_eq!(
        endpoint
            .verify(&other.seal_verification("1").unwrap())
            .status,
        403
    );
}

#[tokio::test]
async fn welcome_text_only_on_enter_chat_and_dedup_by_msgid() {
    let crypto = crypto();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let bot = Bot::new(move |_ctx, _callback| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Ok(AibotReply::text("欢迎").into()) }
    });
    let endpoint = AibotEndpoint::new(crypto.clone(), bot);

    let enter = documented()[7].1.to_string();
    let sealed = crypto.seal_json_request(&enter).unwrap();
    let answer = endpoint
        .receive(&sealed.query, sealed.body.as_bytes())
        .await;
    assert_eq!(answer.status, 200);
    let reply = answer_json(&crypto, &answer.body);
    assert_eq!(
        reply,
        json!({"msgtype": "text", "text": {"content": "欢迎"}})
    );

    // WeCom's retry of the same msgid: answered, not handled again.
    let again = crypto.seal_json_request(&enter).unwrap();
    let answer = endpoint.receive(&again.query, again.body.as_bytes()).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A text reply to a message is not what WeCom accepts: nothing is sent.
    let mut text = documented()[0].1.clone();
    text["msgid"] = json!("another");
    let sealed = crypto.seal_json_request(&text.to_string()).unwrap();
    let answer = endpoint
        .receive(&sealed.query, sealed.body.as_bytes())
        .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
}

#[tokio::test]
async fn refusals_by_status() {
    let crypto = crypto();
    let endpoint = AibotEndpoint::new(
        crypto.clone(),
        Bot::new(|_, _| async { Ok(Outcome::Nothing) }),
    );
    let sealed = crypto
        .seal_json_request(r#"{"msgid":"1","msgtype":"text"}"#)
        .unwrap();
    let tampered = sealed.query.replace("msg_signature=", "msg_signature=0");
    assert_eq!(
        endpoint
            .receive(&tampered, sealed.body.as_bytes())
            .await
            .status,
        403
    );
    let unreadable = crypto.seal_json_request("not json").unwrap();
    assert_eq!(
        endpoint
            .receive(&unreadable.query, unreadable.body.as_bytes())
            .await
            .status,
        400
    );
    assert_eq!(endpoint.receive(&sealed.query, b"{}").await.status, 400);
    // A failing handler: 500, and the claim is released so WeCom's retry runs it again.
    let fails = AibotEndpoint::new(
        crypto.clone(),
        Bot::new(|_, _| async { Err("boom".into()) }),
    );
    let msg = documented()[0].1.to_string();
    for _ in 0..2 {
        let sealed = crypto.seal_json_request(&msg).unwrap();
        assert_eq!(
            fails
                .receive(&sealed.query, sealed.body.as_bytes())
                .await
                .status,
            500
        );
    }
}

/// The handler answers with a stream fed word by word; WeCom's refresh callbacks see the
/// content grow, then `finish`.
#[tokio::test]
async fn stream_answered_across_refresh_callbacks() {
    let crypto = crypto();
    let (feed_tx, feed_rx) = tokio::sync::mpsc::unbounded_channel::<Option<&'static str>>();
    let feed_rx = Arc::new(tokio::sync::Mutex::new(Some(feed_rx)));
    let bot = Bot::new(move |ctx, _callback| {
        let feed_rx = Arc::clone(&feed_rx);
        async move {
            let stream = ctx.stream_with_feedback("FB1").await?;
            stream.write("你好").await?;
            let writer = stream.clone();
            let mut rx = feed_rx.lock().await.take().expect("one message");
            tokio::spawn(async move {
                while let Some(next) = rx.recv().await {
                    match next {
                        Some(word) => writer.write(word).await.unwrap(),
                        None => return writer.finish().await.unwrap(),
                    }
                }
            });
            Ok(Outcome::Stream(stream))
        }
    });
    let endpoint = AibotEndpoint::new(crypto.clone(), bot);
    let sealed = crypto
        .seal_json_request(&documented()[0].1.to_string())
        .unwrap();
    let first = answer_json(
        &crypto,
        &endpoint
            .receive(&sealed.query, sealed.body.as_bytes())
            .await
            .body,
    );
    assert_eq!(first["msgtype"], "stream");
    assert_eq!(first["stream"]["content"], "你好");
    assert_eq!(first["stream"]["finish"], false);
    assert_eq!(first["stream"]["feedback"]["id"], "FB1");
    let id = first["stream"]["id"].as_str().unwrap().to_string();

    let refresh = |n: u32| {
        json!({"msgid": format!("refresh-{n}"), "aibotid": "AIBOTID", "chattype": "single",
               "from": {"userid": "USERID"}, "msgtype": "stream", "stream": {"id": id}})
        .to_string()
    };
    let mut seen = Vec::new();
    for (n, step) in [Some("，世界"), Some("！"), None].into_iter().enumerate() {
        feed_tx.send(step).unwrap();
        // The writer task runs as soon as it can; wait for it to land.
        let mut reply = Value::Null;
        for _ in 0..100 {
            let sealed = crypto.seal_json_request(&refresh(n as u32)).unwrap();
            let answer = endpoint
                .receive(&sealed.query, sealed.body.as_bytes())
                .await;
            reply = answer_json(&crypto, &answer.body);
            if reply["stream"]["content"]
                != json!(seen.last().cloned().unwrap_or("你好".to_string()))
                || reply["stream"]["finish"] == true
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        seen.push(reply["stream"]["content"].as_str().unwrap().to_string());
        assert_eq!(reply["stream"]["id"], id.as_str());
        assert_eq!(reply["stream"]["finish"], step.is_none());
    }
    assert_eq!(seen, ["你好，世界", "你好，世界！", "你好，世界！"]);
    // The feedback id goes with the first reply only (101031: 首次回复时设置).
    let sealed = crypto.seal_json_request(&refresh(9)).unwrap();
    let again = answer_json(
        &crypto,
        &endpoint
            .receive(&sealed.query, sealed.body.as_bytes())
            .await
            .body,
    );
    assert!(again["stream"].get("feedback").is_none(), "{again}");

    // A refresh of a stream nobody opened: answered without a reply.
    let unknown = json!({"msgid": "r", "msgtype": "stream", "stream": {"id": "nope"}}).to_string();
    let sealed = crypto.seal_json_request(&unknown).unwrap();
    let answer = endpoint
        .receive(&sealed.query, sealed.body.as_bytes())
        .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
}

#[test]
fn memory_store_is_bounded_and_drops_expired_sessions() {
    let store = MemoryStreamStore::new(2);
    let t0 = Instant::now();
    let ttl = Duration::from_secs(360);
    store.open_at(NewStream::new("a", ttl), t0).unwrap();
    store.open_at(NewStream::new("b", ttl), t0).unwrap();
    let full = store.open_at(NewStream::new("c", ttl), t0).unwrap_err();
    assert!(full.to_string().contains("2 stream sessions"), "{full}");
    store.append_at("a", "x", t0).unwrap();
    assert_eq!(store.get_at("a", t0).unwrap().content, "x");
    // After the TTL: gone, and room for new sessions.
    let later = t0 + ttl + Duration::from_secs(1);
    assert_eq!(store.get_at("a", later), None);
    assert!(
        store
            .append_at("b", "y", later)
            .unwrap_err()
            .to_string()
            .contains("expired")
    );
    store.open_at(NewStream::new("c", ttl), later).unwrap();
    assert!(store.len() <= 2);
    // Content limit and finished streams.
    store.open_at(NewStream::new("d", ttl), later).unwrap();
    store
        .append_at("d", &"z".repeat(MAX_STREAM_BYTES), later)
        .unwrap();
    assert!(store.append_at("d", "!", later).is_err());
    store.finish_at("d", Vec::new(), later).unwrap();
    assert!(
        store
            .append_at("d", "", later)
            .unwrap_err()
            .to_string()
            .contains("finished")
    );
    assert!(store.get_at("d", later).unwrap().finished);
}

/// The memory store counts each user's unfinished sessions: a 4th is refused until one
/// finishes or expires; reopening an id does not count twice; other users are apart.
#[test]
fn memory_store_counts_unfinished_sessions_per_user() {
    let store = MemoryStreamStore::new(100);
    let t0 = Instant::now();
    let ttl = Duration::from_secs(360);
    let of = |id: &str, user: &str| NewStream::new(id, ttl).for_user(user, 3);
    for id in ["a", "b", "c"] {
        store.open_at(of(id, "B:u1"), t0).unwrap();
    }
    store.open_at(of("c", "B:u1"), t0).unwrap();
    assert_eq!(store.unfinished_at("B:u1", t0), 3);
    let refused = store.open_at(of("d", "B:u1"), t0).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("`B:u1` already has 3 unfinished streams"),
        "{refused}"
    );
    assert_eq!(store.get_at("d", t0), None);
    store.open_at(of("x", "B:u2"), t0).unwrap();
    store.open_at(of("y", "C:u1"), t0).unwrap();

    store.finish_at("a", Vec::new(), t0).unwrap();
    assert_eq!(store.unfinished_at("B:u1", t0), 2);
    store.open_at(of("d", "B:u1"), t0).unwrap();
    // The finished one is still refreshed; counting is about unfinished ones.
    assert!(store.get_at("a", t0).unwrap().finished);

    // Expired sessions free their places.
    let later = t0 + ttl + Duration::from_secs(1);
    assert_eq!(store.unfinished_at("B:u1", later), 0);
    for id in ["e", "f", "g"] {
        store.open_at(of(id, "B:u1"), later).unwrap();
    }
    assert!(store.open_at(of("h", "B:u1"), later).is_err());
}

#[test]
fn media_decrypts_with_the_encoding_aes_key() {
    let key = MediaKey::from_base64(KEY).unwrap();
    for len in [0usize, 1, 31, 32, 33, 5000] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let encrypted = encrypt_media(&plain, &key);
        assert_eq!(encrypted.len() % 32, 0);
        assert_eq!(decrypt_media(&encrypted, &key).unwrap(), plain);
    }
    let other = MediaKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let encrypted = encrypt_media(b"picture bytes", &key);
    assert!(decrypt_media(&encrypted, &other).is_err());
    assert!(decrypt_media(&encrypted[..17], &key).is_err());
    assert!(decrypt_media(&[], &key).is_err());
    assert!(MediaKey::from_base64("short").is_err());
    assert!(MediaKey::from_base64("not base64 !!").is_err());
}

/// WeCom lets a user have 3 exchanges going with a bot: a 4th unfinished stream is refused
/// until one finishes; other users are not affected.
#[tokio::test]
async fn at_most_three_unfinished_streams_per_user() {
    let crypto = crypto();
    let writers = Arc::new(std::sync::Mutex::new(Vec::<StreamWriter>::new()));
    let kept = Arc::clone(&writers);
    let bot = Bot::new(move |ctx, _callback| {
        let kept = Arc::clone(&kept);
        async move {
            let stream = ctx.stream().await?;
            kept.lock().unwrap().push(stream.clone());
            Ok(Outcome::Stream(stream))
        }
    });
    let endpoint = AibotEndpoint::new(crypto.clone(), bot);
    let send = |msgid: &str, user: &str| {
        let body = json!({"msgid": msgid, "aibotid": "B", "from": {"userid": user},
            "msgtype": "text", "text": {"content": "q"}});
        crypto.seal_json_request(&body.to_string()).unwrap()
    };
    for n in 0..MAX_EXCHANGES_PER_USER {
        let sealed = send(&format!("m{n}"), "u1");
        assert_eq!(
            endpoint
                .receive(&sealed.query, sealed.body.as_bytes())
                .await
                .status,
            200
        );
    }
    let fourth = send("m3", "u1");
    assert_eq!(
        endpoint
            .receive(&fourth.query, fourth.body.as_bytes())
            .await
            .status,
        500
    );
    let other_user = send("m4", "u2");
    assert_eq!(
        endpoint
            .receive(&other_user.query, other_user.body.as_bytes())
            .await
            .status,
        200
    );
    // One finishes: the retry of the 4th goes through.
    let first = writers.lock().unwrap()[0].clone();
    first.finish().await.unwrap();
    let retry = send("m3", "u1");
    assert_eq!(
        endpoint
            .receive(&retry.query, retry.body.as_bytes())
            .await
            .status,
        200
    );
}
