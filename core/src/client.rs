//! [`Device`]: what an app (through the FFI) or the device command line holds. It files
//! records offline, answers the queries of the phone screens and syncs when asked.

use crate::error::{Error, Result};
use crate::hlc::{Hlc, HlcClock};
use crate::merge::{self, Actor, StoredRecord};
use crate::model::{Location, OrgRef, Record, RecordBody, RecordKind};
use crate::model::{PhotoRef, PhotoStage};
use crate::photos::PhotoStore;
use crate::photos::ingest::{self, IngestOptions};
use crate::photos::upload::{self, Network, PhotoPolicy};
use crate::protocol::BodyPatch;
use crate::protocol::{LoginRequest, NewRecord, Op, OpAction, RecordPatch, Rejection};
use crate::reference::{RefIndex, ReferenceData, UserInfo};
use crate::store::outbox::{LocalChange, RejectedChange};
use crate::store::records::{LocalRecord, RecordQuery, ServerChange};
use crate::store::{self, DbKey, Store, meta, outbox, photos, records};
use crate::sync::http::{Auth, Transport};
use crate::sync::{self, SyncObserver, SyncReport};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct DeviceConfig {
    pub db_path: PathBuf,
    pub server_url: String,
    pub db_key: Option<DbKey>,
}

/// A new record as the user fills it in; the device adds id, author, times and status.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub org: OrgRef,
    pub location: Location,
    pub body: RecordBody,
}

/// One entry of a record's history, newest last.
#[derive(Clone, Debug, PartialEq)]
pub enum HistoryEntry {
    /// A change made on this device, with where it stands with the server.
    Local(Box<LocalChange>),
    /// A change by someone else, as it arrived from the server.
    Server(ServerChange),
}

impl HistoryEntry {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            HistoryEntry::Local(c) => c.created_at,
            HistoryEntry::Server(c) => c.at,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordDetail {
    pub record: LocalRecord,
    pub history: Vec<HistoryEntry>,
}

pub struct Device {
    inner: Arc<DeviceInner>,
}

pub(crate) struct DeviceInner {
    pub(crate) store: Store,
    pub(crate) transport: Transport,
    pub(crate) clock: HlcClock,
    pub(crate) device_id: Uuid,
    pub(crate) photo_store: PhotoStore,
    photo_policy: RwLock<PhotoPolicy>,
    network: RwLock<Network>,
    refs: RwLock<Option<(String, Arc<RefIndex>)>>,
    session: RwLock<Option<meta::StoredSession>>,
    /// One sync at a time.
    sync_lock: tokio::sync::Mutex<()>,
    /// Wakes running syncs to stop them (`cancel_sync`).
    cancel: tokio::sync::Notify,
    observers: std::sync::Mutex<Vec<(u64, Arc<dyn SyncObserver>)>>,
    next_observer: std::sync::atomic::AtomicU64,
}

/// Keeps a listener subscribed to sync progress; dropping it unsubscribes.
pub struct Subscription {
    id: u64,
    device: std::sync::Weak<DeviceInner>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(dev) = self.device.upgrade() {
            dev.observers.lock().unwrap_or_else(|p| p.into_inner()).retain(|(id, _)| *id != self.id);
        }
    }
}

/// Fans progress out to the subscribers and the caller's own observer.
struct Fanout<'a> {
    dev: &'a DeviceInner,
    extra: Option<&'a dyn SyncObserver>,
}

impl SyncObserver for Fanout<'_> {
    fn on_progress(&self, progress: &sync::SyncProgress) {
        let subscribers: Vec<_> =
            self.dev.observers.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(_, o)| o.clone()).collect();
        for o in subscribers {
            o.on_progress(progress);
        }
        if let Some(o) = self.extra {
            o.on_progress(progress);
        }
    }
}

impl DeviceInner {
    pub(crate) fn photos_allowed(&self) -> bool {
        let policy = *self.photo_policy.read().unwrap_or_else(|p| p.into_inner());
        let network = *self.network.read().unwrap_or_else(|p| p.into_inner());
        upload::allowed(policy, network)
    }

    pub(crate) fn session(&self) -> Result<Option<meta::StoredSession>> {
        Ok(self.session.read().unwrap_or_else(|p| p.into_inner()).clone())
    }

