//! One issuer request per token key, whichever client asks: for every credential kind,
//! clients made per call (as web handlers make them) and run concurrently ask WeCom once
//! per key when cold, and once more per key after WeCom rejects the token.

mod runtime_common;

use std::sync::Arc;
use std::time::Duration;

use httpmock::{Mock, MockServer};
use runtime_common::fast_retry;
use serde_json::{Value, json};
use tokio::sync::Barrier;
use wecom_api::{Client, ClientBuilder, CorpGroupKind, MemoryTokenStore};

/// A path outside the spec: a raw call sends the client's own token under the name its
/// kind takes.
const PROBE: &str = "/cgi-bin/single_flight_probe";
const OLD: &str = "ToKeN-old-5e1f";
const NEW: &str = "ToKeN-new-90ab";
/// What the issuers of the tokens other tokens are obtained with answer.
const UPSTREAM: &str = "ToKeN-upstream-c3d4";
/// Concurrent calls per key, each through a client of its own.
const PER_KEY: usize = 8;
/// Long enough for every concurrent caller to arrive while the first refresh is out.
const ISSUER_DELAY: Duration = Duration::from_millis(150);

/// Makes the client of one call for key `k`.
type MakeClient = Arc<dyn Fn(usize) -> Client + Send + Sync>;

/// An issuer: where it is, what its answer names the token, and what tells its keys
/// apart in a request.
struct Issuer {
    method: &'static str,
    path: &'static str,
    field: &'static str,
    /// A JSON body field (POST) or query parameter (GET) and its value for key `k`.
    key_field: &'static str,
    key_value: fn(usize) -> String,
}

/// One credential kind under test.
struct Kind {
    issuer: Issuer,
    keys: usize,
    /// The query parameter calls send the token in.
    param: &'static str,
    /// What WeCom answers a call made with an expired token.
    rejected_with: i64,
}

fn base(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.base_url())
        .retry_policy(fast_retry())
}

/// One mock per key, answering `token` after a while.
async fn mock_issuer<'a>(
    server: &'a MockServer,
    issuer: &Issuer,
    k: usize,
    token: &str,
) -> Mock<'a> {
    let key = (issuer.key_value)(k);
    let answer = json!({ "errcode": 0, "errmsg": "ok", issuer.field: token, "expires_in": 7200 });
    server
        .mock_async(|when, then| {
            let when = when.method(issuer.method).path(issuer.path);
            if issuer.method == "GET" {
                when.query_param(issuer.key_field, key);
            } else {
                when.json_body_includes(json!({ issuer.key_field: key }).to_string());
            }
            then.status(200).delay(ISSUER_DELAY).json_body(answer);
        })
        .await
}

async fn mock_probe<'a>(
    server: &'a MockServer,
    param: &str,
    token: &str,
    errcode: i64,
) -> Mock<'a> {
    let answer = if errcode == 0 {
        json!({ "errcode": 0, "errmsg": "ok" })
    } else {
        json!({ "errcode": errcode, "errmsg": "token expired" })
    };
    server
        .mock_async(|when, then| {
            when.method("GET").path(PROBE).query_param(param, token);
            then.status(200).json_body(answer);
        })
        .await
}

/// `PER_KEY` calls per key at once, each through a client made for it.
async fn calls_at_once(make: &MakeClient, keys: usize) {
    let barrier = Arc::new(Barrier::new(keys * PER_KEY));
    let mut tasks = Vec::new();
    for k in 0..keys {
        for _ in 0..PER_KEY {
            let (make, barrier) = (Arc::clone(make), Arc::clone(&barrier));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                make(k).get_json(PROBE, &[]).await
            }));
        }
    }
    for t in tasks {
        let answer: Value = t.await.expect("call task").expect("call");
        assert_eq!(answer["errcode"], 0);
    }
}

