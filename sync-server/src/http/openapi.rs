//! The OpenAPI 3.1 document of the device API (`/v1`) and of Open311 (`/open311/v2`),
//! served at [`PATH`]. It is made from the code: the paths from `protocol::paths` and the
//! routers' own constants, every enum from the core's `ALL` lists, every limit from the
//! core's constants, the Open311 and client-management bodies from their Rust types
//! (utoipa's `ToSchema`). The wire types of the core have their schemas written here, next
//! to the constants they use. `tests/interop/run.sh` checks the document with
//! openapi-spec-validator and runs schemathesis against a live demo server, which validates
//! every answer (the demo's records in pulls included) against these schemas, so the two
//! cannot drift unnoticed.

use crate::http::api::exports;
use crate::http::open311::{self, Discovery, Endpoint, ErrorEntry};
use crate::service::open311::{
    ClientInfo, CreatedClient, FiledAnswer, MAX_IDS, MAX_MEDIA_URL, MAX_PAGE_SIZE, NewClient, Service, ServiceDefinition,
    ServiceRequest, TokenAnswer,
};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use gridwork_core::cases::{CaseEventKind, MAX_CASE_PHOTOS, MAX_EXTENSION_MINUTES};
use gridwork_core::model::{Activity, PhotoStage, RecordKind, Role, Status};
use gridwork_core::numbering::{MAX_BLOCK, format_number};
use gridwork_core::protocol::{
    DEFAULT_MAX_PHOTO_BYTES, DEFAULT_PULL_LIMIT, MAX_BODY_BYTES, MAX_PULL_LIMIT, MAX_PUSH_OPS, RejectReason, paths,
};
use gridwork_core::reference::{NOTICE_EXTRA_CATEGORIES, OrgLevel};
use gridwork_core::stalls::Trade;
use gridwork_core::validate::{
    MAX_ACCURACY_M, MAX_ADDRESS_CHARS, MAX_DEADLINE_DAYS, MAX_DESCRIPTION_CHARS, MAX_LEGAL_BASIS_CHARS, MAX_LIST_ITEMS,
    MAX_LOG_DAYS_AHEAD, MAX_PARTICIPANTS, MAX_PARTY_NAME_CHARS, MAX_PHOTO_SIDE_PX, MAX_PHOTOS, MAX_SHOP_NAME_CHARS,
    MAX_TEXT_CHARS, PHONE_DIGITS, PHOTO_MIME_TYPES,
};
use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use utoipa::PartialSchema;

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// `GET /openapi.json`.
pub async fn document() -> Response {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC.get_or_init(|| serde_json::to_string(&build()).unwrap_or_default());
    let mut resp = body.clone().into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn enum_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Value {
    json!({ "type": "string", "enum": values.into_iter().collect::<Vec<_>>() })
}

fn object(required: &[&str], props: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": props, "additionalProperties": false })
}

fn text(max: usize) -> Value {
    json!({ "type": "string", "maxLength": max })
}

fn uint() -> Value {
    json!({ "type": "integer", "minimum": 0 })
}

fn array(items: Value, max: Option<usize>) -> Value {
    match max {
        Some(m) => json!({ "type": "array", "items": items, "maxItems": m }),
        None => json!({ "type": "array", "items": items }),
    }
}

/// A serde externally tagged variant: `{"<name>": <value>}`.
fn tagged(name: &str, value: Value) -> Value {
    object(&[name], json!({ name: value }))
}

fn nullable(v: Value) -> Value {
    json!({ "oneOf": [v, { "type": "null" }] })
}

/// `v` with a description.
fn described(mut v: Value, description: impl Into<String>) -> Value {
    v["description"] = Value::String(description.into());
    v
}

/// A 小蓝棚 (or market) of the reference data's `stalls`, by its code; set when filed.
fn stall() -> Value {
    json!({ "type": "string", "description": "the code of a stall or market of the reference data's `stalls` (`KW-XLP-007`); set when filed, never by an update" })
}

/// `code 中文, …` of an enum's values.
fn labelled<T: Copy>(all: &[T], code: fn(T) -> &'static str, label: fn(T) -> &'static str) -> String {
    all.iter().map(|v| format!("`{}` {}", code(*v), label(*v))).collect::<Vec<_>>().join(", ")
}

/// The JSON examples of docs/protocol.md, by the wire type their `<!-- wire: Type -->`
/// marker names (`tests/protocol_doc.rs` parses each as that type and pushes its ops
/// through a real server), so the document and the protocol doc show the same, checked,
/// examples.
pub fn doc_examples() -> Map<String, Value> {
    const DOC: &str = include_str!("../../../docs/protocol.md");
    let mut out = Map::new();
    let mut lines = DOC.lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line.trim().strip_prefix("<!-- wire:") else { continue };
        let Some(name) = marker.split_whitespace().next().filter(|w| *w != "-->") else { continue };
        if !lines.next().is_some_and(|l| l.trim().starts_with("```json")) {
            continue;
        }
        let json: Vec<&str> = lines.by_ref().take_while(|l| !l.trim().starts_with("```")).collect();
        if let Ok(v) = serde_json::from_str::<Value>(&json.join("\n"))
            && let Value::Array(items) = out.entry(name).or_insert_with(|| Value::Array(Vec::new()))
        {
            items.push(v);
        }
    }
    out
}

fn utoipa_schema<T: PartialSchema>() -> Value {
    serde_json::to_value(T::schema()).unwrap_or(Value::Null)
}

