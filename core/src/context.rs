//! What the device's engines work with: the store, the transport, the clock, the device's
//! id, the photo files, and the caches of the session and the reference data. The engines
//! (sync, photo upload, sign-in) take a `&DeviceContext`; they never see the facade.

use crate::error::{Error, Result};
use crate::hlc::{Hlc, HlcClock};
use crate::model::Role;
use crate::photos::{Network, PhotoFiles, PhotoPolicy};
use crate::reference::{RefIndex, ReferenceData};
use crate::signer::{DbKeyStore, KeyStore};
use crate::store::meta::{self, StoredSession};
use crate::store::{DbKey, Store, outbox};
use crate::transport::{Auth, HttpClient, Transport};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct DeviceConfig {
    pub db_path: PathBuf,
    pub server_url: String,
    pub db_key: Option<DbKey>,
    /// Allow `http://` to a server that is not this machine (the app chose a server
    /// without TLS); `https://` and loopback `http://` are always allowed.
    pub allow_plain_http: bool,
}

pub struct DeviceContext {
    pub store: Arc<Store>,
    pub transport: Transport,
    pub clock: HlcClock,
    pub device_id: Uuid,
    pub photo_files: PhotoFiles,
    photo_policy: RwLock<PhotoPolicy>,
    network: RwLock<Network>,
    refs: RwLock<Option<(String, Arc<RefIndex>)>>,
    session: RwLock<Option<StoredSession>>,
    /// Where the signing key lives: the database unless the app gave its platform's.
    key_store: RwLock<Arc<dyn KeyStore>>,
    /// When the party-retention purge last ran: it scans every closed notice, so a sync
    /// that brought nothing runs it at most every [`PURGE_EVERY`].
    purged_at: Mutex<Option<Instant>>,
}

/// How often an idle device re-checks the party retention (time alone makes a closed
/// notice due; a day's granularity is what the rule needs, an hour is plenty).
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Who edits on this device, owned so that store work on the blocking pool can use it.
#[derive(Clone, Debug)]
pub struct LocalActor {
    pub user_id: String,
    pub role: Role,
    pub device_id: String,
    /// The user's scope (org code).
    pub scope: String,
}

impl LocalActor {
    /// The merge rules' view: devices leave the scope check to the server.
    pub fn actor(&self) -> crate::merge::Actor<'_> {
        crate::merge::Actor {
            user_id: &self.user_id,
            device_id: &self.device_id,
            role: self.role,
            scope: None,
            home: &self.scope,
        }
    }
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|p| p.into_inner()) = value;
}

impl DeviceContext {
    /// Open the device database (creating it on first use) and the photo files beside it
    /// (`device.db` → `device.photos/`). Works offline.
    pub fn open(config: DeviceConfig, client: Option<Arc<dyn HttpClient>>) -> Result<DeviceContext> {
        let transport = match client {
            Some(c) => Transport::with_client(&config.server_url, c, config.allow_plain_http)?,
            None => Transport::new(&config.server_url, config.allow_plain_http)?,
        };
        let store = Arc::new(Store::open(&config.db_path, config.db_key)?);
        let photo_files = PhotoFiles::open(config.db_path.with_extension("photos"))?;
        let (device_id, session, reference, last_op_hlc, stored_hlc, policy) = store.write(|tx| {
            let id = match meta::get(tx, meta::DEVICE_ID)? {
                Some(s) => Uuid::parse_str(&s).map_err(|_| crate::error::corrupt("meta.device_id"))?,
                None => {
                    let id = Uuid::now_v7();
                    meta::set(tx, meta::DEVICE_ID, &id.to_string())?;
                    id
                }
            };
            let stored_hlc =
                meta::get(tx, meta::HLC)?.map(|s| s.parse::<Hlc>().map_err(|_| crate::error::corrupt("meta.hlc"))).transpose()?;
            let policy = meta::get(tx, meta::PHOTO_POLICY)?.as_deref().and_then(PhotoPolicy::parse);
            let session = meta::get_json::<StoredSession>(tx, meta::SESSION)?;
            Ok((id, session, meta::reference(tx)?, outbox::max_hlc(tx)?, stored_hlc, policy))
        })?;
        let clock = HlcClock::new(device_id.simple().to_string());
        for h in [last_op_hlc, stored_hlc].into_iter().flatten() {
            clock.observe(&h);
        }
        let refs = reference.map(|d| {
            let index = Arc::new(RefIndex::new(&d));
            (d.version, index)
        });
        let key_store: Arc<dyn KeyStore> = Arc::new(DbKeyStore::new(store.clone()));
        Ok(DeviceContext {
            key_store: RwLock::new(key_store),
            store,
            transport,
            clock,
            device_id,
            photo_files,
            photo_policy: RwLock::new(policy.unwrap_or(PhotoPolicy::AnyNetwork)),
            network: RwLock::new(Network::Unmetered),
            refs: RwLock::new(refs),
            session: RwLock::new(session),
            purged_at: Mutex::new(None),
        })
    }

