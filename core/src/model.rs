//! The domain model shared by devices and the server: the record kinds (three filed in the
//! field, and the case, 案件, of [`crate::cases`]), their fields and their status state
//! machines. Pure data; no I/O.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kinds of record a device files.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// 随手拍: a grid worker's report of a problem.
    Report,
    /// 不文明行为告知单: an uncivil-behaviour notice issued on patrol.
    Notice,
    /// 服务日志: a service log of a community visit.
    ServiceLog,
    /// 案件: a case of the 立案 → 派遣 → 处置 → 核查 → 结案 loop.
    Case,
}

impl RecordKind {
    pub const ALL: [RecordKind; 4] = [RecordKind::Report, RecordKind::Notice, RecordKind::ServiceLog, RecordKind::Case];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Report => "report",
            RecordKind::Notice => "notice",
            RecordKind::ServiceLog => "service_log",
            RecordKind::Case => "case",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RecordKind::Report => "随手拍",
            RecordKind::Notice => "不文明行为告知单",
            RecordKind::ServiceLog => "服务日志",
            RecordKind::Case => "案件",
        }
    }

    /// The status a new record of this kind starts in.
    pub fn initial_status(self) -> Status {
        match self {
            RecordKind::Report => Status::Submitted,
            RecordKind::Notice => Status::Issued,
            RecordKind::ServiceLog => Status::Open,
            RecordKind::Case => Status::Registered,
        }
    }
}

/// Record status. One flat enum; which values a kind may use and how it may move
/// between them is [`Status::may_follow`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    // report (随手拍)
    Submitted,
    Accepted,
    Voided,
    Closed,
    // notice (告知单)
    Issued,
    Rectified,
    Overdue,
    Escalated,
    Cancelled,
    // service log (服务日志)
    Open,
    Done,
    // case (案件); `Closed` and `Voided` are shared with reports
    Registered,
    Dispatched,
    Handled,
    Suspended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::Voided => "voided",
            Status::Closed => "closed",
            Status::Issued => "issued",
            Status::Rectified => "rectified",
            Status::Overdue => "overdue",
            Status::Escalated => "escalated",
            Status::Cancelled => "cancelled",
            Status::Open => "open",
            Status::Done => "done",
            Status::Registered => "registered",
            Status::Dispatched => "dispatched",
            Status::Handled => "handled",
            Status::Suspended => "suspended",
        }
    }

    pub const ALL: [Status; 15] = [
        Status::Submitted,
        Status::Accepted,
        Status::Voided,
        Status::Closed,
        Status::Issued,
        Status::Rectified,
        Status::Overdue,
        Status::Escalated,
        Status::Cancelled,
        Status::Open,
        Status::Done,
        Status::Registered,
        Status::Dispatched,
        Status::Handled,
        Status::Suspended,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Submitted => "已上报",
            Status::Accepted => "已立案",
            Status::Voided => "已作废",
            Status::Closed => "已结案",
            Status::Issued => "已告知",
            Status::Rectified => "已整改",
            Status::Overdue => "逾期未整改",
            Status::Escalated => "已移交立案",
            Status::Cancelled => "已撤销",
            Status::Open => "待答复",
            Status::Done => "已办结",
            Status::Registered => "已立案",
            Status::Dispatched => "处置中",
            Status::Handled => "待核查",
            Status::Suspended => "已挂账",
        }
    }

    /// The statuses a record of `kind` may hold.
    pub fn belongs_to(self, kind: RecordKind) -> bool {
        use Status::*;
        match kind {
            RecordKind::Report => matches!(self, Submitted | Accepted | Voided | Closed),
            RecordKind::Notice => matches!(self, Issued | Rectified | Overdue | Escalated | Cancelled),
            RecordKind::ServiceLog => matches!(self, Open | Done),
            RecordKind::Case => matches!(self, Registered | Dispatched | Handled | Closed | Voided | Suspended),
        }
    }

    /// The state machine: may a record of `kind` move from `self` to `to`, done by `role`?
    /// Reports are turned into cases by admins; notices are handled by officers and admins;
    /// anyone who may see a service log may close or reopen it. A case moves only through
    /// its steps ([`crate::cases::apply_step`]), never by a status edit.
    pub fn may_follow(self, to: Status, kind: RecordKind, role: Role) -> bool {
        use Status::*;
        if self == to {
            return true;
        }
        if !self.belongs_to(kind) || !to.belongs_to(kind) {
            return false;
        }
        let edge = match kind {
            // Accepted → Voided and → Closed follow the case opened from the report.
            RecordKind::Report => matches!((self, to), (Submitted, Accepted | Voided) | (Accepted, Closed | Voided)),
            RecordKind::Notice => matches!(
                (self, to),
                (Issued, Rectified | Overdue | Escalated | Cancelled)
                    | (Overdue, Rectified | Escalated | Cancelled)
                    | (Escalated, Rectified | Cancelled)
            ),
            RecordKind::ServiceLog => matches!((self, to), (Open, Done) | (Done, Open)),
            RecordKind::Case => false,
        };
        let role_ok = match kind {
            RecordKind::Report => role == Role::Admin,
            RecordKind::Notice => matches!(role, Role::Officer | Role::Admin),
            RecordKind::ServiceLog => true,
            RecordKind::Case => false,
        };
        edge && role_ok
    }
}

