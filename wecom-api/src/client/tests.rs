//! Unit tests of the call pipeline against httpmock.

use httpmock::MockServer;

use super::call::{Call, Query};
use super::issuers::GETTOKEN;
use super::*;
use crate::error::{Error, Result};
use crate::media::UploadFile;
use crate::operation::{Credential, Method, Operation};

const TOKEN: &str = "unit-token-0001";
const SECRET: &str = "unit-secret-0001";

static OP_GET: Operation = Operation {
    id: "user.get",
    method: Method::Get,
    path: "/cgi-bin/user/get",
    credential: Credential::AccessToken,
    retry_safe: true,
};
static OP_SEND: Operation = Operation {
    id: "message.send",
    method: Method::Post,
    path: "/cgi-bin/message/send",
    credential: Credential::AccessToken,
    retry_safe: false,
};
static OP_UPLOAD: Operation = Operation {
    id: "media.upload",
    method: Method::Post,
    path: "/cgi-bin/media/upload",
    credential: Credential::AccessToken,
    retry_safe: false,
};
static OP_DOWNLOAD: Operation = Operation {
    id: "media.get",
    method: Method::Get,
    path: "/cgi-bin/media/get",
    credential: Credential::AccessToken,
    retry_safe: true,
};
static OP_PUBLIC: Operation = Operation {
    id: "public.ping",
    method: Method::Get,
    path: "/cgi-bin/ping",
    credential: Credential::None,
    retry_safe: true,
};

async fn setup() -> (MockServer, Client) {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method("GET").path("/cgi-bin/gettoken");
            then.status(200).json_body(serde_json::json!({
                "errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200
            }));
        })
        .await;
    let client = Client::builder()
        .corp_id("wwunit")
        .secret(SECRET)
        .base_url(server.base_url())
        .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    (server, client)
}

#[derive(Debug)]
struct User {
    userid: String,
    department: Vec<i64>,
}

impl crate::de::Decode for User {
    fn decode(value: crate::de::Node<'_>) -> std::result::Result<Self, crate::de::DecodeError> {
        let mut fields = crate::de::Fields::of(value)?;
        Ok(User {
            userid: fields.required("userid")?,
            department: fields.required("department")?,
        })
    }
}

#[tokio::test]
async fn execute_json_get_decodes_typed_response() {
    let (server, client) = setup().await;
    let m = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/cgi-bin/user/get")
                .query_param("access_token", TOKEN)
                .query_param("userid", "zhangsan");
            then.status(200)
                .body(r#"{"errcode":"0","errmsg":"ok","userid":"zhangsan","department":[1,"2"]}"#);
        })
        .await;
    let query = vec![("userid", "zhangsan".to_string())];
    let u: User = client
        .execute_json::<User>(&OP_GET, query, Ok(None))
        .await
        .unwrap();
    assert_eq!(u.userid, "zhangsan");
    assert_eq!(u.department, [1, 2]);
    m.assert_async().await;
}

#[tokio::test]
async fn execute_json_future_is_send_and_boxable() {
    let (server, client) = setup().await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.status(200).body(r#"{"userid":"a","department":[]}"#);
        })
        .await;
    // What generated builders hand out as their `IntoFuture`: no wrapping needed.
    let fut: crate::BoxFuture<Result<User>> =
        client.execute_json::<User>(&OP_GET, Vec::new(), Ok(None));
    drop(client);
    assert_eq!(fut.await.unwrap().userid, "a");
}

#[tokio::test]
async fn decode_error_names_endpoint_and_field() {
    let (server, client) = setup().await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.status(200)
                .body(r#"{"errcode":0,"userid":"a","department":[1,"x"]}"#);
        })
        .await;
    let err = client
        .execute_json::<User>(&OP_GET, Vec::new(), Ok(None))
        .await
        .unwrap_err();
    match &err {
        Error::Decode { endpoint, path, .. } => {
            assert_eq!(endpoint, "user.get");
            assert_eq!(path, "department[1]");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn post_sends_json_and_busy_is_not_resent() {
    let (server, client) = setup().await;
    let m = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/message/send")
                .header("content-type", "application/json")
                .json_body(serde_json::json!({"touser": "a", "msgtype": "text"}));
            then.status(200)
                .body(r#"{"errcode":-1,"errmsg":"system busy"}"#);
        })
        .await;
    let body = serde_json::json!({"touser": "a", "msgtype": "text"});
    let err = client
        .execute_json::<serde_json::Value>(&OP_SEND, Vec::new(), encode_body(&body))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(-1));
    assert_eq!(err.endpoint(), Some("message.send"));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn credential_none_sends_no_token() {
    let (server, client) = setup().await;
    let m = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/ping")
                .query_param_missing("access_token");
            then.status(200).body("{}");
        })
        .await;
    let v: serde_json::Value = client
        .execute_json::<serde_json::Value>(&OP_PUBLIC, Vec::new(), Ok(None))
        .await
        .unwrap();
    assert_eq!(v, serde_json::json!({}));
    m.assert_async().await;
}

