//! Leases: a named job that must run in one server process at a time (the deadline job),
//! however many processes share the database. A holder takes a lease for a while and
//! renews it each run; a holder that dies stops renewing, and another takes over once the
//! lease has run out. Times are the database's clock, the one clock every process
//! shares: server machines whose clocks disagree (or a server's clock moved for a drill)
//! cannot both believe they hold it.

use super::Result;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Take or renew `name` for `holder` for `ttl` from now (the database's now), in one
    /// write: true if `holder` holds it now (it was free, had run out, or was already
    /// `holder`'s). Of concurrent takers of a free lease exactly one gets it.
    async fn take_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool>;
    /// Give the lease up if `holder` holds it (at shutdown), so another need not wait.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;
}
