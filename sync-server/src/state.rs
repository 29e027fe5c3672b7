//! Shared server state: the store, the server's clock, password settings and the cached
//! reference data (served as is and used by every push).

use crate::auth::Passwords;
use crate::error::AppError;
use crate::photos::Photos;
use crate::storage::Storage;
use axum::body::Bytes;
use gridwork_core::hlc::HlcClock;
use gridwork_core::reference::{RefIndex, ReferenceData};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often a request may look for reference changes made by another process
/// (e.g. `gridwork-server user add` while the server runs). In-process changes reload at once.
const REFERENCE_RECHECK: Duration = Duration::from_secs(2);

/// Reference data ready to serve: the lists, their index, the JSON body and its ETag.
pub struct RefCache {
    pub data: ReferenceData,
    pub index: RefIndex,
    pub json: Bytes,
    /// Quoted strong ETag of `json`.
    pub etag: String,
    /// Storage revision the cache was built from.
    pub revision: u64,
}

impl RefCache {
    fn build(mut data: ReferenceData, revision: u64) -> Result<Self, AppError> {
        let lists = serde_json::to_vec(&(&data.orgs, &data.categories, &data.users)).map_err(AppError::internal)?;
        data.version = hex::encode(&Sha256::digest(&lists)[..8]);
        let json = Bytes::from(serde_json::to_vec(&data).map_err(AppError::internal)?);
        let etag = format!("\"{}\"", data.version);
        let index = RefIndex::new(&data);
        Ok(RefCache { data, index, json, etag, revision })
    }
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Storage>,
    photos: Photos,
    clock: Arc<HlcClock>,
    passwords: Passwords,
    reference: RwLock<Arc<RefCache>>,
    checked_at: Mutex<Instant>,
}

impl AppState {
    /// State over `storage` and `photos` with production password hashing.
    pub async fn new(storage: Arc<dyn Storage>, photos: Photos) -> Result<Self, AppError> {
        Self::with_passwords(storage, photos, Passwords::production()?).await
    }

    /// State with explicit password settings (tests use cheap ones).
    pub async fn with_passwords(storage: Arc<dyn Storage>, photos: Photos, passwords: Passwords) -> Result<Self, AppError> {
        let cache = load_reference(storage.as_ref()).await?;
        // The clock restarts above every stamp already accepted (review: after a restart a
        // far-future op re-stamped from a fresh clock could lose to an older edit).
        let clock = HlcClock::new("server");
        if let Some(high) = storage.max_clock().await?.and_then(|s| s.parse::<gridwork_core::hlc::Hlc>().ok()) {
            clock.observe(&high);
        }
        Ok(AppState {
            inner: Arc::new(Inner {
                storage,
                photos,
                clock: Arc::new(clock),
                passwords,
                reference: RwLock::new(Arc::new(cache)),
                checked_at: Mutex::new(Instant::now()),
            }),
        })
    }

    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }

    pub fn photos(&self) -> &Photos {
        &self.inner.photos
    }

    pub fn clock(&self) -> &Arc<HlcClock> {
        &self.inner.clock
    }

    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    /// The cached reference data; looks for changes by other processes now and then
    /// (one cheap read), so a typical request costs no query.
    pub async fn reference(&self) -> Result<Arc<RefCache>, AppError> {
        let due = {
            let mut at = self.inner.checked_at.lock().unwrap_or_else(|p| p.into_inner());
            if at.elapsed() >= REFERENCE_RECHECK {
                *at = Instant::now();
                true
            } else {
                false
            }
        };
        let current = self.cached_reference();
        if due && self.inner.storage.reference_revision().await? != current.revision {
            return self.reload_reference().await;
        }
        Ok(current)
    }

    /// Rebuild the cache from storage now (after this process changed users or reference).
    pub async fn reload_reference(&self) -> Result<Arc<RefCache>, AppError> {
        let cache = Arc::new(load_reference(self.inner.storage.as_ref()).await?);
        *self.inner.reference.write().unwrap_or_else(|p| p.into_inner()) = cache.clone();
        Ok(cache)
    }

    fn cached_reference(&self) -> Arc<RefCache> {
        self.inner.reference.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn load_reference(storage: &dyn Storage) -> Result<RefCache, AppError> {
    // Revision first: a change racing with the reads below shows up as a newer revision.
    let revision = storage.reference_revision().await?;
    let orgs = storage.orgs().await?;
    let categories = storage.categories().await?;
    let users = storage.list_users().await?.iter().map(|u| u.info()).collect();
    RefCache::build(ReferenceData { version: String::new(), orgs, categories, users }, revision)
}
