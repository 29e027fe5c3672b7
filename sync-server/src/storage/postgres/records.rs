//! Records, the op log and the pull sequence in PostgreSQL.
//!
//! The sequence is the `meta` row `record_seq` (the last number handed out), advanced
//! inside the unit of work's transaction, which holds the writer lock ([`super::WRITER_LOCK`])
//! from its start to its end. Units of work therefore take their numbers and commit in the
//! same order (the lock is released only once the commit is visible), and a reader's
//! snapshot never holds a number above one it lacks: every cursor a pull hands out is below
//! every write not yet committed. A unit of work that does not commit gives its numbers back.
//!
//! A unit of work owns its pooled connection and issues `BEGIN` and `COMMIT` itself. A
//! connection never goes back to the pool inside a transaction: dropped without `commit`
//! (or after a failed or interrupted step), the unit of work detaches its connection from
//! the pool and closes it, and the server rolls the transaction back.

use super::{PgStorage, corrupt, from_sql_int, to_sql_int, ts};
use crate::domain::access::Visibility;
use crate::domain::query::{self, PageAfter, RecordFilter, RecordPage, SortKey};
use crate::storage::numbers::{NumberKey, NumberState};
use crate::storage::{
    Change, LoggedOp, NewAudit, NewVersion, PullPage, RecordCounts, RecordStore, RecordTx, Result, StorageError, Timeline,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{ClientWrapper, Object};
use gridwork_core::evidence::SignedOp;
use gridwork_core::hlc::Hlc;
use gridwork_core::merge::StoredRecord;
use gridwork_core::model::{Record, RecordKind};
use gridwork_core::protocol::{OpResult, Outcome, Rejection, Removed};
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// The pull query for a visibility's area: its SQL and the key it filters on (`$3`).
pub(crate) fn pull_query(visibility: &Visibility) -> (&'static str, Option<&str>) {
    const ALL: &str = "SELECT seq, doc FROM records WHERE seq > $1 ORDER BY seq LIMIT $2";
    const DISTRICT: &str = "SELECT seq, doc FROM records WHERE district = $3 AND seq > $1 ORDER BY seq LIMIT $2";
    match visibility {
        Visibility::All => (ALL, None),
        Visibility::District(d) | Visibility::Officer { district: d, .. } => (DISTRICT, Some(d.as_str())),
        Visibility::Community(c) => {
            ("SELECT seq, doc FROM records WHERE community = $3 AND seq > $1 ORDER BY seq LIMIT $2", Some(c.as_str()))
        }
        Visibility::Grid(g) => {
            ("SELECT seq, doc FROM records WHERE grid = $3 AND seq > $1 ORDER BY seq LIMIT $2", Some(g.as_str()))
        }
    }
}

/// Records assigned to a key, beyond the area.
pub(crate) const ASSIGNED_QUERY: &str = "SELECT seq, doc FROM records WHERE assignee = $3 AND seq > $1 ORDER BY seq LIMIT $2";
/// Every case with where it is (the visibility is checked on the rows); the literal
/// `kind = 'case'` matches the partial index of cases.
const CASES_QUERY: &str = "SELECT seq, doc, grid, community, district, assignee FROM records WHERE kind = 'case' ORDER BY seq";
/// Records that left a key.
pub(crate) const DEPARTED_QUERY: &str =
    "SELECT seq, record_id FROM record_departures WHERE key = $3 AND seq > $1 ORDER BY seq LIMIT $2";

/// Does a record placed so fall inside the visibility (its area, or one of its assignments)?
fn visible_at(visibility: &Visibility, grid: &str, community: &str, district: &str, assignee: Option<&str>) -> bool {
    let area = match visibility {
        Visibility::All => true,
        Visibility::District(d) | Visibility::Officer { district: d, .. } => d == district,
        Visibility::Community(c) => c == community,
        Visibility::Grid(g) => g == grid,
    };
    area || assignee.is_some_and(|a| visibility.assignments().iter().any(|k| k == a))
}

/// A stored document with its seq.
pub(crate) fn record_of(seq: i64, doc: &str) -> Result<Record> {
    let mut rec: Record = serde_json::from_str(doc).map_err(|_| corrupt("records.doc"))?;
    rec.seq = Some(from_sql_int(seq, "records.seq")?);
    Ok(rec)
}

fn parse_uuid(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| corrupt(what))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn id_strings(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

/// One page: the area's rows, the rows assigned to the caller, and the records that left
/// the caller's assignments, merged in sequence order. Each list is read one row past the
/// page, so the page is exactly the first `limit` entries of their union. All of it in one
/// read-only snapshot.
async fn pull_page(c: &mut Object, visibility: &Visibility, since: u64, limit: u32) -> Result<PullPage> {
    let since_sql = to_sql_int(since, "since")?;
    let take = i64::from(limit) + 1;
    let tx = c.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await?;
    let doc_rows = |rows: Vec<tokio_postgres::Row>| -> Result<Vec<(i64, String)>> {
        rows.iter().map(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?))).collect()
    };
    let (sql, key) = pull_query(visibility);
    let stmt = tx.prepare_cached(sql).await?;
    let mut rows = match key {
        None => doc_rows(tx.query(&stmt, &[&since_sql, &take]).await?)?,
        Some(k) => doc_rows(tx.query(&stmt, &[&since_sql, &take, &k]).await?)?,
    };
    let mut more = rows.len() as i64 == take;
    let mut departed: Vec<(i64, String)> = Vec::new();
    let assignments = visibility.assignments();
    if !assignments.is_empty() {
        let assigned_stmt = tx.prepare_cached(ASSIGNED_QUERY).await?;
        let departed_stmt = tx.prepare_cached(DEPARTED_QUERY).await?;
        for key in &assignments {
            let assigned = doc_rows(tx.query(&assigned_stmt, &[&since_sql, &take, key]).await?)?;
            let left = doc_rows(tx.query(&departed_stmt, &[&since_sql, &take, key]).await?)?;
            more |= assigned.len() as i64 == take || left.len() as i64 == take;
            rows.extend(assigned);
            departed.extend(left);
        }
    }
    // A record seen through two lists (its area and an assignment) is one entry.
    rows.sort_by_key(|(seq, _)| *seq);
    rows.dedup_by_key(|(seq, _)| *seq);
    enum Entry {
        Record(i64, String),
        Gone(i64, String),
    }
    let mut entries: Vec<Entry> = rows.into_iter().map(|(seq, doc)| Entry::Record(seq, doc)).collect();
    if !departed.is_empty() {
        // Gone from one assignment, but maybe still seen through the area or another.
        let ids: Vec<String> = departed.iter().map(|(_, id)| id.clone()).collect();
        let stmt = tx.prepare_cached("SELECT id, grid, community, district, assignee FROM records WHERE id = ANY($1)").await?;
        let mut still = HashSet::new();
        for r in tx.query(&stmt, &[&ids]).await? {
            let (id, grid, community, district, assignee): (String, String, String, String, Option<String>) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
            if visible_at(visibility, &grid, &community, &district, assignee.as_deref()) {
                still.insert(id);
            }
        }
        for (seq, id) in departed {
            if !still.contains(&id) {
                entries.push(Entry::Gone(seq, id));
            }
        }
    }
    tx.commit().await?;
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
            Entry::Record(seq, doc) => records.push(record_of(seq, &doc)?),
            Entry::Gone(seq, id) => removed.push(Removed {
                id: parse_uuid(&id, "record_departures.record_id")?,
                seq: from_sql_int(seq, "record_departures.seq")?,
            }),
        }
    }
    Ok(PullPage { records, removed, next, has_more })
}

