//! Records as the device holds them, and the queries a phone screen needs.

use super::outbox::{parse_ts, ts};
use crate::error::Result;
use crate::model::{Record, RecordKind, Status};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use uuid::Uuid;

/// Where a record stands with the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// Local changes wait to be pushed.
    Pending,
    /// The server holds everything this device changed.
    Synced,
    /// The server refused a change; see the rejected list.
    Rejected,
}

impl SyncState {
    pub fn label_zh(self) -> &'static str {
        match self {
            SyncState::Pending => "待同步",
            SyncState::Synced => "已同步",
            SyncState::Rejected => "被退回",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LocalRecord {
    pub record: Record,
    pub sync_state: SyncState,
}

/// Filters of the record lists. `author` = Some(me) for "my records".
#[derive(Clone, Debug, Default)]
pub struct RecordQuery {
    pub kind: Option<RecordKind>,
    pub status: Option<Status>,
    pub author: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
    pub offset: u32,
}

/// The category and position a duplicate hint looks up ([`super::nearby`]): reports and
/// cases only.
fn place_of(rec: &Record) -> (Option<&str>, Option<f64>, Option<f64>) {
    match &rec.body {
        crate::model::RecordBody::Report(r) => (Some(&r.category), Some(rec.location.lat), Some(rec.location.lon)),
        crate::model::RecordBody::Case(c) => (Some(&c.category), Some(rec.location.lat), Some(rec.location.lon)),
        _ => (None, None, None),
    }
}

/// The 小蓝棚 a notice or service log inspected (the index of [`stall_inspections`]).
fn stall_of(rec: &Record) -> Option<&str> {
    match &rec.body {
        crate::model::RecordBody::Notice(n) => n.stall.as_deref(),
        crate::model::RecordBody::ServiceLog(l) => l.stall.as_deref(),
        _ => None,
    }
}

/// The inspections of stall `code` this device holds (notices and service logs), newest
/// first.
pub fn stall_inspections(conn: &Connection, code: &str) -> Result<Vec<LocalRecord>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_LOCAL} WHERE stall = ?1 ORDER BY created_at DESC, id"))?;
    let rows = stmt.query_map([code], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    rows.map(|row| {
        let (doc, p, rj) = row?;
        Ok(LocalRecord { record: serde_json::from_str(&doc)?, sync_state: sync_state(p, rj) })
    })
    .collect()
}

/// The record a case was opened from (the index of [`case_of`]).
fn source_of(rec: &Record) -> Option<String> {
    match &rec.body {
        crate::model::RecordBody::Case(c) => c.source.record().map(|id| id.to_string()),
        _ => None,
    }
}

pub fn insert_local(conn: &Connection, rec: &Record) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO records(id, kind, author, status, grid, created_at, updated_at, doc, source_id, category, lat, lon, stall)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        rec.id.to_string(),
        rec.kind().as_str(),
        rec.author,
        rec.status.as_str(),
        rec.org.grid,
        ts(rec.created_at),
        ts(rec.updated_at),
        serde_json::to_string(rec)?,
        source_of(rec),
        place_of(rec).0,
        place_of(rec).1,
        place_of(rec).2,
        stall_of(rec),
    ])?;
    Ok(())
}

/// Every case opened from record `id` (a service log opens one per complaint), oldest first.
pub fn cases_from(conn: &Connection, id: Uuid) -> Result<Vec<LocalRecord>> {
    let mut stmt =
        conn.prepare_cached(&format!("{SELECT_LOCAL} WHERE source_id = ?1 AND kind = 'case' ORDER BY created_at, id"))?;
    let rows = stmt.query_map([id.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    rows.map(|row| {
        let (doc, p, rj) = row?;
        Ok(LocalRecord { record: serde_json::from_str(&doc)?, sync_state: sync_state(p, rj) })
    })
    .collect()
}

/// The case opened from record `id`, if this device holds one.
pub fn case_of(conn: &Connection, id: Uuid) -> Result<Option<LocalRecord>> {
    let row: Option<(String, bool, bool)> = conn
        .prepare_cached(&format!("{SELECT_LOCAL} WHERE source_id = ?1 AND kind = 'case' ORDER BY created_at DESC LIMIT 1"))?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(doc, p, rj)| Ok(LocalRecord { record: serde_json::from_str(&doc)?, sync_state: sync_state(p, rj) })).transpose()
}

/// The server no longer shows this record to this device: gone, or (while something of
/// it still waits here) marked to go once nothing does.
pub fn depart(conn: &Connection, id: Uuid, keep: bool) -> Result<()> {
    if keep {
        conn.prepare_cached("UPDATE records SET departed = 1 WHERE id = ?1")?.execute([id.to_string()])?;
        Ok(())
    } else {
        delete(conn, id)
    }
}

/// Was this record taken away by the server?
pub fn departed(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT departed FROM records WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Replace what the device shows for a record after a local change.
pub fn save_shown(conn: &Connection, rec: &Record) -> Result<()> {
    let (category, lat, lon) = place_of(rec);
    conn.prepare_cached(
        "UPDATE records SET status = ?2, updated_at = ?3, doc = ?4, category = ?5, lat = ?6, lon = ?7 WHERE id = ?1",
    )?
    .execute(params![
        rec.id.to_string(),
        rec.status.as_str(),
        ts(rec.updated_at),
        serde_json::to_string(rec)?,
        category,
        lat,
        lon
    ])?;
    Ok(())
}

/// Store the server's state of a record and what to show (the server's state with pending
/// local ops on top).
pub fn save_from_server(conn: &Connection, shown: &Record, server: &Record) -> Result<()> {
    // Mostly nothing is pending on top of the server's copy: one serialisation for both.
    let server_doc = serde_json::to_string(server)?;
    let doc = if shown == server { server_doc.clone() } else { serde_json::to_string(shown)? };
    conn.prepare_cached(
        "INSERT INTO records(id, kind, author, status, grid, created_at, updated_at, doc, server_doc, seq, source_id,
                             category, lat, lon, stall)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
            grid = excluded.grid, doc = excluded.doc, server_doc = excluded.server_doc, seq = excluded.seq,
            source_id = excluded.source_id, departed = 0,
            category = excluded.category, lat = excluded.lat, lon = excluded.lon, stall = excluded.stall",
    )?
    .execute(params![
        shown.id.to_string(),
        shown.kind().as_str(),
        shown.author,
        shown.status.as_str(),
        shown.org.grid,
        ts(shown.created_at),
        ts(shown.updated_at),
        doc,
        server_doc,
        server.seq.map(|s| s as i64),
        source_of(server),
        place_of(shown).0,
        place_of(shown).1,
        place_of(shown).2,
        stall_of(shown),
    ])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: Uuid) -> Result<()> {
    conn.prepare_cached("DELETE FROM records WHERE id = ?1")?.execute([id.to_string()])?;
    conn.prepare_cached("DELETE FROM server_history WHERE record_id = ?1")?.execute([id.to_string()])?;
    Ok(())
}

/// What the device shows and the server's last state, if any.
pub fn get(conn: &Connection, id: Uuid) -> Result<Option<(Record, Option<Record>)>> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT doc, server_doc FROM records WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(doc, server)| Ok((serde_json::from_str(&doc)?, server.map(|s| serde_json::from_str(&s)).transpose()?))).transpose()
}

