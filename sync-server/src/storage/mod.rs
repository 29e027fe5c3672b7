//! The storage boundary: one trait per aggregate, so that each use case holds only the
//! storage it needs and a second backend (PostgreSQL) implements the same traits.
//!
//! - [`AccountStore`]: accounts and device sessions;
//! - [`ReferenceStore`]: the org tree and the category table;
//! - [`RecordStore`]: records, the op log and the pull sequence, written through a unit of
//!   work ([`RecordTx`]) so that the sync service applies the merge rules itself between
//!   reading and writing, all in one transaction;
//! - [`PhotoStore`]: which photos have arrived and who may see them.
//!
//! Each trait has a conformance suite in [`crate::conformance`] (exported behind the
//! `test-support` feature) that every implementation runs. SQLite ([`sqlite`]) is the
//! default. Storage knows no HTTP and no merge rules; it depends only on the domain's types.

use crate::domain::DomainError;
use crate::domain::access::Visibility;
use crate::domain::query::{PageAfter, RecordFilter, RecordPage, SortKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridwork_core::cases::TimeLimit;
use gridwork_core::merge::StoredRecord;
use gridwork_core::model::{Record, Role};
use gridwork_core::protocol::{OpResult, Removed};
use gridwork_core::reference::{Category, GridPlace, OrgUnit, UserInfo};
use gridwork_core::worktime::WorkCalendar;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

pub mod clients;
mod columns;
pub mod enrolments;
pub mod leases;
pub mod moderation;
pub mod numbers;
pub mod postgres;
pub mod sqlite;

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

/// The one mapping from storage failures to the rules' error.
impl From<StorageError> for DomainError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::DuplicateUsername => DomainError::Conflict(crate::domain::error::Conflict::UsernameTaken),
            other => DomainError::Internal(other.to_string()),
        }
    }
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
    /// The Ed25519 public key (hex) the device registered at this sign-in, if it did.
    pub device_key: Option<String>,
}

/// An account as an admin manages it: the user, and since when it is disabled (a disabled
/// account cannot sign in and has no live session).
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub user: User,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// The newest session of one device of an account, as the accounts page lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceSession {
    pub session: SessionRow,
    /// When the session last authenticated a request (kept to about a minute); None if
    /// never since it was made, or before this was kept.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The device's last pull, and how many changes and photos it said were still waiting
    /// to go then; None if it never said (an older app, or no sync yet).
    pub last_sync: Option<LastSync>,
}

/// A device's last pull as it reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastSync {
    pub at: DateTime<Utc>,
    /// Changes and photos the device still had to send.
    pub pending: u64,
}

/// A page of a pull: records with `seq` set, ascending, the records that left the view,
/// and the cursor to continue from.
#[derive(Clone, Debug, PartialEq)]
pub struct PullPage {
    pub records: Vec<Record>,
    pub removed: Vec<Removed>,
    /// Below every write not yet committed: a pull from here never skips a record.
    pub next: u64,
    pub has_more: bool,
}

/// The history a store's record sequence belongs to. A restored backup starts a new epoch
/// whose `base` is the highest seq the backup held: what a device saw above it is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeline {
    pub epoch: u64,
    pub base: u64,
    /// The highest seq now.
    pub high_water: u64,
}

/// The op log's entry for one op id: the account that first used it, its record, and the
/// answer it got (repeated to every retry).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedOp {
    pub user_id: String,
    pub record_id: Uuid,
    pub result: OpResult,
    /// What an accepted create or edit changed (the record's timeline).
    pub change: Option<Change>,
    /// The accepted op as its device signed it, when the session registered a key.
    pub evidence: Option<gridwork_core::evidence::SignedOp>,
}

/// What one accepted create or edit did to a record: which fields it changed, and which it
/// wrote but lost to a write stamped later (a concurrent edit on another device).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub device_id: String,
    /// The stamp the server ordered it by.
    pub hlc: gridwork_core::hlc::Hlc,
    pub at: DateTime<Utc>,
    /// `create` or `update`.
    pub action: String,
    pub changed: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost: Vec<LostField>,
}

/// A field an edit wrote that kept the value of a later write.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LostField {
    pub field: String,
    /// The stamp of the write that kept its value.
    pub kept: gridwork_core::hlc::Hlc,
}

/// A new version of a record: its merged state and what the indexes need of it (where its
/// grid sits, who it is dispatched to, the deadline the server watches).
#[derive(Clone, Debug, PartialEq)]
pub struct NewVersion {
    pub state: StoredRecord,
    pub place: GridPlace,
    pub assignee: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    /// Photos this version lists for the first time that the use case checked: on the
    /// server and visible to (or sent by) whoever listed them. Any other newly listed photo
    /// is a claim by the version's `updated_by` (see [`PhotoStore::record_photo_uploaded`]).
    pub vouched: Vec<String>,
}