/// The component schemas of the wire types.
pub fn schemas() -> Map<String, Value> {
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let kinds: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
    let reasons = [
        RejectReason::Invalid,
        RejectReason::OutOfScope,
        RejectReason::NotFound,
        RejectReason::AlreadyExists,
        RejectReason::KindMismatch,
        RejectReason::InvalidTransition,
        RejectReason::OpIdConflict,
        RejectReason::WrongRole,
        RejectReason::NotAssignee,
        RejectReason::StaleStep,
        RejectReason::NumberNotIssued,
        RejectReason::NumberUsed,
        RejectReason::BadSignature,
    ];
    let photos = |max: usize| array(r("PhotoRef"), Some(max));
    let notice_categories: Vec<&str> = NOTICE_EXTRA_CATEGORIES.iter().map(|(c, _)| *c).collect();
    let mut s = Map::new();
    let mut put = |name: &str, v: Value| {
        s.insert(name.to_owned(), v);
    };
    put("Uuid", json!({ "type": "string", "format": "uuid" }));
    put(
        "DateTime",
        json!({ "type": "string", "format": "date-time", "description": "RFC 3339, UTC (`2026-11-26T09:30:00.123Z`)" }),
    );
    put("Date", json!({ "type": "string", "format": "date" }));
    put(
        "Hlc",
        json!({ "type": "string", "pattern": "^[0-9a-f]{12}-[0-9a-f]{6}-[A-Za-z0-9_-]{1,64}$",
                "description": "Hybrid logical clock `<wall ms since 1970, 12 lowercase hex>-<counter, 6 hex>-<node>`; string order is clock order. The node is 1 to 64 of A-Z a-z 0-9 _ -: a device uses its device_id's 32 hex digits without hyphens, the server `server`. An op stamped more than 5 minutes ahead of the server's clock is re-stamped by the server.",
                "examples": ["01a21730bdc0-000000-01937b2e4c1a7d3e9f102a3b4c5d6e7f"] }),
    );
    put(
        "Status",
        json!({ "type": "string", "enum": statuses,
                "description": format!("{}. Per kind: report submitted → accepted/voided, accepted → closed (admin); notice issued → rectified/overdue/escalated/cancelled, overdue → rectified/escalated/cancelled, escalated → rectified/cancelled (officer, admin); service_log open ⇄ done; case by steps only", labelled(&Status::ALL, Status::as_str, Status::label_zh)) }),
    );
    put("RecordKind", json!({ "type": "string", "enum": kinds }));
    put("Role", enum_of([Role::GridWorker, Role::Officer, Role::Admin].iter().map(|r| r.as_str())));
    put(
        "Activity",
        described(
            enum_of(Activity::ALL.iter().map(|a| a.as_str())),
            format!("服务日志 activity: {}", labelled(&Activity::ALL, Activity::as_str, Activity::label_zh)),
        ),
    );
    put(
        "PhotoStage",
        described(
            enum_of(PhotoStage::ALL.iter().map(|p| p.as_str())),
            labelled(&PhotoStage::ALL, PhotoStage::as_str, PhotoStage::label_zh),
        ),
    );
    put("RejectReason", enum_of(reasons.iter().map(|r| r.as_str())));
    put("CaseEventKind", enum_of(CaseEventKind::ALL.iter().map(|e| e.as_str())));
    put(
        "Location",
        object(
            &["lat", "lon", "accuracy_m"],
            json!({
                "lat": { "type": "number", "minimum": -90, "maximum": 90, "description": "WGS-84 (GPS), not GCJ-02" },
                "lon": { "type": "number", "minimum": -180, "maximum": 180 },
                "accuracy_m": { "type": "number", "minimum": 0, "maximum": MAX_ACCURACY_M, "description": "horizontal accuracy, metres" },
                "address": text(MAX_ADDRESS_CHARS),
            }),
        ),
    );
    put(
        "OrgRef",
        object(
            &["community", "grid"],
            json!({
                "community": { "type": "string", "description": "the community's org code (`370705001001`)" },
                "grid": { "type": "string", "description": "a grid of the reference data in that community (`370705001001-01`)" },
            }),
        ),
    );
    put(
        "PhotoRef",
        object(
            &["sha256", "mime", "bytes", "width", "height"],
            json!({
                "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the file, lowercase hex; once per record" },
                "mime": enum_of(PHOTO_MIME_TYPES),
                "bytes": { "type": "integer", "minimum": 1, "maximum": DEFAULT_MAX_PHOTO_BYTES },
                "width": { "type": "integer", "minimum": 1, "maximum": MAX_PHOTO_SIDE_PX },
                "height": { "type": "integer", "minimum": 1, "maximum": MAX_PHOTO_SIDE_PX },
                "taken_at": r("DateTime"),
                "lat": { "type": "number", "minimum": -90, "maximum": 90 },
                "lon": { "type": "number", "minimum": -180, "maximum": 180 },
                "stage": r("PhotoStage"),
            }),
        ),
    );
    put(
        "Report",
        object(
            &["category", "description"],
            json!({
                "category": { "type": "string", "pattern": "^[0-9]{5}$", "description": "GB/T 47678.5 小类 code of the reference data (component or matter)" },
                "description": described(text(MAX_DESCRIPTION_CHARS), "not blank"),
                "photos": photos(MAX_PHOTOS),
                "duplicate_of": described(r("Uuid"), "the open report or case this one adds to; never itself; set when filed"),
            }),
        ),
    );
    put(
        "Party",
        object(
            &["name"],
            json!({
                "name": described(text(MAX_PARTY_NAME_CHARS), "not blank"),
                "shop_name": text(MAX_SHOP_NAME_CHARS),
                "phone": { "type": "string", "pattern": "^[0-9 -]+$",
                           "description": format!("mobile or landline: {} to {} digits once `-` and spaces are dropped; 11 digits start with 1 or 0 (`13805361234`, `0536-8231234`)", PHONE_DIGITS.start(), PHONE_DIGITS.end()) },
                "purged": { "type": "boolean", "description": "the party was removed after the retention period (`party_purged`): `name` is 已清除, no shop or phone; only in what the server sends, an op with it is refused" },
            }),
        ),
    );
    // `gridwork_core::numbering`: `<brigade>城管告字〔<year>〕第<6 digits>号`, from a block
    // issued to the device that files the notice.
    let notice_number = json!({
        "type": "string",
        "pattern": "^[^\\s]{1,8}城管告字〔[0-9]{4}〕第[0-9]{6}号$",
        "description": "from a block of /v1/numbers/blocks issued to the filing device, used once",
        "examples": [format_number("潍城", 2026, 101)],
    });
    let notice_category =
        json!({ "type": "string", "description": format!("{} or a GB/T 47678.5 事件 小类 code", notice_categories.join(", ")) });
    put(
        "Notice",
        object(
            &["number", "category", "party", "facts", "legal_basis", "deadline"],
            json!({
                "number": notice_number,
                "category": notice_category,
                "party": r("Party"),
                "facts": described(text(MAX_TEXT_CHARS), "违法（不文明）事实, not blank"),
                "legal_basis": described(text(MAX_LEGAL_BASIS_CHARS), "依据, not blank"),
                "deadline": described(r("Date"), format!("整改期限 (China time): from the day of created_at to {MAX_DEADLINE_DAYS} days after it")),
                "photos": photos(MAX_PHOTOS),
                "stall": stall(),
            }),
        ),
    );
    put(
        "ServiceLog",
        object(
            &["date", "activity", "participants"],
            json!({
                "date": described(r("Date"), format!("the visit's day: at most {MAX_LOG_DAYS_AHEAD} day after the day of created_at")),
                "activity": r("Activity"),
                "participants": { "type": "integer", "minimum": 0, "maximum": MAX_PARTICIPANTS },
                "summary": text(MAX_TEXT_CHARS),
                "complaints": array(text(MAX_DESCRIPTION_CHARS), Some(MAX_LIST_ITEMS)),
                "replies": array(text(MAX_DESCRIPTION_CHARS), Some(MAX_LIST_ITEMS)),
                "linked_reports": array(r("Uuid"), Some(MAX_LIST_ITEMS)),
                "photos": photos(MAX_PHOTOS),
                "stall": stall(),
            }),
        ),
    );
    put(
        "CaseSource",
        json!({ "oneOf": [
            tagged("report", object(&["id"], json!({ "id": r("Uuid") }))),
            tagged("notice", object(&["id"], json!({ "id": r("Uuid") }))),
            tagged("service_log", object(&["id", "complaint"], json!({ "id": r("Uuid"), "complaint": { "type": "integer", "minimum": 0, "maximum": MAX_LIST_ITEMS - 1 } }))),
            { "const": "hotline" },
        ]}),
    );
    put(
        "Assignee",
        json!({ "oneOf": [
            tagged("unit", object(&["code"], json!({ "code": { "type": "string" } }))),
            tagged("officer", object(&["user_id"], json!({ "user_id": { "type": "string" } }))),
        ]}),
    );
    put(
        "CaseEvent",
        object(
            &["action", "at", "by", "device", "from", "to"],
            json!({
                "action": r("CaseEventKind"), "at": r("DateTime"), "by": { "type": "string" }, "device": { "type": "string" },
                "from": r("Status"), "to": r("Status"), "note": text(500),
                "photos": array(json!({ "type": "string" }), None), "assignee": r("Assignee"), "due_at": r("DateTime"),
            }),
        ),
    );
    put(
        "Case",
        object(
            &["source", "category", "description"],
            json!({
                "number": { "type": "string", "pattern": "^[0-9]{6}-[0-9]{4}-[0-9]{6}$", "description": "`<district>-<year>-<6 digits>`, given by the server" },
                "source": r("CaseSource"),
                "category": { "type": "string", "pattern": "^[0-9]{5}$" },
                "description": text(500),
                "assignee": r("Assignee"),
                "due_at": r("DateTime"),
                "paused_since": r("DateTime"),
                "overdue": { "type": "boolean" },
                "supervised": { "type": "boolean" },
                "reworks": uint(),
                "extensions": uint(),
                "extension_request": object(&["working_minutes", "by", "at"], json!({ "working_minutes": uint(), "by": { "type": "string" }, "at": r("DateTime") })),
                "reply": text(500),
                "dispatched_at": r("DateTime"),
                "handled_at": r("DateTime"),
                "closed_at": r("DateTime"),
                "timeline": array(r("CaseEvent"), None),
                "photos": photos(MAX_CASE_PHOTOS),
            }),
        ),
    );
    put(
        "RecordBody",
        json!({ "oneOf": [tagged("report", r("Report")), tagged("notice", r("Notice")), tagged("service_log", r("ServiceLog")), tagged("case", r("Case"))] }),
    );
    put(
        "Record",
        object(
            &["id", "author", "device", "org", "created_at", "updated_at", "updated_by", "location", "status", "body"],
            json!({
                "id": r("Uuid"), "author": { "type": "string" }, "device": { "type": "string" }, "org": r("OrgRef"),
                "created_at": r("DateTime"), "updated_at": r("DateTime"), "updated_by": { "type": "string" },
                "location": r("Location"), "status": r("Status"), "body": r("RecordBody"), "seq": uint(),
            }),
        ),
    );
    put(
        "NewRecord",
        object(
            &["org", "created_at", "location", "status", "body"],
            json!({ "org": r("OrgRef"), "created_at": r("DateTime"), "location": r("Location"),
                    "status": described(r("Status"), "the kind's initial status: submitted, issued, open, registered"),
                    "body": described(r("RecordBody"), "a case's create carries only source, category, description and photos; the server adds the rest") }),
        ),
    );
    put(
        "BodyPatch",
        json!({ "oneOf": [
            tagged("report", object(&[], json!({ "category": { "type": "string", "pattern": "^[0-9]{5}$" }, "description": text(MAX_DESCRIPTION_CHARS), "photos": photos(MAX_PHOTOS) }))),
            tagged("notice", object(&[], json!({
                "number": { "type": "string", "description": "never changes: an update naming it is rejected `wrong_role`, for everyone" },
                "category": { "type": "string" }, "party": r("Party"), "facts": text(MAX_TEXT_CHARS),
                "legal_basis": text(MAX_LEGAL_BASIS_CHARS), "deadline": r("Date"), "photos": photos(MAX_PHOTOS) }))),
            tagged("service_log", object(&[], json!({
                "date": r("Date"), "activity": r("Activity"), "participants": { "type": "integer", "minimum": 0, "maximum": MAX_PARTICIPANTS }, "summary": text(MAX_TEXT_CHARS),
                "complaints": array(text(MAX_DESCRIPTION_CHARS), Some(MAX_LIST_ITEMS)), "replies": array(text(MAX_DESCRIPTION_CHARS), Some(MAX_LIST_ITEMS)),
                "linked_reports": array(r("Uuid"), Some(MAX_LIST_ITEMS)), "photos": photos(MAX_PHOTOS) }))),
        ]}),
    );
    put(
        "RecordPatch",
        described(
            object(&[], json!({ "location": r("Location"), "status": r("Status"), "body": r("BodyPatch") })),
            "Only the fields that change; a list is replaced whole. Reports and service logs: their author and admins; notices: officers in scope and admins; cases: never (steps only, `invalid_transition`). Each field wins only with a higher HLC than its last write.",
        ),
    );
    let unit_steps = ["send_back", "handle", "pause", "resume", "suspend", "supervise", "note", "void", "mark_overdue"];
    put(
        "StepAction",
        json!({ "oneOf": [
            { "type": "string", "enum": unit_steps },
            tagged("dispatch", object(&["to"], json!({ "to": r("Assignee") }))),
            tagged("verify", object(&["passed"], json!({ "passed": { "type": "boolean" } }))),
            tagged("request_extension", object(&["working_minutes"], json!({ "working_minutes": { "type": "integer", "minimum": 1, "maximum": MAX_EXTENSION_MINUTES } }))),
            tagged("decide_extension", object(&["approved"], json!({ "approved": { "type": "boolean" } }))),
            tagged("reply", object(&["text"], json!({ "text": text(500) }))),
        ]}),
    );
    put(
        "CaseStep",
        object(
            &["from", "action"],
            json!({ "from": r("Status"), "action": r("StepAction"), "note": text(500), "photos": photos(MAX_PHOTOS) }),
        ),
    );
    put(
        "OpAction",
        json!({ "oneOf": [tagged("create", r("NewRecord")), tagged("update", r("RecordPatch")), tagged("step", r("CaseStep"))] }),
    );
    put(
        "Op",
        object(
            &["op_id", "record_id", "hlc", "action"],
            json!({
                "op_id": described(r("Uuid"), "made on the device for this change; a repeated op id gets the first answer"),
                "record_id": described(r("Uuid"), "the record's id (for a create: the new record's, made on the device)"),
                "hlc": r("Hlc"),
                "action": r("OpAction"),
            }),
        ),
    );
    put(
        "PushRequest",
        described(
            object(
                &["ops"],
                json!({
                    "ops": array(r("Op"), Some(MAX_PUSH_OPS)),
                    "sigs": described(
                        array(json!({ "type": "string", "pattern": "^[0-9a-fA-F]{128}$" }), Some(MAX_PUSH_OPS)),
                        "the device's Ed25519 signature of each op, in order (see Signed evidence in docs/protocol.md); required, one per op, when the session registered a `device_key`",
                    ),
                }),
            ),
            format!(
                "Applied in order, in one transaction, each op id at most once; at most {MAX_PUSH_OPS} ops (`batch_too_large`) and {MAX_BODY_BYTES} bytes after gzip decoding"
            ),
        ),
    );
    put(
        "Rejection",
        object(
            &["reason", "message"],
            json!({ "reason": r("RejectReason"), "field": { "type": "string" }, "message": { "type": "string" } }),
        ),
    );
    put(
        "OpResult",
        object(
            &["op_id", "outcome"],
            json!({ "op_id": r("Uuid"), "outcome": enum_of(["accepted", "rejected"]), "seq": uint(), "rejection": r("Rejection") }),
        ),
    );
    put(
        "PushResponse",
        object(&["results", "server_hlc"], json!({ "results": array(r("OpResult"), None), "server_hlc": r("Hlc") })),
    );
    put(
        "OwnRecord",
        described(
            object(
                &["id", "seq", "updated_at", "digest"],
                json!({
                    "id": r("Uuid"), "seq": uint(), "updated_at": { "type": "string", "format": "date-time" },
                    "digest": described(json!({ "type": "string", "pattern": "^[0-9a-f]{32}$" }), "SHA-256 of the record's JSON as it would have been sent, first 16 bytes in hex"),
                }),
            ),
            "one of the caller's own records (created on its device, last changed by its user), answered as a digest with `own_digests=true`",
        ),
    );
    put(
        "PullResponse",
        object(
            &["records", "next", "has_more", "reference_version", "server_hlc"],
            json!({
                "records": array(r("Record"), None),
                "removed": array(object(&["id", "seq"], json!({ "id": r("Uuid"), "seq": uint() })), None),
                "own": described(array(r("OwnRecord"), None), "with `own_digests=true`: the caller's own records of this page, as digests; absent when empty"),
                "next": uint(), "has_more": { "type": "boolean" }, "reference_version": { "type": "string" }, "server_hlc": r("Hlc"),
                "party_retention_days": { "type": "integer", "minimum": 0, "description": "days a closed notice's party stays on a device (`--party-retention-days`)" },
                "epoch": described(uint(), "the history the cursor belongs to: send it back as `epoch` with the next pull"),
                "restart": described(uint(), "the server was restored from a backup: what the device saw above this seq is gone; push again what was accepted above it and pull from 0"),
            }),
        ),
    );
    put(
        "LoginRequest",
        object(
            &["username", "password", "device_id"],
            json!({
                "username": { "type": "string" }, "password": { "type": "string" },
                "device_id": described(r("Uuid"), "the device's own id, a UUID (made once, UUIDv7); sent as `x-gridwork-device` on every later call, and the node of the device's HLC"),
                "device_name": text(100),
                "device_key": described(json!({ "type": "string", "pattern": "^[0-9a-fA-F]{64}$" }), "the device's Ed25519 public key (hex), registered with the session: its pushes must then be signed; not a valid key: 422"),
            }),
        ),
    );
    put(
        "EnrolRequest",
        described(
            object(
                &["code", "device_id"],
                json!({
                    "code": described(text(crate::service::enrolment::MAX_CODE_TEXT), "the one-time code of the QR code `gridwork://enrol?server=<url>&code=<code>` (or as typed): 32 characters of Crockford base32, any case, `-` or spaces between groups allowed; valid 10 minutes, for one sign-in"),
                    "device_id": described(r("Uuid"), "the device's own id, as for a login"),
                    "device_name": text(100),
                    "device_key": described(json!({ "type": "string", "pattern": "^[0-9a-fA-F]{64}$" }), "the device's Ed25519 public key (hex), registered with the session: its pushes must then be signed; not a valid key: 422"),
                }),
            ),
            "扫码登录: sign in with a one-time enrolment code an admin made (console `/admin/enrol`); answered like a login",
        ),
    );
    put(
        "UserInfo",
        object(
            &["id", "username", "display_name", "role", "scope"],
            json!({ "id": { "type": "string" }, "username": { "type": "string" }, "display_name": { "type": "string" }, "role": r("Role"), "scope": { "type": "string" } }),
        ),
    );
    put(
        "LoginResponse",
        object(
            &["token", "user", "server_hlc"],
            json!({ "token": { "type": "string" }, "user": r("UserInfo"), "server_hlc": r("Hlc") }),
        ),
    );
    put("RevokeRequest", object(&["username"], json!({ "username": { "type": "string" }, "device_id": r("Uuid") })));
    put("RevokeResponse", object(&["revoked"], json!({ "revoked": uint() })));
    let levels = [OrgLevel::City, OrgLevel::District, OrgLevel::Street, OrgLevel::Community, OrgLevel::Grid];
    put(
        "OrgUnit",
        object(
            &["code", "name", "level"],
            json!({ "code": { "type": "string" }, "name": { "type": "string" }, "level": enum_of(levels.iter().map(|l| l.as_str())), "parent": { "type": "string" } }),
        ),
    );
    put(
        "Category",
        object(
            &["code", "name", "kind"],
            json!({ "code": { "type": "string" }, "name": { "type": "string" }, "parent": { "type": "string" }, "kind": enum_of(["component", "matter"]) }),
        ),
    );
    let time = json!({ "type": "string", "pattern": "^[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?$" });
    put(
        "WorkCalendar",
        object(
            &["periods"],
            json!({
                "periods": array(object(&["start", "end"], json!({ "start": time, "end": time })), None),
                "holidays": array(r("Date"), None),
                "extra_workdays": array(r("Date"), None),
            }),
        ),
    );
    put(
        "TimeLimit",
        object(
            &["category", "dispatch_minutes", "handle_minutes", "verify_minutes"],
            json!({ "category": { "type": "string" }, "dispatch_minutes": uint(), "handle_minutes": uint(), "verify_minutes": uint() }),
        ),
    );
    put(
        "ReferenceData",
        object(
            &["version", "orgs", "categories", "users"],
            json!({
                "version": { "type": "string" }, "orgs": array(r("OrgUnit"), None), "categories": array(r("Category"), None),
                "users": array(r("UserInfo"), None), "calendar": r("WorkCalendar"), "time_limits": array(r("TimeLimit"), None),
                "stalls": array(r("Stall"), None),
            }),
        ),
    );
    put(
        "Stall",
        object(
            &["code", "trade", "name", "community", "address", "lat", "lon", "qr"],
            json!({
                "code": { "type": "string", "description": "the electronic number (`KW-XLP-007`, markets `KW-BMSC-01`)" },
                "trade": described(
                    enum_of(Trade::ALL.iter().map(|t| t.as_str())),
                    labelled(&Trade::ALL, Trade::as_str, Trade::label_zh),
                ),
                "name": { "type": "string" }, "community": { "type": "string" }, "address": { "type": "string" },
                "lat": { "type": "number", "minimum": -90, "maximum": 90 }, "lon": { "type": "number", "minimum": -180, "maximum": 180 },
                "qr": { "type": "string", "description": "what its QR code holds: the URL of its public page" },
                "hours": { "type": "string" },
                "operator": described(
                    object(&["name", "phone"], json!({ "name": { "type": "string" }, "phone": { "type": "string" } })),
                    "personal data: masked for accounts other than officers and admins",
                ),
            }),
        ),
    );
    let rate = nullable(json!({ "type": "number", "minimum": 0 }));
    put(
        "Figures",
        object(
            &[
                "key",
                "registered",
                "due",
                "paused",
                "closed",
                "closed_on_time",
                "handled",
                "handled_on_time",
                "reworked",
                "extended",
                "overdue_open",
                "close_rate",
                "on_time_close_rate",
                "on_time_handle_rate",
                "rework_rate",
                "extension_rate",
            ],
            json!({
                "key": { "type": "string" }, "registered": uint(), "due": uint(), "paused": uint(), "closed": uint(),
                "closed_on_time": uint(), "handled": uint(), "handled_on_time": uint(), "reworked": uint(), "extended": uint(),
                "overdue_open": uint(), "close_rate": rate, "on_time_close_rate": rate, "on_time_handle_rate": rate,
                "rework_rate": rate, "extension_rate": rate,
            }),
        ),
    );
    let group_by = enum_of(["total", "district", "brigade", "unit", "category"]);
    put(
        "FiguresResponse",
        object(
            &["from", "to", "by", "rows"],
            json!({ "from": r("Date"), "to": r("Date"), "by": group_by, "rows": array(r("Figures"), None) }),
        ),
    );
    put(
        "NumberBlock",
        object(
            &["id", "prefix", "year", "first", "last"],
            json!({ "id": uint(), "prefix": { "type": "string" }, "year": { "type": "integer" }, "first": uint(), "last": uint() }),
        ),
    );
    let count = |what: &str| described(uint(), what);
    put(
        "NumberAccount",
        described(
            object(
                &["block", "device_id", "user_id", "issued_at", "used", "cancelled", "returned", "lost", "open"],
                json!({
                    "block": r("NumberBlock"),
                    "device_id": { "type": "string", "description": "the device the block was issued to" },
                    "user_id": { "type": "string", "description": "the account that asked for it" },
                    "issued_at": r("DateTime"),
                    "used": count("on a notice (cancelled ones included)"),
                    "cancelled": count("of those, on a cancelled notice (作废: the number is kept, never reused)"),
                    "returned": count("given back by the device, never used"),
                    "lost": count("given up with the device when it changed hands or was revoked, never used"),
                    "open": count("still the device's to use: used + returned + lost + open is the block's length"),
                }),
            ),
            "号段台账: one block handed out and what became of its numbers",
        ),
    );
    put("BlockRequest", object(&["count"], json!({ "count": { "type": "integer", "minimum": 1, "maximum": MAX_BLOCK } })));
    put(
        "ReturnRequest",
        object(
            &["blocks"],
            json!({ "blocks": array(object(&["block", "from"], json!({ "block": uint(), "from": uint() })), None) }),
        ),
    );
    put("ReturnResponse", object(&["returned"], json!({ "returned": uint() })));
    put("UploadStart", object(&["sha256", "size"], json!({ "sha256": { "type": "string" }, "size": uint() })));
    put(
        "UploadStatus",
        object(
            &["sha256", "size", "offset", "complete"],
            json!({ "sha256": { "type": "string" }, "size": uint(), "offset": uint(), "complete": { "type": "boolean" } }),
        ),
    );
    put(
        "ErrorBody",
        object(
            &["error"],
            json!({ "error": object(&["code", "message"], json!({ "code": { "type": "string" }, "message": { "type": "string" } })) }),
        ),
    );
    // Open311 and the management of its clients: from their Rust types.
    put("Open311Service", utoipa_schema::<Service>());
    put("Open311ServiceDefinition", utoipa_schema::<ServiceDefinition>());
    put("Open311Request", utoipa_schema::<ServiceRequest>());
    put("Open311Filed", utoipa_schema::<FiledAnswer>());
    put("Open311Token", utoipa_schema::<TokenAnswer>());
    put("Open311Error", utoipa_schema::<ErrorEntry>());
    put("Open311Endpoint", utoipa_schema::<Endpoint>());
    let mut discovery = utoipa_schema::<Discovery>();
    if let Some(items) = discovery.pointer_mut("/properties/endpoints/items") {
        *items = r("Open311Endpoint");
    }
    put("Open311Discovery", discovery);
    put("ClientInfo", utoipa_schema::<ClientInfo>());
    let mut created = utoipa_schema::<CreatedClient>();
    if let Some(client) = created.pointer_mut("/properties/client") {
        *client = r("ClientInfo");
    }
    put("CreatedClient", created);
    put("NewClient", utoipa_schema::<NewClient>());
    for (name, examples) in doc_examples() {
        if let Some(schema) = s.get_mut(&name) {
            schema["examples"] = examples;
        }
    }
    s
}

