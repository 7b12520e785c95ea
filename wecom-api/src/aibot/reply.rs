//! Reply builders with WeCom's limits checked before sending, and the encrypted JSON
//! envelope a webhook answers with (`{encrypt, msgsignature, timestamp, nonce}`).

use super::{
    AibotCardReply, AibotFeedbackId, AibotInlineImage, AibotReply, AibotReplyContent, AibotStream,
    AibotStreamItem, AibotStreamItemContent, AibotStreamReply, AibotStreamWithCardReply, AibotText,
    AibotTextReply, AibotUpdateCardReply,
};
use crate::callback::CallbackCrypto;
use crate::robot::AibotTemplateCardContent;
use crate::{Error, Result};

/// The most a stream's content may hold: 20,480 bytes of UTF-8.
pub const MAX_STREAM_BYTES: usize = 20_480;
/// The most images a finished stream may carry.
pub const MAX_STREAM_IMAGES: usize = 10;
/// A feedback id's limit, in bytes.
const MAX_FEEDBACK_ID_BYTES: usize = 256;

fn card_value(card: &AibotTemplateCardContent) -> Result<serde_json::Value> {
    serde_json::to_value(card)
        .map_err(|e| Error::invalid_argument("template_card", format!("not serializable: {e}")))
}

impl AibotReply {
    /// A welcome text: only an `enter_chat` event may be answered with it.
    pub fn text(content: impl Into<String>) -> Self {
        AibotReply {
            content: AibotReplyContent::Text(AibotTextReply {
                text: AibotText {
                    content: Some(content.into()),
                },
            }),
        }
    }

    /// A stream's state: its content so far and whether it is finished.
    pub fn stream(id: impl Into<String>, content: impl Into<String>, finish: bool) -> Self {
        AibotReply {
            content: AibotReplyContent::Stream(AibotStreamReply {
                stream: AibotStream {
                    id: id.into(),
                    finish: Some(finish),
                    content: Some(content.into()),
                    ..AibotStream::default()
                },
            }),
        }
    }

    /// A template card (a welcome, or an answer to a message).
    pub fn template_card(card: &AibotTemplateCardContent) -> Result<Self> {
        Ok(AibotReply {
            content: AibotReplyContent::TemplateCard(AibotCardReply {
                template_card: card_value(card)?,
            }),
        })
    }

    /// A stream with a template card below it.
    pub fn stream_with_template_card(
        id: impl Into<String>,
        content: impl Into<String>,
        finish: bool,
        card: &AibotTemplateCardContent,
    ) -> Result<Self> {
        let stream = AibotStream {
            id: id.into(),
            finish: Some(finish),
            content: Some(content.into()),
            ..AibotStream::default()
        };
        Ok(AibotReply {
            content: AibotReplyContent::StreamWithTemplateCard(AibotStreamWithCardReply {
                stream,
                template_card: Some(card_value(card)?),
            }),
        })
    }

    /// Adds an image (JPG or PNG bytes) to a stream reply: sent as base64 with its MD5.
    pub fn with_image(mut self, image: &[u8]) -> Self {
        if let Some(stream) = self.stream_mut() {
            stream.msg_item.push(inline_image(image));
        }
        self
    }

    /// Sets the feedback id of a stream reply: the user's feedback comes back as a
    /// `feedback_event` carrying it.
    pub fn with_feedback(mut self, id: impl Into<String>) -> Self {
        if let Some(stream) = self.stream_mut() {
            stream.feedback = Some(AibotFeedbackId { id: id.into() });
        }
        self
    }

    /// Sets the feedback id of a template card reply (`template_card.feedback.id`, as the
    /// official SDK types it): the user's feedback on the card comes back as a
    /// `feedback_event` carrying it. Checked (at most 256 bytes) by [`check`](Self::check).
    pub fn with_card_feedback(mut self, id: impl Into<String>) -> Self {
        let card = match &mut self.content {
            AibotReplyContent::TemplateCard(r) => Some(&mut r.template_card),
            AibotReplyContent::StreamWithTemplateCard(r) => r.template_card.as_mut(),
            _ => None,
        };
        if let Some(serde_json::Value::Object(card)) = card {
            card.insert("feedback".into(), serde_json::json!({ "id": id.into() }));
        }
        self
    }

    fn stream_mut(&mut self) -> Option<&mut AibotStream> {
        match &mut self.content {
            AibotReplyContent::Stream(r) => Some(&mut r.stream),
            AibotReplyContent::StreamWithTemplateCard(r) => Some(&mut r.stream),
            _ => None,
        }
    }

