//! The endpoint as an axum `Router` (a tower `Service`): nest it under your callback path.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{Answer, Endpoint};

impl<S: Clone + Send + Sync + 'static> Endpoint<S> {
    /// An axum `Router` serving this endpoint at `/`: `GET` answers the URL verification,
    /// `POST` receives callbacks, other methods get 405, bodies over the sources' size
    /// limit 413. It is a tower `Service`, so other tower-based servers take it too.
    ///
    /// ```no_run
    /// # async fn demo(endpoint: wecom_api::callback::Endpoint<()>) -> std::io::Result<()> {
    /// let app = axum::Router::new().nest_service("/wecom/callback", endpoint.into_router());
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    pub fn into_router(self) -> axum::Router {
        let limit = self.registry().max_body_size();
        axum::Router::new()
            .route("/", get(verify::<S>).post(receive::<S>))
            .layer(DefaultBodyLimit::max(limit))
            .with_state(self)
    }
}

async fn verify<S: Clone + Send + Sync + 'static>(
    State(endpoint): State<Endpoint<S>>,
    RawQuery(query): RawQuery,
) -> Response {
    respond(endpoint.verify(query.as_deref().unwrap_or_default()))
}

async fn receive<S: Clone + Send + Sync + 'static>(
    State(endpoint): State<Endpoint<S>>,
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
    let content_type = if answer.body.starts_with("<xml>") {
        "application/xml; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    (status, [(header::CONTENT_TYPE, content_type)], answer.body).into_response()
}
