//! The core's own enums and records, exposed as they are (uniffi "remote types"). Each
//! declaration mirrors the core's definition field for field and variant for variant: uniffi
//! derives the FFI conversions for the core type and emits nothing else, so there is no
//! second copy to convert from and to. A core change that these mirrors miss (a new variant,
//! a renamed field) fails to compile here.
//!
//! Screen types that add labels or change shapes (`RecordView`, `User`, `PhotoInfo`, the
//! case's `CaseAction` and `CaseEvent`, ...) are hand-shaped in `types.rs`.

use gridwork_core::cases::{Assignee, CaseEventKind};
use gridwork_core::events::SyncPhase;
use gridwork_core::model::{Activity, Location, Party, PhotoStage, RecordKind, Role};
use gridwork_core::photos::{Network, PhotoPolicy};
use gridwork_core::protocol::RejectReason;
use gridwork_core::reference::{Category, CategoryKind, OrgLevel, OrgUnit};
use gridwork_core::stalls::{Operator, Trade};
use gridwork_core::store::records::SyncState;

// ---------------------------------------------------------------------------------------
// Enums.

/// The kinds of record: 随手拍 report, 不文明行为告知单 notice, 服务日志 service log, 案件 case.
#[uniffi::remote(Enum)]
pub enum RecordKind {
    Report,
    Notice,
    ServiceLog,
    Case,
}

/// What a case's timeline entry records: 立案 (`REGISTER`) or the kind of step.
#[uniffi::remote(Enum)]
pub enum CaseEventKind {
    Register,
    Dispatch,
    SendBack,
    Handle,
    Verify,
    RequestExtension,
    DecideExtension,
    Pause,
    Resume,
    Suspend,
    Supervise,
    Reply,
    Note,
    Void,
    MarkOverdue,
}

/// 服务日志 activity types: the 六个一 and the open day.
#[uniffi::remote(Enum)]
pub enum Activity {
    ContactCard,
    ComplaintReply,
    Forum,
    SiteVisit,
    HomeVisit,
    CollectiveFeedback,
    OpenDay,
}

/// 整改前 / 整改后: which side of a rectification a notice's evidence photo shows.
#[uniffi::remote(Enum)]
pub enum PhotoStage {
    Before,
    After,
}

#[uniffi::remote(Enum)]
pub enum Role {
    GridWorker,
    Officer,
    Admin,
}

/// Where a record stands with the server.
#[uniffi::remote(Enum)]
pub enum SyncState {
    Pending,
    Synced,
    Rejected,
}

/// Why the server (or the device's own check) refused a change.
#[uniffi::remote(Enum)]
pub enum RejectReason {
    Invalid,
    OutOfScope,
    NotFound,
    AlreadyExists,
    KindMismatch,
    InvalidTransition,
    OpIdConflict,
    /// The user's role may not take this case step (e.g. a grid worker dispatching).
    WrongRole,
    /// Only the case's assignee (the officer, or an officer of the unit) may take this step.
    NotAssignee,
    /// The case moved on since this device saw it: another step was accepted first.
    StaleStep,
    /// A notice number not from a block the server handed to this device.
    NumberNotIssued,
    /// A notice number already on another notice.
    NumberUsed,
    /// The change's signature does not hold for this device's registered key.
    BadSignature,
}

#[uniffi::remote(Enum)]
pub enum OrgLevel {
    City,
    District,
    Street,
    Community,
    Grid,
}

#[uniffi::remote(Enum)]
pub enum CategoryKind {
    Component,
    Matter,
}

#[uniffi::remote(Enum)]
pub enum SyncPhase {
    Pushing,
    Pulling,
    Reference,
    UploadingPhotos,
    Done,
}

/// Who a case is dispatched to: a brigade (its district's org code) or one officer (a
/// user id).
#[uniffi::remote(Enum)]
pub enum Assignee {
    Unit { code: String },
    Officer { user_id: String },
}

/// Which networks photos may use; record metadata always goes.
#[uniffi::remote(Enum)]
pub enum PhotoPolicy {
    AnyNetwork,
    UnmeteredOnly,
}

/// The network the phone is on, as the app sees it.
#[uniffi::remote(Enum)]
pub enum Network {
    Unmetered,
    Metered,
}

// ---------------------------------------------------------------------------------------
// Records.

/// WGS-84 position; the core checks the ranges (latitude 91 is an `Invalid` error).
#[uniffi::remote(Record)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres, as the phone reports it.
    pub accuracy_m: f64,
    #[uniffi(default)]
    pub address: Option<String>,
}

/// The party a notice is issued to. Personal data: never logged, never in error messages
/// (the core's `Debug` of it is redacted).
#[uniffi::remote(Record)]
pub struct Party {
    pub name: String,
    #[uniffi(default)]
    pub shop_name: Option<String>,
    #[uniffi(default)]
    pub phone: Option<String>,
    /// Removed after the city's retention period (`party_purged`): `name` is then 已清除 and
    /// there is no shop or phone. Never set it in a draft or an edit.
    #[uniffi(default)]
    pub purged: bool,
}

/// Who runs a 小蓝棚. Personal data: officers and admins see it; others get it masked.
#[uniffi::remote(Record)]
pub struct Operator {
    pub name: String,
    pub phone: String,
}

/// A 小蓝棚's trade (修鞋, 修车, 修锁配钥匙) or a 便民市场.
#[uniffi::remote(Enum)]
pub enum Trade {
    ShoeRepair,
    BikeRepair,
    Locksmith,
    Market,
}

#[uniffi::remote(Record)]
pub struct OrgUnit {
    pub code: String,
    pub name: String,
    pub level: OrgLevel,
    pub parent: Option<String>,
}

/// A GB/T 47678.5 category (大类 or 小类).
#[uniffi::remote(Record)]
pub struct Category {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub kind: CategoryKind,
}
