//! The hand-shaped records and enums that cross the boundary (screens, drafts, edits,
//! filters, cases and their steps, sync and photo summaries), and their conversions from and
//! to the core. The
//! core's own enums and plain records cross as they are: see `remote.rs`; record status is
//! in `status.rs`.
//!
//! Conventions (the same for Kotlin, Swift and Python):
//! - ids are UUID strings; instants are uniffi timestamps (Kotlin `Instant`, Swift `Date`,
//!   Python `datetime`); calendar dates are `YYYY-MM-DD` strings;
//! - record kind, status, service activity and photo stage are enums both ways; what the
//!   screens show comes with a Chinese `*_label`;
//! - counts and byte sizes are `i64` (Kotlin `Long`, Swift `Int64`), small numbers
//!   (participants, photo width and height, a page size) `i32`: no unsigned types, which
//!   read badly in Kotlin. A negative or out-of-range number from the app is an `Argument`
//!   error, never a wrap.

use crate::error::GridworkError;
use crate::status::{NoticeStatus, RecordStatus, ReportStatus, ServiceLogStatus};
use chrono::{DateTime, NaiveDate, Utc};
use gridwork_core::cases::{self as c, Assignee, CaseEventKind};
use gridwork_core::events as sy;
use gridwork_core::model::{self as m, Activity, Location, Party, PhotoStage, RecordKind, Role};
use gridwork_core::protocol as p;
use gridwork_core::protocol::RejectReason;
use gridwork_core::reference as r;
use gridwork_core::store::history;
use gridwork_core::store::outbox as ob;
use gridwork_core::store::records::{self as rec, SyncState};
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

type Result<T> = std::result::Result<T, GridworkError>;

// ---------------------------------------------------------------------------------------
// Scalars: ids, instants, dates, numbers. Everything the app sends is checked here, never
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

/// A core count or byte size for the apps. Core counts are `u64` and nowhere near
/// `i64::MAX`; saturate rather than wrap all the same.
pub(crate) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A small core number (participants, pixels) for the apps, saturating.
fn small(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A number from the app that the core keeps unsigned: negative, or past `u32::MAX`, is an
/// `Argument` error naming the field.
pub(crate) fn non_negative(n: i64, what: &str, field: &str) -> Result<u32> {
    if n < 0 {
        return Err(GridworkError::argument(&format!("{what}不能为负数"), field));
    }
    u32::try_from(n).map_err(|_| GridworkError::argument(&format!("{what}过大"), field))
}

// ---------------------------------------------------------------------------------------
// The user.

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// 网格员, 执法队员, 管理员.
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
            role: u.role,
            role_label: u.role.label_zh().into(),
            scope: u.scope,
        }
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
    /// The open report or case this one adds to (picked from `duplicate_hints`).
    #[uniffi(default)]
    pub duplicate_of: Option<String>,
}

