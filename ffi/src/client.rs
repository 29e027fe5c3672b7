//! `GridworkClient`: the one object the apps hold, a shell over the core's `Device`.
//! Each method converts its arguments, calls the core and converts the answer.

use crate::error::GridworkError;
use crate::listener::{ListenerAdapter, SyncListener, TaskHandle};
use crate::status::RecordStatus;
use crate::types::*;
use gridwork_core::model::{Location, PhotoStage, RecordBody as CoreBody, Role};
use gridwork_core::photos::{Network, PhotoPolicy};
use gridwork_core::protocol::RecordPatch;
use gridwork_core::reference::{Category, OrgUnit};
use gridwork_core::store::DbKey;
use gridwork_core::{Device, DeviceConfig, Draft};
use std::sync::Arc;

type Result<T> = std::result::Result<T, GridworkError>;

#[derive(uniffi::Object)]
pub struct GridworkClient {
    pub(crate) inner: Arc<Device>,
}

impl GridworkClient {
    fn create(&self, grid: &str, location: Location, body: CoreBody) -> Result<RecordView> {
        let org = self.inner.org_for_grid(grid.trim())?;
        Ok(self.inner.create(Draft { org, location, body })?.into())
    }

    fn update(&self, id: &str, patch: RecordPatch) -> Result<RecordView> {
        Ok(self.inner.update(parse_id(id, "id")?, patch)?.into())
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl GridworkClient {
    /// Open (creating on first use) the device database at `db_path`; works offline.
    /// `db_key`: 64 hex digits is a raw key (from the platform keystore), anything else a
    /// passphrase; None leaves the file unencrypted. A wrong key is `WrongKey`.
    /// `server_url` must be `https://`, or `http://` to this machine (loopback), unless
    /// `allow_plain_http` (the app explicitly chose a server without TLS); else `Argument`.
    #[uniffi::constructor(default(db_key = None, allow_plain_http = false))]
    pub fn open(db_path: String, server_url: String, db_key: Option<String>, allow_plain_http: bool) -> Result<Arc<Self>> {
        let config =
            DeviceConfig { db_path: db_path.into(), server_url, db_key: db_key.as_deref().map(DbKey::parse), allow_plain_http };
        Ok(Arc::new(GridworkClient { inner: Arc::new(Device::open(config)?) }))
    }

    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }

    pub fn server_url(&self) -> String {
        self.inner.server_url().to_owned()
    }

    /// The logged-in user, known offline.
    pub fn current_user(&self) -> Option<User> {
        self.inner.current_user().map(Into::into)
    }

    /// Log in online (the token is bound to this device) and fetch the reference data.
    pub async fn login(&self, username: String, password: String) -> Result<User> {
        Ok(self.inner.login(&username, &password).await?.into())
    }

    /// Sign in by the text of a scanned enrolment QR code (扫码登录,
    /// `gridwork://enrol?server=…&code=…`), kept like a login, then sync as usual. The
    /// server it names must be this client's (`enrol_server` reads it first). A text that
    /// is no usable link is `Argument` (nothing sent); a code the server refuses (unknown,
    /// used or expired) is `Unauthorized`.
    pub async fn enrol(&self, qr_text: String) -> Result<User> {
        Ok(self.inner.enrol(&qr_text).await?.into())
    }

    /// Forget the session (the server revokes it when reachable). Records stay.
    pub async fn logout(&self) -> Result<()> {
        Ok(self.inner.logout().await?)
    }

    // --- filing and editing, all offline ----------------------------------------------

    pub fn create_report(&self, draft: ReportDraft) -> Result<RecordView> {
        let (grid, location) = (draft.grid.clone(), draft.location.clone());
        self.create(&grid, location, draft.into_body()?)
    }

    /// The notice number is the device's next one unless the draft carries one.
    pub fn create_notice(&self, draft: NoticeDraft) -> Result<RecordView> {
        let (grid, location) = (draft.grid.clone(), draft.location.clone());
        // No number: the core takes the next of this device's blocks with the notice.
        let number = draft.number.clone().unwrap_or_default();
        self.create(&grid, location, draft.into_body(number)?)
    }

    pub fn create_service_log(&self, draft: ServiceLogDraft) -> Result<RecordView> {
        let (grid, location) = (draft.grid.clone(), draft.location.clone());
        self.create(&grid, location, draft.into_body()?)
    }

    pub fn update_report(&self, id: String, edit: ReportEdit) -> Result<RecordView> {
        self.update(&id, edit.into())
    }

    pub fn update_notice(&self, id: String, edit: NoticeEdit) -> Result<RecordView> {
        self.update(&id, edit.try_into()?)
    }

    pub fn update_service_log(&self, id: String, edit: ServiceLogEdit) -> Result<RecordView> {
        self.update(&id, edit.try_into()?)
    }

    /// Move a record to `status`, e.g. `RecordStatus.Notice(NoticeStatus.RECTIFIED)`. A
    /// status of another kind than the record's is `Invalid` with reason `KIND_MISMATCH`; a
    /// move the state machine or the user's role does not allow, `INVALID_TRANSITION`.
    /// A case status is `Invalid` with `INVALID_TRANSITION`: a case moves only by its steps.
    pub fn set_status(&self, id: String, status: RecordStatus) -> Result<RecordView> {
        self.update(&id, status.try_into()?)
    }

    // --- cases (案件), offline like every edit ------------------------------------------

    /// 立案 (admins): open a case from a report, a notice, a complaint of a service log or a
    /// hotline call. It starts `RecordStatus.Case(REGISTERED)`; the server numbers it.
    pub fn open_case(&self, draft: CaseDraft) -> Result<RecordView> {
        let draft = draft.into_core(|grid| Ok(self.inner.org_for_grid(grid)?))?;
        Ok(self.inner.open_case(draft)?.into())
    }

    /// Take a step of case `id` from the stage this device shows (派遣, 处置完成, 核查, …),
    /// with an internal `note` and photos from `take_photo`. Checked here with the server's
    /// rules (`Invalid` with `WRONG_ROLE`, `NOT_ASSIGNEE`, `INVALID_TRANSITION`, …) and
    /// queued; if another device's step reaches the server first, this one comes back
    /// rejected as `STALE_STEP`.
    #[uniffi::method(default(note = None, photos = []))]
    pub fn case_step(&self, id: String, action: CaseAction, note: Option<String>, photos: Vec<PhotoInfo>) -> Result<RecordView> {
        let id = parse_id(&id, "id")?;
        let photos = photos.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>>>()?;
        Ok(self.inner.case_step(id, action.try_into()?, note, photos)?.into())
    }

    /// Take in a photo for a case step (not attached to any record yet: pass it to
    /// `case_step`). Taken in like `attach_photo` and queued for upload.
    #[uniffi::method(default(stage))]
    pub fn take_photo(&self, file_path: String, stage: Option<PhotoStage>) -> Result<PhotoInfo> {
        Ok(self.inner.take_photo(std::path::Path::new(&file_path), stage)?.into())
    }

    /// The case opened from record `record_id` (e.g. the reporter's 随手拍), if this device
    /// has it: its status and `reply` are what the reporter is told.
    pub fn case_of(&self, record_id: String) -> Result<Option<RecordView>> {
        Ok(self.inner.case_of(parse_id(&record_id, "record_id")?)?.map(Into::into))
    }

    /// Every case opened from record `record_id`, oldest first: the cases a service log's
    /// complaints opened, each with its stage and reply (the log's progress).
    pub fn cases_from(&self, record_id: String) -> Result<Vec<RecordView>> {
        Ok(self.inner.cases_from(parse_id(&record_id, "record_id")?)?.into_iter().map(Into::into).collect())
    }

    /// While a report is filed: open reports and cases of `category` within 50 m of
    /// (lat, lon) filed in the last 7 days, nearest first, from this device's data
    /// (offline), so the worker can add to one instead of filing another.
    pub fn duplicate_hints(&self, category: String, lat: f64, lon: f64) -> Result<Vec<DuplicateHint>> {
        let near = self.inner.duplicate_hints(&category, lat, lon)?;
        Ok(near.into_iter().map(|n| DuplicateHint { distance_m: n.distance_m, record: n.record.into() }).collect())
    }

    /// The 小蓝棚 a scanned QR code names (its URL or bare code), offline; None if the
    /// registry has no such stall. A payload that is no stall code is an `Argument` error.
    pub fn stall_by_qr(&self, payload: String) -> Result<Option<StallView>> {
        Ok(self.inner.stall_by_qr(&payload)?.map(|s| StallView::new(s, 0.0)))
    }

    /// The stalls and 便民市场 within `radius_m` (at most 50 km) of (lat, lon), nearest first.
    pub fn stalls_near(&self, lat: f64, lon: f64, radius_m: f64) -> Result<Vec<StallView>> {
        Ok(self.inner.stalls_near(lat, lon, radius_m)?.into_iter().map(|(s, d)| StallView::new(s, d)).collect())
    }

    /// The inspections of stall `code` on this device (notices and service logs linked to
    /// it), newest first: the stall's page.
    pub fn stall_inspections(&self, code: String) -> Result<Vec<RecordView>> {
        Ok(self.inner.stall_inspections(&code)?.into_iter().map(Into::into).collect())
    }

    /// Working minutes left to case `id`'s deadline now (negative: overdue), offline from
    /// the working calendar; while 缓办 (paused) what was left when it paused; None when no
    /// clock runs (not dispatched, closed, …).
    /// A record that is not a case is an `Argument` error.
    pub fn case_remaining(&self, id: String) -> Result<Option<i64>> {
        Ok(self.inner.case_remaining(parse_id(&id, "id")?)?)
    }

    /// The accounts of the city (names and roles, no personal data), of `role` if given,
    /// by username: e.g. the officers a case can be dispatched to. From the local copy.
    #[uniffi::method(default(role = None))]
    pub fn users(&self, role: Option<Role>) -> Result<Vec<User>> {
        Ok(self.inner.users(role)?.into_iter().map(Into::into).collect())
    }

    // --- queries ------------------------------------------------------------------------

    /// Records matching `filter`, newest first.
    pub fn list_records(&self, filter: RecordFilter) -> Result<Vec<RecordView>> {
        let me =
            if filter.mine_only { Some(self.inner.current_user().ok_or(gridwork_core::Error::NotLoggedIn)?.id) } else { None };
        let records = self.inner.list(&filter.into_query(me)?)?;
        Ok(records.into_iter().map(Into::into).collect())
    }

    /// A record with its history (local changes and changes by others), or None.
    pub fn get_record(&self, id: String) -> Result<Option<RecordDetail>> {
        Ok(self.inner.get(parse_id(&id, "id")?)?.map(Into::into))
    }

    /// How many local changes wait to be pushed.
    pub fn pending_count(&self) -> Result<i64> {
        Ok(count(self.inner.pending_count()?))
    }

    /// How many records the device holds.
    pub fn record_count(&self) -> Result<i64> {
        Ok(count(self.inner.record_count()?))
    }

    /// Changes the server refused, with its reasons, until discarded.
    pub fn rejected_changes(&self) -> Result<Vec<RejectedChange>> {
        Ok(self.inner.rejected()?.into_iter().map(Into::into).collect())
    }

    /// The user has seen a rejection and lets it go. `NotFound` if there is none.
    pub fn discard_rejected(&self, op_id: String) -> Result<()> {
        Ok(self.inner.discard_rejected(parse_id(&op_id, "op_id")?)?)
    }

    // --- reference data -----------------------------------------------------------------

    /// The org units under `parent` (None: the top, i.e. the city). Needs reference data.
    #[uniffi::method(default(parent))]
    pub fn org_children(&self, parent: Option<String>) -> Result<Vec<OrgUnit>> {
        self.inner.org_children(parent.as_deref()).map_err(Into::into)
    }

    /// The GB/T 47678.5 category table. Needs reference data.
    pub fn categories(&self) -> Result<Vec<Category>> {
        let data = self.inner.reference()?.ok_or(gridwork_core::Error::NoReferenceData)?;
        Ok(data.categories)
    }

    /// The number the next notice takes, from the blocks the server handed this device
    /// (`奎文城管告字〔2026〕第000201号`); offline. The notice's create takes it, so asking
    /// twice gives the same number. `NoNumbers` when none is left (grid workers hold none).
    pub fn next_notice_number(&self) -> Result<String> {
        Ok(self.inner.next_notice_number()?)
    }

    /// Notice numbers this device has left (an officer's device holds blocks of the
    /// brigade's sequence; a sync tops them up when fewer than 20 are left).
    pub fn numbers_left(&self) -> Result<i64> {
        Ok(i64::try_from(self.inner.numbers_left()?).unwrap_or(i64::MAX))
    }

    // --- sync ---------------------------------------------------------------------------

    /// Push pending changes, then pull. Cancelling (dropping the future, or `cancel_sync`)
    /// is safe at any point: the next sync completes the work.
    pub async fn sync_now(&self) -> Result<SyncSummary> {
        Ok(self.inner.sync().await?.into())
    }

    /// Stop the syncs running now; they fail with `Cancelled` once what they had begun
    /// writing to the device's store is written (nothing of theirs lands later).
    pub fn cancel_sync(&self) {
        self.inner.cancel_sync()
    }

    // --- photos -------------------------------------------------------------------------

    /// Attach a photo file (JPEG, PNG or WebP; convert HEIC first) to a record: EXIF time
    /// and position go into the record, the stored file is downscaled and has no EXIF, and
    /// it is queued for upload. At most 9 a record. `stage`: a notice's evidence before or
    /// after rectification, or none.
    #[uniffi::method(default(stage))]
    pub fn attach_photo(&self, record_id: String, file_path: String, stage: Option<PhotoStage>) -> Result<PhotoInfo> {
        let id = parse_id(&record_id, "record_id")?;
        Ok(self.inner.attach_photo(id, std::path::Path::new(&file_path), stage)?.into())
    }

    /// Take a photo off a record (the file stays until the server holds it).
    pub fn detach_photo(&self, record_id: String, sha256: String) -> Result<RecordView> {
        Ok(self.inner.detach_photo(parse_id(&record_id, "record_id")?, sha256.trim())?.into())
    }

    /// The local file of a photo or its thumbnail, if this device holds it.
    pub fn photo_file(&self, sha256: String, thumb: bool) -> Option<String> {
        self.inner.photo_file(sha256.trim(), thumb).map(|p| p.to_string_lossy().into_owned())
    }

    /// A photo of a visible record, from the server unless held here; the local path.
    /// `PhotoPending` while its upload has not finished.
    pub async fn fetch_photo(&self, sha256: String, thumb: bool) -> Result<String> {
        Ok(self.inner.fetch_photo(sha256.trim(), thumb).await?.to_string_lossy().into_owned())
    }

    /// Photos waiting to upload.
    pub fn photo_queue(&self) -> Result<PhotoQueue> {
        let (photos, bytes) = self.inner.photo_queue()?;
        Ok(PhotoQueue { count: count(photos), bytes: count(bytes) })
    }

    /// Delete full-size files the server has confirmed it holds; the bytes freed.
    pub fn free_photo_space(&self) -> Result<i64> {
        Ok(count(self.inner.free_photo_space()?))
    }

    pub fn set_photo_policy(&self, policy: PhotoPolicy) -> Result<()> {
        Ok(self.inner.set_photo_policy(policy)?)
    }

    pub fn photo_policy(&self) -> PhotoPolicy {
        self.inner.photo_policy()
    }

    /// Tell the core which network the phone is on (photos may wait for unmetered).
    pub fn set_network(&self, network: Network) {
        self.inner.set_network(network)
    }

    /// Upload pending photos now, whatever the policy.
    pub async fn upload_photos(&self) -> Result<SyncSummary> {
        Ok(self.inner.upload_photos().await?.into())
    }

    /// Be told the progress of every sync until the handle is cancelled or dropped.
    pub fn subscribe(&self, listener: Arc<dyn SyncListener>) -> Arc<TaskHandle> {
        Arc::new(TaskHandle::new(self.inner.subscribe(Arc::new(ListenerAdapter(listener)))))
    }
}

/// The server an enrolment QR code (扫码登录) names, checked: `https://`, or `http://` to a
/// loopback address unless `allow_insecure`. Open the client with it, then `enrol`. A text
/// that is no enrolment link, or names an unusable server, is `Argument`.
#[uniffi::export(default(allow_insecure = false))]
pub fn enrol_server(qr_text: String, allow_insecure: bool) -> Result<String> {
    gridwork_core::session::parse_enrol_link(&qr_text, allow_insecure)
        .map(|link| link.server)
        .map_err(|e| gridwork_core::Error::EnrolLink(e).into())
}
