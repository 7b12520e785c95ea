//! Media mechanics through the raw `upload` / `download` calls (the generated media
//! endpoints use the same code).

mod runtime_common;

use std::sync::{Arc, Mutex};

use httpmock::{HttpMockRequest, MockServer};
use runtime_common::*;
use wecom_api::{Error, UploadFile};

#[tokio::test]
async fn upload_sends_one_multipart_file_part_with_length() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let seen: Arc<Mutex<Option<HttpMockRequest>>> = Arc::default();
    let recorder = Arc::clone(&seen);
    let m = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/media/upload")
                .query_param("access_token", TOKEN)
                .query_param("type", "file")
                .is_true(move |req| {
                    *recorder.lock().unwrap() = Some(req.clone());
                    true
                });
            then.status(200).body(
                r#"{"errcode":0,"errmsg":"","type":"file","media_id":"1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0","created_at":"1380000000"}"#,
            );
        })
        .await;
    let file = UploadFile::from_bytes("wework.txt", &b"mytext"[..])
        .with_content_type("application/octet-stream");
    let v = client(&server)
        .upload("/cgi-bin/media/upload", &[("type", "file")], "media", file)
        .await
        .unwrap();
    assert_eq!(v["created_at"], "1380000000");
    m.assert_async().await;

    let req = seen.lock().unwrap().clone().expect("request recorded");
    let headers = req.headers();
    let ctype = headers["content-type"].to_str().unwrap();
    let boundary = ctype
        .strip_prefix("multipart/form-data; boundary=")
        .expect("multipart content type");
    let body = req.body_string();
    let len: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(len, body.len());
    // Same shape as the documented request: one part, named media, with its file name.
    let expected = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"media\";filename=\"wework.txt\"; filelength=6\r\n\
         Content-Type: application/octet-stream\r\n\r\nmytext\r\n--{boundary}--\r\n"
    );
    assert_eq!(body, expected);
}

#[tokio::test]
async fn upload_keeps_utf8_file_names() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let m = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/upload")
                .body_includes("filename=\"报告.pdf\"; filelength=10")
                .body_includes("Content-Type: application/pdf");
            then.status(200).body(r#"{"errcode":0,"media_id":"m"}"#);
        })
        .await;
    client(&server)
        .upload(
            "/cgi-bin/media/upload",
            &[("type", "file")],
            "media",
            UploadFile::from_bytes("报告.pdf", vec![1u8; 10]),
        )
        .await
        .unwrap();
    m.assert_async().await;
}

#[tokio::test]
async fn download_returns_bytes_file_name_and_type() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    let jpeg: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let body = jpeg.clone();
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/get")
                .query_param("access_token", TOKEN)
                .query_param("media_id", "MEDIA_ID");
            then.status(200)
                .header("Content-Type", "image/jpeg")
                .header(
                    "Content-disposition",
                    "attachment; filename=\"MEDIA_ID.jpg\"",
                )
                .header("Cache-Control", "no-cache, must-revalidate")
                .body(body);
        })
        .await;
    let d = client(&server)
        .download("/cgi-bin/media/get", &[("media_id", "MEDIA_ID")])
        .await
        .unwrap();
    assert_eq!(d.bytes.as_ref(), &jpeg[..]);
    assert_eq!(d.file_name.as_deref(), Some("MEDIA_ID.jpg"));
    assert_eq!(d.content_type.as_deref(), Some("image/jpeg"));
    assert!(
        !format!("{d:?}").contains("255, 0, 1"),
        "Debug does not dump the bytes"
    );
}

#[tokio::test]
async fn download_error_envelope_with_http_200_is_an_api_error() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    for (id, ctype) in [
        ("a", "application/json; charset=UTF-8"),
        ("b", "text/plain"),
    ] {
        server
            .mock_async(|when, then| {
                when.path("/cgi-bin/media/get").query_param("media_id", id);
                then.status(200)
                    .header("content-type", ctype)
                    .body(r#"{"errcode":40007,"errmsg":"invalid media_id"}"#);
            })
            .await;
    }
    let client = client(&server);
    for id in ["a", "b"] {
        let err = client
            .download("/cgi-bin/media/get", &[("media_id", id)])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Api { errcode: 40007, .. }), "{err:?}");
    }
}

#[tokio::test]
async fn download_token_error_is_refreshed_like_any_call() {
    let server = MockServer::start_async().await;
    let gettoken = mock_gettoken(&server, TOKEN, 7200).await;
    let m = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/get");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"errcode":42001,"errmsg":"access_token expired"}"#);
        })
        .await;
    let err = client(&server)
        .download("/cgi-bin/media/get", &[("media_id", "x")])
        .await
        .unwrap_err();
    assert!(err.is_token_error());
    m.assert_calls_async(2).await;
    gettoken.assert_calls_async(2).await;
}
