//! `/v1/auth/*`: login, enrolment by a one-time code (扫码登录), logout, revoke.

use super::route_of;
use crate::http::error::AppError;
use crate::http::extract::{AdminSession, BearerSession, ClientAddr, Json};
use crate::service::{AccountsService, EnrolmentService};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use gridwork_core::protocol::{EnrolRequest, LoginRequest, LoginResponse, RevokeRequest, RevokeResponse, paths};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(route_of(paths::LOGIN), post(login))
        .route(route_of(paths::ENROL), post(enrol))
        .route(route_of(paths::LOGOUT), post(logout))
        .route(route_of(paths::REVOKE), post(revoke))
}

async fn login(
    State(accounts): State<Arc<AccountsService>>,
    ClientAddr(from): ClientAddr,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    Ok(Json(accounts.login_from(req, from).await?))
}

/// Answered exactly like a login; a bad, used or expired code like a wrong password.
async fn enrol(
    State(enrolment): State<Arc<EnrolmentService>>,
    Json(req): Json<EnrolRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    Ok(Json(enrolment.enrol(req).await?))
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
    AdminSession(session): AdminSession,
    Json(req): Json<RevokeRequest>,
) -> Result<Json<RevokeResponse>, AppError> {
    let revoked = accounts.revoke(&session, &req.username, req.device_id).await?;
    Ok(Json(RevokeResponse { revoked }))
}
