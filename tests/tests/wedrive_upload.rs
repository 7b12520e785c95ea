//! WeDrive's chunked upload as one call: hashes computed from disk, every block sent in
//! order, and nothing but the hashes when WeCom already has the content.

mod runtime_common;

use httpmock::MockServer;
use runtime_common::{client, mock_gettoken};
use serde_json::json;
use wecom_api::chunked_upload::{BLOCK_SIZE, WedriveTarget, block_sha};

fn temp_file(name: &str, data: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wecom-wedrive-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, data).expect("temp file");
    path
}

#[tokio::test]
async fn a_large_file_goes_up_block_by_block_with_its_cumulative_hashes() {
    let data: Vec<u8> = (0..BLOCK_SIZE + 10).map(|i| (i % 251) as u8).collect();
    let path = temp_file("report.bin", &data);
    let hashes = block_sha(&data);
    let server = MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let init = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/wedrive/file_upload_init")
                .json_body(json!({
                    "spaceid": "S", "fatherid": "F", "file_name": "report.bin",
                    "size": BLOCK_SIZE + 10, "block_sha": hashes
                }));
            then.json_body(
                json!({"errcode": 0, "errmsg": "ok", "hit_exist": false, "upload_key": "K"}),
            );
        })
        .await;
    let mut parts = Vec::new();
    for (index, block) in data.chunks(BLOCK_SIZE).enumerate() {
        let content = base64_encode(block);
        parts.push(
            server
                .mock_async(|when, then| {
                    when.path("/cgi-bin/wedrive/file_upload_part")
                        .json_body(json!({
                            "upload_key": "K", "index": index + 1, "file_base64_content": content
                        }));
                    then.json_body(json!({"errcode": 0, "errmsg": "ok"}));
                })
                .await,
        );
    }
    let finish = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/wedrive/file_upload_finish")
                .json_body(json!({"upload_key": "K"}));
            then.json_body(json!({"errcode": 0, "errmsg": "ok", "fileid": "FILE1"}));
        })
        .await;
    let target = WedriveTarget::Folder {
        spaceid: "S".into(),
        fatherid: "F".into(),
    };
    let fileid = client(&server)
        .wedrive_upload_file(&path, target)
        .await
        .expect("uploaded");
    assert_eq!(fileid, "FILE1");
    init.assert_async().await;
    for part in &parts {
        part.assert_async().await;
    }
    finish.assert_async().await;
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn content_wecom_already_has_is_not_sent_again() {
    let path = temp_file("known.txt", b"hello");
    let server = MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let init = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/wedrive/file_upload_init")
                .json_body(json!({
                    "selected_ticket": "T", "file_name": "known.txt", "size": 5,
                    "block_sha": ["aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"]
                }));
            then.json_body(
                json!({"errcode": 0, "errmsg": "ok", "hit_exist": true, "fileid": "OLD"}),
            );
        })
        .await;
    let parts = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/wedrive/file_upload_part");
            then.json_body(json!({"errcode": 0, "errmsg": "ok"}));
        })
        .await;
    let fileid = client(&server)
        .wedrive_upload_file(&path, WedriveTarget::SelectedTicket("T".into()))
        .await
        .expect("instant upload");
    assert_eq!(fileid, "OLD");
    init.assert_async().await;
    assert_eq!(parts.calls_async().await, 0);
    std::fs::remove_file(&path).ok();
}

/// The demo of WeCom's reference tool for these hashes (github.com/wecomopen/file_block_digest,
/// `demo/README.md`): `sha_calc_demo.txt`, 5,999,998 bytes of `1234567890\r\n` repeated, and
/// the `file_upload_init` request it documents for it, hashes as its tool printed them.
#[tokio::test]
async fn the_reference_tools_demo_file_is_initialised_with_its_documented_hashes() {
    let data: Vec<u8> = b"1234567890\r\n"
        .iter()
        .copied()
        .cycle()
        .take(5_999_998)
        .collect();
    let path = temp_file("sha_calc_demo.txt", &data);
    let server = MockServer::start_async().await;
    mock_gettoken(&server, "token", 7200).await;
    let init = server
        .mock_async(|when, then| {
            when.path("/cgi-bin/wedrive/file_upload_init")
                .json_body(json!({
                    "spaceid": "SPACEID", "fatherid": "FATHERID",
                    "file_name": "sha_calc_demo.txt", "size": 5_999_998,
                    "block_sha": [
                        "5186fee37e9f7e77a1f6bea8d4e32638d5186d44",
                        "cf540965f3190bc0c6367147ab0ac64dc9eff6a0",
                        "bda1e884e1cb23a5cbdea73d2e00e23baa72d2f5"
                    ]
                }));
            then.json_body(
                json!({"errcode": 0, "errmsg": "ok", "hit_exist": true, "fileid": "DEMO"}),
            );
        })
        .await;
    let target = WedriveTarget::Folder {
        spaceid: "SPACEID".into(),
        fatherid: "FATHERID".into(),
    };
    let fileid = client(&server)
        .wedrive_upload_file(&path, target)
        .await
        .expect("instant upload of the demo file");
    assert_eq!(fileid, "DEMO");
    init.assert_async().await;
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn a_missing_file_is_refused_before_any_request() {
    let server = MockServer::start_async().await;
    let token = mock_gettoken(&server, "token", 7200).await;
    let error = client(&server)
        .wedrive_upload_file(
            "/nonexistent/wecom/file.bin",
            WedriveTarget::SelectedTicket("T".into()),
        )
        .await
        .expect_err("no such file");
    assert!(error.to_string().contains("cannot read"), "{error}");
    assert_eq!(token.calls_async().await, 0);
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}
