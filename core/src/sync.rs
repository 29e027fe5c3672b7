//! The sync engine of a device: push the outbox in batches, then pull changes page by
//! page. Each server answer is stored in one transaction (on the blocking pool), so a sync
//! cut off at any point (network, cancellation, crash) leaves the database consistent; the
//! next sync resends what was not confirmed, and the server answers repeated op ids with
//! their first result.

use crate::context::DeviceContext;
use crate::error::{Error, Result};
use crate::events::{SyncObserver, SyncPhase, SyncProgress, SyncReport, notify};
use crate::protocol::{MAX_PUSH_OPS, Op, OpResult, Outcome, PushRequest, RejectReason, Rejection};
use crate::shown::Replay;
use crate::store::{meta, outbox, purge};
use crate::transport::Auth;
use chrono::Utc;
use std::collections::BTreeSet;

/// Ops per push request.
pub const PUSH_BATCH: usize = MAX_PUSH_OPS / 2;
/// Records per pull page.
pub const PULL_PAGE: u32 = 1000;

/// A whole sync: records first (so admins see a report at once), then photos if the
/// photo policy allows them on the current network.
pub async fn run(ctx: &DeviceContext, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let mut report = push(ctx, observer).await?;
    report.add(&pull(ctx, observer).await?);
    if report.restarted {
        // What the restored server lost goes again, then what others pushed again comes.
        report.add(&push(ctx, observer).await?);
        report.add(&pull(ctx, observer).await?);
    }
    // An officer running low on notice numbers gets another block.
    crate::numbers::top_up(ctx).await?;
    if ctx.photos_allowed() {
        report.add(&crate::photos::upload::upload_all(ctx, observer).await?);
    }
    let done = SyncProgress {
        phase: SyncPhase::Done,
        pushed: report.pushed,
        push_total: report.pushed,
        pulled: report.pulled,
        ..Default::default()
    };
    notify(observer, &done);
    Ok(report)
}

/// Push pending ops, oldest first, until none is left. Nothing pending: no request.
pub async fn push(ctx: &DeviceContext, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let session = ctx.require_session()?;
    let device_id = ctx.device_id.to_string();
    let auth = ctx.auth(&session, &device_id);
    let mut report = SyncReport::default();
    let push_total = ctx.store.read_async(outbox::pending_count).await?;
    if push_total == 0 {
        return Ok(report);
    }
    let mut progress = SyncProgress { phase: SyncPhase::Pushing, push_total, ..Default::default() };
    notify(observer, &progress);
    // The next batch is read and signed while the one before is on the wire (the server
    // still takes them one after the other, in order).
    let mut batch = next_signed(ctx, 0).await?;
    while let Some(signed) = batch {
        let after = signed.last_seq;
        let (sent, next) = tokio::join!(push_batch(ctx, auth, signed.ops, signed.sigs, &mut report), next_signed(ctx, after));
        sent?;
        batch = next?;
        progress.pushed = report.pushed;
        notify(observer, &progress);
    }
    Ok(report)
}

/// A batch of pending ops with the device's signature of each.
struct SignedBatch {
    ops: Vec<Op>,
    sigs: Vec<String>,
    /// The `local_seq` of the last op: the next batch starts after it.
    last_seq: i64,
}

/// The oldest pending ops after `after`, signed with the device's key (off the async
/// threads: a platform key store may take its time); `None` when nothing is left.
async fn next_signed(ctx: &DeviceContext, after: i64) -> Result<Option<SignedBatch>> {
    let keys = ctx.key_store();
    let device_id = ctx.device_id.to_string();
    ctx.store
        .read_async(move |c| {
            let batch = outbox::next_batch_after(c, after, PUSH_BATCH)?;
            let Some(&(last_seq, _)) = batch.last() else { return Ok(None) };
            let ops: Vec<Op> = batch.into_iter().map(|(_, op)| op).collect();
            // Each op signed with the device's key: the server keeps the signature as evidence.
            let sigs = ops.iter().map(|op| crate::signer::sign_op(&*keys, &device_id, op)).collect::<Result<Vec<_>>>()?;
            Ok(Some(SignedBatch { ops, sigs, last_seq }))
        })
        .await
}