async fn logged_ops(c: &ClientWrapper, op_ids: &[Uuid]) -> Result<HashMap<Uuid, LoggedOp>> {
    if op_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let stmt = c
        .prepare_cached(
            "SELECT op_id, user_id, record_id, outcome, seq, rejection, change FROM applied_ops WHERE op_id = ANY($1)",
        )
        .await?;
    let rows = c.query(&stmt, &[&id_strings(op_ids)]).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let op_id = parse_uuid(r.try_get(0)?, "applied_ops.op_id")?;
        let user_id: String = r.try_get(1)?;
        let record_id = parse_uuid(r.try_get(2)?, "applied_ops.record_id")?;
        let outcome = match r.try_get::<_, &str>(3)? {
            "accepted" => Outcome::Accepted,
            "rejected" => Outcome::Rejected,
            _ => return Err(corrupt("applied_ops.outcome")),
        };
        let seq = r.try_get::<_, Option<i64>>(4)?.map(|s| from_sql_int(s, "applied_ops.seq")).transpose()?;
        let rejection = r
            .try_get::<_, Option<&str>>(5)?
            .map(|j| serde_json::from_str::<Rejection>(j).map_err(|_| corrupt("applied_ops.rejection")))
            .transpose()?;
        let change = r
            .try_get::<_, Option<&str>>(6)?
            .map(|j| serde_json::from_str::<Change>(j).map_err(|_| corrupt("applied_ops.change")))
            .transpose()?;
        // The evidence is read only when a record is checked (`evidence`), never on a push.
        let result = OpResult { op_id, outcome, seq, rejection };
        out.insert(op_id, LoggedOp { user_id, record_id, result, change, evidence: None });
    }
    Ok(out)
}

