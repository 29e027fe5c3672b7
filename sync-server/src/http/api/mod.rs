//! The device API, `/v1`: per-resource routers merged into one, with the layers that give
//! every answer of this surface, errors made by layers included, the JSON error body.

mod auth;
pub mod exports;
mod figures;
mod numbers;
mod photos;
mod reference;
mod sync;

use crate::http::error::{AppError, error_response};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use gridwork_core::protocol::{MAX_BODY_BYTES, paths};
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::decompression::RequestDecompressionLayer;

/// A route of `paths` relative to the API's prefix (where the router is nested).
fn route_of(path: &str) -> &str {
    path.strip_prefix(paths::PREFIX).unwrap_or(path)
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(figures::router())
        .merge(numbers::router())
        .merge(sync::router())
        .merge(reference::router())
        .merge(exports::router())
        .merge(crate::http::open311::clients::admin_router())
        .merge(photos::router(state.photos().files().max_bytes()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost first: the limit is read by the body extractors, after decompression
        // (the photo upload route sets its own, the photo size limit).
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new())
        .layer(middleware::from_fn(json_errors))
        .layer(CatchPanicLayer::custom(panic_response))
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
/// of ours; give them one so every error of this surface is `ErrorBody` JSON.
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
