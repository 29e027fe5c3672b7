//! SQLite implementation of [`Storage`]: one writer connection behind a mutex, a small
//! pool of reader connections, WAL, `synchronous=FULL` (an acknowledged push must survive
//! a power cut). All blocking work runs in `spawn_blocking`.

use super::{Counts, Merger, PhotoRow, PullPage, PushAuthor, Result, SessionRow, Storage, StorageError, User, Visibility};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use gridwork_core::hlc::Hlc;
use gridwork_core::merge::StoredRecord;
use gridwork_core::model::{Record, Role};
use gridwork_core::protocol::{Op, OpResult, Outcome, RejectReason, Rejection};
use gridwork_core::reference::{Category, CategoryKind, OrgLevel, OrgUnit};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use uuid::Uuid;

pub const DB_FILE: &str = "gridwork.db";
const MAX_IDLE_READERS: usize = 4;

/// Schema migrations, applied in order; `PRAGMA user_version` counts the applied ones.
/// Never edit a released entry: append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: initial schema
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) STRICT;
    INSERT INTO meta (key, value) VALUES ('reference_rev', 0);

    CREATE TABLE orgs (
        code   TEXT PRIMARY KEY,
        name   TEXT NOT NULL,
        level  TEXT NOT NULL,
        parent TEXT
    ) STRICT;

    CREATE TABLE categories (
        code   TEXT PRIMARY KEY,
        name   TEXT NOT NULL,
        parent TEXT,
        kind   TEXT NOT NULL
    ) STRICT;

    CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        display_name  TEXT NOT NULL,
        role          TEXT NOT NULL,
        scope         TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL
    ) STRICT;

    CREATE TABLE sessions (
        token_hash  TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES users(id),
        device_id   TEXT NOT NULL,
        device_name TEXT,
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX sessions_user_device ON sessions (user_id, device_id);

    CREATE TABLE records (
        id         TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        seq        INTEGER NOT NULL UNIQUE,
        grid       TEXT NOT NULL,
        community  TEXT NOT NULL,
        street     TEXT NOT NULL,
        district   TEXT NOT NULL,
        status     TEXT NOT NULL,
        author     TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        doc        TEXT NOT NULL,
        clocks     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX records_district_seq ON records (district, seq);
    CREATE INDEX records_community_seq ON records (community, seq);
    CREATE INDEX records_grid_seq ON records (grid, seq);

    CREATE TABLE applied_ops (
        op_id      TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        record_id  TEXT NOT NULL,
        outcome    TEXT NOT NULL,
        seq        INTEGER,
        rejection  TEXT,
        applied_at TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    "#,
    // 2: photos: which records list which photo (for serving by visibility), and which
    // photos have arrived.
    r#"
    CREATE TABLE record_photos (
        sha256    TEXT NOT NULL,
        record_id TEXT NOT NULL,
        PRIMARY KEY (sha256, record_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX record_photos_record ON record_photos (record_id);

    CREATE TABLE photos (
        sha256      TEXT PRIMARY KEY,
        size        INTEGER NOT NULL,
        mime        TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        uploaded_at TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;

    INSERT OR IGNORE INTO record_photos (sha256, record_id)
        SELECT json_extract(p.value, '$.sha256'), r.id
        FROM records r, json_each(r.doc, '$.body.' || r.kind || '.photos') p
        WHERE json_extract(p.value, '$.sha256') IS NOT NULL;
    "#,
];

pub struct SqliteStorage {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// `None` once closed.
    writer: Mutex<Option<Connection>>,
    readers: Mutex<Vec<Connection>>,
    /// Checked by readers without taking the writer's lock (held during long pushes).
    closed: AtomicBool,
}

fn db_err(e: rusqlite::Error) -> StorageError {
    StorageError::Database(e.to_string())
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        db_err(e)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock rolled back its transaction (the Transaction drops);
    // the connection itself is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| StorageError::Corrupt("timestamp".into()))
}

fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(what.to_owned())
}

fn configure(conn: &Connection, writer: bool) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    if writer {
        // journal_mode returns a row; it persists in the file.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Database(format!("journal_mode is {mode}, expected wal")));
        }
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Bring the schema up to date, all pending migrations in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = usize::try_from(current).map_err(|_| corrupt("user_version"))?;
    if current > MIGRATIONS.len() {
        return Err(StorageError::Database(format!(
            "database schema version {current} is newer than this server ({})",
            MIGRATIONS.len()
        )));
    }
    for sql in &MIGRATIONS[current..] {
        tx.execute_batch(sql)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len()))?;
    tx.commit()?;
    Ok(())
}

impl SqliteStorage {
    /// Open (creating if needed) `dir/gridwork.db` and migrate it. Blocking.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(DB_FILE);
        let mut writer = Connection::open(&path)?;
        configure(&writer, true)?;
        migrate(&mut writer)?;
        Ok(SqliteStorage {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(Some(writer)),
                readers: Mutex::new(Vec::new()),
                closed: AtomicBool::new(false),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = lock(&inner.writer);
            let conn = guard.as_mut().ok_or_else(|| StorageError::Database("store is closed".into()))?;
            f(conn)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.take_reader()?;
            let out = f(&conn);
            inner.give_back(conn);
            out
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }
}

impl Inner {
    fn take_reader(&self) -> Result<Connection> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Database("store is closed".into()));
        }
        if let Some(c) = lock(&self.readers).pop() {
            return Ok(c);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        configure(&conn, false)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut pool = lock(&self.readers);
        if pool.len() < MAX_IDLE_READERS && !self.closed.load(Ordering::Acquire) {
            pool.push(conn);
        }
    }
}

fn bump_reference_rev(conn: &Connection) -> Result<()> {
    conn.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'reference_rev'")?.execute([])?;
    Ok(())
}

const USER_COLS: &str = "id, username, display_name, role, scope, password_hash, created_at";

fn user_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<(String, String, String, String, String, String, String)> {
    Ok((r.get(at)?, r.get(at + 1)?, r.get(at + 2)?, r.get(at + 3)?, r.get(at + 4)?, r.get(at + 5)?, r.get(at + 6)?))
}

type UserTuple = (String, String, String, String, String, String, String);

fn user_from_tuple(t: UserTuple) -> Result<User> {
    let (id, username, display_name, role, scope, password_hash, created_at) = t;
    Ok(User {
        id,
        username,
        display_name,
        role: Role::parse(&role).ok_or_else(|| corrupt("users.role"))?,
        scope,
        password_hash,
        created_at: parse_ts(&created_at)?,
    })
}

fn user_where(conn: &Connection, column: &str, value: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE {column} = ?1");
    let t = conn.prepare_cached(&sql)?.query_row([value], |r| user_from_row(r, 0)).optional()?;
    t.map(user_from_tuple).transpose()
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_from_sql(seq: i64) -> Result<u64> {
    u64::try_from(seq).map_err(|_| corrupt("seq"))
}

fn load_record(seq: i64, doc: &str, clocks: &str) -> Result<StoredRecord> {
    let mut record: Record = serde_json::from_str(doc).map_err(|_| corrupt("records.doc"))?;
    record.seq = Some(seq_from_sql(seq)?);
    let clocks: BTreeMap<String, Hlc> = serde_json::from_str(clocks).map_err(|_| corrupt("records.clocks"))?;
    Ok(StoredRecord { record, clocks })
}

/// The stored answer for an op id.
struct AppliedOp {
    user_id: String,
    record_id: String,
    outcome: String,
    seq: Option<i64>,
    rejection: Option<String>,
}

fn stored_result(op_id: Uuid, a: &AppliedOp) -> Result<OpResult> {
    let outcome = match a.outcome.as_str() {
        "accepted" => Outcome::Accepted,
        "rejected" => Outcome::Rejected,
        _ => return Err(corrupt("applied_ops.outcome")),
    };
    let rejection = match &a.rejection {
        Some(j) => Some(serde_json::from_str::<Rejection>(j).map_err(|_| corrupt("applied_ops.rejection"))?),
        None => None,
    };
    Ok(OpResult { op_id, outcome, seq: a.seq.map(seq_from_sql).transpose()?, rejection })
}

fn push_batch(conn: &mut Connection, author: &PushAuthor, ops: Vec<Op>, merger: &dyn Merger) -> Result<Vec<OpResult>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = ts(Utc::now());
    let mut results = Vec::with_capacity(ops.len());
    {
        // Global, strictly increasing: the seq index makes MAX() a single lookup.
        let mut last_seq: i64 = tx.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM records")?.query_row([], |r| r.get(0))?;
        let mut get_op =
            tx.prepare_cached("SELECT user_id, record_id, outcome, seq, rejection FROM applied_ops WHERE op_id = ?1")?;
        let mut get_rec = tx.prepare_cached("SELECT seq, doc, clocks FROM records WHERE id = ?1")?;
        let mut put_rec = tx.prepare_cached(
            "INSERT INTO records (id, kind, seq, grid, community, street, district, status, author, updated_at, doc, clocks)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, seq = excluded.seq, grid = excluded.grid,
                community = excluded.community, street = excluded.street, district = excluded.district,
                status = excluded.status, author = excluded.author, updated_at = excluded.updated_at,
                doc = excluded.doc, clocks = excluded.clocks",
        )?;
        let mut del_photos = tx.prepare_cached("DELETE FROM record_photos WHERE record_id = ?1")?;
        let mut put_photo = tx.prepare_cached("INSERT INTO record_photos (sha256, record_id) VALUES (?1, ?2)")?;
        let mut put_op = tx.prepare_cached(
            "INSERT INTO applied_ops (op_id, user_id, record_id, outcome, seq, rejection, applied_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;

        for op in ops {
            let op_key = op.op_id.to_string();
            let record_key = op.record_id.to_string();
            let seen = get_op
                .query_row([&op_key], |r| {
                    Ok(AppliedOp {
                        user_id: r.get(0)?,
                        record_id: r.get(1)?,
                        outcome: r.get(2)?,
                        seq: r.get(3)?,
                        rejection: r.get(4)?,
                    })
                })
                .optional()?;
            if let Some(seen) = seen {
                if seen.user_id != author.user_id || seen.record_id != record_key {
                    // Not stored: the op id stays bound to its first use.
                    results.push(OpResult {
                        op_id: op.op_id,
                        outcome: Outcome::Rejected,
                        seq: None,
                        rejection: Some(Rejection::new(RejectReason::OpIdConflict, None, "操作编号已被其他账号或其他记录使用")),
                    });
                } else {
                    results.push(stored_result(op.op_id, &seen)?);
                }
                continue;
            }

            let current = get_rec
                .query_row([&record_key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                .optional()?
                .map(|(seq, doc, clocks)| load_record(seq, &doc, &clocks))
                .transpose()?;

            let result = match merger.apply(current.as_ref(), &op) {
                Ok((next, place)) => {
                    let unchanged = current.as_ref().is_some_and(|cur| cur.record == next.record && cur.clocks == next.clocks);
                    let seq = match (&current, unchanged) {
                        (Some(cur), true) => seq_to_sql(cur.record.seq.unwrap_or(0)),
                        _ => {
                            last_seq += 1;
                            let mut doc = next.record.clone();
                            doc.seq = None;
                            let doc = serde_json::to_string(&doc).map_err(|e| StorageError::Corrupt(e.to_string()))?;
                            let clocks = serde_json::to_string(&next.clocks).map_err(|e| StorageError::Corrupt(e.to_string()))?;
                            del_photos.execute([&record_key])?;
                            let mut hashes: Vec<&str> = next.record.body.photos().iter().map(|p| p.sha256.as_str()).collect();
                            hashes.sort_unstable();
                            hashes.dedup();
                            for sha in hashes {
                                put_photo.execute(params![sha, record_key])?;
                            }
                            put_rec.execute(params![
                                record_key,
                                next.record.kind().as_str(),
                                last_seq,
                                place.grid,
                                place.community,
                                place.street,
                                place.district,
                                next.record.status.as_str(),
                                next.record.author,
                                ts(next.record.updated_at),
                                doc,
                                clocks,
                            ])?;
                            last_seq
                        }
                    };
                    put_op.execute(params![op_key, author.user_id, record_key, "accepted", seq, Option::<String>::None, now])?;
                    OpResult { op_id: op.op_id, outcome: Outcome::Accepted, seq: Some(seq_from_sql(seq)?), rejection: None }
                }
                Err(rejection) => {
                    let json = serde_json::to_string(&rejection).map_err(|e| StorageError::Corrupt(e.to_string()))?;
                    put_op.execute(params![op_key, author.user_id, record_key, "rejected", Option::<i64>::None, json, now])?;
                    OpResult { op_id: op.op_id, outcome: Outcome::Rejected, seq: None, rejection: Some(rejection) }
                }
            };
            results.push(result);
        }
    }
    tx.commit()?;
    Ok(results)
}

fn pull_page(conn: &Connection, visibility: &Visibility, since: u64, limit: u32) -> Result<PullPage> {
    const COLS: &str = "SELECT seq, doc FROM records";
    let since = seq_to_sql(since);
    // One more than asked, to know whether more remain.
    let take = i64::from(limit) + 1;
    let (sql, key) = match visibility {
        Visibility::All => (format!("{COLS} WHERE seq > ?1 ORDER BY seq LIMIT ?2"), None),
        Visibility::District(d) => (format!("{COLS} WHERE district = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2"), Some(d)),
        Visibility::Community(c) => (format!("{COLS} WHERE community = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2"), Some(c)),
        Visibility::Grid(g) => (format!("{COLS} WHERE grid = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2"), Some(g)),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let map = |r: &rusqlite::Row<'_>| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?));
    let rows: Vec<(i64, String)> = match key {
        None => stmt.query_map(params![since, take], map)?.collect::<rusqlite::Result<_>>()?,
        Some(k) => stmt.query_map(params![since, take, k], map)?.collect::<rusqlite::Result<_>>()?,
    };
    let has_more = rows.len() > limit as usize;
    let mut records = Vec::with_capacity(rows.len().min(limit as usize));
    for (seq, doc) in rows.into_iter().take(limit as usize) {
        let mut rec: Record = serde_json::from_str(&doc).map_err(|_| corrupt("records.doc"))?;
        rec.seq = Some(seq_from_sql(seq)?);
        records.push(rec);
    }
    Ok(PullPage { records, has_more })
}

/// One indexed lookup: the photo's index rows (primary key prefix), joined to their
/// records by primary key, filtered by the caller's scope.
fn photo_visible_query(visibility: &Visibility) -> (&'static str, Option<&str>) {
    match visibility {
        Visibility::All => ("SELECT EXISTS (SELECT 1 FROM record_photos WHERE sha256 = ?1)", None),
        Visibility::District(d) => (
            "SELECT EXISTS (SELECT 1 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                            WHERE rp.sha256 = ?1 AND r.district = ?2)",
            Some(d.as_str()),
        ),
        Visibility::Community(c) => (
            "SELECT EXISTS (SELECT 1 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                            WHERE rp.sha256 = ?1 AND r.community = ?2)",
            Some(c.as_str()),
        ),
        Visibility::Grid(g) => (
            "SELECT EXISTS (SELECT 1 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                            WHERE rp.sha256 = ?1 AND r.grid = ?2)",
            Some(g.as_str()),
        ),
    }
}

fn level_from_str(s: &str) -> Result<OrgLevel> {
    OrgLevel::parse(s).ok_or_else(|| corrupt("orgs.level"))
}

fn category_kind_str(k: CategoryKind) -> &'static str {
    match k {
        CategoryKind::Component => "component",
        CategoryKind::Matter => "matter",
    }
}

fn category_kind_from_str(s: &str) -> Result<CategoryKind> {
    match s {
        "component" => Ok(CategoryKind::Component),
        "matter" => Ok(CategoryKind::Matter),
        _ => Err(corrupt("categories.kind")),
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn insert_user(&self, user: User) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let sql = format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            let inserted = tx.prepare_cached(&sql)?.execute(params![
                user.id,
                user.username,
                user.display_name,
                user.role.as_str(),
                user.scope,
                user.password_hash,
                ts(user.created_at),
            ]);
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StorageError::DuplicateUsername),
                other => other?,
            };
            bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let username = username.to_owned();
        self.read(move |conn| user_where(conn, "username", &username)).await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let id = id.to_owned();
        self.read(move |conn| user_where(conn, "id", &id)).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.read(|conn| {
            let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([], |r| user_from_row(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(user_from_tuple).collect()
        })
        .await
    }

    async fn create_session(&self, s: SessionRow) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, device_id, device_name, created_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                s.token_hash,
                s.user_id,
                s.device_id,
                s.device_name,
                ts(s.created_at),
                s.revoked_at.map(ts)
            ])?;
            Ok(())
        })
        .await
    }

    async fn find_live_session(&self, token_hash: &str) -> Result<Option<(SessionRow, User)>> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT s.token_hash, s.user_id, s.device_id, s.device_name, s.created_at,
                        u.{}
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.revoked_at IS NULL",
                USER_COLS.replace(", ", ", u.")
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row([&token_hash], |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, String>(4)?,
                        ),
                        user_from_row(r, 5)?,
                    ))
                })
                .optional()?;
            let Some(((token_hash, user_id, device_id, device_name, created_at), user)) = row else { return Ok(None) };
            let session =
                SessionRow { token_hash, user_id, device_id, device_name, created_at: parse_ts(&created_at)?, revoked_at: None };
            Ok(Some((session, user_from_tuple(user)?)))
        })
        .await
    }

    async fn revoke_session(&self, token_hash: &str) -> Result<bool> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            let n = conn
                .prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL")?
                .execute(params![token_hash, ts(Utc::now())])?;
            Ok(n > 0)
        })
        .await
    }

    async fn revoke_user_sessions(&self, user_id: &str, device_id: Option<&str>) -> Result<u64> {
        let user_id = user_id.to_owned();
        let device_id = device_id.map(str::to_owned);
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE sessions SET revoked_at = ?3
                     WHERE user_id = ?1 AND (?2 IS NULL OR device_id = ?2) AND revoked_at IS NULL",
                )?
                .execute(params![user_id, device_id, ts(Utc::now())])?;
            Ok(n as u64)
        })
        .await
    }

    async fn put_orgs(&self, orgs: Vec<OrgUnit>) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO orgs (code, name, level, parent) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, parent = excluded.parent",
                )?;
                for o in &orgs {
                    stmt.execute(params![o.code, o.name, o.level.as_str(), o.parent])?;
                }
            }
            bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn put_categories(&self, categories: Vec<Category>) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO categories (code, name, parent, kind) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent = excluded.parent, kind = excluded.kind",
                )?;
                for c in &categories {
                    stmt.execute(params![c.code, c.name, c.parent, category_kind_str(c.kind)])?;
                }
            }
            bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn orgs(&self) -> Result<Vec<OrgUnit>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT code, name, level, parent FROM orgs ORDER BY code")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(code, name, level, parent)| Ok(OrgUnit { code, name, level: level_from_str(&level)?, parent }))
                .collect()
        })
        .await
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT code, name, parent, kind FROM categories ORDER BY code")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(code, name, parent, kind)| Ok(Category { code, name, parent, kind: category_kind_from_str(&kind)? }))
                .collect()
        })
        .await
    }

    async fn reference_revision(&self) -> Result<u64> {
        self.read(|conn| {
            let v: i64 =
                conn.prepare_cached("SELECT value FROM meta WHERE key = 'reference_rev'")?.query_row([], |r| r.get(0))?;
            u64::try_from(v).map_err(|_| corrupt("meta.reference_rev"))
        })
        .await
    }

    async fn push(&self, author: &PushAuthor, ops: Vec<Op>, merger: Arc<dyn Merger>) -> Result<Vec<OpResult>> {
        let author = author.clone();
        self.write(move |conn| push_batch(conn, &author, ops, merger.as_ref())).await
    }

    async fn pull(&self, visibility: &Visibility, since: u64, limit: u32) -> Result<PullPage> {
        let visibility = visibility.clone();
        self.read(move |conn| pull_page(conn, &visibility, since, limit)).await
    }

    async fn counts(&self) -> Result<Counts> {
        self.read(|conn| {
            let (records, applied_ops, users, live_sessions): (i64, i64, i64, i64) = conn.query_row(
                "SELECT (SELECT COUNT(*) FROM records), (SELECT COUNT(*) FROM applied_ops),
                        (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let n = |v: i64| u64::try_from(v).unwrap_or(0);
            Ok(Counts { records: n(records), applied_ops: n(applied_ops), users: n(users), live_sessions: n(live_sessions) })
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

    async fn photo_visible(&self, sha256: &str, visibility: &Visibility) -> Result<bool> {
        let sha256 = sha256.to_owned();
        let visibility = visibility.clone();
        self.read(move |conn| {
            let (sql, key) = photo_visible_query(&visibility);
            let mut stmt = conn.prepare_cached(sql)?;
            let found: bool = match key {
                None => stmt.query_row([&sha256], |r| r.get(0))?,
                Some(k) => stmt.query_row(params![sha256, k], |r| r.get(0))?,
            };
            Ok(found)
        })
        .await
    }

    async fn photo_uploaded(&self, sha256: &str) -> Result<Option<PhotoRow>> {
        let sha256 = sha256.to_owned();
        self.read(move |conn| {
            let row = conn
                .prepare_cached("SELECT sha256, size, mime, uploaded_by, uploaded_at FROM photos WHERE sha256 = ?1")?
                .query_row([&sha256], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .optional()?;
            row.map(|(sha256, size, mime, uploaded_by, at)| {
                Ok(PhotoRow {
                    sha256,
                    size: u64::try_from(size).map_err(|_| corrupt("photos.size"))?,
                    mime,
                    uploaded_by,
                    uploaded_at: parse_ts(&at)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn record_photo_uploaded(&self, photo: PhotoRow) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO photos (sha256, size, mime, uploaded_by, uploaded_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (sha256) DO NOTHING",
            )?
            .execute(params![
                photo.sha256,
                i64::try_from(photo.size).map_err(|_| corrupt("photos.size"))?,
                photo.mime,
                photo.uploaded_by,
                ts(photo.uploaded_at)
            ])?;
            Ok(())
        })
        .await
    }

    async fn close(&self) -> Result<()> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            inner.closed.store(true, Ordering::Release);
            lock(&inner.readers).clear();
            if let Some(conn) = lock(&inner.writer).take() {
                // Fold the WAL back into the main file so the directory is self-contained.
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                conn.close().map_err(|(_, e)| db_err(e))?;
            }
            Ok(())
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod conformance {
        use super::*;

        async fn open(dir: PathBuf) -> Arc<dyn Storage> {
            Arc::new(SqliteStorage::open(&dir).expect("open"))
        }

        crate::storage::conformance::storage_conformance!(open);
    }

    #[test]
    fn opens_with_wal_and_current_schema_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open(dir.path()).expect("open");
        let guard = lock(&s.inner.writer);
        let conn = guard.as_ref().expect("open writer");
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("pragma");
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("pragma");
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("pragma");
        assert_eq!(mode, "wal");
        assert_eq!(version as usize, MIGRATIONS.len());
        assert_eq!(sync, 2, "synchronous=FULL");
    }

    #[test]
    fn refuses_a_database_from_a_newer_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(SqliteStorage::open(dir.path()).expect("open"));
        let conn = Connection::open(dir.path().join(DB_FILE)).expect("raw open");
        conn.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len() + 1)).expect("bump");
        drop(conn);
        assert!(SqliteStorage::open(dir.path()).is_err());
    }

    #[test]
    fn pull_uses_the_visibility_indexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open(dir.path()).expect("open");
        let guard = lock(&s.inner.writer);
        let conn = guard.as_ref().expect("open writer");
        for (col, index) in
            [("district", "records_district_seq"), ("community", "records_community_seq"), ("grid", "records_grid_seq")]
        {
            let sql =
                format!("EXPLAIN QUERY PLAN SELECT seq, doc FROM records WHERE {col} = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2");
            let plan: Vec<String> = conn
                .prepare(&sql)
                .expect("prepare")
                .query_map(params![0, 10, "x"], |r| r.get::<_, String>(3))
                .expect("plan")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            let plan = plan.join(" | ");
            assert!(plan.contains(index) && !plan.contains("TEMP B-TREE"), "{col}: {plan}");
        }
        let plan: String = conn
            .query_row("EXPLAIN QUERY PLAN SELECT seq, doc FROM records WHERE seq > 0 ORDER BY seq LIMIT 10", [], |r| r.get(3))
            .expect("plan");
        assert!(!plan.contains("SCAN records") || plan.contains("INDEX"), "{plan}");
    }

    /// Every table and index definition, normalised, for comparing schemas.
    fn schema_of(conn: &Connection) -> Vec<(String, String, String)> {
        conn.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
            .expect("prepare")
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .expect("query")
            .map(|row| {
                let (t, n, sql) = row.expect("row");
                (t, n, sql.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .collect()
    }

    #[tokio::test]
    async fn upgrades_a_v1_database_with_its_data() {
        use crate::storage::conformance::{TestMerger, report_with_photos, sha};
        use gridwork_core::fixtures;

        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (sha('a'), sha('b'));
        let rec = report_with_photos(fixtures::GRID, fixtures::COMMUNITY, 1, &[a.clone(), b.clone()]);
        let plain = fixtures::records().remove(1);
        {
            // A database as a v1 server left it: the frozen schema, a user, a session, records.
            let conn = Connection::open(dir.path().join(DB_FILE)).expect("raw open");
            conn.execute_batch(include_str!("fixtures/schema_v1.sql")).expect("v1 schema");
            conn.execute_batch("PRAGMA user_version = 1").expect("version");
            conn.execute(
                &format!("INSERT INTO users ({USER_COLS}) VALUES ('u1', 'grid.a', '网格员', 'grid_worker', ?1, 'x', '2026-11-01T08:00:00.000Z')"),
                [fixtures::GRID],
            )
            .expect("user");
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, device_id, created_at) VALUES ('h1', 'u1', 'dev', '2026-11-01T08:00:00.000Z')",
                [],
            )
            .expect("session");
            let merger = TestMerger::for_user("u1");
            for (seq, r) in [(1i64, rec.clone()), (2, plain.clone())] {
                let op = crate::storage::conformance::create(r, 100);
                let (stored, place) = merger.apply(None, &op).expect("apply");
                let mut doc = stored.record.clone();
                doc.seq = None;
                conn.execute(
                    "INSERT INTO records (id, kind, seq, grid, community, street, district, status, author, updated_at, doc, clocks)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        stored.record.id.to_string(),
                        stored.record.kind().as_str(),
                        seq,
                        place.grid,
                        place.community,
                        place.street,
                        place.district,
                        stored.record.status.as_str(),
                        stored.record.author,
                        ts(stored.record.updated_at),
                        serde_json::to_string(&doc).expect("doc"),
                        serde_json::to_string(&stored.clocks).expect("clocks"),
                    ],
                )
                .expect("record");
            }
        }

        let s = SqliteStorage::open(dir.path()).expect("open upgrades");
        {
            let guard = lock(&s.inner.writer);
            let conn = guard.as_ref().expect("writer");
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("pragma");
            assert_eq!(version as usize, MIGRATIONS.len());
            let fresh_dir = tempfile::tempdir().expect("tempdir");
            let fresh = SqliteStorage::open(fresh_dir.path()).expect("fresh");
            let fresh_guard = lock(&fresh.inner.writer);
            assert_eq!(
                schema_of(conn),
                schema_of(fresh_guard.as_ref().expect("writer")),
                "upgraded schema equals a new database's"
            );
        }
        assert!(s.user_by_username("grid.a").await.expect("user").is_some());
        assert!(s.find_live_session("h1").await.expect("session").is_some());
        let page = s.pull(&Visibility::All, 0, 10).await.expect("pull");
        assert_eq!(page.records.len(), 2);
        assert_eq!(page.records[0].body, rec.body);
        // The photo index was filled from the existing records.
        assert_eq!(s.photos_of_record(rec.id).await.expect("photos"), [a.clone(), b]);
        assert!(s.photos_of_record(plain.id).await.expect("photos").is_empty());
        assert!(s.photo_visible(&a, &Visibility::Grid(fixtures::GRID.into())).await.expect("visible"));
        assert!(!s.photo_visible(&a, &Visibility::Grid(fixtures::OTHER_GRID.into())).await.expect("visible"));
        assert_eq!(s.photo_uploaded(&a).await.expect("uploaded"), None);
        // And the store goes on working: the sequence continues.
        let next = s
            .push(
                &PushAuthor { user_id: "u1".into() },
                vec![crate::storage::conformance::describe(rec.id, "升级后修改", 200)],
                TestMerger::for_user("u1"),
            )
            .await
            .expect("push");
        assert_eq!(next[0].seq, Some(3));
        s.close().await.expect("close");
    }

    #[test]
    fn photo_visibility_uses_the_indexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open(dir.path()).expect("open");
        let guard = lock(&s.inner.writer);
        let conn = guard.as_ref().expect("open writer");
        for v in
            [Visibility::All, Visibility::Grid("g".into()), Visibility::Community("c".into()), Visibility::District("d".into())]
        {
            let (sql, key) = photo_visible_query(&v);
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("prepare");
            let detail = |r: &rusqlite::Row<'_>| r.get::<_, String>(3);
            let plan: Vec<String> = match key {
                None => stmt.query_map(["x"], detail),
                Some(k) => stmt.query_map(["x", k], detail),
            }
            .expect("plan")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
            let table_scans = plan.iter().filter(|step| step.starts_with("SCAN") && *step != "SCAN CONSTANT ROW").count();
            let plan = plan.join(" | ");
            assert!(
                table_scans == 0
                    && (plan.contains("SEARCH record_photos USING PRIMARY KEY") || plan.contains("SEARCH rp USING PRIMARY KEY")),
                "{v:?}: {plan}"
            );
        }
    }
}
