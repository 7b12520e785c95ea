//! The callback spec format: `spec/callbacks.yaml`, what WeCom pushes to a callback URL
//! (messages, events, suite notifications) and the passive replies an application may send.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `spec/callbacks.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackFile {
    /// Chinese title.
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Official documentation of receiving callbacks.
    pub doc: String,
    /// Elements of every message an application receives (`MsgType` other than `event`).
    pub message_header: Vec<CallbackField>,
    /// Elements of every event an application receives (`MsgType` = `event`).
    pub event_header: Vec<CallbackField>,
    /// Elements of every notification a suite (third-party application) receives
    /// (`InfoType`).
    pub info_header: Vec<CallbackField>,
    /// Elements of every passive reply.
    pub reply_header: Vec<CallbackField>,
    /// Messages, dispatched on `MsgType`.
    #[serde(default)]
    pub messages: Vec<CallbackMessage>,
    /// Events, dispatched on `Event` (applications) or `InfoType` (suites), then on
    /// `ChangeType` where they have change types.
    #[serde(default)]
    pub events: Vec<CallbackEvent>,
    /// Passive replies, by `MsgType`.
    #[serde(default)]
    pub replies: Vec<CallbackMessage>,
    /// Nested element types (`ApprovalInfo`, `ScanCodeInfo`, ...), by name.
    #[serde(default)]
    pub types: BTreeMap<String, CallbackType>,
}

/// A message or a passive reply: one `MsgType` value.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackMessage {
    /// The `MsgType` value.
    pub msg_type: String,
    /// Rust variant name, UpperCamelCase; the struct is `<name>Message` or `<name>Reply`.
    pub name: String,
    /// Chinese title from the official documentation.
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Official documentation page.
    pub doc: String,
    /// Elements besides the header.
    #[serde(default)]
    pub fields: Vec<CallbackField>,
    /// Documented examples; each is validated and run as a test.
    #[serde(default)]
    pub examples: Vec<CallbackExample>,
}

/// An event: an `Event` value (applications), an `InfoType` value (suites), or both.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackEvent {
    /// The `Event` value when an application receives it (`MsgType` = `event`).
    #[serde(default)]
    pub event: Option<String>,
    /// The `InfoType` value when a suite receives it.
    #[serde(default)]
    pub info_type: Option<String>,
    /// Rust variant name, UpperCamelCase; the struct or enum is `<name>Event`.
    pub name: String,
    /// Chinese title from the official documentation.
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Official documentation page.
    pub doc: String,
    /// Elements besides the header; shared by every change type.
    #[serde(default)]
    pub fields: Vec<CallbackField>,
    /// Kinds of the event by `ChangeType`; an event with change types is an enum.
    #[serde(default)]
    pub change_types: Vec<ChangeType>,
    /// Documented examples of an event without change types.
    #[serde(default)]
    pub examples: Vec<CallbackExample>,
}

/// One `ChangeType` of an event.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeType {
    /// The `ChangeType` value.
    pub change_type: String,
    /// Other `ChangeType` values WeCom sends for the same change (an official example
    /// spelled differently from its table); they dispatch to this change type too.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Rust variant name, UpperCamelCase; the struct is `<event name><name>`.
    pub name: String,
    /// Chinese title from the official documentation.
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Elements besides the header and the event's own.
    #[serde(default)]
    pub fields: Vec<CallbackField>,
    /// Documented examples.
    #[serde(default)]
    pub examples: Vec<CallbackExample>,
}

/// One element of a callback.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackField {
    /// Element name on the wire (`ToUserName`).
    pub name: String,
    /// `string`, `integer`, `number`, `boolean`, `json`, `array<T>` or a type of `types`.
    /// XML sends every value as text: numbers are parsed from it.
    #[serde(rename = "type")]
    pub type_ref: String,
    /// Meaning, from the official documentation.
    #[serde(default)]
    pub doc: String,
    /// Rust name, where the snake_case of the wire name is not a valid or clear one.
    #[serde(default)]
    pub rust_name: Option<String>,
    /// For an array: the name of the child element holding each item
    /// (`<ApprovalNodes><ApprovalNode>...`). Without it an array is a repeated element.
    #[serde(default)]
    pub item: Option<String>,
    /// A credential (ticket, token, auth code): kept out of Debug and logs.
    #[serde(default)]
    pub secret: bool,
}

/// A nested element type.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackType {
    #[serde(default)]
    pub doc: String,
    pub fields: Vec<CallbackField>,
}

/// A documented example: the plaintext WeCom sends, as XML or as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackExample {
    /// Where it comes from or what it shows.
    #[serde(default)]
    pub name: Option<String>,
    /// The XML plaintext.
    #[serde(default)]
    pub xml: Option<String>,
    /// The JSON plaintext.
    #[serde(default)]
    pub json: Option<serde_json::Value>,
}
