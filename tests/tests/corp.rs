//! `Corp`: one corp id, several named secrets, a client per secret sharing one connection
//! pool and one token store, each secret with its own token.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wecom_api::token::{TokenKey, TokenKind, TokenStore};
use wecom_api::{Client, Corp, MemoryTokenStore};

const CORP_ID: &str = "wwcorp0000000001";
const SECRETS: [(&str, &str); 3] = [
    ("app", "SeCrEt-app-1a"),
    ("contacts", "SeCrEt-contacts-2b"),
    ("customer", "SeCrEt-customer-3c"),
];

/// A tiny WeCom on loopback that counts TCP connections. `gettoken` answers
/// `TOKEN-<corpsecret>`, `ticket/get` the ticket `TICKET-<access_token>`; any other path
/// answers `{"errcode":0,"token":<access_token>}`, so the caller sees which token it sent. HTTP/1.1 keep-alive, so a pooled connection is
/// reused.
struct CountingServer {
    base_url: String,
    connections: Arc<AtomicUsize>,
}

impl CountingServer {
    fn start() -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                counted.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || serve(stream));
            }
        });
        CountingServer {
            base_url,
            connections,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream) {
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        // Headers: GET requests only, so no body to skip.
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
        }
        let target = request_line.split(' ').nth(1).unwrap_or("/");
        let url = reqwest::Url::parse(&format!("http://x{target}")).expect("request target");
        let param = |k: &str| {
            url.query_pairs()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let body = if url.path() == "/cgi-bin/gettoken" {
            format!(
                r#"{{"errcode":0,"access_token":"TOKEN-{}","expires_in":7200}}"#,
                param("corpsecret")
            )
        } else if url.path() == "/cgi-bin/ticket/get" {
            format!(
                r#"{{"errcode":0,"ticket":"TICKET-{}","expires_in":7200}}"#,
                param("access_token")
            )
        } else {
            format!(r#"{{"errcode":0,"token":"{}"}}"#, param("access_token"))
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

async fn token_sent(client: &Client) -> String {
    let v = client.get_json("/cgi-bin/user/get", &[]).await.unwrap();
    v["token"].as_str().unwrap().to_owned()
}

fn corp(server: &CountingServer, store: MemoryTokenStore) -> Corp {
    let mut b = Corp::builder()
        .corp_id(CORP_ID)
        .base_url(server.base_url.clone())
        .token_store(store);
    for (name, secret) in SECRETS {
        b = b.secret(name, secret);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn each_secret_gets_its_own_token_through_one_pool_and_one_store() {
    let server = CountingServer::start();
    let store = MemoryTokenStore::new();
    let corp = corp(&server, store.clone());
    for _ in 0..2 {
        for (name, secret) in SECRETS {
            let client = corp.client(name).unwrap();
            assert_eq!(
                token_sent(&client).await,
                format!("TOKEN-{secret}"),
                "{name}"
            );
        }
    }
    // Three gettokens and six calls, one after another, over a single pooled connection.
    assert_eq!(server.connections(), 1);
    // One store, a token per secret.
    assert_eq!(store.len(), 3);
    for (_, secret) in SECRETS {
        let key = TokenKey::new(TokenKind::AccessToken, CORP_ID, secret);
        let t = store.get(&key).await.unwrap().unwrap();
        assert_eq!(t.value(), format!("TOKEN-{secret}"));
    }
    // The same client (and cache) each time: no second gettoken for a secret.
    let again = corp.client("contacts").unwrap();
    assert_eq!(token_sent(&again).await, "TOKEN-SeCrEt-contacts-2b");
    assert_eq!(store.len(), 3);
    let shown = format!("{corp:?} {again:?}");
    for (_, secret) in SECRETS {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn separately_built_clients_each_open_their_own_connection() {
    // The contrast that makes the count above meaningful.
    let server = CountingServer::start();
    for (_, secret) in SECRETS {
        let client = Client::builder()
            .corp_id(CORP_ID)
            .secret(secret)
            .base_url(server.base_url.clone())
            .build()
            .unwrap();
        token_sent(&client).await;
    }
    assert_eq!(server.connections(), 3);
}

#[tokio::test]
async fn an_app_secret_carries_its_agentid_for_agent_config() {
    let server = CountingServer::start();
    let corp = Corp::builder()
        .corp_id(CORP_ID)
        .base_url(server.base_url.clone())
        .app("oa", 1000002, "SeCrEt-oa-4d")
        .secret("contacts", "SeCrEt-contacts-2b")
        .build()
        .unwrap();
    let oa = corp.client("oa").unwrap();
    assert_eq!(oa.agent_id(), Some(1000002));
    // Signed with the ticket obtained with the app's own token.
    let page = "https://app.example.com/";
    let c = oa.wx_agent_config(page).await.unwrap();
    assert_eq!((c.corpid.as_str(), c.agentid), (CORP_ID, 1000002));
    assert_eq!(
        c.signature,
        wecom_api::jssdk::signature("TICKET-TOKEN-SeCrEt-oa-4d", &c.nonce_str, c.timestamp, page)
    );
    // A secret given without an agentid cannot sign wx.agentConfig.
    let contacts = corp.client("contacts").unwrap();
    assert!(contacts.wx_agent_config(page).await.is_err());
    assert_eq!(corp.corp_id(), CORP_ID);
    assert_eq!(corp.names().collect::<Vec<_>>(), ["contacts", "oa"]);
}

/// The corp's settings reach every client: one rate limit counted across its secrets'
/// clients (a rule per corp), and the JSON size cap.
#[tokio::test]
async fn rate_limits_and_size_caps_apply_to_every_secrets_client() {
    use wecom_api::ratelimit::{Per, Rate, RateLimits, Rule};
    let server = CountingServer::start();
    let limits = RateLimits::none()
        .with_rule(
            Rule::new("user_get_per_corp", Per::Corp)
                .endpoint("/cgi-bin/user/get")
                .rate(Rate::per_minute(2)),
        )
        .fail_fast();
    let mut b = Corp::builder()
        .corp_id(CORP_ID)
        .base_url(server.base_url.clone())
        .rate_limits(limits);
    for (name, secret) in SECRETS {
        b = b.secret(name, secret);
    }
    let corp = b.build().unwrap();
    token_sent(&corp.client("app").unwrap()).await;
    token_sent(&corp.client("contacts").unwrap()).await;
    let refused = corp
        .client("customer")
        .unwrap()
        .get_json("/cgi-bin/user/get", &[])
        .await
        .unwrap_err();
    assert!(refused.is_rate_limited(), "{refused:?}");

    let tiny = Corp::builder()
        .corp_id(CORP_ID)
        .base_url(server.base_url.clone())
        .secret("app", "SeCrEt-app-1a")
        .max_json_size(16)
        .build()
        .unwrap();
    let e = tiny
        .client("app")
        .unwrap()
        .get_json("/cgi-bin/user/get", &[])
        .await
        .unwrap_err();
    assert!(matches!(e, wecom_api::Error::TooLarge { .. }), "{e:?}");
}