#[derive(Debug)]
struct Uploaded {
    media_id: String,
    created_at: i64,
}

impl crate::de::Decode for Uploaded {
    fn decode(value: crate::de::Node<'_>) -> std::result::Result<Self, crate::de::DecodeError> {
        let mut fields = crate::de::Fields::of(value)?;
        Ok(Uploaded {
            media_id: fields.required("media_id")?,
            created_at: fields.required("created_at")?,
        })
    }
}

#[tokio::test]
async fn execute_upload_sends_one_file_part() {
    let (server, client) = setup().await;
    let m = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/media/upload")
                .query_param("access_token", TOKEN)
                .query_param("type", "file")
                .header_includes("content-type", "multipart/form-data; boundary=")
                .header_exists("content-length")
                .body_includes(r#"name="media";filename="wework.txt"; filelength=6"#)
                .body_includes("Content-Type: text/plain\r\n\r\nmytext\r\n");
            then.status(200).body(
                r#"{"errcode":0,"errmsg":"","type":"file","media_id":"1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0","created_at":"1380000000"}"#,
            );
        })
        .await;
    let query = vec![("type", "file".to_string())];
    let file = UploadFile::from_bytes("wework.txt", &b"mytext"[..]);
    let r: Uploaded = client
        .execute_upload(&OP_UPLOAD, query, "media", &[], file)
        .await
        .unwrap();
    assert_eq!(r.media_id, "1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0");
    assert_eq!(r.created_at, 1_380_000_000);
    m.assert_async().await;
}

#[tokio::test]
async fn upload_is_resent_after_a_token_error() {
    let (server, client) = setup().await;
    let m = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/upload").body_includes("mytext");
            then.status(200)
                .body(r#"{"errcode":42001,"errmsg":"expired"}"#);
        })
        .await;
    let err = client
        .execute_upload::<serde_json::Value>(
            &OP_UPLOAD,
            Vec::new(),
            "media",
            &[],
            UploadFile::from_bytes("a.txt", &b"mytext"[..]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(42001));
    // Refused without being performed, so sending it again (with the body) is safe.
    m.assert_calls_async(2).await;
}

#[tokio::test]
async fn execute_download_returns_file_or_error() {
    let (server, client) = setup().await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/get")
                .query_param("media_id", "ok");
            then.status(200)
                .header("content-type", "image/jpeg")
                .header(
                    "content-disposition",
                    "attachment; filename=\"MEDIA_ID.jpg\"",
                )
                .body([0xffu8, 0xd8, 0xff, 0xe0]);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/get")
                .query_param("media_id", "bad");
            then.status(200)
                .header("content-type", "application/json; charset=UTF-8")
                .body(r#"{"errcode":40007,"errmsg":"invalid media_id"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/get")
                .query_param("media_id", "txt");
            then.status(200)
                .header("content-type", "text/plain")
                .body("just a text file");
        })
        .await;
    let q = |id: &str| vec![("media_id", id.to_string())];
    let d = client
        .execute_download(&OP_DOWNLOAD, q("ok"))
        .await
        .unwrap();
    assert_eq!(&d.bytes[..], [0xff, 0xd8, 0xff, 0xe0]);
    assert_eq!(d.file_name.as_deref(), Some("MEDIA_ID.jpg"));
    assert_eq!(d.content_type.as_deref(), Some("image/jpeg"));

    let e = client
        .execute_download(&OP_DOWNLOAD, q("bad"))
        .await
        .unwrap_err();
    assert_eq!(e.errcode(), Some(40007));
    assert_eq!(e.endpoint(), Some("media.get"));

    let d = client
        .execute_download(&OP_DOWNLOAD, q("txt"))
        .await
        .unwrap();
    assert_eq!(&d.bytes[..], b"just a text file");
    assert_eq!(d.file_name, None);
}

#[test]
fn url_keeps_base_path_and_orders_credential_first() {
    let client = Client::builder()
        .corp_id("wwx")
        .secret("s")
        .base_url("http://127.0.0.1:9/proxy/")
        .build()
        .unwrap();
    let call = Call::from_op(&OP_GET);
    let q = [("userid", "a b".to_string())];
    let url = client.url(&call, Query::Generated(&q), Some("T"));
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:9/proxy/cgi-bin/user/get?access_token=T&userid=a+b"
    );
    let url = client.url(&GETTOKEN, Query::None, None);
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:9/proxy/cgi-bin/gettoken?corpid=wwx&corpsecret=s"
    );
    let url = client.url(&Call::from_op(&OP_PUBLIC), Query::None, None);
    assert_eq!(url.as_str(), "http://127.0.0.1:9/proxy/cgi-bin/ping");
}