    pub(crate) fn refs(&self) -> Option<Arc<RefIndex>> {
        self.refs.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(_, r)| r.clone())
    }

    pub(crate) fn reference_version(&self) -> Option<String> {
        self.refs.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(v, _)| v.clone())
    }

    pub(crate) fn set_reference(&self, data: ReferenceData) -> Result<()> {
        self.store.write(|tx| meta::set_json(tx, meta::REFERENCE, &data))?;
        let index = Arc::new(RefIndex::new(&data));
        *self.refs.write().unwrap_or_else(|p| p.into_inner()) = Some((data.version, index));
        Ok(())
    }
}

fn photos_patch(kind: RecordKind, photos: Vec<PhotoRef>) -> RecordPatch {
    let body = match kind {
        RecordKind::Report => BodyPatch::Report(crate::protocol::ReportPatch { photos: Some(photos), ..Default::default() }),
        RecordKind::Notice => BodyPatch::Notice(crate::protocol::NoticePatch { photos: Some(photos), ..Default::default() }),
        RecordKind::ServiceLog => {
            BodyPatch::ServiceLog(crate::protocol::ServiceLogPatch { photos: Some(photos), ..Default::default() })
        }
    };
    RecordPatch { body: Some(body), ..Default::default() }
}

impl Device {
    /// Open the device database (creating it on first use). Works offline.
    pub fn open(config: DeviceConfig) -> Result<Device> {
        let transport = Transport::new(&config.server_url)?;
        let store = Store::open(&config.db_path, config.db_key)?;
        // Photo files live beside the database: `device.db` → `device.photos/`.
        let photo_store = PhotoStore::open(config.db_path.with_extension("photos"))?;
        let (device_id, session, reference, last_hlc, stored_hlc) = store.write(|tx| {
            let id = match meta::get(tx, meta::DEVICE_ID)?.and_then(|s| Uuid::parse_str(&s).ok()) {
                Some(id) => id,
                None => {
                    let id = Uuid::now_v7();
                    meta::set(tx, meta::DEVICE_ID, &id.to_string())?;
                    id
                }
            };
            let stored_hlc = meta::get(tx, meta::HLC)?.and_then(|s| s.parse::<Hlc>().ok());
            let policy = meta::get(tx, meta::PHOTO_POLICY)?.as_deref().and_then(PhotoPolicy::parse);
            Ok((
                id,
                meta::get_json::<meta::StoredSession>(tx, meta::SESSION)?,
                meta::reference(tx)?,
                outbox::max_hlc(tx)?,
                (stored_hlc, policy),
            ))
        })?;
        let (stored_hlc, policy) = stored_hlc;
        let clock = HlcClock::new(device_id.simple().to_string());
        for h in [last_hlc, stored_hlc].into_iter().flatten() {
            clock.observe(&h);
        }
        let refs = reference.map(|d| {
            let idx = Arc::new(RefIndex::new(&d));
            (d.version, idx)
        });
        Ok(Device {
            inner: Arc::new(DeviceInner {
                store,
                transport,
                clock,
                device_id,
                photo_store,
                photo_policy: RwLock::new(policy.unwrap_or(PhotoPolicy::AnyNetwork)),
                network: RwLock::new(Network::Unmetered),
                refs: RwLock::new(refs),
                session: RwLock::new(session),
                sync_lock: tokio::sync::Mutex::new(()),
                cancel: tokio::sync::Notify::new(),
                observers: std::sync::Mutex::new(Vec::new()),
                next_observer: std::sync::atomic::AtomicU64::new(1),
            }),
        })
    }

    pub fn device_id(&self) -> Uuid {
        self.inner.device_id
    }

    pub fn server_url(&self) -> &str {
        self.inner.transport.base_url()
    }

    /// The logged-in user, if any (known offline).
    pub fn current_user(&self) -> Option<UserInfo> {
        self.inner.session().ok().flatten().map(|s| s.user)
    }

