//! Leases in PostgreSQL: one `INSERT … ON CONFLICT DO UPDATE … WHERE`, which row-locks the
//! lease, so of processes taking a free or run-out lease at once exactly one gets it. Until
//! is milliseconds of the database server's clock, shared by every server process.

use super::PgStorage;
use crate::storage::Result;
use crate::storage::leases::LeaseStore;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
impl LeaseStore for PgStorage {
    async fn take_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO leases (name, holder, until_ms)
                 VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $3)
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until_ms = EXCLUDED.until_ms
                 WHERE leases.holder = EXCLUDED.holder
                    OR leases.until_ms <= (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            )
            .await?;
        Ok(c.execute(&stmt, &[&name, &holder, &ttl_ms]).await? == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("DELETE FROM leases WHERE name = $1 AND holder = $2").await?;
        c.execute(&stmt, &[&name, &holder]).await?;
        Ok(())
    }
}
