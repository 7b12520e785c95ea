//! Group robots: an image message made from the image bytes, sent with the webhook key and
//! no token; the 2 MB limit checked before sending.

use httpmock::MockServer;
use serde_json::json;
use wecom_api::robot::{RobotImage, RobotMessage};
use wecom_api::{Client, Error};

#[tokio::test]
async fn an_image_goes_out_as_base64_with_its_md5_and_the_key() {
    let server = MockServer::start_async().await;
    let send = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/cgi-bin/webhook/send")
                .query_param("key", "KeY-robot-1")
                .json_body(json!({
                    "msgtype": "image",
                    // RFC 1321's test vector: MD5("abc").
                    "image": { "base64": "YWJj", "md5": "900150983cd24fb0d6963f7d28e17f72" },
                }));
            then.status(200)
                .json_body(json!({ "errcode": 0, "errmsg": "ok" }));
        })
        .await;
    let robot = Client::builder()
        .base_url(server.base_url())
        .webhook_key("KeY-robot-1")
        .build()
        .unwrap();
    let image = RobotImage::from_bytes(b"abc").unwrap();
    robot.robot().send(RobotMessage::from(image)).await.unwrap();
    send.assert_async().await;
    assert!(!format!("{robot:?}").contains("KeY-robot-1"));
}

#[test]
fn an_image_over_two_megabytes_or_empty_is_refused() {
    let big = vec![0u8; RobotImage::MAX_BYTES + 1];
    match RobotImage::from_bytes(&big) {
        Err(Error::TooLarge { limit, size, .. }) => {
            assert_eq!(limit, 2 * 1024 * 1024);
            assert_eq!(size, Some(big.len() as u64));
        }
        other => panic!("{other:?}"),
    }
    assert!(RobotImage::from_bytes(&big[..RobotImage::MAX_BYTES]).is_ok());
    assert!(matches!(
        RobotImage::from_bytes(b""),
        Err(Error::InvalidArgument { .. })
    ));
}
