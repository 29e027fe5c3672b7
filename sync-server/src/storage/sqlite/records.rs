//! Records, the op log and the pull sequence in SQLite.
//!
//! The sequence is `MAX(seq) + 1`, assigned inside the writer's transaction. SQLite has one
//! writer, so transactions commit in the order their numbers were taken, and a reader's
//! snapshot never holds a number above one it lacks: every cursor a pull hands out is
//! below every write not yet committed.

use super::{SqliteStorage, WriterGuard, closed, corrupt, from_sql_int, task_failed, to_sql_int, ts};
use crate::domain::access::Visibility;
use crate::domain::query::{self, PageAfter, RecordFilter, RecordPage, SortKey};
use crate::storage::{LoggedOp, NewVersion, PullPage, RecordCounts, RecordStore, RecordTx, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridwork_core::hlc::Hlc;
use gridwork_core::merge::StoredRecord;
use gridwork_core::model::{Record, RecordKind};
use gridwork_core::protocol::{OpResult, Outcome, Rejection, Removed};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The pull query for a visibility's area: its SQL and the key it filters on (`?3`).
pub(crate) fn pull_query(visibility: &Visibility) -> (&'static str, Option<&str>) {
    const ALL: &str = "SELECT seq, doc FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2";
    const DISTRICT: &str = "SELECT seq, doc FROM records WHERE district = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2";
    match visibility {
        Visibility::All => (ALL, None),
        Visibility::District(d) | Visibility::Officer { district: d, .. } => (DISTRICT, Some(d.as_str())),
        Visibility::Community(c) => {
            ("SELECT seq, doc FROM records WHERE community = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2", Some(c.as_str()))
        }
        Visibility::Grid(g) => {
            ("SELECT seq, doc FROM records WHERE grid = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2", Some(g.as_str()))
        }
    }
}

/// Records assigned to a key, beyond the area.
pub(crate) const ASSIGNED_QUERY: &str = "SELECT seq, doc FROM records WHERE assignee = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2";
/// Every case; the literal `kind = 'case'` lets SQLite use the partial index of cases.
pub(crate) const CASES_QUERY: &str = "SELECT seq, doc, id FROM records WHERE kind = 'case' ORDER BY seq";
/// Records that left a key.
pub(crate) const DEPARTED_QUERY: &str =
    "SELECT seq, record_id FROM record_departures WHERE key = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2";

/// Does a record's row fall inside the visibility (its area, or one of its assignments)?
fn still_visible(conn: &Connection, visibility: &Visibility, id: &str) -> Result<bool> {
    let row: Option<(String, String, String, Option<String>)> = conn
        .prepare_cached("SELECT grid, community, district, assignee FROM records WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((grid, community, district, assignee)) = row else { return Ok(false) };
    let area = match visibility {
        Visibility::All => true,
        Visibility::District(d) | Visibility::Officer { district: d, .. } => *d == district,
        Visibility::Community(c) => *c == community,
        Visibility::Grid(g) => *g == grid,
    };
    Ok(area || assignee.is_some_and(|a| visibility.assignments().contains(&a)))
}

/// One page: the area's rows, the rows assigned to the caller, and the records that left
/// the caller's assignments, merged in sequence order. Each list is read one row past the
/// page, so the page is exactly the first `limit` entries of their union.
fn pull_page(conn: &Connection, visibility: &Visibility, since: u64, limit: u32) -> Result<PullPage> {
    let since_sql = to_sql_int(since, "since")?;
    let take = i64::from(limit) + 1;
    let doc_row = |r: &rusqlite::Row<'_>| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?));
    let mut rows: Vec<(i64, String)> = Vec::new();
    let (sql, key) = pull_query(visibility);
    let mut stmt = conn.prepare_cached(sql)?;
    match key {
        None => rows.extend(stmt.query_map(params![since_sql, take], doc_row)?.collect::<rusqlite::Result<Vec<_>>>()?),
        Some(k) => rows.extend(stmt.query_map(params![since_sql, take, k], doc_row)?.collect::<rusqlite::Result<Vec<_>>>()?),
    }
    let mut more = rows.len() as i64 == take;
    let mut departed: Vec<(i64, String)> = Vec::new();
    for key in visibility.assignments() {
        let assigned: Vec<(i64, String)> = conn
            .prepare_cached(ASSIGNED_QUERY)?
            .query_map(params![since_sql, take, key], doc_row)?
            .collect::<rusqlite::Result<_>>()?;
        let left: Vec<(i64, String)> = conn
            .prepare_cached(DEPARTED_QUERY)?
            .query_map(params![since_sql, take, key], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        more |= assigned.len() as i64 == take || left.len() as i64 == take;
        rows.extend(assigned);
        departed.extend(left);
    }
    // A record seen through two lists (its area and an assignment) is one entry.
    rows.sort_by_key(|(seq, _)| *seq);
    rows.dedup_by_key(|(seq, _)| *seq);
    enum Entry {
        Record(i64, String),
        Gone(i64, String),
    }
    let mut entries: Vec<Entry> = rows.into_iter().map(|(seq, doc)| Entry::Record(seq, doc)).collect();
    for (seq, id) in departed {
        // Gone from one assignment, but maybe still seen through the area or another.
        if !still_visible(conn, visibility, &id)? {
            entries.push(Entry::Gone(seq, id));
        }
    }
    let seq_of = |e: &Entry| match e {
        Entry::Record(s, _) | Entry::Gone(s, _) => *s,
    };
    entries.sort_by_key(seq_of);
    let has_more = more || entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next = entries.last().map(seq_of).map(|s| from_sql_int(s, "records.seq")).transpose()?.unwrap_or(since);
    let (mut records, mut removed) = (Vec::new(), Vec::new());
    for e in entries {
        match e {
            Entry::Record(seq, doc) => {
                let mut rec: Record = serde_json::from_str(&doc).map_err(|_| corrupt("records.doc"))?;
                rec.seq = Some(from_sql_int(seq, "records.seq")?);
                records.push(rec);
            }
            Entry::Gone(seq, id) => removed.push(Removed {
                id: Uuid::parse_str(&id).map_err(|_| corrupt("record_departures.record_id"))?,
                seq: from_sql_int(seq, "record_departures.seq")?,
            }),
        }
    }
    Ok(PullPage { records, removed, next, has_more })
}

fn ids_json(ids: &[Uuid]) -> String {
    serde_json::Value::from(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()).to_string()
}

fn logged_ops(conn: &Connection, op_ids: &[Uuid]) -> Result<HashMap<Uuid, LoggedOp>> {
    let mut stmt = conn.prepare_cached(
        "SELECT op_id, user_id, record_id, outcome, seq, rejection, change FROM applied_ops
         WHERE op_id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = stmt
        .query_map([ids_json(op_ids)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = HashMap::with_capacity(rows.len());
    for (op_id, user_id, record_id, outcome, seq, rejection, change) in rows {
        let op_id = Uuid::parse_str(&op_id).map_err(|_| corrupt("applied_ops.op_id"))?;
        let outcome = match outcome.as_str() {
            "accepted" => Outcome::Accepted,
            "rejected" => Outcome::Rejected,
            _ => return Err(corrupt("applied_ops.outcome")),
        };
        let rejection = match rejection {
            Some(j) => Some(serde_json::from_str::<Rejection>(&j).map_err(|_| corrupt("applied_ops.rejection"))?),
            None => None,
        };
        let seq = seq.map(|s| from_sql_int(s, "applied_ops.seq")).transpose()?;
        let record_id = Uuid::parse_str(&record_id).map_err(|_| corrupt("applied_ops.record_id"))?;
        let change = change.map(|j| serde_json::from_str(&j).map_err(|_| corrupt("applied_ops.change"))).transpose()?;
        // The evidence is read only when a record is checked (`evidence`), never on a push.
        let result = OpResult { op_id, outcome, seq, rejection };
        out.insert(op_id, LoggedOp { user_id, record_id, result, change, evidence: None });
    }
    Ok(out)
}

fn load(conn: &Connection, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredRecord>> {
    let mut stmt = conn.prepare_cached("SELECT seq, doc, clocks FROM records WHERE id IN (SELECT value FROM json_each(?1))")?;
    let rows = stmt
        .query_map([ids_json(ids)], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = HashMap::with_capacity(rows.len());
    for (seq, doc, clocks) in rows {
        let mut record: Record = serde_json::from_str(&doc).map_err(|_| corrupt("records.doc"))?;
        record.seq = Some(from_sql_int(seq, "records.seq")?);
        let clocks: BTreeMap<String, Hlc> = serde_json::from_str(&clocks).map_err(|_| corrupt("records.clocks"))?;
        out.insert(record.id, StoredRecord { record, clocks });
    }
    Ok(out)
}

/// Store one version of a record under `seq`, with its photo index; a change of assignee
/// leaves a departure for the one before.
pub(crate) fn put_version(conn: &Connection, seq: i64, version: &NewVersion) -> Result<()> {
    let rec = &version.state.record;
    let key = rec.id.to_string();
    // Only cases are ever assigned: other kinds skip the lookup (most of a push's rows).
    let before: Option<Option<String>> = if rec.kind() == RecordKind::Case {
        conn.prepare_cached("SELECT assignee FROM records WHERE id = ?1")?.query_row([&key], |r| r.get(0)).optional()?
    } else {
        None
    };
    if let Some(Some(old)) = before
        && version.assignee.as_ref() != Some(&old)
    {
        conn.prepare_cached("INSERT OR IGNORE INTO record_departures (key, seq, record_id) VALUES (?1, ?2, ?3)")?
            .execute(params![old, seq, key])?;
    }
    let mut doc = rec.clone();
    doc.seq = None;
    let doc = serde_json::to_string(&doc).map_err(|e| crate::storage::StorageError::Corrupt(e.to_string()))?;
    let clocks =
        serde_json::to_string(&version.state.clocks).map_err(|e| crate::storage::StorageError::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO records (id, kind, seq, grid, community, street, district, status, author, updated_at, doc, clocks,
                              assignee, due_at, created_at, category, overdue, search_text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, seq = excluded.seq, grid = excluded.grid,
            community = excluded.community, street = excluded.street, district = excluded.district,
            status = excluded.status, author = excluded.author, updated_at = excluded.updated_at,
            doc = excluded.doc, clocks = excluded.clocks, assignee = excluded.assignee, due_at = excluded.due_at,
            created_at = excluded.created_at, category = excluded.category, overdue = excluded.overdue,
            search_text = excluded.search_text",
    )?
    .execute(params![
        key,
        rec.kind().as_str(),
        seq,
        version.place.grid,
        version.place.community,
        version.place.street,
        version.place.district,
        rec.status.as_str(),
        rec.author,
        ts(rec.updated_at),
        doc,
        clocks,
        version.assignee,
        version.due_at.map(ts),
        ts(rec.created_at),
        query::category_of(rec),
        query::is_overdue(rec),
        query::search_text(rec),
    ])?;
    put_photo_links(conn, &key, version)
}

/// The record's photo index after this version: links to photos it keeps stay as they
/// were (vouched or claimed), a photo it drops loses its link, a new one is vouched if the
/// use case checked it or its lister already sent its bytes, and a claim otherwise.
fn put_photo_links(conn: &Connection, key: &str, version: &NewVersion) -> Result<()> {
    let rec = &version.state.record;
    let mut photos: Vec<&gridwork_core::model::PhotoRef> = rec.body.photos().iter().collect();
    photos.sort_unstable_by(|a, b| a.sha256.cmp(&b.sha256));
    photos.dedup_by(|a, b| a.sha256 == b.sha256);
    let kept: Vec<String> = conn
        .prepare_cached("SELECT sha256 FROM record_photos WHERE record_id = ?1")?
        .query_map([key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut drop_link = conn.prepare_cached("DELETE FROM record_photos WHERE record_id = ?1 AND sha256 = ?2")?;
    for sha in &kept {
        if photos.binary_search_by(|p| p.sha256.as_str().cmp(sha)).is_err() {
            drop_link.execute(params![key, sha])?;
        }
    }
    let mut link = conn.prepare_cached(
        "INSERT INTO record_photos (sha256, record_id, claimed_by, mime, bytes, width, height)
         SELECT ?1, ?2,
                CASE WHEN ?3 OR EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = ?1 AND p.uploaded_by = ?4
                                          AND p.mime = ?5 AND p.size = ?6
                                          AND (p.width IS NULL OR p.width = ?7)
                                          AND (p.height IS NULL OR p.height = ?8)) THEN NULL ELSE ?4 END,
                ?5, ?6, ?7, ?8
         ON CONFLICT (sha256, record_id) DO NOTHING",
    )?;
    for p in photos {
        if kept.contains(&p.sha256) {
            continue;
        }
        let vouched = version.vouched.contains(&p.sha256);
        link.execute(params![
            p.sha256,
            key,
            vouched,
            rec.updated_by,
            p.mime,
            to_sql_int(p.bytes, "photo.bytes")?,
            p.width,
            p.height
        ])?;
    }
    Ok(())
}

fn put_versions(conn: &Connection, versions: Vec<NewVersion>) -> Result<Vec<u64>> {
    // Global and strictly increasing; the seq index makes MAX() a single lookup.
    let last: i64 = conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM records")?.query_row([], |r| r.get(0))?;
    let seqs: Vec<i64> = (1..=versions.len() as i64).map(|i| last + i).collect();
    // Only the last version of each record is kept: a pull serves current states.
    let mut final_of: HashMap<Uuid, usize> = HashMap::with_capacity(versions.len());
    for (i, v) in versions.iter().enumerate() {
        final_of.insert(v.state.record.id, i);
    }
    for (i, v) in versions.iter().enumerate() {
        if final_of.get(&v.state.record.id) == Some(&i) {
            put_version(conn, seqs[i], v)?;
        }
    }
    seqs.into_iter().map(|s| from_sql_int(s, "records.seq")).collect()
}

fn log_ops(conn: &Connection, entries: Vec<LoggedOp>) -> Result<()> {
    let now = ts(Utc::now());
    let mut stmt = conn.prepare_cached(
        "INSERT INTO applied_ops (op_id, user_id, record_id, outcome, seq, rejection, applied_at, change, evidence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (op_id) DO NOTHING",
    )?;
    for e in entries {
        let outcome = match e.result.outcome {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
        };
        let rejection = e
            .result
            .rejection
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|err| crate::storage::StorageError::Corrupt(err.to_string()))?;
        let seq = e.result.seq.map(|s| to_sql_int(s, "seq")).transpose()?;
        let change = e
            .change
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|err| crate::storage::StorageError::Corrupt(err.to_string()))?;
        let evidence = e
            .evidence
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|err| crate::storage::StorageError::Corrupt(err.to_string()))?;
        stmt.execute(params![
            e.result.op_id.to_string(),
            e.user_id,
            e.record_id.to_string(),
            outcome,
            seq,
            rejection,
            now,
            change,
            evidence
        ])?;
    }
    Ok(())
}

/// A unit of work on the writer connection: `BEGIN IMMEDIATE` to `COMMIT`, each step on the
/// blocking pool. Dropped without `commit`, it rolls back.
struct SqliteTx {
    guard: Option<WriterGuard>,
}

impl SqliteTx {
    async fn run<T, F>(&mut self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let guard = self.guard.take().ok_or_else(closed)?;
        let (guard, out) = tokio::task::spawn_blocking(move || {
            let out = match guard.as_ref() {
                Some(conn) => f(conn),
                None => Err(closed()),
            };
            (guard, out)
        })
        .await
        .map_err(task_failed)?;
        self.guard = Some(guard);
        out
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let Some(conn) = self.guard.as_ref().and_then(|g| g.as_ref())
            && !conn.is_autocommit()
        {
            // Quick: nothing is written back. The connection is free for the next unit.
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

#[async_trait]
impl RecordTx for SqliteTx {
    async fn logged_ops(&mut self, op_ids: &[Uuid]) -> Result<HashMap<Uuid, LoggedOp>> {
        let ids = op_ids.to_vec();
        self.run(move |conn| logged_ops(conn, &ids)).await
    }

    async fn load(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredRecord>> {
        let ids = ids.to_vec();
        self.run(move |conn| load(conn, &ids)).await
    }

    async fn put_versions(&mut self, versions: Vec<NewVersion>) -> Result<Vec<u64>> {
        self.run(move |conn| put_versions(conn, versions)).await
    }

    async fn log_ops(&mut self, entries: Vec<LoggedOp>) -> Result<()> {
        self.run(move |conn| log_ops(conn, entries)).await
    }

    async fn next_number(&mut self, key: &str) -> Result<u64> {
        let key = key.to_owned();
        self.run(move |conn| {
            let n: i64 = conn
                .prepare_cached(
                    "INSERT INTO counters (key, value) VALUES (?1, 1)
                     ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value",
                )?
                .query_row([&key], |r| r.get(0))?;
            from_sql_int(n, "counters.value")
        })
        .await
    }

    async fn number_states(
        &mut self,
        keys: Vec<crate::storage::numbers::NumberKey>,
        device_id: &str,
        user_id: &str,
    ) -> Result<Vec<crate::storage::numbers::NumberState>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (device_id, user_id) = (device_id.to_owned(), user_id.to_owned());
        self.run(move |conn| super::numbers::number_states(conn, &keys, &device_id, &user_id)).await
    }

    async fn record_numbers(&mut self, uses: Vec<(crate::storage::numbers::NumberKey, i64, Uuid)>) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let uses: Vec<_> = uses.into_iter().map(|(k, b, id)| (k, b, id.to_string())).collect();
        self.run(move |conn| super::numbers::record_numbers(conn, &uses)).await
    }

    async fn audit(&mut self, entry: crate::storage::NewAudit) -> Result<u64> {
        self.run(move |conn| super::audit::append(conn, &entry)).await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        self.run(|conn| Ok(conn.execute_batch("COMMIT")?)).await
    }
}

#[async_trait]
impl RecordStore for SqliteStorage {
    async fn begin(&self) -> Result<Box<dyn RecordTx>> {
        let mut tx = SqliteTx { guard: Some(self.writer().await) };
        tx.run(|conn| {
            if !conn.is_autocommit() {
                // A unit of work whose task died mid-way left its transaction open.
                conn.execute_batch("ROLLBACK")?;
            }
            Ok(conn.execute_batch("BEGIN IMMEDIATE")?)
        })
        .await?;
        Ok(Box::new(tx))
    }

    async fn pull(&self, visibility: &Visibility, since: u64, limit: u32) -> Result<PullPage> {
        let visibility = visibility.clone();
        self.read(move |conn| pull_page(conn, &visibility, since, limit)).await
    }

    async fn counts(&self) -> Result<RecordCounts> {
        self.read(|conn| {
            let (records, logged): (i64, i64) =
                conn.query_row("SELECT (SELECT COUNT(*) FROM records), (SELECT COUNT(*) FROM applied_ops)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            Ok(RecordCounts { records: from_sql_int(records, "count")?, logged_ops: from_sql_int(logged, "count")? })
        })
        .await
    }

    async fn get(&self, id: Uuid) -> Result<Option<Record>> {
        let id = id.to_string();
        self.read(move |conn| {
            let row: Option<(i64, String)> = conn
                .prepare_cached("SELECT seq, doc FROM records WHERE id = ?1")?
                .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            row.map(|(seq, doc)| {
                let mut rec: Record = serde_json::from_str(&doc).map_err(|_| corrupt("records.doc"))?;
                rec.seq = Some(from_sql_int(seq, "records.seq")?);
                Ok(rec)
            })
            .transpose()
        })
        .await
    }

    async fn cases(&self, visibility: &Visibility) -> Result<Vec<Record>> {
        let visibility = visibility.clone();
        self.read(move |conn| {
            let rows: Vec<(i64, String, String)> = conn
                .prepare_cached(CASES_QUERY)?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (seq, doc, id) in rows {
                if visibility == Visibility::All || still_visible(conn, &visibility, &id)? {
                    let mut rec: Record = serde_json::from_str(&doc).map_err(|_| corrupt("records.doc"))?;
                    rec.seq = Some(from_sql_int(seq, "records.seq")?);
                    out.push(rec);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn search(
        &self,
        visibility: &Visibility,
        filter: &RecordFilter,
        sort: SortKey,
        after: Option<&PageAfter>,
        limit: u32,
    ) -> Result<RecordPage> {
        let (visibility, filter, after) = (visibility.clone(), filter.clone(), after.cloned());
        let limit = limit.clamp(1, query::MAX_PAGE);
        self.read(move |conn| super::search::search(conn, &visibility, &filter, sort, after.as_ref(), limit)).await
    }

    async fn count(&self, visibility: &Visibility, filter: &RecordFilter) -> Result<u64> {
        let (visibility, filter) = (visibility.clone(), filter.clone());
        self.read(move |conn| super::search::count(conn, &visibility, &filter)).await
    }

    async fn due_before(&self, at: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>> {
        self.read(move |conn| {
            let ids: Vec<String> = conn
                .prepare_cached("SELECT id FROM records WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at LIMIT ?2")?
                .query_map(params![ts(at), i64::from(limit)], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter().map(|id| Uuid::parse_str(id).map_err(|_| corrupt("records.id"))).collect()
        })
        .await
    }

    async fn max_clock(&self) -> Result<Option<String>> {
        // Once at start-up: a scan of every record's clock map, done inside SQLite.
        self.read(
            |conn| Ok(conn.query_row("SELECT MAX(c.value) FROM records, json_each(records.clocks) AS c", [], |r| r.get(0))?),
        )
        .await
    }

    async fn photos_of_record(&self, record_id: Uuid) -> Result<Vec<String>> {
        let record_id = record_id.to_string();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT sha256 FROM record_photos WHERE record_id = ?1 ORDER BY sha256")?;
            let rows = stmt.query_map([&record_id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn changes(&self, record_id: Uuid) -> Result<Vec<(String, crate::storage::Change)>> {
        let record_id = record_id.to_string();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT user_id, change FROM applied_ops WHERE record_id = ?1 AND change IS NOT NULL AND outcome = 'accepted'",
            )?;
            let rows = stmt
                .query_map([&record_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = rows
                .into_iter()
                .map(|(user, j)| {
                    serde_json::from_str::<crate::storage::Change>(&j)
                        .map(|c| (user, c))
                        .map_err(|_| corrupt("applied_ops.change"))
                })
                .collect::<Result<Vec<_>>>()?;
            out.sort_by(|a, b| a.1.hlc.cmp(&b.1.hlc));
            Ok(out)
        })
        .await
    }

    async fn timeline(&self) -> Result<crate::storage::Timeline> {
        self.read(|conn| {
            let (epoch, base, high): (i64, i64, i64) = conn
                .prepare_cached(
                    "SELECT (SELECT value FROM meta WHERE key = 'epoch'), (SELECT value FROM meta WHERE key = 'epoch_base'),
                            (SELECT COALESCE(MAX(seq), 0) FROM records)",
                )?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(crate::storage::Timeline {
                epoch: from_sql_int(epoch, "meta.epoch")?,
                base: from_sql_int(base, "meta.epoch_base")?,
                high_water: from_sql_int(high, "records.seq")?,
            })
        })
        .await
    }

    async fn evidence(&self, record_id: Uuid) -> Result<Option<(StoredRecord, Vec<gridwork_core::evidence::SignedOp>)>> {
        self.read(move |conn| {
            let Some(stored) = load(conn, &[record_id])?.remove(&record_id) else { return Ok(None) };
            let mut stmt = conn.prepare_cached(
                "SELECT evidence FROM applied_ops WHERE record_id = ?1 AND evidence IS NOT NULL AND outcome = 'accepted'",
            )?;
            let rows =
                stmt.query_map([record_id.to_string()], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut ops = rows
                .iter()
                .map(|j| {
                    serde_json::from_str::<gridwork_core::evidence::SignedOp>(j).map_err(|_| corrupt("applied_ops.evidence"))
                })
                .collect::<Result<Vec<_>>>()?;
            ops.sort_by(|a, b| a.stamp.cmp(&b.stamp));
            Ok(Some((stored, ops)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn plan(conn: &Connection, sql: &str, key: Option<&str>) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("prepare");
        let detail = |r: &rusqlite::Row<'_>| r.get::<_, String>(3);
        match key {
            None => stmt.query_map(params![0, 10], detail),
            Some(k) => stmt.query_map(params![0, 10, k], detail),
        }
        .expect("plan")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
    }

    #[tokio::test]
    async fn pull_uses_the_visibility_indexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open(Path::new(dir.path())).expect("open");
        s.with_writer(|conn| {
            for (v, index) in [
                (Visibility::District("d".into()), Some("records_district_seq")),
                (Visibility::Community("c".into()), Some("records_community_seq")),
                (Visibility::Grid("g".into()), Some("records_grid_seq")),
                (Visibility::All, None),
            ] {
                // The query the pull runs, not a copy of it.
                let (sql, key) = pull_query(&v);
                let plan = plan(conn, sql, key).join(" | ");
                assert!(!plan.contains("TEMP B-TREE"), "{v:?}: {plan}");
                match index {
                    Some(index) => assert!(plan.contains(index), "{v:?}: {plan}"),
                    None => assert!(!plan.contains("SCAN records") || plan.contains("INDEX"), "{v:?}: {plan}"),
                }
            }
            // Beyond the area: what is assigned, what left, every case for the figures.
            for (sql, key, index) in [
                (ASSIGNED_QUERY, Some("officer:o1"), "records_assignee_seq"),
                (DEPARTED_QUERY, Some("officer:o1"), "PRIMARY KEY"),
            ] {
                let plan = plan(conn, sql, key).join(" | ");
                assert!(plan.contains(index) && !plan.contains("TEMP B-TREE"), "{sql}: {plan}");
            }
            let cases: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {CASES_QUERY}"))
                .expect("prepare")
                .query_map([], |r| r.get(3))
                .expect("plan")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            let cases = cases.join(" | ");
            assert!(cases.contains("records_cases") && !cases.contains("TEMP B-TREE"), "{cases}");
        })
        .await;
    }
}
