//! The outbox: every local change as a protocol op, in order. Pending ops are pushed;
//! accepted ones stay as local history; rejected ones stay visible with the server's
//! reason until the user discards them. Nothing here is ever dropped silently.

use crate::error::{Result, corrupt};
use crate::hlc::Hlc;
use crate::model::RecordKind;
use crate::protocol::{Op, OpAction, RejectReason, Rejection};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

pub(crate) use crate::time::format_ts as ts;

/// A stored timestamp; one that does not parse is a corrupt row, never a default.
pub(crate) fn parse_ts(s: &str, what: &str) -> Result<DateTime<Utc>> {
    crate::time::parse_ts(s).ok_or_else(|| corrupt(what))
}

fn parse_uuid(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| corrupt(what))
}

/// A change the server refused, as the device shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RejectedChange {
    pub op_id: Uuid,
    pub record_id: Uuid,
    pub kind: RecordKind,
    /// true for a rejected create: the record never reached the server.
    pub is_create: bool,
    pub reason: RejectReason,
    pub field: Option<String>,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub rejected_at: DateTime<Utc>,
}

pub fn enqueue(conn: &Connection, op: &Op, kind: RecordKind, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox(op_id, record_id, kind, op, state, created_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
    )?
    .execute(params![op.op_id.to_string(), op.record_id.to_string(), kind.as_str(), serde_json::to_string(op)?, ts(now)])?;
    Ok(())
}

pub fn pending_count(conn: &Connection) -> Result<u64> {
    Ok(conn.prepare_cached("SELECT count(*) FROM outbox WHERE state = 'pending'")?.query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// The oldest pending ops, in the order they were made, after the op at `after` (a
/// `local_seq`; 0 for all), each with its `local_seq`: the push reads the next batch while
/// the last is in flight.
pub fn next_batch_after(conn: &Connection, after: i64, limit: usize) -> Result<Vec<(i64, Op)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT local_seq, op FROM outbox WHERE state = 'pending' AND local_seq > ?1 ORDER BY local_seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    rows.map(|r| {
        let (seq, op) = r?;
        Ok((seq, serde_json::from_str(&op)?))
    })
    .collect()
}

pub fn pending_for_record(conn: &Connection, record_id: Uuid) -> Result<Vec<Op>> {
    let mut stmt = conn.prepare_cached("SELECT op FROM outbox WHERE record_id = ?1 AND state = 'pending' ORDER BY local_seq")?;
    let rows = stmt.query_map([record_id.to_string()], |r| r.get::<_, String>(0))?;
    rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
}

/// This device's ops on a record that the server accepted into versions after `seq`.
pub fn accepted_after(conn: &Connection, record_id: Uuid, seq: u64) -> Result<Vec<Op>> {
    let mut stmt = conn.prepare_cached(
        "SELECT op FROM outbox WHERE record_id = ?1 AND state = 'accepted' AND server_seq > ?2 ORDER BY local_seq",
    )?;
    let rows = stmt.query_map(params![record_id.to_string(), seq as i64], |r| r.get::<_, String>(0))?;
    rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
}

/// This device's changes of a record the server accepted with a seq in `(after, upto]`, in
/// the order the server applied them.
pub fn accepted_through(conn: &Connection, record_id: Uuid, after: u64, upto: u64) -> Result<Vec<Op>> {
    let mut stmt = conn.prepare_cached(
        "SELECT op FROM outbox WHERE record_id = ?1 AND state = 'accepted' AND server_seq > ?2 AND server_seq <= ?3
         ORDER BY server_seq",
    )?;
    let (after, upto) = (i64::try_from(after).unwrap_or(i64::MAX), i64::try_from(upto).unwrap_or(i64::MAX));
    let rows = stmt.query_map(params![record_id.to_string(), after, upto], |r| r.get::<_, String>(0))?;
    rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
}

/// The server lost everything above `seq` (it was restored from a backup): the changes it
/// had accepted with a higher seq are pending again, to be pushed again (the server knows
/// their op ids no more). How many.
pub fn requeue_after(conn: &Connection, seq: u64) -> Result<u64> {
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'pending', server_seq = NULL, done_at = NULL, attempts = 0
             WHERE state = 'accepted' AND server_seq > ?1",
        )?
        .execute([seq])?;
    Ok(n as u64)
}

pub fn mark_attempted(conn: &Connection, op_ids: &[Uuid]) -> Result<()> {
    let mut stmt = conn.prepare_cached("UPDATE outbox SET attempts = attempts + 1 WHERE op_id = ?1")?;
    for id in op_ids {
        stmt.execute([id.to_string()])?;
    }
    Ok(())
}

