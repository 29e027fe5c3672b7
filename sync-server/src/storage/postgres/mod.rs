//! The PostgreSQL backend (`--database postgres://…`): for a city that outgrows one machine,
//! several server processes share one database. A pool of connections (deadpool-postgres);
//! the schema is `migrations/*.sql`, applied at start under an advisory lock so that
//! instances starting together migrate once. One file per aggregate, as in [`super::sqlite`].
//!
//! Every write transaction that reads before it writes takes one transaction-scoped
//! advisory lock ([`WRITER_LOCK`]), as SQLite has one writer connection. Record sequence
//! numbers are then handed out and committed in the same order, so a pull that sees seq n
//! has seen every committed seq below it (the cursor is exact), and the audit chain's head
//! cannot race. Timestamps are stored as the same fixed-width UTC text as in SQLite (they
//! sort as text); every text column is `COLLATE "C"` so that ordering never
//! depends on the database's locale.

mod accounts;
mod audit;
mod clients;
mod enrolments;
pub mod import;
mod leases;
mod moderation;
mod numbers;
mod photos;
mod records;
mod reference;
mod search;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

use super::{Backend, Result, StorageError};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use std::sync::Arc;

/// The schema, one migration per file; the table `schema_version` counts the applied ones.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_leases.sql"),
    include_str!("migrations/003_last_sync.sql"),
];

/// Held (transaction-scoped) by every write transaction that reads before it writes: the
/// equivalent of SQLite's one writer connection (see the module doc).
pub(crate) const WRITER_LOCK: i64 = 0x6772_6964_0001;
/// Held while migrating, so that instances starting together migrate once.
const MIGRATION_LOCK: i64 = 0x6772_6964_0002;
/// Connections per server process.
const POOL_SIZE: usize = 16;

pub struct PgStorage {
    pool: Pool,
    /// This process's turn at writing: taken before a connection for a write, so that at
    /// most one connection of the pool waits for or holds [`WRITER_LOCK`] and the others
    /// stay free for reads (a unit of work reads through the pool too: without this, more
    /// pushers than connections would each hold one while waiting, and none could finish).
    writers: Arc<tokio::sync::Mutex<()>>,
}

/// A pooled connection for a write transaction, held with this process's turn at writing
/// ([`PgStorage::writer`]).
pub(crate) struct WriteClient {
    client: deadpool_postgres::Object,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl std::ops::Deref for WriteClient {
    type Target = deadpool_postgres::Object;
    fn deref(&self) -> &Self::Target {
        &self.client
    }
}

impl std::ops::DerefMut for WriteClient {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.client
    }
}

impl WriteClient {
    /// The connection and the turn, apart (a unit of work keeps both until it ends).
    pub(crate) fn into_parts(self) -> (deadpool_postgres::Object, tokio::sync::OwnedMutexGuard<()>) {
        (self.client, self._turn)
    }
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server's message (never the connection string: it may hold a password).
        match e.as_db_error() {
            Some(db) => StorageError::Database(format!("{}: {}", db.code().code(), db.message())),
            None => StorageError::Database(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StorageError::Database(format!("connection pool: {other}")),
        }
    }
}

/// Take the writer lock in the transaction `tx` (released when it ends).
pub(crate) async fn lock_writer(tx: &impl tokio_postgres::GenericClient) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK]).await?;
    Ok(())
}

/// The SQLSTATE of a unique violation.
pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

pub(crate) use super::columns::{corrupt, from_sql_int, parse_ts, to_sql_int, ts};

/// A connection string with its password replaced, for logs and errors.
pub fn redacted(url: &str) -> String {
    match tokio_postgres::Config::from_str(url) {
        Ok(config) => {
            let hosts: Vec<String> = config
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            let user = config.get_user().unwrap_or("");
            let db = config.get_dbname().unwrap_or("");
            let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
            format!("postgres://{user}:***@{}:{}/{db}", hosts.join(","), ports.join(","))
        }
        Err(_) => "postgres://(unparsable)".to_owned(),
    }
}

impl PgStorage {
    /// Connect to `url` (`postgres://user:password@host:port/db` or key=value form) and
    /// migrate the database.
    pub async fn open(url: &str) -> Result<Self> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StorageError::Database(format!("bad PostgreSQL connection string: {e}")))?;
        let manager =
            Manager::from_config(config, tokio_postgres::NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StorageError::Database(format!("connection pool: {e}")))?;
        let storage = PgStorage { pool, writers: Arc::new(tokio::sync::Mutex::new(())) };
        storage.migrate().await?;
        Ok(storage)
    }

    /// A pooled connection for reads (and single-statement writes).
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// A pooled connection for a write transaction that will take [`WRITER_LOCK`]: after
    /// this process's turn at writing.
    pub(crate) async fn writer(&self) -> Result<WriteClient> {
        let turn = self.writers.clone().lock_owned().await;
        Ok(WriteClient { client: self.pool.get().await?, _turn: turn })
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        // Made once; looked up first, since IF NOT EXISTS would log a notice at every start.
        let made: bool = tx.query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[]).await?.get(0);
        if !made {
            tx.batch_execute("CREATE TABLE schema_version (version INTEGER NOT NULL)").await?;
        }
        let applied: Option<i32> = tx.query_opt("SELECT version FROM schema_version", &[]).await?.map(|r| r.get(0));
        let applied = applied.unwrap_or(0) as usize;
        if applied > MIGRATIONS.len() {
            return Err(StorageError::Database(format!(
                "the database is at schema version {applied}, newer than this server ({}): upgrade the server",
                MIGRATIONS.len()
            )));
        }
        for sql in &MIGRATIONS[applied..] {
            tx.batch_execute(sql).await?;
        }
        let version = MIGRATIONS.len() as i32;
        if applied == 0 {
            tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&version]).await?;
        } else {
            tx.execute("UPDATE schema_version SET version = $1", &[&version]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Backend for PgStorage {
    async fn close(&self) -> Result<()> {
        self.pool.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Stores;
    use std::path::PathBuf;

    mod conformance {
        use super::*;

        async fn open(key: PathBuf) -> Stores {
            let url = testing::cluster().database_for(&key).await;
            Stores::of(Arc::new(PgStorage::open(&url).await.expect("open")))
        }

        crate::storage_conformance!(open);
    }

    #[test]
    fn redacted_urls_keep_no_password() {
        let shown = redacted("postgres://gw:s3cret@db.example:5433/gridwork");
        assert_eq!(shown, "postgres://gw:***@db.example:5433/gridwork");
        assert!(!redacted("host=h user=u password=s3cret dbname=d").contains("s3cret"));
    }
}
