//! Moderation of what the public sees (FixMyStreet-style): records hidden from the public
//! surfaces (Open311, the notice status page, public photo links) with the reason, and
//! photos whose public version is a redacted copy (faces and number plates blacked out).
//! The originals and the records themselves are untouched: devices and staff see them as
//! they are. Every change is also kept as an event of the record's moderation history (the
//! console's timeline). Keyed by record id and photo hash only; knows no HTTP and no images.

use super::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use uuid::Uuid;

/// A record hidden from the public.
#[derive(Clone, Debug, PartialEq)]
pub struct HiddenRecord {
    pub record_id: Uuid,
    /// Why (required; shown to staff only).
    pub reason: String,
    /// The admin's account id.
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A rectangle blacked out, in pixels of the upright photo (EXIF orientation applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// The public version of one photo on one record: a redacted copy stored as its own blob.
#[derive(Clone, Debug, PartialEq)]
pub struct Redaction {
    pub record_id: Uuid,
    /// SHA-256 of the original photo (unchanged).
    pub photo: String,
    /// SHA-256 of the redacted copy (a JPEG without metadata).
    pub redacted: String,
    pub regions: Vec<Region>,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What a moderation event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModerationAction {
    Hide,
    Unhide,
    Redact,
    Unredact,
}

impl ModerationAction {
    pub const ALL: [ModerationAction; 4] =
        [ModerationAction::Hide, ModerationAction::Unhide, ModerationAction::Redact, ModerationAction::Unredact];

    pub fn as_str(self) -> &'static str {
        match self {
            ModerationAction::Hide => "hide",
            ModerationAction::Unhide => "unhide",
            ModerationAction::Redact => "redact",
            ModerationAction::Unredact => "unredact",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ModerationAction::Hide => "隐藏（不公开）",
            ModerationAction::Unhide => "取消隐藏",
            ModerationAction::Redact => "遮挡照片",
            ModerationAction::Unredact => "撤销遮挡",
        }
    }
}

/// One entry of a record's moderation history.
#[derive(Clone, Debug, PartialEq)]
pub struct ModerationEvent {
    /// Increasing in the order events were written.
    pub seq: u64,
    pub record_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: ModerationAction,
    /// The photo (redact, unredact).
    pub photo: Option<String>,
    /// How many rectangles (redact).
    pub regions: u32,
    /// The reason (hide).
    pub reason: Option<String>,
}

#[async_trait]
pub trait ModerationStore: Send + Sync {
    /// Hide a record, with its event, in one write; false (nothing written) if it already was.
    async fn hide(&self, hidden: HiddenRecord) -> Result<bool>;
    /// Show a hidden record again, with its event; false (nothing written) if it was not hidden.
    async fn unhide(&self, record_id: Uuid, by: &str, at: DateTime<Utc>) -> Result<bool>;
    /// The record's hiding, if it is hidden.
    async fn hidden(&self, record_id: Uuid) -> Result<Option<HiddenRecord>>;
    /// Which of these records are hidden.
    async fn hidden_among(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>>;
    /// Store the public version of a photo on a record (replacing an earlier one), with its
    /// event, in one write; the redaction it replaced.
    async fn put_redaction(&self, redaction: Redaction) -> Result<Option<Redaction>>;
    /// Remove the public version of a photo on a record, with its event; the one removed
    /// (`None`, nothing written, if there was none).
    async fn remove_redaction(&self, record_id: Uuid, photo: &str, by: &str, at: DateTime<Utc>) -> Result<Option<Redaction>>;
    async fn redaction(&self, record_id: Uuid, photo: &str) -> Result<Option<Redaction>>;
    /// Every redaction of a record's photos, by photo hash.
    async fn redactions(&self, record_id: Uuid) -> Result<Vec<Redaction>>;
    /// Is this redacted copy the public version of any photo (so its blob must stay)?
    async fn redacted_in_use(&self, redacted: &str) -> Result<bool>;
    /// The record's moderation history, oldest first.
    async fn events(&self, record_id: Uuid) -> Result<Vec<ModerationEvent>>;
}
