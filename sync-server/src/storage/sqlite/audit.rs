//! The audit trail in SQLite: appended on the writer (so the chain head cannot race), never
//! updated or deleted (triggers refuse it).

use super::{SqliteStorage, corrupt, from_sql_int, to_sql_int, ts};
use crate::domain::audit::{GENESIS, Link, entry_hash};
use crate::storage::{AuditEntry, AuditStore, NewAudit, Result};
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
            let rows = stmt.query_map(params![to_sql_int(after, "after")?, i64::from(limit), target], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, at, actor, action, target, detail, prev_hash, hash) = row?;
                if seq < 1 {
                    return Err(corrupt("audit_log.seq"));
                }
                out.push(AuditEntry {
                    seq: from_sql_int(seq, "audit_log.seq")?,
                    at,
                    actor,
                    action,
                    target,
                    detail,
                    prev_hash,
                    hash,
                });
            }
            Ok(out)
        })
        .await
    }
}
