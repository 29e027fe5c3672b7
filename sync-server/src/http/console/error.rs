//! The console's errors, rendered as HTML pages: a Chinese message and a stable English
//! code, never a submitted value (it may be personal data); the detail of a server fault
//! goes to the log only.

use crate::domain::DomainError;
use crate::domain::error::{Conflict, InvalidKind, TooLarge};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug)]
pub enum ConsoleError {
    /// No session (or it ended): to the sign-in page.
    SignIn {
        idle: bool,
        /// The page asked for, to return to after signing in (a console path).
        next: Option<String>,
    },
    /// The role may not do this (an officer posting an action, a grid worker signing in).
    Forbidden,
    /// A form without the session's CSRF token (or with another).
    Csrf,
    /// An unsafe request from another origin.
    CrossOrigin,
    NotFound,
    MethodNotAllowed,
    /// A form field or query parameter breaks a rule; the message names it, never its value.
    BadRequest(String),
    /// A form that is not `application/x-www-form-urlencoded`.
    BadForm,
    TooLarge,
    /// Sign-in backing off after wrong passwords.
    TooManyAttempts(u64),
    Conflict(String),
    /// A photo the caller may see whose file has not arrived yet.
    PhotoPending,
    Internal(String),
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    code: &'a str,
    title: &'a str,
    message: String,
}

impl ConsoleError {
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ConsoleError::Internal(detail.to_string())
    }

    pub fn bad(field: &str, message: &str) -> Self {
        ConsoleError::BadRequest(format!("{message} ({field})"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden | ConsoleError::Csrf | ConsoleError::CrossOrigin => StatusCode::FORBIDDEN,
            ConsoleError::NotFound | ConsoleError::PhotoPending => StatusCode::NOT_FOUND,
            ConsoleError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ConsoleError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ConsoleError::BadForm => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ConsoleError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ConsoleError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ConsoleError::SignIn { .. } => "unauthorized",
            ConsoleError::Forbidden => "forbidden",
            ConsoleError::Csrf => "csrf",
            ConsoleError::CrossOrigin => "cross_origin",
            ConsoleError::NotFound => "not_found",
            ConsoleError::MethodNotAllowed => "method_not_allowed",
            ConsoleError::BadRequest(_) => "invalid_request",
            ConsoleError::BadForm => "unsupported_media_type",
            ConsoleError::TooLarge => "payload_too_large",
            ConsoleError::TooManyAttempts(_) => "too_many_attempts",
            ConsoleError::Conflict(_) => "conflict",
            ConsoleError::PhotoPending => "photo_pending",
            ConsoleError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ConsoleError::SignIn { .. } => "请先登录",
            ConsoleError::Forbidden => "没有权限",
            ConsoleError::Csrf => "表单已失效",
            ConsoleError::CrossOrigin => "跨站请求被拒绝",
            ConsoleError::NotFound => "页面或记录不存在",
            ConsoleError::MethodNotAllowed => "不支持该请求方法",
            ConsoleError::BadRequest(_) | ConsoleError::BadForm => "请求内容不符合要求",
            ConsoleError::TooLarge => "提交内容过大",
            ConsoleError::TooManyAttempts(_) => "尝试次数过多",
            ConsoleError::Conflict(_) => "操作冲突",
            ConsoleError::PhotoPending => "照片上传中",
            ConsoleError::Internal(_) => "服务器内部错误",
        }
    }

    fn message(&self) -> String {
        match self {
            ConsoleError::SignIn { idle: true, .. } => "长时间未操作，已自动退出，请重新登录".into(),
            ConsoleError::SignIn { idle: false, .. } => "请先登录管理后台".into(),
            ConsoleError::Forbidden => "您的账号只能查看，不能办理；或无权访问该页面".into(),
            ConsoleError::Csrf => "表单已过期或不是从本系统页面提交的，请刷新页面后重试".into(),
            ConsoleError::CrossOrigin => "该请求来自其他网站，已拒绝".into(),
            ConsoleError::NotFound => "您要找的页面或记录不存在，或不在您的管辖范围内".into(),
            ConsoleError::MethodNotAllowed => "该地址不支持此请求方法".into(),
            ConsoleError::BadRequest(m) | ConsoleError::Conflict(m) => m.clone(),
            ConsoleError::BadForm => "表单格式应为 application/x-www-form-urlencoded".into(),
            ConsoleError::TooLarge => "提交内容过大，请减少选择的记录".into(),
            ConsoleError::TooManyAttempts(secs) => format!("密码错误次数过多，请{secs}秒后再试"),
            ConsoleError::PhotoPending => "照片尚未上传完成，请稍后刷新".into(),
            ConsoleError::Internal(_) => "服务器内部错误，请稍后重试".into(),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::SignIn { idle, next } = self {
            let mut query = form_urlencoded::Serializer::new(String::new());
            if idle {
                query.append_pair("expired", "1");
            }
            if let Some(next) = &next {
                query.append_pair("next", next);
            }
            let query = query.finish();
            let to = if query.is_empty() { "/admin/login".to_owned() } else { format!("/admin/login?{query}") };
            let Ok(to) = HeaderValue::from_str(&to) else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
            let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, to.clone())]).into_response();
            // htmx follows redirects inside the swap; tell it to load the page instead.
            resp.headers_mut().insert("hx-redirect", to);
            return resp;
        }
        if let ConsoleError::Internal(detail) = &self {
            tracing::error!(%detail, "console: internal error");
        }
        let page = ErrorPage { status: self.status().as_u16(), code: self.code(), title: self.title(), message: self.message() };
        let body = page.render().unwrap_or_else(|_| format!("{} {}", page.status, page.code));
        let mut resp = (self.status(), Html(body)).into_response();
        if let ConsoleError::TooManyAttempts(secs) = self {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<DomainError> for ConsoleError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => ConsoleError::NotFound,
            DomainError::PhotoPending => ConsoleError::PhotoPending,
            DomainError::InvalidCredentials | DomainError::Unauthenticated => ConsoleError::SignIn { idle: false, next: None },
            DomainError::TooManyAttempts { retry_after_secs } => ConsoleError::TooManyAttempts(retry_after_secs),
            DomainError::Forbidden => ConsoleError::Forbidden,
            DomainError::Conflict(Conflict::UsernameTaken) => ConsoleError::Conflict("用户名已存在".into()),
            DomainError::Conflict(Conflict::UploadOffset) => ConsoleError::Conflict("上传位置不一致".into()),
            DomainError::Invalid { kind: InvalidKind::Input | InvalidKind::Op, rejection } => {
                ConsoleError::BadRequest(rejection.message)
            }
            DomainError::Invalid { .. } => ConsoleError::BadRequest("内容不符合要求".into()),
            DomainError::TooLarge(TooLarge::Batch { max }) => ConsoleError::BadRequest(format!("一次最多处理{max}条")),
            DomainError::TooLarge(TooLarge::Photo { .. }) => ConsoleError::TooLarge,
            DomainError::Interrupted => ConsoleError::BadRequest("请求中断".into()),
            DomainError::TooManyUploads { max } => ConsoleError::BadRequest(format!("未完成的照片上传过多（最多{max}个）")),
            DomainError::Internal(detail) => ConsoleError::Internal(detail),
        }
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> Self {
        ConsoleError::Internal(format!("template: {e}"))
    }
}
