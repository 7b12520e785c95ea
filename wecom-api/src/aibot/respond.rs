//! Answering later through a callback's `response_url` (主动回复, document 101138): usable
//! once, within an hour. The URL carries a one-time `response_code` and is a secret: it
//! only leaves [`Secret`] to be parsed here, and the call (the generated
//! `robot.aibot_respond`, never retried) redacts the code in errors and logs.

use crate::robot::AibotMessage;
use crate::{Client, Error, Result, Secret};

/// The `response_code` inside a `response_url`.
pub fn response_code(response_url: &Secret) -> Result<Secret> {
    let url = response_url.expose();
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "response_code")
        .map(|(_, value)| Secret::new(value))
        .filter(|code| !code.is_empty())
        .ok_or_else(|| {
            Error::invalid_argument(
                "response_url",
                "has no response_code (the URL is not shown)",
            )
        })
}

/// Sends `message` (markdown or template card) through a callback's `response_url`, with
/// `client` (any client: the call needs no access token; its base URL is used, so a
/// test's mock server receives it).
pub async fn respond_via_url(
    client: &Client,
    response_url: &Secret,
    message: impl Into<AibotMessage>,
) -> Result<()> {
    let code = response_code(response_url)?;
    client
        .robot()
        .aibot_respond(code.expose(), message)
        .await
        .map(|_| ())
}
