//! Moderation (hidden records, redacted public photos, their history) in SQLite. Each
//! change and its event are written in one transaction.

use super::{SqliteStorage, corrupt, from_sql_int, parse_ts, ts};
use crate::storage::Result;
use crate::storage::moderation::{HiddenRecord, ModerationAction, ModerationEvent, ModerationStore, Redaction, Region};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;
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

fn add_event(conn: &Connection, e: NewEvent<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO moderation_events (record_id, at, actor, action, photo, regions, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.record_id.to_string(),
        ts(e.at),
        e.actor,
        e.action.as_str(),
        e.photo,
        i64::from(e.regions),
        e.reason
    ])?;
    Ok(())
}

const REDACTION_COLS: &str = "record_id, photo, redacted, regions, redacted_by, redacted_at";

type RedactionTuple = (String, String, String, String, String, String);

fn redaction_tuple(r: &rusqlite::Row<'_>) -> rusqlite::Result<RedactionTuple> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn redaction_from(t: RedactionTuple) -> Result<Redaction> {
    let (record_id, photo, redacted, regions, by, at) = t;
    Ok(Redaction {
        record_id: Uuid::parse_str(&record_id).map_err(|_| corrupt("moderation_redactions.record_id"))?,
        photo,
        redacted,
        regions: serde_json::from_str::<Vec<Region>>(&regions).map_err(|_| corrupt("moderation_redactions.regions"))?,
        by,
        at: parse_ts(&at, "moderation_redactions.redacted_at")?,
    })
}

fn redaction_in(conn: &Connection, record_id: Uuid, photo: &str) -> Result<Option<Redaction>> {
    let sql = format!("SELECT {REDACTION_COLS} FROM moderation_redactions WHERE record_id = ?1 AND photo = ?2");
    conn.prepare_cached(&sql)?
        .query_row(params![record_id.to_string(), photo], redaction_tuple)
        .optional()?
        .map(redaction_from)
        .transpose()
}

#[async_trait]
impl ModerationStore for SqliteStorage {
    async fn hide(&self, h: HiddenRecord) -> Result<bool> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let n = tx
                .prepare_cached(
                    "INSERT INTO moderation_hidden (record_id, reason, hidden_by, hidden_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (record_id) DO NOTHING",
                )?
                .execute(params![h.record_id.to_string(), h.reason, h.by, ts(h.at)])?;
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
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn unhide(&self, record_id: Uuid, by: &str, at: DateTime<Utc>) -> Result<bool> {
        let by = by.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let n = tx.prepare_cached("DELETE FROM moderation_hidden WHERE record_id = ?1")?.execute([record_id.to_string()])?;
            if n == 0 {
                return Ok(false);
            }
            add_event(
                &tx,
                NewEvent { record_id, at, actor: &by, action: ModerationAction::Unhide, photo: None, regions: 0, reason: None },
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn hidden(&self, record_id: Uuid) -> Result<Option<HiddenRecord>> {
        self.read(move |conn| {
            let row = conn
                .prepare_cached("SELECT reason, hidden_by, hidden_at FROM moderation_hidden WHERE record_id = ?1")?
                .query_row([record_id.to_string()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })
                .optional()?;
            row.map(|(reason, by, at)| {
                Ok(HiddenRecord { record_id, reason, by, at: parse_ts(&at, "moderation_hidden.hidden_at")? })
            })
            .transpose()
        })
        .await
    }

    async fn hidden_among(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
        let ids = ids.to_vec();
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT 1 FROM moderation_hidden WHERE record_id = ?1")?;
            let mut out = HashSet::new();
            for id in ids {
                if stmt.query_row([id.to_string()], |_| Ok(())).optional()?.is_some() {
                    out.insert(id);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn put_redaction(&self, r: Redaction) -> Result<Option<Redaction>> {
        self.write(move |conn| {
            let regions = serde_json::to_string(&r.regions).map_err(|_| corrupt("regions"))?;
            let count = u32::try_from(r.regions.len()).map_err(|_| corrupt("regions"))?;
            let tx = conn.transaction()?;
            let before = redaction_in(&tx, r.record_id, &r.photo)?;
            let sql = format!(
                "INSERT INTO moderation_redactions ({REDACTION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (record_id, photo) DO UPDATE SET redacted = excluded.redacted, regions = excluded.regions,
                     redacted_by = excluded.redacted_by, redacted_at = excluded.redacted_at"
            );
            tx.prepare_cached(&sql)?.execute(params![r.record_id.to_string(), r.photo, r.redacted, regions, r.by, ts(r.at)])?;
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
            )?;
            tx.commit()?;
            Ok(before)
        })
        .await
    }

    async fn remove_redaction(&self, record_id: Uuid, photo: &str, by: &str, at: DateTime<Utc>) -> Result<Option<Redaction>> {
        let (photo, by) = (photo.to_owned(), by.to_owned());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let Some(before) = redaction_in(&tx, record_id, &photo)? else { return Ok(None) };
            tx.prepare_cached("DELETE FROM moderation_redactions WHERE record_id = ?1 AND photo = ?2")?
                .execute(params![record_id.to_string(), photo])?;
            add_event(
                &tx,
                NewEvent {
                    record_id,
                    at,
                    actor: &by,
                    action: ModerationAction::Unredact,
                    photo: Some(&photo),
                    regions: 0,
                    reason: None,
                },
            )?;
            tx.commit()?;
            Ok(Some(before))
        })
        .await
    }

    async fn redaction(&self, record_id: Uuid, photo: &str) -> Result<Option<Redaction>> {
        let photo = photo.to_owned();
        self.read(move |conn| redaction_in(conn, record_id, &photo)).await
    }

    async fn redactions(&self, record_id: Uuid) -> Result<Vec<Redaction>> {
        self.read(move |conn| {
            let sql = format!("SELECT {REDACTION_COLS} FROM moderation_redactions WHERE record_id = ?1 ORDER BY photo");
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([record_id.to_string()], redaction_tuple)?;
            rows.map(|r| redaction_from(r?)).collect()
        })
        .await
    }

    async fn redacted_in_use(&self, redacted: &str) -> Result<bool> {
        let redacted = redacted.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM moderation_redactions WHERE redacted = ?1 LIMIT 1")?
                .query_row([redacted], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }

    async fn events(&self, record_id: Uuid) -> Result<Vec<ModerationEvent>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, at, actor, action, photo, regions, reason FROM moderation_events WHERE record_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([record_id.to_string()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, at, actor, action, photo, regions, reason) = row?;
                out.push(ModerationEvent {
                    seq: from_sql_int(seq, "moderation_events.seq")?,
                    record_id,
                    at: parse_ts(&at, "moderation_events.at")?,
                    actor,
                    action: ModerationAction::parse(&action).ok_or_else(|| corrupt("moderation_events.action"))?,
                    photo,
                    regions: u32::try_from(regions).map_err(|_| corrupt("moderation_events.regions"))?,
                    reason,
                });
            }
            Ok(out)
        })
        .await
    }
}
