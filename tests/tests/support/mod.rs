//! A mock WeCom for the generated endpoint tests: serves `gettoken`, records the request an
//! endpoint receives and compares it with the documented one.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use httpmock::{HttpMockRequest, Mock, MockServer};
use serde_json::Value;

pub const CORP_ID: &str = "wwmockcorp0000001";
pub const SECRET: &str = "mock-secret-not-real";
pub const TOKEN: &str = "mock-access-token";
/// What `openhw/get_model_token` answers for a device client's model.
pub const MODEL_TOKEN: &str = "mock-model-token";
pub const DEVICE_SN: &str = "MOCKSN0001";

pub struct MockWeCom {
    pub server: MockServer,
    /// The credential `client()` holds.
    holds: Credential,
    /// Where `client()` finds the pushed ticket a suite or hardware model needs.
    store: wecom_api::MemoryTokenStore,
}

impl MockWeCom {
    /// A server with no mock yet, for endpoints that need no access token (`gettoken`).
    pub async fn bare() -> Self {
        MockWeCom {
            server: MockServer::start_async().await,
            holds: Credential::AccessToken,
            store: wecom_api::MemoryTokenStore::new(),
        }
    }

    /// A server that issues `TOKEN` for the credential `holds` (a suite, provider, hardware
    /// model or device token; none for a webhook key), and whose `client()` holds it.
    pub async fn holding(holds: Credential) -> Self {
        let mut mock = MockWeCom::bare().await;
        mock.holds = holds;
        let issued = |path: &'static str, field: &'static str, token: &'static str| {
            let server = &mock.server;
            async move {
                server
                    .mock_async(|when, then| {
                        when.method("POST").path(path);
                        then.status(200)
                            .json_body(serde_json::json!({ field: token, "expires_in": 7200 }));
                    })
                    .await;
            }
        };
        match holds {
            Credential::SuiteAccessToken => {
                issued(
                    "/cgi-bin/service/get_suite_token",
                    "suite_access_token",
                    TOKEN,
                )
                .await
            }
            Credential::ProviderAccessToken | Credential::ProviderAccessTokenAsAccessToken => {
                issued(
                    "/cgi-bin/service/get_provider_token",
                    "provider_access_token",
                    TOKEN,
                )
                .await
            }
            Credential::ModelAccessToken => {
                issued(
                    "/cgi-bin/openhw/get_model_token",
                    "model_access_token",
                    TOKEN,
                )
                .await
            }
            Credential::DeviceAccessToken => {
                issued(
                    "/cgi-bin/openhw/get_model_token",
                    "model_access_token",
                    MODEL_TOKEN,
                )
                .await;
                issued(
                    "/cgi-bin/openhw/get_device_token",
                    "device_access_token",
                    TOKEN,
                )
                .await;
            }
            Credential::AccessToken
            | Credential::CorpSecret
            | Credential::WebhookKey
            | Credential::None => {}
        }
        if matches!(
            holds,
            Credential::SuiteAccessToken
                | Credential::ModelAccessToken
                | Credential::DeviceAccessToken
        ) {
            // The suite (or model) client itself: a device's ticket is its model's.
            let pusher = mock
                .builder()
                .build()
                .expect("a client for the mock server");
            pusher
                .save_ticket("mock-ticket", None)
                .await
                .expect("the ticket is kept");
        }
        mock
    }

    /// A server that answers `gettoken` for `CORP_ID`/`SECRET` with `TOKEN`.
    pub async fn start() -> Self {
        let mock = MockWeCom::bare().await;
        mock.server
            .mock_async(|when, then| {
                when.method("GET")
                    .path("/cgi-bin/gettoken")
                    .query_param("corpid", CORP_ID)
                    .query_param("corpsecret", SECRET);
                then.status(200).json_body(serde_json::json!({
                    "errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200
                }));
            })
            .await;
        mock
    }

    /// The builder of the client for this server (for a device: of its model's client).
    fn builder(&self) -> wecom_api::ClientBuilder {
        let builder = wecom_api::Client::builder()
            .base_url(self.server.base_url())
            .token_store(self.store.clone());
        match self.holds {
            Credential::SuiteAccessToken => builder.suite(CORP_ID, SECRET),
            Credential::ProviderAccessToken | Credential::ProviderAccessTokenAsAccessToken => {
                builder.provider(CORP_ID, SECRET)
            }
            Credential::ModelAccessToken | Credential::DeviceAccessToken => {
                builder.hardware_model(CORP_ID, SECRET)
            }
            Credential::WebhookKey => builder.webhook_key(SECRET),
            Credential::AccessToken | Credential::CorpSecret | Credential::None => {
                builder.corp_id(CORP_ID).secret(SECRET)
            }
        }
    }

    pub fn client(&self) -> wecom_api::Client {
        let client = self
            .builder()
            .build()
            .expect("a client for the mock server");
        match self.holds {
            Credential::DeviceAccessToken => client
                .device(DEVICE_SN, SECRET)
                .expect("a device client for the mock server"),
            _ => client,
        }
    }

    /// Answers `method path` with the JSON `response` and records what the call sent.
    pub async fn expect_call(
        &self,
        credential: Credential,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
        response: &str,
    ) -> ExpectedCall<'_> {
        let response = response.to_string();
        let mut expected = self
            .recorded(credential, method, path, query, move |then| {
                then.status(200)
                    .header("content-type", "application/json; charset=UTF-8")
                    .body(response);
            })
            .await;
        expected.body = body.map(|b| serde_json::from_str(b).expect("documented request is JSON"));
        expected
    }

    /// Answers `method path` with the bytes of a file.
    pub async fn expect_download(
        &self,
        credential: Credential,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        file: &'static [u8],
    ) -> ExpectedCall<'_> {
        self.recorded(credential, method, path, query, move |then| {
            then.status(200)
                .header("content-type", "application/octet-stream")
                .header(
                    "content-disposition",
                    "attachment; filename=\"example.bin\"",
                )
                .body(file);
        })
        .await
    }

    /// A mock of `method path` answering with `respond`, recording every request it gets.
    async fn recorded(
        &self,
        credential: Credential,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        respond: impl FnOnce(httpmock::Then),
    ) -> ExpectedCall<'_> {
        let seen: Arc<Mutex<Vec<HttpMockRequest>>> = Arc::default();
        let recorder = Arc::clone(&seen);
        let mock = self
            .server
            .mock_async(|when, then| {
                when.method(method).path(path).is_true(move |request| {
                    if let Ok(mut seen) = recorder.lock() {
                        seen.push(request.clone());
                    }
                    true
                });
                respond(then);
            })
            .await;
        ExpectedCall {
            mock,
            credential,
            seen,
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: None,
        }
    }
}

