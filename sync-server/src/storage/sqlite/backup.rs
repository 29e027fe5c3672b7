//! Online backup of the SQLite deployment: `VACUUM INTO` a consistent copy of the database
//! while the server keeps serving (a read transaction in WAL mode blocks no writer), then
//! give the copy a new timeline (a fresh epoch, and as base the highest seq it holds), so
//! that devices that synced later learn of the restore (see migration 13).

use super::{DB_FILE, configure, corrupt, from_sql_int};
use crate::storage::Result;
use rusqlite::Connection;
use std::path::Path;

/// What a backup holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupReport {
    pub records: u64,
    /// The highest record seq in the copy: its timeline's base.
    pub base: u64,
    pub epoch: u64,
}

/// Copy `<data>/gridwork.db` into `<to>/gridwork.db` (`to` is created; an existing file
/// there is refused). Blocking.
pub fn backup(data: &Path, to: &Path) -> Result<BackupReport> {
    let target = to.join(DB_FILE);
    if target.exists() {
        return Err(crate::storage::StorageError::Database(format!("{} exists already", target.display())));
    }
    std::fs::create_dir_all(to)?;
    let source = Connection::open_with_flags(data.join(DB_FILE), rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    configure(&source, false)?;
    let dest = target.to_str().ok_or_else(|| crate::storage::StorageError::Database("the backup path is not UTF-8".into()))?;
    source.execute("VACUUM INTO ?1", [dest])?;
    drop(source);

    let copy = Connection::open(&target)?;
    configure(&copy, true)?;
    let (records, base): (i64, i64) =
        copy.query_row("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM records", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    copy.execute(
        "UPDATE meta SET value = CASE key WHEN 'epoch' THEN random() & 9007199254740991 ELSE ?1 END
         WHERE key IN ('epoch', 'epoch_base')",
        [base],
    )?;
    let epoch: i64 = copy.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0))?;
    copy.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(BackupReport {
        records: from_sql_int(records, "records")?,
        base: from_sql_int(base, "records.seq")?,
        epoch: u64::try_from(epoch).map_err(|_| corrupt("meta.epoch"))?,
    })
}