#[tokio::test]
async fn connect_failures_are_unsent_and_retryable_for_any_call() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{port}/x?access_token=SECRETTOKEN"
        ))
        .send()
        .await
        .unwrap_err();
    let err = Error::transport("x".into(), err);
    assert!(err.is_unsent());
    assert!(RetryPolicy::default().should_retry(&err, false, 0));
    assert!(!format!("{err} {err:?}").contains("SECRETTOKEN"));
}

/// A client of a server that answers JSON with `body_len` bytes.
async fn json_of_size(body_len: usize, limit: Option<u64>) -> (MockServer, Client) {
    let (server, client) = setup().await;
    // 37 bytes around the padding.
    let padding = "x".repeat(body_len.saturating_sub(37));
    server
        .mock_async(move |when, then| {
            when.path("/cgi-bin/user/get");
            then.status(200).body(format!(
                r#"{{"userid":"a","department":[],"p":"{padding}"}}"#
            ));
        })
        .await;
    let mut builder = Client::builder()
        .corp_id("wwunit")
        .secret(SECRET)
        .base_url(server.base_url());
    if let Some(limit) = limit {
        builder = builder.max_json_size(limit);
    }
    drop(client);
    (server, builder.build().unwrap())
}

#[tokio::test]
async fn json_answers_are_capped_by_content_length() {
    let (_server, client) = json_of_size(4096, Some(1024)).await;
    let err = client
        .execute_json::<User>(&OP_GET, Vec::new(), Ok(None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge { what: "JSON response", limit: 1024, size: Some(n) } if n > 4000
        ),
        "{err:?}"
    );
    // The raw call shares the pipeline and the cap.
    let err = client.get_json("/cgi-bin/user/get", &[]).await.unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    // Within the cap, the same answer decodes.
    let (_server, client) = json_of_size(4096, Some(8192)).await;
    let user = client
        .execute_json::<User>(&OP_GET, Vec::new(), Ok(None))
        .await
        .unwrap();
    assert_eq!(user.userid, "a");
}

#[tokio::test]
async fn the_default_json_cap_is_16_mib() {
    let (_server, client) = json_of_size(16 * 1024 * 1024 + 1, None).await;
    let err = client
        .execute_json::<User>(&OP_GET, Vec::new(), Ok(None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == DEFAULT_MAX_JSON),
        "{err:?}"
    );
}

/// A server that answers every request with a chunked body that never ends, counting what
/// it managed to send.
async fn endless_chunked_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let Ok(_) = socket.read(&mut head).await else {
                    return;
                };
                let start = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             transfer-encoding: chunked\r\n\r\n";
                if socket.write_all(start.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {
                    counter.fetch_add(64 * 1024, Ordering::Relaxed);
                }
            });
        }
    });
    (url, sent)
}

#[tokio::test]
async fn a_json_answer_without_length_stops_at_the_cap() {
    let (url, sent) = endless_chunked_server().await;
    let client = Client::builder()
        .corp_id("wwunit")
        .secret(SECRET)
        .base_url(&url)
        .max_json_size(1024 * 1024)
        .build()
        .unwrap();
    let err = client
        .execute_json::<User>(&OP_PUBLIC, Vec::new(), Ok(None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                what: "JSON response",
                limit: 1_048_576,
                size: None
            }
        ),
        "{err:?}"
    );
    // Read up to the cap, not on and on (socket buffers hold a few MiB at most).
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < 64 * 1024 * 1024, "{sent} bytes were sent");
}

/// A server that sends a JSON answer's head and its first bytes, then stalls.
async fn stalling_body_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let Ok(_) = socket.read(&mut head).await else {
                    return;
                };
                let start = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             content-length: 100\r\n\r\n{\"errcode\":0,";
                if socket.write_all(start.as_bytes()).await.is_ok() {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    url
}

/// JSON calls bound their waits one by one (no timer around the whole call): a body that
/// stalls past the deadline still ends the call at the deadline, naming the phase.
#[tokio::test]
async fn a_stalled_body_ends_at_the_deadline() {
    let url = stalling_body_server().await;
    let client = Client::builder()
        .corp_id("wwunit")
        .secret(SECRET)
        .base_url(&url)
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .execute_json::<User>(&OP_PUBLIC, Vec::new(), Ok(None))
        .await
        .unwrap_err();
    match &err {
        Error::Deadline { budget, during, .. } => {
            assert_eq!(*budget, Duration::from_millis(300));
            assert_eq!(*during, "while reading the response");
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A call's future is allocated and moved once per call: the token refresh (kilobytes of
/// state) is boxed off the common path rather than inlined into it.
#[test]
fn a_calls_future_stays_small() {
    use super::call::Payload;
    let client = Client::builder().corp_id("ww").secret("s").build().unwrap();
    let call = Call::from_op(&OP_GET);
    let payload = Payload::Empty;
    let run = client.run(&call, Query::None, &payload, super::call::Expect::Json);
    let size = std::mem::size_of_val(&run);
    assert!(size < 4096, "the call's future takes {size} bytes");
}