/// The credential an endpoint's request must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    AccessToken,
    CorpSecret,
    /// `key=SECRET`: the client is built with `webhook_key(SECRET)`.
    WebhookKey,
    /// `suite_access_token=TOKEN`: a suite client with a pushed ticket.
    SuiteAccessToken,
    /// `provider_access_token=TOKEN`.
    ProviderAccessToken,
    /// `access_token=TOKEN`, the provider's token.
    ProviderAccessTokenAsAccessToken,
    /// `model_access_token=TOKEN`: a hardware model client with a pushed ticket.
    ModelAccessToken,
    /// `device_access_token=TOKEN`: a device of a hardware model client.
    DeviceAccessToken,
    None,
}

impl Credential {
    /// The query parameter that carries the token, for the kinds that send one.
    fn token_param(self) -> Option<&'static str> {
        match self {
            Credential::AccessToken | Credential::ProviderAccessTokenAsAccessToken => {
                Some("access_token")
            }
            Credential::SuiteAccessToken => Some("suite_access_token"),
            Credential::ProviderAccessToken => Some("provider_access_token"),
            Credential::ModelAccessToken => Some("model_access_token"),
            Credential::DeviceAccessToken => Some("device_access_token"),
            Credential::CorpSecret | Credential::WebhookKey | Credential::None => None,
        }
    }
}

