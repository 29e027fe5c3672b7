//! Moderation of what the public sees (FixMyStreet-style), for admins on the console:
//!
//! - hide a record from the public, with a reason: it disappears from Open311 (as if
//!   unknown), from the notice status page and from public photo links, until it is shown
//!   again. Devices and staff still see it as it is;
//! - black out faces and number plates on a photo: the server makes a redacted copy (solid
//!   black rectangles, re-encoded as JPEG without metadata, stored as its own blob) and
//!   every public link to that photo on that record serves the copy. The original stays
//!   what devices and staff get. Undone by removing the redaction.
//!
//! Every change is written to the audit trail (who, when, what; a hide's reason too, as
//! status changes carry theirs) and kept in the record's moderation history (the console's
//! timeline).
//!
//! What is public of photos: only what an admin reviewed. A photo a 随手拍 report lists
//! (reports are public in Open311, see docs/open311.md) is public once an admin has either
//! blacked out what must not be seen or approved it as it is; either way the public gets
//! the server's copy (upright, re-encoded, without metadata: no EXIF place or phone), never
//! the upload. Until then it has no public link. No other record's photos are ever public
//! (notices name parties; cases and service logs are internal work).

use crate::blobs::Blob;
use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::clock::ServerClock;
use crate::service::audit::AuditService;
use crate::service::console::covers;
use crate::service::photos::{AskedRegion, PhotosService, RegionUnit};
use crate::service::reference::ReferenceService;
use crate::storage::RecordStore;
use crate::storage::moderation::{HiddenRecord, ModerationEvent, ModerationStore, Redaction};
use gridwork_core::model::{Record, RecordBody};
use std::sync::Arc;
use uuid::Uuid;

/// Where the public gets a photo of a record: `/public/photos/{record id}/{sha256}`.
pub const PUBLIC_PHOTO_PREFIX: &str = "/public/photos/";

/// The public path of photo `sha256` of record `id`.
pub fn public_photo_path(id: Uuid, sha256: &str) -> String {
    format!("{PUBLIC_PHOTO_PREFIX}{id}/{sha256}")
}

/// Longest reason for hiding a record.
pub const MAX_REASON: usize = 200;

/// A record's moderation as the console shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordModeration {
    pub hidden: Option<HiddenRecord>,
    pub redactions: Vec<Redaction>,
    pub events: Vec<ModerationEvent>,
}

impl RecordModeration {
    pub fn redaction(&self, photo: &str) -> Option<&Redaction> {
        self.redactions.iter().find(|r| r.photo == photo)
    }
}

/// A public photo's file: its bytes, type, and the hash of what is served (its ETag).
pub struct PublicPhoto {
    pub blob: Blob,
    pub mime: &'static str,
    pub served: String,
    pub redacted: bool,
}

pub struct ModerationService {
    store: Arc<dyn ModerationStore>,
    records: Arc<dyn RecordStore>,
    photos: Arc<PhotosService>,
    reference: Arc<ReferenceService>,
    clock: Arc<ServerClock>,
    audit: Arc<AuditService>,
}

fn bad(field: &str, message: impl Into<String>) -> DomainError {
    DomainError::invalid_input(field, message)
}

/// Could this record's photos be public (a 随手拍 report's)?
pub fn photos_may_be_public(rec: &Record) -> bool {
    matches!(rec.body, RecordBody::Report(_))
}

impl ModerationService {
    pub fn new(
        store: Arc<dyn ModerationStore>,
        records: Arc<dyn RecordStore>,
        photos: Arc<PhotosService>,
        reference: Arc<ReferenceService>,
        clock: Arc<ServerClock>,
        audit: Arc<AuditService>,
    ) -> Self {
        ModerationService { store, records, photos, reference, clock, audit }
    }

    /// The record, for an admin who may see it (unknown and not visible look the same).
    async fn record_for_admin(&self, caller: &Caller, id: Uuid) -> Result<Record, DomainError> {
        caller.require_admin()?;
        let refs = self.reference.current().await?;
        let rec = self.records.get(id).await?.ok_or(DomainError::NotFound)?;
        if covers(&caller.visibility(&refs.index), &rec, &refs.index) { Ok(rec) } else { Err(DomainError::NotFound) }
    }

