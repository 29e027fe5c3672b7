//! The reference data every request reads, cached: rebuilt at once after this process
//! changes it, and after another process (e.g. `gridwork-server user add` while the server
//! runs) changes it, within [`REFERENCE_RECHECK`].

use crate::domain::DomainError;
use crate::domain::reference::RefCache;
use crate::storage::{AccountStore, ReferenceStore};
use gridwork_core::reference::ReferenceData;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often a request may look for reference changes made by another process.
pub const REFERENCE_RECHECK: Duration = Duration::from_secs(2);

pub struct ReferenceService {
    store: Arc<dyn ReferenceStore>,
    accounts: Arc<dyn AccountStore>,
    cache: RwLock<Arc<RefCache>>,
    checked_at: Mutex<Instant>,
}

impl ReferenceService {
    pub async fn new(store: Arc<dyn ReferenceStore>, accounts: Arc<dyn AccountStore>) -> Result<Self, DomainError> {
        let cache = load(store.as_ref(), accounts.as_ref()).await?;
        Ok(ReferenceService { store, accounts, cache: RwLock::new(Arc::new(cache)), checked_at: Mutex::new(Instant::now()) })
    }

    /// The cached reference data; looks for changes by other processes now and then (one
    /// cheap read), so a typical request costs no query.
    pub async fn current(&self) -> Result<Arc<RefCache>, DomainError> {
        let due = {
            let mut at = self.checked_at.lock().unwrap_or_else(|p| p.into_inner());
            let due = at.elapsed() >= REFERENCE_RECHECK;
            if due {
                *at = Instant::now();
            }
            due
        };
        let current = self.cached();
        if due && self.store.reference_revision().await? != current.revision {
            return self.reload().await;
        }
        Ok(current)
    }

    /// Rebuild the cache from storage now (after this process changed users or reference).
    pub async fn reload(&self) -> Result<Arc<RefCache>, DomainError> {
        let cache = Arc::new(load(self.store.as_ref(), self.accounts.as_ref()).await?);
        Ok(keep_newer(&mut self.cache.write().unwrap_or_else(|p| p.into_inner()), cache))
    }

    fn cached(&self) -> Arc<RefCache> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Put `cache` in `slot` unless the slot holds a newer revision; what the slot holds then.
/// Reloads run concurrently (accounts added at once): one that read an older revision must
/// not replace a newer cache, or a user just added goes missing until the next recheck.
fn keep_newer(slot: &mut Arc<RefCache>, cache: Arc<RefCache>) -> Arc<RefCache> {
    if cache.revision >= slot.revision {
        *slot = cache;
    }
    slot.clone()
}

async fn load(store: &dyn ReferenceStore, accounts: &dyn AccountStore) -> Result<RefCache, DomainError> {
    // Revision first: a change racing with the reads below shows up as a newer revision.
    let revision = store.reference_revision().await?;
    let orgs = store.orgs().await?;
    let categories = store.categories().await?;
    let users = accounts.list_users().await?.iter().map(|u| u.info()).collect();
    let (calendar, time_limits) = store.worktime().await?.unwrap_or_default();
    let stalls = store.stalls().await?;
    RefCache::build(ReferenceData { version: String::new(), orgs, categories, users, calendar, time_limits, stalls }, revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(revision: u64) -> Arc<RefCache> {
        Arc::new(RefCache::build(gridwork_core::fixtures::reference_data(), revision).expect("cache"))
    }

    #[test]
    fn a_reload_of_an_older_revision_keeps_the_newer_cache() {
        let mut slot = cache(5);
        let newer = cache(7);
        assert!(Arc::ptr_eq(&keep_newer(&mut slot, newer.clone()), &newer));
        // The slower of two concurrent reloads, which read revision 6 before the other's write.
        assert!(Arc::ptr_eq(&keep_newer(&mut slot, cache(6)), &newer), "the newer cache stays");
        let again = cache(7);
        assert!(Arc::ptr_eq(&keep_newer(&mut slot, again.clone()), &again), "the same revision again replaces it");
    }
}