impl ReportDraft {
    pub(crate) fn into_body(self) -> Result<m::RecordBody> {
        let duplicate_of = self.duplicate_of.as_deref().map(|id| parse_id(id, "duplicate_of")).transpose()?;
        Ok(m::RecordBody::Report(m::Report {
            category: self.category,
            description: self.description,
            photos: vec![],
            duplicate_of,
        }))
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
    /// The 小蓝棚 inspected (its code, e.g. from `stall_by_qr`).
    #[uniffi(default)]
    pub stall: Option<String>,
}

impl NoticeDraft {
    /// The body, with the number the caller settled on.
    pub(crate) fn into_body(self, number: String) -> Result<m::RecordBody> {
        Ok(m::RecordBody::Notice(m::Notice {
            number,
            category: self.category,
            party: self.party,
            facts: self.facts,
            legal_basis: self.legal_basis,
            deadline: parse_date(&self.deadline, "deadline")?,
            photos: vec![],
            stall: self.stall,
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
    pub activity: Activity,
    /// How many residents took part; negative is an `Argument` error.
    pub participants: i32,
    #[uniffi(default)]
    pub summary: String,
    #[uniffi(default)]
    pub complaints: Vec<String>,
    #[uniffi(default)]
    pub replies: Vec<String>,
    /// Ids of reports this visit produced.
    #[uniffi(default)]
    pub linked_reports: Vec<String>,
    /// The 小蓝棚 visited (its code, e.g. from `stall_by_qr`).
    #[uniffi(default)]
    pub stall: Option<String>,
}

impl ServiceLogDraft {
    pub(crate) fn into_body(self) -> Result<m::RecordBody> {
        Ok(m::RecordBody::ServiceLog(m::ServiceLog {
            date: parse_date(&self.date, "date")?,
            activity: self.activity,
            participants: non_negative(self.participants.into(), "参与人数", "participants")?,
            summary: self.summary,
            complaints: self.complaints,
            replies: self.replies,
            linked_reports: parse_ids(self.linked_reports, "linked_reports")?,
            photos: vec![],
            stall: self.stall,
        }))
    }
}

// ---------------------------------------------------------------------------------------
// Edits: absent fields stay unchanged. Each takes its own kind's status.

#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct ReportEdit {
    #[uniffi(default)]
    pub location: Option<Location>,
    #[uniffi(default)]
    pub status: Option<ReportStatus>,
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
    pub status: Option<NoticeStatus>,
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
    pub status: Option<ServiceLogStatus>,
    #[uniffi(default)]
    pub date: Option<String>,
    #[uniffi(default)]
    pub activity: Option<Activity>,
    #[uniffi(default)]
    pub participants: Option<i32>,
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
fn patch(location: Option<Location>, status: Option<m::Status>, body: p::BodyPatch, body_empty: bool) -> p::RecordPatch {
    if location.is_none() && status.is_none() && body_empty {
        return p::RecordPatch::default();
    }
    p::RecordPatch { location, status, body: Some(body) }
}

impl From<ReportEdit> for p::RecordPatch {
    fn from(e: ReportEdit) -> Self {
        let body = p::ReportPatch { category: e.category, description: e.description, photos: None };
        let empty = body == p::ReportPatch::default();
        patch(e.location, e.status.map(Into::into), p::BodyPatch::Report(body), empty)
    }
}

impl TryFrom<NoticeEdit> for p::RecordPatch {
    type Error = GridworkError;
    fn try_from(e: NoticeEdit) -> Result<Self> {
        let body = p::NoticePatch {
            number: e.number,
            category: e.category,
            party: e.party,
            facts: e.facts,
            legal_basis: e.legal_basis,
            deadline: e.deadline.as_deref().map(|d| parse_date(d, "deadline")).transpose()?,
            photos: None,
        };
        let empty = body == p::NoticePatch::default();
        Ok(patch(e.location, e.status.map(Into::into), p::BodyPatch::Notice(body), empty))
    }
}

impl TryFrom<ServiceLogEdit> for p::RecordPatch {
    type Error = GridworkError;
    fn try_from(e: ServiceLogEdit) -> Result<Self> {
        let body = p::ServiceLogPatch {
            date: e.date.as_deref().map(|d| parse_date(d, "date")).transpose()?,
            activity: e.activity,
            participants: e.participants.map(|n| non_negative(n.into(), "参与人数", "participants")).transpose()?,
            summary: e.summary,
            complaints: e.complaints,
            replies: e.replies,
            linked_reports: e.linked_reports.map(|l| parse_ids(l, "linked_reports")).transpose()?,
            photos: None,
        };
        let empty = body == p::ServiceLogPatch::default();
        Ok(patch(e.location, e.status.map(Into::into), p::BodyPatch::ServiceLog(body), empty))
    }
}

/// A status change alone, with the (empty) body patch of the status's own kind: a status of
/// another kind than the record's is refused by the core as `Invalid` with reason
/// `KindMismatch`, before the state machine is asked.
///
/// A case status is refused here as `Invalid` with `InvalidTransition`: no status edit moves
/// a case (only its steps do, `case_step`), and the protocol has no case body patch to name
/// the kind with, so a case's `Closed` sent as a status edit would read as a report's.
impl TryFrom<RecordStatus> for p::RecordPatch {
    type Error = GridworkError;
    fn try_from(s: RecordStatus) -> Result<Self> {
        let body = match s {
            RecordStatus::Report { .. } => p::BodyPatch::Report(p::ReportPatch::default()),
            RecordStatus::Notice { .. } => p::BodyPatch::Notice(p::NoticePatch::default()),
            RecordStatus::ServiceLog { .. } => p::BodyPatch::ServiceLog(p::ServiceLogPatch::default()),
            RecordStatus::Case { .. } => {
                return Err(GridworkError::Invalid {
                    reason: RejectReason::InvalidTransition,
                    field: Some("status".into()),
                    msg: "案件的状态只随办理步骤变更 (status)".into(),
                });
            }
        };
        Ok(p::RecordPatch { location: None, status: Some(s.into()), body: Some(body) })
    }
}

// ---------------------------------------------------------------------------------------
// Cases (案件): opening one, its steps, the photos a step carries.

/// Where a case comes from.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum CaseSource {
    /// A 随手拍 report (it becomes 已立案 with the case).
    Report { id: String },
    /// A notice escalated to a case.
    Notice { id: String },
    /// A complaint of a service log: `complaint` indexes its `complaints`.
    ServiceLog { id: String, complaint: i32 },
    /// A 12345 hotline or other call: the draft gives the grid and the place.
    Hotline,
}

impl TryFrom<CaseSource> for c::CaseSource {
    type Error = GridworkError;
    fn try_from(s: CaseSource) -> Result<Self> {
        Ok(match s {
            CaseSource::Report { id } => c::CaseSource::Report { id: parse_id(&id, "source.id")? },
            CaseSource::Notice { id } => c::CaseSource::Notice { id: parse_id(&id, "source.id")? },
            CaseSource::ServiceLog { id, complaint } => c::CaseSource::ServiceLog {
                id: parse_id(&id, "source.id")?,
                complaint: non_negative(complaint.into(), "意见序号", "source.complaint")?,
            },
            CaseSource::Hotline => c::CaseSource::Hotline,
        })
    }
}

impl From<c::CaseSource> for CaseSource {
    fn from(s: c::CaseSource) -> Self {
        match s {
            c::CaseSource::Report { id } => CaseSource::Report { id: id.to_string() },
            c::CaseSource::Notice { id } => CaseSource::Notice { id: id.to_string() },
            c::CaseSource::ServiceLog { id, complaint } => {
                CaseSource::ServiceLog { id: id.to_string(), complaint: small(complaint) }
            }
            c::CaseSource::Hotline => CaseSource::Hotline,
        }
    }
}

/// 立案 (admins): a new case. The server gives it its number when it accepts it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CaseDraft {
    pub source: CaseSource,
    /// GB/T 47678.5 小类 code; the time limits follow it.
    pub category: String,
    pub description: String,
    /// Grid code and place of the case; both None: the source record's (a hotline case
    /// needs both). One without the other is an `Argument` error.
    #[uniffi(default)]
    pub grid: Option<String>,
    #[uniffi(default)]
    pub location: Option<Location>,
}

impl CaseDraft {
    /// The core's draft; `org` looks a grid code up.
    pub(crate) fn into_core(self, org: impl FnOnce(&str) -> Result<m::OrgRef>) -> Result<gridwork_core::CaseDraft> {
        let source = self.source.try_into()?;
        let place = match (self.grid, self.location) {
            (Some(grid), Some(location)) => Some((org(grid.trim())?, location)),
            (None, None) => None,
            _ => return Err(GridworkError::argument("网格和位置应同时给出或同时省略", "grid, location")),
        };
        Ok(gridwork_core::CaseDraft { source, place, category: self.category, description: self.description })
    }
}

/// What a case step does (`case_step`). Who may take which step, and from which stage, is
/// the core's rule: a step it refuses is `Invalid` with `WRONG_ROLE`, `NOT_ASSIGNEE`,
/// `INVALID_TRANSITION` or `INVALID`.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum CaseAction {
    /// 派遣 (admins): send a case to a brigade or an officer; its clock starts.
    Dispatch { to: Assignee },
    /// 回退 (the assignee): a wrong dispatch goes back, to be dispatched again.
    SendBack,
    /// 处置完成 (the assignee): the work is done; "after" photos go with it.
    Handle,
    /// 核查 (a grid worker of the case's grid, or an admin): passed → 结案; failed → 返工.
    Verify { passed: bool },
    /// 申请延期 (the assignee): more working minutes; negative is an `Argument` error.
    RequestExtension { working_minutes: i64 },
    /// 审批延期 (admins).
    DecideExtension { approved: bool },
    /// 缓办 (admins): the clock pauses.
    Pause,
    /// The clock runs again; the deadline moves by the working time paused.
    Resume,
    /// 挂账 (admins).
    Suspend,
    /// 督办 (admins), on an overdue case.
    Supervise,
    /// 答复 (admins): the public reply to the reporter.
    Reply { text: String },
    /// An internal note (the step's `note`), nothing else.
    Note,
    /// 作废 (admins): not a case after all.
    Void,
    /// The server's own mark when the deadline passes (refused from a device).
    MarkOverdue,
}

impl TryFrom<CaseAction> for c::StepAction {
    type Error = GridworkError;
    fn try_from(a: CaseAction) -> Result<Self> {
        use c::StepAction as S;
        Ok(match a {
            CaseAction::Dispatch { to } => S::Dispatch { to },
            CaseAction::SendBack => S::SendBack,
            CaseAction::Handle => S::Handle,
            CaseAction::Verify { passed } => S::Verify { passed },
            CaseAction::RequestExtension { working_minutes } => {
                S::RequestExtension { working_minutes: non_negative(working_minutes, "延期时长", "working_minutes")? }
            }
            CaseAction::DecideExtension { approved } => S::DecideExtension { approved },
            CaseAction::Pause => S::Pause,
            CaseAction::Resume => S::Resume,
            CaseAction::Suspend => S::Suspend,
            CaseAction::Supervise => S::Supervise,
            CaseAction::Reply { text } => S::Reply { text },
            CaseAction::Note => S::Note,
            CaseAction::Void => S::Void,
            CaseAction::MarkOverdue => S::MarkOverdue,
        })
    }
}

/// The other way, so that a step the core adds fails to compile here until it is mirrored.
impl From<c::StepAction> for CaseAction {
    fn from(a: c::StepAction) -> Self {
        use c::StepAction as S;
        match a {
            S::Dispatch { to } => CaseAction::Dispatch { to },
            S::SendBack => CaseAction::SendBack,
            S::Handle => CaseAction::Handle,
            S::Verify { passed } => CaseAction::Verify { passed },
            S::RequestExtension { working_minutes } => CaseAction::RequestExtension { working_minutes: working_minutes.into() },
            S::DecideExtension { approved } => CaseAction::DecideExtension { approved },
            S::Pause => CaseAction::Pause,
            S::Resume => CaseAction::Resume,
            S::Suspend => CaseAction::Suspend,
            S::Supervise => CaseAction::Supervise,
            S::Reply { text } => CaseAction::Reply { text },
            S::Note => CaseAction::Note,
            S::Void => CaseAction::Void,
            S::MarkOverdue => CaseAction::MarkOverdue,
        }
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
        /// The open report or case this one adds to.
        duplicate_of: Option<String>,
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
        /// The 小蓝棚 inspected, by code.
        stall: Option<String>,
    },
    ServiceLog {
        /// `YYYY-MM-DD`.
        date: String,
        activity: Activity,
        /// 入户走访, ...
        activity_label: String,
        participants: i32,
        summary: String,
        complaints: Vec<String>,
        replies: Vec<String>,
        linked_reports: Vec<String>,
        photos: Vec<PhotoInfo>,
        /// The 小蓝棚 visited, by code.
        stall: Option<String>,
    },
    /// 案件. The public reply is `reply`; internal notes are the timeline entries' `note`.
    Case {
        /// `<district>-<year>-<6 digits>`, given by the server at 立案; None until it has it.
        number: Option<String>,
        source: CaseSource,
        category: String,
        description: String,
        /// Who it is dispatched to; None before 派遣 (and after 回退).
        assignee: Option<Assignee>,
        /// The handling deadline: 派遣 plus the category's limit in working time, plus
        /// approved 延期 and the time paused. `case_remaining` counts what is left.
        due_at: Option<SystemTime>,
        /// 缓办 since then; None while the clock runs.
        paused_since: Option<SystemTime>,
        overdue: bool,
        /// 督办.
        supervised: bool,
        /// 返工 so far (failed 核查).
        reworks: i32,
        /// Approved 延期 so far.
        extensions: i32,
        /// A 延期 request waiting for an admin.
        extension_request: Option<ExtensionRequest>,
        /// The public reply to the reporter (答复, 件件有回音).
        reply: Option<String>,
        dispatched_at: Option<SystemTime>,
        handled_at: Option<SystemTime>,
        closed_at: Option<SystemTime>,
        /// 立案 and every step since, oldest first.
        timeline: Vec<CaseEvent>,
        /// The photos of all its steps (each step's are in its timeline entry).
        photos: Vec<PhotoInfo>,
    },
}

/// A unit's request for more time, waiting for an admin.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ExtensionRequest {
    pub working_minutes: i64,
    /// Account id of who asked.
    pub actor: String,
    pub at: SystemTime,
}

/// One entry of a case's timeline: 立案 or a step.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CaseEvent {
    /// 立案 (`REGISTER`) or the kind of step.
    pub action: CaseEventKind,
    /// 立案, 派遣, 处置完成, 核查, ...
    pub action_label: String,
    pub at: SystemTime,
    /// Account id of who took the step (`system` for the server's own).
    pub actor: String,
    /// Device id the step came from (empty for the server's own).
    pub device: String,
    /// The stage before and after the step (`RecordStatus.Case`).
    pub from_status: RecordStatus,
    pub to_status: RecordStatus,
    /// 处置中, 已结案, ...
    pub to_status_label: String,
    /// The step's internal note.
    pub note: Option<String>,
    /// SHA-256 names of the photos taken with this step (their details are in the case's
    /// `photos`).
    pub photos: Vec<String>,
    /// 派遣: who it went to.
    pub assignee: Option<Assignee>,
    /// The new deadline, when the step moved it.
    pub due_at: Option<SystemTime>,
}

