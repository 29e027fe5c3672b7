//! The sync protocol, version 1: every type that crosses the wire between devices and the
//! server, defined once and used by both. docs/protocol.md describes the exchanges.
//! Requests reject unknown fields so that a typo is an error, not silently dropped data.

use crate::hlc::Hlc;
use crate::model::{Activity, Location, OrgRef, Party, PhotoRef, Record, RecordBody, RecordKind, Status};
use crate::reference::UserInfo;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const PROTOCOL_VERSION: &str = "v1";
/// Most ops one push may carry.
pub const MAX_PUSH_OPS: usize = 1000;
/// Largest request body the server reads (after gzip decoding).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Default and largest page of a pull.
pub const DEFAULT_PULL_LIMIT: u32 = 500;
pub const MAX_PULL_LIMIT: u32 = 2000;

/// Header naming the device an authenticated request comes from; a token is bound to it.
pub const DEVICE_HEADER: &str = "x-gridwork-device";

pub mod paths {
    /// Every path of this version starts here.
    pub const PREFIX: &str = "/v1";
    pub const LOGIN: &str = "/v1/auth/login";
    pub const LOGOUT: &str = "/v1/auth/logout";
    pub const REVOKE: &str = "/v1/auth/revoke";
    /// `POST`: sign in with a one-time enrolment code (扫码登录; body [`super::EnrolRequest`]).
    pub const ENROL: &str = "/v1/auth/enrol";
    pub const PUSH: &str = "/v1/sync/push";
    pub const PULL: &str = "/v1/sync/pull";
    pub const REFERENCE: &str = "/v1/reference";
    /// `GET /v1/figures?from=YYYY-MM-DD&to=YYYY-MM-DD&by=total|district|brigade|unit|category`.
    pub const FIGURES: &str = "/v1/figures";
    /// `POST`: start or resume the upload of one photo (body [`super::UploadStart`]).
    pub const UPLOADS: &str = "/v1/photos/uploads";
    /// `PATCH /v1/photos/uploads/{sha256}`: append bytes at `Upload-Offset`.
    pub const UPLOAD_PREFIX: &str = "/v1/photos/uploads/";
    /// `GET /v1/photos/{sha256}` and `GET /v1/photos/{sha256}/thumb`.
    pub const PHOTO_PREFIX: &str = "/v1/photos/";
    /// `POST`: a block of notice numbers for this device (body [`super::BlockRequest`]);
    /// `GET`: what is left of this device's blocks.
    pub const NUMBER_BLOCKS: &str = "/v1/numbers/blocks";
    /// `POST`: give back the unused ends of this device's blocks (body [`super::ReturnRequest`]).
    pub const NUMBER_RETURN: &str = "/v1/numbers/return";
    /// GET (admins): every block handed out and what became of its numbers.
    pub const NUMBER_ACCOUNTS: &str = "/v1/numbers/accounts";
    /// `GET /public/notices/{record id}`: a notice's public status page (no sign-in; number,
    /// status, deadline and category only). The QR code on a printed notice opens it.
    pub const PUBLIC_NOTICE_PREFIX: &str = "/public/notices/";
}

/// Ask for a block of notice numbers (officers and admins; for the brigade of the account).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    /// How many numbers (1 to [`crate::numbering::MAX_BLOCK`]).
    pub count: u32,
}

/// The unused end of one block: every number from `from` on goes back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BlockReturn {
    pub block: u64,
    pub from: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    pub blocks: Vec<BlockReturn>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReturnResponse {
    /// Numbers given back.
    pub returned: u64,
}

/// Header of an upload append: where the bytes of the body start in the file.
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";
/// Largest photo the server takes, unless configured otherwise.
pub const DEFAULT_MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;

/// Start (or resume) uploading a photo the device holds. The server answers how much of
/// it it already has; a photo it holds in full is never sent again.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UploadStart {
    /// SHA-256 of the whole file, lowercase hex: the photo's name everywhere.
    pub sha256: String,
    pub size: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UploadStatus {
    pub sha256: String,
    pub size: u64,
    /// Bytes the server has received so far; the next append starts here.
    pub offset: u64,
    /// The server holds the whole photo, checked against its SHA-256.
    pub complete: bool,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The device the token will be bound to.
    pub device_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// The device's Ed25519 public key (hex), registered with the session: the ops this
    /// session pushes must then be signed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer <token>`, valid for this device only.
    pub token: String,
    pub user: UserInfo,
    pub server_hlc: Hlc,
}