    fn stream_ref(&self) -> Option<&AibotStream> {
        match &self.content {
            AibotReplyContent::Stream(r) => Some(&r.stream),
            AibotReplyContent::StreamWithTemplateCard(r) => Some(&r.stream),
            _ => None,
        }
    }

    /// Checks WeCom's limits: stream content size, images (at most 10, only at finish),
    /// feedback id size, an empty stream id.
    pub fn check(&self) -> Result<()> {
        let card = match &self.content {
            AibotReplyContent::TemplateCard(r) => Some(&r.template_card),
            AibotReplyContent::StreamWithTemplateCard(r) => r.template_card.as_ref(),
            _ => None,
        };
        if let Some(id) = card
            .and_then(|c| c.pointer("/feedback/id"))
            .and_then(|id| id.as_str())
        {
            check_feedback_id("template_card.feedback.id", id)?;
        }
        let Some(stream) = self.stream_ref() else {
            return Ok(());
        };
        check_stream(stream)
    }

    /// The JSON WeCom reads (the plaintext of the envelope, or a frame's body), checked.
    pub fn to_json(&self) -> Result<String> {
        self.check()?;
        serde_json::to_string(self)
            .map_err(|e| Error::invalid_argument("aibot reply", format!("not serializable: {e}")))
    }
}

pub(crate) fn check_stream(stream: &AibotStream) -> Result<()> {
    if stream.id.is_empty() {
        return Err(Error::invalid_argument("stream.id", "empty"));
    }
    let size = stream.content.as_deref().map_or(0, str::len);
    if size > MAX_STREAM_BYTES {
        return Err(Error::TooLarge {
            what: "stream.content (at most 20,480 bytes)",
            limit: MAX_STREAM_BYTES as u64,
            size: Some(size as u64),
        });
    }
    if !stream.msg_item.is_empty() && stream.finish != Some(true) {
        return Err(Error::invalid_argument(
            "stream.msg_item",
            "images may only be sent with finish = true",
        ));
    }
    if stream.msg_item.len() > MAX_STREAM_IMAGES {
        return Err(Error::invalid_argument(
            "stream.msg_item",
            format!(
                "{} images; at most {MAX_STREAM_IMAGES}",
                stream.msg_item.len()
            ),
        ));
    }
    if let Some(feedback) = &stream.feedback {
        check_feedback_id("stream.feedback.id", &feedback.id)?;
    }
    Ok(())
}

fn check_feedback_id(field: &'static str, id: &str) -> Result<()> {
    if id.len() > MAX_FEEDBACK_ID_BYTES {
        return Err(Error::invalid_argument(
            field,
            format!("{} bytes; at most {MAX_FEEDBACK_ID_BYTES}", id.len()),
        ));
    }
    Ok(())
}

pub(crate) fn inline_image(image: &[u8]) -> AibotStreamItem {
    use base64::Engine;
    use md5::Digest;
    let md5 = md5::Md5::digest(image);
    AibotStreamItem {
        content: AibotStreamItemContent::Image(AibotInlineImage {
            base64: base64::engine::general_purpose::STANDARD.encode(image),
            md5: md5.iter().map(|b| format!("{b:02x}")).collect(),
        }),
    }
}

impl AibotUpdateCardReply {
    /// Replaces the card the users of a `template_card_event` see (all of them, unless
    /// [`for_users`](Self::for_users) names some).
    pub fn new(card: &AibotTemplateCardContent) -> Result<Self> {
        Ok(AibotUpdateCardReply {
            response_type: "update_template_card".into(),
            userids: Vec::new(),
            template_card: card_value(card)?,
        })
    }

    /// Only these users' card is replaced.
    pub fn for_users<I: IntoIterator<Item = impl Into<String>>>(mut self, userids: I) -> Self {
        self.userids = userids.into_iter().map(Into::into).collect();
        self
    }
}

/// Encrypts a reply's JSON into the envelope a webhook answers with:
/// `{"encrypt", "msgsignature", "timestamp", "nonce"}` (timestamp a number).
pub fn seal_reply(crypto: &CallbackCrypto, plaintext_json: &str) -> Result<String> {
    let timestamp = crate::token::now_unix();
    let nonce = random_nonce();
    let encrypt = crypto.encrypt_with_prefix(plaintext_json.as_bytes(), rand::random())?;
    let signature = crypto.signature(&timestamp.to_string(), &nonce, &encrypt);
    Ok(serde_json::json!({
        "encrypt": encrypt,
        "msgsignature": signature,
        "timestamp": timestamp,
        "nonce": nonce,
    })
    .to_string())
}

/// 16 letters and digits: a nonce WeCom accepts.
pub(crate) fn random_nonce() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..16)
        .map(|_| char::from(CHARS[rand::random_range(0..CHARS.len())]))
        .collect()
}
