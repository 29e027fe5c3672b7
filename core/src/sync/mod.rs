//! The sync engine of a device: push the outbox in batches, then pull changes page by
//! page. Each server answer is stored in one transaction, so a sync cut off at any point
//! (network, cancellation, crash) leaves the database consistent; the next sync resends
//! what was not confirmed, and the server answers repeated op ids with their first result.

pub mod http;

use crate::client::DeviceInner;
use crate::error::{Error, Result};
use crate::merge::{self, StoredRecord};
use crate::model::Record;
use crate::protocol::{MAX_PUSH_OPS, Outcome, PushRequest, RejectReason, Rejection};
use crate::store::{meta, outbox, records};
use chrono::Utc;
use http::{Auth, WireBytes};
use std::collections::BTreeMap;

/// Ops per push request.
pub const PUSH_BATCH: usize = MAX_PUSH_OPS / 2;
/// Records per pull page.
pub const PULL_PAGE: u32 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SyncPhase {
    #[default]
    Pushing,
    Pulling,
    Reference,
    UploadingPhotos,
    Done,
}

/// Progress of a running sync. Totals of the pull are unknown until the end.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub pushed: u64,
    pub push_total: u64,
    pub pulled: u64,
    /// Photo uploads: photos and bytes, overall and for the photo going now.
    pub photos_done: u64,
    pub photos_total: u64,
    pub photo_bytes_done: u64,
    pub photo_bytes_total: u64,
    pub current_photo: Option<String>,
    pub current_photo_bytes_done: u64,
    pub current_photo_bytes_total: u64,
}

/// Told about a sync as it runs. Called on the sync's task; keep it quick.
pub trait SyncObserver: Send + Sync {
    fn on_progress(&self, progress: &SyncProgress);
}

impl<F: Fn(&SyncProgress) + Send + Sync> SyncObserver for F {
    fn on_progress(&self, progress: &SyncProgress) {
        self(progress)
    }
}

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub pulled: u64,
    pub round_trips: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub photos_uploaded: u64,
    /// Photo bytes sent (part of `bytes_sent`), resends included.
    pub photo_bytes_sent: u64,
}

impl SyncReport {
    pub(crate) fn count(&mut self, wire: WireBytes) {
        self.round_trips += 1;
        self.bytes_sent += wire.sent;
        self.bytes_received += wire.received;
    }
}

/// A whole sync: records first (so admins see a report at once), then photos if the
/// photo policy allows them on the current network.
pub(crate) async fn run(dev: &DeviceInner, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let mut report = push(dev, observer).await?;
    let pulled = pull(dev, observer).await?;
    report.pulled = pulled.pulled;
    report.round_trips += pulled.round_trips;
    report.bytes_sent += pulled.bytes_sent;
    report.bytes_received += pulled.bytes_received;
    if dev.photos_allowed() {
        let (session, device_id) = credentials(dev)?;
        let auth = Auth { token: &session.token, device_id: &device_id };
        crate::photos::upload::upload_all(dev, auth, observer, &mut report).await?;
    }
    notify(
        observer,
        &SyncProgress {
            phase: SyncPhase::Done,
            pushed: report.pushed,
            push_total: report.pushed,
            pulled: report.pulled,
            ..Default::default()
        },
    );
    Ok(report)
}

/// Upload pending photos now, whatever the policy (the app asked explicitly).
pub(crate) async fn upload_photos(dev: &DeviceInner, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let (session, device_id) = credentials(dev)?;
    let auth = Auth { token: &session.token, device_id: &device_id };
    let mut report = SyncReport::default();
    crate::photos::upload::upload_all(dev, auth, observer, &mut report).await?;
    Ok(report)
}

fn notify(observer: Option<&dyn SyncObserver>, p: &SyncProgress) {
    if let Some(o) = observer {
        o.on_progress(p)
    }
}

fn credentials(dev: &DeviceInner) -> Result<(meta::StoredSession, String)> {
    let session = dev.session()?.ok_or(Error::NotLoggedIn)?;
    Ok((session, dev.device_id.to_string()))
}

