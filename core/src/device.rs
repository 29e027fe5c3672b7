//! [`Device`]: what an app (through the FFI) or the device command line holds. One-liners
//! over the [`DeviceContext`] and the engines; what it adds is one sync at a time,
//! cancellation, and the subscribers to sync progress.

use crate::cases::StepAction;
use crate::context::{DeviceConfig, DeviceContext};
use crate::edit::{self, CaseDraft, Draft};
use crate::error::{Error, Result};
use crate::events::{Observers, Subscription, SyncObserver, SyncReport};
use crate::model::{OrgRef, PhotoRef, PhotoStage, Record, RecordBody, Role};
use crate::photos::{Network, PhotoPolicy, download, upload};
use crate::protocol::RecordPatch;
use crate::reference::{OrgUnit, ReferenceData, UserInfo};
use crate::shown::Replay;
use crate::stalls::{self, Stall};
use crate::store::history::{self, RecordDetail};
use crate::store::outbox::{self, RejectedChange};
use crate::store::records::{self, LocalRecord, RecordQuery};
use crate::store::{meta, nearby, photos, purge};
use crate::transport::HttpClient;
use crate::{session, sync};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// Records as a list shows them: parties masked.
fn masked(rows: Vec<LocalRecord>) -> Vec<LocalRecord> {
    rows.into_iter()
        .map(|l| LocalRecord { record: crate::privacy::masked_for_list(l.record), sync_state: l.sync_state })
        .collect()
}

pub struct Device {
    ctx: Arc<DeviceContext>,
    /// One sync at a time.
    sync_lock: tokio::sync::Mutex<()>,
    /// Wakes running syncs to stop them (`cancel_sync`).
    cancel: tokio::sync::Notify,
    observers: Arc<Observers>,
}

impl Device {
    /// Open the device database (creating it on first use). Works offline.
    pub fn open(config: DeviceConfig) -> Result<Device> {
        Self::open_with(config, None)
    }

    /// [`Device::open`] with another HTTP client (tests pass the server's router).
    pub fn open_with(config: DeviceConfig, client: Option<Arc<dyn HttpClient>>) -> Result<Device> {
        let ctx = DeviceContext::open(config, client)?;
        // Parties past their retention go before anything is shown, offline too; a failure
        // is retried at the next sync and must not keep the app from opening.
        match purge::run(&ctx.store, purge::device_now(&ctx.clock)) {
            Ok(_) => ctx.note_purged(),
            Err(e) => tracing::warn!(error = %e, "could not remove the party of closed notices"),
        }
        Ok(Device {
            ctx: Arc::new(ctx),
            sync_lock: tokio::sync::Mutex::new(()),
            cancel: tokio::sync::Notify::new(),
            observers: Arc::new(Observers::default()),
        })
    }

    /// The context the engines run on.
    pub fn context(&self) -> &DeviceContext {
        &self.ctx
    }

    pub fn device_id(&self) -> Uuid {
        self.ctx.device_id
    }

    pub fn server_url(&self) -> &str {
        self.ctx.transport.base_url()
    }

    /// The logged-in user, if any (known offline).
    pub fn current_user(&self) -> Option<UserInfo> {
        self.ctx.session().map(|s| s.user)
    }

    /// Log in online; the token is bound to this device. Fetches the reference data.
    pub async fn login(&self, username: &str, password: &str) -> Result<UserInfo> {
        session::login(&self.ctx, username, password).await
    }

    /// Sign in by the text of a scanned enrolment QR code (扫码登录,
    /// `gridwork://enrol?server=…&code=…`), kept exactly as a login; the server it names
    /// must be this device's. A text that is no usable link is [`Error::EnrolLink`] (nothing
    /// is sent); a code the server refuses (unknown, used or expired) [`Error::InvalidEnrolCode`].
    pub async fn enrol(&self, qr_text: &str) -> Result<UserInfo> {
        session::enrol(&self.ctx, qr_text).await
    }

    /// Log out: the server revokes the token (if reachable). Records stay on the device.
    pub async fn logout(&self) -> Result<()> {
        session::logout(&self.ctx).await
    }

    // --- filing and editing, offline ------------------------------------------------

    pub fn create(&self, draft: Draft) -> Result<Record> {
        edit::create(&self.ctx, draft)
    }

    pub fn update(&self, id: Uuid, patch: RecordPatch) -> Result<Record> {
        edit::update(&self.ctx, id, patch)
    }

    pub fn attach_photo(&self, id: Uuid, file: &Path, stage: Option<PhotoStage>) -> Result<PhotoRef> {
        edit::attach_photo(&self.ctx, id, file, stage)
    }

