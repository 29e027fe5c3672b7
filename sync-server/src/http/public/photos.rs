//! `GET /public/photos/{record id}/{sha256}`: a photo of a public 随手拍 report as anyone
//! may see it (the link Open311's `media_url` gives): the redacted copy when an admin
//! blacked out faces or number plates on it, else the photo as uploaded. Photos of records
//! hidden from the public, of notices, cases and service logs, photos not listed by the
//! report, and photos not yet arrived are all simply not found. Revalidated on each use
//! (`no-cache` with the served file's hash as ETag), so a redaction takes effect at once.

use super::notices::html_page;
use crate::domain::DomainError;
use crate::service::moderation::{ModerationService, PUBLIC_PHOTO_PREFIX};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use uuid::Uuid;

pub fn router() -> Router<crate::state::AppState> {
    Router::new().route(&format!("{PUBLIC_PHOTO_PREFIX}{{id}}/{{sha256}}"), get(show))
}

fn not_found() -> Response {
    html_page(StatusCode::NOT_FOUND, "未找到照片", "<h1>未找到这张照片</h1><p>照片不存在、尚未上传完成或不公开。</p>")
}

async fn show(
    State(moderation): State<Arc<ModerationService>>,
    Path((id, sha256)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = Uuid::parse_str(id.trim()) else { return not_found() };
    if !gridwork_core::media::is_sha256_hex(&sha256) {
        return not_found();
    }
    let photo = match moderation.public_photo(id, &sha256).await {
        Ok(p) => p,
        Err(DomainError::NotFound | DomainError::PhotoPending) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "public photo failed");
            return html_page(StatusCode::INTERNAL_SERVER_ERROR, "服务暂时不可用", "<h1>服务暂时不可用</h1><p>请稍后再试。</p>");
        }
    };
    let etag = format!("\"{}\"", photo.served);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Body::from_stream(photo.blob.stream).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(photo.mime));
        r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(photo.blob.len));
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // A redaction (or hiding) must take effect at once: every use revalidates.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, no-cache"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert("x-gridwork-redacted", HeaderValue::from_static(if photo.redacted { "1" } else { "0" }));
    resp
}
