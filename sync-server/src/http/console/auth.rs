//! Sign-in and sign-out.

use super::error::ConsoleError;
use super::form::{Form, QueryData};
use super::session::{CSRF_FIELD, Console, LOGIN_COOKIE, SESSION_COOKIE, cookie, set_cookie};
use crate::domain::DomainError;
use crate::http::extract::ClientAddr;
use crate::service::console_sessions::{random_token, same_secret};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
    notice: Option<&'static str>,
    username: String,
    next: String,
}

/// Only console paths of this server: never an absolute URL (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/admin/") && !n.starts_with("/admin//") && !n.contains('\\') && !n.starts_with("/admin/login") =>
        {
            n.to_owned()
        }
        _ => "/admin/queue".to_owned(),
    }
}

fn login_response(headers: &HeaderMap, status: StatusCode, page: LoginPage) -> Result<Response, ConsoleError> {
    let cookie = set_cookie(headers, LOGIN_COOKIE, Some(&page.csrf), "/admin/login");
    let mut resp = (status, Html(page.render()?)).into_response();
    resp.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ConsoleError::internal)?);
    Ok(resp)
}

pub async fn login_page(headers: HeaderMap, QueryData(q): QueryData) -> Result<Response, ConsoleError> {
    let notice = match (q.get("expired"), q.get("out")) {
        (Some(_), _) => Some("长时间未操作，已自动退出，请重新登录"),
        (_, Some(_)) => Some("已退出登录"),
        _ => None,
    };
    let page = LoginPage { csrf: random_token(), error: None, notice, username: String::new(), next: safe_next(q.get("next")) };
    login_response(&headers, StatusCode::OK, page)
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(from): ClientAddr,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    match form.get(CSRF_FIELD) {
        Some(t) if !expected.is_empty() && same_secret(t, &expected) => {}
        _ => return Err(ConsoleError::Csrf),
    }
    let next = safe_next(form.get("next"));
    let username = form.get("username").unwrap_or("").trim().to_owned();
    let password = form.get("password").unwrap_or("").to_owned();
    let again = |error: String, username: String| LoginPage {
        csrf: random_token(),
        error: Some(error),
        notice: None,
        username,
        next: next.clone(),
    };
    if username.is_empty() || password.is_empty() || username.chars().count() > 64 || password.chars().count() > 256 {
        return login_response(&headers, StatusCode::UNPROCESSABLE_ENTITY, again("请输入用户名和密码".into(), String::new()));
    }
    match state.console_sessions().sign_in(&username, &password, from).await {
        Ok((creds, _)) => {
            let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, next.as_str())]).into_response();
            let session = set_cookie(&headers, SESSION_COOKIE, Some(&creds.cookie_value()), "/admin");
            let clear = set_cookie(&headers, LOGIN_COOKIE, None, "/admin/login");
            for c in [session, clear] {
                resp.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).map_err(ConsoleError::internal)?);
            }
            Ok(resp)
        }
        // The same answer for an unknown user and a wrong password (the typed name is kept
        // in the form only for the one who typed it).
        Err(DomainError::InvalidCredentials) => {
            login_response(&headers, StatusCode::UNAUTHORIZED, again("用户名或密码错误 (invalid_credentials)".into(), username))
        }
        Err(DomainError::TooManyAttempts { retry_after_secs }) => {
            let page = again(format!("密码错误次数过多，请{retry_after_secs}秒后再试 (too_many_attempts)"), username);
            let mut resp = login_response(&headers, StatusCode::TOO_MANY_REQUESTS, page)?;
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(resp)
        }
        Err(DomainError::Forbidden) => login_response(
            &headers,
            StatusCode::FORBIDDEN,
            again("网格员账号请使用手机端，管理后台仅供管理员和执法队员使用 (forbidden)".into(), username),
        ),
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.check_csrf(&form)?;
    state.console_sessions().sign_out(&console.0).await?;
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin/login?out=1")]).into_response();
    let clear = set_cookie(&headers, SESSION_COOKIE, None, "/admin");
    resp.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&clear).map_err(ConsoleError::internal)?);
    Ok(resp)
}
