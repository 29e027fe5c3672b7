//! `/v1/sync/push` and `/v1/sync/pull`.

use super::route_of;
use crate::http::error::AppError;
use crate::http::extract::{BearerSession, Json, Query};
use crate::service::{AccountsService, SyncService};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use gridwork_core::protocol::{PullQuery, PullResponse, PushRequest, PushResponse, paths};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new().route(route_of(paths::PUSH), post(push)).route(route_of(paths::PULL), get(pull))
}

async fn push(
    State(sync): State<Arc<SyncService>>,
    BearerSession(session): BearerSession,
    Json(req): Json<PushRequest>,
) -> Result<Json<PushResponse>, AppError> {
    Ok(Json(sync.push_signed(&session.caller, session.device_key.as_deref(), req.ops, req.sigs).await?))
}

async fn pull(
    State(sync): State<Arc<SyncService>>,
    State(accounts): State<Arc<AccountsService>>,
    BearerSession(session): BearerSession,
    Query(q): Query<PullQuery>,
) -> Result<Json<PullResponse>, AppError> {
    let pending = q.pending;
    let answer = sync.pull(&session.caller, q).await?;
    if let Some(pending) = pending {
        accounts.note_sync(&session, pending).await;
    }
    Ok(Json(answer))
}
