//! A 微信客服 bot: WeCom's callback only says "there is something to pull" (`kf_msg_or_event`),
//! so the handler pulls with `kf/sync_msg` from the cursor it kept, answers each customer
//! with `kf/send_msg`, and keeps the new cursor. A pull that outlives WeCom's 5 seconds is
//! answered `success` and finishes in the background.
//!
//! ```sh
//! WECOM_CORP_ID=... WECOM_KF_SECRET=... WECOM_TOKEN=... WECOM_ENCODING_AES_KEY=... \
//!   cargo run -p wecom-api --features axum --example kf_bot
//! ```
//!
//! Its test, offline against a stand-in WeCom: `tests/tests/callback_kf_bot.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wecom_api::callback::{
    CallbackCrypto, Context, Endpoint, HandlerResult, KfMsgOrEvent, Registry, Router, Source,
};
use wecom_api::kf::{KfReceivedMessage, KfSendMessage};

/// What the handlers share: the 微信客服 client and the cursor of each 客服账号 (keep it in
/// your database: WeCom's docs say to persist it).
#[derive(Clone)]
pub struct Bot {
    pub kf: wecom_api::Client,
    pub cursors: Arc<Mutex<HashMap<String, String>>>,
}

async fn on_kf(ctx: Context<Bot>, event: KfMsgOrEvent) -> HandlerResult {
    let bot = ctx.state();
    let open_kfid = event.open_kf_id.unwrap_or_default();
    let token = event
        .token
        .map(|t| t.expose().to_string())
        .unwrap_or_default();
    let mut pull = bot
        .kf
        .kf_message()
        .sync(&open_kfid)
        .token(token)
        .limit(1000);
    if let Some(cursor) = bot.cursors.lock().unwrap().get(&open_kfid).cloned() {
        pull = pull.cursor(cursor);
    }
    let mut messages = pull.into_stream();
    while let Some(message) = messages.next().await {
        let message = message?;
        if let KfReceivedMessage::Text(text) = &message.content {
            let customer = message.external_userid.clone().unwrap_or_default();
            let answer = KfSendMessage::text(format!("收到：{}", text.content));
            bot.kf
                .kf_message()
                .send(customer, &open_kfid, answer)
                .await?;
        }
    }
    if let Some(cursor) = messages.last_cursor() {
        bot.cursors.lock().unwrap().insert(open_kfid, cursor);
    }
    Ok(None)
}

/// The callback URL of the bot.
pub fn endpoint(crypto: CallbackCrypto, bot: Bot) -> Endpoint<Bot> {
    let registry = Registry::new();
    registry.insert(Source::new("kf", crypto));
    Endpoint::new(registry, Router::new().on(on_kf), bot)
}

#[allow(dead_code)] // the test includes this file for `endpoint`
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let kf = wecom_api::Client::builder()
        .corp_id(var("WECOM_CORP_ID")?)
        .secret(var("WECOM_KF_SECRET")?)
        .build()?;
    let crypto = CallbackCrypto::new(
        &var("WECOM_TOKEN")?,
        &var("WECOM_ENCODING_AES_KEY")?,
        &var("WECOM_CORP_ID")?,
    )?;
    let bot = Bot {
        kf,
        cursors: Arc::default(),
    };
    let app = axum::Router::new().nest_service("/kf/callback", endpoint(crypto, bot).into_router());
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
