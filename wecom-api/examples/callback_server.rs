//! A complete WeCom callback endpoint on axum: URL verification (GET), decryption, typed
//! dispatch, retry deduplication and an encrypted passive reply (POST).
//!
//! ```sh
//! WECOM_TOKEN=... WECOM_ENCODING_AES_KEY=... WECOM_CORP_ID=... \
//!   cargo run -p wecom-api --example callback_server
//! ```
//!
//! Without those variables it uses the official sample settings, so the documented URL
//! verification request works against it:
//!
//! ```sh
//! curl 'http://127.0.0.1:8080/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D'
//! # 1616140317555161061
//! ```

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use wecom_api::callback::{
    Callback, CallbackCrypto, ChangeContactEvent, Dedup, Event, Message, Reply,
};

struct App {
    crypto: CallbackCrypto,
    dedup: Dedup,
}

type Answer = (StatusCode, String);

fn refused(error: wecom_api::Error) -> Answer {
    // The error names the failed check and never carries the token or the key.
    eprintln!("refused callback: {error}");
    (StatusCode::BAD_REQUEST, String::new())
}

/// GET: WeCom checks the URL when it is saved; answer with the decrypted echostr.
async fn verify(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Answer {
    match app
        .crypto
        .verify_url_request(query.as_deref().unwrap_or_default())
    {
        Ok(echo) => (StatusCode::OK, echo),
        Err(e) => refused(e),
    }
}

/// POST: a message or an event. Answer within 5 seconds, or WeCom sends it again.
async fn receive(State(app): State<Arc<App>>, RawQuery(query): RawQuery, body: Bytes) -> Answer {
    let callback = match app
        .crypto
        .open_request(query.as_deref().unwrap_or_default(), &body)
    {
        Ok(callback) => callback,
        Err(e) => return refused(e),
    };
    // Marked handled only by `claim.done()`: a failure below lets WeCom's retry in.
    let Some(claim) = app.dedup.claim(&callback.dedup_key()) else {
        return (StatusCode::OK, String::new()); // WeCom's retry of one already handled
    };
    let reply = match &callback {
        Callback::Message(Message::Text(text)) => {
            let said = text.content.as_deref().unwrap_or_default();
            Some(Reply::text(format!("you said: {said}")))
        }
        Callback::Event(Event::EnterAgent(_)) => Some(Reply::text("welcome")),
        Callback::Event(Event::TemplateCardEvent(_)) => Some(Reply::update_button("done")),
        Callback::Event(Event::ChangeContact(ChangeContactEvent::CreateUser(user))) => {
            println!("new member {:?}", user.user_id);
            None
        }
        other => {
            println!("received {}", other.kind());
            None
        }
    };
    // An empty 200 means "received, no reply".
    match reply.map(|r| r.to(&callback).encrypt_now(&app.crypto)) {
        Some(Ok(xml)) => {
            claim.done();
            (StatusCode::OK, xml)
        }
        Some(Err(e)) => refused(e),
        None => {
            claim.done();
            (StatusCode::OK, String::new())
        }
    }
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
    let app = Arc::new(App {
        crypto,
        dedup: Dedup::default(),
    });
    let router = Router::new()
        .route("/callback", get(verify).post(receive))
        .with_state(app);
    let address = setting("CALLBACK_ADDR", "127.0.0.1:8080");
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("WeCom callback endpoint on http://{address}/callback");
    axum::serve(listener, router).await?;
    Ok(())
}
