//! Credentials found since the first redaction pass: a suite's `pre_auth_code` in an HTTP
//! error's excerpt and an AI bot's `response_url` (its query holds a one-time
//! `response_code`); and the README's feature table on the tokens `Client` holds.

mod runtime_common;

use httpmock::MockServer;
use runtime_common::{TOKEN, client, mock_gettoken};

const PRE_AUTH_CODE: &str = "PrEaUtH-Cx_Dk6qiBE0Dmx4EmlT3oRfArPvwSQ";
const RESPONSE_CODE: &str = "RePlYcOdE-9a8b7c";

#[tokio::test]
async fn a_pre_auth_code_in_an_http_error_excerpt_is_blanked() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/service/get_pre_auth_code");
            then.status(502).body(format!(
                r#"{{"errcode":0,"errmsg":"ok","pre_auth_code":"{PRE_AUTH_CODE}","expires_in":1200}}"#
            ));
        })
        .await;
    let e = client(&server)
        .get_json("/cgi-bin/service/get_pre_auth_code", &[])
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(502));
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("pre_auth_code"), "{shown}");
    assert!(!shown.contains(PRE_AUTH_CODE), "{shown}");
}

#[tokio::test]
async fn a_response_url_in_an_error_excerpt_is_blanked() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let url =
        format!("https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code={RESPONSE_CODE}");
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/aibot/echo");
            then.status(500)
                .body(format!(r#"{{"response_url":"{url}"}}"#));
        })
        .await;
    let e = client(&server)
        .get_json("/cgi-bin/aibot/echo", &[])
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("response_url"), "{shown}");
    assert!(!shown.contains(RESPONSE_CODE), "{shown}");
    assert!(!wecom_api::redact_url(&format!("ResponseUrl={url}")).contains(RESPONSE_CODE));
}

#[test]
fn the_feature_table_no_longer_says_provider_and_device_tokens_are_refused() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    for group in ["provider", "hardware"] {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{group}` |")))
            .unwrap_or_else(|| panic!("no `{group}` row in the feature table"));
        assert!(!row.contains("not held by"), "{row}");
        assert!(!row.contains("refused before sending, as above"), "{row}");
    }
}