/// Push pending ops, oldest first, until none is left. Nothing pending: no request.
pub(crate) async fn push(dev: &DeviceInner, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let (session, device_id) = credentials(dev)?;
    let auth = Auth { token: &session.token, device_id: &device_id };
    let mut report = SyncReport::default();
    let push_total = dev.store.read(outbox::pending_count)?;
    if push_total == 0 {
        return Ok(report);
    }
    let mut progress = SyncProgress { phase: SyncPhase::Pushing, push_total, ..Default::default() };
    notify(observer, &progress);
    loop {
        let batch = dev.store.read(|c| outbox::next_batch(c, PUSH_BATCH))?;
        if batch.is_empty() {
            break;
        }
        push_batch(dev, auth, batch, &mut report).await?;
        progress.pushed = report.pushed;
        notify(observer, &progress);
    }
    Ok(report)
}

/// Pull pages of changes after the stored cursor until the server has no more; refresh
/// the reference data when its version changed.
pub(crate) async fn pull(dev: &DeviceInner, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let (session, device_id) = credentials(dev)?;
    let auth = Auth { token: &session.token, device_id: &device_id };
    let mut report = SyncReport::default();
    let mut progress = SyncProgress { phase: SyncPhase::Pulling, ..Default::default() };
    let mut cursor = dev.store.read(meta::cursor)?;
    let mut reference_checked = false;
    let me = session.user.id.as_str();
    loop {
        let (page, wire) = dev.transport.pull(auth, cursor, PULL_PAGE).await?;
        report.count(wire);
        dev.clock.observe(&page.server_hlc);
        let n = page.records.len() as u64;
        dev.store.write(|tx| {
            for rec in page.records {
                apply_server_record(dev, tx, me, rec)?;
            }
            meta::set(tx, meta::CURSOR, &page.next.to_string())?;
            meta::set(tx, meta::HLC, &dev.clock.peek().to_string())
        })?;
        cursor = page.next;
        report.pulled += n;
        progress.pulled = report.pulled;
        if !reference_checked && dev.reference_version().as_deref() != Some(page.reference_version.as_str()) {
            progress.phase = SyncPhase::Reference;
            notify(observer, &progress);
            let (data, wire) = dev.transport.reference(auth).await?;
            report.count(wire);
            dev.set_reference(data)?;
            progress.phase = SyncPhase::Pulling;
        }
        reference_checked = true;
        notify(observer, &progress);
        if !page.has_more {
            break;
        }
    }
    Ok(report)
}

async fn push_batch(dev: &DeviceInner, auth: Auth<'_>, batch: Vec<crate::protocol::Op>, report: &mut SyncReport) -> Result<()> {
    let ids: Vec<_> = batch.iter().map(|o| o.op_id).collect();
    dev.store.write(|tx| outbox::mark_attempted(tx, &ids))?;
    let request = PushRequest { ops: batch };
    match dev.transport.push(auth, &request).await {
        Ok((resp, wire)) => {
            report.count(wire);
            if resp.results.len() != ids.len() || resp.results.iter().zip(&ids).any(|(r, id)| r.op_id != *id) {
                return Err(Error::Decode("push results do not match the ops sent".into()));
            }
            dev.clock.observe(&resp.server_hlc);
            let now = Utc::now();
            dev.store.write(|tx| {
                for r in &resp.results {
                    match (r.outcome, &r.rejection) {
                        (Outcome::Accepted, _) => outbox::mark_accepted(tx, r.op_id, r.seq, now)?,
                        (Outcome::Rejected, Some(rej)) => outbox::mark_rejected(tx, r.op_id, rej, now)?,
                        (Outcome::Rejected, None) => outbox::mark_rejected(
                            tx,
                            r.op_id,
                            &Rejection::new(RejectReason::Invalid, None, "服务器拒绝了该修改"),
                            now,
                        )?,
                    }
                }
                // A refused change must not stay on screen as if it were accepted.
                let refused: std::collections::BTreeSet<_> = resp
                    .results
                    .iter()
                    .zip(&request.ops)
                    .filter(|(r, _)| r.outcome == Outcome::Rejected)
                    .map(|(_, op)| op.record_id)
                    .collect();
                for id in refused {
                    rebuild_shown(dev, tx, id)?;
                }
                Ok(())
            })?;
            report.pushed += ids.len() as u64;
            report.accepted += resp.results.iter().filter(|r| r.outcome == Outcome::Accepted).count() as u64;
            report.rejected += resp.results.iter().filter(|r| r.outcome == Outcome::Rejected).count() as u64;
            Ok(())
        }
        // The server refused the request as a whole: a rule it checks before applying
        // anything (422), or a body too large (413). Split the batch until the op it
        // objects to stands alone, and keep that one as rejected, so that one bad op
        // cannot block the queue for ever.
        Err(Error::Server { status: status @ (413 | 422), code, message }) => {
            let mut ops = request.ops;
            if ops.len() == 1 {
                let rejection = Rejection::new(RejectReason::Invalid, None, format!("{message} ({code})"));
                let id = ops[0].record_id;
                dev.store.write(|tx| {
                    outbox::mark_rejected(tx, ops[0].op_id, &rejection, Utc::now())?;
                    rebuild_shown(dev, tx, id)
                })?;
                report.pushed += 1;
                report.rejected += 1;
                return Ok(());
            }
            tracing::debug!(status, n = ops.len(), "push refused as a whole; splitting the batch");
            let second = ops.split_off(ops.len() / 2);
            Box::pin(push_batch(dev, auth, ops, report)).await?;
            Box::pin(push_batch(dev, auth, second, report)).await
        }
        Err(e) => Err(e),
    }
}