impl From<c::CaseEvent> for CaseEvent {
    fn from(e: c::CaseEvent) -> Self {
        CaseEvent {
            action: e.action,
            action_label: e.action.label_zh().into(),
            at: time(e.at),
            actor: e.by,
            device: e.device,
            from_status: RecordStatus::of(RecordKind::Case, e.from),
            to_status: RecordStatus::of(RecordKind::Case, e.to),
            to_status_label: e.to.label_zh().into(),
            note: e.note,
            photos: e.photos,
            assignee: e.assignee,
            due_at: e.due_at.map(time),
        }
    }
}

impl From<m::RecordBody> for RecordBody {
    fn from(b: m::RecordBody) -> Self {
        match b {
            m::RecordBody::Report(r) => RecordBody::Report {
                category: r.category,
                description: r.description,
                photos: r.photos.into_iter().map(Into::into).collect(),
                duplicate_of: r.duplicate_of.map(|id| id.to_string()),
            },
            m::RecordBody::Notice(n) => RecordBody::Notice {
                number: n.number,
                category: n.category,
                party: n.party,
                facts: n.facts,
                legal_basis: n.legal_basis,
                deadline: format_date(n.deadline),
                photos: n.photos.into_iter().map(Into::into).collect(),
                stall: n.stall,
            },
            m::RecordBody::ServiceLog(s) => RecordBody::ServiceLog {
                date: format_date(s.date),
                activity: s.activity,
                activity_label: s.activity.label_zh().into(),
                participants: small(s.participants),
                summary: s.summary,
                complaints: s.complaints,
                replies: s.replies,
                linked_reports: s.linked_reports.iter().map(Uuid::to_string).collect(),
                photos: s.photos.into_iter().map(Into::into).collect(),
                stall: s.stall,
            },
            m::RecordBody::Case(c) => RecordBody::Case {
                number: c.number,
                source: c.source.into(),
                category: c.category,
                description: c.description,
                assignee: c.assignee,
                due_at: c.due_at.map(time),
                paused_since: c.paused_since.map(time),
                overdue: c.overdue,
                supervised: c.supervised,
                reworks: small(c.reworks),
                extensions: small(c.extensions),
                extension_request: c.extension_request.map(|r| ExtensionRequest {
                    working_minutes: r.working_minutes.into(),
                    actor: r.by,
                    at: time(r.at),
                }),
                reply: c.reply,
                dispatched_at: c.dispatched_at.map(time),
                handled_at: c.handled_at.map(time),
                closed_at: c.closed_at.map(time),
                timeline: c.timeline.into_iter().map(Into::into).collect(),
                photos: c.photos.into_iter().map(Into::into).collect(),
            },
        }
    }
}

