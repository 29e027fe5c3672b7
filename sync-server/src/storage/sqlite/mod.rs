//! The SQLite backend: one file `<data>/gridwork.db` in WAL mode with `synchronous=FULL`
//! (an acknowledged push survives a power cut), one writer connection and a small pool of
//! readers. All blocking work runs on tokio's blocking pool. One file per aggregate:
//! [`accounts`], [`reference`], [`records`], [`photos`]; the schema is `migrations/*.sql`.

mod accounts;
mod audit;
pub mod backup;
mod clients;
mod enrolments;
mod leases;
mod moderation;
mod numbers;
mod photos;
mod records;
mod reference;
mod search;

use super::{Backend, Result, StorageError};
use async_trait::async_trait;
use gridwork_core::sql::MigrateError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::OwnedMutexGuard;

pub const DB_FILE: &str = "gridwork.db";
const MAX_IDLE_READERS: usize = 4;

/// The schema, one migration per file; `PRAGMA user_version` counts the applied ones.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_photos.sql"),
    include_str!("migrations/003_cases.sql"),
    include_str!("migrations/004_trust.sql"),
    include_str!("migrations/005_open311.sql"),
    include_str!("migrations/006_numbers.sql"),
    include_str!("migrations/007_console.sql"),
    include_str!("migrations/008_accounts.sql"),
    include_str!("migrations/009_enrolment.sql"),
    include_str!("migrations/010_moderation.sql"),
    include_str!("migrations/011_changes.sql"),
    include_str!("migrations/012_evidence.sql"),
    include_str!("migrations/013_timeline.sql"),
    include_str!("migrations/014_leases.sql"),
    include_str!("migrations/015_last_sync.sql"),
];

pub struct SqliteStorage {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// The one writer; `None` once closed. Held across a unit of work's awaits.
    writer: Arc<tokio::sync::Mutex<Option<Connection>>>,
    readers: Mutex<Vec<Connection>>,
    /// Checked by readers without waiting for the writer (held during long pushes).
    closed: AtomicBool,
}

pub(crate) type WriterGuard = OwnedMutexGuard<Option<Connection>>;

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Database(e.to_string())
    }
}

impl From<MigrateError> for StorageError {
    fn from(e: MigrateError) -> Self {
        StorageError::Database(e.to_string())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock rolled back its transaction; the pool is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn task_failed(e: tokio::task::JoinError) -> StorageError {
    StorageError::Task(e.to_string())
}

pub(crate) fn closed() -> StorageError {
    StorageError::Database("store is closed".into())
}

pub(crate) use super::columns::{corrupt, from_sql_int, parse_ts, to_sql_int, ts};

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

impl SqliteStorage {
    /// Open (creating if needed) `dir/gridwork.db` and migrate it. Blocking.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(DB_FILE);
        let mut writer = Connection::open(&path)?;
        configure(&writer, true)?;
        gridwork_core::sql::migrate(&mut writer, MIGRATIONS)?;
        Ok(SqliteStorage {
            inner: Arc::new(Inner {
                path,
                writer: Arc::new(tokio::sync::Mutex::new(Some(writer))),
                readers: Mutex::new(Vec::new()),
                closed: AtomicBool::new(false),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The writer, exclusively, for a unit of work.
    pub(crate) async fn writer(&self) -> WriterGuard {
        self.inner.writer.clone().lock_owned().await
    }

    /// Run `f` on the writer connection (on the blocking pool).
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let mut guard = self.writer().await;
        tokio::task::spawn_blocking(move || f(guard.as_mut().ok_or_else(closed)?)).await.map_err(task_failed)?
    }

    /// Run `f` on a reader connection (WAL: readers never wait for the writer).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
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
        .map_err(task_failed)?
    }

    /// The writer connection, for tests that look at the schema or query plans.
    #[cfg(any(test, feature = "test-support"))]
    pub async fn with_writer<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let guard = self.writer().await;
        f(guard.as_ref().expect("open store"))
    }
}

impl Inner {
    fn take_reader(&self) -> Result<Connection> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
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

#[async_trait]
impl Backend for SqliteStorage {
    async fn close(&self) -> Result<()> {
        self.inner.closed.store(true, Ordering::Release);
        lock(&self.inner.readers).clear();
        let mut guard = self.writer().await;
        tokio::task::spawn_blocking(move || {
            if let Some(conn) = guard.take() {
                // Fold the WAL back into the main file so the directory is self-contained.
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                conn.close().map_err(|(_, e)| StorageError::from(e))?;
            }
            Ok(())
        })
        .await
        .map_err(task_failed)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{AccountStore, PhotoStore, RecordStore, Stores, Visibility};

    mod conformance {
        use super::*;

        async fn open(dir: PathBuf) -> Stores {
            Stores::of(Arc::new(SqliteStorage::open(&dir).expect("open")))
        }

        crate::storage_conformance!(open);
    }

    #[tokio::test]
    async fn opens_with_wal_and_current_schema_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open(dir.path()).expect("open");
        let (mode, version, sync) = s
            .with_writer(|conn| {
                let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("pragma");
                let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("pragma");
                let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("pragma");
                (mode, version, sync)
            })
            .await;
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
        use crate::conformance::photos::{report_with_photos, sha};
        use crate::conformance::push;
        use crate::conformance::records::{describe, first_version};
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
                "INSERT INTO users (id, username, display_name, role, scope, password_hash, created_at)
                 VALUES ('u1', 'grid.a', '网格员', 'grid_worker', ?1, 'x', '2026-11-01T08:00:00.000Z')",
                [fixtures::GRID],
            )
            .expect("user");
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, device_id, created_at) VALUES ('h1', 'u1', 'dev', '2026-11-01T08:00:00.000Z')",
                [],
            )
            .expect("session");
            for (seq, r) in [(1i64, rec.clone()), (2, plain.clone())] {
                let v = first_version(r, 100);
                let mut doc = v.state.record.clone();
                doc.seq = None;
                conn.execute(
                    "INSERT INTO records (id, kind, seq, grid, community, street, district, status, author, updated_at, doc, clocks)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    rusqlite::params![
                        v.state.record.id.to_string(),
                        v.state.record.kind().as_str(),
                        seq,
                        v.place.grid,
                        v.place.community,
                        v.place.street,
                        v.place.district,
                        v.state.record.status.as_str(),
                        v.state.record.author,
                        ts(v.state.record.updated_at),
                        serde_json::to_string(&doc).expect("doc"),
                        serde_json::to_string(&v.state.clocks).expect("clocks"),
                    ],
                )
                .expect("record");
            }
        }