async fn load(c: &ClientWrapper, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredRecord>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let stmt = c.prepare_cached("SELECT seq, doc, clocks FROM records WHERE id = ANY($1)").await?;
    let rows = c.query(&stmt, &[&id_strings(ids)]).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in &rows {
        let stored = stored_of(r)?;
        out.insert(stored.record.id, stored);
    }
    Ok(out)
}

/// A row of `seq, doc, clocks`.
fn stored_of(r: &tokio_postgres::Row) -> Result<StoredRecord> {
    let record = record_of(r.try_get(0)?, r.try_get(1)?)?;
    let clocks: BTreeMap<String, Hlc> = serde_json::from_str(r.try_get(2)?).map_err(|_| corrupt("records.clocks"))?;
    Ok(StoredRecord { record, clocks })
}

/// A bound value of a statement.
type Param<'a> = &'a (dyn ToSql + Sync);

/// What one record's row is written with.
struct RowOf<'a> {
    version: &'a NewVersion,
    key: String,
    seq: i64,
    kind: &'static str,
    status: &'static str,
    updated_at: String,
    doc: String,
    clocks: String,
    due_at: Option<String>,
    created_at: String,
    category: Option<&'a str>,
    overdue: bool,
    search_text: String,
}

/// A photo link to add.
struct LinkOf<'a> {
    sha256: &'a str,
    key: &'a str,
    vouched: bool,
    by: &'a str,
    mime: &'a str,
    bytes: i64,
    width: i64,
    height: i64,
}

const UPSERT_RECORD: &str = "INSERT INTO records (id, kind, seq, grid, community, street, district, status, author, updated_at,
                          doc, clocks, assignee, due_at, created_at, category, overdue, search_text)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, seq = excluded.seq, grid = excluded.grid,
        community = excluded.community, street = excluded.street, district = excluded.district,
        status = excluded.status, author = excluded.author, updated_at = excluded.updated_at,
        doc = excluded.doc, clocks = excluded.clocks, assignee = excluded.assignee, due_at = excluded.due_at,
        created_at = excluded.created_at, category = excluded.category, overdue = excluded.overdue,
        search_text = excluded.search_text";

/// A link to a newly listed photo: vouched (no claimant) if the use case checked it or its
/// lister already sent these very bytes, a claim by the lister otherwise.
const LINK_PHOTO: &str = "INSERT INTO record_photos (sha256, record_id, claimed_by, mime, bytes, width, height)
     VALUES ($1, $2,
             CASE WHEN $3 OR EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = $1 AND p.uploaded_by = $4
                                       AND p.mime = $5 AND p.size = $6
                                       AND (p.width IS NULL OR p.width = $7)
                                       AND (p.height IS NULL OR p.height = $8)) THEN NULL ELSE $4 END,
             $5, $6, $7, $8)
     ON CONFLICT (sha256, record_id) DO NOTHING";

