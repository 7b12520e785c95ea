//! The stand-in answers as WeCom does: credentials and their expiry, validation, faults,
//! overrides, records, limits and callback pushes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wecom_api::Client;
use wecom_api::callback::CallbackCrypto;
use wecom_standin::{Callback, Fault, Standin, TokenKind};

const CORP: &str = "ww0123456789abcdef";

fn corp_client(standin: &Standin) -> Client {
    Client::builder()
        .corp_id(CORP)
        .secret("secret")
        .agent_id(1000002)
        .base_url(standin.base_url())
        .build()
        .unwrap()
}

/// A call by hand: (HTTP status, answer).
async fn raw(standin: &Standin, method: &str, path_and_query: &str, body: &str) -> (u16, Value) {
    let url = format!("{}{path_and_query}", standin.base_url());
    let http = wecom_api::reqwest::Client::new();
    let request = match method {
        "GET" => http.get(url),
        "POST" => http.post(url),
        other => http.request(other.parse().unwrap(), url),
    };
    let response = request.body(body.to_owned()).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn errcode(answer: &Value) -> i64 {
    answer["errcode"].as_i64().unwrap()
}

#[tokio::test]
async fn a_typed_call_is_answered_and_recorded() {
    let standin = Standin::start().await.unwrap();
    let client = corp_client(&standin);
    let user = client.user().get("zhangsan").await.unwrap();
    assert_eq!(user.userid, "zhangsan");
    let records = standin.records_for("user.get");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].query_param("userid"), Some("zhangsan"));
    let token = records[0].query_param("access_token").unwrap();
    assert!(token.starts_with("standin-access"));
    // Debug never shows the token.
    assert!(!format!("{:?}", records[0]).contains(token));
    assert_eq!(standin.records_for("/cgi-bin/gettoken").len(), 1);
}

#[tokio::test]
async fn missing_and_mistyped_inputs_get_wecom_errcodes_naming_the_field() {
    let standin = Standin::start().await.unwrap();
    let token = standin.issue_token(TokenKind::Access, CORP);
    let (_, answer) = raw(
        &standin,
        "GET",
        &format!("/cgi-bin/user/get?access_token={token}"),
        "",
    )
    .await;
    assert_eq!(errcode(&answer), 41009, "{answer}");
    assert!(answer["errmsg"].as_str().unwrap().contains("userid"));

    let send = format!("/cgi-bin/message/send?access_token={token}");
    let body =
        json!({"touser": "a", "msgtype": "text", "agentid": "x1", "text": {"content": "hi"}});
    let (_, answer) = raw(&standin, "POST", &send, &body.to_string()).await;
    assert_eq!(errcode(&answer), 40058, "{answer}");
    assert!(answer["errmsg"].as_str().unwrap().contains("agentid"));

    let body = json!({"touser": "a", "msgtype": "text", "agentid": 1, "text": {}});
    let (_, answer) = raw(&standin, "POST", &send, &body.to_string()).await;
    assert_ne!(errcode(&answer), 0, "{answer}");
    assert!(
        answer["errmsg"].as_str().unwrap().contains("text.content"),
        "{answer}"
    );

    let body = json!({"touser": 5, "msgtype": "text", "agentid": 1, "text": {"content": "hi"}});
    let (_, answer) = raw(&standin, "POST", &send, &body.to_string()).await;
    assert_eq!(errcode(&answer), 40058, "{answer}");
    assert!(
        answer["errmsg"]
            .as_str()
            .unwrap()
            .contains("`touser`: expected string")
    );

    let (_, answer) = raw(&standin, "POST", &send, "{not json").await;
    assert_eq!(errcode(&answer), 40058);
    assert!(answer["errmsg"].as_str().unwrap().contains("json"));

    let (_, answer) = raw(&standin, "GET", &send, "").await;
    assert_eq!(errcode(&answer), 40058);
    assert!(answer["errmsg"].as_str().unwrap().contains("POST"));

    let (status, answer) = raw(&standin, "GET", "/cgi-bin/no/such/api", "").await;
    assert_eq!((status, errcode(&answer)), (404, 40094));
}