impl NewVersion {
    pub fn new(state: StoredRecord, place: GridPlace) -> NewVersion {
        let (assignee, due_at) = (state.record.assignee_key(), state.record.watched_due());
        NewVersion { state, place, assignee, due_at, vouched: Vec::new() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RecordCounts {
    pub records: u64,
    pub logged_ops: u64,
}

/// A photo whose file the server holds in full (checked against its SHA-256).
#[derive(Clone, Debug, PartialEq)]
pub struct PhotoRow {
    pub sha256: String,
    pub size: u64,
    /// `image/jpeg`, `image/png` or `image/webp`, from the file's bytes.
    pub mime: String,
    /// Account id of the first uploader.
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
    /// Pixel dimensions of the file (None for photos recorded before they were kept).
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// How the records a caller may see list one photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoSight {
    /// None does.
    Unseen,
    /// Only by claims: listed by an account that has not sent the bytes it described. The
    /// photo is "pending" for the caller, whether or not the server holds its file.
    Claimed,
    /// At least one vouched link: the caller may see the photo.
    Vouched,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn insert_user(&self, user: User) -> Result<()>;
    async fn user_by_username(&self, username: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn count_users(&self) -> Result<u64>;

    /// Store a new session; every earlier live session of the same device ends with it
    /// (one account signs in on a device at a time), in one write.
    async fn create_session(&self, session: SessionRow) -> Result<()>;
    /// The unrevoked session with this token hash, with its user.
    async fn find_live_session(&self, token_hash: &str) -> Result<Option<(SessionRow, User)>>;
    /// Revoke one session; true if it was live.
    async fn revoke_session(&self, token_hash: &str) -> Result<bool>;
    /// Revoke every live session of a user, or only those of one device; returns how many.
    async fn revoke_user_sessions(&self, user_id: &str, device_id: Option<&str>) -> Result<u64>;
    async fn count_live_sessions(&self) -> Result<u64>;

    /// Every account with its state, by username.
    async fn list_accounts(&self) -> Result<Vec<Account>>;
    async fn account_by_username(&self, username: &str) -> Result<Option<Account>>;
    /// Disable an account (`Some(at)`: every live session of it is revoked at `at` in the
    /// same write) or enable it (`None`: a session stored while it was disabled is revoked,
    /// never coming alive). None if there is no such account, else how many sessions were
    /// revoked. [`find_live_session`](Self::find_live_session) never returns a session of a
    /// disabled account.
    async fn set_disabled(&self, user_id: &str, at: Option<DateTime<Utc>>) -> Result<Option<u64>>;
    /// Give an account another role and scope; every live session of it is revoked at `at`
    /// in the same write (its devices sign in again and pull afresh). Users are reference
    /// data: the reference revision changes. None if there is no such account, else how many
    /// sessions were revoked.
    async fn set_role_scope(&self, user_id: &str, role: Role, scope: &str, at: DateTime<Utc>) -> Result<Option<u64>>;
    /// The newest session of each device of every account (or of one), newest first.
    async fn device_sessions(&self, user_id: Option<&str>) -> Result<Vec<DeviceSession>>;
    /// The session was used at `at` (callers write this at most about once a minute).
    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<()>;
    /// The session's device pulled at `at` with `pending` changes and photos still to send
    /// (never moves backwards in time).
    async fn record_sync(&self, token_hash: &str, sync: LastSync) -> Result<()>;

    /// The wrong passwords given for `username` in a row, and when the last was.
    async fn login_failures(&self, username: &str) -> Result<Option<(u32, DateTime<Utc>)>>;
    /// One more wrong password for `username` at `at`; the count in a row now.
    async fn record_login_failure(&self, username: &str, at: DateTime<Utc>) -> Result<u32>;
    /// A right password: the count starts again.
    async fn clear_login_failures(&self, username: &str) -> Result<()>;
}

#[async_trait]
pub trait ReferenceStore: Send + Sync {
    /// Insert or replace org units (by code).
    async fn put_orgs(&self, orgs: Vec<OrgUnit>) -> Result<()>;
    /// Insert or replace categories (by code).
    async fn put_categories(&self, categories: Vec<Category>) -> Result<()>;
    async fn orgs(&self) -> Result<Vec<OrgUnit>>;
    async fn categories(&self) -> Result<Vec<Category>>;
    /// Replace the working calendar and the case time limits.
    async fn put_worktime(&self, calendar: WorkCalendar, time_limits: Vec<TimeLimit>) -> Result<()>;
    /// The working calendar and the case time limits, if they were ever put.
    async fn worktime(&self) -> Result<Option<(WorkCalendar, Vec<TimeLimit>)>>;
    /// Replace the 小蓝棚 and 便民市场 registry.
    async fn put_stalls(&self, stalls: Vec<gridwork_core::stalls::Stall>) -> Result<()>;
    /// The registry (empty if never put).
    async fn stalls(&self) -> Result<Vec<gridwork_core::stalls::Stall>>;
    /// A number that changes whenever orgs, categories, users or the worktime change
    /// (users are reference data too: devices show their names). Cheap to read.
    async fn reference_revision(&self) -> Result<u64>;
}

#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Start a unit of work on records and the op log. Until it commits, nobody else
    /// writes the records it loads; dropped without `commit`, it changes nothing.
    async fn begin(&self) -> Result<Box<dyn RecordTx>>;
    /// Visible records with seq > since, ascending, at most `limit`.
    async fn pull(&self, visibility: &Visibility, since: u64, limit: u32) -> Result<PullPage>;
    async fn counts(&self) -> Result<RecordCounts>;
    /// The current state of one record.
    async fn get(&self, id: Uuid) -> Result<Option<Record>>;
    /// Every case the visibility covers (with `seq`), in sequence order.
    async fn cases(&self, visibility: &Visibility) -> Result<Vec<Record>>;
    /// A page of the records the visibility covers that match `filter`, in `sort` order,
    /// after `after` (the previous page's `next`), at most `limit` (1 to [`MAX_PAGE`]).
    ///
    /// [`MAX_PAGE`]: crate::domain::query::MAX_PAGE
    async fn search(
        &self,
        visibility: &Visibility,
        filter: &RecordFilter,
        sort: SortKey,
        after: Option<&PageAfter>,
        limit: u32,
    ) -> Result<RecordPage>;
    /// How many records the visibility covers match `filter`.
    async fn count(&self, visibility: &Visibility, filter: &RecordFilter) -> Result<u64>;
    /// Records whose watched deadline is at or before `at` (at most `limit`, earliest first).
    async fn due_before(&self, at: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>>;
    /// The highest field clock stored (HLC strings sort like clocks): the server's clock
    /// starts above it, so no later edit is stamped below one already accepted.
    async fn max_clock(&self) -> Result<Option<String>>;
    /// The photo hashes the current version of a record lists (kept with the record, in
    /// the same transaction), sorted.
    async fn photos_of_record(&self, record_id: Uuid) -> Result<Vec<String>>;
    /// The accepted creates and edits of a record, with who sent them, in stamp order.
    async fn changes(&self, record_id: Uuid) -> Result<Vec<(String, Change)>>;
    /// Which history the sequence belongs to, and how far it goes now.
    async fn timeline(&self) -> Result<Timeline>;
    /// A record's current state with its field clocks, and every signed op kept for it in
    /// the order they were accepted (None if there is no such record).
    async fn evidence(&self, record_id: Uuid) -> Result<Option<(StoredRecord, Vec<gridwork_core::evidence::SignedOp>)>>;
}

/// One transaction over records and the op log.
#[async_trait]
pub trait RecordTx: Send {
    /// The op log's entries for these op ids (those it has).
    async fn logged_ops(&mut self, op_ids: &[Uuid]) -> Result<HashMap<Uuid, LoggedOp>>;
    /// The current states (with `seq`) of these records (those that exist).
    async fn load(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredRecord>>;
    /// Give each version the next number of the record sequence, in order, and store the
    /// last version of each record with its photo index. Returns the numbers.
    async fn put_versions(&mut self, versions: Vec<NewVersion>) -> Result<Vec<u64>>;
    /// Add entries to the op log (an op id already logged is never replaced).
    async fn log_ops(&mut self, entries: Vec<LoggedOp>) -> Result<()>;
    /// The next number of the counter `key` (1, 2, …; numbers taken are never reused, not
    /// even by a unit of work that does not commit… except that one: it takes nothing).
    async fn next_number(&mut self, key: &str) -> Result<u64>;
    /// Append to the audit trail as part of this unit of work (it commits with it).
    async fn audit(&mut self, entry: NewAudit) -> Result<u64>;
    /// Where these notice numbers stand for `device_id` and `user_id`, in one read (a push
    /// checks all its new notices at once).
    async fn number_states(
        &mut self,
        keys: Vec<numbers::NumberKey>,
        device_id: &str,
        user_id: &str,
    ) -> Result<Vec<numbers::NumberState>>;
    /// Record the numbers of accepted new notices (each checked Fresh by `number_states`
    /// in this unit of work), with their blocks.
    async fn record_numbers(&mut self, uses: Vec<(numbers::NumberKey, i64, Uuid)>) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

#[async_trait]
pub trait PhotoStore: Send + Sync {
    /// How the records the visibility covers list this photo.
    async fn photo_sight(&self, sha256: &str, visibility: &Visibility) -> Result<PhotoSight>;
    /// The photo, if its file has been uploaded.
    async fn photo_uploaded(&self, sha256: &str) -> Result<Option<PhotoRow>>;
    /// Note that `photo.uploaded_by` has sent the whole file (after it is in the blob
    /// store): the first upload records the row (later ones keep it), and every claim of
    /// that account on the photo that listed its true size and type becomes vouched.
    async fn record_photo_uploaded(&self, photo: PhotoRow) -> Result<()>;
}

/// An entry to append to the audit trail. `detail` is a JSON object of codes and ids,
/// never personal data.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAudit {
    pub at: DateTime<Utc>,
    /// Account id, `system`, or `-` when nobody is known (a failed sign-in).
    pub actor: String,
    /// What happened: `sign_in`, `sign_in_failed`, `revoke`, `user_add`, `case_open`,
    /// `case_step`, `reveal`, `export_personal`, …
    pub action: String,
    /// The record or account it was about.
    pub target: Option<String>,
    pub detail: serde_json::Value,
}

/// A stored entry of the audit trail, with its place in the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub seq: u64,
    /// As stored (the hash covers this text).
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    /// The detail's JSON text as stored.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    pub fn link(&self) -> crate::domain::audit::Link<'_> {
        crate::domain::audit::Link {
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            action: &self.action,
            target: self.target.as_deref(),
            detail: &self.detail,
        }
    }
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Append an entry after the last, chained to it; its seq.
    async fn append_audit(&self, entry: NewAudit) -> Result<u64>;
    /// Entries after `after` in order, at most `limit`; only those about `target` if given.
    async fn audit_page(&self, after: u64, limit: u32, target: Option<&str>) -> Result<Vec<AuditEntry>>;
    /// Entries as `query` asks: keyset-paged by seq either way, filtered by action and
    /// target, at most `query.limit`.
    async fn audit_find(&self, query: AuditQuery) -> Result<Vec<AuditEntry>>;
}

/// Where a page of the audit trail starts, and which way it runs (keyset paging by seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditCursor {
    /// Oldest first: entries with a seq above this (0: from the first).
    After(u64),
    /// Newest first: entries with a seq below this (`None`: from the newest).
    Before(Option<u64>),
}

/// A page of the audit trail to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    pub cursor: AuditCursor,
    pub limit: u32,
    /// Only entries with this action code.
    pub action: Option<String>,
    /// Only entries about this record or account.
    pub target: Option<String>,
}

/// What a backend does besides its aggregates.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Flush and release what can be released; the stores are not used afterwards.
    async fn close(&self) -> Result<()>;
}