/// Give the versions the next numbers of the sequence and store the last version of each
/// record with its photo index; a change of assignee leaves a departure for the one
/// before. The rows' statements are pipelined on the connection.
async fn put_versions(c: &ClientWrapper, versions: Vec<NewVersion>) -> Result<Vec<u64>> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(versions.len()).map_err(|_| corrupt("versions"))?;
    let stmt = c.prepare_cached("UPDATE meta SET value = value + $1 WHERE key = 'record_seq' RETURNING value").await?;
    let last: i64 = c.query_opt(&stmt, &[&n]).await?.ok_or_else(|| corrupt("meta.record_seq"))?.try_get(0)?;
    let seqs: Vec<i64> = (1..=n).map(|i| last - n + i).collect();
    // Only the last version of each record is kept: a pull serves current states.
    let mut final_of: HashMap<Uuid, usize> = HashMap::with_capacity(versions.len());
    for (i, v) in versions.iter().enumerate() {
        final_of.insert(v.state.record.id, i);
    }
    let mut rows: Vec<RowOf<'_>> = Vec::with_capacity(final_of.len());
    for (i, v) in versions.iter().enumerate() {
        if final_of.get(&v.state.record.id) != Some(&i) {
            continue;
        }
        let rec = &v.state.record;
        let mut doc = rec.clone();
        doc.seq = None;
        rows.push(RowOf {
            version: v,
            key: rec.id.to_string(),
            seq: seqs[i],
            kind: rec.kind().as_str(),
            status: rec.status.as_str(),
            updated_at: ts(rec.updated_at),
            doc: to_json(&doc)?,
            clocks: to_json(&v.state.clocks)?,
            due_at: v.due_at.map(ts),
            created_at: ts(rec.created_at),
            category: query::category_of(rec),
            overdue: query::is_overdue(rec),
            search_text: query::search_text(rec),
        });
    }

    // What the rows replace: the assignees before (only cases are ever assigned) and the
    // photo links kept so far, each in one read.
    let case_keys: Vec<String> =
        rows.iter().filter(|r| r.version.state.record.kind() == RecordKind::Case).map(|r| r.key.clone()).collect();
    let mut before: HashMap<String, Option<String>> = HashMap::new();
    if !case_keys.is_empty() {
        let stmt = c.prepare_cached("SELECT id, assignee FROM records WHERE id = ANY($1)").await?;
        for r in c.query(&stmt, &[&case_keys]).await? {
            before.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
    let mut kept: HashMap<String, Vec<String>> = HashMap::new();
    let stmt = c.prepare_cached("SELECT record_id, sha256 FROM record_photos WHERE record_id = ANY($1)").await?;
    for r in c.query(&stmt, &[&keys]).await? {
        kept.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
    }

    let mut departures: Vec<(&str, i64, &str)> = Vec::new();
    let mut unlinks: Vec<(&str, &str)> = Vec::new();
    let mut links: Vec<LinkOf<'_>> = Vec::new();
    for row in &rows {
        let v = row.version;
        if let Some(Some(old)) = before.get(&row.key)
            && v.assignee.as_ref() != Some(old)
        {
            departures.push((old.as_str(), row.seq, row.key.as_str()));
        }
        // The record's photo index after this version: links to photos it keeps stay as
        // they were (vouched or claimed), a photo it drops loses its link, a new one is
        // linked (see `LINK_PHOTO`).
        let rec = &v.state.record;
        let mut photos: Vec<&gridwork_core::model::PhotoRef> = rec.body.photos().iter().collect();
        photos.sort_unstable_by(|a, b| a.sha256.cmp(&b.sha256));
        photos.dedup_by(|a, b| a.sha256 == b.sha256);
        let kept_here = kept.get(&row.key).map(Vec::as_slice).unwrap_or_default();
        for sha in kept_here {
            if photos.binary_search_by(|p| p.sha256.as_str().cmp(sha)).is_err() {
                unlinks.push((row.key.as_str(), sha.as_str()));
            }
        }
        for p in photos {
            if kept_here.contains(&p.sha256) {
                continue;
            }
            links.push(LinkOf {
                sha256: &p.sha256,
                key: &row.key,
                vouched: v.vouched.contains(&p.sha256),
                by: &rec.updated_by,
                mime: &p.mime,
                bytes: to_sql_int(p.bytes, "photo.bytes")?,
                width: i64::from(p.width),
                height: i64::from(p.height),
            });
        }
    }

    let upsert = c.prepare_cached(UPSERT_RECORD).await?;
    let depart = c
        .prepare_cached("INSERT INTO record_departures (key, seq, record_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .await?;
    let unlink = c.prepare_cached("DELETE FROM record_photos WHERE record_id = $1 AND sha256 = $2").await?;
    let link = c.prepare_cached(LINK_PHOTO).await?;
    // Every statement below touches its own row: sent together, answered in order.
    let mut batch: Vec<(&tokio_postgres::Statement, Vec<Param<'_>>)> =
        Vec::with_capacity(departures.len() + rows.len() + unlinks.len() + links.len());
    for (key, seq, id) in &departures {
        batch.push((&depart, vec![key as Param<'_>, seq, id]));
    }
    for r in &rows {
        let v = r.version;
        let rec = &v.state.record;
        batch.push((
            &upsert,
            vec![
                &r.key as Param<'_>,
                &r.kind,
                &r.seq,
                &v.place.grid,
                &v.place.community,
                &v.place.street,
                &v.place.district,
                &r.status,
                &rec.author,
                &r.updated_at,
                &r.doc,
                &r.clocks,
                &v.assignee,
                &r.due_at,
                &r.created_at,
                &r.category,
                &r.overdue,
                &r.search_text,
            ],
        ));
    }
    for (key, sha) in &unlinks {
        batch.push((&unlink, vec![key as Param<'_>, sha]));
    }
    for l in &links {
        batch.push((&link, vec![&l.sha256 as Param<'_>, &l.key, &l.vouched, &l.by, &l.mime, &l.bytes, &l.width, &l.height]));
    }
    let pending = batch.iter().map(|(stmt, params)| c.execute(*stmt, params));
    futures::future::try_join_all(pending).await?;
    seqs.into_iter().map(|s| from_sql_int(s, "records.seq")).collect()
}

/// What one op log entry is written with.
struct EntryOf<'a> {
    op_id: String,
    user_id: &'a str,
    record_id: String,
    outcome: &'static str,
    seq: Option<i64>,
    rejection: Option<String>,
    change: Option<String>,
    evidence: Option<String>,
}

async fn log_ops(c: &ClientWrapper, entries: Vec<LoggedOp>) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let now = ts(Utc::now());
    let rows = entries
        .iter()
        .map(|e| {
            Ok(EntryOf {
                op_id: e.result.op_id.to_string(),
                user_id: &e.user_id,
                record_id: e.record_id.to_string(),
                outcome: match e.result.outcome {
                    Outcome::Accepted => "accepted",
                    Outcome::Rejected => "rejected",
                },
                seq: e.result.seq.map(|s| to_sql_int(s, "seq")).transpose()?,
                rejection: e.result.rejection.as_ref().map(to_json).transpose()?,
                change: e.change.as_ref().map(to_json).transpose()?,
                evidence: e.evidence.as_ref().map(to_json).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let stmt = c
        .prepare_cached(
            "INSERT INTO applied_ops (op_id, user_id, record_id, outcome, seq, rejection, applied_at, change, evidence)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (op_id) DO NOTHING",
        )
        .await?;
    let params: Vec<[Param<'_>; 9]> = rows
        .iter()
        .map(|e| {
            [&e.op_id as Param<'_>, &e.user_id, &e.record_id, &e.outcome, &e.seq, &e.rejection, &now, &e.change, &e.evidence]
        })
        .collect();
    let pending = params.iter().map(|p| c.execute(&stmt, p));
    futures::future::try_join_all(pending).await?;
    Ok(())
}

fn abandoned() -> StorageError {
    StorageError::Database("the unit of work was abandoned after a failed step".into())
}

/// A unit of work: its own pooled connection, `BEGIN` to `COMMIT`, holding the writer lock.
struct PgTx {
    conn: Option<Object>,
    /// This process's turn at writing, released after the connection (see `PgStorage::writer`).
    _turn: tokio::sync::OwnedMutexGuard<()>,
    /// False from the start of each step until it succeeds: after a step that failed (the
    /// transaction is aborted) or was interrupted, nothing more runs on the connection.
    sound: bool,
    committed: bool,
}

impl PgTx {
    /// The connection for the next step.
    fn step(&mut self) -> Result<&Object> {
        if !self.sound {
            return Err(abandoned());
        }
        self.sound = false;
        self.conn.as_ref().ok_or_else(abandoned)
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !self.committed
        {
            // Never back to the pool inside a transaction: closed, the server rolls it back
            // (and releases the writer lock).
            drop(Object::take(conn));
        }
    }
}

#[async_trait]
impl RecordTx for PgTx {
    async fn logged_ops(&mut self, op_ids: &[Uuid]) -> Result<HashMap<Uuid, LoggedOp>> {
        let out = logged_ops(self.step()?, op_ids).await?;
        self.sound = true;
        Ok(out)
    }

    async fn load(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredRecord>> {
        let out = load(self.step()?, ids).await?;
        self.sound = true;
        Ok(out)
    }

    async fn put_versions(&mut self, versions: Vec<NewVersion>) -> Result<Vec<u64>> {
        let out = put_versions(self.step()?, versions).await?;
        self.sound = true;
        Ok(out)
    }

    async fn log_ops(&mut self, entries: Vec<LoggedOp>) -> Result<()> {
        log_ops(self.step()?, entries).await?;
        self.sound = true;
        Ok(())
    }

    async fn next_number(&mut self, key: &str) -> Result<u64> {
        let c = self.step()?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO counters (key, value) VALUES ($1, 1)
                 ON CONFLICT (key) DO UPDATE SET value = counters.value + 1 RETURNING value",
            )
            .await?;
        let n: i64 = c.query_one(&stmt, &[&key]).await?.try_get(0)?;
        self.sound = true;
        from_sql_int(n, "counters.value")
    }

    async fn number_states(&mut self, keys: Vec<NumberKey>, device_id: &str, user_id: &str) -> Result<Vec<NumberState>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let out = super::numbers::number_states(&***self.step()?, &keys, device_id, user_id).await?;
        self.sound = true;
        Ok(out)
    }

    async fn record_numbers(&mut self, uses: Vec<(NumberKey, i64, Uuid)>) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let uses: Vec<_> = uses.into_iter().map(|(k, b, id)| (k, b, id.to_string())).collect();
        super::numbers::record_numbers(&***self.step()?, &uses).await?;
        self.sound = true;
        Ok(())
    }

    async fn audit(&mut self, entry: NewAudit) -> Result<u64> {
        let seq = super::audit::append(&***self.step()?, &entry).await?;
        self.sound = true;
        Ok(seq)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        self.step()?.batch_execute("COMMIT").await?;
        // Only now may the connection go back to the pool (when `self` drops).
        self.committed = true;
        self.sound = true;
        Ok(())
    }
}

#[async_trait]
impl RecordStore for PgStorage {
    async fn begin(&self) -> Result<Box<dyn RecordTx>> {
        let (conn, turn) = self.writer().await?.into_parts();
        let mut tx = PgTx { conn: Some(conn), _turn: turn, sound: true, committed: false };
        // Interrupted while waiting for the lock, the unit of work drops and closes its
        // connection: it never returns to the pool inside the transaction.
        let c = tx.step()?;
        c.batch_execute("BEGIN").await?;
        super::lock_writer(&***c).await?;
        tx.sound = true;
        Ok(Box::new(tx))
    }

    async fn pull(&self, visibility: &Visibility, since: u64, limit: u32) -> Result<PullPage> {
        let mut c = self.client().await?;
        pull_page(&mut c, visibility, since, limit).await
    }

    async fn counts(&self) -> Result<RecordCounts> {
        let c = self.client().await?;
        let row = c.query_one("SELECT (SELECT COUNT(*) FROM records), (SELECT COUNT(*) FROM applied_ops)", &[]).await?;
        Ok(RecordCounts { records: from_sql_int(row.try_get(0)?, "count")?, logged_ops: from_sql_int(row.try_get(1)?, "count")? })
    }

    async fn get(&self, id: Uuid) -> Result<Option<Record>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT seq, doc FROM records WHERE id = $1").await?;
        c.query_opt(&stmt, &[&id.to_string()]).await?.map(|r| record_of(r.try_get(0)?, r.try_get(1)?)).transpose()
    }

    async fn cases(&self, visibility: &Visibility) -> Result<Vec<Record>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(CASES_QUERY).await?;
        let mut out = Vec::new();
        for r in c.query(&stmt, &[]).await? {
            let (grid, community, district, assignee): (&str, &str, &str, Option<&str>) =
                (r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?);
            if visible_at(visibility, grid, community, district, assignee) {
                out.push(record_of(r.try_get(0)?, r.try_get(1)?)?);
            }
        }
        Ok(out)
    }

    async fn search(
        &self,
        visibility: &Visibility,
        filter: &RecordFilter,
        sort: SortKey,
        after: Option<&PageAfter>,
        limit: u32,
    ) -> Result<RecordPage> {
        let limit = limit.clamp(1, query::MAX_PAGE);
        let c = self.client().await?;
        super::search::search(&c, visibility, filter, sort, after, limit).await
    }

    async fn count(&self, visibility: &Visibility, filter: &RecordFilter) -> Result<u64> {
        let c = self.client().await?;
        super::search::count(&c, visibility, filter).await
    }

    async fn due_before(&self, at: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>> {
        let c = self.client().await?;
        let stmt =
            c.prepare_cached("SELECT id FROM records WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2").await?;
        let rows = c.query(&stmt, &[&ts(at), &i64::from(limit)]).await?;
        rows.iter().map(|r| parse_uuid(r.try_get(0)?, "records.id")).collect()
    }

    async fn max_clock(&self) -> Result<Option<String>> {
        // Once at start-up: a scan of every record's clock map, done inside PostgreSQL
        // (compared bytewise, as the clocks sort).
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT MAX(c.value COLLATE \"C\") FROM records, jsonb_each_text(records.clocks::jsonb) AS c (key, value)",
                &[],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn photos_of_record(&self, record_id: Uuid) -> Result<Vec<String>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT sha256 FROM record_photos WHERE record_id = $1 ORDER BY sha256").await?;
        let rows = c.query(&stmt, &[&record_id.to_string()]).await?;
        Ok(rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>()?)
    }

    async fn changes(&self, record_id: Uuid) -> Result<Vec<(String, Change)>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT user_id, change FROM applied_ops WHERE record_id = $1 AND change IS NOT NULL AND outcome = 'accepted'",
            )
            .await?;
        let rows = c.query(&stmt, &[&record_id.to_string()]).await?;
        let mut out = rows
            .iter()
            .map(|r| {
                let change = serde_json::from_str::<Change>(r.try_get(1)?).map_err(|_| corrupt("applied_ops.change"))?;
                Ok((r.try_get::<_, String>(0)?, change))
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.1.hlc.cmp(&b.1.hlc));
        Ok(out)
    }

    async fn timeline(&self) -> Result<Timeline> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT (SELECT value FROM meta WHERE key = 'epoch'), (SELECT value FROM meta WHERE key = 'epoch_base'),
                        (SELECT COALESCE(MAX(seq), 0) FROM records)",
            )
            .await?;
        let row = c.query_one(&stmt, &[]).await?;
        let epoch: Option<i64> = row.try_get(0)?;
        let base: Option<i64> = row.try_get(1)?;
        let high: i64 = row.try_get(2)?;
        Ok(Timeline {
            epoch: from_sql_int(epoch.ok_or_else(|| corrupt("meta.epoch"))?, "meta.epoch")?,
            base: from_sql_int(base.ok_or_else(|| corrupt("meta.epoch_base"))?, "meta.epoch_base")?,
            high_water: from_sql_int(high, "records.seq")?,
        })
    }

    async fn evidence(&self, record_id: Uuid) -> Result<Option<(StoredRecord, Vec<SignedOp>)>> {
        let mut c = self.client().await?;
        // The record and its evidence from one snapshot.
        let tx = c.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await?;
        let id = record_id.to_string();
        let stmt = tx.prepare_cached("SELECT seq, doc, clocks FROM records WHERE id = $1").await?;
        let Some(row) = tx.query_opt(&stmt, &[&id]).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let stored = stored_of(&row)?;
        let stmt = tx
            .prepare_cached(
                "SELECT evidence FROM applied_ops WHERE record_id = $1 AND evidence IS NOT NULL AND outcome = 'accepted'",
            )
            .await?;
        let rows = tx.query(&stmt, &[&id]).await?;
        tx.commit().await?;
        let mut ops = rows
            .iter()
            .map(|r| serde_json::from_str::<SignedOp>(r.try_get(0)?).map_err(|_| corrupt("applied_ops.evidence")))
            .collect::<Result<Vec<_>>>()?;
        ops.sort_by(|a, b| a.stamp.cmp(&b.stamp));
        Ok(Some((stored, ops)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::records::{first_version, report_in};
    use gridwork_core::fixtures;

    async fn store() -> PgStorage {
        let url = super::super::testing::cluster().fresh_database().await;
        PgStorage::open(&url).await.expect("open")
    }

    /// A step that fails aborts the transaction: nothing more runs in it, `commit` refuses,
    /// and its connection never returns to the pool (nor does a dropped unit of work's).
    #[tokio::test]
    async fn a_failed_step_abandons_the_unit_of_work() {
        let s = store().await;
        // The seq the next unit of work will take is taken already (as if by a bad import).
        let c = s.client().await.expect("client");
        c.batch_execute(
            "INSERT INTO records (id, kind, seq, grid, community, street, district, status, author, updated_at, doc, clocks)
             VALUES ('x', 'report', 1, 'g', 'c', 's', 'd', 'submitted', 'a', '', '{}', '{}')",
        )
        .await
        .expect("insert");
        drop(c);
        let pooled = s.pool.status().size;

        let mut tx = s.begin().await.expect("begin");
        let err = tx.put_versions(vec![first_version(report_in(fixtures::GRID, fixtures::COMMUNITY, 1), 100)]).await;
        assert!(err.is_err(), "{err:?}");
        assert!(tx.next_number("k").await.is_err(), "nothing more runs in an aborted transaction");
        assert!(tx.commit().await.is_err(), "an aborted transaction does not commit");
        assert_eq!(s.pool.status().size, pooled.max(1) - 1, "its connection left the pool");

        // The writer lock is free again and the sequence did not move.
        let mut tx = s.begin().await.expect("begin");
        assert_eq!(tx.next_number("k").await.expect("n"), 1);
        drop(tx);
        let mut tx = s.begin().await.expect("begin");
        assert_eq!(tx.next_number("k").await.expect("n"), 1, "the dropped unit of work took nothing");
        tx.commit().await.expect("commit");
        let c = s.client().await.expect("client");
        let seq: i64 = c.query_one("SELECT value FROM meta WHERE key = 'record_seq'", &[]).await.expect("meta").get(0);
        assert_eq!(seq, 0);
        let open: i64 = c
            .query_one("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in%'", &[])
            .await
            .expect("activity")
            .get(0);
        assert_eq!(open, 0, "no pooled connection is left inside a transaction");
    }
}
