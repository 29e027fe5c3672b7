//! Enrolment codes (扫码登录): one-time, short-lived codes an admin makes for an account so
//! that a phone signs in by scanning a QR code instead of typing a password. Only the
//! SHA-256 of a code is stored; a code is used at most once.

use super::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One enrolment code as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrolmentRow {
    /// SHA-256 (hex) of the code; the code itself is shown once, when it is made.
    pub code_hash: String,
    /// The account the code signs in.
    pub user_id: String,
    /// The admin's account id (or `system`: the command line).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The code is refused from this instant on.
    pub expires_at: DateTime<Utc>,
    /// When it was used, and by which device (None: not yet).
    pub used_at: Option<DateTime<Utc>>,
    pub used_by_device: Option<String>,
}

#[async_trait]
pub trait EnrolmentStore: Send + Sync {
    /// Store a new code (code hashes are unique).
    async fn insert_enrolment(&self, row: EnrolmentRow) -> Result<()>;
    /// Use the code with this hash from `device_id` at `at`, in one write: only if it was
    /// never used and `at` is before its expiry. The row as it is now if this call used it,
    /// None otherwise (unknown, used before, expired): of two concurrent uses one wins.
    async fn use_enrolment(&self, code_hash: &str, device_id: &str, at: DateTime<Utc>) -> Result<Option<EnrolmentRow>>;
    /// The code with this hash, used or not.
    async fn enrolment(&self, code_hash: &str) -> Result<Option<EnrolmentRow>>;
    /// The codes of an account still usable at `at`, oldest first.
    async fn live_enrolments(&self, user_id: &str, at: DateTime<Utc>) -> Result<Vec<EnrolmentRow>>;
    /// Forget every code that expired before `before`; how many.
    async fn purge_enrolments(&self, before: DateTime<Utc>) -> Result<u64>;
}