/// Store the server's answers to `ops`, and show the records of refused ones again as the
/// server has them.
async fn store_results(ctx: &DeviceContext, ops: &[Op], results: Vec<OpResult>) -> Result<()> {
    let refused: BTreeSet<_> =
        results.iter().zip(ops).filter(|(r, _)| r.outcome == Outcome::Rejected).map(|(_, op)| op.record_id).collect();
    let replay = Replay::of(ctx);
    let now = Utc::now();
    ctx.store
        .write_async(move |tx| {
            for r in &results {
                match (r.outcome, &r.rejection) {
                    (Outcome::Accepted, _) => outbox::mark_accepted(tx, r.op_id, r.seq, now)?,
                    (Outcome::Rejected, Some(rej)) => outbox::mark_rejected(tx, r.op_id, rej, now)?,
                    (Outcome::Rejected, None) => {
                        let rej = Rejection::new(RejectReason::Invalid, None, "服务器拒绝了该修改");
                        outbox::mark_rejected(tx, r.op_id, &rej, now)?
                    }
                }
            }
            // A refused change must not stay on screen as if it were accepted.
            for id in refused {
                replay.rebuild(tx, id)?;
            }
            Ok(())
        })
        .await
}

async fn push_batch(ctx: &DeviceContext, auth: Auth<'_>, ops: Vec<Op>, sigs: Vec<String>, report: &mut SyncReport) -> Result<()> {
    let ids: Vec<_> = ops.iter().map(|o| o.op_id).collect();
    let attempted = ids.clone();
    let request = PushRequest { ops, sigs };
    // The attempt is counted as the request goes out, not before it.
    let (counted, answer) =
        tokio::join!(ctx.store.write_async(move |tx| outbox::mark_attempted(tx, &attempted)), ctx.transport.push(auth, &request));
    counted?;
    match answer {
        Ok((resp, wire)) => {
            report.count(wire);
            if resp.results.len() != ids.len() || resp.results.iter().zip(&ids).any(|(r, id)| r.op_id != *id) {
                return Err(Error::Decode("push results do not match the ops sent".into()));
            }
            ctx.clock.observe(&resp.server_hlc);
            report.pushed += ids.len() as u64;
            report.accepted += resp.results.iter().filter(|r| r.outcome == Outcome::Accepted).count() as u64;
            report.rejected += resp.results.iter().filter(|r| r.outcome == Outcome::Rejected).count() as u64;
            store_results(ctx, &request.ops, resp.results).await
        }
        // The server refused the request as a whole: a rule it checks before applying
        // anything (422), or a body too large (413). Split the batch until the op it
        // objects to stands alone, and keep that one as rejected, so that one bad op
        // cannot block the queue for ever.
        Err(Error::Server { status: status @ (413 | 422), code, message }) => {
            let (mut ops, mut sigs) = (request.ops, request.sigs);
            if ops.len() == 1 {
                let rejection = Rejection::new(RejectReason::Invalid, None, format!("{message} ({code})"));
                let result = OpResult { op_id: ops[0].op_id, outcome: Outcome::Rejected, seq: None, rejection: Some(rejection) };
                report.pushed += 1;
                report.rejected += 1;
                return store_results(ctx, &ops, vec![result]).await;
            }
            tracing::debug!(status, n = ops.len(), "push refused as a whole; splitting the batch");
            let half = ops.len() / 2;
            let (second, second_sigs) = (ops.split_off(half), if sigs.len() > half { sigs.split_off(half) } else { Vec::new() });
            Box::pin(push_batch(ctx, auth, ops, sigs, report)).await?;
            Box::pin(push_batch(ctx, auth, second, second_sigs, report)).await
        }
        Err(e) => Err(e),
    }
}

