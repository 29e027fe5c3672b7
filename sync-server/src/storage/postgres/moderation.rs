//! Moderation (hidden records, redacted public photos, their history) in PostgreSQL. Each
//! change and its event are written in one transaction; replacing a redaction (which reads
//! the one it replaces first) holds the writer lock.

use super::{PgStorage, corrupt, from_sql_int, lock_writer, parse_ts, ts};
use crate::storage::Result;
use crate::storage::moderation::{HiddenRecord, ModerationAction, ModerationEvent, ModerationStore, Redaction, Region};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use tokio_postgres::Row;
use uuid::Uuid;

struct NewEvent<'a> {
    record_id: Uuid,
    at: DateTime<Utc>,
    actor: &'a str,
    action: ModerationAction,
    photo: Option<&'a str>,
    regions: u32,
    reason: Option<&'a str>,
}

async fn add_event(tx: &deadpool_postgres::Transaction<'_>, e: NewEvent<'_>) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO moderation_events (record_id, at, actor, action, photo, regions, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[&e.record_id.to_string(), &ts(e.at), &e.actor, &e.action.as_str(), &e.photo, &i64::from(e.regions), &e.reason],
    )
    .await?;
    Ok(())
}

const REDACTION_COLS: &str = "record_id, photo, redacted, regions, redacted_by, redacted_at";

fn redaction_from(r: &Row) -> Result<Redaction> {
    let record_id: String = r.try_get(0)?;
    let regions: String = r.try_get(3)?;
    let at: String = r.try_get(5)?;
    Ok(Redaction {
        record_id: Uuid::parse_str(&record_id).map_err(|_| corrupt("moderation_redactions.record_id"))?,
        photo: r.try_get(1)?,
        redacted: r.try_get(2)?,
        regions: serde_json::from_str::<Vec<Region>>(&regions).map_err(|_| corrupt("moderation_redactions.regions"))?,
        by: r.try_get(4)?,
        at: parse_ts(&at, "moderation_redactions.redacted_at")?,
    })
}

#[async_trait]
impl ModerationStore for PgStorage {
    async fn hide(&self, h: HiddenRecord) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO moderation_hidden (record_id, reason, hidden_by, hidden_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (record_id) DO NOTHING",
            )
            .await?;
        let n = tx.execute(&stmt, &[&h.record_id.to_string(), &h.reason, &h.by, &ts(h.at)]).await?;
        if n == 0 {
            return Ok(false);
        }
        add_event(
            &tx,
            NewEvent {
                record_id: h.record_id,
                at: h.at,
                actor: &h.by,
                action: ModerationAction::Hide,
                photo: None,
                regions: 0,
                reason: Some(&h.reason),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn unhide(&self, record_id: Uuid, by: &str, at: DateTime<Utc>) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let stmt = tx.prepare_cached("DELETE FROM moderation_hidden WHERE record_id = $1").await?;
        let n = tx.execute(&stmt, &[&record_id.to_string()]).await?;
        if n == 0 {
            return Ok(false);
        }
        add_event(
            &tx,
            NewEvent { record_id, at, actor: by, action: ModerationAction::Unhide, photo: None, regions: 0, reason: None },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn hidden(&self, record_id: Uuid) -> Result<Option<HiddenRecord>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT reason, hidden_by, hidden_at FROM moderation_hidden WHERE record_id = $1").await?;
        let Some(row) = c.query_opt(&stmt, &[&record_id.to_string()]).await? else { return Ok(None) };
        let at: String = row.try_get(2)?;
        Ok(Some(HiddenRecord {
            record_id,
            reason: row.try_get(0)?,
            by: row.try_get(1)?,
            at: parse_ts(&at, "moderation_hidden.hidden_at")?,
        }))
    }

    async fn hidden_among(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT record_id FROM moderation_hidden WHERE record_id = ANY($1)").await?;
        let texts: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let rows = c.query(&stmt, &[&texts]).await?;
        let mut out = HashSet::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0)?;
            out.insert(Uuid::parse_str(&id).map_err(|_| corrupt("moderation_hidden.record_id"))?);
        }
        Ok(out)
    }

