//! The audit trail in SQLite: appended on the writer (so the chain head cannot race), never
//! updated or deleted (triggers refuse it).

use super::{SqliteStorage, corrupt, from_sql_int, to_sql_int, ts};
use crate::domain::audit::{GENESIS, Link, entry_hash};
use crate::storage::{AuditCursor, AuditEntry, AuditQuery, AuditStore, NewAudit, Result};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

/// Append `entry` after the chain's head, on a connection inside a write transaction.
pub(crate) fn append(conn: &Connection, entry: &NewAudit) -> Result<u64> {
    let head: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (last, prev) = head.unwrap_or((0, GENESIS.to_owned()));
    let seq = from_sql_int(last, "audit_log.seq")? + 1;
    let at = ts(entry.at);
    let detail = entry.detail.to_string();
    let link =
        Link { seq, at: &at, actor: &entry.actor, action: &entry.action, target: entry.target.as_deref(), detail: &detail };
    let hash = entry_hash(&prev, &link);
    conn.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![to_sql_int(seq, "audit_log.seq")?, at, entry.actor, entry.action, entry.target, detail, prev, hash])?;
    Ok(seq)
}

#[async_trait]
impl AuditStore for SqliteStorage {
    async fn append_audit(&self, entry: NewAudit) -> Result<u64> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let seq = append(&tx, &entry)?;
            tx.commit()?;
            Ok(seq)
        })
        .await
    }

    async fn audit_page(&self, after: u64, limit: u32, target: Option<&str>) -> Result<Vec<AuditEntry>> {
        let target = target.map(str::to_owned);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log
                 WHERE seq > ?1 AND (?3 IS NULL OR target = ?3) ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![to_sql_int(after, "after")?, i64::from(limit), target], row)?;
            collect(rows)
        })
        .await
    }

    async fn audit_find(&self, query: AuditQuery) -> Result<Vec<AuditEntry>> {
        self.read(move |conn| {
            // Keyset paging: a range of seq (the primary key), walked from one end.
            let (above, below, sql) = match query.cursor {
                AuditCursor::After(after) => (to_sql_int(after, "after")?, i64::MAX, FIND_OLDEST_FIRST),
                AuditCursor::Before(before) => {
                    (0, before.map(|b| to_sql_int(b, "before")).transpose()?.unwrap_or(i64::MAX), FIND_NEWEST_FIRST)
                }
            };
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![above, below, query.action, query.target, i64::from(query.limit)], row)?;
            collect(rows)
        })
        .await
    }
}

const FIND_OLDEST_FIRST: &str = "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log
     WHERE seq > ?1 AND seq < ?2 AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR target = ?4)
     ORDER BY seq LIMIT ?5";
const FIND_NEWEST_FIRST: &str = "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log
     WHERE seq > ?1 AND seq < ?2 AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR target = ?4)
     ORDER BY seq DESC LIMIT ?5";

type RawEntry = (i64, String, String, String, Option<String>, String, String, String);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

fn collect(rows: impl Iterator<Item = rusqlite::Result<RawEntry>>) -> Result<Vec<AuditEntry>> {
    let mut out = Vec::new();
    for r in rows {
        let (seq, at, actor, action, target, detail, prev_hash, hash) = r?;
        if seq < 1 {
            return Err(corrupt("audit_log.seq"));
        }
        out.push(AuditEntry { seq: from_sql_int(seq, "audit_log.seq")?, at, actor, action, target, detail, prev_hash, hash });
    }
    Ok(out)
}
