//! `/v1/auth/*`: login, logout, revoke.

use super::route_of;
use crate::http::error::AppError;
use crate::http::extract::{BearerSession, Json};
use crate::service::AccountsService;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use gridwork_core::protocol::{LoginRequest, LoginResponse, RevokeRequest, RevokeResponse, paths};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(route_of(paths::LOGIN), post(login))
        .route(route_of(paths::LOGOUT), post(logout))
        .route(route_of(paths::REVOKE), post(revoke))
}

async fn login(
    State(accounts): State<Arc<AccountsService>>,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    Ok(Json(accounts.login(req).await?))
}

async fn logout(
    State(accounts): State<Arc<AccountsService>>,
    BearerSession(session): BearerSession,
) -> Result<StatusCode, AppError> {
    accounts.logout(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke(
    State(accounts): State<Arc<AccountsService>>,
    BearerSession(session): BearerSession,
    Json(req): Json<RevokeRequest>,
) -> Result<Json<RevokeResponse>, AppError> {
    let revoked = accounts.revoke(&session, &req.username, req.device_id).await?;
    Ok(Json(RevokeResponse { revoked }))
}
