//! `/v1/numbers`: blocks of notice numbers for an officer's device, and giving back the
//! unused ends when it signs out.

use super::route_of;
use crate::http::error::AppError;
use crate::http::extract::{BearerSession, Json};
use crate::service::NumberService;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use gridwork_core::numbering::NumberBlock;
use gridwork_core::protocol::{BlockRequest, ReturnRequest, ReturnResponse, paths};
use serde::Serialize;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(route_of(paths::NUMBER_BLOCKS), post(issue).get(open))
        .route(route_of(paths::NUMBER_RETURN), post(give_back))
        .route(route_of(paths::NUMBER_ACCOUNTS), get(accounts))
}

/// One block handed out and what became of its numbers.
#[derive(Serialize)]
struct AccountView {
    block: NumberBlock,
    device_id: String,
    user_id: String,
    issued_at: DateTime<Utc>,
    used: u64,
    cancelled: u64,
    returned: u64,
    lost: u64,
    open: u64,
}

/// Admins: every block and its numbers' fate.
async fn accounts(
    State(numbers): State<Arc<NumberService>>,
    BearerSession(session): BearerSession,
) -> Result<Json<Vec<AccountView>>, AppError> {
    let all = numbers.accounts(&session.caller).await?;
    Ok(Json(
        all.into_iter()
            .map(|a| AccountView {
                block: a.block,
                device_id: a.device_id,
                user_id: a.user_id,
                issued_at: a.issued_at,
                used: a.used,
                cancelled: a.cancelled,
                returned: a.returned,
                lost: a.lost,
                open: a.open,
            })
            .collect(),
    ))
}

async fn issue(
    State(numbers): State<Arc<NumberService>>,
    BearerSession(session): BearerSession,
    Json(req): Json<BlockRequest>,
) -> Result<Json<NumberBlock>, AppError> {
    Ok(Json(numbers.issue(&session.caller, req.count).await?))
}

async fn open(
    State(numbers): State<Arc<NumberService>>,
    BearerSession(session): BearerSession,
) -> Result<Json<Vec<NumberBlock>>, AppError> {
    Ok(Json(numbers.open(&session.caller).await?))
}

async fn give_back(
    State(numbers): State<Arc<NumberService>>,
    BearerSession(session): BearerSession,
    Json(req): Json<ReturnRequest>,
) -> Result<Json<ReturnResponse>, AppError> {
    Ok(Json(ReturnResponse { returned: numbers.give_back(&session.caller, &req).await? }))
}
