//! `/v1/auth/*`: login, logout, revoke.

use crate::auth::{Session, check_login, open_session};
use crate::error::AppError;
use crate::extract::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use gridwork_core::protocol::{LoginRequest, LoginResponse, RevokeRequest, RevokeResponse, paths};

const MAX_DEVICE_NAME_CHARS: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::LOGIN, post(login)).route(paths::LOGOUT, post(logout)).route(paths::REVOKE, post(revoke))
}

async fn login(State(state): State<AppState>, Json(req): Json<LoginRequest>) -> Result<Json<LoginResponse>, AppError> {
    if req.device_name.as_ref().is_some_and(|n| n.chars().count() > MAX_DEVICE_NAME_CHARS || n.chars().any(char::is_control)) {
        return Err(AppError::InvalidRequest(format!("device_name: 最多{MAX_DEVICE_NAME_CHARS}个字，不能含控制字符")));
    }
    let user = check_login(&state, &req.username, &req.password).await?;
    let token = open_session(&state, &user, req.device_id, req.device_name).await?;
    tracing::info!(user = %user.id, "login");
    Ok(Json(LoginResponse { token, user: user.info(), server_hlc: state.clock().tick() }))
}

async fn logout(State(state): State<AppState>, session: Session) -> Result<StatusCode, AppError> {
    state.storage().revoke_session(&session.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke(
    State(state): State<AppState>,
    session: Session,
    Json(req): Json<RevokeRequest>,
) -> Result<Json<RevokeResponse>, AppError> {
    if !session.is_admin() {
        return Err(AppError::Forbidden);
    }
    let user = state.storage().user_by_username(&req.username).await?.ok_or(AppError::NotFound)?;
    let device = req.device_id.map(|d| d.to_string());
    let revoked = state.storage().revoke_user_sessions(&user.id, device.as_deref()).await?;
    tracing::info!(by = %session.user.id, user = %user.id, revoked, "sessions revoked");
    Ok(Json(RevokeResponse { revoked }))
}