    pub fn detach_photo(&self, id: Uuid, sha256: &str) -> Result<Record> {
        edit::detach_photo(&self.ctx, id, sha256)
    }

    /// 立案: open a case (admins).
    pub fn open_case(&self, draft: CaseDraft) -> Result<Record> {
        edit::open_case(&self.ctx, draft)
    }

    /// A step of a case, from the stage this device shows; photos from [`Device::take_photo`].
    pub fn case_step(&self, id: Uuid, action: StepAction, note: Option<String>, photos: Vec<PhotoRef>) -> Result<Record> {
        edit::step(&self.ctx, id, action, note, photos)
    }

    /// Take in a photo for a case step (stored and queued for upload).
    pub fn take_photo(&self, file: &Path, stage: Option<PhotoStage>) -> Result<PhotoRef> {
        edit::take_photo(&self.ctx, file, stage)
    }

    /// The case opened from record `id` (e.g. the reporter's 随手拍), if this device has it.
    pub fn case_of(&self, id: Uuid) -> Result<Option<LocalRecord>> {
        self.ctx.store.read(|c| records::case_of(c, id))
    }

    /// Every case opened from record `id`, oldest first: a service log's cases, one per
    /// complaint taken up, with their progress.
    pub fn cases_from(&self, id: Uuid) -> Result<Vec<LocalRecord>> {
        self.ctx.store.read(|c| records::cases_from(c, id))
    }

