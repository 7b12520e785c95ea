//! The AI-bot endpoint as an axum `Router` (a tower `Service`).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AibotEndpoint;
use crate::callback::Answer;

impl AibotEndpoint {
    /// An axum `Router` serving the bot's URL at `/`: `GET` answers the URL verification,
    /// `POST` receives callbacks and answers with the encrypted JSON envelope.
    ///
    /// ```no_run
    /// # async fn demo(endpoint: wecom_api::aibot::AibotEndpoint) -> std::io::Result<()> {
    /// let app = axum::Router::new().nest_service("/aibot", endpoint.into_router());
    /// axum::serve(tokio::net::TcpListener::bind("0.0.0.0:8080").await?, app).await
    /// # }
    /// ```
    pub fn into_router(self) -> axum::Router {
        let limit = self.registry().max_body_size();
        axum::Router::new()
            .route("/", get(verify).post(receive))
            .layer(DefaultBodyLimit::max(limit))
            .with_state(self)
    }
}

async fn verify(State(endpoint): State<AibotEndpoint>, RawQuery(query): RawQuery) -> Response {
    respond(endpoint.verify(query.as_deref().unwrap_or_default()))
}

async fn receive(
    State(endpoint): State<AibotEndpoint>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    respond(
        endpoint
            .receive(query.as_deref().unwrap_or_default(), &body)
            .await,
    )
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if answer.body.starts_with('{') {
        "application/json; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    (status, [(header::CONTENT_TYPE, content_type)], answer.body).into_response()
}