fn json_body(schema: Value) -> Value {
    json!({ "content": { "application/json": { "schema": schema } } })
}

fn errors() -> Value {
    json!({ "description": "错误 (error): `{\"error\": {\"code\", \"message\"}}`, see docs/protocol.md", "content": { "application/json": { "schema": r("ErrorBody") } } })
}

fn ok(description: &str, schema: Value) -> Value {
    let mut v = json_body(schema);
    v["description"] = json!(description);
    v
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": description })
}

fn path_param(name: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": schema })
}

fn device_op(summary: &str, params: Vec<Value>, body: Option<Value>, responses: Value) -> Value {
    let mut responses = responses;
    responses["default"] = errors();
    let mut op = json!({
        "summary": summary, "tags": ["device"], "parameters": params, "responses": responses,
        "security": [{ "bearer": [], "device": [] }],
    });
    if let Some(b) = body {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": b } } });
    }
    op
}

/// The Open311 answers of one resource: JSON or XML by the path, errors in the same format.
fn open311_op(summary: &str, json_mode: bool, params: Vec<Value>, schema: Value, status: &str) -> Value {
    let (ct, ok_schema, err_schema) = if json_mode {
        ("application/json", schema, array(r("Open311Error"), None))
    } else {
        ("text/xml", json!({ "type": "string" }), json!({ "type": "string" }))
    };
    json!({
        "summary": summary, "tags": ["open311"], "parameters": params,
        "responses": {
            status: { "description": "OK", "content": { ct: { "schema": ok_schema } } },
            "default": { "description": "错误：`[{\"code\", \"description\"}]` 或 `<errors><error>…`", "content": { ct: { "schema": err_schema } } },
        },
    })
}

