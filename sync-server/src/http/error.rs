//! The error of the device API (`/v1`). Every error leaves it as `protocol::ErrorBody`
//! with a stable snake_case code and a Chinese message that never carries request values
//! (they may be personal data). The use cases' [`DomainError`] is mapped here, once.

use crate::domain::DomainError;
use crate::domain::error::{Conflict, InvalidKind, TooLarge};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gridwork_core::protocol::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("malformed json")]
    MalformedJson,
    #[error("malformed body")]
    MalformedBody,
    /// Well-formed JSON of the wrong shape; the message names the path, never the value.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Sign-in attempts back off after wrong passwords in a row.
    #[error("too many attempts")]
    TooManyAttempts(u64),
    /// The request body did not arrive within [`crate::http::extract::BODY_TIMEOUT`].
    #[error("request body timed out")]
    RequestTimeout,
    /// Unfinished photo uploads of one account, at most.
    #[error("too many unfinished uploads")]
    TooManyUploads(usize),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("batch too large")]
    BatchTooLarge,
    /// An op fails a check made before anything is applied.
    #[error("invalid op: {0}")]
    InvalidOp(String),
    /// A photo upload declares more bytes than the server takes.
    #[error("photo too large")]
    PhotoTooLarge(u64),
    /// An upload append does not start where the server's copy ends.
    #[error("upload offset mismatch")]
    OffsetMismatch,
    /// An upload append carries bytes beyond the declared size.
    #[error("upload too long")]
    UploadTooLong,
    /// The uploaded bytes do not hash to the declared SHA-256.
    #[error("hash mismatch")]
    HashMismatch,
    /// The uploaded bytes are not a JPEG, PNG or WebP image (or cannot be decoded).
    #[error("unsupported photo type")]
    UnsupportedPhotoType,
    /// An upload append without `Content-Type: application/offset+octet-stream`.
    #[error("unsupported upload content type")]
    UnsupportedUploadType,
    /// The connection broke (or stalled) in the middle of an upload append; what arrived is kept.
    #[error("upload interrupted")]
    UploadInterrupted,
    /// The caller may see the photo but its file has not arrived yet.
    #[error("photo pending")]
    PhotoPending,
    /// An account with this username exists (account management; no `/v1` endpoint
    /// creates accounts yet).
    #[error("username taken")]
    UsernameTaken,
    /// Any other status a layer produced without our body (kept as is, generic message).
    #[error("http status {0}")]
    Status(StatusCode),
    /// Server-side failure; the detail is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        AppError::Internal(detail.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::MalformedJson | AppError::MalformedBody => StatusCode::BAD_REQUEST,
            AppError::InvalidRequest(_)
            | AppError::BatchTooLarge
            | AppError::InvalidOp(_)
            | AppError::UploadTooLong
            | AppError::HashMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::UnsupportedMediaType | AppError::UnsupportedUploadType | AppError::UnsupportedPhotoType => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            AppError::PayloadTooLarge | AppError::PhotoTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::OffsetMismatch | AppError::UsernameTaken => StatusCode::CONFLICT,
            AppError::UploadInterrupted => StatusCode::BAD_REQUEST,
            AppError::PhotoPending => StatusCode::NOT_FOUND,
            AppError::Unauthorized | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::TooManyAttempts(_) | AppError::TooManyUploads(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Status(s) => *s,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::MalformedJson => "malformed_json",
            AppError::MalformedBody => "malformed_body",
            AppError::InvalidRequest(_) => "invalid_request",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::Unauthorized => "unauthorized",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::TooManyAttempts(_) => "too_many_attempts",
            AppError::TooManyUploads(_) => "too_many_uploads",
            AppError::RequestTimeout => "request_timeout",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::BatchTooLarge => "batch_too_large",
            AppError::InvalidOp(_) => "invalid_op",
            AppError::PhotoTooLarge(_) => "photo_too_large",
            AppError::OffsetMismatch => "offset_mismatch",
            AppError::UploadTooLong => "upload_too_long",
            AppError::HashMismatch => "hash_mismatch",
            AppError::UnsupportedPhotoType => "unsupported_photo_type",
            AppError::UnsupportedUploadType => "unsupported_media_type",
            AppError::UploadInterrupted => "upload_interrupted",
            AppError::PhotoPending => "photo_pending",
            AppError::UsernameTaken => "username_taken",
            AppError::Status(s) if s.is_server_error() => "internal",
            AppError::Status(s) => match *s {
                StatusCode::BAD_REQUEST => "bad_request",
                StatusCode::NOT_FOUND => "not_found",
                StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
                StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                StatusCode::UNAUTHORIZED => "unauthorized",
                StatusCode::FORBIDDEN => "forbidden",
                _ => "bad_request",
            },
            AppError::Internal(_) => "internal",
        }
    }

    fn message(&self) -> String {
        match self {
            AppError::MalformedJson => "请求内容不是有效的JSON".into(),
            AppError::MalformedBody => "请求内容无法读取（压缩格式错误？）".into(),
            AppError::InvalidRequest(detail) => format!("请求内容不符合格式：{detail}"),
            AppError::UnsupportedMediaType => "请求内容类型应为 application/json（可用 gzip 压缩）".into(),
            AppError::PayloadTooLarge => {
                format!("请求内容过大（上限 {} MB）", gridwork_core::protocol::MAX_BODY_BYTES / 1024 / 1024)
            }
            AppError::Unauthorized => "未登录、登录已失效或设备不符，请重新登录".into(),
            AppError::InvalidCredentials => "用户名或密码错误".into(),
            AppError::TooManyAttempts(secs) => format!("密码错误次数过多，请{secs}秒后再试"),
            AppError::RequestTimeout => "请求内容发送超时，请重试".into(),
            AppError::TooManyUploads(max) => format!("未完成的照片上传过多（每个账号最多{max}个），请先完成已开始的上传"),
            AppError::Forbidden => "没有权限执行此操作".into(),
            AppError::NotFound => "请求的资源不存在".into(),
            AppError::MethodNotAllowed => "不支持该请求方法".into(),
            AppError::BatchTooLarge => {
                format!("一次最多提交{}条操作", gridwork_core::protocol::MAX_PUSH_OPS)
            }
            AppError::InvalidOp(detail) => format!("操作不符合要求：{detail}"),
            AppError::PhotoTooLarge(max) => format!("照片过大（上限 {} MB）", max / 1024 / 1024),
            AppError::OffsetMismatch => "上传位置与服务器不一致，请重新查询上传进度".into(),
            AppError::UploadTooLong => "上传内容超出声明的照片大小".into(),
            AppError::HashMismatch => "照片内容与声明的SHA-256不符，请重新上传".into(),
            AppError::UnsupportedPhotoType => "照片只能是JPEG、PNG或WebP格式".into(),
            AppError::UnsupportedUploadType => "上传内容类型应为 application/offset+octet-stream".into(),
            AppError::UploadInterrupted => "上传中断，已收到的部分已保存".into(),
            AppError::PhotoPending => "照片上传中".into(),
            AppError::UsernameTaken => "用户名已存在".into(),
            AppError::Status(s) if s.is_server_error() => "服务器内部错误，请稍后重试".into(),
            AppError::Status(_) => "请求无法处理".into(),
            AppError::Internal(_) => "服务器内部错误，请稍后重试".into(),
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message: self.message() } }
    }
}

