//! The device's local store: one SQLite (SQLCipher) file in WAL mode, one writer
//! connection and a small pool of read-only connections. Every write runs in one
//! transaction through [`Store::write`]; a record and its outbox entry commit together.
//! Async code (the sync engines) uses [`Store::write_async`] and [`Store::read_async`],
//! which run the work on the blocking pool: SQLCipher, fsync and JSON never run on the
//! thread that polls a sync (an app's UI thread, through the bindings).

pub mod history;
pub mod meta;
pub mod nearby;
pub mod numbers;
pub mod outbox;
pub mod photos;
pub mod purge;
pub mod records;
pub mod schema;

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 2;

/// The key that encrypts the database at rest, as the app hands it over.
#[derive(Clone)]
pub enum DbKey {
    /// A passphrase, stretched by SQLCipher's KDF (slow to open on purpose).
    Passphrase(String),
    /// 32 random bytes from the platform keystore, used as the raw key (fast to open).
    Raw([u8; 32]),
}

impl DbKey {
    /// A 64-hex-digit string is a raw key; anything else is a passphrase.
    pub fn parse(s: &str) -> DbKey {
        // Hex digits are ASCII: checking that first keeps the slicing below on char boundaries.
        let hex = s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let bytes: Option<Vec<u8>> =
            hex.then(|| (0..32).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()).flatten();
        match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            Some(raw) => DbKey::Raw(raw),
            None => DbKey::Passphrase(s.to_owned()),
        }
    }

    fn pragma_value(&self) -> String {
        match self {
            DbKey::Passphrase(p) => p.clone(),
            DbKey::Raw(raw) => format!("x'{}'", raw.iter().map(|b| format!("{b:02X}")).collect::<String>()),
        }
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(<redacted>)")
    }
}

pub struct Store {
    path: PathBuf,
    key: Option<DbKey>,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Held (shared) by every [`Store::write_async`] until its transaction has ended, even
    /// when the future that asked for it was dropped: [`Store::settle`] waits for them.
    writes_in_flight: Arc<tokio::sync::RwLock<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase)
}

fn open_connection(path: &Path, key: Option<&DbKey>, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher logs a failed decryption to stderr (logcat on a phone); the typed error is
    // enough. Older SQLCipher builds lack the pragma: ignore its absence.
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE");
    if let Some(key) = key {
        conn.pragma_update(None, "key", key.pragma_value())?;
    }
    // The first read of the schema is where a wrong key shows.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {}
        Err(e) if is_not_a_database(&e) => return Err(Error::WrongKey),
        Err(e) => return Err(e.into()),
    }
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: impl AsRef<Path>, key: Option<DbKey>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer = open_connection(&path, key.as_ref(), flags)?;
        let mode: String = writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Argument(format!("journal mode {mode} instead of WAL")));
        }
        // FULL: a record the user saved survives a power loss, not only an app crash.
        writer.pragma_update(None, "synchronous", "FULL")?;
        schema::migrate(&mut writer)?;
        writer.set_prepared_statement_cache_capacity(64);
        Ok(Store {
            path,
            key,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            writes_in_flight: Arc::new(tokio::sync::RwLock::new(())),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` in one IMMEDIATE transaction on the writer; commit if it returns Ok.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Copy the write-ahead log into the database and truncate it, so that no old version
    /// of a rewritten page stays in the log file ([`purge`]).
    pub fn checkpoint(&self) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Run `f` on a read-only connection (WAL: readers never wait for the writer).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let c = open_connection(&self.path, self.key.as_ref(), flags)?;
                c.pragma_update(None, "query_only", "ON")?;
                c.set_prepared_statement_cache_capacity(64);
                c
            }
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
        out
    }
}

impl Store {
    /// [`Store::write`] on the blocking pool.
    pub async fn write_async<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        let in_flight = self.writes_in_flight.clone().read_owned().await;
        tokio::task::spawn_blocking(move || {
            let out = store.write(f);
            drop(in_flight);
            out
        })
        .await
        .map_err(|e| Error::Io(format!("store worker: {e}")))?
    }

    /// Wait until every [`Store::write_async`] started so far has committed or rolled
    /// back. A dropped future does not stop its transaction on the blocking pool: a
    /// cancelled sync settles before it answers, so that nothing it began lands later
    /// (e.g. over the next account's fresh start).
    pub async fn settle(&self) {
        drop(self.writes_in_flight.write().await);
    }

    /// [`Store::read`] on the blocking pool.
    pub async fn read_async<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read(f)).await.map_err(|e| Error::Io(format!("store worker: {e}")))?
    }
}

/// Forget everything of the previous account: records, changes, history, photos and the
/// pull cursor. Only called when none of it waits to be sent.
pub fn wipe_user_data(tx: &Connection) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM records; DELETE FROM outbox; DELETE FROM server_history; DELETE FROM photos;
         DELETE FROM number_blocks; DELETE FROM used_numbers; DELETE FROM meta WHERE key = 'pull_cursor';",
    )?;
    Ok(())
}

/// The account's scope changed: pull everything it may see again, dropping records that
/// hold nothing of ours.
pub fn restart_pull(tx: &Connection) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM records WHERE NOT EXISTS
            (SELECT 1 FROM outbox o WHERE o.record_id = records.id AND o.state IN ('pending', 'rejected'));
         DELETE FROM server_history WHERE record_id NOT IN (SELECT id FROM records);
         DELETE FROM meta WHERE key = 'pull_cursor';",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys_and_passphrases() {
        assert!(matches!(DbKey::parse(&"ab".repeat(32)), DbKey::Raw(_)));
        assert!(matches!(DbKey::parse("correct horse"), DbKey::Passphrase(_)));
        assert!(matches!(DbKey::parse(&"zz".repeat(32)), DbKey::Passphrase(_)));
        // 64 bytes with multi-byte characters: a passphrase, never a panic.
        assert!(matches!(DbKey::parse(&format!("{}é", "a".repeat(62))), DbKey::Passphrase(_)));
        assert!(matches!(DbKey::parse(&format!("é{}", "a".repeat(62))), DbKey::Passphrase(_)));
        let wide = format!("{}x", "密".repeat(21));
        assert!(matches!(DbKey::parse(&wide), DbKey::Passphrase(p) if p == wide));
        assert_eq!(format!("{:?}", DbKey::parse("secret")), "DbKey(<redacted>)");
    }

    #[test]
    fn wrong_key_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let key = DbKey::parse(&"11".repeat(32));
        drop(Store::open(&path, Some(key.clone())).unwrap());
        assert!(matches!(Store::open(&path, Some(DbKey::parse(&"22".repeat(32)))), Err(Error::WrongKey)));
        assert!(matches!(Store::open(&path, None), Err(Error::WrongKey)));
        assert!(matches!(Store::open(&path, Some(DbKey::Passphrase("guess".into()))), Err(Error::WrongKey)));
        Store::open(&path, Some(key)).unwrap();
        // The file on disk is not plain SQLite.
        let head = std::fs::read(&path).unwrap();
        assert!(!head.starts_with(b"SQLite format 3"));
    }
}
