//! Every endpoint's documented request (query and body, from the generated table) goes
//! through `wecom_api::Client` to the stand-in with the credential its spec names, and comes
//! back with errcode 0: the spec's examples, the client and the stand-in's validation agree.

use serde_json::Value;
use wecom_api::{Client, UploadFile};
use wecom_standin::Standin;

struct Clients {
    corp: Client,
    suite: Client,
    provider: Client,
    model: Client,
    device: Client,
    robot: Client,
}

async fn clients(standin: &Standin) -> Clients {
    let base = standin.base_url();
    let build = |b: wecom_api::ClientBuilder| b.base_url(base.clone()).build().unwrap();
    let corp = build(Client::builder().corp_id("ww0123456789abcdef").secret("s"));
    let suite = build(Client::builder().suite("wwsuite", "suite-secret"));
    suite.save_ticket("pushed-ticket", None).await.unwrap();
    let provider = build(Client::builder().provider("wwprovider", "provider-secret"));
    let model = build(Client::builder().hardware_model("model-1", "model-secret"));
    model.save_ticket("model-ticket", None).await.unwrap();
    let device = model.device("SN0001", "device-secret").unwrap();
    let robot = build(Client::builder().webhook_key(standin.issue_webhook_key()));
    Clients {
        corp,
        suite,
        provider,
        model,
        device,
        robot,
    }
}

fn query_pairs(example: &Value) -> Vec<(String, String)> {
    let Value::Object(map) = example else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_request_is_answered_with_errcode_0() {
    let standin = Standin::start().await.unwrap();
    let clients = clients(&standin).await;
    let mut failures = Vec::new();
    let mut count = 0;
    let mut provider_as_access_token = Vec::new();
    for endpoint in Standin::endpoints() {
        count += 1;
        let (id, method, path) = (&endpoint.id, &endpoint.method, endpoint.path.as_str());
        let client = match endpoint.credential.as_str() {
            "suite_access_token" => &clients.suite,
            "provider_access_token" => &clients.provider,
            "model_access_token" => &clients.model,
            "device_access_token" => &clients.device,
            "webhook_key" => &clients.robot,
            // A provider token under the name `access_token`: no raw call sends that, so
            // this one goes by hand below.
            "provider_access_token_as_access_token" => {
                provider_as_access_token.push(endpoint);
                continue;
            }
            _ => &clients.corp,
        };
        let mut pairs = query_pairs(&endpoint.example_query);
        if endpoint.credential == "corp_secret" {
            // The spec leaves these to the runtime, which adds them when it fetches a token.
            pairs.push(("corpid".into(), "ww0123456789abcdef".into()));
            pairs.push(("corpsecret".into(), "s".into()));
        }
        let query: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let result = if let Some((part, _)) = endpoint.multipart() {
            let file = UploadFile::from_bytes(upload_name(path), &b"example"[..]);
            client.upload(path, &query, part, file).await.map(|_| ())
        } else if endpoint.is_binary() {
            client.download(path, &query).await.map(|_| ())
        } else if method == "GET" {
            client.get_json(path, &query).await.map(|_| ())
        } else {
            let body = match &endpoint.example_request {
                Value::Null => serde_json::json!({}),
                body => body.clone(),
            };
            client.post_json(path, &query, &body).await.map(|_| ())
        };
        if let Err(error) = result {
            failures.push(format!("{id} ({method} {path}): {error}"));
        }
    }
    for endpoint in provider_as_access_token {
        let token = standin.issue_token(wecom_standin::TokenKind::Provider, "wwprovider");
        let url = format!(
            "{}{}?access_token={token}",
            standin.base_url(),
            endpoint.path
        );
        let http = wecom_api::reqwest::Client::new();
        let request = if endpoint.method == "GET" {
            http.get(&url)
        } else {
            http.post(&url)
        };
        let body = match &endpoint.example_request {
            Value::Null => "{}".to_owned(),
            body => body.to_string(),
        };
        let answer: Value = request
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer["errcode"] != 0 {
            failures.push(format!("{} ({}): {answer}", endpoint.id, endpoint.path));
        }
    }
    // Each endpoint reached the stand-in under its own path.
    let reached: std::collections::BTreeSet<String> = standin
        .records()
        .into_iter()
        .filter_map(|r| r.endpoint)
        .collect();
    let missed: Vec<&str> = Standin::endpoints()
        .iter()
        .map(|e| e.id.as_str())
        .filter(|id| !reached.contains(*id))
        .collect();
    assert!(missed.is_empty(), "never reached the stand-in: {missed:?}");
    let unknown = standin.unknown_fields();
    eprintln!(
        "{} documented request fields the spec does not list",
        unknown.len()
    );
    // The spec's whole catalog: a table that lost endpoints would pass everything else.
    assert!(count >= 837, "only {count} endpoints in the table");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A file name whose extension the upload's endpoint accepts.
fn upload_name(path: &str) -> &'static str {
    if path.contains("voice") {
        "example.amr"
    } else {
        "example.jpg"
    }
}
