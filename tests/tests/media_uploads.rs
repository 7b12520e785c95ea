//! The generated upload endpoints: the documented limits refuse a file before anything is
//! sent (not even the token request), a file within them goes through, files can come from
//! a path, and the request matches WeCom's documented multipart upload byte for byte.

mod runtime_common;

use std::sync::{Arc, Mutex};

use httpmock::{HttpMockRequest, Mock, MockServer};
use runtime_common::*;
use wecom_api::media::{MediaType, UploadFile};
use wecom_api::{Client, Error};

const MIB: usize = 1024 * 1024;
const UPLOADED: &str = r#"{"errcode":0,"errmsg":"","type":"image","media_id":"1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0","created_at":"1380000000"}"#;

/// A mock WeCom counting `gettoken` and every call to `path`, recording the last one.
struct Server {
    server: MockServer,
}

impl Server {
    async fn start() -> Self {
        Server {
            server: MockServer::start_async().await,
        }
    }

    async fn gettoken(&self) -> Mock<'_> {
        mock_gettoken(&self.server, TOKEN, 7200).await
    }

    async fn endpoint(
        &self,
        path: &str,
        body: &'static str,
    ) -> (Mock<'_>, Arc<Mutex<Option<HttpMockRequest>>>) {
        let seen: Arc<Mutex<Option<HttpMockRequest>>> = Arc::default();
        let recorder = Arc::clone(&seen);
        let mock = self
            .server
            .mock_async(|when, then| {
                when.method("POST").path(path).is_true(move |req| {
                    *recorder.lock().unwrap() = Some(req.clone());
                    true
                });
                then.status(200)
                    .header("content-type", "application/json")
                    .body(body);
            })
            .await;
        (mock, seen)
    }

    fn client(&self) -> Client {
        client(&self.server)
    }
}

