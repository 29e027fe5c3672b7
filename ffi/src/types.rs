//! Records and enums that cross the boundary, and their conversions from and to the core.
//!
//! Conventions (the same for Kotlin, Swift and Python):
//! - ids are UUID strings; instants are uniffi timestamps (Kotlin `Instant`, Swift `Date`,
//!   Python `datetime`); calendar dates are `YYYY-MM-DD` strings;
//! - record kind, status and activity are the protocol's snake_case codes as strings, because
//!   the app sends them back (drafts, edits, filters); an unknown code is an `Argument` error.
//!   Each comes with a Chinese `*_label` for display;
//! - what the app only reads and switches on (role, sync state, reject reason, org level,
//!   category kind, sync phase) are enums.

use crate::error::GridworkError;
use chrono::{DateTime, NaiveDate, Utc};
use gridwork_core::events as sy;
use gridwork_core::model as m;
use gridwork_core::protocol as p;
use gridwork_core::reference as r;
use gridwork_core::store::history as core_client;
use gridwork_core::store::outbox as ob;
use gridwork_core::store::records as rec;
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

type Result<T> = std::result::Result<T, GridworkError>;

// ---------------------------------------------------------------------------------------
// Scalars: ids, instants, dates, codes. Everything the app sends is checked here, never
// unwrapped.

pub(crate) fn parse_id(s: &str, field: &str) -> Result<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| GridworkError::argument("编号格式不正确，应为UUID", field))
}

pub(crate) fn parse_ids(items: Vec<String>, field: &str) -> Result<Vec<Uuid>> {
    items.iter().map(|s| parse_id(s, field)).collect()
}

pub(crate) fn parse_date(s: &str, field: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| GridworkError::argument("日期格式不正确，应为YYYY-MM-DD", field))
}

fn format_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A foreign timestamp as a chrono instant; out of chrono's range is an `Argument` error
/// (chrono's own `From<SystemTime>` panics there).
pub(crate) fn parse_time(t: SystemTime, field: &str) -> Result<DateTime<Utc>> {
    let out_of_range = || GridworkError::argument("时间超出范围", field);
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).map_err(|_| out_of_range())?, d.subsec_nanos()),
        Err(e) => {
            // Before 1970: floor to whole seconds, nanos counted forwards.
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).map_err(|_| out_of_range())?;
            match d.subsec_nanos() {
                0 => (-secs, 0),
                n => (-secs - 1, 1_000_000_000 - n),
            }
        }
    };
    DateTime::from_timestamp(secs, nanos).ok_or_else(out_of_range)
}

pub(crate) fn time(t: DateTime<Utc>) -> SystemTime {
    SystemTime::from(t)
}

pub(crate) fn parse_kind(s: &str) -> Result<m::RecordKind> {
    m::RecordKind::parse(s.trim()).ok_or_else(|| GridworkError::argument("未知的记录类型", "kind"))
}

pub(crate) fn parse_status(s: &str) -> Result<m::Status> {
    m::Status::parse(s.trim()).ok_or_else(|| GridworkError::argument("未知的状态", "status"))
}

fn parse_activity(s: &str) -> Result<m::Activity> {
    m::Activity::parse(s.trim()).ok_or_else(|| GridworkError::argument("未知的服务类型", "activity"))
}

// ---------------------------------------------------------------------------------------
// Output-only enums.

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    GridWorker,
    Officer,
    Admin,
}

impl From<m::Role> for Role {
    fn from(r: m::Role) -> Self {
        match r {
            m::Role::GridWorker => Role::GridWorker,
            m::Role::Officer => Role::Officer,
            m::Role::Admin => Role::Admin,
        }
    }
}

/// Where a record stands with the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SyncState {
    Pending,
    Synced,
    Rejected,
}

impl From<rec::SyncState> for SyncState {
    fn from(s: rec::SyncState) -> Self {
        match s {
            rec::SyncState::Pending => SyncState::Pending,
            rec::SyncState::Synced => SyncState::Synced,
            rec::SyncState::Rejected => SyncState::Rejected,
        }
    }
}

