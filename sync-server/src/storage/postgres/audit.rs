//! The audit trail in PostgreSQL: appended under the writer lock (so the chain head cannot
//! race, not even between server processes), never updated or deleted (triggers refuse it).

use super::{PgStorage, corrupt, from_sql_int, to_sql_int, ts};
use crate::domain::audit::{GENESIS, Link, entry_hash};
use crate::storage::{AuditCursor, AuditEntry, AuditQuery, AuditStore, NewAudit, Result};
use async_trait::async_trait;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// Append `entry` after the chain's head, inside a transaction that holds the writer lock.
pub(crate) async fn append(client: &impl tokio_postgres::GenericClient, entry: &NewAudit) -> Result<u64> {
    let head = client.query_opt("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &[]).await?;
    let (last, prev) = match head {
        Some(r) => (from_sql_int(r.try_get(0)?, "audit_log.seq")?, r.try_get::<_, String>(1)?),
        None => (0, GENESIS.to_owned()),
    };
    let seq = last + 1;
    let at = ts(entry.at);
    let detail = entry.detail.to_string();
    let link =
        Link { seq, at: &at, actor: &entry.actor, action: &entry.action, target: entry.target.as_deref(), detail: &detail };
    let hash = entry_hash(&prev, &link);
    client
        .execute(
            "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&to_sql_int(seq, "audit_log.seq")?, &at, &entry.actor, &entry.action, &entry.target, &detail, &prev, &hash],
        )
        .await?;
    Ok(seq)
}

const SELECT: &str = "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log";

/// Keyset paging: a range of seq (the primary key), walked from one end. Parameters: $1 the
/// seq above which, $2 below which, $3 the limit, then the action and the target when
/// given. Each filter's presence picks its own statement (fixed fragments), so that the
/// planner sees `action = $n` (the index `audit_log_action`) or `target = $n`
/// (`audit_log_target`) instead of an `IS NULL OR` it cannot plan for.
fn find_sql(oldest_first: bool, action: bool, target: bool) -> String {
    let mut sql = format!("{SELECT} WHERE seq > $1 AND seq < $2");
    let mut n = 3;
    if action {
        n += 1;
        sql.push_str(&format!(" AND action = ${n}"));
    }
    if target {
        n += 1;
        sql.push_str(&format!(" AND target = ${n}"));
    }
    sql.push_str(if oldest_first { FIND_OLDEST_FIRST } else { FIND_NEWEST_FIRST });
    sql
}

const FIND_OLDEST_FIRST: &str = " ORDER BY seq LIMIT $3";
const FIND_NEWEST_FIRST: &str = " ORDER BY seq DESC LIMIT $3";

fn entry_from(r: &Row) -> Result<AuditEntry> {
    let seq: i64 = r.try_get(0)?;
    if seq < 1 {
        return Err(corrupt("audit_log.seq"));
    }
    Ok(AuditEntry {
        seq: from_sql_int(seq, "audit_log.seq")?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        detail: r.try_get(5)?,
        prev_hash: r.try_get(6)?,
        hash: r.try_get(7)?,
    })
}

impl PgStorage {
    async fn audit_query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<AuditEntry>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(sql).await?;
        c.query(&stmt, params).await?.iter().map(entry_from).collect()
    }
}

#[async_trait]
impl AuditStore for PgStorage {
    async fn append_audit(&self, entry: NewAudit) -> Result<u64> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        super::lock_writer(&*tx).await?;
        let seq = append(&*tx, &entry).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn audit_page(&self, after: u64, limit: u32, target: Option<&str>) -> Result<Vec<AuditEntry>> {
        let after = to_sql_int(after, "after")?;
        let limit = i64::from(limit);
        match target {
            None => self.audit_query(&format!("{SELECT} WHERE seq > $1 ORDER BY seq LIMIT $2"), &[&after, &limit]).await,
            Some(target) => {
                let sql = format!("{SELECT} WHERE seq > $1 AND target = $3 ORDER BY seq LIMIT $2");
                self.audit_query(&sql, &[&after, &limit, &target]).await
            }
        }
    }

    async fn audit_find(&self, query: AuditQuery) -> Result<Vec<AuditEntry>> {
        let (above, below, oldest_first) = match query.cursor {
            AuditCursor::After(after) => (to_sql_int(after, "after")?, i64::MAX, true),
            AuditCursor::Before(before) => (0, before.map(|b| to_sql_int(b, "before")).transpose()?.unwrap_or(i64::MAX), false),
        };
        let limit = i64::from(query.limit);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&above, &below, &limit];
        if let Some(action) = &query.action {
            params.push(action);
        }
        if let Some(target) = &query.target {
            params.push(target);
        }
        let sql = find_sql(oldest_first, query.action.is_some(), query.target.is_some());
        self.audit_query(&sql, &params).await
    }
}
