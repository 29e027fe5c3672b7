//! Enrolment codes in PostgreSQL. A code is used by one `UPDATE … RETURNING`: of two
//! concurrent uses (from any server process) exactly one finds it unused.

use super::{PgStorage, parse_ts, ts};
use crate::storage::Result;
use crate::storage::enrolments::{EnrolmentRow, EnrolmentStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;

fn row_from(r: &Row) -> Result<EnrolmentRow> {
    let created_at: String = r.try_get(3)?;
    let expires_at: String = r.try_get(4)?;
    let used_at: Option<String> = r.try_get(5)?;
    Ok(EnrolmentRow {
        code_hash: r.try_get(0)?,
        user_id: r.try_get(1)?,
        created_by: r.try_get(2)?,
        created_at: parse_ts(&created_at, "enrolments.created_at")?,
        expires_at: parse_ts(&expires_at, "enrolments.expires_at")?,
        used_at: used_at.map(|t| parse_ts(&t, "enrolments.used_at")).transpose()?,
        used_by_device: r.try_get(6)?,
    })
}

#[async_trait]
impl EnrolmentStore for PgStorage {
    async fn insert_enrolment(&self, e: EnrolmentRow) -> Result<()> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO enrolments (code_hash, user_id, created_by, created_at, expires_at, used_at, used_by_device)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        c.execute(
            &stmt,
            &[
                &e.code_hash,
                &e.user_id,
                &e.created_by,
                &ts(e.created_at),
                &ts(e.expires_at),
                &e.used_at.map(ts),
                &e.used_by_device,
            ],
        )
        .await?;
        Ok(())
    }

    async fn use_enrolment(&self, code_hash: &str, device_id: &str, at: DateTime<Utc>) -> Result<Option<EnrolmentRow>> {
        let c = self.client().await?;
        // Timestamps are fixed-width RFC 3339 (milliseconds, `Z`): text order is time order.
        // A concurrent use waits for the row, then re-checks `used_at IS NULL` and loses.
        let stmt = c
            .prepare_cached(
                "UPDATE enrolments SET used_at = $2, used_by_device = $3
                 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING code_hash, user_id, created_by, created_at, expires_at, used_at, used_by_device",
            )
            .await?;
        c.query_opt(&stmt, &[&code_hash, &ts(at), &device_id]).await?.as_ref().map(row_from).transpose()
    }

    async fn enrolment(&self, code_hash: &str) -> Result<Option<EnrolmentRow>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT code_hash, user_id, created_by, created_at, expires_at, used_at, used_by_device
                 FROM enrolments WHERE code_hash = $1",
            )
            .await?;
        c.query_opt(&stmt, &[&code_hash]).await?.as_ref().map(row_from).transpose()
    }

    async fn live_enrolments(&self, user_id: &str, at: DateTime<Utc>) -> Result<Vec<EnrolmentRow>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT code_hash, user_id, created_by, created_at, expires_at, used_at, used_by_device
                 FROM enrolments WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2
                 ORDER BY created_at, code_hash",
            )
            .await?;
        c.query(&stmt, &[&user_id, &ts(at)]).await?.iter().map(row_from).collect()
    }

    async fn purge_enrolments(&self, before: DateTime<Utc>) -> Result<u64> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("DELETE FROM enrolments WHERE expires_at < $1").await?;
        Ok(c.execute(&stmt, &[&ts(before)]).await?)
    }
}