        let s = SqliteStorage::open(dir.path()).expect("open upgrades");
        let fresh_dir = tempfile::tempdir().expect("tempdir");
        let fresh = SqliteStorage::open(fresh_dir.path()).expect("fresh");
        let (version, upgraded) = s
            .with_writer(|conn| {
                (conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).expect("pragma"), schema_of(conn))
            })
            .await;
        assert_eq!(version as usize, MIGRATIONS.len());
        assert_eq!(upgraded, fresh.with_writer(schema_of).await, "upgraded schema equals a new database's");
        assert!(s.user_by_username("grid.a").await.expect("user").is_some());
        assert!(s.find_live_session("h1").await.expect("session").is_some());
        let page = s.pull(&Visibility::All, 0, 10).await.expect("pull");
        assert_eq!(page.records.len(), 2);
        assert_eq!(page.records[0].body, rec.body);
        // The photo index was filled from the existing records.
        assert_eq!(s.photos_of_record(rec.id).await.expect("photos"), [a.clone(), b]);
        assert!(s.photos_of_record(plain.id).await.expect("photos").is_empty());
        assert!(
            s.photo_sight(&a, &Visibility::Grid(fixtures::GRID.into())).await.expect("visible")
                == crate::storage::PhotoSight::Vouched
        );
        assert!(
            s.photo_sight(&a, &Visibility::Grid(fixtures::OTHER_GRID.into())).await.expect("visible")
                != crate::storage::PhotoSight::Vouched
        );
        assert_eq!(s.photo_uploaded(&a).await.expect("uploaded"), None);
        // And the store goes on working: the sequence continues.
        let stores = Stores::of(Arc::new(s));
        // (The v1 file above has no reference data: the push path checks grids against it.)
        let data = crate::conformance::reference();
        crate::storage::ReferenceStore::put_orgs(stores.reference.as_ref(), data.orgs).await.expect("orgs");
        crate::storage::ReferenceStore::put_categories(stores.reference.as_ref(), data.categories).await.expect("categories");
        let next = push(&stores, "u1", vec![describe(rec.id, "升级后修改", 200)]).await;
        assert_eq!(next[0].seq, Some(3));
        stores.close().await.expect("close");
    }

    #[tokio::test]
    async fn the_audit_trail_refuses_changes_and_a_tampered_entry_is_found() {
        use crate::domain::clock::{ServerClock, WallClock};
        use crate::service::AuditService;
        use crate::storage::AuditStore;
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Arc::new(SqliteStorage::open(dir.path()).expect("open"));
        let clock = Arc::new(ServerClock::new(Arc::new(WallClock::system()), None));
        let audit = AuditService::new(s.clone(), clock);
        for i in 0..4 {
            audit.record("u1", "sign_in", None, serde_json::json!({ "i": i })).await.expect("record");
        }
        assert_eq!(audit.verify().await.expect("verify").first_broken, None);
        let refused = s
            .with_writer(|conn| {
                (
                    conn.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2", []).is_err(),
                    conn.execute("DELETE FROM audit_log WHERE seq = 4", []).is_err(),
                )
            })
            .await;
        assert_eq!(refused, (true, true), "append-only");
        // Someone with the file drops the guard and edits an entry: the chain shows where.
        s.with_writer(|conn| {
            conn.execute_batch(
                "DROP TRIGGER audit_log_no_update;
                 UPDATE audit_log SET detail = '{\"i\":9}' WHERE seq = 3;",
            )
            .expect("tamper")
        })
        .await;
        let report = audit.verify().await.expect("verify");
        assert_eq!((report.checked, report.first_broken), (2, Some(3)));
        assert_eq!(s.audit_page(0, 10, None).await.expect("page").len(), 4);
    }
}
