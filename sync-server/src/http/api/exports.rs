//! `/v1/exports/records.csv`, `.xlsx`, `.geojson`: a filtered selection of the records the
//! caller may see, streamed. `?personal=true` adds the personal-data columns (audited).

use crate::domain::query::{RecordFilter, SortKey};
use crate::http::error::AppError;
use crate::http::extract::{BearerSession, Query};
use crate::service::export::ExportService;
use crate::service::export::{ExportFormat, ExportRequest, parse_instant};
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gridwork_core::model::{RecordKind, Status};
use serde::Deserialize;
use std::sync::Arc;

/// The paths, relative to `/v1`.
pub const CSV: &str = "/exports/records.csv";
pub const XLSX: &str = "/exports/records.xlsx";
pub const GEOJSON: &str = "/exports/records.geojson";

pub fn router() -> Router<AppState> {
    Router::new().route(CSV, get(csv)).route(XLSX, get(xlsx)).route(GEOJSON, get(geojson))
}

type Args = (State<Arc<ExportService>>, BearerSession, Query<ExportQuery>);

async fn csv(s: State<Arc<ExportService>>, b: BearerSession, q: Query<ExportQuery>) -> Result<Response, AppError> {
    export((s, b, q), ExportFormat::Csv).await
}

async fn xlsx(s: State<Arc<ExportService>>, b: BearerSession, q: Query<ExportQuery>) -> Result<Response, AppError> {
    export((s, b, q), ExportFormat::Xlsx).await
}

async fn geojson(s: State<Arc<ExportService>>, b: BearerSession, q: Query<ExportQuery>) -> Result<Response, AppError> {
    export((s, b, q), ExportFormat::GeoJson).await
}

/// The filter, as the console's table takes it. Lists are comma-separated.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `report,notice,service_log,case`.
    pub kind: Option<String>,
    /// Status codes (`submitted`, `issued`, `dispatched`, …).
    pub status: Option<String>,
    /// A 大类 or 小类 code, `QL-*`, `MQWB` (prefix match).
    pub category: Option<String>,
    /// Any org code (district, street, community, grid).
    pub org: Option<String>,
    /// Made in `[from, to)`: dates (China time) or RFC 3339 instants.
    pub from: Option<String>,
    pub to: Option<String>,
    pub overdue: Option<bool>,
    /// `unit:<code>` or `officer:<user id>`.
    pub assignee: Option<String>,
    /// An author's account id.
    pub author: Option<String>,
    /// Free text (never matched against personal data).
    pub text: Option<String>,
    /// `newest` (default), `oldest`, `updated`, `due`.
    pub sort: Option<String>,
    /// Include the party's name, shop and phone (written to the audit trail).
    #[serde(default)]
    pub personal: bool,
}

fn invalid(param: &str, what: &str) -> AppError {
    AppError::InvalidRequest(format!("{param}: {what}"))
}

fn short_text(param: &str, v: Option<String>, max: usize) -> Result<Option<String>, AppError> {
    match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => Err(invalid(param, "过长或含控制字符")),
        other => Ok(other),
    }
}

impl ExportQuery {
    pub fn into_request(self, format: ExportFormat) -> Result<ExportRequest, AppError> {
        let list = |v: &Option<String>| -> Vec<String> {
            v.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        };
        let kinds = list(&self.kind)
            .iter()
            .map(|k| RecordKind::parse(k).ok_or_else(|| invalid("kind", "应为 report、notice、service_log 或 case")))
            .collect::<Result<Vec<_>, _>>()?;
        let statuses = list(&self.status)
            .iter()
            .map(|s| Status::parse(s).ok_or_else(|| invalid("status", "未知的状态")))
            .collect::<Result<Vec<_>, _>>()?;
        let when = |param: &str, v: &Option<String>| {
            v.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| parse_instant(s).ok_or_else(|| invalid(param, "应为日期（YYYY-MM-DD）或带时区的时间")))
                .transpose()
        };
        let sort = match self.sort.as_deref().unwrap_or("newest") {
            "newest" => SortKey::NewestFirst,
            "oldest" => SortKey::OldestFirst,
            "updated" => SortKey::UpdatedFirst,
            "due" => SortKey::DueFirst,
            _ => return Err(invalid("sort", "应为 newest、oldest、updated 或 due")),
        };
        let filter = RecordFilter {
            kinds,
            statuses,
            category: short_text("category", self.category, 20)?,
            org: short_text("org", self.org, 40)?,
            from: when("from", &self.from)?,
            to: when("to", &self.to)?,
            overdue: self.overdue,
            assignee: short_text("assignee", self.assignee, 80)?,
            author: short_text("author", self.author, 80)?,
            text: short_text("text", self.text, 100)?,
            bbox: None,
        };
        Ok(ExportRequest { filter, sort, personal: self.personal, format })
    }
}

async fn export((State(service), BearerSession(session), Query(q)): Args, format: ExportFormat) -> Result<Response, AppError> {
    let req = q.into_request(format)?;
    let export = service.export(&session.caller, req).await?;
    let mut resp = Body::from_stream(export.body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&export.rows.to_string()) {
        headers.insert("x-gridwork-rows", v);
    }
    Ok(resp)
}