/// Cold: one issuer request per key. Then WeCom rejects the token: one more per key.
async fn one_request_per_key(server: &MockServer, kind: &Kind, make: MakeClient) {
    let mut old_issuers = Vec::new();
    for k in 0..kind.keys {
        old_issuers.push(mock_issuer(server, &kind.issuer, k, OLD).await);
    }
    let old_ok = mock_probe(server, kind.param, OLD, 0).await;
    calls_at_once(&make, kind.keys).await;
    for (k, issuer) in old_issuers.iter().enumerate() {
        assert_eq!(issuer.calls_async().await, 1, "cold: requests for key {k}");
    }
    assert_eq!(old_ok.calls_async().await, kind.keys * PER_KEY);

    for issuer in old_issuers {
        issuer.delete_async().await;
    }
    old_ok.delete_async().await;
    let rejecting = mock_probe(server, kind.param, OLD, kind.rejected_with).await;
    let new_ok = mock_probe(server, kind.param, NEW, 0).await;
    let mut new_issuers = Vec::new();
    for k in 0..kind.keys {
        new_issuers.push(mock_issuer(server, &kind.issuer, k, NEW).await);
    }
    calls_at_once(&make, kind.keys).await;
    for (k, issuer) in new_issuers.iter().enumerate() {
        assert_eq!(
            issuer.calls_async().await,
            1,
            "after errcode {}: requests for key {k}",
            kind.rejected_with
        );
    }
    assert!(rejecting.calls_async().await >= kind.keys);
    assert_eq!(new_ok.calls_async().await, kind.keys * PER_KEY);
}

