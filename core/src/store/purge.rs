//! Personal data retention on the device: the party (name, shop, phone) of a notice closed
//! longer ago than the city's retention period ([`crate::privacy::party_expired`], the
//! days as the server last said, [`super::meta::party_retention_days`]) is removed from
//! the record as shown, from the server's copy kept beside it, and from this device's
//! accepted (and refused) ops of it in the outbox. A record with a change still waiting
//! to be pushed is left alone until the server has accepted it: the server must still get
//! what the officer wrote. A notice the server already sends without its party (it applies
//! the same rule to what devices pull) is purged here at once.
//!
//! The rewrite runs with `PRAGMA secure_delete` on, so the old bytes do not linger in
//! freed space, and the write-ahead log is checkpointed and truncated afterwards, so no
//! old page stays in it either. Only counts are reported, never a value.

use super::Store;
use super::meta;
use crate::error::Result;
use crate::hlc::HlcClock;
use crate::model::{Party, Record, RecordBody};
use crate::privacy;
use crate::protocol::{BodyPatch, Op, OpAction};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use std::sync::Arc;

/// Notices that still hold a party somewhere (the record, the server's copy or a done op),
/// that are closed or that the server already sent purged, with nothing of them pending.
const CANDIDATES: &str = "
    SELECT r.id, r.doc, r.server_doc FROM records r
    WHERE r.kind = 'notice'
      AND (r.status IN ('rectified', 'cancelled') OR json_extract(r.server_doc, '$.body.notice.party.purged') = 1)
      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.record_id = r.id AND o.state = 'pending')
      AND (json_extract(r.doc, '$.body.notice.party.purged') IS NOT 1
           OR (r.server_doc IS NOT NULL AND json_extract(r.server_doc, '$.body.notice.party.purged') IS NOT 1)
           OR EXISTS (SELECT 1 FROM outbox o WHERE o.record_id = r.id
                      AND coalesce(json_extract(o.op, '$.action.create.body.notice.party'),
                                   json_extract(o.op, '$.action.update.body.notice.party')) IS NOT NULL
                      AND coalesce(json_extract(o.op, '$.action.create.body.notice.party.purged'),
                                   json_extract(o.op, '$.action.update.body.notice.party.purged')) IS NOT 1))";

/// The device's time for the retention: its wall clock, or the time of its hybrid logical
/// clock if that is later (it has seen the server's time in every sync, so a phone whose
/// clock runs behind still purges once it has synced).
pub fn device_now(clock: &HlcClock) -> DateTime<Utc> {
    let wall = Utc::now();
    let hlc = i64::try_from(clock.peek().wall_ms).ok().and_then(DateTime::<Utc>::from_timestamp_millis);
    hlc.map_or(wall, |h| h.max(wall))
}

fn party_of(rec: &Record) -> Option<&Party> {
    match &rec.body {
        RecordBody::Notice(n) => Some(&n.party),
        _ => None,
    }
}

/// Replace the party an op carries with the marker. Returns whether it carried one.
fn strip_op(op: &mut Op) -> bool {
    let party = match &mut op.action {
        OpAction::Create(new) => match &mut new.body {
            RecordBody::Notice(n) => Some(&mut n.party),
            _ => None,
        },
        OpAction::Update(patch) => match &mut patch.body {
            Some(BodyPatch::Notice(n)) => n.party.as_mut(),
            _ => None,
        },
        OpAction::Step(_) => None,
    };
    match party {
        Some(p) if *p != Party::removed() => {
            *p = Party::removed();
            true
        }
        _ => false,
    }
}