/// The JSON response for an error body, used by `IntoResponse` and by the layers that
/// rewrite foreign error responses.
pub fn error_response(status: StatusCode, body: &ErrorBody) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".to_vec());
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut resp = error_response(self.status(), &self.body());
        if let AppError::TooManyAttempts(secs) = self {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => AppError::NotFound,
            DomainError::PhotoPending => AppError::PhotoPending,
            DomainError::InvalidCredentials => AppError::InvalidCredentials,
            DomainError::TooManyAttempts { retry_after_secs } => AppError::TooManyAttempts(retry_after_secs),
            DomainError::TooManyUploads { max } => AppError::TooManyUploads(max),
            DomainError::Unauthenticated => AppError::Unauthorized,
            DomainError::Forbidden => AppError::Forbidden,
            DomainError::Conflict(Conflict::UsernameTaken) => AppError::UsernameTaken,
            DomainError::Conflict(Conflict::UploadOffset) => AppError::OffsetMismatch,
            DomainError::Invalid { kind, rejection } => match kind {
                InvalidKind::Input => AppError::InvalidRequest(rejection.message),
                InvalidKind::Op => AppError::InvalidOp(rejection.message),
                InvalidKind::UploadTooLong => AppError::UploadTooLong,
                InvalidKind::HashMismatch => AppError::HashMismatch,
                InvalidKind::NotAPhoto => AppError::UnsupportedPhotoType,
            },
            DomainError::TooLarge(TooLarge::Batch { .. }) => AppError::BatchTooLarge,
            DomainError::TooLarge(TooLarge::Photo { max }) => AppError::PhotoTooLarge(max),
            DomainError::Interrupted => AppError::UploadInterrupted,
            DomainError::Internal(detail) => AppError::Internal(detail),
        }
    }
}