/// Roles of accounts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 网格员: sees and files in one grid.
    GridWorker,
    /// 执法队员: sees and files in the district of their brigade.
    Officer,
    /// 管理员: sees everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::GridWorker => "grid_worker",
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Role::GridWorker, Role::Officer, Role::Admin].into_iter().find(|r| r.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::GridWorker => "网格员",
            Role::Officer => "执法队员",
            Role::Admin => "管理员",
        }
    }
}

/// WGS-84 position of a record.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres, as the phone reports it.
    pub accuracy_m: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// Where in the grid tree a record belongs. The server derives street and district.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct OrgRef {
    pub community: String,
    pub grid: String,
}

/// 整改前 / 整改后: which side of a rectification a notice's evidence photo shows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PhotoStage {
    Before,
    After,
}

impl PhotoStage {
    pub const ALL: [PhotoStage; 2] = [PhotoStage::Before, PhotoStage::After];

    pub fn as_str(self) -> &'static str {
        match self {
            PhotoStage::Before => "before",
            PhotoStage::After => "after",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PhotoStage::Before => "整改前",
            PhotoStage::After => "整改后",
        }
    }
}

/// A photo attached to a record. The file itself travels on its own upload queue and is
/// named by its SHA-256 everywhere; capture time and position come from its EXIF (the file
/// kept has none).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhotoRef {
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    pub mime: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<PhotoStage>,
}

/// 随手拍.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// GB/T 47678.5 小类 code (5 digits), matter or component.
    pub category: String,
    pub description: String,
    /// Attached photos (the files follow in their own queue).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
    /// The open report or case this one adds to (the worker saw it in the duplicate hint):
    /// more evidence of the same problem, kept as its own record so nothing is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<Uuid>,
}

/// The party a notice is issued to. Personal data: never logged, never in errors or URLs.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The name, shop and phone were removed after the city's retention period
    /// ([`crate::privacy::purge_party`]): `name` is then [`Party::PURGED_LABEL`]. Set only
    /// by the server (in what devices pull) and by a device's own purge; an op carrying it
    /// is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub purged: bool,
}

impl Party {
    /// What a screen shows for a removed party (`purged`).
    pub const PURGED_LABEL: &'static str = "已清除";
    /// The stable code of a removed party, for apps and logs.
    pub const PURGED_CODE: &'static str = "party_purged";

    /// A party as it is kept.
    pub fn new(name: impl Into<String>, shop_name: Option<String>, phone: Option<String>) -> Party {
        Party { name: name.into(), shop_name, phone, purged: false }
    }

    /// A party whose personal data was removed.
    pub fn removed() -> Party {
        Party { name: Party::PURGED_LABEL.to_owned(), shop_name: None, phone: None, purged: true }
    }
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Party { <redacted> }")
    }
}

/// 不文明行为告知单.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// Notice number, made on the device so it can be printed offline.
    pub number: String,
    /// A 七乱 code (`QL-*`), `MQWB` (门前五包) or a GB/T 47678.5 matter code.
    pub category: String,
    pub party: Party,
    /// 违法（不文明）事实.
    pub facts: String,
    /// 依据: the regulation and article.
    pub legal_basis: String,
    /// 整改期限: rectify by the end of this day (local date).
    pub deadline: NaiveDate,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
    /// The 小蓝棚 inspected, by its code ([`crate::stalls::Stall`]); set when filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall: Option<String>,
}

/// 服务日志 activity types: the 六个一 and the open day.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    ContactCard,
    ComplaintReply,
    Forum,
    SiteVisit,
    HomeVisit,
    CollectiveFeedback,
    OpenDay,
}