/// Sign in with a one-time enrolment code an admin made for the account (扫码登录), instead
/// of a password; answered like a login ([`LoginResponse`]).
#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The code of the QR code (`gridwork://enrol?server=…&code=…`) or as typed.
    pub code: String,
    /// The device the token will be bound to.
    pub device_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// As in [`LoginRequest::device_key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
}

impl std::fmt::Debug for EnrolRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolRequest").field("device_id", &self.device_id).finish_non_exhaustive()
    }
}

/// Revoke sessions: an admin names a user (all their devices) and optionally one device.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct RevokeResponse {
    pub revoked: u64,
}

/// A new record as its author files it. Author, device and server times are not sent:
/// the server takes them from the session.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewRecord {
    pub org: OrgRef,
    pub created_at: DateTime<Utc>,
    pub location: Location,
    pub status: Status,
    pub body: RecordBody,
}

/// Changes to some fields of one record. Absent fields are unchanged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RecordPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyPatch>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BodyPatch {
    Report(ReportPatch),
    Notice(NoticePatch),
    ServiceLog(ServiceLogPatch),
}

impl BodyPatch {
    pub fn kind(&self) -> RecordKind {
        match self {
            BodyPatch::Report(_) => RecordKind::Report,
            BodyPatch::Notice(_) => RecordKind::Notice,
            BodyPatch::ServiceLog(_) => RecordKind::ServiceLog,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<PhotoRef>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct NoticePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<PhotoRef>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ServiceLogPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaints: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_reports: Option<Vec<Uuid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<PhotoRef>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OpAction {
    Create(NewRecord),
    Update(RecordPatch),
    /// A step of a case (派遣, 处置, 核查, …): the only way a case changes.
    Step(crate::cases::CaseStep),
}

/// One change made on a device, sent in a push. `op_id` is made on the device; the server
/// applies each op id at most once and answers a repeated op id with the first answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Op {
    pub op_id: Uuid,
    pub record_id: Uuid,
    /// Hybrid logical clock of the change: orders concurrent edits per field.
    pub hlc: Hlc,
    pub action: OpAction,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub ops: Vec<Op>,
    /// The device's signature of each op, in the same order (hex Ed25519, see
    /// [`crate::evidence`]). Required when the session registered a key at sign-in; the
    /// server keeps each with its op.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sigs: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Rejected,
}

/// Why an op was rejected. Stable codes; devices show them and keep the op.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// A field breaks a validation rule (`field` says which).
    Invalid,
    /// The record is outside the pusher's scope.
    OutOfScope,
    /// An update for a record the server does not have.
    NotFound,
    /// A create for a record id that already exists.
    AlreadyExists,
    /// The update's kind differs from the record's kind.
    KindMismatch,
    /// The status change is not allowed from the record's status, or not for this role.
    InvalidTransition,
    /// The op id was already used by another account or for another record.
    OpIdConflict,
    /// The actor's role may not take this case step (e.g. a grid worker dispatching).
    WrongRole,
    /// Only the case's assignee (the officer, or an officer of the unit) may take this step.
    NotAssignee,
    /// The case moved on since the device saw it: another step was accepted first.
    StaleStep,
    /// A notice number not from a block the server handed to this device.
    NumberNotIssued,
    /// A notice number already on another notice.
    NumberUsed,
    /// The op's signature does not hold for the key the device registered at sign-in.
    BadSignature,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Invalid => "invalid",
            RejectReason::OutOfScope => "out_of_scope",
            RejectReason::NotFound => "not_found",
            RejectReason::AlreadyExists => "already_exists",
            RejectReason::KindMismatch => "kind_mismatch",
            RejectReason::InvalidTransition => "invalid_transition",
            RejectReason::OpIdConflict => "op_id_conflict",
            RejectReason::WrongRole => "wrong_role",
            RejectReason::NotAssignee => "not_assignee",
            RejectReason::StaleStep => "stale_step",
            RejectReason::NumberNotIssued => "number_not_issued",
            RejectReason::NumberUsed => "number_used",
            RejectReason::BadSignature => "bad_signature",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        use RejectReason::*;
        [
            Invalid,
            OutOfScope,
            NotFound,
            AlreadyExists,
            KindMismatch,
            InvalidTransition,
            OpIdConflict,
            WrongRole,
            NotAssignee,
            StaleStep,
            NumberNotIssued,
            NumberUsed,
            BadSignature,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            RejectReason::Invalid => "内容不符合要求",
            RejectReason::OutOfScope => "超出您的管辖范围",
            RejectReason::NotFound => "记录不存在",
            RejectReason::AlreadyExists => "记录已存在",
            RejectReason::KindMismatch => "记录类型不符",
            RejectReason::InvalidTransition => "不允许的状态变更",
            RejectReason::OpIdConflict => "操作编号冲突",
            RejectReason::WrongRole => "无权办理该步骤",
            RejectReason::NotAssignee => "不是该案件的承办人",
            RejectReason::StaleStep => "案件已被他人先行办理",
            RejectReason::NumberNotIssued => "告知单编号不是发给本设备的号段",
            RejectReason::NumberUsed => "告知单编号已被使用",
            RejectReason::BadSignature => "设备签名无效",
        }
    }
}