/// The refusal, as `what: why`.
fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::InvalidArgument { what, why }) => format!("{what}: {why}"),
        other => panic!("expected the file to be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn files_outside_the_documented_limits_never_reach_wecom() {
    let s = Server::start().await;
    let gettoken = s.gettoken().await;
    let (upload, _) = s.endpoint("/cgi-bin/media/upload", UPLOADED).await;
    let (uploadimg, _) = s
        .endpoint("/cgi-bin/media/uploadimg", r#"{"errcode":0,"url":"u"}"#)
        .await;
    let client = s.client();
    let upload_as = |kind: MediaType, name: &str, len: usize| {
        client
            .media()
            .upload(kind, UploadFile::from_bytes(name, vec![1u8; len]))
    };

    let cases = [
        (
            refusal(upload_as(MediaType::Image, "big.jpg", 10 * MIB + 1).await),
            "file: `big.jpg` is 10485761 bytes; media.upload with type=image accepts at most \
             10 MB (10485760 bytes)",
        ),
        (
            refusal(upload_as(MediaType::Image, "anim.gif", 100).await),
            "file: `anim.gif` is a .gif file; media.upload with type=image accepts .jpg, .jpeg, \
             .png",
        ),
        (
            refusal(upload_as(MediaType::Voice, "talk.mp3", 100).await),
            "file: `talk.mp3` is a .mp3 file; media.upload with type=voice accepts .amr",
        ),
        (
            refusal(upload_as(MediaType::Voice, "long.amr", 2 * MIB + 1).await),
            "file: `long.amr` is 2097153 bytes; media.upload with type=voice accepts at most \
             2 MB (2097152 bytes)",
        ),
        (
            refusal(upload_as(MediaType::Video, "clip.mov", 100).await),
            "file: `clip.mov` is a .mov file; media.upload with type=video accepts .mp4",
        ),
        (
            refusal(upload_as(MediaType::File, "huge.zip", 20 * MIB + 1).await),
            "file: `huge.zip` is 20971521 bytes; media.upload accepts at most 20 MB (20971520 bytes)",
        ),
        (
            refusal(upload_as(MediaType::File, "tiny.txt", 5).await),
            "file: `tiny.txt` is 5 bytes; media.upload needs at least 6 bytes",
        ),
        (
            refusal(
                client
                    .media()
                    .upload_image(UploadFile::from_bytes("cover.png", vec![1u8; 2 * MIB + 1]))
                    .await,
            ),
            "file: `cover.png` is 2097153 bytes; media.upload_image accepts at most 2 MB \
             (2097152 bytes)",
        ),
        (
            refusal(
                client
                    .media()
                    .upload_image(UploadFile::from_bytes("cover.bmp", vec![1u8; 100]))
                    .await,
            ),
            "file: `cover.bmp` is a .bmp file; media.upload_image accepts .jpg, .jpeg, .png",
        ),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
    }
    // Refused before the token is even fetched: nothing at all reached the server.
    upload.assert_calls_async(0).await;
    uploadimg.assert_calls_async(0).await;
    gettoken.assert_calls_async(0).await;
}

#[tokio::test]
async fn files_within_the_limits_go_through() {
    let s = Server::start().await;
    s.gettoken().await;
    let (upload, seen) = s.endpoint("/cgi-bin/media/upload", UPLOADED).await;
    let (uploadimg, _) = s
        .endpoint(
            "/cgi-bin/media/uploadimg",
            r#"{"errcode":0,"errmsg":"","url":"https://p.qpic.cn/x/0"}"#,
        )
        .await;
    let client = s.client();

    // Exactly at the image limit, upper-case extension.
    let r = client
        .media()
        .upload(
            MediaType::Image,
            UploadFile::from_bytes("PHOTO.JPG", vec![0xffu8; 10 * MIB]),
        )
        .await
        .expect("a 10 MB jpg is accepted");
    assert_eq!(r.media_id, "1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0");
    assert_eq!(r.created_at, Some(1_380_000_000));
    let req = seen.lock().unwrap().clone().expect("request recorded");
    assert!(
        req.query_params()
            .contains(&("type".into(), "image".into()))
    );
    assert!(req.body_ref().len() > 10 * MIB);

    // Any type is a file; the smallest accepted size.
    client
        .media()
        .upload(
            MediaType::File,
            UploadFile::from_bytes("notes", b"123456".to_vec()),
        )
        .await
        .expect("a 6-byte file without extension is accepted");
    upload.assert_calls_async(2).await;

    let r = client
        .media()
        .upload_image(UploadFile::from_bytes("cover.png", vec![1u8; 2 * MIB]))
        .await
        .expect("a 2 MB png is accepted by uploadimg");
    assert_eq!(r.url, "https://p.qpic.cn/x/0");
    uploadimg.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_upload_can_come_from_a_path() {
    let dir = std::env::temp_dir().join(format!("wecom-api-uploads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let voice = dir.join("voice.amr");
    std::fs::write(&voice, vec![7u8; 100]).unwrap();
    let too_big = dir.join("too-big.amr");
    std::fs::write(&too_big, vec![7u8; 2 * MIB + 1]).unwrap();

    let s = Server::start().await;
    s.gettoken().await;
    let (upload, seen) = s.endpoint("/cgi-bin/media/upload", UPLOADED).await;
    let client = s.client();

    let file = UploadFile::from_path(&voice).await.unwrap();
    client
        .media()
        .upload(MediaType::Voice, file)
        .await
        .expect("a file read from disk uploads");
    let req = seen.lock().unwrap().clone().expect("request recorded");
    let body = req.body_ref();
    let header =
        b"name=\"media\";filename=\"voice.amr\"; filelength=100\r\nContent-Type: audio/amr\r\n\r\n";
    let at = body
        .windows(header.len())
        .position(|w| w == header)
        .expect("the part names the file, its length and its type");
    assert_eq!(
        &body[at + header.len()..at + header.len() + 100],
        &[7u8; 100][..]
    );

    let file = UploadFile::from_path(&too_big).await.unwrap();
    let why = refusal(client.media().upload(MediaType::Voice, file).await);
    assert!(
        why.starts_with("file: `too-big.amr` is 2097153 bytes"),
        "{why}"
    );
    upload.assert_calls_async(1).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_request_matches_the_documented_upload_byte_for_byte() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("vectors/media_vectors.json")).unwrap();
    let doc = &vectors["upload_example"];
    let documented_body = doc["body"].as_str().unwrap();
    let documented_type = doc["headers"]["Content-Type"].as_str().unwrap();
    let documented_boundary = documented_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap();
    assert_eq!(documented_body.len(), 220);
    assert_eq!(doc["headers"]["Content-Length"], "220");

    let s = Server::start().await;
    s.gettoken().await;
    let (upload, seen) = s.endpoint("/cgi-bin/media/upload", UPLOADED).await;
    let r = s
        .client()
        .media()
        .upload(
            MediaType::File,
            UploadFile::from_bytes("wework.txt", &b"mytext"[..])
                .with_content_type("application/octet-stream"),
        )
        .await
        .unwrap();
    upload.assert_calls_async(1).await;
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        serde_json::json!({
            "type": "image",
            "media_id": doc["expected_response"]["media_id"],
            "created_at": 1_380_000_000
        })
    );

    let req = seen.lock().unwrap().clone().expect("request recorded");
    // Same query as the documented URL (`access_token=...&type=file`).
    assert_eq!(
        req.query_params(),
        vec![
            ("access_token".to_string(), TOKEN.to_string()),
            ("type".to_string(), "file".to_string())
        ]
    );
    let headers = req.headers();
    let content_type = headers["content-type"].to_str().unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("multipart content type");
    // Boundaries are random; with ours in place of the documented one, the bodies are equal.
    let expected = documented_body.replace(documented_boundary, boundary);
    assert_eq!(req.body_string(), expected);
    let length: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(length, expected.len());
}
