//! The console's cookie session and CSRF tokens.

use super::error::ConsoleError;
use super::form::FormData;
use crate::service::console_sessions::{ConsoleCredentials, ConsoleSession, SessionEnd, same_secret};
use crate::state::AppState;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

/// The session cookie: `<device id>.<token>` of the browser's accounts session.
pub const SESSION_COOKIE: &str = "gw_console";
/// The sign-in form's CSRF cookie (before there is a session).
pub const LOGIN_COOKIE: &str = "gw_login";
/// The name of the CSRF field of every form.
pub const CSRF_FIELD: &str = "_csrf";

/// Is the console served over TLS (directly, or behind a proxy that says so)?
pub fn is_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, on `path`, Secure under TLS; `None`
/// clears it.
pub fn set_cookie(headers: &HeaderMap, name: &str, value: Option<&str>, path: &str) -> String {
    let secure = if is_tls(headers) { "; Secure" } else { "" };
    match value {
        Some(v) => format!("{name}={v}; Path={path}; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// The signed-in caller of a console request (any role the console admits).
pub struct Console(pub ConsoleSession);

impl FromRequestParts<AppState> for Console {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A page asked for (never a form post) is where the sign-in returns to.
        let next = (parts.method == Method::GET)
            .then(|| parts.extensions.get::<OriginalUri>().map(|u| u.0.clone()).unwrap_or_else(|| parts.uri.clone()))
            .and_then(|u| u.path_and_query().map(|pq| pq.as_str().to_owned()))
            .filter(|p| p.starts_with("/admin/") && p.len() <= 2000)
            // Pages only, not the map's data or a photo.
            .filter(|p| !p.split('?').next().unwrap_or("").contains('.') && !p.starts_with("/admin/photos/"));
        let Some(creds) = cookie(&parts.headers, SESSION_COOKIE).as_deref().and_then(ConsoleCredentials::parse) else {
            return Err(ConsoleError::SignIn { idle: false, next });
        };
        match state.console_sessions().resume(&creds).await? {
            Ok(session) => Ok(Console(session)),
            Err(SessionEnd::Idle) => Err(ConsoleError::SignIn { idle: true, next }),
            Err(SessionEnd::None) => Err(ConsoleError::SignIn { idle: false, next }),
        }
    }
}

impl Console {
    /// A form of this session: the CSRF token must be the session's.
    pub fn check_csrf(&self, form: &FormData) -> Result<(), ConsoleError> {
        match form.get(CSRF_FIELD) {
            Some(t) if same_secret(t, &self.0.csrf) => Ok(()),
            _ => {
                tracing::warn!("console: form without the session's CSRF token refused");
                Err(ConsoleError::Csrf)
            }
        }
    }

    /// A form that acts: the CSRF token, then the role (officers only read).
    pub fn acting(&self, form: &FormData) -> Result<(), ConsoleError> {
        self.check_csrf(form)?;
        if self.0.may_act() { Ok(()) } else { Err(ConsoleError::Forbidden) }
    }
}
