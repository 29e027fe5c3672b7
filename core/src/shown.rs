//! What the device shows for a record: the server's state with this device's pending ops
//! re-applied on top, so that a user keeps seeing their unsent edits. Used when a page of
//! the pull arrives, when the server refuses a change, and when the user lets a refused
//! change go. Runs inside the caller's store transaction.

use crate::context::{DeviceContext, LocalActor};
use crate::error::{Error, Result};
use crate::merge::{self, StoredRecord};
use crate::model::Record;
use crate::protocol::{OwnRecord, record_digest};
use crate::reference::RefIndex;
use crate::store::{outbox, records};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// The rules and the user to replay pending ops with (owned: it travels to the store's
/// worker thread).
#[derive(Clone)]
pub struct Replay {
    /// `None` when nobody is signed in (nothing pending can be replayed then).
    pub actor: Option<LocalActor>,
    /// `None` before the first reference data: pending ops cannot be checked, and are shown
    /// as the server has the record until then.
    pub refs: Option<Arc<RefIndex>>,
}

impl Replay {
    /// The signed-in user and the reference data of `ctx`, now.
    pub fn of(ctx: &DeviceContext) -> Replay {
        Replay { actor: ctx.local_actor().ok(), refs: ctx.refs() }
    }

    /// The server's state of a record with this device's pending ops on top.
    pub fn with_pending(&self, tx: &Connection, server: Record) -> Result<Record> {
        let pending = outbox::pending_for_record(tx, server.id)?;
        let Some(refs) = self.refs.as_ref().filter(|_| !pending.is_empty()) else { return Ok(server) };
        let actor = self.actor.as_ref().ok_or(Error::NotLoggedIn)?;
        let mut shown = server.clone();
        for op in &pending {
            let base = StoredRecord { record: shown.clone(), clocks: BTreeMap::new() };
            // An op that no longer applies will be answered by the server; show the rest.
            if let Ok(next) = merge::apply_op(Some(&base), op, &op.hlc, &actor.actor(), refs, shown.updated_at) {
                shown = next.record;
                shown.seq = server.seq;
            }
        }
        Ok(shown)
    }

    /// Show a record again as the server has it plus what is still pending, after a change
    /// of it was refused or let go. A record the server never had stays while something of
    /// it waits or is refused (so the user sees what was refused), and goes when nothing is
    /// left.
    pub fn rebuild(&self, tx: &Connection, id: Uuid) -> Result<()> {
        if records::departed(tx, id)? && !outbox::open_for_record(tx, id)? {
            return records::delete(tx, id);
        }
        match records::get(tx, id)? {
            Some((_, Some(server))) => {
                let shown = self.with_pending(tx, server.clone())?;
                records::save_from_server(tx, &shown, &server)
            }
            Some((_, None)) if !outbox::open_for_record(tx, id)? => records::delete(tx, id),
            _ => Ok(()),
        }
    }

    /// The server took a record away from this device (e.g. a case dispatched elsewhere):
    /// it goes, unless something of it still waits here or needs the user's attention.
    pub fn remove(&self, tx: &Connection, id: Uuid) -> Result<()> {
        let keep = outbox::open_for_record(tx, id)?;
        records::depart(tx, id, keep)
    }

    /// The server's state of one of this device's own records, rebuilt from the copy the
    /// device last had and the changes it pushed since (see `PullQuery::own_digests`), or
    /// `None` when the rebuild does not match the server's digest (someone else changed it,
    /// a change was purged here, ...): then the device asks for it in full.
    pub fn own_version(&self, tx: &Connection, own: &OwnRecord) -> Result<Option<Record>> {
        let (Some(actor), Some(refs)) = (self.actor.as_ref(), self.refs.as_ref()) else { return Ok(None) };
        let base = records::get(tx, own.id)?.and_then(|(_, server)| server);
        let after = base.as_ref().and_then(|b| b.seq).unwrap_or(0);
        let mut current = base.map(|record| StoredRecord { record, clocks: BTreeMap::new() });
        for op in outbox::accepted_through(tx, own.id, after, own.seq)? {
            match merge::apply_op(current.as_ref(), &op, &op.hlc, &actor.actor(), refs, own.updated_at) {
                Ok(next) => current = Some(StoredRecord { record: next.record, clocks: BTreeMap::new() }),
                Err(_) => return Ok(None),
            }
        }
        let Some(StoredRecord { mut record, .. }) = current else { return Ok(None) };
        record.seq = Some(own.seq);
        record.updated_at = own.updated_at;
        Ok((record_digest(&record) == own.digest).then_some(record))
    }

    /// Store the server's state of one record, with pending ops on top; note who changed
    /// what for the record's history.
    pub fn apply_server_record(&self, tx: &Connection, server: Record) -> Result<()> {
        let previous = records::get(tx, server.id)?;
        let shown = self.with_pending(tx, server.clone())?;
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
            let me = self.actor.as_ref().map(|a| a.user_id.as_str());
            let actor = if me != Some(server.updated_by.as_str()) { server.updated_by.clone() } else { String::new() };
            let change = records::ServerChange { seq: server.seq.unwrap_or_default(), at: server.updated_at, actor, fields };
            records::add_server_change(tx, server.id, &change)?;
        }
        records::save_from_server(tx, &shown, &server)
    }
}