pub struct ExpectedCall<'a> {
    mock: Mock<'a>,
    credential: Credential,
    seen: Arc<Mutex<Vec<HttpMockRequest>>>,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl ExpectedCall<'_> {
    /// The endpoint was called once, with the access token, the documented query and body.
    pub async fn assert_async(&self) {
        self.mock.assert_async().await;
        let seen = self.seen.lock().expect("recorder lock").clone();
        let request = seen.last().expect("the endpoint received a request");
        let mut query = request.query_params();
        if let Some(param) = self
            .credential
            .token_param()
            .filter(|p| *p != "access_token")
        {
            assert_eq!(
                take_param(&mut query, param).as_deref(),
                Some(TOKEN),
                "the call carries its {param}"
            );
        }
        let token = take_param(&mut query, "access_token");
        let corpid = take_param(&mut query, "corpid");
        let corpsecret = take_param(&mut query, "corpsecret");
        match self.credential {
            Credential::SuiteAccessToken
            | Credential::ProviderAccessToken
            | Credential::ModelAccessToken
            | Credential::DeviceAccessToken => {
                assert_eq!(
                    token, None,
                    "the call carries no access_token beside its token"
                );
            }
            Credential::AccessToken | Credential::ProviderAccessTokenAsAccessToken => {
                assert_eq!(
                    token.as_deref(),
                    Some(TOKEN),
                    "the call carries the access token"
                );
            }
            Credential::CorpSecret => {
                assert_eq!(
                    corpid.as_deref(),
                    Some(CORP_ID),
                    "gettoken carries the corp id"
                );
                assert_eq!(
                    corpsecret.as_deref(),
                    Some(SECRET),
                    "gettoken carries the secret"
                );
                assert_eq!(token, None, "gettoken carries no access token");
            }
            Credential::WebhookKey => {
                assert_eq!(token, None, "a webhook call carries no access token");
                assert_eq!(
                    take_param(&mut query, "key").as_deref(),
                    Some(SECRET),
                    "the call carries the webhook key"
                );
            }
            Credential::None => assert_eq!(token, None, "the call carries no credential"),
        }
        let mut expected = self.query.clone();
        query.sort();
        expected.sort();
        assert_eq!(query, expected, "query parameters sent");
        if let Some(expected) = &self.body {
            let sent: Value = serde_json::from_slice(request.body_ref())
                .unwrap_or_else(|e| panic!("the body sent is not JSON: {e}"));
            if let Err(problem) = equivalent(expected, &sent, "$") {
                panic!("request body differs from the documented one at {problem}\nsent: {sent:#}");
            }
        }
    }
}

impl ExpectedCall<'_> {
    /// The last request carried one multipart file part `part` named `file_name` holding
    /// `content`, laid out as WeCom documents it.
    pub fn assert_upload(&self, part: &str, file_name: &str, content: &[u8]) {
        let seen = self.seen.lock().expect("recorder lock").clone();
        let request = seen.last().expect("the endpoint received a request");
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_else(|| panic!("not a multipart upload: {content_type}"));
        let mut expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\";filename=\"{file_name}\"; \
             filelength={}\r\nContent-Type: ",
            content.len()
        )
        .into_bytes();
        let body = request.body_ref();
        assert!(
            body.starts_with(&expected),
            "upload part header differs:\n{}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        expected.clear();
        expected.extend_from_slice(b"\r\n\r\n");
        expected.extend_from_slice(content);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert!(
            body.ends_with(&expected),
            "upload content or closing differs"
        );
    }
}

fn take_param(query: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let index = query.iter().position(|(k, _)| k == name)?;
    Some(query.remove(index).1)
}

/// A documented example decodes to typed variants only: no enum or union fell back to its
/// `Unknown(..)` catch-all (a round trip alone would not notice, since `Unknown` keeps all).
pub fn assert_typed<T: std::fmt::Debug>(decoded: &T) {
    let debug = format!("{decoded:?}");
    assert!(
        !debug.contains("Unknown("),
        "a documented example decoded to an Unknown variant: {debug}"
    );
}

