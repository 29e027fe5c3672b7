//! Filing and editing records on the device, offline. Each edit is checked with the rules
//! the server uses (`merge::apply_op`, without the scope check, which is the server's),
//! shown at once, and queued as an op in the same transaction.

use crate::cases::{Case, CaseSource, CaseStep, StepAction};
use crate::context::DeviceContext;
use crate::error::{Error, Result};
use crate::merge::{self, StoredRecord};
use crate::model::{Location, OrgRef, PhotoRef, PhotoStage, Record, RecordBody, RecordKind};
use crate::photos::ingest::{self, IngestOptions};
use crate::protocol::{
    BodyPatch, NewRecord, NoticePatch, Op, OpAction, RecordPatch, RejectReason, Rejection, ReportPatch, ServiceLogPatch,
};
use crate::store::{numbers, outbox, photos, records};
use chrono::Utc;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A new record as the user fills it in; the device adds id, author, times and status.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub org: OrgRef,
    pub location: Location,
    pub body: RecordBody,
}

/// File a new record: validated, stored and queued for the next sync, in one transaction.
/// A notice with an empty number takes the next one of this device's blocks
/// (`NoNumbers` if none is left); one with a number must hold a number of those blocks.
pub fn create(ctx: &DeviceContext, draft: Draft) -> Result<Record> {
    let (actor, refs) = (ctx.local_actor()?, ctx.require_refs()?);
    let now = Utc::now();
    let kind = draft.body.kind();
    // Only for those who issue notices: anyone else is refused by the rights check, not for
    // want of numbers.
    let auto_number =
        matches!(&draft.body, RecordBody::Notice(n) if n.number.is_empty()) && crate::rights::may_create(kind, actor.role);
    ctx.store.write(move |tx| {
        let mut body = draft.body;
        if auto_number && let RecordBody::Notice(n) = &mut body {
            n.number = numbers::next_free(tx)?.ok_or(Error::NoNumbers)?;
        }
        let op = Op {
            op_id: Uuid::now_v7(),
            record_id: Uuid::now_v7(),
            hlc: ctx.clock.tick(),
            action: OpAction::Create(NewRecord {
                org: draft.org,
                created_at: now,
                location: draft.location,
                status: kind.initial_status(),
                body,
            }),
        };
        let stored = merge::apply_op(None, &op, &op.hlc, &actor.actor(), &refs, now)?;
        // A notice takes its number from this device's blocks, with the record or not at all.
        if let RecordBody::Notice(n) = &stored.record.body
            && let Some(refused) = numbers::take(tx, &n.number)?
        {
            return Err(Error::Invalid(refused));
        }
        records::insert_local(tx, &stored.record)?;
        outbox::enqueue(tx, &op, kind, now)?;
        Ok(stored.record)
    })
}

/// 立案 on this device (an admin's): a case from a report, a notice, a complaint of a
/// service log, or a call. The org and place default to the source record's.
pub struct CaseDraft {
    pub source: CaseSource,
    /// The grid and place; `None`: the source record's (needed for a hotline case).
    pub place: Option<(OrgRef, Location)>,
    pub category: String,
    pub description: String,
}

/// Open a case; the server gives it its number when it accepts it.
pub fn open_case(ctx: &DeviceContext, draft: CaseDraft) -> Result<Record> {
    let (org, location) = match (draft.place, draft.source.record()) {
        (Some(place), _) => place,
        (None, Some(source)) => {
            let (shown, _) = ctx.store.read(|c| records::get(c, source))?.ok_or(Error::NotFound)?;
            (shown.org, shown.location)
        }
        (None, None) => return Err(Error::Argument("热线案件需要网格和位置 (place)".into())),
    };
    let body = RecordBody::Case(Case::opened(draft.source, draft.category, draft.description, Vec::new()));
    create(ctx, Draft { org, location, body })
}

/// Take a step of a case (派遣, 处置完成, 核查, …), from the stage this device shows.
pub fn step(ctx: &DeviceContext, id: Uuid, action: StepAction, note: Option<String>, photos: Vec<PhotoRef>) -> Result<Record> {
    ctx.store.write(|tx| {
        let (actor, refs) = (ctx.local_actor()?, ctx.require_refs()?);
        let (shown, _) = records::get(tx, id)?.ok_or(Error::NotFound)?;
        let step = CaseStep { from: shown.status, action, note, photos };
        let now = Utc::now();
        let op = Op { op_id: Uuid::now_v7(), record_id: id, hlc: ctx.clock.tick(), action: OpAction::Step(step) };
        let base = StoredRecord { record: shown, clocks: BTreeMap::new() };
        let next = merge::apply_op(Some(&base), &op, &op.hlc, &actor.actor(), &refs, now).map_err(Error::Invalid)?;
        records::save_shown(tx, &next.record)?;
        outbox::enqueue(tx, &op, RecordKind::Case, now)?;
        Ok(next.record)
    })
}

/// Take in a photo for a case step (the step carries it): stored by SHA-256 and queued for
/// upload like an attached one.
pub fn take_photo(ctx: &DeviceContext, file: &std::path::Path, stage: Option<PhotoStage>) -> Result<PhotoRef> {
    let photo = ingested(ingest::ingest(file, &ctx.photo_files, &IngestOptions::default())?, stage);
    ctx.store.write(|tx| photos::add_local(tx, &photo.sha256, &photo.mime, photo.bytes, Utc::now()))?;
    Ok(photo)
}

