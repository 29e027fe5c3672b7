//! `/v1/photos/*`: resumable uploads and serving photos and thumbnails.

use super::route_of;
use crate::http::error::AppError;
use crate::http::extract::{BearerSession, Json};
use crate::service::PhotosService;
use crate::service::accounts::Session;
use crate::service::photos::Variant;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use gridwork_core::protocol::{UPLOAD_OFFSET_HEADER, UploadStart, UploadStatus, paths};
use std::sync::Arc;

/// Content type of an upload append's body (as in tus).
pub const UPLOAD_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// Photos never change under their name.
const PHOTO_CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

pub fn router(max_photo_bytes: u64) -> Router<AppState> {
    let limit = usize::try_from(max_photo_bytes).unwrap_or(usize::MAX);
    let upload = format!("{}{{sha256}}", paths::UPLOAD_PREFIX);
    let photo = format!("{}{{sha256}}", paths::PHOTO_PREFIX);
    Router::new()
        .route(route_of(paths::UPLOADS), post(start))
        .route(route_of(&upload), patch(append).layer(DefaultBodyLimit::max(limit)))
        .route(route_of(&photo), get(original))
        .route(&format!("{}/thumb", route_of(&photo)), get(thumb))
}

fn with_offset_header(status: UploadStatus) -> Response {
    let offset = HeaderValue::from(status.offset);
    let mut resp = Json(status).into_response();
    resp.headers_mut().insert(HeaderName::from_static(UPLOAD_OFFSET_HEADER), offset);
    resp
}

async fn start(
    State(photos): State<Arc<PhotosService>>,
    BearerSession(session): BearerSession,
    Json(req): Json<UploadStart>,
) -> Result<Response, AppError> {
    Ok(with_offset_header(photos.start(&session.caller, req).await?))
}

fn is_upload_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(UPLOAD_CONTENT_TYPE))
        .unwrap_or(false)
}

async fn append(
    State(photos): State<Arc<PhotosService>>,
    BearerSession(session): BearerSession,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    if !is_upload_body(&headers) {
        return Err(AppError::UnsupportedUploadType);
    }
    let offset = headers
        .get(UPLOAD_OFFSET_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| AppError::InvalidRequest(format!("{UPLOAD_OFFSET_HEADER}: 应为非负整数")))?;
    // The declared length of what follows (not meaningful for a compressed body).
    let content_length = if headers.contains_key(header::CONTENT_ENCODING) {
        None
    } else {
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
    };
    let status = photos.append(&session.caller, &sha256, offset, content_length, body.into_data_stream()).await?;
    Ok(with_offset_header(status))
}

async fn original(
    State(photos): State<Arc<PhotosService>>,
    BearerSession(session): BearerSession,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    serve(&photos, &session, &sha256, Variant::Original, &headers).await
}

async fn thumb(
    State(photos): State<Arc<PhotosService>>,
    BearerSession(session): BearerSession,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    serve(&photos, &session, &sha256, Variant::Thumb, &headers).await
}

/// The photo or its thumbnail, if the caller may see it, with caching headers.
async fn serve(
    photos: &PhotosService,
    session: &Session,
    sha256: &str,
    variant: Variant,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let row = photos.visible_photo(&session.caller, sha256).await?;
    let etag = match variant {
        Variant::Original => format!("\"{}\"", row.sha256),
        Variant::Thumb => format!("\"{}-thumb\"", row.sha256),
    };
    let etag_value = HeaderValue::from_str(&etag).map_err(AppError::internal)?;
    let mut resp = if super::reference::matches_etag(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (blob, mime) = photos.open(&row, variant).await?;
        let mut r = Body::from_stream(blob.stream).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(blob.len));
        r.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        r
    };
    resp.headers_mut().insert(header::ETAG, etag_value);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(PHOTO_CACHE_CONTROL));
    Ok(resp)
}
