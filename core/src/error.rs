//! Errors of the device half of the core. One internal enum; the FFI layer maps it to its
//! small public enum in exactly one place. Messages never carry record contents.

use crate::protocol::Rejection;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database key is wrong, or the file is not a gridwork database.
    #[error("database key is wrong or the file is not a database")]
    WrongKey,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row does not read back (a bug, or a damaged file); names the column.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database schema version {found} is newer than this app supports ({supported})")]
    SchemaTooNew { found: u32, supported: u32 },
    /// A change breaks a validation rule; nothing was stored.
    #[error("invalid: {}", .0.message)]
    Invalid(Rejection),
    #[error("record not found")]
    NotFound,
    #[error("not logged in")]
    NotLoggedIn,
    /// Wrong username or password.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// An enrolment QR code (扫码登录) this device cannot use: not ours, no code, a server
    /// it may not trust or is not set up for. Nothing was sent.
    #[error("enrolment QR code: {0}")]
    EnrolLink(crate::session::EnrolLinkError),
    /// The server refused the enrolment code: unknown, used before, or expired.
    #[error("enrolment code unknown, used or expired")]
    InvalidEnrolCode,
    /// The server refused the token (expired, revoked, or for another device).
    #[error("the server refused the session; log in again")]
    Unauthorized,
    #[error("reference data missing: log in online once")]
    NoReferenceData,
    /// This device has no notice numbers left (it draws them from blocks the server hands
    /// out; a sync online fetches more).
    #[error("no notice numbers left on this device: sync online to get more")]
    NoNumbers,
    #[error("network error: {0}")]
    Network(String),
    /// The server answered with an error status.
    #[error("server error {status} {code}: {message}")]
    Server { status: u16, code: String, message: String },
    #[error("could not decode data: {0}")]
    Decode(String),
    #[error("invalid argument: {0}")]
    Argument(String),
    /// A photo could not be taken in (unsupported type, too large, corrupt).
    #[error("photo: {message}")]
    Photo { code: &'static str, message: String },
    /// The photo belongs to a record but its upload has not finished yet (照片上传中).
    #[error("photo still uploading")]
    PhotoPending,
    #[error("file error: {0}")]
    Io(String),
    /// The sync was cancelled; what was confirmed before is kept, the rest stays pending.
    #[error("sync cancelled")]
    Cancelled,
    /// Another account's unsynced or refused changes are on this device: that account must
    /// sign in and deal with them before anyone else may use it.
    #[error("another user's changes wait on this device")]
    OtherUsersData,
    /// The device's signing key could not be read or used (the platform key store failed).
    #[error("key store: {0}")]
    KeyStore(String),
}

impl From<crate::sql::MigrateError> for Error {
    fn from(e: crate::sql::MigrateError) -> Self {
        match e {
            crate::sql::MigrateError::TooNew { found, supported } => Error::SchemaTooNew { found, supported },
            crate::sql::MigrateError::Sqlite(e) => Error::Sqlite(e),
        }
    }
}

/// A stored value that does not read back.
pub(crate) fn corrupt(what: &str) -> Error {
    Error::Corrupt(what.to_owned())
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        // serde_json messages can quote values; keep only the category and position.
        Error::Decode(format!("{:?} at line {} column {}", e.classify(), e.line(), e.column()))
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        // reqwest errors carry the URL; ours never hold personal data, but keep it short.
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else if e.is_body() || e.is_decode() {
            "body"
        } else {
            "request"
        };
        Error::Network(format!("{kind}: {}", e.without_url()))
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        Error::Invalid(r)
    }
}
