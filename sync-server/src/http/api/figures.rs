//! `/v1/figures`: the figures of the case loop (结案率, 按期结案率, …) for a period and a
//! grouping, for admins and officers.

use super::route_of;
use crate::domain::figures::{Figures, GroupBy};
use crate::http::error::AppError;
use crate::http::extract::{BearerSession, Json, Query};
use crate::service::FiguresService;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::NaiveDate;
use gridwork_core::protocol::paths;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new().route(route_of(paths::FIGURES), get(figures))
}

/// `?from=2026-11-01&to=2026-12-01&by=district`: the period `[from, to)` in local dates.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FiguresQuery {
    from: NaiveDate,
    to: NaiveDate,
    #[serde(default = "total")]
    by: GroupBy,
}

fn total() -> GroupBy {
    GroupBy::Total
}

#[derive(Serialize)]
struct FiguresResponse {
    from: NaiveDate,
    to: NaiveDate,
    by: GroupBy,
    rows: Vec<Figures>,
}

async fn figures(
    State(service): State<Arc<FiguresService>>,
    BearerSession(session): BearerSession,
    Query(q): Query<FiguresQuery>,
) -> Result<Json<FiguresResponse>, AppError> {
    let rows = service.figures(&session.caller, q.from, q.to, q.by).await?;
    Ok(Json(FiguresResponse { from: q.from, to: q.to, by: q.by, rows }))
}