/// The server's state of a record with this device's pending ops on top: what to show.
fn with_pending(dev: &DeviceInner, tx: &rusqlite::Connection, server: Record) -> Result<Record> {
    let pending = outbox::pending_for_record(tx, server.id)?;
    let mut shown = server.clone();
    if !pending.is_empty()
        && let Some(refs) = dev.refs()
    {
        let session = dev.session()?.ok_or(Error::NotLoggedIn)?;
        let device_id = dev.device_id.to_string();
        let actor = merge::Actor { user_id: &session.user.id, device_id: &device_id, role: session.user.role, scope: None };
        for op in &pending {
            let base = StoredRecord { record: shown.clone(), clocks: BTreeMap::new() };
            // An op that no longer applies will be answered by the server; show the rest.
            if let Ok(next) = merge::apply_op(Some(&base), op, &op.hlc, &actor, &refs, shown.updated_at) {
                shown = next.record;
                shown.seq = server.seq;
            }
        }
    }
    Ok(shown)
}

/// Show a record again as the server has it plus what is still pending, after a change of
/// it was refused or let go. A record the server never had stays while something of it
/// waits or is refused (so the user sees what was refused), and goes when nothing is left.
pub(crate) fn rebuild_shown(dev: &DeviceInner, tx: &rusqlite::Connection, id: uuid::Uuid) -> Result<()> {
    match records::get(tx, id)? {
        Some((_, Some(server))) => {
            let shown = with_pending(dev, tx, server.clone())?;
            records::save_from_server(tx, &shown, &server)
        }
        Some((_, None)) if !outbox::open_for_record(tx, id)? => records::delete(tx, id),
        _ => Ok(()),
    }
}

/// Store the server's state of one record; re-apply this device's pending ops on top so
/// the user keeps seeing their unsent edits; note who changed what for the history.
fn apply_server_record(dev: &DeviceInner, tx: &rusqlite::Connection, me: &str, server: Record) -> Result<()> {
    let previous = records::get(tx, server.id)?;
    let shown = with_pending(dev, tx, server.clone())?;
    // History: what changed on the server since our last copy, less what this device
    // itself wrote in between (already in the history as local changes).
    let old_server = previous.as_ref().and_then(|(_, s)| s.as_ref());
    let mut fields = merge::changed_fields(old_server, &server);
    let since = old_server.and_then(|s| s.seq).unwrap_or(0);
    for op in outbox::accepted_after(tx, server.id, since)? {
        let own = merge::op_fields(&op);
        fields.retain(|f| !own.contains(f));
    }
    if !fields.is_empty() {
        // The server names only the last writer; if that is us, someone else wrote these.
        let actor = if server.updated_by != me { server.updated_by.clone() } else { String::new() };
        let change = records::ServerChange { seq: server.seq.unwrap_or_default(), at: server.updated_at, actor, fields };
        records::add_server_change(tx, server.id, &change)?;
    }
    records::save_from_server(tx, &shown, &server)
}
