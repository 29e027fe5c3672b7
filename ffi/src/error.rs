//! The one public error. Variants are the stable codes the apps switch on; `msg` is Chinese,
//! fit to show a user, and never holds record contents or other personal data.
//!
//! The text field is `msg`, not `message`: a field named `message` collides with
//! `Throwable.message` in the generated Kotlin and does not compile (uniffi-rs #1434).

use gridwork_core::Error as CoreError;
use gridwork_core::protocol::RejectReason;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum GridworkError {
    /// The database key is wrong, or the file is not a gridwork database.
    #[error("{msg}")]
    WrongKey { msg: String },
    /// A change breaks a rule; nothing was stored. `field` names the field (e.g. `location.lat`).
    #[error("{msg}")]
    Invalid { reason: RejectReason, field: Option<String>, msg: String },
    #[error("{msg}")]
    NotFound { msg: String },
    #[error("{msg}")]
    NotLoggedIn { msg: String },
    /// Wrong username or password, or the server refused the session (expired, revoked,
    /// other device): log in again.
    #[error("{msg}")]
    Unauthorized { msg: String },
    /// No reference data yet: log in online once.
    #[error("{msg}")]
    NoReferenceData { msg: String },
    /// This device has no notice numbers left: sync online to get another block.
    #[error("{msg}")]
    NoNumbers { msg: String },
    #[error("{msg}")]
    Network { msg: String },
    /// The server answered with an error status; `code` is its stable machine code.
    #[error("{msg}")]
    Server { status: i32, code: String, msg: String },
    /// The sync was cancelled; confirmed work is kept, the rest stays pending.
    #[error("{msg}")]
    Cancelled { msg: String },
    /// A photo could not be taken in; `code` is e.g. `photo_too_large`, `photo_unsupported`.
    #[error("{msg}")]
    Photo { code: String, msg: String },
    /// The photo's upload has not finished yet (照片上传中); try again later.
    #[error("{msg}")]
    PhotoPending { msg: String },
    /// The local database or files failed (disk full, corrupt file, newer schema).
    #[error("{msg}")]
    Storage { msg: String },
    /// Data that could not be decoded (a bug, or a server of another version).
    #[error("{msg}")]
    Internal { msg: String },
    /// The app passed something unusable: a bad id, date, code or server address.
    #[error("{msg}")]
    Argument { msg: String },
    /// Another account's unsynced or refused changes are on this device: that account must
    /// sign in and deal with them first (or the device be reset by an admin).
    #[error("{msg}")]
    OtherUsersData { msg: String },
    /// The device's signing key could not be used (the app's key store failed): nothing
    /// was sent unsigned.
    #[error("{msg}")]
    KeyStore { msg: String },
}

impl GridworkError {
    /// Bad input from the app, detected while converting it (ids, dates, codes).
    pub(crate) fn argument(what: &str, field: &str) -> Self {
        GridworkError::Argument { msg: format!("{what} ({field})") }
    }
}

/// The one mapping from the core's errors. What it drops (SQLite, network, decode and file
/// details) goes to the log: the core's messages never hold record contents.
impl From<CoreError> for GridworkError {
    fn from(e: CoreError) -> Self {
        match &e {
            CoreError::Sqlite(_) | CoreError::Corrupt(_) | CoreError::Io(_) => tracing::error!(error = %e, "storage error"),
            CoreError::Network(_) => tracing::warn!(error = %e, "network error"),
            CoreError::Decode(_) => tracing::error!(error = %e, "decode error"),
            CoreError::Server { status, code, .. } => tracing::warn!(status, code = %code, "server refused a request"),
            _ => {}
        }
        match e {
            CoreError::WrongKey => GridworkError::WrongKey { msg: "数据库密钥错误，无法打开本机数据".into() },
            CoreError::Sqlite(_) | CoreError::Corrupt(_) => GridworkError::Storage { msg: "本机数据库读写失败".into() },
            CoreError::SchemaTooNew { .. } => {
                GridworkError::Storage { msg: "本机数据由更新版本的应用创建，请升级应用".into() }
            }
            // Core rejection messages are written for users and never repeat the value.
            CoreError::Invalid(r) => GridworkError::Invalid { reason: r.reason, field: r.field, msg: r.message },
            CoreError::NotFound => GridworkError::NotFound { msg: "记录不存在".into() },
            CoreError::NotLoggedIn => GridworkError::NotLoggedIn { msg: "尚未登录，请先登录".into() },
            CoreError::Unauthorized => GridworkError::Unauthorized { msg: "登录已失效，请重新登录".into() },
            CoreError::NoNumbers => {
                GridworkError::NoNumbers { msg: "本机告知单编号已用完，请联网同步领取新号段".into() }
            }
            CoreError::NoReferenceData => {
                GridworkError::NoReferenceData { msg: "缺少基础数据，请联网登录一次".into() }
            }
            CoreError::Network(_) => GridworkError::Network { msg: "网络连接失败，请稍后重试".into() },
            // The core reports a refused login as a plain 401 server error.
            CoreError::InvalidCredentials => GridworkError::Unauthorized { msg: "用户名或密码错误".into() },
            CoreError::InvalidEnrolCode => GridworkError::Unauthorized {
                msg: "登录码无效、已使用或已过期，请管理员重新生成二维码".into(),
            },
            // The reason is written for users, with its code in brackets.
            CoreError::EnrolLink(e) => GridworkError::Argument { msg: e.to_string() },
            // The server's own message may be English or echo a request; show ours.
            CoreError::Server { status, code, .. } => {
                let msg = format!("服务器错误（{status} {code}）");
                GridworkError::Server { status: status.into(), code, msg }
            }
            CoreError::Decode(_) => GridworkError::Internal { msg: "数据格式错误".into() },
            // Core argument messages are Chinese with the field code in brackets.
            CoreError::Argument(msg) => GridworkError::Argument { msg },
            // Photo messages are written for users.
            CoreError::Photo { code, message } => GridworkError::Photo { code: code.into(), msg: message },
            CoreError::PhotoPending => GridworkError::PhotoPending { msg: "照片上传中，请稍后再看".into() },
            CoreError::Io(_) => GridworkError::Storage { msg: "本机文件读写失败".into() },
            CoreError::Cancelled => GridworkError::Cancelled { msg: "同步已取消".into() },
            CoreError::OtherUsersData => GridworkError::OtherUsersData {
                msg: "本机还有其他用户未同步或被退回的记录，请该用户先登录处理".into(),
            },
            // Written for users, with its code in brackets.
            CoreError::KeyStore(msg) => GridworkError::KeyStore { msg },
        }
    }
}