/// A rejection with the field it concerns and a message free of personal data.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub reason: RejectReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, field: Option<&str>, message: impl Into<String>) -> Self {
        Rejection { reason, field: field.map(str::to_owned), message: message.into() }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpResult {
    pub op_id: Uuid,
    pub outcome: Outcome,
    /// Server sequence of the record after this op (accepted ops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushResponse {
    /// One result per op, in the order of the request.
    pub results: Vec<OpResult>,
    pub server_hlc: Hlc,
}

/// `GET /v1/sync/pull?since=<seq>&limit=<n>[&epoch=<e>][&pending=<n>]`
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    #[serde(default)]
    pub since: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `epoch` of the answer the cursor came from (absent on a first pull).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// Changes and photos the device still has to send (its outbox and photo queue as the
    /// pull starts): shown to admins beside the device's last sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
    /// `true`: answer the records this device created and its user last changed as
    /// [`OwnRecord`] digests in `own` rather than in full (the device rebuilds them from
    /// the changes it pushed, and asks again without this on any mismatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_digests: Option<bool>,
}

/// A record of the caller's own in a pull answer (see [`PullQuery::own_digests`]): what the
/// server gave it when it accepted the device's last change, and a digest of the whole
/// record as it would have been sent ([`record_digest`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OwnRecord {
    pub id: Uuid,
    pub seq: u64,
    pub updated_at: DateTime<Utc>,
    /// [`record_digest`] of the record: 32 lowercase hex digits.
    pub digest: String,
}

/// The digest of a record as sent in a pull answer: SHA-256 of its JSON (the serialisation
/// of [`Record`], which both ends share), the first 16 bytes in hex. Equal digests mean the
/// device's rebuilt copy is the server's, byte for byte.
pub fn record_digest(record: &Record) -> String {
    use sha2::{Digest, Sha256};
    // A record always serialises; were it ever not to, the empty digest just never matches.
    let json = serde_json::to_vec(record).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..16])
}

/// A record the caller may no longer see (e.g. a case dispatched elsewhere): the device
/// drops its copy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    pub id: Uuid,
    /// The server sequence of the change that took it away.
    pub seq: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PullResponse {
    /// Current state of every visible record changed after `since`, in sequence order.
    pub records: Vec<Record>,
    /// Records that left the caller's view after `since` (tombstones), in sequence order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removed>,
    /// With `own_digests=true`: the caller's own records of this page, as digests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own: Vec<OwnRecord>,
    /// Cursor for the next pull.
    pub next: u64,
    pub has_more: bool,
    /// Version of the reference data; fetch `/v1/reference` when it differs from yours.
    pub reference_version: String,
    pub server_hlc: Hlc,
    /// Days after a notice is closed that its party (name, shop, phone) stays on a device
    /// (`--party-retention-days`; 0: removed at the closure). The device keeps it for
    /// offline use; absent from an older server: the device keeps what it had, else
    /// [`crate::privacy::DEFAULT_PARTY_RETENTION_DAYS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_retention_days: Option<u32>,
    /// The history the cursor belongs to; the device sends it back with its next pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The server was restored from a backup, or its cursor is ahead of the server: what
    /// the device saw above this seq is gone. The device marks the changes the server
    /// accepted with a higher seq as pending again, drops its copies of what it pulled,
    /// and pulls from 0 (`records` is then empty and `next` is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<u64>,
}

/// Body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `unauthorized`, `malformed_json`, `batch_too_large`.
    pub code: String,
    pub message: String,
}
