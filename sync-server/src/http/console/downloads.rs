//! Downloads of what the table shows: `/admin/records.{csv,xlsx,geojson}` with the
//! table's own query string, written by the interfaces' export writers over the same
//! filter (so the file is exactly the filtered rows, every page, in the table's order).
//!
//! A plain download is a GET link. One with personal data is a POST form (CSRF-checked,
//! admins and officers only) because it writes to the audit trail.

use super::error::ConsoleError;
use super::form::{Form, FormData, QueryData};
use super::session::Console;
use super::view::TableQuery;
use crate::service::export::{ExportFormat, ExportRequest};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// `GET /admin/records.<format>?<the table's query>`.
async fn download(state: AppState, console: Console, q: FormData, format: ExportFormat) -> Result<Response, ConsoleError> {
    export(&state, &console, format, &q, false).await
}

/// `POST /admin/records.<format>` with `filter` (the table's query) and `personal=1`.
async fn download_personal(
    state: AppState,
    console: Console,
    form: FormData,
    format: ExportFormat,
) -> Result<Response, ConsoleError> {
    console.check_csrf(&form)?;
    let filter = FormData::parse(form.get("filter").unwrap_or("").as_bytes());
    let personal = form.get("personal") == Some("1");
    export(&state, &console, format, &filter, personal).await
}

macro_rules! routes {
    ($($get:ident, $post:ident => $format:expr;)*) => {$(
        pub async fn $get(State(s): State<AppState>, c: Console, QueryData(q): QueryData) -> Result<Response, ConsoleError> {
            download(s, c, q, $format).await
        }
        pub async fn $post(State(s): State<AppState>, c: Console, Form(f): Form) -> Result<Response, ConsoleError> {
            download_personal(s, c, f, $format).await
        }
    )*};
}

routes! {
    csv, csv_personal => ExportFormat::Csv;
    xlsx, xlsx_personal => ExportFormat::Xlsx;
    geojson, geojson_personal => ExportFormat::GeoJson;
}

async fn export(
    state: &AppState,
    console: &Console,
    format: ExportFormat,
    query: &FormData,
    personal: bool,
) -> Result<Response, ConsoleError> {
    let refs = state.reference().current().await?;
    let q = TableQuery::parse(query, &refs.index)?;
    let req = ExportRequest { filter: q.filter(), sort: q.sort, personal, format };
    let export = state.export().export(&console.0.session.caller, req).await?;
    let mut resp = Body::from_stream(export.body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&export.rows.to_string()) {
        h.insert("x-gridwork-rows", v);
    }
    Ok(resp)
}