/// Pull pages of changes after the stored cursor until the server has no more; refresh
/// the reference data when its version changed.
pub async fn pull(ctx: &DeviceContext, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let session = ctx.require_session()?;
    let device_id = ctx.device_id.to_string();
    let auth = ctx.auth(&session, &device_id);
    let mut report = SyncReport::default();
    let mut progress = SyncProgress { phase: SyncPhase::Pulling, ..Default::default() };
    let (mut cursor, mut epoch, pending) = ctx
        .store
        .read_async(|c| {
            // What is still to send, told to the server for its admins' device list.
            let pending = outbox::pending_count(c)? + crate::store::photos::queue_size(c)?.0;
            Ok((meta::cursor(c)?, meta::epoch(c)?, pending))
        })
        .await?;
    let mut reference_checked = false;
    let mut retention_changed = false;
    // This device's own records come as digests; a page whose rebuild misses is asked
    // for again in full.
    let mut own_digests = true;
    // The next page, asked for while this one is stored: the server builds and sends it
    // while the device writes. Used only once this page is stored; dropped otherwise.
    let mut ahead = None;
    loop {
        let (page, wire) = match ahead.take() {
            Some(fetched) => fetched?,
            None => ctx.transport.pull(auth, cursor, epoch, PULL_PAGE, pending, own_digests).await?,
        };
        report.count(wire);
        ctx.clock.observe(&page.server_hlc);
        if let Some(base) = page.restart {
            // Once per pull: a server that keeps answering so is broken, not restored.
            if report.restarted {
                return Err(Error::Decode("the server asked twice to pull from the start".into()));
            }
            let new_epoch = page.epoch;
            let requeued = ctx
                .store
                .write_async(move |tx| {
                    let n = outbox::requeue_after(tx, base)?;
                    crate::store::photos::requeue_uploaded(tx)?;
                    crate::store::restart_pull(tx)?;
                    match new_epoch {
                        Some(e) => meta::set(tx, meta::EPOCH, &e.to_string())?,
                        None => meta::delete(tx, meta::EPOCH)?,
                    }
                    Ok(n)
                })
                .await?;
            tracing::warn!(base, requeued, "the server lost changes (restored from a backup): pulling afresh");
            report.restarted = true;
            (cursor, epoch) = (0, new_epoch);
            continue;
        }
        let n = (page.records.len() + page.removed.len() + page.own.len()) as u64;
        let (next, has_more) = (page.next, page.has_more);
        let retention = page.party_retention_days;
        let page_epoch = page.epoch;
        epoch = page_epoch.or(epoch);
        let reference_version = page.reference_version;
        let clock = ctx.clock.peek().to_string();
        let replay = Replay::of(ctx);
        let (records, removed, own) = (page.records, page.removed, page.own);
        let store = ctx.store.write_async(move |tx| {
            // Rebuilt before anything is written: one miss and the page comes again.
            let mut rebuilt = Vec::with_capacity(own.len());
            for o in &own {
                match replay.own_version(tx, o)? {
                    Some(rec) => rebuilt.push(rec),
                    None => return Ok(None),
                }
            }
            for rec in records.into_iter().chain(rebuilt) {
                replay.apply_server_record(tx, rec)?;
            }
            for gone in removed {
                replay.remove(tx, gone.id)?;
            }
            meta::set(tx, meta::CURSOR, &next.to_string())?;
            if let Some(e) = page_epoch {
                meta::set(tx, meta::EPOCH, &e.to_string())?;
            }
            // The server sends its retention on every page: a change is what matters.
            let changed = match retention {
                Some(days) if meta::get(tx, meta::PARTY_RETENTION_DAYS)? != Some(days.to_string()) => {
                    meta::set(tx, meta::PARTY_RETENTION_DAYS, &days.to_string())?;
                    true
                }
                _ => false,
            };
            meta::set(tx, meta::HLC, &clock)?;
            Ok(Some(changed))
        });
        let fetch_next = async {
            match has_more {
                true => Some(ctx.transport.pull(auth, next, epoch, PULL_PAGE, pending, true).await),
                false => None,
            }
        };
        let (stored, fetched) = tokio::join!(store, fetch_next);
        let Some(changed) = stored? else {
            tracing::debug!(cursor, "own records did not rebuild: pulling the page in full");
            // The page asked for early is dropped, but it crossed the wire.
            if let Some(Ok((_, wire))) = &fetched {
                report.count(*wire);
            }
            own_digests = false;
            continue;
        };
        own_digests = true;
        ahead = fetched;
        retention_changed |= changed;
        cursor = next;
        report.pulled += n;
        progress.pulled = report.pulled;
        if !reference_checked && ctx.reference_version().as_deref() != Some(reference_version.as_str()) {
            progress.phase = SyncPhase::Reference;
            notify(observer, &progress);
            let (data, wire) = ctx.transport.reference(auth).await?;
            report.count(wire);
            ctx.set_reference(data).await?;
            progress.phase = SyncPhase::Pulling;
        }
        reference_checked = true;
        notify(observer, &progress);
        if !has_more {
            break;
        }
    }
    // The purge scans every closed notice: after a pull that brought records or a
    // retention, else hourly, so an idle sync stays one cheap round trip.
    if ctx.purge_due(report.pulled > 0 || retention_changed) {
        purge_parties(ctx).await;
    }
    Ok(report)
}

/// Remove the parties of notices closed longer ago than the retention (when the device
/// opens, after a pull that brought something, and hourly). A failure is logged and
/// retried at the next sync: it must not stop the sync.
pub async fn purge_parties(ctx: &DeviceContext) {
    let now = purge::device_now(&ctx.clock);
    match purge::run_async(&ctx.store, now).await {
        Ok(_) => ctx.note_purged(),
        Err(e) => tracing::warn!(error = %e, "could not remove the party of closed notices"),
    }
}