fn v1(path: &str) -> String {
    format!("{}{path}", paths::PREFIX)
}

/// The whole document.
pub fn build() -> Value {
    let mut p = Map::new();
    let since = query("since", uint(), "the cursor: the `next` of the previous page (0 for everything)");
    let epoch = query("epoch", uint(), "the `epoch` of the answer the cursor came from (absent on a first pull)");
    let pending = query(
        "pending",
        uint(),
        "changes and photos the device still has to send (shown to admins beside the device's last sync); optional",
    );
    let own_digests = query(
        "own_digests",
        json!({ "type": "boolean" }),
        "`true`: the device's own records (created on it, last changed by its user) come as digests in `own`, not in full; optional",
    );
    let limit = query(
        "limit",
        json!({ "type": "integer", "minimum": 1, "default": DEFAULT_PULL_LIMIT }),
        &format!(
            "page size, default {DEFAULT_PULL_LIMIT}; a value above {MAX_PULL_LIMIT} is capped to {MAX_PULL_LIMIT} without an error (read `has_more`)"
        ),
    );
    p.insert(
        paths::LOGIN.into(),
        json!({ "post": {
            "summary": "登录 sign in", "tags": ["device"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": r("LoginRequest") } } },
            "responses": { "200": ok("signed in", r("LoginResponse")), "default": errors() },
        }}),
    );
    p.insert(
        paths::ENROL.into(),
        json!({ "post": {
            "summary": "扫码登录 sign in with a one-time enrolment code", "tags": ["device"],
            "description": "Answered exactly like a login. An unknown, used or expired code is `401 invalid_credentials`; after 5 bad codes in a row from one device, `429 too_many_attempts`.",
            "requestBody": { "required": true, "content": { "application/json": { "schema": r("EnrolRequest") } } },
            "responses": { "200": ok("signed in", r("LoginResponse")), "default": errors() },
        }}),
    );
    p.insert(
        paths::LOGOUT.into(),
        json!({ "post": device_op("退出登录 sign out", vec![], None, json!({ "204": { "description": "signed out" } })) }),
    );
    p.insert(paths::REVOKE.into(), json!({ "post": device_op("吊销会话 revoke sessions (admin)", vec![], Some(r("RevokeRequest")), json!({ "200": ok("revoked", r("RevokeResponse")) })) }));
    p.insert(paths::PUSH.into(), json!({ "post": device_op("推送 push ops", vec![], Some(r("PushRequest")), json!({ "200": ok("one result per op", r("PushResponse")) })) }));
    p.insert(paths::PULL.into(), json!({ "get": device_op("拉取 pull changes", vec![since, limit, epoch, pending, own_digests], None, json!({ "200": ok("a page", r("PullResponse")) })) }));
    p.insert(
        paths::REFERENCE.into(),
        json!({ "get": device_op(
            "基础数据 reference data",
            vec![json!({ "name": "If-None-Match", "in": "header", "required": false, "schema": { "type": "string" } })],
            None,
            json!({ "200": ok("the reference data", r("ReferenceData")), "304": { "description": "unchanged" } }),
        )}),
    );
    let date = r("Date");
    p.insert(
        paths::FIGURES.into(),
        json!({ "get": device_op(
            "考核指标 figures (admin, officer)",
            vec![
                json!({ "name": "from", "in": "query", "required": true, "schema": date }),
                json!({ "name": "to", "in": "query", "required": true, "schema": date }),
                query("by", enum_of(["total", "district", "brigade", "unit", "category"]), "grouping"),
            ],
            None,
            json!({ "200": ok("one row per group", r("FiguresResponse")) }),
        )}),
    );
    p.insert(paths::UPLOADS.into(), json!({ "post": device_op("开始上传照片 start a photo upload", vec![], Some(r("UploadStart")), json!({ "200": ok("the server's offset", r("UploadStatus")) })) }));
    let sha = path_param("sha256", json!({ "type": "string" }));
    let mut append = device_op(
        "追加照片内容 append photo bytes",
        vec![sha.clone(), json!({ "name": "Upload-Offset", "in": "header", "required": true, "schema": uint() })],
        None,
        json!({ "200": ok("the new offset", r("UploadStatus")) }),
    );
    append["requestBody"] = json!({ "required": true, "content": { "application/offset+octet-stream": { "schema": { "type": "string", "format": "binary" } } } });
    p.insert(format!("{}{{sha256}}", paths::UPLOAD_PREFIX), json!({ "patch": append }));
    let image = json!({ "content": {
        "image/jpeg": { "schema": { "type": "string", "format": "binary" } },
        "image/png": { "schema": { "type": "string", "format": "binary" } },
        "image/webp": { "schema": { "type": "string", "format": "binary" } },
    }, "description": "the photo" });
    let not_modified = json!({ "description": "unchanged" });
    p.insert(
        format!("{}{{sha256}}", paths::PHOTO_PREFIX),
        json!({ "get": device_op("照片 a photo", vec![sha.clone()], None, json!({ "200": image, "304": not_modified })) }),
    );
    let thumb = json!({ "description": "the thumbnail", "content": { "image/jpeg": { "schema": { "type": "string", "format": "binary" } } } });
    p.insert(
        format!("{}{{sha256}}/thumb", paths::PHOTO_PREFIX),
        json!({ "get": device_op("缩略图 a thumbnail", vec![sha], None, json!({ "200": thumb, "304": not_modified })) }),
    );

    p.insert(
        paths::NUMBER_BLOCKS.into(),
        json!({
            "post": device_op("领取告知单号段 a block of notice numbers (officer, admin)", vec![], Some(r("BlockRequest")), json!({ "200": ok("the block", r("NumberBlock")) })),
            "get": device_op("本设备的号段 this device's open blocks", vec![], None, json!({ "200": ok("what is left of them", array(r("NumberBlock"), None)) })),
        }),
    );
    p.insert(
        paths::NUMBER_RETURN.into(),
        json!({ "post": device_op("退回未用号码 give back unused numbers", vec![], Some(r("ReturnRequest")), json!({ "200": ok("how many went back", r("ReturnResponse")) })) }),
    );
    p.insert(
        paths::NUMBER_ACCOUNTS.into(),
        json!({ "get": device_op("号段台账 every block and its numbers' fate (admin)", vec![], None, json!({ "200": ok("one entry per block issued", array(r("NumberAccount"), None)) })) }),
    );

    // Exports.
    let list = |what: &str| query(what, json!({ "type": "string" }), "comma-separated");
    let export_params = vec![
        list("kind"),
        list("status"),
        query("category", text(20), "a 大类 or 小类 code (prefix)"),
        query("org", text(40), "an org code"),
        query("from", json!({ "type": "string" }), "date (China time) or RFC 3339, inclusive"),
        query("to", json!({ "type": "string" }), "date (China time) or RFC 3339, exclusive"),
        query("overdue", json!({ "type": "boolean" }), ""),
        query("assignee", text(80), "`unit:<code>` or `officer:<user id>`"),
        query("author", text(80), "an author's account id"),
        query("text", text(100), "free text (never over personal data)"),
        query("sort", enum_of(["newest", "oldest", "updated", "due"]), ""),
        query("personal", json!({ "type": "boolean" }), "add the party's name, shop and phone (audited)"),
    ];
    for (path, ct, schema, what) in [
        (exports::CSV, "text/csv", json!({ "type": "string" }), "CSV (UTF-8 with BOM, Chinese headers)"),
        (
            exports::XLSX,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            json!({ "type": "string", "format": "binary" }),
            "Excel",
        ),
        (
            exports::GEOJSON,
            "application/geo+json",
            json!({ "type": "object", "required": ["type", "features"], "properties": { "type": { "const": "FeatureCollection" }, "features": { "type": "array" } } }),
            "GeoJSON FeatureCollection (RFC 7946)",
        ),
    ] {
        let ok = json!({ "description": what, "content": { ct: { "schema": schema } } });
        p.insert(
            v1(path),
            json!({ "get": device_op(&format!("导出 export: {what}"), export_params.clone(), None, json!({ "200": ok })) }),
        );
    }

    // Client applications of Open311 (admins).
    p.insert(
        v1(open311::clients::CLIENTS),
        json!({
            "get": device_op("接入应用列表 Open311 clients (admin)", vec![], None, json!({ "200": ok("the clients", array(r("ClientInfo"), None)) })),
            "post": device_op("新建接入应用 new Open311 client (admin)", vec![], Some(r("NewClient")), json!({ "201": ok("the client and its api key (shown once)", r("CreatedClient")) })),
        }),
    );
    p.insert(
        v1("/open311/clients/{id}"),
        json!({ "delete": device_op("停用接入应用 revoke an Open311 client (admin)", vec![path_param("id", r("Uuid"))], None, json!({ "204": { "description": "revoked" } })) }),
    );

    // Open311 GeoReport v2.
    let o = |name: &str, ext: &str| format!("{}/{name}.{ext}", open311::PREFIX);
    let requests_params = vec![
        query(
            "service_request_id",
            json!({ "type": "string" }),
            &format!("comma-separated ids (at most {MAX_IDS}); the other parameters are then ignored"),
        ),
        query("service_code", json!({ "type": "string" }), "comma-separated service codes"),
        query("start_date", json!({ "type": "string" }), "W3C datetime with a zone, or a date"),
        query("end_date", json!({ "type": "string" }), "W3C datetime with a zone, or a date; at most 90 days after start_date"),
        query("status", json!({ "type": "string" }), "open, closed, or both comma-separated"),
        query("page", json!({ "type": "integer", "minimum": 1 }), "1-based"),
        query("page_size", json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE }), "default 100"),
        query("jurisdiction_id", json!({ "type": "string" }), "ignored: one jurisdiction"),
    ];
    // The form's rules, as `Open311Service::file` checks them (a form breaking one is 400,
    // a wrong or missing key 403). Its texts become a report's, checked by the core's
    // `validate` (no control characters, `char::is_control`, but tab and newline).
    const CONTROL: &str = "\\u0000-\\u001f\\u007f-\\u009f";
    let no_control = "[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]";
    let form_props = json!({
        "api_key": { "type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "the key of a live client application (64 hex digits; an admin makes one with POST /v1/open311/clients, and revokes it); wrong, missing or revoked: 403. May also come in the query string" },
        "jurisdiction_id": { "type": "string", "description": "ignored: one jurisdiction" },
        "service_code": { "type": "string", "pattern": "\\S", "description": "a `service_code` of services.json (a GB/T 47678.5 小类); blank is missing" },
        "lat": { "type": "number", "minimum": -90, "maximum": 90, "description": "WGS-84; with `long`" },
        "long": { "type": "number", "minimum": -180, "maximum": 180, "description": "WGS-84; with `lat`" },
        "address_string": { "type": "string", "maxLength": MAX_ADDRESS_CHARS, "pattern": format!("^{no_control}*[^\\s{CONTROL}]{no_control}*$"), "description": "the place in words, not blank, no control characters but tab and newline; without lat/long the request is placed at its client application's intake point" },
        "address_id": { "type": "string", "description": "not supported: give lat and long, or address_string" },
        "email": { "type": "string" }, "device_id": { "type": "string" }, "account_id": { "type": "string" },
        "first_name": { "type": "string" }, "last_name": { "type": "string" }, "phone": { "type": "string" },
        "description": { "type": "string", "maxLength": MAX_DESCRIPTION_CHARS, "pattern": format!("^{no_control}*$"), "description": "the report's description, no control characters but tab and newline (blank: the service's name and the client's)" },
        "media_url": { "type": "string", "pattern": format!("^https?://[^\\s{CONTROL}]*$"), "description": format!("a link to a photo, kept as a link: http(s), no spaces or control characters, at most {MAX_MEDIA_URL} bytes") },
    });
    let form = json!({
        "type": "object",
        "required": ["api_key", "service_code"],
        "properties": form_props,
        "description": "a location is required: lat and long together, or address_string. The contact fields (email, device_id, account_id, first_name, last_name, phone) are personal data: never read, never stored",
        "anyOf": [{ "required": ["lat", "long"] }, { "required": ["address_string"] }],
        "dependentRequired": { "lat": ["long"], "long": ["lat"] },
    });
    for (ext, js) in [("json", true), ("xml", false)] {
        p.insert(
            o("discovery", ext),
            json!({ "get": open311_op("服务发现 discovery", js, vec![], r("Open311Discovery"), "200") }),
        );
        p.insert(
            o("services", ext),
            json!({ "get": open311_op("服务列表 services", js, vec![], array(r("Open311Service"), None), "200") }),
        );
        p.insert(
            format!("{}/services/{{service_code}}.{ext}", open311::PREFIX),
            json!({ "get": open311_op("服务定义 service definition", js, vec![path_param("service_code", json!({ "type": "string" }))], r("Open311ServiceDefinition"), "200") }),
        );
        let mut post = open311_op("提交诉求 file a request", js, vec![], array(r("Open311Filed"), None), "201");
        post["requestBody"] = json!({ "required": true, "content": { "application/x-www-form-urlencoded": { "schema": form } } });
        p.insert(
            o("requests", ext),
            json!({
                "get": open311_op("诉求列表 requests", js, requests_params.clone(), array(r("Open311Request"), None), "200"),
                "post": post,
            }),
        );
        p.insert(
            format!("{}/requests/{{service_request_id}}.{ext}", open311::PREFIX),
            json!({ "get": open311_op("诉求 one request", js, vec![path_param("service_request_id", json!({ "type": "string" }))], array(r("Open311Request"), None), "200") }),
        );
        p.insert(
            format!("{}/tokens/{{token}}.{ext}", open311::PREFIX),
            json!({ "get": open311_op("凭证 token", js, vec![path_param("token", json!({ "type": "string" }))], array(r("Open311Token"), None), "200") }),
        );
    }
    p.insert(
        "/healthz".into(),
        json!({ "get": { "summary": "health", "responses": { "200": ok("up", object(&["status"], json!({ "status": { "const": "ok" } }))) } } }),
    );
    p.insert(
        PATH.into(),
        json!({ "get": { "summary": "this document", "responses": { "200": ok("OpenAPI 3.1", json!({ "type": "object" })) } } }),
    );

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "gridwork",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "城市管理网格化: the device sync API (docs/protocol.md) and Open311 GeoReport v2 (docs/open311.md).",
        },
        "paths": p,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "the token of POST /v1/auth/login" },
                "device": { "type": "apiKey", "in": "header", "name": gridwork_core::protocol::DEVICE_HEADER, "description": "the device id the token was issued to" },
            },
        },
    })
}