    /// Hide a record from the public (admins), with a reason.
    pub async fn hide(&self, caller: &Caller, id: Uuid, reason: &str) -> Result<(), DomainError> {
        let rec = self.record_for_admin(caller, id).await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(bad("reason", "请填写隐藏原因"));
        }
        if reason.chars().count() > MAX_REASON || reason.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("reason", format!("隐藏原因最多{MAX_REASON}个字，不能含控制字符")));
        }
        let at = self.clock.now();
        let hidden = HiddenRecord { record_id: id, reason: reason.to_owned(), by: caller.user_id.clone(), at };
        if !self.store.hide(hidden).await? {
            return Err(bad("hidden", "此记录已隐藏（不公开）"));
        }
        let detail = serde_json::json!({ "kind": rec.kind().as_str(), "reason": reason });
        self.audit.record(&caller.user_id, "public_hide", Some(&id.to_string()), detail).await?;
        tracing::info!(record = %id, "record hidden from the public");
        Ok(())
    }

    /// Show a hidden record to the public again (admins).
    pub async fn unhide(&self, caller: &Caller, id: Uuid) -> Result<(), DomainError> {
        let rec = self.record_for_admin(caller, id).await?;
        if !self.store.unhide(id, &caller.user_id, self.clock.now()).await? {
            return Err(bad("hidden", "此记录未隐藏"));
        }
        let detail = serde_json::json!({ "kind": rec.kind().as_str() });
        self.audit.record(&caller.user_id, "public_unhide", Some(&id.to_string()), detail).await?;
        Ok(())
    }

    /// Black out `asked` on photo `sha256` of record `id` for the public (admins): a new
    /// redacted copy of the original replaces any earlier one.
    pub async fn redact(
        &self,
        caller: &Caller,
        id: Uuid,
        sha256: &str,
        asked: &[AskedRegion],
        unit: RegionUnit,
    ) -> Result<Redaction, DomainError> {
        crate::service::photos::check_regions(asked, unit)?;
        self.make_public(caller, id, sha256, asked, unit, "photo_redact").await
    }

    /// Approve photo `sha256` of report `id` for the public as it is (admins): nothing to
    /// black out; the public gets the server's copy without metadata.
    pub async fn publish(&self, caller: &Caller, id: Uuid, sha256: &str) -> Result<Redaction, DomainError> {
        self.make_public(caller, id, sha256, &[], RegionUnit::Fraction, "photo_publish").await
    }

    async fn make_public(
        &self,
        caller: &Caller,
        id: Uuid,
        sha256: &str,
        asked: &[AskedRegion],
        unit: RegionUnit,
        action: &str,
    ) -> Result<Redaction, DomainError> {
        let rec = self.record_for_admin(caller, id).await?;
        if !rec.body.photos().iter().any(|p| p.sha256 == sha256) {
            return Err(DomainError::NotFound);
        }
        if !photos_may_be_public(&rec) {
            return Err(bad("photo", "只有随手拍上报的照片可以公开"));
        }
        let row = self.photos.visible_photo(caller, sha256).await?;
        let copy = self.photos.redact(&row, asked, unit).await?;
        let redaction = Redaction {
            record_id: id,
            photo: sha256.to_owned(),
            redacted: copy.sha256.clone(),
            regions: copy.regions.clone(),
            by: caller.user_id.clone(),
            at: self.clock.now(),
        };
        let replaced = self.store.put_redaction(redaction.clone()).await?;
        if let Some(old) = replaced {
            self.drop_copy_if_unused(&old.redacted).await?;
        }
        let detail = serde_json::json!({
            "photo": sha256,
            "regions": copy.regions.len(),
            "redacted": copy.sha256,
        });
        self.audit.record(&caller.user_id, action, Some(&id.to_string()), detail).await?;
        Ok(redaction)
    }

    /// Withdraw the public version of photo `sha256` on record `id` (admins): the public no
    /// longer sees the photo until it is reviewed again.
    pub async fn unredact(&self, caller: &Caller, id: Uuid, sha256: &str) -> Result<(), DomainError> {
        self.record_for_admin(caller, id).await?;
        let Some(old) = self.store.remove_redaction(id, sha256, &caller.user_id, self.clock.now()).await? else {
            return Err(bad("photo", "这张照片尚未公开，无需撤回"));
        };
        self.drop_copy_if_unused(&old.redacted).await?;
        let detail = serde_json::json!({ "photo": sha256, "redacted": old.redacted });
        self.audit.record(&caller.user_id, "photo_unredact", Some(&id.to_string()), detail).await?;
        Ok(())
    }

    async fn drop_copy_if_unused(&self, redacted: &str) -> Result<(), DomainError> {
        if !self.store.redacted_in_use(redacted).await? {
            self.photos.remove_redacted(redacted).await?;
        }
        Ok(())
    }

    /// A record's moderation, for the console (the caller was checked to see the record).
    pub async fn of_record(&self, id: Uuid) -> Result<RecordModeration, DomainError> {
        let (hidden, redactions, events) =
            tokio::try_join!(self.store.hidden(id), self.store.redactions(id), self.store.events(id))?;
        Ok(RecordModeration { hidden, redactions, events })
    }

    /// The redacted copy of a photo on a record, for the console's preview (the caller was
    /// checked to see the record).
    pub async fn redacted_copy(&self, id: Uuid, sha256: &str) -> Result<Blob, DomainError> {
        let red = self.store.redaction(id, sha256).await?.ok_or(DomainError::NotFound)?;
        self.photos.open_redacted(&red.redacted).await
    }

    /// Is this record hidden from the public?
    pub async fn is_hidden(&self, id: Uuid) -> Result<bool, DomainError> {
        Ok(self.store.hidden(id).await?.is_some())
    }

    /// A photo as the public may see it: listed by a public report that is not hidden, and
    /// reviewed by an admin (its public copy). Anything else is not found.
    pub async fn public_photo(&self, id: Uuid, sha256: &str) -> Result<PublicPhoto, DomainError> {
        let rec = self.records.get(id).await?.ok_or(DomainError::NotFound)?;
        if !photos_may_be_public(&rec) || !rec.body.photos().iter().any(|p| p.sha256 == sha256) {
            return Err(DomainError::NotFound);
        }
        if self.store.hidden(id).await?.is_some() {
            return Err(DomainError::NotFound);
        }
        let red = self.store.redaction(id, sha256).await?.ok_or(DomainError::NotFound)?;
        let blob = self.photos.open_redacted(&red.redacted).await?;
        Ok(PublicPhoto { blob, mime: "image/jpeg", served: red.redacted, redacted: !red.regions.is_empty() })
    }

    /// Which of these records are hidden from the public.
    pub async fn hidden_among(&self, ids: &[Uuid]) -> Result<std::collections::HashSet<Uuid>, DomainError> {
        Ok(self.store.hidden_among(ids).await?)
    }
}
