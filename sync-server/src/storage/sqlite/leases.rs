//! Leases in SQLite: one upsert that only replaces a lease run out or already the taker's.
//! Until is milliseconds of SQLite's clock (the machine's: one process writes here anyway).

use super::SqliteStorage;
use crate::storage::Result;
use crate::storage::leases::LeaseStore;
use async_trait::async_trait;
use rusqlite::params;
use std::time::Duration;

/// The database's now, in milliseconds since the epoch.
const NOW_MS: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

#[async_trait]
impl LeaseStore for SqliteStorage {
    async fn take_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        self.write(move |conn| {
            let sql = format!(
                "INSERT INTO leases (name, holder, until_ms) VALUES (?1, ?2, {NOW_MS} + ?3)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
                 WHERE leases.holder = excluded.holder OR leases.until_ms <= {NOW_MS}"
            );
            let changed = conn.prepare_cached(&sql)?.execute(params![name, holder, ttl_ms])?;
            Ok(changed == 1)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM leases WHERE name = ?1 AND holder = ?2")?.execute(params![name, holder])?;
            Ok(())
        })
        .await
    }
}
