//! What every AI-bot callback answers: its kind, its dedup key, its stream id.

use super::{AibotCallback, AibotCallbackContent, AibotEventKind};
use crate::{Error, Result};

impl AibotCallback {
    /// Parses a decrypted callback (the JSON plaintext, or a long-connection frame's body).
    pub fn parse(json: &str) -> Result<Self> {
        let value = serde_json::from_str(json)
            .map_err(|e| Error::invalid_argument("aibot callback", format!("not readable: {e}")))?;
        AibotCallback::from_value(value)
    }

    /// Parses a callback already read as JSON.
    pub fn from_value(mut value: serde_json::Value) -> Result<Self> {
        nest_card_event(&mut value);
        serde_json::from_value(value)
            .map_err(|e| Error::invalid_argument("aibot callback", format!("not readable: {e}")))
    }

    /// `message.text`, `stream`, `event.template_card_event`, ... (`message.<msgtype>` or
    /// `event.<eventtype>` for kinds this version does not know).
    pub fn kind(&self) -> String {
        match &self.content {
            AibotCallbackContent::Text(_) => "message.text".into(),
            AibotCallbackContent::Image(_) => "message.image".into(),
            AibotCallbackContent::Mixed(_) => "message.mixed".into(),
            AibotCallbackContent::Voice(_) => "message.voice".into(),
            AibotCallbackContent::File(_) => "message.file".into(),
            AibotCallbackContent::Video(_) => "message.video".into(),
            AibotCallbackContent::Stream(_) => "stream".into(),
            AibotCallbackContent::Event(event) => match &event.kind {
                AibotEventKind::EnterChat => "event.enter_chat".into(),
                AibotEventKind::TemplateCard(_) => "event.template_card_event".into(),
                AibotEventKind::Feedback(_) => "event.feedback_event".into(),
                AibotEventKind::Disconnected => "event.disconnected_event".into(),
                AibotEventKind::Unknown(fields) => format!("event.{}", tag(fields, "eventtype")),
            },
            AibotCallbackContent::Unknown(fields) => format!("message.{}", tag(fields, "msgtype")),
        }
    }

    /// The key that identifies it across WeCom's retries: the bot and `msgid`.
    pub fn dedup_key(&self) -> String {
        format!(
            "aibot:{}:{}",
            self.aibotid.as_deref().unwrap_or(""),
            self.msgid
        )
    }

    /// The stream id of a stream-refresh callback.
    pub fn refreshed_stream(&self) -> Option<&str> {
        match &self.content {
            AibotCallbackContent::Stream(refresh) => Some(&refresh.id),
            _ => None,
        }
    }

    /// Whether it is the `enter_chat` event (the only one a welcome text may answer).
    pub fn is_enter_chat(&self) -> bool {
        matches!(&self.content, AibotCallbackContent::Event(e) if e.kind == AibotEventKind::EnterChat)
    }

    /// The sender's userid.
    pub fn userid(&self) -> Option<&str> {
        self.from.as_ref().and_then(|f| f.userid.as_deref())
    }

    /// The text a user wrote (text and voice messages; the text items of a mixed one).
    pub fn text(&self) -> Option<String> {
        match &self.content {
            AibotCallbackContent::Text(t) => t.content.clone(),
            AibotCallbackContent::Voice(v) => v.content.clone(),
            AibotCallbackContent::Mixed(m) => {
                let parts: Vec<&str> = m
                    .msg_item
                    .iter()
                    .filter_map(|item| match &item.content {
                        super::AibotMixedItemContent::Text(t) => t.content.as_deref(),
                        _ => None,
                    })
                    .collect();
                (!parts.is_empty()).then(|| parts.join("\n"))
            }
            _ => None,
        }
    }
}

/// 101027 nests a card event's fields under `event.template_card_event`; the official
/// Node SDK types them beside `eventtype`. Read both: a flat one is nested here.
fn nest_card_event(value: &mut serde_json::Value) {
    let Some(event) = value.get_mut("event").and_then(|e| e.as_object_mut()) else {
        return;
    };
    let card = event.get("eventtype").and_then(|t| t.as_str()) == Some("template_card_event");
    if !card || event.contains_key("template_card_event") {
        return;
    }
    let fields: serde_json::Map<String, serde_json::Value> = event
        .iter()
        .filter(|(key, _)| key.as_str() != "eventtype")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    event.insert(
        "template_card_event".into(),
        serde_json::Value::Object(fields),
    );
}

fn tag(fields: &serde_json::Map<String, serde_json::Value>, key: &str) -> String {
    fields
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or("unknown")
        .to_string()
}