/// The record's reference to a photo just taken in.
fn ingested(got: ingest::Ingested, stage: Option<PhotoStage>) -> PhotoRef {
    PhotoRef {
        sha256: got.sha256,
        mime: got.mime.to_owned(),
        bytes: got.bytes,
        width: got.width,
        height: got.height,
        taken_at: got.taken_at,
        lat: got.lat,
        lon: got.lon,
        stage,
    }
}

/// Change some fields of a record.
pub fn update(ctx: &DeviceContext, id: Uuid, patch: RecordPatch) -> Result<Record> {
    if patch == RecordPatch::default() {
        return Err(Error::Argument("没有要修改的内容 (empty patch)".into()));
    }
    ctx.store.write(|tx| update_in(ctx, tx, id, |_| Ok(patch)))
}

/// One local edit inside `tx`: `make_patch` sees the record as shown.
fn update_in(
    ctx: &DeviceContext,
    tx: &rusqlite::Connection,
    id: Uuid,
    make_patch: impl FnOnce(&Record) -> Result<RecordPatch>,
) -> Result<Record> {
    let (actor, refs) = (ctx.local_actor()?, ctx.require_refs()?);
    let (shown, _) = records::get(tx, id)?.ok_or(Error::NotFound)?;
    let patch = make_patch(&shown)?;
    let kind = shown.kind();
    let now = Utc::now();
    let op = Op { op_id: Uuid::now_v7(), record_id: id, hlc: ctx.clock.tick(), action: OpAction::Update(patch) };
    // Locally every field of our own edit wins; the server orders it by clock.
    let base = StoredRecord { record: shown, clocks: BTreeMap::new() };
    let next = merge::apply_op(Some(&base), &op, &op.hlc, &actor.actor(), &refs, now).map_err(Error::Invalid)?;
    records::save_shown(tx, &next.record)?;
    outbox::enqueue(tx, &op, kind, now)?;
    Ok(next.record)
}

fn photos_patch(kind: RecordKind, photos: Vec<PhotoRef>) -> Result<RecordPatch> {
    let body = match kind {
        RecordKind::Report => BodyPatch::Report(ReportPatch { photos: Some(photos), ..Default::default() }),
        RecordKind::Notice => BodyPatch::Notice(NoticePatch { photos: Some(photos), ..Default::default() }),
        RecordKind::ServiceLog => BodyPatch::ServiceLog(ServiceLogPatch { photos: Some(photos), ..Default::default() }),
        // A case's photos come with its steps (处置完成, 核查).
        RecordKind::Case => {
            return Err(Error::Argument("案件的照片随办理步骤提交 (photos go with a case step)".into()));
        }
    };
    Ok(RecordPatch { body: Some(body), ..Default::default() })
}

/// Attach a photo from a file the app hands over (JPEG, PNG or WebP): it is taken in
/// (EXIF facts into the record, EXIF out of the file, downscaled), stored by SHA-256,
/// added to the record as an ordinary edit, and queued for upload.
pub fn attach_photo(ctx: &DeviceContext, id: Uuid, file: &std::path::Path, stage: Option<PhotoStage>) -> Result<PhotoRef> {
    let (shown, _) = ctx.store.read(|c| records::get(c, id))?.ok_or(Error::NotFound)?;
    if shown.body.photos().len() >= crate::validate::MAX_PHOTOS {
        return Err(Error::Invalid(Rejection::new(
            RejectReason::Invalid,
            Some("photos"),
            format!("每条记录最多{}张照片 (photos)", crate::validate::MAX_PHOTOS),
        )));
    }
    let photo = ingested(ingest::ingest(file, &ctx.photo_files, &IngestOptions::default())?, stage);
    ctx.store.write(|tx| {
        photos::add_local(tx, &photo.sha256, &photo.mime, photo.bytes, Utc::now())?;
        update_in(ctx, tx, id, |shown| {
            if shown.body.photos().iter().any(|p| p.sha256 == photo.sha256) {
                return Err(Error::Argument("这张照片已经添加过 (photo already attached)".into()));
            }
            let mut list = shown.body.photos().to_vec();
            list.push(photo.clone());
            photos_patch(shown.kind(), list)
        })
    })?;
    Ok(photo)
}

/// Take a photo off a record. The file stays until the server holds it.
pub fn detach_photo(ctx: &DeviceContext, id: Uuid, sha256: &str) -> Result<Record> {
    ctx.store.write(|tx| {
        update_in(ctx, tx, id, |shown| {
            let list: Vec<PhotoRef> = shown.body.photos().iter().filter(|p| p.sha256 != sha256).cloned().collect();
            if list.len() == shown.body.photos().len() {
                return Err(Error::NotFound);
            }
            photos_patch(shown.kind(), list)
        })
    })
}

/// The number the next notice takes: the lowest this device holds unused, from the blocks
/// of its brigade's sequence the server handed it (`潍城城管告字〔2026〕第000101号`). Offline;
/// `NoNumbers` when none is left (a sync online fetches more). The number is taken when the
/// notice is created, not here.
pub fn next_notice_number(ctx: &DeviceContext) -> Result<String> {
    ctx.store.read(numbers::next_free)?.ok_or(Error::NoNumbers)
}

/// The org reference of a grid (its community looked up in the reference data).
pub fn org_for_grid(ctx: &DeviceContext, grid: &str) -> Result<OrgRef> {
    let refs = ctx.require_refs()?;
    let place = refs
        .grid_place(grid)
        .ok_or_else(|| Error::Invalid(Rejection::new(RejectReason::Invalid, Some("org.grid"), "网格不存在 (org.grid)")))?;
    Ok(OrgRef { community: place.community, grid: place.grid })
}
