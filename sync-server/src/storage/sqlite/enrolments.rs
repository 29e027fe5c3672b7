//! Enrolment codes in SQLite.

use super::{SqliteStorage, parse_ts, ts};
use crate::storage::Result;
use crate::storage::enrolments::{EnrolmentRow, EnrolmentStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

const COLS: &str = "code_hash, user_id, created_by, created_at, expires_at, used_at, used_by_device";

type Tuple = (String, String, String, String, String, Option<String>, Option<String>);

fn tuple(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tuple> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn row_from(t: Tuple) -> Result<EnrolmentRow> {
    let (code_hash, user_id, created_by, created_at, expires_at, used_at, used_by_device) = t;
    Ok(EnrolmentRow {
        code_hash,
        user_id,
        created_by,
        created_at: parse_ts(&created_at, "enrolments.created_at")?,
        expires_at: parse_ts(&expires_at, "enrolments.expires_at")?,
        used_at: used_at.map(|t| parse_ts(&t, "enrolments.used_at")).transpose()?,
        used_by_device,
    })
}

fn get(conn: &rusqlite::Connection, code_hash: &str) -> Result<Option<EnrolmentRow>> {
    let sql = format!("SELECT {COLS} FROM enrolments WHERE code_hash = ?1");
    conn.prepare_cached(&sql)?.query_row([code_hash], tuple).optional()?.map(row_from).transpose()
}

#[async_trait]
impl EnrolmentStore for SqliteStorage {
    async fn insert_enrolment(&self, e: EnrolmentRow) -> Result<()> {
        self.write(move |conn| {
            let sql = format!("INSERT INTO enrolments ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            conn.prepare_cached(&sql)?.execute(params![
                e.code_hash,
                e.user_id,
                e.created_by,
                ts(e.created_at),
                ts(e.expires_at),
                e.used_at.map(ts),
                e.used_by_device,
            ])?;
            Ok(())
        })
        .await
    }

    async fn use_enrolment(&self, code_hash: &str, device_id: &str, at: DateTime<Utc>) -> Result<Option<EnrolmentRow>> {
        let (code_hash, device_id) = (code_hash.to_owned(), device_id.to_owned());
        self.write(move |conn| {
            // Timestamps are fixed-width RFC 3339 (milliseconds, `Z`): text order is time order.
            let used = conn
                .prepare_cached(
                    "UPDATE enrolments SET used_at = ?2, used_by_device = ?3 \
                     WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                )?
                .execute(params![code_hash, ts(at), device_id])?;
            if used == 0 { Ok(None) } else { get(conn, &code_hash) }
        })
        .await
    }

    async fn enrolment(&self, code_hash: &str) -> Result<Option<EnrolmentRow>> {
        let code_hash = code_hash.to_owned();
        self.read(move |conn| get(conn, &code_hash)).await
    }

    async fn live_enrolments(&self, user_id: &str, at: DateTime<Utc>) -> Result<Vec<EnrolmentRow>> {
        let user_id = user_id.to_owned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {COLS} FROM enrolments WHERE user_id = ?1 AND used_at IS NULL AND expires_at > ?2 \
                 ORDER BY created_at, code_hash"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![user_id, ts(at)], tuple)?;
            rows.map(|r| row_from(r?)).collect()
        })
        .await
    }

    async fn purge_enrolments(&self, before: DateTime<Utc>) -> Result<u64> {
        self.write(move |conn| {
            let n = conn.prepare_cached("DELETE FROM enrolments WHERE expires_at < ?1")?.execute([ts(before)])?;
            Ok(n as u64)
        })
        .await
    }
}