/// The decoded response, serialized again, still holds every field of the documented one,
/// in typed variants.
pub fn assert_decoded<T: serde::Serialize + std::fmt::Debug>(documented: &str, decoded: &T) {
    assert_typed(decoded);
    let mut documented: Value = serde_json::from_str(documented).expect("documented response");
    if let Some(map) = documented.as_object_mut() {
        map.remove("errcode");
        map.remove("errmsg");
    }
    let decoded = serde_json::to_value(decoded).expect("decoded response serializes");
    if let Err(problem) = covers(&documented, &decoded, "$") {
        panic!(
            "a documented response field was lost or changed at {problem}\ndecoded: {decoded:#}"
        );
    }
}

/// Whether `actual` holds everything in `expected` (nulls may be absent).
fn covers(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    covers_in(expected, actual, at, Bools::FlagsDecoded)
}

/// Whether a documented 0/1 may come back as a `bool` (a decoded response) or must be sent
/// exactly as documented (a request body: WeCom reads `true` and `1` differently).
#[derive(Clone, Copy, PartialEq)]
enum Bools {
    FlagsDecoded,
    Exact,
}

fn covers_in(expected: &Value, actual: &Value, at: &str, bools: Bools) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let place = format!("{at}.{key}");
                match have.get(key) {
                    Some(found) => covers_in(value, found, &place, bools)?,
                    // An empty list or map decodes to an empty Vec/map, which is not re-sent.
                    None if value.is_null() || is_empty_container(value) => {}
                    None => return Err(format!("{place}: missing")),
                }
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => want
            .iter()
            .zip(have)
            .enumerate()
            .try_for_each(|(i, (w, h))| covers_in(w, h, &format!("{at}[{i}]"), bools)),
        _ if same_scalar(expected, actual, bools) => Ok(()),
        _ => Err(format!("{at}: expected {expected}, found {actual}")),
    }
}

fn is_empty_container(value: &Value) -> bool {
    matches!(value, Value::Array(a) if a.is_empty())
        || matches!(value, Value::Object(m) if m.is_empty())
}

/// Same JSON both ways, with `covers`' leniency.
fn equivalent(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    covers_in(expected, actual, at, Bools::Exact)?;
    covers_in(actual, expected, at, Bools::Exact)
}

/// Equal scalars, where a number and its decimal string count as equal (WeCom mixes them).
fn same_scalar(a: &Value, b: &Value, bools: Bools) -> bool {
    match (a, b) {
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            s.trim() == n.to_string()
        }
        // `0` decoded into an `f64` comes back as `0.0`: the same number.
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        // A 0/1 flag decodes to a `bool`.
        (Value::Number(n), Value::Bool(b)) | (Value::Bool(b), Value::Number(n))
            if bools == Bools::FlagsDecoded =>
        {
            n.as_i64() == Some(i64::from(*b))
        }
        _ => a == b,
    }
}

#[test]
fn covers_reports_lost_and_changed_fields() {
    let documented = serde_json::json!({"a": 1, "b": {"c": "x"}, "d": [1, 2]});
    assert!(
        covers(
            &documented,
            &serde_json::json!({"a": "1", "b": {"c": "x"}, "d": [1, 2]}),
            "$"
        )
        .is_ok()
    );
    assert!(
        covers(
            &documented,
            &serde_json::json!({"a": 1, "b": {}, "d": [1, 2]}),
            "$"
        )
        .unwrap_err()
        .contains("$.b.c")
    );
    assert!(
        covers(
            &documented,
            &serde_json::json!({"a": 2, "b": {"c": "x"}, "d": [1, 2]}),
            "$"
        )
        .is_err()
    );
    assert!(
        covers(
            &documented,
            &serde_json::json!({"a": 1, "b": {"c": "x"}, "d": [1]}),
            "$"
        )
        .is_err()
    );
}