    /// Log in online; the token is bound to this device. Fetches the reference data.
    pub async fn login(&self, username: &str, password: &str) -> Result<UserInfo> {
        if username.trim().is_empty() || password.is_empty() {
            return Err(Error::Argument("用户名和密码不能为空 (username, password)".into()));
        }
        let req = LoginRequest {
            username: username.trim().to_owned(),
            password: password.to_owned(),
            device_id: self.inner.device_id,
            device_name: None,
        };
        let (resp, _) = match self.inner.transport.login(&req).await {
            Err(Error::Server { status: 401, .. }) => return Err(Error::InvalidCredentials),
            other => other?,
        };
        // The data on this device belongs to one account (it survives a logout). Another
        // account must not push its pending changes, nor see its records: refuse while
        // anything of the owner waits, else start clean. A changed scope starts the pull over.
        let owner = self.inner.store.read(|c| {
            Ok(meta::get_json::<UserInfo>(c, meta::DATA_OWNER)?
                .or(meta::get_json::<meta::StoredSession>(c, meta::SESSION)?.map(|s| s.user)))
        })?;
        let new = &resp.user;
        let reset = match &owner {
            Some(o) if o.id != new.id => {
                let waiting = self.pending_count()? + self.photo_queue()?.0 + self.rejected()?.len() as u64;
                if waiting > 0 {
                    let device_id = self.inner.device_id.to_string();
                    let _ = self.inner.transport.logout(Auth { token: &resp.token, device_id: &device_id }).await;
                    return Err(Error::Argument(
                        "本机还有其他用户未同步或被退回的记录，请该用户先登录处理 (changes of another user wait on this device)"
                            .into(),
                    ));
                }
                Some(true)
            }
            Some(o) if o.role != new.role || o.scope != new.scope => Some(false),
            _ => None,
        };
        self.inner.clock.observe(&resp.server_hlc);
        let session = meta::StoredSession { token: resp.token, user: resp.user.clone() };
        self.inner.store.write(|tx| {
            match reset {
                Some(true) => store::wipe_user_data(tx)?,
                Some(false) => store::restart_pull(tx)?,
                None => {}
            }
            meta::set_json(tx, meta::DATA_OWNER, &session.user)?;
            meta::set_json(tx, meta::SESSION, &session)
        })?;
        if reset == Some(true) {
            self.inner.photo_store.clear()?;
        }
        *self.inner.session.write().unwrap_or_else(|p| p.into_inner()) = Some(session.clone());
        let device_id = self.inner.device_id.to_string();
        let (data, _) = self.inner.transport.reference(Auth { token: &session.token, device_id: &device_id }).await?;
        self.inner.set_reference(data)?;
        Ok(resp.user)
    }

