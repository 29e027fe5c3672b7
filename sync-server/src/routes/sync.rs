//! `/v1/sync/push` and `/v1/sync/pull`.

use crate::auth::Session;
use crate::error::AppError;
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::sync::{self, Caller};
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use gridwork_core::protocol::{PullQuery, PullResponse, PushRequest, PushResponse, paths};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::PUSH, post(push)).route(paths::PULL, get(pull))
}

async fn push(
    State(state): State<AppState>,
    session: Session,
    Json(req): Json<PushRequest>,
) -> Result<Json<PushResponse>, AppError> {
    let resp = sync::push(&state, &Caller::from(&session), req.ops).await?;
    Ok(Json(resp))
}

async fn pull(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<PullQuery>,
) -> Result<Json<PullResponse>, AppError> {
    Ok(Json(sync::pull(&state, &Caller::from(&session), q).await?))
}