    /// Is the retention purge due: something new came in, or it has not run for
    /// [`PURGE_EVERY`]?
    pub fn purge_due(&self, something_changed: bool) -> bool {
        let at = *self.purged_at.lock().unwrap_or_else(|p| p.into_inner());
        something_changed || at.is_none_or(|t| t.elapsed() >= PURGE_EVERY)
    }

    /// The purge has just run.
    pub fn note_purged(&self) {
        *self.purged_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    pub fn session(&self) -> Option<StoredSession> {
        read(&self.session)
    }

    pub fn require_session(&self) -> Result<StoredSession> {
        self.session().ok_or(Error::NotLoggedIn)
    }

    pub(crate) fn set_session(&self, session: Option<StoredSession>) {
        write(&self.session, session)
    }

    /// The signed-in user as the merge rules need them.
    pub fn local_actor(&self) -> Result<LocalActor> {
        let s = self.require_session()?;
        Ok(LocalActor { user_id: s.user.id, role: s.user.role, device_id: self.device_id.to_string(), scope: s.user.scope })
    }

    /// The bearer credentials of `session` on this device.
    pub fn auth<'a>(&'a self, session: &'a StoredSession, device_id: &'a str) -> Auth<'a> {
        Auth { token: &session.token, device_id }
    }

    pub fn refs(&self) -> Option<Arc<RefIndex>> {
        read(&self.refs).map(|(_, r)| r)
    }

    pub fn require_refs(&self) -> Result<Arc<RefIndex>> {
        self.refs().ok_or(Error::NoReferenceData)
    }

    pub fn reference_version(&self) -> Option<String> {
        read(&self.refs).map(|(v, _)| v)
    }

    /// Keep new reference data (stored first, then cached).
    pub async fn set_reference(&self, data: ReferenceData) -> Result<()> {
        // Indexing a city's tree is work too: on the store's worker, not the polling thread.
        let (version, index) = self
            .store
            .write_async(move |tx| {
                meta::set_json(tx, meta::REFERENCE, &data)?;
                Ok((data.version.clone(), Arc::new(RefIndex::new(&data))))
            })
            .await?;
        write(&self.refs, Some((version, index)));
        Ok(())
    }

    /// Where the device's signing key lives.
    pub fn key_store(&self) -> Arc<dyn KeyStore> {
        read(&self.key_store)
    }

    /// Keep the signing key in the app's key store from now on (before signing in: the
    /// key registered at sign-in must be the one that signs).
    pub fn set_key_store(&self, keys: Arc<dyn KeyStore>) {
        write(&self.key_store, keys);
    }

    pub fn photo_policy(&self) -> PhotoPolicy {
        read(&self.photo_policy)
    }

    pub fn set_photo_policy(&self, policy: PhotoPolicy) -> Result<()> {
        self.store.write(|tx| meta::set(tx, meta::PHOTO_POLICY, policy.as_str()))?;
        write(&self.photo_policy, policy);
        Ok(())
    }

    pub fn set_network(&self, network: Network) {
        write(&self.network, network)
    }

    /// May photos go now (the policy and the network the app reported)?
    pub fn photos_allowed(&self) -> bool {
        self.photo_policy().allows(read(&self.network))
    }
}