    /// While a report is filed: the open reports and cases of `category` within
    /// [`nearby::RADIUS_M`] of (lat, lon) filed in the last [`nearby::DAYS`] days, nearest
    /// first, from this device's data (offline), so the worker can add to one instead.
    pub fn duplicate_hints(&self, category: &str, lat: f64, lon: f64) -> Result<Vec<nearby::Near>> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(Error::Argument("坐标超出范围 (lat/lon out of range)".into()));
        }
        let since = chrono::Utc::now() - chrono::Duration::days(nearby::DAYS);
        self.ctx.store.read(|c| nearby::open_near(c, category, lat, lon, nearby::RADIUS_M, since, nearby::MAX_HINTS))
    }

    /// The 小蓝棚 (or 便民市场) a scanned QR code names, from the reference data this device
    /// keeps (offline); None if the code is not one of the registry's. Operators are
    /// masked unless the account may see them (officers, admins).
    pub fn stall_by_qr(&self, payload: &str) -> Result<Option<Stall>> {
        let code = stalls::code_of_qr(payload).ok_or_else(|| Error::Argument("不是小蓝棚二维码 (not a stall QR code)".into()))?;
        Ok(self.ctx.require_refs()?.stall(code).cloned())
    }

    /// The stalls and markets within `radius_m` of (lat, lon), nearest first, with distances.
    pub fn stalls_near(&self, lat: f64, lon: f64, radius_m: f64) -> Result<Vec<(Stall, f64)>> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) || !(0.0..=50_000.0).contains(&radius_m) {
            return Err(Error::Argument("坐标或半径超出范围 (lat/lon/radius out of range)".into()));
        }
        let refs = self.ctx.require_refs()?;
        Ok(stalls::near(refs.stalls(), lat, lon, radius_m).into_iter().map(|(s, d)| (s.clone(), d)).collect())
    }

    /// A stall's inspections on this device (notices and service logs linked to it),
    /// newest first: its page in the app.
    /// Lists mask a notice's party ([`crate::privacy::mask_party`]); [`Device::get`] shows it.
    pub fn stall_inspections(&self, code: &str) -> Result<Vec<LocalRecord>> {
        Ok(masked(self.ctx.store.read(|c| records::stall_inspections(c, code))?))
    }

    /// Working minutes left to a case's deadline now (negative: overdue); `None` when no
    /// clock runs (not dispatched, closed, …). Offline, from the reference data.
    pub fn case_remaining(&self, id: Uuid) -> Result<Option<i64>> {
        let refs = self.ctx.require_refs()?;
        let (shown, _) = self.ctx.store.read(|c| records::get(c, id))?.ok_or(Error::NotFound)?;
        match &shown.body {
            RecordBody::Case(c) => Ok(c.remaining_minutes(shown.status, chrono::Utc::now(), &refs)),
            _ => Err(Error::Argument("不是案件 (not a case)".into())),
        }
    }

    pub fn next_notice_number(&self) -> Result<String> {
        edit::next_notice_number(&self.ctx)
    }

    /// Notice numbers this device has left (an officer's; a sync tops them up online).
    pub fn numbers_left(&self) -> Result<u64> {
        crate::numbers::left(&self.ctx)
    }

    pub fn org_for_grid(&self, grid: &str) -> Result<OrgRef> {
        edit::org_for_grid(&self.ctx, grid)
    }

    // --- what the screens show --------------------------------------------------------

    pub fn get(&self, id: Uuid) -> Result<Option<RecordDetail>> {
        self.ctx.store.read(|c| history::detail(c, id))
    }

    /// Records matching `query`, newest first, as a list shows them: a notice's party name
    /// and phone masked (`张*`, `138****1234`), a removed one as 已清除 ([`Device::get`]
    /// shows the record whole).
    pub fn list(&self, query: &RecordQuery) -> Result<Vec<LocalRecord>> {
        Ok(masked(self.ctx.store.read(|c| records::list(c, query))?))
    }

    /// How many local changes wait to be pushed.
    pub fn pending_count(&self) -> Result<u64> {
        self.ctx.store.read(outbox::pending_count)
    }

    pub fn record_count(&self) -> Result<u64> {
        self.ctx.store.read(records::count)
    }

    /// Changes the server refused, with its reasons. They stay until discarded.
    pub fn rejected(&self) -> Result<Vec<RejectedChange>> {
        self.ctx.store.read(outbox::rejected)
    }

    /// Let a rejected change go. What the record shows goes back to the server's state
    /// (a record the server never accepted disappears once nothing of it is left).
    pub fn discard_rejected(&self, op_id: Uuid) -> Result<()> {
        let replay = Replay::of(&self.ctx);
        self.ctx.store.write(|tx| {
            let record_id = outbox::record_of(tx, op_id)?.ok_or(Error::NotFound)?;
            if !outbox::discard(tx, op_id)? {
                return Err(Error::NotFound);
            }
            replay.rebuild(tx, record_id)
        })
    }

    pub fn reference(&self) -> Result<Option<ReferenceData>> {
        self.ctx.store.read(meta::reference)
    }

    /// The accounts of the city (names and roles only), of `role` if given, by username:
    /// whom an admin can dispatch a case to, offline.
    pub fn users(&self, role: Option<Role>) -> Result<Vec<UserInfo>> {
        let data = self.reference()?.ok_or(Error::NoReferenceData)?;
        let mut users: Vec<UserInfo> = data.users.into_iter().filter(|u| role.is_none_or(|r| u.role == r)).collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    /// The org units directly under `parent` (the city when None), from the local copy.
    pub fn org_children(&self, parent: Option<&str>) -> Result<Vec<OrgUnit>> {
        let data = self.reference()?.ok_or(Error::NoReferenceData)?;
        Ok(data.orgs.into_iter().filter(|o| o.parent.as_deref() == parent).collect())
    }

    // --- photos -------------------------------------------------------------------------

    pub fn photo_file(&self, sha256: &str, thumb: bool) -> Option<PathBuf> {
        download::local_file(&self.ctx, sha256, thumb)
    }

    pub async fn fetch_photo(&self, sha256: &str, thumb: bool) -> Result<PathBuf> {
        download::fetch(&self.ctx, sha256, thumb).await
    }

    /// Photos waiting to upload: how many and how many bytes.
    pub fn photo_queue(&self) -> Result<(u64, u64)> {
        self.ctx.store.read(photos::queue_size)
    }

    pub fn photo_status(&self, sha256: &str) -> Result<Option<photos::PhotoRow>> {
        self.ctx.store.read(|c| photos::get(c, sha256))
    }

    pub fn free_photo_space(&self) -> Result<u64> {
        download::free_space(&self.ctx)
    }

    /// Keep the signing key in the app's platform key store (call before signing in; by
    /// default it lives in this device's database).
    pub fn set_key_store(&self, keys: std::sync::Arc<dyn crate::signer::KeyStore>) {
        self.ctx.set_key_store(keys)
    }

    /// The public key (hex) the device registers at sign-in and signs its changes with.
    pub fn device_key(&self) -> Result<String> {
        crate::signer::public_key_hex(&*self.ctx.key_store())
    }

    pub fn set_photo_policy(&self, policy: PhotoPolicy) -> Result<()> {
        self.ctx.set_photo_policy(policy)
    }

    pub fn photo_policy(&self) -> PhotoPolicy {
        self.ctx.photo_policy()
    }

    /// The app tells the core which network the phone is on (it can see it; we cannot).
    pub fn set_network(&self, network: Network) {
        self.ctx.set_network(network)
    }

    // --- sync ---------------------------------------------------------------------------

    /// Push pending changes, then pull what changed. Safe to cancel (drop the future) at
    /// any point; the next sync completes the work.
    pub async fn sync(&self) -> Result<SyncReport> {
        self.sync_with(None).await
    }

    pub async fn sync_with(&self, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
        let fanout = self.observers.fanout(observer);
        self.cancellable(sync::run(&self.ctx, Some(&fanout))).await
    }

    /// Only push pending changes (e.g. on a metered network before a full sync).
    pub async fn push(&self) -> Result<SyncReport> {
        let fanout = self.observers.fanout(None);
        self.cancellable(sync::push(&self.ctx, Some(&fanout))).await
    }

    /// Only pull what changed on the server.
    pub async fn pull(&self) -> Result<SyncReport> {
        let fanout = self.observers.fanout(None);
        self.cancellable(sync::pull(&self.ctx, Some(&fanout))).await
    }

    /// Upload pending photos now, whatever the network policy says.
    pub async fn upload_photos(&self) -> Result<SyncReport> {
        let fanout = self.observers.fanout(None);
        self.cancellable(upload::upload_all(&self.ctx, Some(&fanout))).await
    }

    /// One sync at a time (a sync asked for while one runs waits, then runs); stops early
    /// (dropping the work in flight) on `cancel_sync`. Every stored step is its own
    /// transaction, so stopping anywhere is safe; a transaction already running when the
    /// sync is dropped ends before the cancel is answered.
    async fn cancellable(&self, work: impl Future<Output = Result<SyncReport>>) -> Result<SyncReport> {
        let cancelled = self.cancel.notified();
        tokio::pin!(cancelled);
        cancelled.as_mut().enable();
        let _one_at_a_time = tokio::select! {
            guard = self.sync_lock.lock() => guard,
            _ = &mut cancelled => return Err(Error::Cancelled),
        };
        let finished = tokio::select! {
            out = work => Some(out),
            _ = cancelled => None,
        };
        // Here the work is dropped; what it left running on the blocking pool is not.
        match finished {
            Some(out) => out,
            None => {
                self.ctx.store.settle().await;
                Err(Error::Cancelled)
            }
        }
    }

    /// Stop the syncs running now (e.g. at an iOS background task's deadline).
    pub fn cancel_sync(&self) {
        self.cancel.notify_waiters();
    }

    /// Be told the progress of every sync of this device until the subscription is dropped.
    pub fn subscribe(&self, observer: Arc<dyn SyncObserver>) -> Subscription {
        self.observers.subscribe(observer)
    }

    // --- printing a notice, offline -----------------------------------------------------

    /// What notice `id` prints: the record as this device shows it, the officer's name from
    /// the reference data, the QR code's status URL on this device's server.
    pub fn notice_sheet(&self, id: Uuid) -> Result<crate::print::NoticeSheet> {
        let rec = self.ctx.store.read(|c| records::get_local(c, id))?.ok_or(Error::NotFound)?;
        let data = self.reference()?.ok_or(Error::NoReferenceData)?;
        let refs = crate::reference::RefIndex::new(&data);
        crate::print::NoticeSheet::new(&rec.record, &refs, self.server_url()).map_err(print_error)
    }

    /// Notice `id` as a PDF on `paper`, in the font at `font` (face `font_index` of a `.ttc`;
    /// the phone's system CJK font), embedded as a subset.
    pub fn notice_pdf(&self, id: Uuid, paper: crate::print::Paper, font: &Path, font_index: u32) -> Result<Vec<u8>> {
        let sheet = self.notice_sheet(id)?;
        let data = std::fs::read(font).map_err(|_| Error::Argument("无法读取字体文件".into()))?;
        let font = crate::print::FontSource { data, index: font_index };
        crate::print::pdf::render(&sheet, paper, &font).map_err(print_error)
    }

    /// Notice `id` as ESC/POS bytes for a 58 mm thermal printer (GB18030 text; the QR code
    /// by the printer's own command, or as a bitmap for printers without one).
    pub fn notice_escpos(&self, id: Uuid, qr: crate::print::escpos::QrMode) -> Result<Vec<u8>> {
        crate::print::escpos::render_with(&self.notice_sheet(id)?, qr).map_err(print_error)
    }
}

/// Print errors carry no content of the notice; a wrong record or font is the caller's.
fn print_error(e: crate::print::PrintError) -> Error {
    match e {
        crate::print::PrintError::Render(m) => Error::Decode(m),
        other => Error::Argument(other.to_string()),
    }
}