/// Why the server (or the device's own check) refused a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum RejectReason {
    Invalid,
    OutOfScope,
    NotFound,
    AlreadyExists,
    KindMismatch,
    InvalidTransition,
    OpIdConflict,
}

impl From<p::RejectReason> for RejectReason {
    fn from(r: p::RejectReason) -> Self {
        match r {
            p::RejectReason::Invalid => RejectReason::Invalid,
            p::RejectReason::OutOfScope => RejectReason::OutOfScope,
            p::RejectReason::NotFound => RejectReason::NotFound,
            p::RejectReason::AlreadyExists => RejectReason::AlreadyExists,
            p::RejectReason::KindMismatch => RejectReason::KindMismatch,
            p::RejectReason::InvalidTransition => RejectReason::InvalidTransition,
            p::RejectReason::OpIdConflict => RejectReason::OpIdConflict,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum OrgLevel {
    City,
    District,
    Street,
    Community,
    Grid,
}

impl From<r::OrgLevel> for OrgLevel {
    fn from(l: r::OrgLevel) -> Self {
        match l {
            r::OrgLevel::City => OrgLevel::City,
            r::OrgLevel::District => OrgLevel::District,
            r::OrgLevel::Street => OrgLevel::Street,
            r::OrgLevel::Community => OrgLevel::Community,
            r::OrgLevel::Grid => OrgLevel::Grid,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CategoryKind {
    Component,
    Matter,
}

impl From<r::CategoryKind> for CategoryKind {
    fn from(k: r::CategoryKind) -> Self {
        match k {
            r::CategoryKind::Component => CategoryKind::Component,
            r::CategoryKind::Matter => CategoryKind::Matter,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    Pushing,
    Pulling,
    Reference,
    UploadingPhotos,
    Done,
}

impl From<sy::SyncPhase> for SyncPhase {
    fn from(p: sy::SyncPhase) -> Self {
        match p {
            sy::SyncPhase::Pushing => SyncPhase::Pushing,
            sy::SyncPhase::Pulling => SyncPhase::Pulling,
            sy::SyncPhase::Reference => SyncPhase::Reference,
            sy::SyncPhase::UploadingPhotos => SyncPhase::UploadingPhotos,
            sy::SyncPhase::Done => SyncPhase::Done,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared records.

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub role_label: String,
    /// Org code of the user's scope: a grid, a district or the city.
    pub scope: String,
}

impl From<r::UserInfo> for User {
    fn from(u: r::UserInfo) -> Self {
        User {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role.into(),
            role_label: u.role.label_zh().into(),
            scope: u.scope,
        }
    }
}

/// WGS-84 position; the core checks the ranges (latitude 91 is an `Invalid` error).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres, as the phone reports it.
    pub accuracy_m: f64,
    #[uniffi(default)]
    pub address: Option<String>,
}

impl From<Location> for m::Location {
    fn from(l: Location) -> Self {
        m::Location { lat: l.lat, lon: l.lon, accuracy_m: l.accuracy_m, address: l.address }
    }
}

impl From<m::Location> for Location {
    fn from(l: m::Location) -> Self {
        Location { lat: l.lat, lon: l.lon, accuracy_m: l.accuracy_m, address: l.address }
    }
}

/// The party a notice is issued to. Personal data: the core never logs it.
#[derive(Clone, PartialEq, uniffi::Record)]
pub struct Party {
    pub name: String,
    #[uniffi(default)]
    pub shop_name: Option<String>,
    #[uniffi(default)]
    pub phone: Option<String>,
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Party { <redacted> }")
    }
}

impl From<Party> for m::Party {
    fn from(p: Party) -> Self {
        m::Party { name: p.name, shop_name: p.shop_name, phone: p.phone }
    }
}

impl From<m::Party> for Party {
    fn from(p: m::Party) -> Self {
        Party { name: p.name, shop_name: p.shop_name, phone: p.phone }
    }
}

// ---------------------------------------------------------------------------------------
// Drafts: new records as the user fills them in.

/// 随手拍.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ReportDraft {
    /// Grid code, e.g. `370705001001-01`; the community is looked up.
    pub grid: String,
    pub location: Location,
    /// GB/T 47678.5 小类 code, e.g. `09006`.
    pub category: String,
    pub description: String,
}

impl ReportDraft {
    pub(crate) fn into_body(self) -> m::RecordBody {
        m::RecordBody::Report(m::Report { category: self.category, description: self.description, photos: vec![] })
    }
}

/// 不文明行为告知单.
#[derive(Clone, Debug, uniffi::Record)]
pub struct NoticeDraft {
    pub grid: String,
    pub location: Location,
    /// Notice number; None: the device's next one (`next_notice_number`).
    #[uniffi(default)]
    pub number: Option<String>,
    /// A 七乱 code (`QL-STALL`, ...), `MQWB` or a matter code.
    pub category: String,
    pub party: Party,
    pub facts: String,
    pub legal_basis: String,
    /// Rectify by the end of this day, `YYYY-MM-DD`.
    pub deadline: String,
}

impl NoticeDraft {
    /// The body, with the number the caller settled on.
    pub(crate) fn into_body(self, number: String) -> Result<m::RecordBody> {
        Ok(m::RecordBody::Notice(m::Notice {
            number,
            category: self.category,
            party: self.party.into(),
            facts: self.facts,
            legal_basis: self.legal_basis,
            deadline: parse_date(&self.deadline, "deadline")?,
            photos: vec![],
        }))
    }
}

/// 服务日志.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ServiceLogDraft {
    pub grid: String,
    pub location: Location,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `contact_card`, `complaint_reply`, `forum`, `site_visit`, `home_visit`,
    /// `collective_feedback` or `open_day`.
    pub activity: String,
    pub participants: u32,
    #[uniffi(default)]
    pub summary: String,
    #[uniffi(default)]
    pub complaints: Vec<String>,
    #[uniffi(default)]
    pub replies: Vec<String>,
    /// Ids of reports this visit produced.
    #[uniffi(default)]
    pub linked_reports: Vec<String>,
}

impl ServiceLogDraft {
    pub(crate) fn into_body(self) -> Result<m::RecordBody> {
        Ok(m::RecordBody::ServiceLog(m::ServiceLog {
            date: parse_date(&self.date, "date")?,
            activity: parse_activity(&self.activity)?,
            participants: self.participants,
            summary: self.summary,
            complaints: self.complaints,
            replies: self.replies,
            linked_reports: parse_ids(self.linked_reports, "linked_reports")?,
            photos: vec![],
        }))
    }
}

// ---------------------------------------------------------------------------------------
// Edits: absent fields stay unchanged.

#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct ReportEdit {
    #[uniffi(default)]
    pub location: Option<Location>,
    #[uniffi(default)]
    pub status: Option<String>,
    #[uniffi(default)]
    pub category: Option<String>,
    #[uniffi(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct NoticeEdit {
    #[uniffi(default)]
    pub location: Option<Location>,
    #[uniffi(default)]
    pub status: Option<String>,
    #[uniffi(default)]
    pub number: Option<String>,
    #[uniffi(default)]
    pub category: Option<String>,
    #[uniffi(default)]
    pub party: Option<Party>,
    #[uniffi(default)]
    pub facts: Option<String>,
    #[uniffi(default)]
    pub legal_basis: Option<String>,
    /// `YYYY-MM-DD`.
    #[uniffi(default)]
    pub deadline: Option<String>,
}

#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct ServiceLogEdit {
    #[uniffi(default)]
    pub location: Option<Location>,
    #[uniffi(default)]
    pub status: Option<String>,
    #[uniffi(default)]
    pub date: Option<String>,
    #[uniffi(default)]
    pub activity: Option<String>,
    #[uniffi(default)]
    pub participants: Option<u32>,
    #[uniffi(default)]
    pub summary: Option<String>,
    #[uniffi(default)]
    pub complaints: Option<Vec<String>>,
    #[uniffi(default)]
    pub replies: Option<Vec<String>>,
    #[uniffi(default)]
    pub linked_reports: Option<Vec<String>>,
}

/// The record patch of a typed edit. The body part is always sent (even with no body field
/// set) so that the core and the server check the record's kind; an edit with nothing set
/// becomes the empty patch, which the core refuses as such.
fn patch(location: Option<Location>, status: Option<String>, body: p::BodyPatch, body_empty: bool) -> Result<p::RecordPatch> {
    if location.is_none() && status.is_none() && body_empty {
        return Ok(p::RecordPatch::default());
    }
    Ok(p::RecordPatch {
        location: location.map(Into::into),
        status: status.as_deref().map(parse_status).transpose()?,
        body: Some(body),
    })
}

impl TryFrom<ReportEdit> for p::RecordPatch {
    type Error = GridworkError;
    fn try_from(e: ReportEdit) -> Result<Self> {
        let body = p::ReportPatch { category: e.category, description: e.description, photos: None };
        let empty = body == p::ReportPatch::default();
        patch(e.location, e.status, p::BodyPatch::Report(body), empty)
    }
}

impl TryFrom<NoticeEdit> for p::RecordPatch {
    type Error = GridworkError;
    fn try_from(e: NoticeEdit) -> Result<Self> {
        let body = p::NoticePatch {
            number: e.number,
            category: e.category,
            party: e.party.map(Into::into),
            facts: e.facts,
            legal_basis: e.legal_basis,
            deadline: e.deadline.as_deref().map(|d| parse_date(d, "deadline")).transpose()?,
            photos: None,
        };
        let empty = body == p::NoticePatch::default();
        patch(e.location, e.status, p::BodyPatch::Notice(body), empty)
    }
}

impl TryFrom<ServiceLogEdit> for p::RecordPatch {
    type Error = GridworkError;
    fn try_from(e: ServiceLogEdit) -> Result<Self> {
        let body = p::ServiceLogPatch {
            date: e.date.as_deref().map(|d| parse_date(d, "date")).transpose()?,
            activity: e.activity.as_deref().map(parse_activity).transpose()?,
            participants: e.participants,
            summary: e.summary,
            complaints: e.complaints,
            replies: e.replies,
            linked_reports: e.linked_reports.map(|l| parse_ids(l, "linked_reports")).transpose()?,
            photos: None,
        };
        let empty = body == p::ServiceLogPatch::default();
        patch(e.location, e.status, p::BodyPatch::ServiceLog(body), empty)
    }
}

// ---------------------------------------------------------------------------------------
// Records as the screens show them.

/// The kind-specific fields of a record.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum RecordBody {
    Report {
        category: String,
        description: String,
        photos: Vec<PhotoInfo>,
    },
    Notice {
        number: String,
        category: String,
        party: Party,
        facts: String,
        legal_basis: String,
        /// `YYYY-MM-DD`.
        deadline: String,
        photos: Vec<PhotoInfo>,
    },
    ServiceLog {
        /// `YYYY-MM-DD`.
        date: String,
        activity: String,
        activity_label: String,
        participants: u32,
        summary: String,
        complaints: Vec<String>,
        replies: Vec<String>,
        linked_reports: Vec<String>,
        photos: Vec<PhotoInfo>,
    },
}

impl From<m::RecordBody> for RecordBody {
    fn from(b: m::RecordBody) -> Self {
        match b {
            m::RecordBody::Report(r) => RecordBody::Report {
                category: r.category,
                description: r.description,
                photos: r.photos.into_iter().map(Into::into).collect(),
            },
            m::RecordBody::Notice(n) => RecordBody::Notice {
                number: n.number,
                category: n.category,
                party: n.party.into(),
                facts: n.facts,
                legal_basis: n.legal_basis,
                deadline: format_date(n.deadline),
                photos: n.photos.into_iter().map(Into::into).collect(),
            },
            m::RecordBody::ServiceLog(s) => RecordBody::ServiceLog {
                date: format_date(s.date),
                activity: s.activity.as_str().into(),
                activity_label: s.activity.label_zh().into(),
                participants: s.participants,
                summary: s.summary,
                complaints: s.complaints,
                replies: s.replies,
                linked_reports: s.linked_reports.iter().map(Uuid::to_string).collect(),
                photos: s.photos.into_iter().map(Into::into).collect(),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RecordView {
    pub id: String,
    /// `report`, `notice` or `service_log`.
    pub kind: String,
    pub kind_label: String,
    /// Account id of the author.
    pub author: String,
    /// Device id the record was created on.
    pub device: String,
    pub community: String,
    pub grid: String,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    /// Account id of the last writer.
    pub updated_by: String,
    pub location: Location,
    pub status: String,
    pub status_label: String,
    /// Server sequence of this version; None until the server accepted the record.
    pub seq: Option<u64>,
    pub sync_state: SyncState,
    pub body: RecordBody,
}

impl RecordView {
    fn new(r: m::Record, sync_state: SyncState) -> Self {
        let kind = r.kind();
        RecordView {
            id: r.id.to_string(),
            kind: kind.as_str().into(),
            kind_label: kind.label_zh().into(),
            author: r.author,
            device: r.device,
            community: r.org.community,
            grid: r.org.grid,
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
            updated_by: r.updated_by,
            location: r.location.into(),
            status: r.status.as_str().into(),
            status_label: r.status.label_zh().into(),
            seq: r.seq,
            sync_state,
            body: r.body.into(),
        }
    }
}

impl From<rec::LocalRecord> for RecordView {
    fn from(l: rec::LocalRecord) -> Self {
        RecordView::new(l.record, l.sync_state.into())
    }
}

/// A record just created or edited here: its change was queued, so it is pending.
impl From<m::Record> for RecordView {
    fn from(r: m::Record) -> Self {
        RecordView::new(r, SyncState::Pending)
    }
}

/// One entry of a record's history, oldest first.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum HistoryEntry {
    /// A change made on this device.
    Local {
        op_id: String,
        at: SystemTime,
        is_create: bool,
        /// The fields the change writes.
        fields: Vec<String>,
        /// `pending`, `accepted`, `rejected` or `discarded`.
        state: String,
        reason: Option<RejectReason>,
        message: Option<String>,
    },
    /// A change by someone else, as it arrived from the server.
    Server {
        seq: u64,
        at: SystemTime,
        /// Account id of the writer; empty when unknown.
        actor: String,
        fields: Vec<String>,
    },
}

impl From<core_client::HistoryEntry> for HistoryEntry {
    fn from(h: core_client::HistoryEntry) -> Self {
        match h {
            core_client::HistoryEntry::Local(c) => HistoryEntry::Local {
                op_id: c.op_id.to_string(),
                at: time(c.created_at),
                is_create: matches!(c.op.action, p::OpAction::Create(_)),
                fields: gridwork_core::merge::op_fields(&c.op),
                state: c.state,
                reason: c.reason.map(Into::into),
                message: c.message,
            },
            core_client::HistoryEntry::Server(c) => {
                HistoryEntry::Server { seq: c.seq, at: time(c.at), actor: c.actor, fields: c.fields }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RecordDetail {
    pub record: RecordView,
    pub history: Vec<HistoryEntry>,
}

impl From<core_client::RecordDetail> for RecordDetail {
    fn from(d: core_client::RecordDetail) -> Self {
        RecordDetail { record: d.record.into(), history: d.history.into_iter().map(Into::into).collect() }
    }
}

/// Filters of the record lists; every field is optional.
#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct RecordFilter {
    #[uniffi(default)]
    pub kind: Option<String>,
    #[uniffi(default)]
    pub status: Option<String>,
    /// Only records the logged-in user wrote (needs a login).
    #[uniffi(default)]
    pub mine_only: bool,
    #[uniffi(default)]
    pub created_from: Option<SystemTime>,
    #[uniffi(default)]
    pub created_before: Option<SystemTime>,
    /// Default 100, at most 1000.
    #[uniffi(default)]
    pub limit: Option<u32>,
    #[uniffi(default)]
    pub offset: u32,
}

impl RecordFilter {
    /// The core query; `me` is the logged-in user's id when `mine_only`.
    pub(crate) fn into_query(self, me: Option<String>) -> Result<rec::RecordQuery> {
        Ok(rec::RecordQuery {
            kind: self.kind.as_deref().map(parse_kind).transpose()?,
            status: self.status.as_deref().map(parse_status).transpose()?,
            author: me,
            created_from: self.created_from.map(|t| parse_time(t, "created_from")).transpose()?,
            created_before: self.created_before.map(|t| parse_time(t, "created_before")).transpose()?,
            limit: self.limit,
            offset: self.offset,
        })
    }
}

/// A change the server refused. It stays until discarded.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RejectedChange {
    pub op_id: String,
    pub record_id: String,
    pub kind: String,
    pub kind_label: String,
    /// true for a refused create: the record never reached the server.
    pub is_create: bool,
    pub reason: RejectReason,
    pub reason_label: String,
    pub field: Option<String>,
    pub message: String,
    pub created_at: SystemTime,
    pub rejected_at: SystemTime,
}

impl From<ob::RejectedChange> for RejectedChange {
    fn from(c: ob::RejectedChange) -> Self {
        RejectedChange {
            op_id: c.op_id.to_string(),
            record_id: c.record_id.to_string(),
            kind: c.kind.as_str().into(),
            kind_label: c.kind.label_zh().into(),
            is_create: c.is_create,
            reason: c.reason.into(),
            reason_label: c.reason.label_zh().into(),
            field: c.field,
            message: c.message,
            created_at: time(c.created_at),
            rejected_at: time(c.rejected_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reference data.

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct OrgUnit {
    pub code: String,
    pub name: String,
    pub level: OrgLevel,
    pub parent: Option<String>,
}

impl From<r::OrgUnit> for OrgUnit {
    fn from(o: r::OrgUnit) -> Self {
        OrgUnit { code: o.code, name: o.name, level: o.level.into(), parent: o.parent }
    }
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Category {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub kind: CategoryKind,
}

impl From<r::Category> for Category {
    fn from(c: r::Category) -> Self {
        Category { code: c.code, name: c.name, parent: c.parent, kind: c.kind.into() }
    }
}

// ---------------------------------------------------------------------------------------
// Sync.

/// What one sync did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    pub pushed: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub pulled: u64,
    pub round_trips: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub photos_uploaded: u64,
    /// Photo bytes sent (part of `bytes_sent`), resends included.
    pub photo_bytes_sent: u64,
}

impl From<sy::SyncReport> for SyncSummary {
    fn from(r: sy::SyncReport) -> Self {
        SyncSummary {
            pushed: r.pushed,
            accepted: r.accepted,
            rejected: r.rejected,
            pulled: r.pulled,
            round_trips: r.round_trips,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            photos_uploaded: r.photos_uploaded,
            photo_bytes_sent: r.photo_bytes_sent,
        }
    }
}

/// Progress of a running sync. The pull's total is unknown until it ends.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgressInfo {
    pub phase: SyncPhase,
    pub pushed: u64,
    pub push_total: u64,
    pub pulled: u64,
    /// Photo uploads: photos and bytes, overall and for the photo going now.
    pub photos_done: u64,
    pub photos_total: u64,
    pub photo_bytes_done: u64,
    pub photo_bytes_total: u64,
    /// SHA-256 of the photo going now.
    pub current_photo: Option<String>,
    pub current_photo_bytes_done: u64,
    pub current_photo_bytes_total: u64,
}

impl From<&sy::SyncProgress> for SyncProgressInfo {
    fn from(p: &sy::SyncProgress) -> Self {
        SyncProgressInfo {
            phase: p.phase.into(),
            pushed: p.pushed,
            push_total: p.push_total,
            pulled: p.pulled,
            photos_done: p.photos_done,
            photos_total: p.photos_total,
            photo_bytes_done: p.photo_bytes_done,
            photo_bytes_total: p.photo_bytes_total,
            current_photo: p.current_photo.clone(),
            current_photo_bytes_done: p.current_photo_bytes_done,
            current_photo_bytes_total: p.current_photo_bytes_total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_app_input_is_an_argument_error() {
        assert!(matches!(parse_id("not-a-uuid", "id"), Err(GridworkError::Argument { .. })));
        assert!(matches!(parse_date("2024-13-45", "date"), Err(GridworkError::Argument { .. })));
        assert!(matches!(parse_status("finished"), Err(GridworkError::Argument { .. })));
        assert!(matches!(parse_kind("complaint"), Err(GridworkError::Argument { .. })));
        assert_eq!(parse_date(" 2024-02-29 ", "date").ok(), NaiveDate::from_ymd_opt(2024, 2, 29));
    }

    #[test]
    fn timestamps_round_trip_and_never_panic() {
        for s in [0, 1_700_000_000, -1, -86_401] {
            let t = DateTime::from_timestamp(s, 123_456_789).expect("in range");
            assert_eq!(parse_time(time(t), "t").ok(), Some(t));
        }
        let far = UNIX_EPOCH + std::time::Duration::from_secs(u64::MAX / 4);
        assert!(matches!(parse_time(far, "t"), Err(GridworkError::Argument { .. })));
    }

    #[test]
    fn an_edit_with_nothing_set_is_the_empty_patch() {
        assert_eq!(p::RecordPatch::try_from(ReportEdit::default()).ok(), Some(p::RecordPatch::default()));
        let status_only = p::RecordPatch::try_from(NoticeEdit { status: Some("rectified".into()), ..Default::default() });
        let status_only = status_only.expect("valid");
        assert_eq!(status_only.status, Some(m::Status::Rectified));
        // The (empty) body names the kind, so a notice edit of a report is refused.
        assert_eq!(status_only.body, Some(p::BodyPatch::Notice(p::NoticePatch::default())));
    }
}

// Photos.

/// A photo attached to a record: named by its SHA-256; capture time and position from its
/// EXIF (the stored file has none).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PhotoInfo {
    pub sha256: String,
    pub mime: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    pub taken_at: Option<SystemTime>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// `before` / `after` (a notice's evidence before or after rectification).
    pub stage: Option<String>,
}

fn stage_code(s: m::PhotoStage) -> &'static str {
    match s {
        m::PhotoStage::Before => "before",
        m::PhotoStage::After => "after",
    }
}

pub(crate) fn parse_stage(s: Option<&str>) -> Result<Option<m::PhotoStage>> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some("before") => Ok(Some(m::PhotoStage::Before)),
        Some("after") => Ok(Some(m::PhotoStage::After)),
        Some(_) => Err(GridworkError::Argument { msg: "照片阶段只能是 before 或 after (stage)".into() }),
    }
}

impl From<m::PhotoRef> for PhotoInfo {
    fn from(p: m::PhotoRef) -> Self {
        PhotoInfo {
            sha256: p.sha256,
            mime: p.mime,
            bytes: p.bytes,
            width: p.width,
            height: p.height,
            taken_at: p.taken_at.map(time),
            lat: p.lat,
            lon: p.lon,
            stage: p.stage.map(|s| stage_code(s).to_owned()),
        }
    }
}

/// Photos waiting to upload.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PhotoQueue {
    pub count: u64,
    pub bytes: u64,
}

/// Which networks photos may use; record metadata always goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum PhotoPolicy {
    AnyNetwork,
    UnmeteredOnly,
}

impl From<PhotoPolicy> for gridwork_core::photos::PhotoPolicy {
    fn from(p: PhotoPolicy) -> Self {
        match p {
            PhotoPolicy::AnyNetwork => Self::AnyNetwork,
            PhotoPolicy::UnmeteredOnly => Self::UnmeteredOnly,
        }
    }
}

impl From<gridwork_core::photos::PhotoPolicy> for PhotoPolicy {
    fn from(p: gridwork_core::photos::PhotoPolicy) -> Self {
        match p {
            gridwork_core::photos::PhotoPolicy::AnyNetwork => Self::AnyNetwork,
            gridwork_core::photos::PhotoPolicy::UnmeteredOnly => Self::UnmeteredOnly,
        }
    }
}

/// The network the phone is on, as the app sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum NetworkKind {
    Unmetered,
    Metered,
}

impl From<NetworkKind> for gridwork_core::photos::Network {
    fn from(n: NetworkKind) -> Self {
        match n {
            NetworkKind::Unmetered => Self::Unmetered,
            NetworkKind::Metered => Self::Metered,
        }
    }
}
