//! The admins' management of Open311 client applications, on the device API
//! (`/v1/open311/clients`, JSON errors like the rest of `/v1`): make one (its api key is
//! answered this once), list them, revoke one.

use crate::http::error::AppError;
use crate::http::extract::{AdminSession, Json};
use crate::service::open311::{ClientInfo, CreatedClient, NewClient, Open311Service};
use crate::state::AppState;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use std::sync::Arc;
use uuid::Uuid;

/// Relative to `/v1`.
pub const CLIENTS: &str = "/open311/clients";

pub fn admin_router() -> Router<AppState> {
    Router::new().route(CLIENTS, get(list).post(create)).route("/open311/clients/{id}", delete(revoke))
}

async fn create(
    State(service): State<Arc<Open311Service>>,
    AdminSession(session): AdminSession,
    Json(new): Json<NewClient>,
) -> Result<(StatusCode, Json<CreatedClient>), AppError> {
    Ok((StatusCode::CREATED, Json(service.create_client(&session.caller, new).await?)))
}

async fn list(
    State(service): State<Arc<Open311Service>>,
    AdminSession(session): AdminSession,
) -> Result<Json<Vec<ClientInfo>>, AppError> {
    Ok(Json(service.clients(&session.caller).await?))
}

async fn revoke(
    State(service): State<Arc<Open311Service>>,
    AdminSession(session): AdminSession,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, AppError> {
    let id = id.ok().and_then(|Path(s)| Uuid::parse_str(&s).ok()).ok_or(AppError::NotFound)?;
    service.revoke_client(&session.caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
