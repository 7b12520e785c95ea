//! A third-party app (suite): one URL for its 指令回调 (ticket, authorisations) and its data
//! callbacks from every corp that installed it. The lifecycle keeps each corp's permanent
//! code and agent id (here in memory; `RedisPermanentCodes` with the `redis` feature), and a
//! data callback's handler calls WeCom as the corp it came from.
//!
//! ```sh
//! SUITE_ID=... SUITE_SECRET=... SUITE_TOKEN=... SUITE_AES_KEY=... \
//!   cargo run -p wecom-api --features axum --example suite_app
//! ```
//!
//! Its test, offline against a stand-in WeCom: `tests/tests/callback_suite.rs`.

use std::sync::Arc;

use wecom_api::callback::{
    CallbackCrypto, ChangeContactEvent, Context, Endpoint, HandlerResult, MemoryPermanentCodes,
    PermanentCodeStore, Registry, Router, Source, SuiteLifecycle,
};

/// What the handlers share.
#[derive(Clone)]
pub struct App {
    pub lifecycle: Arc<SuiteLifecycle>,
}

/// A member joined a corp that installed the suite: greet them as that corp's app.
async fn on_contacts(ctx: Context<App>, change: ChangeContactEvent) -> HandlerResult {
    if let ChangeContactEvent::CreateUser(user) = change {
        let corp = ctx.state().lifecycle.corp(ctx.receive_id()).await?;
        let to = user.user_id.unwrap_or_default();
        corp.message()
            .send(wecom_api::message::AppMessage::text("欢迎加入"))
            .touser(to)
            .await?;
    }
    Ok(None)
}

/// The suite's callback URL: 指令回调 (receive id = suite id) and data callbacks (receive
/// id = the corp's id) share token and key.
pub fn endpoint(
    suite: wecom_api::Client,
    codes: Arc<dyn PermanentCodeStore>,
    token: &str,
    aes_key: &str,
) -> wecom_api::Result<Endpoint<App>> {
    let lifecycle = Arc::new(SuiteLifecycle::new(suite.clone(), codes));
    let registry = Registry::new();
    registry.insert(Source::new(
        "suite",
        CallbackCrypto::new(token, aes_key, suite.corp_id())?,
    ));
    registry.insert(Source::new("data", CallbackCrypto::new(token, aes_key, "")?).any_receiver());
    let router = lifecycle.clone().route(Router::new()).on(on_contacts);
    Ok(Endpoint::new(registry, router, App { lifecycle }))
}

#[allow(dead_code)] // the test includes this file for `endpoint`
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let suite = wecom_api::Client::builder()
        .suite(var("SUITE_ID")?, var("SUITE_SECRET")?)
        .build()?;
    let codes = Arc::new(MemoryPermanentCodes::new());
    let endpoint = endpoint(suite, codes, &var("SUITE_TOKEN")?, &var("SUITE_AES_KEY")?)?;
    let app = axum::Router::new().nest_service("/suite/callback", endpoint.into_router());
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
