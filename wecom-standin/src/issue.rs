//! The endpoints that issue credentials: their documented answer with a token the stand-in
//! made (and will accept) in place of the example's.

use serde_json::Value;

use crate::credentials::{Credentials, TokenKind};
use crate::table::Endpoint;
use crate::validate::Rejection;

/// The answer of a credential-issuing endpoint; `None` for every other endpoint.
pub(crate) fn issuer_answer(
    credentials: &mut Credentials,
    endpoint: &Endpoint,
    query: &[(String, String)],
    body: &Value,
) -> Result<Option<Value>, Rejection> {
    let from_query = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let from_body = |name: &str| match body.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let bad_secret = || Rejection::new(40001, "invalid credential: secret, hint: [wecom-standin]");
    let bad_ticket = || Rejection::new(40085, "invalid suite_ticket, hint: [wecom-standin]");
    let (kind, owner, field) = match endpoint.path.as_str() {
        "/cgi-bin/gettoken" => {
            // The spec leaves corpid and corpsecret to the runtime: checked here.
            let corp_id = from_query("corpid");
            if corp_id.is_empty() {
                return Err(crate::validate::missing("corpid"));
            }
            if from_query("corpsecret").is_empty() {
                return Err(crate::validate::missing("corpsecret"));
            }
            if !credentials.knows_id(&corp_id) {
                return Err(Rejection::new(
                    40013,
                    "invalid corpid, hint: [wecom-standin]",
                ));
            }
            if !credentials.secret_ok(&corp_id, &from_query("corpsecret")) {
                return Err(bad_secret());
            }
            (TokenKind::Access, corp_id, "access_token")
        }
        "/cgi-bin/service/get_suite_token" => {
            let suite_id = from_body("suite_id");
            if !credentials.secret_ok(&suite_id, &from_body("suite_secret")) {
                return Err(bad_secret());
            }
            if !credentials.ticket_ok(&suite_id, &from_body("suite_ticket")) {
                return Err(bad_ticket());
            }
            (TokenKind::Suite, suite_id, "suite_access_token")
        }
        "/cgi-bin/service/get_corp_token" => {
            let corp_id = from_body("auth_corpid");
            if !credentials.permanent_code_ok(&corp_id, &from_body("permanent_code")) {
                return Err(Rejection::new(
                    40084,
                    "invalid permanent_code, hint: [wecom-standin]",
                ));
            }
            (TokenKind::Access, corp_id, "access_token")
        }
        "/cgi-bin/service/get_permanent_code" => {
            return Ok(Some(permanent_code(credentials, endpoint)));
        }
        "/cgi-bin/service/get_provider_token" => {
            let corp_id = from_body("corpid");
            if !credentials.secret_ok(&corp_id, &from_body("provider_secret")) {
                return Err(bad_secret());
            }
            (TokenKind::Provider, corp_id, "provider_access_token")
        }
        "/cgi-bin/corpgroup/corp/gettoken" => {
            // A downstream corp's token, issued on its upstream corp's token.
            (TokenKind::Access, from_body("corpid"), "access_token")
        }
        "/cgi-bin/openhw/get_model_token" => {
            let model_id = from_body("model_id");
            if !credentials.secret_ok(&model_id, &from_body("model_secret")) {
                return Err(bad_secret());
            }
            if !credentials.ticket_ok(&model_id, &from_body("model_ticket")) {
                return Err(bad_ticket());
            }
            (TokenKind::Model, model_id, "model_access_token")
        }
        "/cgi-bin/openhw/get_device_token" => (
            TokenKind::Device,
            from_body("device_sn"),
            "device_access_token",
        ),
        _ => return Ok(None),
    };
    let (token, lifetime) = credentials.issue(kind, &owner);
    let mut answer = endpoint.response.clone();
    if let Value::Object(map) = &mut answer {
        map.insert(field.to_owned(), Value::String(token));
        map.insert("expires_in".to_owned(), Value::from(lifetime));
    }
    Ok(Some(answer))
}

/// get_permanent_code: the documented answer with a fresh permanent code, which get_corp_token
/// then accepts for the answer's corp.
fn permanent_code(credentials: &mut Credentials, endpoint: &Endpoint) -> Value {
    let code = credentials.fresh("standin-permanent-code");
    let mut answer = endpoint.response.clone();
    let corp_id = answer
        .pointer("/auth_corp_info/corpid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    credentials.add_permanent_code(&corp_id, &code);
    if let Value::Object(map) = &mut answer {
        map.insert("permanent_code".to_owned(), Value::String(code));
    }
    answer
}
