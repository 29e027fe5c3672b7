//! The error of the rules and use cases. Each front door maps it to its own answer (the
//! device API to a JSON body with a stable code, the console to a page); messages never
//! carry request values, which may be personal data.

use gridwork_core::protocol::Rejection;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Unknown, or not visible to the caller (the two look the same).
    #[error("not found")]
    NotFound,
    /// Visible, but its photo file has not arrived yet (照片上传中).
    #[error("photo pending")]
    PhotoPending,
    /// Wrong username or password (the same answer for both).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many wrong passwords in a row for this username: try again after this many
    /// seconds (the same answer whether the account exists or not).
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// This account has this many photo uploads started and not finished: finish some first.
    #[error("too many unfinished uploads")]
    TooManyUploads { max: usize },
    /// No live session for this token and device.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The caller's role may not do this.
    #[error("forbidden")]
    Forbidden,
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The input breaks a rule; the rejection names the field, never the value.
    #[error("invalid ({kind:?}): {}", rejection.message)]
    Invalid { kind: InvalidKind, rejection: Rejection },
    #[error("too large: {0:?}")]
    TooLarge(TooLarge),
    /// The client's body broke off or stalled; what arrived is kept.
    #[error("interrupted")]
    Interrupted,
    /// A fault of the server; the detail is for the log only.
    #[error("internal: {0}")]
    Internal(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// An account with this username exists.
    UsernameTaken,
    /// A photo upload append does not start where the server's copy ends.
    UploadOffset,
}

/// What kind of input broke a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidKind {
    /// A request field (an account's username, a query parameter, an upload's size).
    Input,
    /// An op of a push fails a check made before anything is applied; nothing is applied.
    Op,
    /// Uploaded bytes run past the size the upload declared.
    UploadTooLong,
    /// Uploaded bytes do not hash to the photo's name.
    HashMismatch,
    /// Uploaded bytes are not a decodable JPEG, PNG or WebP.
    NotAPhoto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooLarge {
    /// More ops in one push than `max`.
    Batch { max: usize },
    /// A photo declared larger than `max` bytes.
    Photo { max: u64 },
}

impl DomainError {
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        DomainError::Internal(detail.to_string())
    }

    /// A request field breaks a rule.
    pub fn invalid_input(field: &str, message: impl Into<String>) -> Self {
        use gridwork_core::protocol::RejectReason;
        DomainError::Invalid { kind: InvalidKind::Input, rejection: Rejection::new(RejectReason::Invalid, Some(field), message) }
    }
}
