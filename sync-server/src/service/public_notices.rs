//! What anyone may see of a notice without signing in: the page its printed QR code opens.
//! Number, status, deadline, category and district only; never the party, the facts, the
//! place or the officer. Any id that is not a notice is simply not found, nor is a notice
//! an admin hid from the public (moderation). No photos: a notice's photos show its party.

use crate::domain::DomainError;
use crate::service::ReferenceService;
use crate::storage::RecordStore;
use crate::storage::moderation::ModerationStore;
use chrono::NaiveDate;
use gridwork_core::model::{RecordBody, Status};
use gridwork_core::reference::NOTICE_EXTRA_CATEGORIES;
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicNotice {
    pub number: String,
    pub status: Status,
    pub deadline: NaiveDate,
    /// The category's name (乱摆摊, 占道经营, …).
    pub category: String,
    /// The district the notice was issued in (奎文区).
    pub district: Option<String>,
}

/// The public view of notice `id`, if there is such a notice and it is not hidden.
pub async fn public_notice(
    records: &dyn RecordStore,
    moderation: &dyn ModerationStore,
    reference: &ReferenceService,
    id: Uuid,
) -> Result<Option<PublicNotice>, DomainError> {
    let Some(rec) = records.get(id).await? else { return Ok(None) };
    let RecordBody::Notice(n) = &rec.body else { return Ok(None) };
    if moderation.hidden(id).await?.is_some() {
        return Ok(None);
    }
    let refs = reference.current().await?;
    let category = NOTICE_EXTRA_CATEGORIES
        .iter()
        .find(|(c, _)| *c == n.category)
        .map(|(_, name)| (*name).to_owned())
        .or_else(|| refs.index.category(&n.category).map(|c| c.name.clone()))
        .unwrap_or_else(|| n.category.clone());
    let district = refs.index.grid_place(&rec.org.grid).and_then(|p| refs.index.org(&p.district).map(|o| o.name.clone()));
    Ok(Some(PublicNotice { number: n.number.clone(), status: rec.status, deadline: n.deadline, category, district }))
}
