//! The storage boundary: everything the server persists goes through [`Storage`]. The
//! HTTP layer and the sync logic never see SQL. SQLite is the default implementation;
//! every implementation must pass the conformance suite in `conformance.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridwork_core::merge::StoredRecord;
use gridwork_core::model::{Record, Role};
use gridwork_core::protocol::{Op, OpResult, Rejection};
use gridwork_core::reference::{Category, GridPlace, OrgUnit, UserInfo};
use std::sync::Arc;
use uuid::Uuid;

pub mod sqlite;

#[cfg(test)]
pub(crate) mod conformance;

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Unique username taken (the only constraint a caller can trip on purpose).
    #[error("username already exists")]
    DuplicateUsername,
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage task failed: {0}")]
    Task(String),
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}

/// An account with its password hash. Never serialised to clients as is.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Org code of the scope: grid or community (grid workers), district (officers), city (admins).
    pub scope: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn info(&self) -> UserInfo {
        UserInfo {
            id: self.id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            scope: self.scope.clone(),
        }
    }
}

/// A login on one device. Only the SHA-256 of the token is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub token_hash: String,
    pub user_id: String,
    pub device_id: String,
    pub device_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who pushes: op ids are owned by the account that first used them.
#[derive(Clone, Debug)]
pub struct PushAuthor {
    pub user_id: String,
}

/// Which records a caller may pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    All,
    District(String),
    Community(String),
    Grid(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PullPage {
    /// Records with `seq` set, ascending.
    pub records: Vec<Record>,
    pub has_more: bool,
}

/// A photo whose file the server holds in full (checked against its SHA-256).
#[derive(Clone, Debug, PartialEq)]
pub struct PhotoRow {
    pub sha256: String,
    pub size: u64,
    /// `image/jpeg`, `image/png` or `image/webp`, from the file's bytes.
    pub mime: String,
    /// Account id of the uploader.
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    pub records: u64,
    pub applied_ops: u64,
    pub users: u64,
    pub live_sessions: u64,
}

/// Applies one op to the current state of its record: the merge rules, supplied by the
/// sync layer so that storage stays free of them. Returns the new state and where its
/// grid sits (for the visibility indexes).
pub trait Merger: Send + Sync {
    fn apply(&self, current: Option<&StoredRecord>, op: &Op) -> Result<(StoredRecord, GridPlace), Rejection>;
}

#[async_trait]
pub trait Storage: Send + Sync {
    // users
    async fn insert_user(&self, user: User) -> Result<()>;
    async fn user_by_username(&self, username: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;

    // sessions
    async fn create_session(&self, session: SessionRow) -> Result<()>;
    /// The unrevoked session with this token hash, with its user.
    async fn find_live_session(&self, token_hash: &str) -> Result<Option<(SessionRow, User)>>;
    /// Revoke one session; true if it was live.
    async fn revoke_session(&self, token_hash: &str) -> Result<bool>;
    /// Revoke every live session of a user, or only those of one device; returns how many.
    async fn revoke_user_sessions(&self, user_id: &str, device_id: Option<&str>) -> Result<u64>;

    // reference data
    /// Insert or replace org units (by code).
    async fn put_orgs(&self, orgs: Vec<OrgUnit>) -> Result<()>;
    /// Insert or replace categories (by code).
    async fn put_categories(&self, categories: Vec<Category>) -> Result<()>;
    async fn orgs(&self) -> Result<Vec<OrgUnit>>;
    async fn categories(&self) -> Result<Vec<Category>>;
    /// A number that changes whenever users, orgs or categories change (cheap to read).
    async fn reference_revision(&self) -> Result<u64>;

    // records
    /// Apply a batch of ops in order, in one transaction. Each op id is applied at most
    /// once; a repeated op id gets the stored first result.
    async fn push(&self, author: &PushAuthor, ops: Vec<Op>, merger: Arc<dyn Merger>) -> Result<Vec<OpResult>>;
    /// Visible records with seq > since, ascending, at most `limit`.
    async fn pull(&self, visibility: &Visibility, since: u64, limit: u32) -> Result<PullPage>;
    async fn counts(&self) -> Result<Counts>;
    /// The highest field clock stored (HLC strings sort like clocks): the server's clock
    /// starts above it, so no later edit is stamped below one already accepted.
    async fn max_clock(&self) -> Result<Option<String>>;

    // photos
    /// The photo hashes the current version of a record lists (kept by `push`, in the same
    /// transaction as the record), sorted.
    async fn photos_of_record(&self, record_id: Uuid) -> Result<Vec<String>>;
    /// Whether at least one record the visibility covers lists this photo.
    async fn photo_visible(&self, sha256: &str, visibility: &Visibility) -> Result<bool>;
    /// The photo, if its file has been uploaded.
    async fn photo_uploaded(&self, sha256: &str) -> Result<Option<PhotoRow>>;
    /// Note that a photo's file is now held (after it is in the blob store). Idempotent:
    /// a photo already recorded keeps its first row.
    async fn record_photo_uploaded(&self, photo: PhotoRow) -> Result<()>;

    /// Flush and release what can be released; the store is not used afterwards.
    async fn close(&self) -> Result<()>;
}
