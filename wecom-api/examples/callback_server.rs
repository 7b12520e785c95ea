//! A complete WeCom callback URL on axum: URL verification, decryption, typed handlers,
//! retry deduplication, the 5-second rule and an encrypted passive reply.
//!
//! ```sh
//! WECOM_TOKEN=... WECOM_ENCODING_AES_KEY=... WECOM_CORP_ID=... \
//!   cargo run -p wecom-api --features axum --example callback_server
//! ```
//!
//! Without those variables it uses the official sample settings.

use wecom_api::callback::{
    CallbackCrypto, ChangeContactEvent, Context, Endpoint, EnterAgentEvent, HandlerResult,
    Registry, Reply, Router, Source, TextMessage,
};

async fn on_text(_ctx: Context<()>, text: TextMessage) -> HandlerResult {
    let said = text.content.unwrap_or_default();
    Ok(Some(Reply::text(format!("you said: {said}"))))
}

async fn on_enter(_ctx: Context<()>, _event: EnterAgentEvent) -> HandlerResult {
    Ok(Some(Reply::text("welcome")))
}

/// Every contact change (create_user, update_user, delete_party, ...).
async fn on_contacts(_ctx: Context<()>, change: ChangeContactEvent) -> HandlerResult {
    println!("contacts: {}", change.kind());
    Ok(None) // answered `success`
}

fn setting(name: &str, sample: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| sample.to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let crypto = CallbackCrypto::new(
        &setting("WECOM_TOKEN", "QDG6eK"),
        &setting(
            "WECOM_ENCODING_AES_KEY",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        ),
        &setting("WECOM_CORP_ID", "wx5823bf96d3bd56c7"),
    )?;
    let registry = Registry::new();
    registry.insert(Source::new("app", crypto));
    let router = Router::new().on(on_text).on(on_enter).on(on_contacts);
    let endpoint = Endpoint::new(registry, router, ());

    let app = axum::Router::new().nest_service("/callback", endpoint.clone().into_router());
    let address = setting("CALLBACK_ADDR", "127.0.0.1:8080");
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("WeCom callback URL: http://{address}/callback");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    // Handlers still running in the background finish before the process ends.
    endpoint.shutdown(std::time::Duration::from_secs(30)).await;
    Ok(())
}