/// The stores of one backend, each as its own trait object.
#[derive(Clone)]
pub struct Stores {
    pub accounts: Arc<dyn AccountStore>,
    pub reference: Arc<dyn ReferenceStore>,
    pub records: Arc<dyn RecordStore>,
    pub photos: Arc<dyn PhotoStore>,
    pub audit: Arc<dyn AuditStore>,
    /// Open311 client applications (`clients.rs`).
    pub clients: Arc<dyn clients::ClientStore>,
    /// Notice-number blocks (`numbers.rs`).
    pub numbers: Arc<dyn numbers::NumberStore>,
    /// Enrolment codes (`enrolments.rs`).
    pub enrolments: Arc<dyn enrolments::EnrolmentStore>,
    /// Hidden records and redacted public photos (`moderation.rs`).
    pub moderation: Arc<dyn moderation::ModerationStore>,
    /// Jobs that run in one server process at a time (`leases.rs`).
    pub leases: Arc<dyn leases::LeaseStore>,
    backend: Arc<dyn Backend>,
}

impl Stores {
    pub fn of<B>(backend: Arc<B>) -> Stores
    where
        B: AccountStore
            + ReferenceStore
            + RecordStore
            + PhotoStore
            + AuditStore
            + clients::ClientStore
            + numbers::NumberStore
            + enrolments::EnrolmentStore
            + moderation::ModerationStore
            + leases::LeaseStore
            + Backend
            + 'static,
    {
        Stores {
            accounts: backend.clone(),
            reference: backend.clone(),
            records: backend.clone(),
            photos: backend.clone(),
            audit: backend.clone(),
            clients: backend.clone(),
            numbers: backend.clone(),
            enrolments: backend.clone(),
            moderation: backend.clone(),
            leases: backend.clone(),
            backend,
        }
    }

    pub async fn close(&self) -> Result<()> {
        self.backend.close().await
    }
}