    /// Log out: the server revokes the token (if reachable) and the device forgets it.
    /// Records and pending changes stay on the device.
    pub async fn logout(&self) -> Result<()> {
        let Some(session) = self.inner.session()? else { return Ok(()) };
        let device_id = self.inner.device_id.to_string();
        let remote = self.inner.transport.logout(Auth { token: &session.token, device_id: &device_id }).await;
        self.inner.store.write(|tx| meta::delete(tx, meta::SESSION))?;
        *self.inner.session.write().unwrap_or_else(|p| p.into_inner()) = None;
        match remote {
            Ok(_) | Err(Error::Unauthorized) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn actor_parts(&self) -> Result<(meta::StoredSession, Arc<RefIndex>)> {
        let session = self.inner.session()?.ok_or(Error::NotLoggedIn)?;
        let refs = self.inner.refs().ok_or(Error::NoReferenceData)?;
        Ok((session, refs))
    }

    /// File a new record offline. It is validated here with the rules the server uses,
    /// stored, and queued for the next sync, in one transaction.
    pub fn create(&self, draft: Draft) -> Result<Record> {
        let (session, refs) = self.actor_parts()?;
        let now = Utc::now();
        let kind = draft.body.kind();
        let op = Op {
            op_id: Uuid::now_v7(),
            record_id: Uuid::now_v7(),
            hlc: self.inner.clock.tick(),
            action: OpAction::Create(NewRecord {
                org: draft.org,
                created_at: now,
                location: draft.location,
                status: kind.initial_status(),
                body: draft.body,
            }),
        };
        let device_id = self.inner.device_id.to_string();
        let actor = Actor { user_id: &session.user.id, device_id: &device_id, role: session.user.role, scope: None };
        let stored = merge::apply_op(None, &op, &op.hlc, &actor, &refs, now)?;
        self.inner.store.write(|tx| {
            records::insert_local(tx, &stored.record)?;
            outbox::enqueue(tx, &op, kind, now)
        })?;
        Ok(stored.record)
    }

    /// Change some fields of a record offline.
    pub fn update(&self, id: Uuid, patch: RecordPatch) -> Result<Record> {
        if patch == RecordPatch::default() {
            return Err(Error::Argument("没有要修改的内容 (empty patch)".into()));
        }
        self.inner.store.write(|tx| self.update_in(tx, id, |_| Ok(patch)))
    }

    /// One local edit inside `tx`: `make_patch` sees the record as shown.
    fn update_in(
        &self,
        tx: &rusqlite::Connection,
        id: Uuid,
        make_patch: impl FnOnce(&Record) -> Result<RecordPatch>,
    ) -> Result<Record> {
        let (session, refs) = self.actor_parts()?;
        let device_id = self.inner.device_id.to_string();
        let actor = Actor { user_id: &session.user.id, device_id: &device_id, role: session.user.role, scope: None };
        let (shown, _) = records::get(tx, id)?.ok_or(Error::NotFound)?;
        let patch = make_patch(&shown)?;
        let kind = shown.kind();
        let now = Utc::now();
        let op = Op { op_id: Uuid::now_v7(), record_id: id, hlc: self.inner.clock.tick(), action: OpAction::Update(patch) };
        // Locally every field of our own edit wins; the server orders it by clock.
        let base = StoredRecord { record: shown, clocks: BTreeMap::new() };
        let next = merge::apply_op(Some(&base), &op, &op.hlc, &actor, &refs, now).map_err(Error::Invalid)?;
        records::save_shown(tx, &next.record)?;
        outbox::enqueue(tx, &op, kind, now)?;
        Ok(next.record)
    }

    /// Attach a photo from a file the app hands over (JPEG, PNG or WebP): it is taken in
    /// (EXIF facts into the record, EXIF out of the file, downscaled), stored by SHA-256,
    /// added to the record as an ordinary edit, and queued for upload.
    pub fn attach_photo(&self, id: Uuid, file: &std::path::Path, stage: Option<PhotoStage>) -> Result<PhotoRef> {
        let (shown, _) = self.inner.store.read(|c| records::get(c, id))?.ok_or(Error::NotFound)?;
        let count = shown.body.photos().len();
        if count >= crate::validate::MAX_PHOTOS {
            return Err(Error::Invalid(Rejection::new(
                crate::protocol::RejectReason::Invalid,
                Some("photos"),
                format!("每条记录最多{}张照片 (photos)", crate::validate::MAX_PHOTOS),
            )));
        }
        let got = ingest::ingest(file, &self.inner.photo_store, &IngestOptions::default())?;
        let photo = PhotoRef {
            sha256: got.sha256,
            mime: got.mime.to_owned(),
            bytes: got.bytes,
            width: got.width,
            height: got.height,
            taken_at: got.taken_at,
            lat: got.lat,
            lon: got.lon,
            stage,
        };
        self.inner.store.write(|tx| {
            photos::add_local(tx, &photo.sha256, &photo.mime, photo.bytes, Utc::now())?;
            self.update_in(tx, id, |shown| {
                if shown.body.photos().iter().any(|p| p.sha256 == photo.sha256) {
                    return Err(Error::Argument("这张照片已经添加过 (photo already attached)".into()));
                }
                let mut list = shown.body.photos().to_vec();
                list.push(photo.clone());
                Ok(photos_patch(shown.kind(), list))
            })
        })?;
        Ok(photo)
    }

    /// Take a photo off a record. The file stays until the server holds it.
    pub fn detach_photo(&self, id: Uuid, sha256: &str) -> Result<Record> {
        self.inner.store.write(|tx| {
            self.update_in(tx, id, |shown| {
                let list: Vec<PhotoRef> = shown.body.photos().iter().filter(|p| p.sha256 != sha256).cloned().collect();
                if list.len() == shown.body.photos().len() {
                    return Err(Error::NotFound);
                }
                Ok(photos_patch(shown.kind(), list))
            })
        })
    }

    /// The local file of a photo (or its thumbnail), if this device holds it.
    pub fn photo_file(&self, sha256: &str, thumb: bool) -> Option<std::path::PathBuf> {
        if !crate::photos::is_sha256_hex(sha256) {
            return None;
        }
        let p = if thumb { self.inner.photo_store.thumb_path(sha256) } else { self.inner.photo_store.path(sha256) };
        p.is_file().then_some(p)
    }

    /// A photo of a record this user may see, fetched from the server unless held here.
    /// The full file is checked against its SHA-256 before it is kept. A photo whose
    /// upload has not finished yet gives `Error::PhotoPending`.
    pub async fn fetch_photo(&self, sha256: &str, thumb: bool) -> Result<std::path::PathBuf> {
        if !crate::photos::is_sha256_hex(sha256) {
            return Err(Error::Argument("照片编号无效 (sha256)".into()));
        }
        if let Some(p) = self.photo_file(sha256, thumb) {
            return Ok(p);
        }
        let session = self.inner.session()?.ok_or(Error::NotLoggedIn)?;
        let device_id = self.inner.device_id.to_string();
        let auth = Auth { token: &session.token, device_id: &device_id };
        let mut fetched = crate::photos::Download::begin(&self.inner.photo_store, sha256, thumb)?;
        let got = self.inner.transport.download(auth, sha256, thumb, &mut |chunk| fetched.write(chunk)).await;
        match got {
            Ok(_) => {}
            Err(Error::Server { status: 404, code, .. }) if code == "photo_pending" => return Err(Error::PhotoPending),
            Err(Error::Server { status: 404, .. }) => return Err(Error::NotFound),
            Err(e) => return Err(e),
        }
        let (path, bytes, mime) = fetched.finish()?;
        if !thumb {
            self.inner.store.write(|tx| photos::add_remote(tx, sha256, mime, bytes, Utc::now()))?;
        }
        Ok(path)
    }

    /// Photos waiting to upload: how many and how many bytes.
    pub fn photo_queue(&self) -> Result<(u64, u64)> {
        self.inner.store.read(photos::queue_size)
    }

    pub fn photo_status(&self, sha256: &str) -> Result<Option<photos::PhotoRow>> {
        self.inner.store.read(|c| photos::get(c, sha256))
    }

    /// Delete full-size files the server has confirmed it holds (thumbnails stay). Never
    /// touches a photo that is not uploaded. Returns the bytes freed.
    pub fn free_photo_space(&self) -> Result<u64> {
        let mut freed = 0;
        for sha in self.inner.store.read(photos::freeable)? {
            let path = self.inner.photo_store.path(&sha);
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            self.inner.store.write(|tx| photos::mark_freed(tx, &sha))?;
            match std::fs::remove_file(&path) {
                Ok(()) => freed += len,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Io(format!("freeing a photo: {}", e.kind()))),
            }
        }
        Ok(freed)
    }

    pub fn set_photo_policy(&self, policy: PhotoPolicy) -> Result<()> {
        self.inner.store.write(|tx| meta::set(tx, meta::PHOTO_POLICY, policy.as_str()))?;
        *self.inner.photo_policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
        Ok(())
    }

    pub fn photo_policy(&self) -> PhotoPolicy {
        *self.inner.photo_policy.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The app tells the core which network the phone is on (it can see it; we cannot).
    pub fn set_network(&self, network: Network) {
        *self.inner.network.write().unwrap_or_else(|p| p.into_inner()) = network;
    }

    /// Upload pending photos now, whatever the network policy says.
    pub async fn upload_photos(&self) -> Result<SyncReport> {
        let fanout = Fanout { dev: &self.inner, extra: None };
        self.cancellable(sync::upload_photos(&self.inner, Some(&fanout))).await
    }

    pub fn get(&self, id: Uuid) -> Result<Option<RecordDetail>> {
        self.inner.store.read(|c| {
            let Some(record) = records::get_local(c, id)? else { return Ok(None) };
            let mut history: Vec<HistoryEntry> =
                outbox::for_record(c, id)?.into_iter().map(|c| HistoryEntry::Local(Box::new(c))).collect();
            history.extend(records::server_changes(c, id)?.into_iter().map(HistoryEntry::Server));
            history.sort_by_key(HistoryEntry::at);
            Ok(Some(RecordDetail { record, history }))
        })
    }

    pub fn list(&self, query: &RecordQuery) -> Result<Vec<LocalRecord>> {
        self.inner.store.read(|c| records::list(c, query))
    }

    /// My records of one kind, optionally of one status and within a time range.
    pub fn my_records(
        &self,
        kind: RecordKind,
        status: Option<crate::model::Status>,
        from: Option<DateTime<Utc>>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<LocalRecord>> {
        let me = self.current_user().ok_or(Error::NotLoggedIn)?;
        self.list(&RecordQuery {
            kind: Some(kind),
            status,
            author: Some(me.id),
            created_from: from,
            created_before: before,
            ..Default::default()
        })
    }

    /// How many local changes wait to be pushed.
    pub fn pending_count(&self) -> Result<u64> {
        self.inner.store.read(outbox::pending_count)
    }

    pub fn record_count(&self) -> Result<u64> {
        self.inner.store.read(records::count)
    }

    /// Changes the server refused, with its reasons. They stay until discarded.
    pub fn rejected(&self) -> Result<Vec<RejectedChange>> {
        self.inner.store.read(outbox::rejected)
    }

    /// Let a rejected change go. What the record shows goes back to the server's state
    /// (a record the server never accepted disappears once nothing of it is left).
    pub fn discard_rejected(&self, op_id: Uuid) -> Result<()> {
        self.inner.store.write(|tx| {
            let record_id = outbox::record_of(tx, op_id)?.ok_or(Error::NotFound)?;
            if !outbox::discard(tx, op_id)? {
                return Err(Error::NotFound);
            }
            sync::rebuild_shown(&self.inner, tx, record_id)
        })
    }

    pub fn reference(&self) -> Result<Option<ReferenceData>> {
        self.inner.store.read(meta::reference)
    }

    /// The org units directly under `parent` (the city when None), from the local copy.
    pub fn org_children(&self, parent: Option<&str>) -> Result<Vec<crate::reference::OrgUnit>> {
        let data = self.reference()?.ok_or(Error::NoReferenceData)?;
        Ok(data.orgs.into_iter().filter(|o| o.parent.as_deref() == parent).collect())
    }

    /// A notice number unique to this device, printable offline: `GZ<yyyymmdd>-<device>-<n>`.
    pub fn next_notice_number(&self) -> Result<String> {
        let n: u64 = self.inner.store.write(|tx| {
            let n = meta::get(tx, meta::NOTICE_COUNTER)?.and_then(|s| s.parse().ok()).unwrap_or(0) + 1;
            meta::set(tx, meta::NOTICE_COUNTER, &n.to_string())?;
            Ok(n)
        })?;
        let dev = self.inner.device_id.simple().to_string().to_uppercase();
        Ok(format!("GZ{}-{}-{n:04}", Utc::now().format("%Y%m%d"), &dev[dev.len() - 6..]))
    }

    /// Push pending changes, then pull what changed. Safe to cancel (drop the future) at
    /// any point; the next sync completes the work.
    pub async fn sync(&self) -> Result<SyncReport> {
        self.sync_with(None).await
    }

    pub async fn sync_with(&self, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
        let fanout = Fanout { dev: &self.inner, extra: observer };
        self.cancellable(sync::run(&self.inner, Some(&fanout))).await
    }

    /// Only push pending changes (e.g. on a metered network before a full sync).
    pub async fn push(&self) -> Result<SyncReport> {
        let fanout = Fanout { dev: &self.inner, extra: None };
        self.cancellable(sync::push(&self.inner, Some(&fanout))).await
    }

    /// Only pull what changed on the server.
    pub async fn pull(&self) -> Result<SyncReport> {
        let fanout = Fanout { dev: &self.inner, extra: None };
        self.cancellable(sync::pull(&self.inner, Some(&fanout))).await
    }

    /// One sync at a time; stops early (dropping the work in flight) on `cancel_sync`.
    /// Every stored step is its own transaction, so stopping anywhere is safe.
    async fn cancellable(&self, work: impl std::future::Future<Output = Result<SyncReport>>) -> Result<SyncReport> {
        let cancelled = self.inner.cancel.notified();
        tokio::pin!(cancelled);
        cancelled.as_mut().enable();
        let _one_at_a_time = tokio::select! {
            guard = self.inner.sync_lock.lock() => guard,
            _ = &mut cancelled => return Err(Error::Cancelled),
        };
        tokio::select! {
            out = work => out,
            _ = cancelled => Err(Error::Cancelled),
        }
    }

    /// Stop the syncs running now (e.g. at an iOS background task's deadline).
    pub fn cancel_sync(&self) {
        self.inner.cancel.notify_waiters();
    }

    /// Be told the progress of every sync of this device until the subscription is dropped.
    pub fn subscribe(&self, observer: Arc<dyn SyncObserver>) -> Subscription {
        let id = self.inner.next_observer.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.observers.lock().unwrap_or_else(|p| p.into_inner()).push((id, observer));
        Subscription { id, device: Arc::downgrade(&self.inner) }
    }

    /// The org reference of a grid (its community looked up in the reference data).
    pub fn org_for_grid(&self, grid: &str) -> Result<OrgRef> {
        let refs = self.inner.refs().ok_or(Error::NoReferenceData)?;
        let place = refs.grid_place(grid).ok_or_else(|| {
            Error::Invalid(Rejection::new(crate::protocol::RejectReason::Invalid, Some("org.grid"), "网格不存在 (org.grid)"))
        })?;
        Ok(OrgRef { community: place.community, grid: place.grid })
    }
}
