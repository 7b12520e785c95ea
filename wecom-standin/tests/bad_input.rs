//! Whatever arrives (any path, method, query and body bytes), the stand-in answers with a
//! WeCom errcode body and keeps serving: no panic, no dropped connection.

use proptest::prelude::*;
use wecom_standin::{Standin, TokenKind};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

const PATHS: &[&str] = &[
    "/cgi-bin/message/send",
    "/cgi-bin/user/get",
    "/cgi-bin/user/create",
    "/cgi-bin/gettoken",
    "/cgi-bin/media/upload",
    "/cgi-bin/webhook/send",
    "/cgi-bin/service/get_suite_token",
    "/cgi-bin/externalcontact/get",
    "/nowhere",
    "/",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_request_gets_an_errcode_answer(
        path in prop::sample::select(PATHS),
        post in any::<bool>(),
        with_token in any::<bool>(),
        query in "[a-z_=&%0-9]{0,30}",
        body in prop::collection::vec(any::<u8>(), 0..300),
        json_body in any::<bool>(),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let standin = Standin::start().await.unwrap();
            let token = standin.issue_token(TokenKind::Access, "ww");
            let token_param = if with_token { format!("access_token={token}&") } else { String::new() };
            let url = format!("{}{path}?{token_param}{query}", standin.base_url());
            let http = wecom_api::reqwest::Client::new();
            // Half the bodies are JSON of arbitrary shape, half arbitrary bytes.
            let bytes = if json_body {
                serde_json::to_vec(&serde_json::json!({"touser": body.len(), "text": {"content": body.first()}, "agentid": "1", "x": [body.get(1)]})).unwrap()
            } else {
                body.clone()
            };
            let request = if post { http.post(&url).body(bytes) } else { http.get(&url) };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let answer: serde_json::Value = response.json().await.unwrap();
            assert!(status == 200 || status == 404, "status {status}");
            assert!(answer["errcode"].is_i64(), "{answer}");
            if answer["errcode"] != 0 {
                assert!(answer["errmsg"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
            }
            // Still serving.
            let again = http.get(format!("{}/cgi-bin/gettoken?corpid=a&corpsecret=b", standin.base_url()));
            let answer: serde_json::Value = again.send().await.unwrap().json().await.unwrap();
            assert_eq!(answer["errcode"], 0);
        });
    }
}
