//! The admin console, `/admin`: server-rendered pages (askama templates compiled into the
//! binary, htmx and the map's Leaflet embedded too) over the same services a device uses.
//!
//! - Sessions: a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` under TLS) holding an
//!   accounts session made for the browser ([`crate::service::ConsoleSessions`]); idle
//!   expiry and sign-out; the sign-in backs off like the device API's.
//! - CSRF: every form carries the session's token (the sign-in form a token of its own
//!   cookie), and every unsafe request from another origin (by `Origin`, else `Referer`)
//!   is refused before any handler runs.
//! - Roles: admins act; officers (brigade leaders and officers) read within what they may
//!   see, with no action buttons, and any action they post is answered 403.
//! - Errors: HTML pages with a Chinese message and an English code, never a value sent;
//!   layers' own error answers (a body too large, a panic) become such pages too.

mod accounts;
mod audit;
mod auth;
mod bulk;
mod bulletin;
mod downloads;
mod enrol;
mod error;
mod evidence;
mod figures;
mod form;
mod map;
mod moderation;
mod queue;
mod records;
mod session;
mod static_files;
mod timeline;
mod view;

pub use error::ConsoleError;

use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;

/// Where the console is nested.
pub const PREFIX: &str = "/admin";
/// Largest form body (a bulk selection of 1,000 ids fits).
const MAX_FORM_BYTES: usize = 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/admin/queue") }))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/queue", get(queue::queue))
        .route("/records", get(records::table))
        .route("/records/{id}", get(records::record))
        .route("/records.csv", get(downloads::csv).post(downloads::csv_personal))
        .route("/records.xlsx", get(downloads::xlsx).post(downloads::xlsx_personal))
        .route("/records.geojson", get(downloads::geojson).post(downloads::geojson_personal))
        .route("/records/{id}/evidence", get(evidence::page))
        .route("/records/{id}/evidence/bundle", post(evidence::bundle))
        .route("/records/{id}/reveal", post(records::reveal))
        .route("/records/{id}/open", post(records::open_case))
        .route("/records/{id}/step", post(records::step))
        .route("/records/{id}/status", post(records::set_status))
        .route("/records/{id}/hide", post(moderation::hide))
        .route("/records/{id}/unhide", post(moderation::unhide))
        .route("/records/{id}/photos/{sha256}/redact", post(moderation::redact))
        .route("/records/{id}/photos/{sha256}/publish", post(moderation::publish))
        .route("/records/{id}/photos/{sha256}/unredact", post(moderation::unredact))
        .route("/records/{id}/photos/{sha256}/public", get(moderation::redacted_photo))
        .route("/bulk", post(bulk::bulk))
        .route("/audit", get(audit::page))
        .route("/enrol", get(enrol::enrol_page).post(enrol::make_code))
        .route("/accounts", get(accounts::page).post(accounts::create))
        .route("/accounts/{id}/disable", post(accounts::disable))
        .route("/accounts/{id}/enable", post(accounts::enable))
        .route("/accounts/{id}/role", post(accounts::role))
        .route("/accounts/{id}/revoke", post(accounts::revoke))
        .route("/figures", get(figures::figures))
        .route("/bulletin", get(bulletin::page))
        .route("/bulletin.pdf", get(bulletin::pdf))
        .route("/map", get(map::map))
        .route("/map/points.geojson", get(map::points))
        .route("/map/outlines.geojson", get(map::outlines))
        .route("/photos/{sha256}", get(records::photo))
        .route("/photos/{sha256}/thumb", get(records::thumb))
        .route("/static/{file}", get(static_files::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn(same_origin))
        .layer(middleware::from_fn(html_errors))
        .layer(CatchPanicLayer::custom(panic_response))
}

async fn not_found() -> ConsoleError {
    ConsoleError::NotFound
}

async fn method_not_allowed() -> ConsoleError {
    ConsoleError::MethodNotAllowed
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    // The payload may hold request data: log only that it happened.
    tracing::error!("console handler panicked");
    ConsoleError::Internal("panic".into()).into_response()
}

/// The origin this request was addressed to, as a browser would write it in `Origin`.
fn own_origin(req: &Request) -> Option<String> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    Some(format!("{}://{host}", if session::is_tls(req.headers()) { "https" } else { "http" }))
}

/// Unsafe requests from another origin are refused before any handler (the forms' CSRF
/// token is checked too, by each handler).
async fn same_origin(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let own = own_origin(&req);
    let headers = req.headers();
    let claimed = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned).or_else(|| {
        headers.get(header::REFERER).and_then(|v| v.to_str().ok()).map(|r| {
            // scheme://host[:port] of the referring page.
            let rest = r.split_once("://").map(|(s, rest)| (s, rest.split('/').next().unwrap_or("")));
            rest.map(|(s, host)| format!("{s}://{host}")).unwrap_or_default()
        })
    });
    match (claimed, own) {
        (None, _) => next.run(req).await,
        (Some(claimed), Some(own)) if claimed == own => next.run(req).await,
        _ => {
            tracing::warn!("console: cross-origin form post refused");
            ConsoleError::CrossOrigin.into_response()
        }
    }
}

/// The console's Content-Security-Policy: everything from the console itself, images also
/// from the configured map tiles' origin.
fn csp() -> &'static HeaderValue {
    static CSP: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        let tiles = map::tile_source().map(|t| format!(" {t}")).unwrap_or_default();
        let policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{tiles}; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        );
        HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
    })
}

/// Every answer of the console: pages are never cached (they may show personal data) nor
/// framed; scripts come only from the console itself. Error answers a layer made without
/// a page of ours get one.
async fn html_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_html =
        resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    let mut resp = if (status.is_client_error() || status.is_server_error()) && !is_html {
        let err = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ConsoleError::TooLarge,
            StatusCode::NOT_FOUND => ConsoleError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ConsoleError::MethodNotAllowed,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ConsoleError::BadForm,
            StatusCode::FORBIDDEN => ConsoleError::Forbidden,
            s if s.is_server_error() => ConsoleError::Internal(format!("layer answered {s}")),
            _ => ConsoleError::BadRequest("请求无法处理".into()),
        };
        let (parts, _) = resp.into_parts();
        let mut fixed = err.into_response();
        if let Some(v) = parts.headers.get(header::ALLOW) {
            fixed.headers_mut().insert(header::ALLOW, v.clone());
        }
        fixed
    } else {
        resp
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp().clone());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