/// Remove the party of every notice due at `now` with a retention of `retention_days`,
/// inside the caller's transaction. Returns how many notices had something removed.
pub fn purge_parties(conn: &Connection, retention_days: u32, now: DateTime<Utc>) -> Result<u64> {
    conn.pragma_update(None, "secure_delete", "ON")?;
    let candidates: Vec<(String, String, Option<String>)> = {
        let mut stmt = conn.prepare_cached(CANDIDATES)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut purged = 0;
    for (id, doc, server_doc) in candidates {
        let mut shown: Record = serde_json::from_str(&doc)?;
        let mut server: Option<Record> = server_doc.as_deref().map(serde_json::from_str).transpose()?;
        let basis = server.as_ref().unwrap_or(&shown);
        let server_purged = server.as_ref().and_then(party_of).is_some_and(|p| p.purged);
        if !server_purged && !privacy::party_expired(basis, retention_days, now) {
            continue;
        }
        let mut changed = privacy::purge_party(&mut shown);
        if let Some(s) = server.as_mut() {
            changed |= privacy::purge_party(s);
        }
        if changed {
            conn.prepare_cached("UPDATE records SET doc = ?2, server_doc = ?3 WHERE id = ?1")?.execute(params![
                id,
                serde_json::to_string(&shown)?,
                server.as_ref().map(serde_json::to_string).transpose()?,
            ])?;
        }
        let ops: Vec<(i64, String)> = {
            let mut stmt = conn.prepare_cached("SELECT local_seq, op FROM outbox WHERE record_id = ?1 AND state <> 'pending'")?;
            let rows = stmt.query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (local_seq, op) in ops {
            let mut op: Op = serde_json::from_str(&op)?;
            if strip_op(&mut op) {
                conn.prepare_cached("UPDATE outbox SET op = ?2 WHERE local_seq = ?1")?
                    .execute(params![local_seq, serde_json::to_string(&op)?])?;
                changed = true;
            }
        }
        purged += u64::from(changed);
    }
    Ok(purged)
}

/// One purge over the store at `now`, with the retention the server last gave: the
/// rewrite in one transaction, then the write-ahead log truncated so the old pages go too.
/// Returns how many notices had their party removed (logged as a count, nothing else).
pub fn run(store: &Store, now: DateTime<Utc>) -> Result<u64> {
    let n = store.write(|tx| {
        let days = meta::party_retention_days(tx)?;
        purge_parties(tx, days, now)
    })?;
    if n > 0 {
        store.checkpoint()?;
        tracing::info!(notices = n, "removed the party of closed notices past their retention");
    }
    Ok(n)
}

/// [`run`] on the blocking pool.
pub async fn run_async(store: &Arc<Store>, now: DateTime<Utc>) -> Result<u64> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || run(&store, now))
        .await
        .map_err(|e| crate::error::Error::Io(format!("store worker: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::protocol::{NewRecord, NoticePatch, RecordPatch};
    use crate::store::{outbox, records};
    use chrono::Duration;
    use uuid::Uuid;

    const NAME: &str = "张某";
    const PHONE: &str = "13805361234";

    fn notice(status: Status, closed: DateTime<Utc>) -> Record {
        let mut rec = crate::fixtures::records().into_iter().find(|r| r.kind() == crate::model::RecordKind::Notice).unwrap();
        rec.id = Uuid::now_v7();
        rec.status = status;
        rec.updated_at = closed;
        rec.seq = Some(7);
        rec
    }

    fn create_op(rec: &Record) -> Op {
        Op {
            op_id: Uuid::now_v7(),
            record_id: rec.id,
            hlc: crate::hlc::Hlc::new(1, 0, "d"),
            action: OpAction::Create(NewRecord {
                org: rec.org.clone(),
                created_at: rec.created_at,
                location: rec.location.clone(),
                status: Status::Issued,
                body: rec.body.clone(),
            }),
        }
    }

    fn party_edit(rec: &Record) -> Op {
        let party = Party::new(NAME, None, Some("15966021877".into()));
        let patch = RecordPatch {
            body: Some(BodyPatch::Notice(NoticePatch { party: Some(party), ..Default::default() })),
            ..Default::default()
        };
        Op { op_id: Uuid::now_v7(), record_id: rec.id, hlc: crate::hlc::Hlc::new(2, 0, "d"), action: OpAction::Update(patch) }
    }

    /// A store holding `rec` as pulled, with its create accepted.
    fn store_with(rec: &Record) -> (tempfile::TempDir, Store, Op) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.db"), None).unwrap();
        let op = create_op(rec);
        store
            .write(|tx| {
                records::save_from_server(tx, rec, rec)?;
                outbox::enqueue(tx, &op, rec.kind(), rec.created_at)?;
                outbox::mark_accepted(tx, op.op_id, rec.seq, rec.created_at)
            })
            .unwrap();
        (dir, store, op)
    }

    fn party(store: &Store, rec: &Record) -> (Party, Party) {
        let (shown, server) = store.read(|c| records::get(c, rec.id)).unwrap().unwrap();
        (party_of(&shown).unwrap().clone(), party_of(&server.unwrap()).unwrap().clone())
    }

    fn ops_text(store: &Store, rec: &Record) -> Vec<String> {
        store
            .read(|c| {
                let mut stmt = c.prepare("SELECT op FROM outbox WHERE record_id = ?1 ORDER BY local_seq")?;
                let rows = stmt.query_map([rec.id.to_string()], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap()
    }

    #[test]
    fn a_closed_notice_loses_its_party_at_the_retention_boundary_and_not_before() {
        let closed = Utc::now() - Duration::days(40);
        let rec = notice(Status::Rectified, closed);
        let (_dir, store, _) = store_with(&rec);
        let boundary = closed + Duration::days(30);
        assert_eq!(store.write(|tx| purge_parties(tx, 30, boundary - Duration::seconds(1))).unwrap(), 0);
        assert_eq!(party(&store, &rec).0.name, NAME);
        assert!(ops_text(&store, &rec)[0].contains(PHONE));
        assert_eq!(store.write(|tx| purge_parties(tx, 30, boundary)).unwrap(), 1);
        assert_eq!(party(&store, &rec), (Party::removed(), Party::removed()));
        let ops = ops_text(&store, &rec);
        assert!(!ops[0].contains(PHONE) && !ops[0].contains(NAME) && ops[0].contains("\"purged\":true"), "{}", ops[0]);
        // Once: nothing is left to remove.
        assert_eq!(store.write(|tx| purge_parties(tx, 30, boundary)).unwrap(), 0);
        // What is shown and its history still read.
        let detail = store.read(|c| crate::store::history::detail(c, rec.id)).unwrap().unwrap();
        assert_eq!(detail.history.len(), 1);
    }

    #[test]
    fn open_and_escalated_notices_keep_their_party() {
        let long_ago = Utc::now() - Duration::days(400);
        for status in [Status::Issued, Status::Overdue, Status::Escalated] {
            let rec = notice(status, long_ago);
            let (_dir, store, _) = store_with(&rec);
            assert_eq!(store.write(|tx| purge_parties(tx, 0, Utc::now())).unwrap(), 0, "{status:?}");
            assert_eq!(party(&store, &rec).0.name, NAME);
        }
        // Cancelled is closed too; 0 days: at the closure.
        let rec = notice(Status::Cancelled, Utc::now());
        let (_dir, store, _) = store_with(&rec);
        assert_eq!(store.write(|tx| purge_parties(tx, 0, rec.updated_at)).unwrap(), 1);
        assert_eq!(party(&store, &rec).0, Party::removed());
    }

    #[test]
    fn pending_ops_are_untouched_until_accepted() {
        let rec = notice(Status::Rectified, Utc::now() - Duration::days(40));
        let (_dir, store, _) = store_with(&rec);
        let edit = party_edit(&rec);
        store.write(|tx| outbox::enqueue(tx, &edit, rec.kind(), Utc::now())).unwrap();
        assert_eq!(store.write(|tx| purge_parties(tx, 30, Utc::now())).unwrap(), 0);
        let pending = store.read(|c| outbox::pending_for_record(c, rec.id)).unwrap();
        assert_eq!(pending, vec![edit.clone()], "the pending op still carries what the officer wrote");
        assert_eq!(party(&store, &rec).0.name, NAME);
        // Accepted: now it goes, with the rest.
        store.write(|tx| outbox::mark_accepted(tx, edit.op_id, Some(8), Utc::now())).unwrap();
        assert_eq!(store.write(|tx| purge_parties(tx, 30, Utc::now())).unwrap(), 1);
        assert!(ops_text(&store, &rec).iter().all(|o| !o.contains(NAME) && !o.contains("15966021877") && !o.contains(PHONE)));
        assert_eq!(party(&store, &rec).0, Party::removed());
    }

    #[test]
    fn a_party_the_server_sent_purged_is_purged_here_whatever_the_clock() {
        let rec = notice(Status::Rectified, Utc::now());
        let (_dir, store, _) = store_with(&rec);
        let mut stripped = rec.clone();
        privacy::purge_party(&mut stripped);
        store.write(|tx| records::save_from_server(tx, &stripped, &stripped)).unwrap();
        assert!(ops_text(&store, &rec)[0].contains(PHONE));
        assert_eq!(store.write(|tx| purge_parties(tx, 30, Utc::now())).unwrap(), 1);
        assert!(!ops_text(&store, &rec)[0].contains(PHONE));
    }

    #[test]
    fn the_old_bytes_leave_the_file() {
        let rec = notice(Status::Rectified, Utc::now() - Duration::days(40));
        let (dir, store, _) = store_with(&rec);
        store.checkpoint().unwrap();
        let path = dir.path().join("d.db");
        let has = |needle: &str| {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        };
        assert!(has(PHONE) && has(NAME));
        assert_eq!(run(&store, Utc::now()).unwrap(), 1);
        assert!(!has(PHONE) && !has(NAME));
    }
}
