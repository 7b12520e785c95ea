//! A group robot's image message made from the image itself: WeCom wants it base64-encoded,
//! with the MD5 of the raw bytes, and at most 2 MB.

use base64::Engine as _;
use md5::{Digest, Md5};

use crate::error::{Error, Result};
use crate::robot::RobotImage;

impl RobotImage {
    /// Largest image WeCom takes, before base64 encoding.
    pub const MAX_BYTES: usize = 2 * 1024 * 1024;

    /// The message for a JPG or PNG image: its base64 and MD5 computed here.
    ///
    /// Fails with [`Error::TooLarge`] over [`MAX_BYTES`](Self::MAX_BYTES) and with
    /// [`Error::InvalidArgument`] for an empty image, before anything is sent.
    ///
    /// ```
    /// use wecom_api::robot::{RobotImage, RobotMessage};
    /// let image = RobotImage::from_bytes(b"hello")?;
    /// assert_eq!(image.md5, "5d41402abc4b2a76b9719d911017c592");
    /// let message = RobotMessage::from(image); // client.robot().send(message)
    /// # Ok::<(), wecom_api::Error>(())
    /// ```
    pub fn from_bytes(image: &[u8]) -> Result<Self> {
        if image.is_empty() {
            return Err(Error::invalid_argument("image", "is empty"));
        }
        if image.len() > Self::MAX_BYTES {
            return Err(Error::TooLarge {
                what: "robot image",
                limit: Self::MAX_BYTES as u64,
                size: Some(image.len() as u64),
            });
        }
        let digest = Md5::digest(image);
        let md5 = digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Ok(RobotImage::new(
            base64::engine::general_purpose::STANDARD.encode(image),
            md5,
        ))
    }
}