/// A stable issuer of the token another kind's issuer is called with.
async fn mock_upstream<'a>(
    server: &'a MockServer,
    method: &str,
    path: &str,
    field: &str,
) -> Mock<'a> {
    let answer = json!({ "errcode": 0, "errmsg": "ok", field: UPSTREAM, "expires_in": 7200 });
    server
        .mock_async(|when, then| {
            when.method(method).path(path);
            then.status(200).delay(ISSUER_DELAY).json_body(answer);
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corp_secret_clients_made_per_call() {
    let server = MockServer::start_async().await;
    let store = MemoryTokenStore::new();
    let url = server.base_url();
    let make: MakeClient = Arc::new(move |k| {
        Client::builder()
            .base_url(url.clone())
            .retry_policy(fast_retry())
            .corp_id(format!("wwcorp{k}"))
            .secret(format!("SeCrEt-corp-{k}"))
            .token_store(store.clone())
            .build()
            .expect("corp client")
    });
    let kind = Kind {
        issuer: Issuer {
            method: "GET",
            path: "/cgi-bin/gettoken",
            field: "access_token",
            key_field: "corpid",
            key_value: |k| format!("wwcorp{k}"),
        },
        keys: 3,
        param: "access_token",
        rejected_with: 42001,
    };
    one_request_per_key(&server, &kind, make).await;
}

async fn save_tickets(server: &MockServer, store: &MemoryTokenStore, suite: bool, ids: &[String]) {
    for id in ids {
        let b = base(server).token_store(store.clone());
        let client = if suite {
            b.suite(id.clone(), "SeCrEt-suite")
        } else {
            b.hardware_model(id.clone(), "SeCrEt-model")
        };
        let saved = client
            .build()
            .unwrap()
            .save_ticket("TiCkEt-pushed", None)
            .await;
        assert!(saved.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suite_clients_made_per_call() {
    let server = MockServer::start_async().await;
    let store = MemoryTokenStore::new();
    let ids: Vec<String> = (0..2).map(|k| format!("wwsuite{k}")).collect();
    save_tickets(&server, &store, true, &ids).await;
    let url = server.base_url();
    let make: MakeClient = Arc::new(move |k| {
        Client::builder()
            .base_url(url.clone())
            .retry_policy(fast_retry())
            .suite(format!("wwsuite{k}"), "SeCrEt-suite")
            .token_store(store.clone())
            .build()
            .expect("suite client")
    });
    let kind = Kind {
        issuer: Issuer {
            method: "POST",
            path: "/cgi-bin/service/get_suite_token",
            field: "suite_access_token",
            key_field: "suite_id",
            key_value: |k| format!("wwsuite{k}"),
        },
        keys: 2,
        param: "suite_access_token",
        rejected_with: 42009,
    };
    one_request_per_key(&server, &kind, make).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn authorised_corp_clients_made_per_call_from_suites_made_per_call() {
    let server = MockServer::start_async().await;
    let store = MemoryTokenStore::new();
    save_tickets(&server, &store, true, &["wwsuite".into()]).await;
    let suite_issuer = mock_upstream(
        &server,
        "POST",
        "/cgi-bin/service/get_suite_token",
        "suite_access_token",
    )
    .await;
    let url = server.base_url();
    let make: MakeClient = Arc::new(move |k| {
        Client::builder()
            .base_url(url.clone())
            .retry_policy(fast_retry())
            .suite("wwsuite", "SeCrEt-suite")
            .token_store(store.clone())
            .build()
            .expect("suite client")
            .authorized_corp(format!("wwauth{k}"), format!("PeRmAnEnT-{k}"))
            .expect("authorised corp client")
    });
    let kind = Kind {
        issuer: Issuer {
            method: "POST",
            path: "/cgi-bin/service/get_corp_token",
            field: "access_token",
            key_field: "auth_corpid",
            key_value: |k| format!("wwauth{k}"),
        },
        keys: 3,
        param: "access_token",
        rejected_with: 40014,
    };
    one_request_per_key(&server, &kind, make).await;
    assert_eq!(suite_issuer.calls_async().await, 1, "the suite token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_clients_made_per_call() {
    let server = MockServer::start_async().await;
    let store = MemoryTokenStore::new();
    let url = server.base_url();
    let make: MakeClient = Arc::new(move |k| {
        Client::builder()
            .base_url(url.clone())
            .retry_policy(fast_retry())
            .provider(format!("wwprovider{k}"), "SeCrEt-provider")
            .token_store(store.clone())
            .build()
            .expect("provider client")
    });
    let kind = Kind {
        issuer: Issuer {
            method: "POST",
            path: "/cgi-bin/service/get_provider_token",
            field: "provider_access_token",
            key_field: "corpid",
            key_value: |k| format!("wwprovider{k}"),
        },
        keys: 2,
        param: "provider_access_token",
        rejected_with: 40082,
    };
    one_request_per_key(&server, &kind, make).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn downstream_corp_clients_made_per_call_from_corps_made_per_call() {
    let server = MockServer::start_async().await;
    let upstream = mock_upstream(&server, "GET", "/cgi-bin/gettoken", "access_token").await;
    let store = MemoryTokenStore::new();
    let url = server.base_url();
    let make: MakeClient = Arc::new(move |k| {
        Client::builder()
            .base_url(url.clone())
            .retry_policy(fast_retry())
            .corp_id("wwupstream")
            .secret("SeCrEt-upstream")
            .token_store(store.clone())
            .build()
            .expect("upstream client")
            .downstream_corp(format!("wwdown{k}"), 1000002, CorpGroupKind::Chain)
            .expect("downstream client")
    });
    let kind = Kind {
        issuer: Issuer {
            method: "POST",
            path: "/cgi-bin/corpgroup/corp/gettoken",
            field: "access_token",
            key_field: "corpid",
            key_value: |k| format!("wwdown{k}"),
        },
        keys: 3,
        param: "access_token",
        rejected_with: 42001,
    };
    one_request_per_key(&server, &kind, make).await;
    assert_eq!(upstream.calls_async().await, 1, "the upstream corp's token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hardware_model_clients_made_per_call() {
    let server = MockServer::start_async().await;
    let store = MemoryTokenStore::new();
    let ids: Vec<String> = (0..2).map(|k| format!("mdl{k}")).collect();
    save_tickets(&server, &store, false, &ids).await;
    let url = server.base_url();
    let make: MakeClient = Arc::new(move |k| {
        Client::builder()
            .base_url(url.clone())
            .retry_policy(fast_retry())
            .hardware_model(format!("mdl{k}"), "SeCrEt-model")
            .token_store(store.clone())
            .build()
            .expect("model client")
    });
    let kind = Kind {
        issuer: Issuer {
            method: "POST",
            path: "/cgi-bin/openhw/get_model_token",
            field: "model_access_token",
            key_field: "model_id",
            key_value: |k| format!("mdl{k}"),
        },
        keys: 2,
        param: "model_access_token",
        rejected_with: 40014,
    };
    one_request_per_key(&server, &kind, make).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn device_clients_made_per_call_from_models_made_per_call() {
    let server = MockServer::start_async().await;
    let store = MemoryTokenStore::new();
    save_tickets(&server, &store, false, &["mdl".into()]).await;
    let model_issuer = mock_upstream(
        &server,
        "POST",
        "/cgi-bin/openhw/get_model_token",
        "model_access_token",
    )
    .await;
    let url = server.base_url();
    let make: MakeClient = Arc::new(move |k| {
        Client::builder()
            .base_url(url.clone())
            .retry_policy(fast_retry())
            .hardware_model("mdl", "SeCrEt-model")
            .token_store(store.clone())
            .build()
            .expect("model client")
            .device(format!("SN{k}"), format!("SeCrEt-device-{k}"))
            .expect("device client")
    });
    let kind = Kind {
        issuer: Issuer {
            method: "POST",
            path: "/cgi-bin/openhw/get_device_token",
            field: "device_access_token",
            key_field: "device_sn",
            key_value: |k| format!("SN{k}"),
        },
        keys: 3,
        param: "device_access_token",
        rejected_with: 42001,
    };
    one_request_per_key(&server, &kind, make).await;
    assert_eq!(model_issuer.calls_async().await, 1, "the model token");
}

/// The issue's case: a suite, 60 authorised corps, 5 concurrent `user().get` per corp,
/// each through `suite.authorized_corp(..)` made for that call.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_corps_five_calls_each_through_per_call_clients() {
    const CORPS: usize = 60;
    const CALLS: usize = 5;
    let server = MockServer::start_async().await;
    let suite_issuer = mock_upstream(
        &server,
        "POST",
        "/cgi-bin/service/get_suite_token",
        "suite_access_token",
    )
    .await;
    let corp_issuer = Issuer {
        method: "POST",
        path: "/cgi-bin/service/get_corp_token",
        field: "access_token",
        key_field: "auth_corpid",
        key_value: |k| format!("wwauth{k}"),
    };
    let mut issuers = Vec::new();
    for k in 0..CORPS {
        issuers.push(mock_issuer(&server, &corp_issuer, k, OLD).await);
    }
    let user_get = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/user/get")
                .query_param("access_token", OLD)
                .query_param("userid", "zhangsan");
            then.status(200)
                .json_body(json!({ "errcode": 0, "errmsg": "ok", "userid": "zhangsan" }));
        })
        .await;
    let suite = base(&server)
        .suite("wwsuite", "SeCrEt-suite")
        .build()
        .unwrap();
    suite.save_ticket("TiCkEt-pushed", None).await.unwrap();
    let barrier = Arc::new(Barrier::new(CORPS * CALLS));
    let mut tasks = Vec::new();
    for k in 0..CORPS {
        for _ in 0..CALLS {
            let (suite, barrier) = (suite.clone(), Arc::clone(&barrier));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let corp = suite.authorized_corp(format!("wwauth{k}"), format!("PeRmAnEnT-{k}"))?;
                corp.user().get("zhangsan").await
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().userid, "zhangsan");
    }
    let mut corp_token_requests = 0;
    for (k, issuer) in issuers.iter().enumerate() {
        let n = issuer.calls_async().await;
        assert_eq!(n, 1, "get_corp_token requests for corp {k}");
        corp_token_requests += n;
    }
    println!("60 corps x 5 calls: {corp_token_requests} get_corp_token requests");
    assert_eq!(corp_token_requests, CORPS);
    assert_eq!(
        suite_issuer.calls_async().await,
        1,
        "get_suite_token requests"
    );
    assert_eq!(user_get.calls_async().await, CORPS * CALLS);
}

/// Two clients built apart, given clones of one store: one gettoken between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_builders_given_one_store_fetch_one_token() {
    let server = MockServer::start_async().await;
    let gettoken = server
        .mock_async(|when, then| {
            when.method("GET").path("/cgi-bin/gettoken");
            then.status(200).delay(ISSUER_DELAY).json_body(
                json!({ "errcode": 0, "errmsg": "ok", "access_token": OLD, "expires_in": 7200 }),
            );
        })
        .await;
    let probe = mock_probe(&server, "access_token", OLD, 0).await;
    let store = MemoryTokenStore::new();
    let build = |store: MemoryTokenStore| {
        runtime_common::builder(server.base_url())
            .token_store(store)
            .build()
            .unwrap()
    };
    let (a, b) = (build(store.clone()), build(store.clone()));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(
            async move { client.get_json(PROBE, &[]).await },
        ));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(gettoken.calls_async().await, 1);
    assert_eq!(probe.calls_async().await, 20);
    // A client with a store of its own asks for its own token.
    build(MemoryTokenStore::new())
        .get_json(PROBE, &[])
        .await
        .unwrap();
    assert_eq!(gettoken.calls_async().await, 2);
}