/// A 小蓝棚 or 便民市场 of the registry, as the device keeps it offline.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct StallView {
    /// The electronic number, e.g. `KW-XLP-007`.
    pub code: String,
    pub trade: gridwork_core::stalls::Trade,
    /// 修鞋, 修车, 修锁配钥匙, 便民市场.
    pub trade_label: String,
    pub name: String,
    pub community: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    /// What its QR code holds.
    pub qr: String,
    pub hours: String,
    /// Masked (`王**`, `138****1234`) for accounts without the right to see it.
    pub operator: Option<gridwork_core::stalls::Operator>,
    /// From the point asked about (m); 0 when looked up by code.
    pub distance_m: f64,
}

impl StallView {
    pub(crate) fn new(s: gridwork_core::stalls::Stall, distance_m: f64) -> Self {
        StallView {
            trade_label: s.trade.label_zh().into(),
            code: s.code,
            trade: s.trade,
            name: s.name,
            community: s.community,
            address: s.address,
            lat: s.lat,
            lon: s.lon,
            qr: s.qr,
            hours: s.hours,
            operator: s.operator,
            distance_m,
        }
    }
}

/// An open record near a report being filed (a possible duplicate), and how far (m).
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct DuplicateHint {
    pub record: RecordView,
    pub distance_m: f64,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RecordView {
    pub id: String,
    pub kind: RecordKind,
    /// 随手拍, 不文明行为告知单, 服务日志, 案件.
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
    /// The variant is the record's kind, holding that kind's status.
    pub status: RecordStatus,
    /// 已上报, 已整改, 处置中, ...
    pub status_label: String,
    /// Server sequence of this version; None until the server accepted the record.
    pub seq: Option<i64>,
    pub sync_state: SyncState,
    /// 待同步, 已同步, 被退回.
    pub sync_state_label: String,
    pub body: RecordBody,
}

impl RecordView {
    fn new(r: m::Record, sync_state: SyncState) -> Self {
        let kind = r.kind();
        RecordView {
            id: r.id.to_string(),
            kind,
            kind_label: kind.label_zh().into(),
            author: r.author,
            device: r.device,
            community: r.org.community,
            grid: r.org.grid,
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
            updated_by: r.updated_by,
            location: r.location,
            status: RecordStatus::of(kind, r.status),
            status_label: r.status.label_zh().into(),
            seq: r.seq.map(count),
            sync_state,
            sync_state_label: sync_state.label_zh().into(),
            body: r.body.into(),
        }
    }
}

impl From<rec::LocalRecord> for RecordView {
    fn from(l: rec::LocalRecord) -> Self {
        RecordView::new(l.record, l.sync_state)
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
        seq: i64,
        at: SystemTime,
        /// Account id of the writer; empty when unknown.
        actor: String,
        fields: Vec<String>,
    },
}

impl From<history::HistoryEntry> for HistoryEntry {
    fn from(h: history::HistoryEntry) -> Self {
        match h {
            history::HistoryEntry::Local(c) => HistoryEntry::Local {
                op_id: c.op_id.to_string(),
                at: time(c.created_at),
                is_create: matches!(c.op.action, p::OpAction::Create(_)),
                fields: gridwork_core::merge::op_fields(&c.op),
                state: c.state,
                reason: c.reason,
                message: c.message,
            },
            history::HistoryEntry::Server(c) => {
                HistoryEntry::Server { seq: count(c.seq), at: time(c.at), actor: c.actor, fields: c.fields }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RecordDetail {
    pub record: RecordView,
    pub history: Vec<HistoryEntry>,
}

impl From<history::RecordDetail> for RecordDetail {
    fn from(d: history::RecordDetail) -> Self {
        RecordDetail { record: d.record.into(), history: d.history.into_iter().map(Into::into).collect() }
    }
}

/// Filters of the record lists; every field is optional.
#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct RecordFilter {
    #[uniffi(default)]
    pub kind: Option<RecordKind>,
    /// Only records in this status, and so of its kind. With `kind` set, it must be a
    /// status of that kind (else `Argument`).
    #[uniffi(default)]
    pub status: Option<RecordStatus>,
    /// Only records the logged-in user wrote (needs a login).
    #[uniffi(default)]
    pub mine_only: bool,
    #[uniffi(default)]
    pub created_from: Option<SystemTime>,
    #[uniffi(default)]
    pub created_before: Option<SystemTime>,
    /// Page size: default 100, at most 1000.
    #[uniffi(default)]
    pub limit: Option<i32>,
    /// Records to skip.
    #[uniffi(default)]
    pub offset: i64,
}

impl RecordFilter {
    /// The core query; `me` is the logged-in user's id when `mine_only`.
    pub(crate) fn into_query(self, me: Option<String>) -> Result<rec::RecordQuery> {
        if let (Some(kind), Some(status)) = (self.kind, self.status)
            && status.kind() != kind
        {
            return Err(GridworkError::argument("状态与记录类型不符", "status"));
        }
        Ok(rec::RecordQuery {
            // The status names its kind: a case's 已结案 is not a report's.
            kind: self.kind.or(self.status.map(RecordStatus::kind)),
            status: self.status.map(Into::into),
            author: me,
            created_from: self.created_from.map(|t| parse_time(t, "created_from")).transpose()?,
            created_before: self.created_before.map(|t| parse_time(t, "created_before")).transpose()?,
            limit: self.limit.map(|n| non_negative(n.into(), "每页条数", "limit")).transpose()?,
            offset: non_negative(self.offset, "跳过条数", "offset")?,
        })
    }
}

/// A change the server refused. It stays until discarded.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RejectedChange {
    pub op_id: String,
    pub record_id: String,
    pub kind: RecordKind,
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
            kind: c.kind,
            kind_label: c.kind.label_zh().into(),
            is_create: c.is_create,
            reason: c.reason,
            reason_label: c.reason.label_zh().into(),
            field: c.field,
            message: c.message,
            created_at: time(c.created_at),
            rejected_at: time(c.rejected_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sync.

/// What one sync did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    pub pushed: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub pulled: i64,
    pub round_trips: i64,
    pub bytes_sent: i64,
    pub bytes_received: i64,
    pub photos_uploaded: i64,
    /// Photo bytes sent (part of `bytes_sent`), resends included.
    pub photo_bytes_sent: i64,
}

impl From<sy::SyncReport> for SyncSummary {
    fn from(r: sy::SyncReport) -> Self {
        SyncSummary {
            pushed: count(r.pushed),
            accepted: count(r.accepted),
            rejected: count(r.rejected),
            pulled: count(r.pulled),
            round_trips: count(r.round_trips),
            bytes_sent: count(r.bytes_sent),
            bytes_received: count(r.bytes_received),
            photos_uploaded: count(r.photos_uploaded),
            photo_bytes_sent: count(r.photo_bytes_sent),
        }
    }
}

/// Progress of a running sync. The pull's total is unknown until it ends.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgressInfo {
    pub phase: sy::SyncPhase,
    pub pushed: i64,
    pub push_total: i64,
    pub pulled: i64,
    /// Photo uploads: photos and bytes, overall and for the photo going now.
    pub photos_done: i64,
    pub photos_total: i64,
    pub photo_bytes_done: i64,
    pub photo_bytes_total: i64,
    /// SHA-256 of the photo going now.
    pub current_photo: Option<String>,
    pub current_photo_bytes_done: i64,
    pub current_photo_bytes_total: i64,
}

impl From<&sy::SyncProgress> for SyncProgressInfo {
    fn from(p: &sy::SyncProgress) -> Self {
        SyncProgressInfo {
            phase: p.phase,
            pushed: count(p.pushed),
            push_total: count(p.push_total),
            pulled: count(p.pulled),
            photos_done: count(p.photos_done),
            photos_total: count(p.photos_total),
            photo_bytes_done: count(p.photo_bytes_done),
            photo_bytes_total: count(p.photo_bytes_total),
            current_photo: p.current_photo.clone(),
            current_photo_bytes_done: count(p.current_photo_bytes_done),
            current_photo_bytes_total: count(p.current_photo_bytes_total),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Photos.

/// A photo attached to a record: named by its SHA-256; capture time and position from its
/// EXIF (the stored file has none).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PhotoInfo {
    pub sha256: String,
    pub mime: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub taken_at: Option<SystemTime>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// A notice's evidence, or a case step's photo, before or after rectification.
    pub stage: Option<PhotoStage>,
    /// 整改前, 整改后.
    pub stage_label: Option<String>,
}

impl From<m::PhotoRef> for PhotoInfo {
    fn from(p: m::PhotoRef) -> Self {
        PhotoInfo {
            sha256: p.sha256,
            mime: p.mime,
            bytes: count(p.bytes),
            width: small(p.width),
            height: small(p.height),
            taken_at: p.taken_at.map(time),
            lat: p.lat,
            lon: p.lon,
            stage: p.stage,
            stage_label: p.stage.map(|s| s.label_zh().to_owned()),
        }
    }
}

/// A photo from `take_photo`, handed back with a case step: checked, never wrapped.
impl TryFrom<PhotoInfo> for m::PhotoRef {
    type Error = GridworkError;
    fn try_from(p: PhotoInfo) -> Result<Self> {
        Ok(m::PhotoRef {
            sha256: p.sha256,
            mime: p.mime,
            bytes: u64::try_from(p.bytes).map_err(|_| GridworkError::argument("照片大小不能为负数", "photos.bytes"))?,
            width: non_negative(p.width.into(), "照片宽度", "photos.width")?,
            height: non_negative(p.height.into(), "照片高度", "photos.height")?,
            taken_at: p.taken_at.map(|t| parse_time(t, "photos.taken_at")).transpose()?,
            lat: p.lat,
            lon: p.lon,
            stage: p.stage,
        })
    }
}

/// Photos waiting to upload.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PhotoQueue {
    pub count: i64,
    pub bytes: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_app_input_is_an_argument_error() {
        assert!(matches!(parse_id("not-a-uuid", "id"), Err(GridworkError::Argument { .. })));
        assert!(matches!(parse_date("2024-13-45", "date"), Err(GridworkError::Argument { .. })));
        assert!(matches!(parse_date("二〇二四-02-29", "date"), Err(GridworkError::Argument { .. })));
        assert_eq!(parse_date(" 2024-02-29 ", "date").ok(), NaiveDate::from_ymd_opt(2024, 2, 29));
    }

    #[test]
    fn numbers_from_the_app_are_checked_not_wrapped() {
        assert_eq!(non_negative(0, "参与人数", "participants").ok(), Some(0));
        assert_eq!(non_negative(i64::from(i32::MAX), "参与人数", "participants").ok(), Some(i32::MAX as u32));
        for bad in [-1, i64::from(i32::MIN), i64::MIN, i64::from(u32::MAX) + 1, i64::MAX] {
            match non_negative(bad, "参与人数", "participants") {
                Err(GridworkError::Argument { msg }) => assert!(msg.contains("participants"), "{msg}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let log = |participants| ServiceLogDraft {
            grid: "g".into(),
            location: Location { lat: 0.0, lon: 0.0, accuracy_m: 1.0, address: None },
            date: "2024-01-01".into(),
            activity: Activity::HomeVisit,
            participants,
            summary: String::new(),
            complaints: vec![],
            replies: vec![],
            linked_reports: vec![],
            stall: None,
        };
        assert!(matches!(log(-5).into_body(), Err(GridworkError::Argument { .. })));
        assert!(log(5).into_body().is_ok());
        let edit = ServiceLogEdit { participants: Some(-1), ..Default::default() };
        assert!(matches!(p::RecordPatch::try_from(edit), Err(GridworkError::Argument { .. })));
        let filter = |limit, offset| RecordFilter { limit, offset, ..Default::default() }.into_query(None);
        assert!(matches!(filter(Some(-1), 0), Err(GridworkError::Argument { .. })));
        assert!(matches!(filter(None, -1), Err(GridworkError::Argument { .. })));
        assert!(matches!(filter(None, i64::MAX), Err(GridworkError::Argument { .. })));
        assert_eq!(filter(Some(10), 20).ok().map(|q| (q.limit, q.offset)), Some((Some(10), 20)));
    }

    #[test]
    fn counts_to_the_app_saturate() {
        assert_eq!(count(0), 0);
        assert_eq!(count(1 << 40), 1 << 40);
        assert_eq!(count(u64::MAX), i64::MAX);
        assert_eq!(small(u32::MAX), i32::MAX);
    }

    #[test]
    fn a_filter_status_of_another_kind_is_an_argument_error() {
        let status = Some(RecordStatus::Notice { status: NoticeStatus::Rectified });
        let wrong = RecordFilter { kind: Some(RecordKind::Report), status, ..Default::default() };
        assert!(matches!(wrong.into_query(None), Err(GridworkError::Argument { .. })));
        let right = RecordFilter { kind: Some(RecordKind::Notice), status, ..Default::default() }.into_query(None);
        assert_eq!(right.ok().and_then(|q| q.status), Some(m::Status::Rectified));
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
        assert_eq!(p::RecordPatch::from(ReportEdit::default()), p::RecordPatch::default());
        let status_only = p::RecordPatch::try_from(NoticeEdit { status: Some(NoticeStatus::Rectified), ..Default::default() });
        let status_only = status_only.expect("valid");
        assert_eq!(status_only.status, Some(m::Status::Rectified));
        // The (empty) body names the kind, so a notice edit of a report is refused.
        assert_eq!(status_only.body, Some(p::BodyPatch::Notice(p::NoticePatch::default())));
    }

    #[test]
    fn a_status_change_names_the_status_kind() {
        let cases = [
            (RecordStatus::Report { status: ReportStatus::Accepted }, RecordKind::Report),
            (RecordStatus::Notice { status: NoticeStatus::Escalated }, RecordKind::Notice),
            (RecordStatus::ServiceLog { status: ServiceLogStatus::Done }, RecordKind::ServiceLog),
        ];
        for (status, kind) in cases {
            let patch = p::RecordPatch::try_from(status).expect("a status edit");
            assert_eq!(patch.status, Some(status.into()));
            assert_eq!(patch.body.map(|b| b.kind()), Some(kind));
            assert_eq!(patch.location, None);
        }
        // No status edit moves a case; a case's 已结案 never goes out as a report's.
        let closed = RecordStatus::Case { status: crate::status::CaseStatus::Closed };
        match p::RecordPatch::try_from(closed) {
            Err(GridworkError::Invalid { reason, field, .. }) => {
                assert_eq!((reason, field.as_deref()), (RejectReason::InvalidTransition, Some("status")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_filter_status_names_its_kind() {
        let closed = RecordStatus::Case { status: crate::status::CaseStatus::Closed };
        let q = RecordFilter { status: Some(closed), ..Default::default() }.into_query(None).expect("valid");
        assert_eq!((q.kind, q.status), (Some(RecordKind::Case), Some(m::Status::Closed)));
        let wrong = RecordFilter { kind: Some(RecordKind::Report), status: Some(closed), ..Default::default() };
        assert!(matches!(wrong.into_query(None), Err(GridworkError::Argument { .. })));
    }

    #[test]
    fn every_case_step_round_trips_and_minutes_are_checked() {
        let officer = Assignee::Officer { user_id: "u-1".into() };
        let all = [
            c::StepAction::Dispatch { to: officer },
            c::StepAction::Dispatch { to: Assignee::Unit { code: "370705".into() } },
            c::StepAction::SendBack,
            c::StepAction::Handle,
            c::StepAction::Verify { passed: false },
            c::StepAction::RequestExtension { working_minutes: c::MAX_EXTENSION_MINUTES },
            c::StepAction::DecideExtension { approved: true },
            c::StepAction::Pause,
            c::StepAction::Resume,
            c::StepAction::Suspend,
            c::StepAction::Supervise,
            c::StepAction::Reply { text: "已处理".into() },
            c::StepAction::Note,
            c::StepAction::Void,
            c::StepAction::MarkOverdue,
        ];
        for step in all {
            assert_eq!(c::StepAction::try_from(CaseAction::from(step.clone())).ok(), Some(step));
        }
        for bad in [-1, i64::MIN, i64::from(u32::MAX) + 1] {
            match c::StepAction::try_from(CaseAction::RequestExtension { working_minutes: bad }) {
                Err(GridworkError::Argument { msg }) => assert!(msg.contains("working_minutes"), "{msg}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_case_draft_checks_its_ids_numbers_and_place() {
        let here = Location { lat: 36.7, lon: 119.1, accuracy_m: 5.0, address: None };
        let org = |grid: &str| Ok(m::OrgRef { community: "c".into(), grid: grid.into() });
        let draft = |source, grid: Option<&str>, location: Option<Location>| CaseDraft {
            source,
            category: "06010".into(),
            description: "暴露垃圾".into(),
            grid: grid.map(str::to_owned),
            location,
        };
        let id = Uuid::now_v7();
        let ok = draft(CaseSource::Report { id: id.to_string() }, None, None).into_core(org).expect("valid");
        assert_eq!((ok.source, ok.place), (c::CaseSource::Report { id }, None));
        let hotline = draft(CaseSource::Hotline, Some(" g-1 "), Some(here.clone())).into_core(org).expect("valid");
        assert_eq!(hotline.place.map(|(o, _)| o.grid), Some("g-1".into()));
        for bad in [
            draft(CaseSource::Notice { id: "nope".into() }, None, None),
            draft(CaseSource::ServiceLog { id: id.to_string(), complaint: -1 }, None, None),
            draft(CaseSource::Hotline, Some("g-1"), None),
            draft(CaseSource::Hotline, None, Some(here.clone())),
        ] {
            assert!(matches!(bad.into_core(org), Err(GridworkError::Argument { .. })));
        }
        let log = draft(CaseSource::ServiceLog { id: id.to_string(), complaint: 2 }, None, None).into_core(org);
        let source = log.expect("valid").source;
        assert_eq!(source, c::CaseSource::ServiceLog { id, complaint: 2 });
        assert_eq!(CaseSource::from(source), CaseSource::ServiceLog { id: id.to_string(), complaint: 2 });
    }

    #[test]
    fn a_photo_handed_back_is_checked_not_wrapped() {
        let photo = m::PhotoRef {
            sha256: "ab".repeat(32),
            mime: "image/jpeg".into(),
            bytes: 12_345,
            width: 1600,
            height: 1200,
            taken_at: DateTime::from_timestamp(1_700_000_000, 0),
            lat: Some(36.7),
            lon: Some(119.1),
            stage: Some(PhotoStage::After),
        };
        let info = PhotoInfo::from(photo.clone());
        assert_eq!(m::PhotoRef::try_from(info.clone()).ok(), Some(photo));
        for bad in [
            PhotoInfo { bytes: -1, ..info.clone() },
            PhotoInfo { width: -1, ..info.clone() },
            PhotoInfo { height: i32::MIN, ..info.clone() },
        ] {
            assert!(matches!(m::PhotoRef::try_from(bad), Err(GridworkError::Argument { .. })));
        }
    }

    #[test]
    fn a_case_body_crosses_with_its_timeline_and_case_statuses() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("in range");
        let mut case = c::Case::opened(c::CaseSource::Hotline, "06010".into(), "暴露垃圾".into(), vec![]);
        case.timeline.push(c::opening_event("admin", "dev", at));
        case.timeline.push(c::CaseEvent {
            action: c::CaseEventKind::Verify,
            at,
            by: "worker".into(),
            device: "dev-2".into(),
            from: m::Status::Handled,
            to: m::Status::Closed,
            note: Some("已整改".into()),
            photos: vec!["cd".repeat(32)],
            assignee: None,
            due_at: None,
        });
        (case.reworks, case.reply) = (u32::MAX, Some("感谢监督".into()));
        case.extension_request = Some(c::ExtensionRequest { working_minutes: 120, by: "officer".into(), at });
        let RecordBody::Case { reworks, reply, extension_request, timeline, source, .. } = m::RecordBody::Case(case).into()
        else {
            panic!("not a case")
        };
        assert_eq!((reworks, reply.as_deref(), source), (i32::MAX, Some("感谢监督"), CaseSource::Hotline));
        assert_eq!(extension_request.map(|r| (r.working_minutes, r.actor)), Some((120, "officer".into())));
        let closed = RecordStatus::Case { status: crate::status::CaseStatus::Closed };
        let last = timeline.last().expect("two entries");
        assert_eq!((last.actor.as_str(), last.to_status, last.to_status_label.as_str()), ("worker", closed, "已结案"));
        assert_eq!(timeline[0].action, CaseEventKind::Register);
        assert_eq!(timeline[0].from_status, RecordStatus::Case { status: crate::status::CaseStatus::Registered });
    }
}