pub(super) fn sync_state(pending: bool, rejected: bool) -> SyncState {
    match (rejected, pending) {
        (true, _) => SyncState::Rejected,
        (false, true) => SyncState::Pending,
        (false, false) => SyncState::Synced,
    }
}

/// A record as shown, with whether it has pending and rejected ops (its sync state).
const SELECT_LOCAL: &str = "SELECT doc,
    EXISTS(SELECT 1 FROM outbox o WHERE o.record_id = r.id AND o.state = 'pending'),
    EXISTS(SELECT 1 FROM outbox o WHERE o.record_id = r.id AND o.state = 'rejected')
    FROM records r";

pub fn get_local(conn: &Connection, id: Uuid) -> Result<Option<LocalRecord>> {
    let row: Option<(String, bool, bool)> = conn
        .prepare_cached(&format!("{SELECT_LOCAL} WHERE id = ?1"))?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(doc, p, rj)| Ok(LocalRecord { record: serde_json::from_str(&doc)?, sync_state: sync_state(p, rj) })).transpose()
}

/// Records matching `q`, newest first.
pub fn list(conn: &Connection, q: &RecordQuery) -> Result<Vec<LocalRecord>> {
    let mut sql = format!("{SELECT_LOCAL} WHERE 1 = 1");
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(a) = &q.author {
        args.push(Box::new(a.clone()));
        sql.push_str(&format!(" AND author = ?{}", args.len()));
    }
    if let Some(k) = q.kind {
        args.push(Box::new(k.as_str()));
        sql.push_str(&format!(" AND kind = ?{}", args.len()));
    }
    if let Some(s) = q.status {
        args.push(Box::new(s.as_str()));
        sql.push_str(&format!(" AND status = ?{}", args.len()));
    }
    if let Some(t) = q.created_from {
        args.push(Box::new(ts(t)));
        sql.push_str(&format!(" AND created_at >= ?{}", args.len()));
    }
    if let Some(t) = q.created_before {
        args.push(Box::new(ts(t)));
        sql.push_str(&format!(" AND created_at < ?{}", args.len()));
    }
    args.push(Box::new(q.limit.unwrap_or(100).min(1000) as i64));
    sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT ?{}", args.len()));
    args.push(Box::new(q.offset as i64));
    sql.push_str(&format!(" OFFSET ?{}", args.len()));
    let mut stmt = conn.prepare_cached(&sql)?;
    let params: Vec<&dyn ToSql> = args.iter().map(|b| b.as_ref()).collect();
    let rows = stmt.query_map(params.as_slice(), |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    rows.map(|row| {
        let (doc, p, rj) = row?;
        Ok(LocalRecord { record: serde_json::from_str(&doc)?, sync_state: sync_state(p, rj) })
    })
    .collect()
}

pub fn count(conn: &Connection) -> Result<u64> {
    Ok(conn.prepare_cached("SELECT count(*) FROM records")?.query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// A change that came from the server, for a record's history.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerChange {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub fields: Vec<String>,
}

pub fn add_server_change(conn: &Connection, record_id: Uuid, change: &ServerChange) -> Result<()> {
    conn.prepare_cached("INSERT INTO server_history(record_id, seq, at, actor, fields) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(
        params![record_id.to_string(), change.seq as i64, ts(change.at), change.actor, serde_json::to_string(&change.fields)?],
    )?;
    Ok(())
}

pub fn server_changes(conn: &Connection, record_id: Uuid) -> Result<Vec<ServerChange>> {
    let mut stmt = conn.prepare_cached("SELECT seq, at, actor, fields FROM server_history WHERE record_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([record_id.to_string()], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?;
    rows.map(|row| {
        let (seq, at, actor, fields) = row?;
        let seq = u64::try_from(seq).map_err(|_| crate::error::corrupt("server_history.seq"))?;
        Ok(ServerChange { seq, at: parse_ts(&at, "server_history.at")?, actor, fields: serde_json::from_str(&fields)? })
    })
    .collect()
}
