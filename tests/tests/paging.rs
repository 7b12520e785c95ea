//! Cursor-paged lists as streams: `user.list_id` fetches page after page on demand.

mod runtime_common;

use futures::StreamExt;
use runtime_common::{client, mock_gettoken};
use serde_json::json;

#[tokio::test]
async fn list_id_stream_walks_every_page_and_stops_at_the_empty_cursor() {
    let server = httpmock::MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let first = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/user/list_id")
                .json_body(json!({"limit": 2}));
            then.json_body(json!({
                "errcode": 0, "errmsg": "ok", "next_cursor": "page2",
                "dept_user": [{"userid": "a", "department": 1}, {"userid": "b", "department": 1}]
            }));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/user/list_id")
                .json_body(json!({"limit": 2, "cursor": "page2"}));
            then.json_body(json!({
                "errcode": 0, "errmsg": "ok", "next_cursor": "",
                "dept_user": [{"userid": "c", "department": "2"}]
            }));
        })
        .await;
    let client = client(&server);
    let users: Vec<String> = client
        .user()
        .list_id()
        .limit(2)
        .into_stream()
        .map(|item| item.expect("page").userid)
        .collect()
        .await;
    assert_eq!(users, ["a", "b", "c"]);
    first.assert_async().await;
    second.assert_async().await;
}

#[tokio::test]
async fn list_id_stream_fetches_lazily_and_ends_after_an_error() {
    let server = httpmock::MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let first = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/list_id").json_body(json!({}));
            then.json_body(json!({
                "errcode": 0, "errmsg": "ok", "next_cursor": "page2",
                "dept_user": [{"userid": "a", "department": 1}]
            }));
        })
        .await;
    let failing = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/list_id")
                .json_body(json!({"cursor": "page2"}));
            then.json_body(json!({"errcode": 40058, "errmsg": "invalid cursor"}));
        })
        .await;
    let client = client(&server);
    let mut stream = Box::pin(client.user().list_id().into_stream());
    let first_item = stream.next().await.expect("an item").expect("ok");
    assert_eq!(first_item.userid, "a");
    // Only the first page has been asked for so far.
    assert_eq!(failing.calls_async().await, 0);
    let error = stream
        .next()
        .await
        .expect("the error")
        .expect_err("page 2 fails");
    assert_eq!(error.errcode(), Some(40058));
    assert!(
        stream.next().await.is_none(),
        "the stream ends after an error"
    );
    first.assert_async().await;
    failing.assert_async().await;
}

#[tokio::test]
async fn list_id_stream_stops_when_wecom_repeats_a_cursor() {
    let server = httpmock::MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let page = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/list_id");
            then.json_body(json!({
                "errcode": 0, "errmsg": "ok", "next_cursor": "same",
                "dept_user": [{"userid": "a", "department": 1}]
            }));
        })
        .await;
    let client = client(&server);
    let items: Vec<_> = client.user().list_id().into_stream().collect().await;
    // First call without cursor, second with "same", which answers "same" again: the items
    // come through, then an error names the cycle and the stream ends.
    assert_eq!(items.len(), 3);
    assert!(items[..2].iter().all(Result::is_ok));
    let error = items[2].as_ref().expect_err("the cycle is reported");
    assert!(error.to_string().contains("next_cursor"), "{error}");
    assert_eq!(page.calls_async().await, 2);
}

#[tokio::test]
async fn a_cursor_cycle_a_b_a_ends_with_an_error_instead_of_paging_forever() {
    let server = httpmock::MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let mut pages = Vec::new();
    for (cursor, next) in [(None, "A"), (Some("A"), "B"), (Some("B"), "A")] {
        pages.push(
            server
                .mock_async(|when, then| {
                    let when = when.path("/cgi-bin/user/list_id");
                    match cursor {
                        Some(cursor) => when.json_body(json!({"cursor": cursor})),
                        None => when.json_body(json!({})),
                    };
                    then.json_body(json!({
                        "errcode": 0, "errmsg": "ok", "next_cursor": next,
                        "dept_user": [{"userid": next, "department": 1}]
                    }));
                })
                .await,
        );
    }
    let client = client(&server);
    // README's pattern: no pinning, no StreamExt import needed.
    let mut stream = client.user().list_id().into_stream();
    let mut ok = 0;
    let mut errors = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => ok += 1,
            Err(_) => errors += 1,
        }
    }
    assert_eq!((ok, errors), (3, 1));
    for page in pages {
        assert_eq!(page.calls_async().await, 1);
    }
}

/// 微信客服 `sync_msg` says `has_more: 0` on page 2 while still giving a cursor: the
/// stream stops there (no third request) and hands back that cursor to persist.
#[tokio::test]
async fn sync_msg_stops_at_has_more_zero_and_keeps_the_last_cursor() {
    let server = httpmock::MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let page = |cursor: Option<&str>, next: &str, has_more: i64, id: &str| {
        let mut body = json!({"open_kfid": "wk1", "token": "EVENT-TOKEN", "limit": 1000});
        if let Some(cursor) = cursor {
            body["cursor"] = json!(cursor);
        }
        let answer = json!({
            "errcode": 0, "errmsg": "ok", "next_cursor": next, "has_more": has_more,
            "msg_list": [{"msgid": id, "open_kfid": "wk1", "external_userid": "wm1",
                          "send_time": 1, "origin": 3, "msgtype": "text", "text": {"content": id}}]
        });
        (body, answer)
    };
    let mut mocks = Vec::new();
    for (cursor, next, has_more, id) in [(None, "C1", 1, "m1"), (Some("C1"), "C2", 0, "m2")] {
        let (body, answer) = page(cursor, next, has_more, id);
        mocks.push(
            server
                .mock_async(|when, then| {
                    when.method("POST")
                        .path("/cgi-bin/kf/sync_msg")
                        .json_body(body);
                    then.json_body(answer);
                })
                .await,
        );
    }
    let third = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/kf/sync_msg")
                .json_body_includes(r#"{"cursor":"C2"}"#);
            then.json_body(json!({"errcode": 0, "errmsg": "ok", "next_cursor": "C2", "has_more": 0, "msg_list": []}));
        })
        .await;
    let client = client(&server);
    let mut stream = client
        .kf_message()
        .sync("wk1")
        .token("EVENT-TOKEN")
        .limit(1000)
        .into_stream();
    assert_eq!(stream.last_cursor(), None);
    let mut ids = Vec::new();
    while let Some(message) = stream.next().await {
        ids.push(message.expect("message").msgid);
    }
    assert_eq!(ids, ["m1", "m2"]);
    assert_eq!(stream.last_cursor().as_deref(), Some("C2"));
    for mock in &mocks {
        mock.assert_async().await;
    }
    assert_eq!(third.calls_async().await, 0, "no request after has_more: 0");
}