pub fn mark_accepted(conn: &Connection, op_id: Uuid, seq: Option<u64>, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'accepted', server_seq = ?2, done_at = ?3 WHERE op_id = ?1 AND state = 'pending'",
    )?
    .execute(params![op_id.to_string(), seq.map(|s| s as i64), ts(now)])?;
    Ok(())
}

pub fn mark_rejected(conn: &Connection, op_id: Uuid, rejection: &Rejection, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'rejected', reason = ?2, field = ?3, message = ?4, done_at = ?5
         WHERE op_id = ?1 AND state = 'pending'",
    )?
    .execute(params![op_id.to_string(), rejection.reason.as_str(), rejection.field, rejection.message, ts(now)])?;
    Ok(())
}

pub fn record_of(conn: &Connection, op_id: Uuid) -> Result<Option<Uuid>> {
    let id: Option<String> = conn
        .prepare_cached("SELECT record_id FROM outbox WHERE op_id = ?1")?
        .query_row([op_id.to_string()], |r| r.get(0))
        .optional()?;
    id.map(|s| parse_uuid(&s, "outbox.record_id")).transpose()
}

/// Does anything of this record still wait or need the user's attention?
pub fn open_for_record(conn: &Connection, record_id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM outbox WHERE record_id = ?1 AND state IN ('pending', 'rejected'))")?
        .query_row([record_id.to_string()], |r| r.get(0))?)
}

/// The user has seen a rejection and lets it go. Returns false if there was none.
pub fn discard(conn: &Connection, op_id: Uuid) -> Result<bool> {
    let n = conn
        .prepare_cached("UPDATE outbox SET state = 'discarded' WHERE op_id = ?1 AND state = 'rejected'")?
        .execute([op_id.to_string()])?;
    Ok(n == 1)
}

pub fn rejected(conn: &Connection) -> Result<Vec<RejectedChange>> {
    let mut stmt = conn.prepare_cached(
        "SELECT op_id, record_id, kind, op, reason, field, message, created_at, done_at
         FROM outbox WHERE state = 'rejected' ORDER BY local_seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, Option<String>>(8)?,
        ))
    })?;
    rows.map(|row| {
        let (op_id, record_id, kind, op, reason, field, message, created, done) = row?;
        let op: Op = serde_json::from_str(&op)?;
        Ok(RejectedChange {
            op_id: parse_uuid(&op_id, "outbox.op_id")?,
            record_id: parse_uuid(&record_id, "outbox.record_id")?,
            kind: RecordKind::parse(&kind).ok_or_else(|| corrupt("outbox.kind"))?,
            is_create: matches!(op.action, OpAction::Create(_)),
            reason: reason.as_deref().and_then(RejectReason::parse).ok_or_else(|| corrupt("outbox.reason"))?,
            field,
            message: message.unwrap_or_default(),
            created_at: parse_ts(&created, "outbox.created_at")?,
            rejected_at: parse_ts(done.as_deref().unwrap_or(""), "outbox.done_at")?,
        })
    })
    .collect()
}

/// The latest clock this device has stamped, to restart its HLC above it.
pub fn max_hlc(conn: &Connection) -> Result<Option<Hlc>> {
    let op: Option<String> =
        conn.query_row("SELECT op FROM outbox ORDER BY local_seq DESC LIMIT 1", [], |r| r.get(0)).optional()?;
    op.map(|s| Ok(serde_json::from_str::<Op>(&s)?.hlc)).transpose()
}

/// One local change of a record, for its history.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalChange {
    pub op_id: Uuid,
    pub op: Op,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub reason: Option<RejectReason>,
    pub message: Option<String>,
}

pub fn for_record(conn: &Connection, record_id: Uuid) -> Result<Vec<LocalChange>> {
    let mut stmt = conn.prepare_cached(
        "SELECT op_id, op, state, created_at, reason, message FROM outbox WHERE record_id = ?1 ORDER BY local_seq",
    )?;
    let rows = stmt.query_map([record_id.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    rows.map(|row| {
        let (op_id, op, state, created, reason, message) = row?;
        let reason = match reason.as_deref() {
            Some(r) => Some(RejectReason::parse(r).ok_or_else(|| corrupt("outbox.reason"))?),
            None => None,
        };
        Ok(LocalChange {
            op_id: parse_uuid(&op_id, "outbox.op_id")?,
            op: serde_json::from_str(&op)?,
            state,
            created_at: parse_ts(&created, "outbox.created_at")?,
            reason,
            message,
        })
    })
    .collect()
}
