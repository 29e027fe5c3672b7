//! The HTTP surface: per-resource routers merged into one, plus the layers every request
//! passes through. Handlers are thin: extract, call `auth`/`sync`, answer.

mod auth;
mod photos;
mod reference;
mod sync;

use crate::error::{AppError, error_response};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gridwork_core::protocol::MAX_BODY_BYTES;
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub fn router(state: AppState) -> Router {
    let max_photo_bytes = state.photos().max_bytes();
    Router::new()
        .route("/healthz", get(healthz))
        .merge(auth::router())
        .merge(sync::router())
        .merge(reference::router())
        .merge(photos::router(max_photo_bytes))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost first: the limit is read by the body extractors, after decompression
        // (the photo upload route sets its own, the photo size limit).
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new())
        .layer(middleware::from_fn(json_errors))
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(panic_response))
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

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    // The payload may hold request data: log only that it happened.
    tracing::error!("handler panicked");
    AppError::Internal("panic".into()).into_response()
}

/// Error responses made by layers (e.g. an unsupported `Content-Encoding`) carry no body
/// of ours; give them one so every error is `ErrorBody` JSON.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json =
        resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let err = match status {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
            other => AppError::Status(other),
        };
        let (parts, _) = resp.into_parts();
        let mut fixed = error_response(status, &err.body());
        for name in [header::ACCEPT_ENCODING, header::ALLOW, header::WWW_AUTHENTICATE] {
            if let Some(v) = parts.headers.get(&name) {
                fixed.headers_mut().insert(name, v.clone());
            }
        }
        return fixed;
    }
    resp
}