    async fn put_redaction(&self, r: Redaction) -> Result<Option<Redaction>> {
        let regions = serde_json::to_string(&r.regions).map_err(|_| corrupt("regions"))?;
        let count = u32::try_from(r.regions.len()).map_err(|_| corrupt("regions"))?;
        let record_id = r.record_id.to_string();
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        // The one replaced is read first: no other writer may change it in between.
        lock_writer(&*tx).await?;
        let select = tx
            .prepare_cached(&format!("SELECT {REDACTION_COLS} FROM moderation_redactions WHERE record_id = $1 AND photo = $2"))
            .await?;
        let before = tx.query_opt(&select, &[&record_id, &r.photo]).await?.as_ref().map(redaction_from).transpose()?;
        let upsert = tx
            .prepare_cached(&format!(
                "INSERT INTO moderation_redactions ({REDACTION_COLS}) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (record_id, photo) DO UPDATE SET redacted = excluded.redacted, regions = excluded.regions,
                     redacted_by = excluded.redacted_by, redacted_at = excluded.redacted_at"
            ))
            .await?;
        tx.execute(&upsert, &[&record_id, &r.photo, &r.redacted, &regions, &r.by, &ts(r.at)]).await?;
        add_event(
            &tx,
            NewEvent {
                record_id: r.record_id,
                at: r.at,
                actor: &r.by,
                action: ModerationAction::Redact,
                photo: Some(&r.photo),
                regions: count,
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(before)
    }

    async fn remove_redaction(&self, record_id: Uuid, photo: &str, by: &str, at: DateTime<Utc>) -> Result<Option<Redaction>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // One statement removes it and says what it was.
        let delete = tx
            .prepare_cached(&format!(
                "DELETE FROM moderation_redactions WHERE record_id = $1 AND photo = $2 RETURNING {REDACTION_COLS}"
            ))
            .await?;
        let Some(row) = tx.query_opt(&delete, &[&record_id.to_string(), &photo]).await? else { return Ok(None) };
        let before = redaction_from(&row)?;
        add_event(
            &tx,
            NewEvent {
                record_id,
                at,
                actor: by,
                action: ModerationAction::Unredact,
                photo: Some(photo),
                regions: 0,
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    async fn redaction(&self, record_id: Uuid, photo: &str) -> Result<Option<Redaction>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!("SELECT {REDACTION_COLS} FROM moderation_redactions WHERE record_id = $1 AND photo = $2"))
            .await?;
        c.query_opt(&stmt, &[&record_id.to_string(), &photo]).await?.as_ref().map(redaction_from).transpose()
    }

    async fn redactions(&self, record_id: Uuid) -> Result<Vec<Redaction>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!("SELECT {REDACTION_COLS} FROM moderation_redactions WHERE record_id = $1 ORDER BY photo"))
            .await?;
        c.query(&stmt, &[&record_id.to_string()]).await?.iter().map(redaction_from).collect()
    }

    async fn redacted_in_use(&self, redacted: &str) -> Result<bool> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT 1 FROM moderation_redactions WHERE redacted = $1 LIMIT 1").await?;
        Ok(c.query_opt(&stmt, &[&redacted]).await?.is_some())
    }

    async fn events(&self, record_id: Uuid) -> Result<Vec<ModerationEvent>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT seq, at, actor, action, photo, regions, reason FROM moderation_events WHERE record_id = $1 ORDER BY seq",
            )
            .await?;
        let rows = c.query(&stmt, &[&record_id.to_string()]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let seq: i64 = row.try_get(0)?;
            let at: String = row.try_get(1)?;
            let action: String = row.try_get(3)?;
            let regions: i64 = row.try_get(5)?;
            out.push(ModerationEvent {
                seq: from_sql_int(seq, "moderation_events.seq")?,
                record_id,
                at: parse_ts(&at, "moderation_events.at")?,
                actor: row.try_get(2)?,
                action: ModerationAction::parse(&action).ok_or_else(|| corrupt("moderation_events.action"))?,
                photo: row.try_get(4)?,
                regions: u32::try_from(regions).map_err(|_| corrupt("moderation_events.regions"))?,
                reason: row.try_get(6)?,
            });
        }
        Ok(out)
    }
}
