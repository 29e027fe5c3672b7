//! `/v1/reference`: the cached reference data, with an ETag.

use super::route_of;
use crate::http::error::AppError;
use crate::http::extract::BearerSession;
use crate::service::ReferenceService;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gridwork_core::model::Role;
use gridwork_core::protocol::paths;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new().route(route_of(paths::REFERENCE), get(reference))
}

/// Does `If-None-Match` name `etag` (or `*`)?
pub(super) fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag)))
}

/// Officers and admins see who runs a stall; grid workers see it masked.
fn may_see_operators(role: Role) -> bool {
    matches!(role, Role::Officer | Role::Admin)
}

async fn reference(
    State(reference): State<Arc<ReferenceService>>,
    BearerSession(session): BearerSession,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let cache = reference.current().await?;
    // Stall operators (personal data) only for those who inspect stalls.
    let (body, tag) = if may_see_operators(session.caller.role) {
        (&cache.json, &cache.etag)
    } else {
        (&cache.masked_json, &cache.masked_etag)
    };
    let etag = HeaderValue::from_str(tag).map_err(AppError::internal)?;
    let mut resp = if matches_etag(&headers, tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = body.clone().into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    resp.headers_mut().insert(header::ETAG, etag);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(resp)
}
