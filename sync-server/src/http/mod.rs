//! The HTTP front doors. Each surface is its own nested router with its own error
//! rendering and fallback: the device API under `/v1` answers JSON error bodies; the admin
//! console (`/admin`, HTML errors, cookie sessions) and Open311 (`/open311/v2`, its own
//! error format) will sit beside it. Layers every request passes through are added here.

pub mod api;
pub mod console;
pub mod error;
pub mod extract;
pub mod forwarded;
pub mod open311;
pub mod openapi;
pub mod public;

use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .nest(gridwork_core::protocol::paths::PREFIX, api::router(&state))
        .nest(console::PREFIX, console::router())
        .nest(open311::PREFIX, open311::router())
        .route(openapi::PATH, get(openapi::document))
        .merge(public::router())
        .fallback(not_found)
        .layer(CompressionLayer::new())
        .layer(
            // Method, route and status only: no bodies, no query strings, no headers.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
                    tracing::info_span!("http", method = %req.method(), path = path.as_deref().unwrap_or("<unmatched>"))
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Outside every surface: a plain 404.
async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "404 Not Found")
}