#[tokio::test]
async fn unknown_fields_are_logged_and_still_answered() {
    let standin = Standin::start().await.unwrap();
    let client = corp_client(&standin);
    let body = json!({"touser": "a", "msgtype": "text", "agentid": 1,
                      "text": {"content": "hi", "colour": "red"}, "extra": 1});
    client
        .post_json("/cgi-bin/message/send", &[], &body)
        .await
        .unwrap();
    let unknown: Vec<String> = standin
        .unknown_fields()
        .into_iter()
        .map(|u| u.field)
        .collect();
    assert_eq!(unknown, ["text.colour", "extra"]);
    assert_eq!(standin.unknown_fields()[0].endpoint, "message.send");
}

#[tokio::test]
async fn a_field_a_page_spells_two_ways_is_read_under_either() {
    let standin = Standin::start().await.unwrap();
    let token = standin.issue_token(TokenKind::Access, CORP);
    let path = format!("/cgi-bin/meeting/realcontrol/set_nicknames?access_token={token}");
    // The table's spelling (the crate sends the example's, operated_users).
    let user = json!({"tmp_openid": "o", "instance_id": 1, "nickname": "n"});
    let body = json!({"meetingid": "m", "opereated_users": [user]});
    let (_, answer) = raw(&standin, "POST", &path, &body.to_string()).await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    assert!(standin.unknown_fields().is_empty());
    // Checked under the spelling it came with.
    let body = json!({"meetingid": "m", "opereated_users": "o"});
    let (_, answer) = raw(&standin, "POST", &path, &body.to_string()).await;
    assert_eq!(errcode(&answer), 40058, "{answer}");
    assert!(
        answer["errmsg"]
            .as_str()
            .unwrap()
            .contains("`opereated_users`"),
        "{answer}"
    );
    // Neither spelling: missing, under the name the crate sends.
    let (_, answer) = raw(&standin, "POST", &path, r#"{"meetingid": "m"}"#).await;
    assert_eq!(errcode(&answer), 40063, "{answer}");
    assert!(
        answer["errmsg"]
            .as_str()
            .unwrap()
            .contains("`operated_users`"),
        "{answer}"
    );
}

#[tokio::test]
async fn tokens_expire_on_the_stand_ins_clock_and_the_client_refreshes() {
    let standin = Standin::start().await.unwrap();
    standin.set_token_lifetime(TokenKind::Access, Duration::from_secs(60));
    let token = standin.issue_token(TokenKind::Access, CORP);
    let path = format!("/cgi-bin/department/list?access_token={token}");
    assert_eq!(errcode(&raw(&standin, "GET", &path, "").await.1), 0);
    standin.advance_clock(Duration::from_secs(61));
    assert_eq!(errcode(&raw(&standin, "GET", &path, "").await.1), 42001);
    let unknown = "/cgi-bin/department/list?access_token=never-issued";
    assert_eq!(errcode(&raw(&standin, "GET", unknown, "").await.1), 40014);
    let missing = "/cgi-bin/department/list";
    assert_eq!(errcode(&raw(&standin, "GET", missing, "").await.1), 41001);

    // Suite tokens are refused with their own codes; another kind's token is unknown.
    standin.set_token_lifetime(TokenKind::Suite, Duration::from_secs(10));
    let suite = standin.issue_token(TokenKind::Suite, "wwsuite");
    let path = format!("/cgi-bin/service/get_pre_auth_code?suite_access_token={suite}");
    assert_eq!(errcode(&raw(&standin, "GET", &path, "").await.1), 0);
    standin.advance_clock(Duration::from_secs(11));
    assert_eq!(errcode(&raw(&standin, "GET", &path, "").await.1), 42009);
    let corp_token = standin.issue_token(TokenKind::Access, CORP);
    let path = format!("/cgi-bin/service/get_pre_auth_code?suite_access_token={corp_token}");
    assert_eq!(errcode(&raw(&standin, "GET", &path, "").await.1), 40082);

    // The client takes 42001 as its cue to fetch a new token and repeat the call.
    let client = corp_client(&standin);
    client.department().list().await.unwrap();
    standin.advance_clock(Duration::from_secs(3600));
    client.department().list().await.unwrap();
    assert_eq!(standin.records_for("token.get").len(), 2);
}

#[tokio::test]
async fn strict_mode_accepts_only_configured_secrets() {
    let standin = Standin::builder()
        .secret(CORP, "right")
        .start()
        .await
        .unwrap();
    let ok = format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret=right");
    let (_, answer) = raw(&standin, "GET", &ok, "").await;
    assert_eq!(errcode(&answer), 0);
    assert_eq!(answer["expires_in"], 7200);
    let wrong = format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret=wrong");
    assert_eq!(errcode(&raw(&standin, "GET", &wrong, "").await.1), 40001);
    let unknown = "/cgi-bin/gettoken?corpid=wwother&corpsecret=right";
    assert_eq!(errcode(&raw(&standin, "GET", unknown, "").await.1), 40013);
    let missing = format!("/cgi-bin/gettoken?corpid={CORP}");
    assert_eq!(errcode(&raw(&standin, "GET", &missing, "").await.1), 41004);
    // Robot keys: only issued ones.
    let body = json!({"msgtype": "text", "text": {"content": "hi"}}).to_string();
    let (_, answer) = raw(&standin, "POST", "/cgi-bin/webhook/send?key=guessed", &body).await;
    assert_eq!(errcode(&answer), 93000);
    let key = standin.issue_webhook_key();
    let (_, answer) = raw(
        &standin,
        "POST",
        &format!("/cgi-bin/webhook/send?key={key}"),
        &body,
    )
    .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
}

#[tokio::test]
async fn faults_on_demand() {
    let standin = Standin::start().await.unwrap();
    let client = corp_client(&standin);
    // -1 once: the client's retry policy resends it.
    standin.fault_times("user.get", 1, Fault::Busy);
    client.user().get("zhangsan").await.unwrap();
    assert_eq!(standin.records_for("user.get").len(), 2);

    standin.fault_times("user.get", 1, Fault::RateLimited);
    let error = client.user().get("zhangsan").await.unwrap_err();
    assert_eq!(error.errcode(), Some(45009));
    standin.fault("department.list", Fault::ConcurrencyLimited);
    let error = client.department().list().await.unwrap_err();
    assert_eq!(error.errcode(), Some(45033));
    standin.clear_faults();
    client.department().list().await.unwrap();

    let token = standin.issue_token(TokenKind::Access, CORP);
    standin.fault_times(
        "/cgi-bin/user/get",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
    );
    let url = format!(
        "{}/cgi-bin/user/get?access_token={token}&userid=a",
        standin.base_url()
    );
    let response = wecom_api::reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");

    standin.fault_times("user.get", 1, Fault::Drop);
    let dropped = async { wecom_api::reqwest::get(&url).await?.text().await };
    assert!(dropped.await.is_err());

    // A slow answer runs into a client deadline shorter than the delay.
    standin.fault("user.get", Fault::Slow(Duration::from_secs(5)));
    let impatient = Client::builder()
        .corp_id(CORP)
        .secret("s")
        .base_url(standin.base_url())
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(impatient.user().get("zhangsan").await.is_err());
}

#[tokio::test]
async fn an_override_replaces_one_endpoints_answer() {
    let standin = Standin::start().await.unwrap();
    let client = corp_client(&standin);
    standin.override_answer(
        "user.get",
        json!({"errcode": 0, "errmsg": "ok", "userid": "lisi", "name": "李四", "department": [7]}),
    );
    let user = client.user().get("lisi").await.unwrap();
    assert_eq!(
        (user.userid.as_str(), user.department.as_slice()),
        ("lisi", &[7][..])
    );
    standin.clear_override("user.get");
    assert_eq!(client.user().get("x").await.unwrap().userid, "zhangsan");
}

#[tokio::test]
async fn records_stay_within_their_bound() {
    let standin = Standin::builder().max_records(3).start().await.unwrap();
    let client = corp_client(&standin);
    for _ in 0..4 {
        client.department().list().await.unwrap();
    }
    // gettoken + 4 calls = 5 requests, 3 kept.
    assert_eq!(standin.records().len(), 3);
    assert_eq!(standin.dropped_records(), 2);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let standin = Standin::builder()
        .max_body_bytes(1024)
        .start()
        .await
        .unwrap();
    let token = standin.issue_token(TokenKind::Access, CORP);
    let content = "x".repeat(2000);
    let body =
        json!({"touser": "a", "msgtype": "text", "agentid": 1, "text": {"content": content}});
    let path = format!("/cgi-bin/message/send?access_token={token}");
    let (_, answer) = raw(&standin, "POST", &path, &body.to_string()).await;
    assert_eq!(errcode(&answer), 45002);
    let path = format!("/cgi-bin/media/upload?access_token={token}&type=image");
    let (_, answer) = raw(&standin, "POST", &path, "").await;
    assert_eq!(errcode(&answer), 44001);
}

/// A callback endpoint: decrypts what it receives and keeps the plaintexts.
async fn callback_server(crypto: CallbackCrypto) -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&received);
    let crypto = Arc::new(crypto);
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::post(move |uri: axum::http::Uri, body: axum::body::Bytes| {
            let (crypto, kept) = (Arc::clone(&crypto), Arc::clone(&kept));
            async move {
                let query = uri.query().unwrap_or_default();
                let opened = crypto.decrypt_request(query, &body);
                match opened {
                    Ok(plaintext) => {
                        kept.lock().unwrap().push(plaintext);
                        "success".to_owned()
                    }
                    Err(error) => format!("refused: {error}"),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

#[tokio::test]
async fn pushed_callbacks_open_with_the_receivers_keys() {
    let standin = Standin::start().await.unwrap();
    let crypto = CallbackCrypto::new("QDG6eK", AES_KEY, CORP).unwrap();
    let (url, received) = callback_server(crypto.clone()).await;
    let xml = "<xml><ToUserName><![CDATA[ww]]></ToUserName><MsgType><![CDATA[text]]></MsgType>\
               <Content><![CDATA[hi]]></Content></xml>";
    let reply = standin
        .push(&url, &crypto, &Callback::Xml(xml.into()))
        .await
        .unwrap();
    assert_eq!((reply.status, reply.body.as_str()), (200, "success"));
    let json = r#"{"msgtype":"text","text":{"content":"hi"}}"#;
    let reply = standin
        .push(&url, &crypto, &Callback::Json(json.into()))
        .await
        .unwrap();
    assert_eq!(reply.body, "success");
    assert_eq!(*received.lock().unwrap(), [xml, json]);
    // Sealed for another receiver, the push is refused by the handler.
    let other = CallbackCrypto::new("other", AES_KEY, CORP).unwrap();
    let reply = standin
        .push(&url, &other, &Callback::Xml(xml.into()))
        .await
        .unwrap();
    assert!(reply.body.starts_with("refused"), "{}", reply.body);
}

#[tokio::test]
async fn a_suite_gets_its_token_from_a_pushed_ticket_then_an_authorised_corps() {
    let standin = Standin::builder()
        .secret("wwsuite", "suite-secret")
        .start()
        .await
        .unwrap();
    let crypto = CallbackCrypto::new("QDG6eK", AES_KEY, "wwsuite").unwrap();
    let (url, received) = callback_server(crypto.clone()).await;
    // A ticket the stand-in never pushed gets no suite token.
    let guessed =
        json!({"suite_id": "wwsuite", "suite_secret": "suite-secret", "suite_ticket": "made-up"});
    let (_, answer) = raw(
        &standin,
        "POST",
        "/cgi-bin/service/get_suite_token",
        &guessed.to_string(),
    )
    .await;
    assert_eq!(errcode(&answer), 40085);
    let suite = Client::builder()
        .suite("wwsuite", "suite-secret")
        .base_url(standin.base_url())
        .build()
        .unwrap();

    let ticket = standin
        .push_suite_ticket(&url, &crypto, "wwsuite")
        .await
        .unwrap();
    let plaintext = received.lock().unwrap().pop().unwrap();
    assert!(plaintext.contains(&format!("<SuiteTicket><![CDATA[{ticket}]]></SuiteTicket>")));
    suite.save_ticket(&ticket, None).await.unwrap();
    suite
        .get_json("/cgi-bin/service/get_pre_auth_code", &[])
        .await
        .unwrap();

    let code = standin.issue_permanent_code("wwcorp");
    let corp = suite.authorized_corp("wwcorp", code).unwrap();
    corp.department().list().await.unwrap();
    let wrong = suite.authorized_corp("wwcorp", "not-issued").unwrap();
    let error = wrong.department().list().await.unwrap_err();
    assert_eq!(error.errcode(), Some(40084));
}

#[tokio::test]
async fn every_documented_callback_kind_can_be_pushed_and_opened() {
    let standin = Standin::start().await.unwrap();
    let crypto = CallbackCrypto::new("QDG6eK", AES_KEY, CORP).unwrap();
    let (url, received) = callback_server(crypto.clone()).await;
    let kinds: Vec<(&str, &Callback)> = Standin::callback_kinds().collect();
    assert!(kinds.len() > 100, "only {} kinds", kinds.len());
    for (kind, callback) in &kinds {
        let reply = standin.push_documented(&url, &crypto, kind).await.unwrap();
        assert_eq!(reply.body, "success", "{kind}");
        let plaintext = received.lock().unwrap().pop().unwrap();
        let (Callback::Xml(xml) | Callback::Json(xml)) = callback;
        assert_eq!(&plaintext, xml, "{kind}");
        // What the receiver opened parses as the typed kind it is.
        if let Callback::Xml(_) = callback {
            wecom_api::callback::Callback::parse(&plaintext).unwrap();
        }
    }
    let error = standin
        .push_documented(&url, &crypto, "NoSuchKind")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("NoSuchKind"));
}

#[tokio::test]
async fn downstream_provider_model_and_device_tokens_are_issued_and_used() {
    let standin = Standin::start().await.unwrap();
    let upstream = corp_client(&standin);
    let downstream = upstream
        .downstream_corp("wwdownstream", 1000003, wecom_api::CorpGroupKind::Chain)
        .unwrap();
    downstream.department().list().await.unwrap();
    let issued = standin.records_for("/cgi-bin/corpgroup/corp/gettoken");
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].body.as_ref().unwrap()["corpid"], "wwdownstream");
    // The downstream corp's calls carry the token issued for it, not the upstream one.
    let upstream_token = standin.records_for("token.get").len();
    assert_eq!(upstream_token, 1);
    let lists = standin.records_for("department.list");
    let downstream_token = lists[0].query_param("access_token").unwrap();
    assert_ne!(
        Some(downstream_token),
        issued[0].query_param("access_token")
    );

    let provider = Client::builder()
        .provider("wwprovider", "provider-secret")
        .base_url(standin.base_url())
        .build()
        .unwrap();
    let endpoint = Standin::endpoints()
        .iter()
        .find(|e| e.credential == "provider_access_token" && e.method == "POST")
        .unwrap();
    provider
        .post_json(&endpoint.path, &[], &endpoint.example_request)
        .await
        .unwrap();
    let sent = standin.records_for(&endpoint.id);
    assert!(
        sent[0]
            .query_param("provider_access_token")
            .unwrap()
            .starts_with("standin-provider")
    );

    let model = Client::builder()
        .hardware_model("model-1", "model-secret")
        .base_url(standin.base_url())
        .build()
        .unwrap();
    model.save_ticket("ticket", None).await.unwrap();
    let device = model.device("SN1", "device-secret").unwrap();
    let endpoint = Standin::endpoints()
        .iter()
        .find(|e| e.credential == "device_access_token" && e.method == "POST")
        .unwrap();
    let body = match &endpoint.example_request {
        Value::Null => json!({}),
        body => body.clone(),
    };
    device.post_json(&endpoint.path, &[], &body).await.unwrap();
    assert_eq!(
        standin.records_for("/cgi-bin/openhw/get_model_token").len(),
        1
    );
    assert_eq!(
        standin
            .records_for("/cgi-bin/openhw/get_device_token")
            .len(),
        1
    );
}
