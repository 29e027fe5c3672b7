//! The console's assets, compiled into the binary (no CDN: offices and test machines have
//! no internet): its own stylesheet and scripts, htmx 2 and Leaflet 1.9 from npm.

use super::error::ConsoleError;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const ASSETS: &[(&str, &str, &[u8])] = &[
    ("console.css", "text/css; charset=utf-8", include_bytes!("../../../static/console/console.css")),
    ("console.js", "text/javascript; charset=utf-8", include_bytes!("../../../static/console/console.js")),
    ("map.js", "text/javascript; charset=utf-8", include_bytes!("../../../static/console/map.js")),
    ("moderate.js", "text/javascript; charset=utf-8", include_bytes!("../../../static/console/moderate.js")),
    ("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../../../static/console/vendor/htmx-2.0.11.min.js")),
    ("leaflet.js", "text/javascript; charset=utf-8", include_bytes!("../../../static/console/vendor/leaflet-1.9.4.js")),
    ("leaflet.css", "text/css; charset=utf-8", include_bytes!("../../../static/console/vendor/leaflet-1.9.4.css")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../../static/console/favicon.svg")),
];

pub async fn asset(Path(file): Path<String>) -> Result<Response, ConsoleError> {
    let (_, mime, bytes) = ASSETS.iter().find(|(name, _, _)| *name == file).ok_or(ConsoleError::NotFound)?;
    let mut resp = (*bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    Ok(resp)
}