impl Activity {
    pub const ALL: [Activity; 7] = [
        Activity::ContactCard,
        Activity::ComplaintReply,
        Activity::Forum,
        Activity::SiteVisit,
        Activity::HomeVisit,
        Activity::CollectiveFeedback,
        Activity::OpenDay,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::ContactCard => "contact_card",
            Activity::ComplaintReply => "complaint_reply",
            Activity::Forum => "forum",
            Activity::SiteVisit => "site_visit",
            Activity::HomeVisit => "home_visit",
            Activity::CollectiveFeedback => "collective_feedback",
            Activity::OpenDay => "open_day",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Activity::ContactCard => "联系卡沟通",
            Activity::ComplaintReply => "投诉建议答复",
            Activity::Forum => "座谈会",
            Activity::SiteVisit => "现场查看",
            Activity::HomeVisit => "入户走访",
            Activity::CollectiveFeedback => "集中反馈",
            Activity::OpenDay => "开放日",
        }
    }
}

/// 服务日志.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceLog {
    pub date: NaiveDate,
    pub activity: Activity,
    /// How many residents took part.
    pub participants: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Complaints and suggestions received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complaints: Vec<String>,
    /// Replies given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<String>,
    /// Reports this visit produced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked_reports: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
    /// The 小蓝棚 visited, by its code; set when filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall: Option<String>,
}

/// The kind-specific part of a record.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RecordBody {
    Report(Report),
    Notice(Notice),
    ServiceLog(ServiceLog),
    Case(crate::cases::Case),
}

impl RecordBody {
    pub fn photos(&self) -> &[PhotoRef] {
        match self {
            RecordBody::Report(r) => &r.photos,
            RecordBody::Notice(n) => &n.photos,
            RecordBody::ServiceLog(l) => &l.photos,
            RecordBody::Case(c) => &c.photos,
        }
    }

    pub fn kind(&self) -> RecordKind {
        match self {
            RecordBody::Report(_) => RecordKind::Report,
            RecordBody::Notice(_) => RecordKind::Notice,
            RecordBody::ServiceLog(_) => RecordKind::ServiceLog,
            RecordBody::Case(_) => RecordKind::Case,
        }
    }
}

/// A record as devices and the server hold it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// UUIDv7 made by the device that created the record.
    pub id: Uuid,
    /// Account id of the author (set by the server from the session).
    pub author: String,
    /// Device id the record was created on.
    pub device: String,
    pub org: OrgRef,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Account id of the last writer.
    pub updated_by: String,
    pub location: Location,
    pub status: Status,
    pub body: RecordBody,
    /// Server change sequence of this version; absent until the server accepted the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        self.body.kind()
    }

    /// Who the record is dispatched to, as the server indexes assignments
    /// (`unit:<code>` / `officer:<user id>`); such a record reaches the assignee's device
    /// even outside their usual scope.
    pub fn assignee_key(&self) -> Option<String> {
        match &self.body {
            RecordBody::Case(c) => c.assignee.as_ref().map(crate::cases::Assignee::key),
            _ => None,
        }
    }

    /// The instant the server watches for this record to go overdue by itself: a notice
    /// still 已告知 at the end of its rectification day (China time); a running case at its
    /// deadline.
    pub fn watched_due(&self) -> Option<DateTime<Utc>> {
        match (&self.body, self.status) {
            (RecordBody::Notice(n), Status::Issued) => n.deadline.succ_opt().map(crate::worktime::start_of_day),
            (RecordBody::Case(c), stage) => c.watched_due(stage),
            _ => None,
        }
    }
}

/// The changeable fields of a record of each kind, named as in the merge clocks and
/// in [`crate::protocol::RecordPatch`].
pub fn mergeable_fields(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Report => &["location", "status", "category", "description", "photos"],
        RecordKind::Notice => {
            &["location", "status", "number", "category", "party", "facts", "legal_basis", "deadline", "photos"]
        }
        RecordKind::ServiceLog => &[
            "location",
            "status",
            "date",
            "activity",
            "participants",
            "summary",
            "complaints",
            "replies",
            "linked_reports",
            "photos",
        ],
        RecordKind::Case => &[
            "location",
            "status",
            "number",
            "source",
            "category",
            "description",
            "assignee",
            "due_at",
            "paused_since",
            "overdue",
            "supervised",
            "reworks",
            "extensions",
            "extension_request",
            "reply",
            "dispatched_at",
            "handled_at",
            "closed_at",
            "timeline",
            "photos",
        ],
    }
}
