//! `docs/protocol.md` cannot drift from the server: its error table lists exactly the
//! codes the device API's error type can send, with their statuses; every JSON example
//! marked `<!-- wire: Type -->` parses as that wire type (and writes back the same JSON),
//! its ops are accepted by a real server in order; its tables of fields, limits,
//! activities, statuses and updatable fields match the code, every length and range probed
//! at the limit and one past it. The OpenAPI document's examples parse as the wire types.

use axum::http::{Method, StatusCode};
use gridwork_server::http::error::AppError;
use std::collections::BTreeSet;

/// One of every error the device API can answer with. The match below has no wildcard:
/// a new variant does not compile until it is listed here (and so checked against the doc).
fn every_error() -> Vec<AppError> {
    use AppError::*;
    let statuses = [400u16, 401, 403, 404, 405, 413, 415, 500];
    let mut all = vec![
        MalformedJson,
        MalformedBody,
        InvalidRequest(String::new()),
        UnsupportedMediaType,
        PayloadTooLarge,
        Unauthorized,
        InvalidCredentials,
        TooManyAttempts(30),
        TooManyUploads(64),
        RequestTimeout,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        BatchTooLarge,
        InvalidOp(String::new()),
        PhotoTooLarge(1),
        OffsetMismatch,
        UploadTooLong,
        HashMismatch,
        UnsupportedPhotoType,
        UnsupportedUploadType,
        UploadInterrupted,
        PhotoPending,
        UsernameTaken,
        Internal(String::new()),
    ];
    all.extend(statuses.iter().map(|s| Status(StatusCode::from_u16(*s).expect("status"))));
    for e in &all {
        match e {
            MalformedJson
            | MalformedBody
            | InvalidRequest(_)
            | UnsupportedMediaType
            | PayloadTooLarge
            | Unauthorized
            | InvalidCredentials
            | TooManyAttempts(_)
            | TooManyUploads(_)
            | RequestTimeout
            | Forbidden
            | NotFound
            | MethodNotAllowed
            | BatchTooLarge
            | InvalidOp(_)
            | PhotoTooLarge(_)
            | OffsetMismatch
            | UploadTooLong
            | HashMismatch
            | UnsupportedPhotoType
            | UnsupportedUploadType
            | UploadInterrupted
            | PhotoPending
            | UsernameTaken
            | Status(_)
            | Internal(_) => {}
        }
    }
    all
}

/// `(status, code)` pairs of the doc's error table (a row may name two codes).
fn documented() -> BTreeSet<(u16, String)> {
    let doc = doc();
    let start = doc.find("| status | code | when |").expect("the error table");
    let mut out = BTreeSet::new();
    for line in doc[start..].lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let status: u16 = cells[1].parse().unwrap_or_else(|_| panic!("status of {line}"));
        for code in cells[2].split('/').map(|c| c.trim().trim_matches('`')) {
            out.insert((status, code.to_owned()));
        }
    }
    out
}

#[test]
fn the_error_table_lists_every_code_the_server_sends_and_nothing_else() {
    let sent: BTreeSet<(u16, String)> = every_error().iter().map(|e| (e.status().as_u16(), e.code().to_owned())).collect();
    let doc = documented();
    let undocumented: Vec<_> = sent.difference(&doc).collect();
    let never_sent: Vec<_> = doc.difference(&sent).collect();
    assert!(undocumented.is_empty(), "sent but not in docs/protocol.md: {undocumented:?}");
    assert!(never_sent.is_empty(), "in docs/protocol.md but never sent: {never_sent:?}");
}

mod common;

#[tokio::test]
async fn a_path_the_router_cannot_decode_is_bad_request() {
    use axum::body::Body;
    let h = common::harness().await;
    let l = common::login(&h, "grid.kw01").await;
    let req = common::authed(Method::GET, "/v1/photos/%FF", &l);
    common::send(&h.app, req, Body::empty()).await.error(StatusCode::BAD_REQUEST, "bad_request");
}

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md")).expect("docs/protocol.md")
}

// ---------------------------------------------------------------------------------------
// The wire examples: every ```json block of the doc is marked `<!-- wire: Type [as=role] -->`.

use axum::body::Body;
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::merge::{Actor, apply_op};
use gridwork_core::model::{
    Activity, Location, Notice, Party, PhotoRef, Record, RecordBody, RecordKind, Report, Role, ServiceLog, Status,
};
use gridwork_core::numbering::{self, format_number, parse_number};
use gridwork_core::protocol::{self as wire, BodyPatch, Op, OpAction, Outcome, PullResponse, PushRequest, PushResponse, paths};
use gridwork_core::reference::RefIndex;
use gridwork_core::validate::{self, validate_record};
use gridwork_core::{cases, hlc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A JSON block of the doc and its marker.
struct Example {
    ty: String,
    attrs: BTreeMap<String, String>,
    json: String,
    /// Line of the block's opening fence.
    line: usize,
}

impl Example {
    /// The role whose account sends this op (`as=…`; a grid worker unless said).
    fn role(&self) -> Role {
        self.attrs
            .get("as")
            .map_or(Role::GridWorker, |r| Role::parse(r).unwrap_or_else(|| panic!("line {}: role {r}", self.line)))
    }
}

fn examples(doc: &str) -> Vec<Example> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut pending: Option<(String, BTreeMap<String, String>, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        if let Some(rest) = t.strip_prefix("<!-- wire:") {
            let rest = rest.strip_suffix("-->").unwrap_or_else(|| panic!("line {}: marker not closed", i + 1)).trim();
            let mut words = rest.split_whitespace();
            let ty = words.next().unwrap_or_else(|| panic!("line {}: marker without a type", i + 1)).to_owned();
            let attrs = words
                .map(|w| w.split_once('=').unwrap_or_else(|| panic!("line {}: `{w}` is not key=value", i + 1)))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            assert!(pending.is_none(), "line {}: two markers in a row", i + 1);
            pending = Some((ty, attrs, i + 1));
        } else if t.starts_with("```json") {
            let end = (i + 1..lines.len())
                .find(|j| lines[*j].trim().starts_with("```"))
                .unwrap_or_else(|| panic!("line {}: block not closed", i + 1));
            let Some((ty, attrs, _)) = pending.take() else {
                panic!("docs/protocol.md line {}: a ```json block without a `<!-- wire: Type -->` marker", i + 1)
            };
            out.push(Example { ty, attrs, json: lines[i + 1..end].join("\n"), line: i + 1 });
            i = end;
        } else if !t.is_empty()
            && let Some((_, _, at)) = &pending
        {
            panic!("docs/protocol.md line {at}: the wire marker is not followed by a ```json block");
        }
        i += 1;
    }
    assert!(pending.is_none(), "a wire marker at the end of the doc");
    out
}

/// Parse as `T` (the wire types reject unknown fields) and write back: the example must be
/// exactly what the code writes (no field the code would leave out, no other spelling).
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(what: &str, value: &Value) -> T {
    let parsed: T = serde_path_to_error::deserialize(value.clone())
        .unwrap_or_else(|e| panic!("{what}: not a valid wire value: {} (at `{}`)", e.inner(), e.path()));
    let back = serde_json::to_value(&parsed).expect("serialize");
    assert_eq!(back, *value, "{what}: parses, but the code writes it differently");
    parsed
}

enum Parsed {
    Op(Box<Op>),
    Push(PushRequest),
    Pull(Box<PullResponse>),
    Record(Box<Record>),
    Own(gridwork_core::protocol::OwnRecord),
    Other,
}

/// Parse one example as the wire type it names (a doc type or an OpenAPI component).
fn parse(ty: &str, what: &str, value: &Value) -> Parsed {
    use gridwork_core::protocol::*;
    match ty {
        "Op" => Parsed::Op(Box::new(round_trip(what, value))),
        "PushRequest" => Parsed::Push(round_trip(what, value)),
        "PullResponse" => Parsed::Pull(Box::new(round_trip(what, value))),
        "Record" => Parsed::Record(Box::new(round_trip(what, value))),
        "OwnRecord" => Parsed::Own(round_trip(what, value)),
        "ErrorBody" => round_trip::<ErrorBody>(what, value).into_other(),
        "LoginRequest" => round_trip::<LoginRequest>(what, value).into_other(),
        "LoginResponse" => round_trip::<LoginResponse>(what, value).into_other(),
        "EnrolRequest" => round_trip::<EnrolRequest>(what, value).into_other(),
        "RevokeRequest" => round_trip::<RevokeRequest>(what, value).into_other(),
        "RevokeResponse" => round_trip::<RevokeResponse>(what, value).into_other(),
        "PushResponse" => round_trip::<PushResponse>(what, value).into_other(),
        "OpResult" => round_trip::<OpResult>(what, value).into_other(),
        "NewRecord" => round_trip::<NewRecord>(what, value).into_other(),
        "RecordPatch" => round_trip::<RecordPatch>(what, value).into_other(),
        "PhotoRef" => round_trip::<PhotoRef>(what, value).into_other(),
        "Location" => round_trip::<Location>(what, value).into_other(),
        "CaseStep" => round_trip::<cases::CaseStep>(what, value).into_other(),
        "UploadStart" => round_trip::<UploadStart>(what, value).into_other(),
        "UploadStatus" => round_trip::<UploadStatus>(what, value).into_other(),
        "NumberBlock" => round_trip::<numbering::NumberBlock>(what, value).into_other(),
        "BlockRequest" => round_trip::<BlockRequest>(what, value).into_other(),
        "ReturnRequest" => round_trip::<ReturnRequest>(what, value).into_other(),
        "Hlc" => round_trip::<Hlc>(what, value).into_other(),
        other => panic!("{what}: no wire type `{other}` known to this test"),
    }
}

trait IntoOther {
    fn into_other(self) -> Parsed;
}
impl<T> IntoOther for T {
    fn into_other(self) -> Parsed {
        Parsed::Other
    }
}

fn parsed_examples() -> Vec<(Example, Parsed)> {
    examples(&doc())
        .into_iter()
        .map(|ex| {
            let what = format!("docs/protocol.md line {} ({})", ex.line, ex.ty);
            let value: Value = serde_json::from_str(&ex.json).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
            let parsed = parse(&ex.ty, &what, &value);
            (ex, parsed)
        })
        .collect()
}

/// The example devices of the doc, by the role of their account.
fn device_of(role: Role) -> Uuid {
    let id = match role {
        Role::GridWorker => "01937b2e-4c1a-7d3e-9f10-2a3b4c5d6e7f",
        Role::Officer => "01937b30-7777-7abc-8def-0123456789ab",
        Role::Admin => "01937b31-1111-7222-8333-444455556666",
    };
    Uuid::parse_str(id).expect("uuid")
}

/// The ops of the doc in order, with the role that sends each.
fn doc_ops(parsed: &[(Example, Parsed)]) -> Vec<(Role, Op, usize)> {
    let mut ops = Vec::new();
    for (ex, p) in parsed {
        match p {
            Parsed::Op(op) => ops.push((ex.role(), (**op).clone(), ex.line)),
            Parsed::Push(req) => ops.extend(req.ops.iter().map(|op| (ex.role(), op.clone(), ex.line))),
            _ => {}
        }
    }
    ops
}

#[test]
fn every_wire_example_parses_as_its_type_and_is_what_the_code_writes() {
    let parsed = parsed_examples();
    let count = |ty: &str| parsed.iter().filter(|(e, _)| e.ty == ty).count();
    for ty in
        ["Op", "PushRequest", "PushResponse", "PullResponse", "Record", "OwnRecord", "LoginRequest", "LoginResponse", "PhotoRef"]
    {
        assert!(count(ty) > 0, "docs/protocol.md has no {ty} example");
    }
    // A create of every kind, an update of every kind that takes updates, and steps.
    let ops = doc_ops(&parsed);
    for kind in RecordKind::ALL {
        assert!(
            ops.iter().any(|(_, op, _)| matches!(&op.action, OpAction::Create(n) if n.body.kind() == kind)),
            "no create of a {kind:?}"
        );
    }
    for kind in [RecordKind::Report, RecordKind::Notice, RecordKind::ServiceLog] {
        assert!(
            ops.iter().any(
                |(_, op, _)| matches!(&op.action, OpAction::Update(p) if p.body.as_ref().map(BodyPatch::kind) == Some(kind))
            ),
            "no update of a {kind:?}"
        );
    }
    assert!(ops.iter().any(|(_, op, _)| matches!(op.action, OpAction::Step(_))), "no case step");
    // A device's clock node is its device id without hyphens; the server's is `server`.
    for (role, op, line) in &ops {
        assert_eq!(op.hlc.node, device_of(*role).simple().to_string(), "line {line}: the HLC node of a {role:?}'s device");
    }
    let refs = fixtures::refs();
    for (ex, p) in &parsed {
        let records: Vec<&Record> = match p {
            Parsed::Record(r) => vec![&**r],
            Parsed::Pull(pull) => {
                assert_eq!(pull.server_hlc.node, "server");
                pull.records.iter().collect()
            }
            _ => vec![],
        };
        for r in records {
            validate_record(r, &refs).unwrap_or_else(|e| panic!("line {}: record {} does not validate: {e:?}", ex.line, r.id));
        }
    }
    // A documented own-record digest is that of the documented record it names.
    let documented: Vec<&Record> = parsed
        .iter()
        .flat_map(|(_, p)| match p {
            Parsed::Record(r) => vec![&**r],
            Parsed::Pull(pull) => pull.records.iter().collect(),
            _ => vec![],
        })
        .collect();
    for (ex, p) in &parsed {
        let Parsed::Own(own) = p else { continue };
        let r = documented
            .iter()
            .find(|r| r.id == own.id)
            .unwrap_or_else(|| panic!("line {}: the own record {} is not documented in full", ex.line, own.id));
        assert_eq!((Some(own.seq), own.updated_at), (r.seq, r.updated_at), "line {}: seq and updated_at", ex.line);
        assert_eq!(own.digest, gridwork_core::protocol::record_digest(r), "line {}: the digest of {}", ex.line, own.id);
    }
}

#[test]
fn a_json_example_with_a_wrong_field_is_refused() {
    // What the test above relies on: the wire types refuse what is not theirs.
    let parsed = parsed_examples();
    let (ex, _) = parsed.iter().find(|(e, _)| e.ty == "Op").expect("an op");
    let mut v: Value = serde_json::from_str(&ex.json).expect("json");
    v["action"]["create"]["body"]["report"]["descripton"] = json!("typo");
    assert!(serde_json::from_value::<Op>(v).is_err());
    let mut v: Value = serde_json::from_str(&ex.json).expect("json");
    v["hlc"] = json!("2026-11-26T09:30:00Z");
    assert!(serde_json::from_value::<Op>(v).is_err());
}

/// Sign the doc's three roles in on a harness.
async fn sign_in_roles(h: &common::Harness) -> BTreeMap<&'static str, common::Login> {
    let mut logins = BTreeMap::new();
    for (role, user) in [(Role::GridWorker, "grid.kw01"), (Role::Officer, "officer.kw"), (Role::Admin, "admin")] {
        logins.insert(role.as_str(), common::login(h, user).await);
    }
    logins
}

async fn push(h: &common::Harness, who: &common::Login, ops: &[Op]) -> PushResponse {
    let req = common::authed(Method::POST, paths::PUSH, who).header("content-type", "application/json");
    let r = common::send(&h.app, req, Body::from(json!({ "ops": ops }).to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn pull(h: &common::Harness, who: &common::Login, query: &str) -> common::Resp {
    let req = common::authed(Method::GET, &format!("{}?{query}", paths::PULL), who);
    common::send(&h.app, req, Body::empty()).await
}

#[tokio::test]
async fn the_docs_ops_are_accepted_in_order_by_a_real_server_and_end_as_its_pull_shows() {
    let h = common::harness().await;
    let logins = sign_in_roles(&h).await;
    let block = common::take_block(&h, &logins["officer"], 100).await;
    let parsed = parsed_examples();
    for (role, mut op, line) in doc_ops(&parsed) {
        if let OpAction::Create(new) = &mut op.action
            && let RecordBody::Notice(n) = &mut new.body
        {
            // The doc's number, as this server's block for the officer's device has it.
            let (prefix, _, _) = parse_number(&n.number).unwrap_or_else(|| panic!("line {line}: not a notice number"));
            assert_eq!(prefix, block.prefix, "line {line}: the 奎文 brigade's prefix");
            n.number = format_number(&block.prefix, block.year, block.first);
        }
        let resp = push(&h, &logins[role.as_str()], std::slice::from_ref(&op)).await;
        let result = &resp.results[0];
        assert_eq!(result.outcome, Outcome::Accepted, "docs/protocol.md line {line}: the op is refused: {:?}", result.rejection);
    }
    // Where the ops leave the records is what the doc's pull example shows.
    let r = pull(&h, &logins["admin"], "since=0").await;
    assert_eq!(r.status, StatusCode::OK);
    let got: PullResponse = r.json();
    let example = parsed.iter().find_map(|(_, p)| if let Parsed::Pull(p) = p { Some(p) } else { None }).expect("a pull");
    for want in &example.records {
        let have = got
            .records
            .iter()
            .find(|r| r.id == want.id)
            .unwrap_or_else(|| panic!("the doc's pull shows {}, no op makes it", want.id));
        assert_eq!(
            (have.status, &have.location, have.org.clone()),
            (want.status, &want.location, want.org.clone()),
            "{}",
            want.id
        );
        match (&have.body, &want.body) {
            (RecordBody::Case(a), RecordBody::Case(b)) => {
                assert_eq!(
                    (&a.source, &a.category, &a.description, &a.assignee),
                    (&b.source, &b.category, &b.description, &b.assignee)
                );
                let steps = |c: &cases::Case| c.timeline.iter().map(|e| (e.action, e.from, e.to)).collect::<Vec<_>>();
                assert_eq!(steps(a), steps(b), "the case's timeline");
                assert!(a.number.as_deref().is_some_and(|n| n.starts_with("370705-")), "a case number of the district");
            }
            (a, b) => assert_eq!(a, b, "{}", want.id),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The tables.

fn cells(line: &str) -> Vec<String> {
    line.trim().trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect()
}

/// The rows of the table right after `<!-- marker -->` (without its header).
fn table(doc: &str, marker: &str) -> Vec<Vec<String>> {
    let tag = format!("\n<!-- {marker} -->\n");
    let start = doc.find(&tag).unwrap_or_else(|| panic!("docs/protocol.md has no `{}` table", tag.trim()));
    let rows: Vec<Vec<String>> = doc[start + tag.len()..]
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(cells)
        .collect();
    assert!(!rows.is_empty(), "the `{tag}` table is empty");
    rows
}

/// `` `a`, `b` `` → ["a", "b"].
fn names(cell: &str) -> Vec<String> {
    cell.split(',').map(|n| n.trim().trim_matches('`').to_owned()).filter(|n| !n.is_empty()).collect()
}

enum Item {
    Photo,
    Uuid,
    Text(usize),
}

enum Probe {
    Text(usize),
    Range { int: bool, min: f64, max: f64 },
    List { item: Item, max: usize },
    Nothing,
}

/// `≤ 500 chars` → 500.
fn at_most(rule: &str) -> usize {
    let n = rule.trim().strip_prefix("≤ ").unwrap_or_else(|| panic!("`{rule}`: expected `≤ N`"));
    n.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("`{rule}`: no number"))
}

/// The probe a field's type cell asks for: `text, ≤ N chars`, `integer, A to B`,
/// `number, A to B`, `PhotoRef[], ≤ N`, `Uuid[], ≤ N`, `text[], ≤ N × ≤ M chars`.
fn probe_of(ty: &str) -> Probe {
    let Some((base, rule)) = ty.split_once(", ") else { return Probe::Nothing };
    match base {
        "text" => Probe::Text(at_most(rule)),
        "integer" | "number" => {
            let (a, b) = rule.split_once(" to ").unwrap_or_else(|| panic!("`{ty}`: expected `A to B`"));
            let num = |s: &str| s.trim().parse::<f64>().unwrap_or_else(|_| panic!("`{ty}`: `{s}` is no number"));
            Probe::Range { int: base == "integer", min: num(a), max: num(b) }
        }
        "PhotoRef[]" => Probe::List { item: Item::Photo, max: at_most(rule) },
        "Uuid[]" => Probe::List { item: Item::Uuid, max: at_most(rule) },
        "text[]" => {
            let (n, m) = rule.split_once(" × ").unwrap_or_else(|| panic!("`{ty}`: expected `≤ N × ≤ M chars`"));
            Probe::List { item: Item::Text(at_most(m)), max: at_most(n) }
        }
        other => panic!("`{ty}`: no probe for `{other}` with a rule"),
    }
}

fn photo(i: usize) -> Value {
    json!({ "sha256": format!("{i:064x}"), "mime": "image/jpeg", "bytes": 1000, "width": 640, "height": 480 })
}

fn items(item: &Item, n: usize) -> Value {
    Value::Array(
        (1..=n)
            .map(|i| match item {
                Item::Photo => photo(i),
                Item::Uuid => json!(Uuid::from_u128(i as u128)),
                Item::Text(_) => json!(format!("意见{i}")),
            })
            .collect(),
    )
}

fn at<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Value {
    path.iter().fold(v, |v, seg| match seg.parse::<usize>() {
        Ok(i) => &mut v[i],
        Err(_) => &mut v[*seg],
    })
}

/// One record with `field` (under `path`) set to `value` (or removed): accepted, or the
/// field a rejection names (`serde` when it does not even parse).
fn verdict(base: &Value, path: &[&str], field: &str, value: Option<Value>, refs: &RefIndex) -> Result<(), String> {
    let mut v = base.clone();
    let obj = at(&mut v, path).as_object_mut().unwrap_or_else(|| panic!("no object at {path:?}"));
    match value {
        Some(x) => obj.insert(field.to_owned(), x),
        None => obj.remove(field),
    };
    let rec: Record = serde_json::from_value(v).map_err(|_| "serde".to_owned())?;
    validate_record(&rec, refs).map_err(|r| r.field.unwrap_or_default())
}

/// The doc's records of each kind, as the rules make them from its create ops.
fn bases(refs: &RefIndex) -> BTreeMap<&'static str, Value> {
    let mut out = BTreeMap::new();
    for (role, op, line) in doc_ops(&parsed_examples()) {
        let OpAction::Create(new) = &op.action else { continue };
        let scope = match role {
            Role::GridWorker => fixtures::GRID,
            Role::Officer => fixtures::DISTRICT,
            Role::Admin => fixtures::CITY,
        };
        let device = device_of(role).to_string();
        let actor = Actor { user_id: "u1", device_id: &device, role, scope: Some(scope), home: scope };
        let stored = apply_op(None, &op, &op.hlc, &actor, refs, chrono::Utc::now())
            .unwrap_or_else(|e| panic!("line {line}: the create is refused: {e:?}"));
        out.entry(new.body.kind().as_str()).or_insert_with(|| serde_json::to_value(&stored.record).expect("json"));
    }
    out
}

/// The fields of a struct as its `Deserialize` knows them (serde's derive hands them to
/// `deserialize_struct`): a field added to a wire type is a field the doc must list.
fn fields_of<T: serde::de::DeserializeOwned>() -> BTreeSet<String> {
    use serde::de::Visitor;
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names taken")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }
    struct FieldNames<'a>(&'a mut Vec<&'static str>);
    impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.extend_from_slice(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut names = Vec::new();
    assert!(T::deserialize(FieldNames(&mut names)).is_err());
    assert!(!names.is_empty(), "{} is no struct", std::any::type_name::<T>());
    names.into_iter().map(str::to_owned).collect()
}

#[test]
fn the_field_tables_are_the_types_fields_with_their_limits() {
    let doc = doc();
    let refs = fixtures::refs();
    let bases = bases(&refs);
    /// (table, base record, path to the object, the fields the code has, the prefix of the rejected field)
    type FieldTable<'a> = (&'a str, &'a str, &'a [&'a str], BTreeSet<String>, &'a str);
    let tables: [FieldTable; 7] = [
        ("location", "report", &["location"], fields_of::<Location>(), "location."),
        ("report", "report", &["body", "report"], fields_of::<Report>(), ""),
        ("notice", "notice", &["body", "notice"], fields_of::<Notice>(), ""),
        ("party", "notice", &["body", "notice", "party"], fields_of::<Party>(), "party."),
        ("service_log", "service_log", &["body", "service_log"], fields_of::<ServiceLog>(), ""),
        ("case", "case", &["body", "case"], fields_of::<cases::Case>(), ""),
        ("photo", "report", &["body", "report", "photos", "0"], fields_of::<PhotoRef>(), "photos"),
    ];
    for (marker, kind, path, code_fields, prefix) in tables {
        let base = &bases[kind];
        let rows = table(&doc, &format!("fields: {marker}"));
        let documented: BTreeSet<String> = rows.iter().flat_map(|r| names(&r[0])).collect();
        assert_eq!(documented, code_fields, "the fields of the `{marker}` table");
        for row in &rows {
            let (ty, required) = (&row[1], row[2] == "yes");
            assert!(row[2] == "yes" || row[2] == "no", "{marker}: required is `yes` or `no`");
            for name in names(&row[0]) {
                let ctx = format!("docs/protocol.md `{marker}` table, `{name}` ({ty})");
                let rejected_as = if prefix == "photos" { "photos".to_owned() } else { format!("{prefix}{name}") };
                let check = |value: Value, ok: bool| {
                    let v = verdict(base, path, &name, Some(value.clone()), &refs);
                    if ok {
                        assert_eq!(v, Ok(()), "{ctx}: {value} should be accepted");
                    } else {
                        let e = v.expect_err(&format!("{ctx}: {value} should be refused"));
                        assert!(e == "serde" || e == rejected_as, "{ctx}: {value} refused on `{e}`");
                    }
                };
                // Required: without it, the record does not parse.
                let without = verdict(base, path, &name, None, &refs);
                assert_eq!(without.is_err(), required, "{ctx}: required is `{}`, the code says {without:?}", row[2]);
                match probe_of(ty) {
                    Probe::Text(n) => {
                        check(json!("字".repeat(n)), true);
                        check(json!("字".repeat(n + 1)), false);
                    }
                    Probe::Range { int, min, max } => {
                        let d = if int { 1.0 } else { 0.001 };
                        for (x, ok) in [(min, true), (max, true), (min - d, false), (max + d, false)] {
                            check(if int { json!(x as i64) } else { json!(x) }, ok);
                        }
                    }
                    Probe::List { item, max } => {
                        check(items(&item, max), true);
                        check(items(&item, max + 1), false);
                        if let Item::Text(m) = item {
                            check(json!(["字".repeat(m)]), true);
                            check(json!(["字".repeat(m + 1)]), false);
                        }
                    }
                    Probe::Nothing => {}
                }
            }
        }
    }
}

#[test]
fn the_dated_and_formatted_rules_are_as_documented() {
    let refs = fixtures::refs();
    let bases = bases(&refs);
    let notice = &bases["notice"];
    let created =
        chrono::DateTime::parse_from_rfc3339(notice["created_at"].as_str().expect("created_at")).expect("time").date_naive();
    let day = |d: u64| json!(created.checked_add_days(chrono::Days::new(d)).expect("date"));
    let deadline = |v| verdict(notice, &["body", "notice"], "deadline", Some(v), &refs);
    assert_eq!(deadline(day(0)), Ok(()));
    assert_eq!(deadline(day(validate::MAX_DEADLINE_DAYS)), Ok(()));
    assert_eq!(deadline(day(validate::MAX_DEADLINE_DAYS + 1)), Err("deadline".into()));
    assert_eq!(deadline(json!(created.pred_opt().expect("date"))), Err("deadline".into()));
    let log = &bases["service_log"];
    let created =
        chrono::DateTime::parse_from_rfc3339(log["created_at"].as_str().expect("created_at")).expect("time").date_naive();
    let date = |d: u64| verdict(log, &["body", "service_log"], "date", Some(json!(created + chrono::Days::new(d))), &refs);
    assert_eq!(date(validate::MAX_LOG_DAYS_AHEAD), Ok(()));
    assert_eq!(date(validate::MAX_LOG_DAYS_AHEAD + 1), Err("date".into()));
    // The phones the doc shows pass; one digit short or over does not.
    let phone = |p: &str| verdict(notice, &["body", "notice", "party"], "phone", Some(json!(p)), &refs);
    for ok in ["13805361234", "0536-8231234", "8231234", "053682312345"] {
        assert_eq!(phone(ok), Ok(()), "{ok}");
    }
    for bad in ["823123", "0536823123456", "23805361234", "1380536123x"] {
        assert_eq!(phone(bad), Err("party.phone".into()), "{bad}");
    }
    assert_eq!(*validate::PHONE_DIGITS.start(), 7);
    // Notice numbers: the format of the doc, and nothing else.
    let number = |n: &str| verdict(notice, &["body", "notice"], "number", Some(json!(n)), &refs);
    assert_eq!(number("潍城城管告字〔2026〕第000101号"), Ok(()));
    for bad in ["潍城城管告字[2026]第000101号", "潍城城管告字〔2026〕第101号", "潍城城管告字〔2100〕第000101号", "NB-2026-0001"]
    {
        assert_eq!(number(bad), Err("number".into()), "{bad}");
    }
    // Photo types and duplicates.
    let report = &bases["report"];
    for mime in validate::PHOTO_MIME_TYPES {
        let mut p = photo(1);
        p["mime"] = json!(mime);
        assert_eq!(verdict(report, &["body", "report"], "photos", Some(json!([p])), &refs), Ok(()));
    }
    let mut gif = photo(1);
    gif["mime"] = json!("image/gif");
    assert_eq!(verdict(report, &["body", "report"], "photos", Some(json!([gif])), &refs), Err("photos".into()));
    assert_eq!(verdict(report, &["body", "report"], "photos", Some(json!([photo(1), photo(1)])), &refs), Err("photos".into()));
    // HLC: the node is 1 to 64 of A-Z a-z 0-9 _ -.
    let hlc = |node: &str| format!("01a21730bdc0-000000-{node}").parse::<Hlc>();
    assert!(hlc(&"a".repeat(64)).is_ok() && hlc("server").is_ok() && hlc("01937b2e-4c1a-7d3e-9f10-2a3b4c5d6e7f").is_ok());
    for bad in ["a".repeat(65), String::new(), "a.b".into(), "设备".into()] {
        assert!(hlc(&bad).is_err(), "{bad}");
    }
    assert!("1a21730bdc0-000000-n".parse::<Hlc>().is_err() && "01a21730bdc0-00000-n".parse::<Hlc>().is_err());
    assert_eq!(Hlc::new(1_795_685_400_000, 0, "n").to_string(), "01a21730bdc0-000000-n", "2026-11-26T09:30:00Z");
}

#[test]
fn the_limits_table_is_the_codes_constants() {
    use gridwork_core::protocol::*;
    let code: BTreeMap<&str, String> = [
        ("protocol::MAX_PUSH_OPS", MAX_PUSH_OPS.to_string()),
        ("protocol::MAX_BODY_BYTES", MAX_BODY_BYTES.to_string()),
        ("protocol::DEFAULT_PULL_LIMIT", DEFAULT_PULL_LIMIT.to_string()),
        ("protocol::MAX_PULL_LIMIT", MAX_PULL_LIMIT.to_string()),
        ("protocol::DEFAULT_MAX_PHOTO_BYTES", DEFAULT_MAX_PHOTO_BYTES.to_string()),
        ("validate::MAX_PHOTOS", validate::MAX_PHOTOS.to_string()),
        ("validate::PHOTO_MIME_TYPES", validate::PHOTO_MIME_TYPES.join(", ")),
        ("validate::MAX_PHOTO_SIDE_PX", validate::MAX_PHOTO_SIDE_PX.to_string()),
        ("validate::MAX_DESCRIPTION_CHARS", validate::MAX_DESCRIPTION_CHARS.to_string()),
        ("validate::MAX_TEXT_CHARS", validate::MAX_TEXT_CHARS.to_string()),
        ("validate::MAX_LIST_ITEMS", validate::MAX_LIST_ITEMS.to_string()),
        ("validate::MAX_ACCURACY_M", validate::MAX_ACCURACY_M.to_string()),
        ("validate::MAX_ADDRESS_CHARS", validate::MAX_ADDRESS_CHARS.to_string()),
        ("validate::MAX_PARTY_NAME_CHARS", validate::MAX_PARTY_NAME_CHARS.to_string()),
        ("validate::MAX_SHOP_NAME_CHARS", validate::MAX_SHOP_NAME_CHARS.to_string()),
        ("validate::MAX_LEGAL_BASIS_CHARS", validate::MAX_LEGAL_BASIS_CHARS.to_string()),
        ("validate::PHONE_DIGITS", format!("{} to {}", validate::PHONE_DIGITS.start(), validate::PHONE_DIGITS.end())),
        ("validate::MAX_DEADLINE_DAYS", validate::MAX_DEADLINE_DAYS.to_string()),
        ("validate::MAX_LOG_DAYS_AHEAD", validate::MAX_LOG_DAYS_AHEAD.to_string()),
        ("validate::MAX_PARTICIPANTS", validate::MAX_PARTICIPANTS.to_string()),
        ("cases::MAX_CASE_PHOTOS", cases::MAX_CASE_PHOTOS.to_string()),
        ("cases::MAX_EXTENSION_MINUTES", cases::MAX_EXTENSION_MINUTES.to_string()),
        ("hlc::MAX_FUTURE_MS", hlc::MAX_FUTURE_MS.to_string()),
        ("numbering::MAX_BLOCK", numbering::MAX_BLOCK.to_string()),
        ("numbering::BLOCK_SIZE", numbering::BLOCK_SIZE.to_string()),
        ("numbering::LOW_WATER", numbering::LOW_WATER.to_string()),
        ("numbering::MAX_NUMBER", numbering::MAX_NUMBER.to_string()),
    ]
    .into_iter()
    .collect();
    let doc: BTreeMap<String, String> =
        table(&doc(), "limits").into_iter().map(|r| (r[0].trim_matches('`').to_owned(), r[1].clone())).collect();
    for (name, value) in &code {
        assert_eq!(doc.get(*name), Some(value), "docs/protocol.md limits: `{name}`");
    }
    assert_eq!(doc.len(), code.len(), "the limits table lists constants this test does not know");
    // Every limit of validate.rs is in the table, new ones too.
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../core/src/validate.rs")).expect("validate.rs");
    for line in src.lines().filter_map(|l| l.strip_prefix("pub const ")) {
        let name = line.split(':').next().expect("name").trim();
        assert!(doc.contains_key(&format!("validate::{name}")), "validate::{name} is not in the limits table");
    }
}

#[test]
fn the_activities_statuses_and_updatable_fields_are_the_codes() {
    let doc = doc();
    let activities: Vec<(String, String)> =
        table(&doc, "activities").into_iter().map(|r| (r[0].trim_matches('`').to_owned(), r[1].clone())).collect();
    let code: Vec<(String, String)> = Activity::ALL.iter().map(|a| (a.as_str().to_owned(), a.label_zh().to_owned())).collect();
    assert_eq!(activities, code, "the activity table");

    let statuses: BTreeSet<(String, String, String)> =
        table(&doc, "statuses").into_iter().map(|r| (r[0].clone(), r[1].trim_matches('`').to_owned(), r[2].clone())).collect();
    let code: BTreeSet<(String, String, String)> = RecordKind::ALL
        .iter()
        .flat_map(|k| {
            Status::ALL
                .iter()
                .filter(|s| s.belongs_to(*k))
                .map(move |s| (k.as_str().to_owned(), s.as_str().to_owned(), s.label_zh().to_owned()))
        })
        .collect();
    assert_eq!(statuses, code, "the status table");

    let rows = table(&doc, "updatable");
    for kind in RecordKind::ALL {
        let row = rows.iter().find(|r| r[0] == kind.as_str()).unwrap_or_else(|| panic!("no row for {kind:?}"));
        let documented: BTreeSet<String> = names(&row[1]).into_iter().filter(|n| !n.contains(' ')).collect();
        if kind == RecordKind::Case {
            assert!(documented.is_empty());
            assert!(serde_json::from_value::<BodyPatch>(json!({ "case": {} })).is_err(), "a case takes no body patch");
            continue;
        }
        let mut want = match kind {
            RecordKind::Report => fields_of::<wire::ReportPatch>(),
            RecordKind::Notice => fields_of::<wire::NoticePatch>(),
            _ => fields_of::<wire::ServiceLogPatch>(),
        };
        if kind == RecordKind::Notice {
            want.remove("number");
        }
        assert_eq!(documented, want, "the updatable fields of a {kind:?}: its patch type's");
        // The merge clocks know them too.
        let merged = gridwork_core::model::mergeable_fields(kind);
        assert!(documented.iter().all(|f| merged.contains(&f.as_str())), "{kind:?}: a patch field without a clock");
        for field in &documented {
            let patch = json!({ kind.as_str(): { field.as_str(): null } });
            assert!(serde_json::from_value::<BodyPatch>(patch).is_ok(), "{kind:?}: `{field}` is not in the patch type");
        }
    }
    // A notice's number: in the patch type, but changed by nobody.
    let refs = fixtures::refs();
    let notice: Record = serde_json::from_value(bases(&refs)["notice"].clone()).expect("notice");
    let stored = gridwork_core::merge::StoredRecord { record: notice.clone(), clocks: Default::default() };
    let renumber: Op = serde_json::from_value(json!({
        "op_id": Uuid::now_v7(), "record_id": notice.id, "hlc": "01a2212b1000-000000-n",
        "action": { "update": { "body": { "notice": { "number": "奎文城管告字〔2026〕第000102号" } } } },
    }))
    .expect("op");
    for role in [Role::Officer, Role::Admin] {
        let actor = Actor { user_id: "u1", device_id: "d", role, scope: None, home: fixtures::DISTRICT };
        let e = apply_op(Some(&stored), &renumber, &renumber.hlc, &actor, &refs, chrono::Utc::now()).unwrap_err();
        assert_eq!((e.reason, e.field.as_deref()), (wire::RejectReason::WrongRole, Some("number")), "{role:?}");
    }
}

// ---------------------------------------------------------------------------------------
// What the doc says about the server's handling, through the router.

#[tokio::test]
async fn device_ids_are_uuids_and_bind_the_token() {
    let h = common::harness().await;
    let login = |body: Value| {
        let req =
            axum::http::Request::builder().method(Method::POST).uri(paths::LOGIN).header("content-type", "application/json");
        common::send(&h.app, req, Body::from(body.to_string()))
    };
    let device = Uuid::now_v7();
    let body = |id: Value, name: &str| json!({ "username": "grid.kw01", "password": common::PASSWORD, "device_id": id, "device_name": name });
    login(body(json!("phone-1"), "x")).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    login(body(json!(device), &"字".repeat(101))).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let r = login(body(json!(device), &"字".repeat(100))).await;
    assert_eq!(r.status, StatusCode::OK);
    let token = r.json::<wire::LoginResponse>().token;
    // The token with another device, or a device header that is no UUID: 401.
    for header in [Uuid::now_v7().to_string(), "phone-1".into(), device.simple().to_string()] {
        let req = axum::http::Request::builder()
            .method(Method::GET)
            .uri(paths::PULL)
            .header("authorization", format!("Bearer {token}"))
            .header(wire::DEVICE_HEADER, header.clone());
        let r = common::send(&h.app, req, Body::empty()).await;
        if header == device.simple().to_string() {
            // The same UUID without hyphens is the same device.
            assert_eq!(r.status, StatusCode::OK);
        } else {
            r.error(StatusCode::UNAUTHORIZED, "unauthorized");
        }
    }
}

#[tokio::test]
async fn a_pull_limit_above_the_cap_is_capped_silently() {
    let h = common::harness().await;
    let logins = sign_in_roles(&h).await;
    let me = &logins["grid_worker"];
    let parsed = parsed_examples();
    let (_, template, _) = doc_ops(&parsed)
        .into_iter()
        .find(|(_, op, _)| matches!(&op.action, OpAction::Create(n) if n.body.kind() == RecordKind::Report))
        .expect("a report create");
    let total = wire::MAX_PULL_LIMIT as usize + 1;
    let ops: Vec<Op> = (0..total).map(|_| Op { op_id: Uuid::now_v7(), record_id: Uuid::now_v7(), ..template.clone() }).collect();
    for chunk in ops.chunks(wire::MAX_PUSH_OPS) {
        let resp = push(&h, me, chunk).await;
        assert!(resp.results.iter().all(|r| r.outcome == Outcome::Accepted));
    }
    let r = pull(&h, me, &format!("since=0&limit={}", wire::MAX_PULL_LIMIT * 5)).await;
    assert_eq!(r.status, StatusCode::OK, "no error for a large limit");
    let page: PullResponse = r.json();
    assert_eq!(page.records.len(), wire::MAX_PULL_LIMIT as usize);
    assert!(page.has_more);
    let page: PullResponse = pull(&h, me, "since=0").await.json();
    assert_eq!(page.records.len(), wire::DEFAULT_PULL_LIMIT as usize, "the default page");
    pull(&h, me, "since=0&limit=0").await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
}

// ---------------------------------------------------------------------------------------
// The OpenAPI document says the same.

use gridwork_server::http::openapi;

#[test]
fn the_openapi_examples_are_the_docs_and_parse_as_the_wire_types() {
    let schemas = openapi::schemas();
    let from_doc = openapi::doc_examples();
    let doc_types: BTreeSet<String> = examples(&doc()).into_iter().map(|e| e.ty).collect();
    assert_eq!(from_doc.keys().cloned().collect::<BTreeSet<_>>(), doc_types, "the document reads every example of the doc");
    for ty in &doc_types {
        let schema = schemas.get(ty).unwrap_or_else(|| panic!("no OpenAPI schema `{ty}` for the doc's examples"));
        assert_eq!(schema["examples"], from_doc[ty], "`{ty}` carries the doc's examples");
    }
    let mut n = 0;
    for (name, schema) in &schemas {
        for (i, ex) in schema.get("examples").and_then(Value::as_array).into_iter().flatten().enumerate() {
            if name.starts_with("Open311") || name == "ClientInfo" || name == "NewClient" || name == "CreatedClient" {
                continue; // not wire types of the core (utoipa's, from their Rust types)
            }
            parse(name, &format!("openapi schema {name}, example {i}"), ex);
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} examples");
}

#[test]
fn the_openapi_schemas_have_the_docs_fields_limits_and_enums() {
    let schemas = openapi::schemas();
    let doc = doc();
    for (marker, component) in [
        ("location", "Location"),
        ("report", "Report"),
        ("notice", "Notice"),
        ("party", "Party"),
        ("service_log", "ServiceLog"),
        ("case", "Case"),
        ("photo", "PhotoRef"),
    ] {
        let schema = &schemas[component];
        let props = schema["properties"].as_object().unwrap_or_else(|| panic!("{component}: properties"));
        let required: BTreeSet<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let rows = table(&doc, &format!("fields: {marker}"));
        let documented: BTreeSet<String> = rows.iter().flat_map(|r| names(&r[0])).collect();
        assert_eq!(props.keys().cloned().collect::<BTreeSet<_>>(), documented, "{component}: the fields");
        assert_eq!(schema["additionalProperties"], json!(false), "{component}: unknown fields are refused");
        for row in &rows {
            for name in names(&row[0]) {
                let p = &props[&name];
                let ctx = format!("{component}.{name}");
                assert_eq!(required.contains(name.as_str()), row[2] == "yes", "{ctx}: required");
                match probe_of(&row[1]) {
                    Probe::Text(n) => assert_eq!(p["maxLength"], json!(n), "{ctx}"),
                    Probe::Range { min, max, .. } => {
                        assert_eq!(p["minimum"].as_f64(), Some(min), "{ctx}");
                        assert_eq!(p["maximum"].as_f64(), Some(max), "{ctx}");
                    }
                    Probe::List { item, max } => {
                        assert_eq!(p["maxItems"], json!(max), "{ctx}");
                        if let Item::Text(m) = item {
                            assert_eq!(p["items"]["maxLength"], json!(m), "{ctx}");
                        }
                    }
                    Probe::Nothing => {}
                }
            }
        }
    }
    let enum_of = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: enum"))
            .iter()
            .map(|v| v.as_str().expect("str").to_owned())
            .collect()
    };
    assert_eq!(enum_of("Activity"), Activity::ALL.iter().map(|a| a.as_str().to_owned()).collect::<Vec<_>>());
    for a in Activity::ALL {
        assert!(schemas["Activity"]["description"].as_str().is_some_and(|d| d.contains(a.label_zh())), "{a:?}'s label");
    }
    // Every rejection reason: the match has no wildcard, so a new one must be added here
    // (and to the document).
    let reasons = enum_of("RejectReason");
    for r in &reasons {
        use wire::RejectReason::*;
        match wire::RejectReason::parse(r).unwrap_or_else(|| panic!("unknown reason {r}")) {
            Invalid | OutOfScope | NotFound | AlreadyExists | KindMismatch | InvalidTransition | OpIdConflict | WrongRole
            | NotAssignee | StaleStep | NumberNotIssued | NumberUsed | BadSignature => {}
        }
    }
    assert_eq!(reasons.len(), 13, "every RejectReason is in the OpenAPI enum");
    let limit = openapi::build()["paths"][paths::PULL]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "limit").cloned())
        .expect("the limit parameter");
    assert_eq!(limit["schema"]["default"], json!(wire::DEFAULT_PULL_LIMIT));
    assert!(limit["description"].as_str().is_some_and(|d| d.contains(&format!("capped to {}", wire::MAX_PULL_LIMIT))));
}

#[test]
fn the_doc_names_every_reason_step_header_and_path() {
    let doc = doc();
    use wire::RejectReason::*;
    for r in [
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
    ] {
        assert!(doc.contains(&format!("`{}`", r.as_str())), "the rejection reason `{}` is not in the doc", r.as_str());
    }
    for e in cases::CaseEventKind::ALL {
        assert!(doc.contains(&format!("\"{}\"", e.as_str())), "the case step `{}` is not in the doc", e.as_str());
    }
    for h in [wire::DEVICE_HEADER, "Upload-Offset"] {
        assert!(doc.contains(&format!("`{h}`")), "the header {h}");
    }
    assert!(wire::UPLOAD_OFFSET_HEADER.eq_ignore_ascii_case("Upload-Offset"));
    for p in [
        paths::LOGIN,
        paths::LOGOUT,
        paths::REVOKE,
        paths::PUSH,
        paths::PULL,
        paths::REFERENCE,
        paths::FIGURES,
        paths::UPLOADS,
        paths::UPLOAD_PREFIX,
        paths::PHOTO_PREFIX,
        paths::NUMBER_BLOCKS,
        paths::NUMBER_RETURN,
        paths::NUMBER_ACCOUNTS,
    ] {
        assert!(doc.contains(p), "the path {p}");
    }
}

// ---------------------------------------------------------------------------------------
// The OpenAPI document has every route of the device API and of Open311, and nothing else:
// the routes are read from the routers' own source (`.route(path, methods)` in
// src/http/api/*.rs and src/http/open311/*.rs, their paths worked out from the constants,
// `let`s and `format!`s they are made of), and every path of the document is probed on the
// real router.

/// A Rust source file, its line comments dropped.
fn rust_source(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Byte offsets of `s` outside string literals, with the bracket depth there.
fn depths(s: &str) -> Vec<(usize, char, i32)> {
    let (mut out, mut depth, mut in_str, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => {
                out.push((i, c, depth));
                depth += 1;
            }
            ')' | ']' | '}' => {
                depth -= 1;
                out.push((i, c, depth));
            }
            _ => out.push((i, c, depth)),
        }
    }
    out
}

/// What is inside the brackets that open at byte `open`.
fn inside(s: &str, open: usize) -> &str {
    let d = depths(&s[open..]);
    let close = d.iter().skip(1).find(|(_, c, depth)| matches!(c, ')' | ']' | '}') && *depth == 0).expect("balanced").0;
    &s[open + 1..open + close]
}

/// `s` split at its top-level commas.
fn top_level_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c, depth) in depths(s) {
        if c == ',' && depth == 0 {
            out.push(s[start..i].trim());
            start = i + 1;
        }
    }
    out.push(s[start..].trim());
    out.retain(|a| !a.is_empty());
    out
}

/// The `const NAME: &str = "…";` and `let name = …;` of a source file.
#[derive(Default)]
struct Bindings {
    consts: BTreeMap<String, String>,
    lets: BTreeMap<String, String>,
}

impl Bindings {
    fn of(src: &str) -> Bindings {
        let mut b = Bindings::default();
        for line in src.lines().map(str::trim) {
            let line = line.strip_prefix("pub ").unwrap_or(line);
            if let Some(rest) = line.strip_prefix("const ")
                && let Some((name, value)) = rest.split_once(": &str = ")
            {
                b.consts.insert(name.trim().to_owned(), value.trim_end_matches(';').to_owned());
            } else if let Some(rest) = line.strip_prefix("let ")
                && let Some((name, value)) = rest.split_once(" = ")
                && value.ends_with(';')
            {
                // The first: a router is made before the handlers below it.
                b.lets.entry(name.trim().to_owned()).or_insert_with(|| value.trim_end_matches(';').to_owned());
            }
        }
        b
    }
}

/// The string a route's path expression makes: literals, `route_of(…)` (the path relative
/// to `/v1`, as `http/api/mod.rs` has it), `format!` with `{}` and `{name}`, `paths::X`
/// (core/src/protocol.rs) and the file's own constants and `let`s.
fn eval_path(expr: &str, file: &Bindings, protocol: &Bindings, what: &str) -> String {
    let e = expr.trim().trim_start_matches('&').trim();
    let call = |name: &str| e.strip_prefix(name).filter(|r| r.starts_with('(') && r.ends_with(')')).map(|r| &r[1..r.len() - 1]);
    if let Some(lit) = e.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        assert!(!lit.contains('\\'), "{what}: an escape in {e}");
        return lit.to_owned();
    }
    if let Some(inner) = call("route_of") {
        let p = eval_path(inner, file, protocol, what);
        return p.strip_prefix(paths::PREFIX).unwrap_or(&p).to_owned();
    }
    if let Some(inner) = call("format!") {
        let args = top_level_args(inner);
        let template = args[0].strip_prefix('"').and_then(|r| r.strip_suffix('"')).expect("a format string");
        let mut rest = args[1..].iter();
        let (mut out, mut chars) = (String::new(), template.chars().peekable());
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    let arg = if name.is_empty() { rest.next().expect("a format argument").to_string() } else { name };
                    out.push_str(&eval_path(&arg, file, protocol, what));
                }
                c => out.push(c),
            }
        }
        return out;
    }
    if let Some(name) = e.strip_prefix("paths::") {
        let v = protocol.consts.get(name).unwrap_or_else(|| panic!("{what}: no paths::{name} in core/src/protocol.rs"));
        return eval_path(v, file, protocol, what);
    }
    if let Some(v) = file.consts.get(e).or_else(|| file.lets.get(e)) {
        return eval_path(v, file, protocol, what);
    }
    panic!("{what}: cannot work out the path `{e}`: teach eval_path (tests/protocol_doc.rs) this form");
}

/// The methods of a method router chain (`post(issue).get(open)`, `patch(f).layer(…)`).
fn methods_of(chain: &str) -> Vec<Method> {
    let mut out = Vec::new();
    let mut word = String::new();
    for (_, c, depth) in depths(chain) {
        if depth != 0 {
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if c == '(' {
            match word.as_str() {
                "get" => out.push(Method::GET),
                "post" => out.push(Method::POST),
                "put" => out.push(Method::PUT),
                "patch" => out.push(Method::PATCH),
                "delete" => out.push(Method::DELETE),
                "head" => out.push(Method::HEAD),
                "options" => out.push(Method::OPTIONS),
                "trace" => out.push(Method::TRACE),
                "connect" => out.push(Method::CONNECT),
                "any" | "on" | "method_router" => panic!("`{word}(…)` in `{chain}`: list its methods here"),
                _ => {}
            }
        }
        word.clear();
    }
    assert!(!out.is_empty(), "no method in `{chain}`");
    out
}

/// One route a router serves.
#[derive(Debug)]
struct Route {
    method: Method,
    /// The whole path, its prefix included (`/open311/v2/{file}`).
    path: String,
    /// For a capture of the form `name.ext` (Open311's `{file}`): the names the handler
    /// serves, if it compares the name with fixed ones (`"discovery" =>`); else any name.
    names: Vec<String>,
    origin: String,
}

/// The fixed names a handler compares its `{file}` name with: `"x" =>`, `name != "x"`.
fn handler_names(src: &str, handler: &str) -> Vec<String> {
    let start = src.find(&format!("fn {handler}(")).unwrap_or_else(|| panic!("no fn {handler}"));
    let body = &src[start..];
    let body = &body[..body.find("\n}").expect("the handler's end")];
    let mut out = Vec::new();
    for (i, _) in body.match_indices('"') {
        let rest = &body[i + 1..];
        let Some(end) = rest.find('"') else { continue };
        let lit = &rest[..end];
        let ok = !lit.is_empty() && lit.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        let before = body[..i].trim_end();
        if ok && (rest[end + 1..].trim_start().starts_with("=>") || before.ends_with("name !=") || before.ends_with("name ==")) {
            out.push(lit.to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every route of the device API and of Open311, from the routers' source.
fn served_routes() -> Vec<Route> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let protocol = Bindings::of(&rust_source(&root.join("../core/src/protocol.rs")));
    // Where each router file is nested, as src/http/mod.rs and http/api/mod.rs say.
    let http = rust_source(&root.join("src/http/mod.rs"));
    let api = rust_source(&root.join("src/http/api/mod.rs"));
    assert!(http.contains(".nest(gridwork_core::protocol::paths::PREFIX, api::router("), "the device API under /v1");
    assert!(http.contains(".nest(open311::PREFIX, open311::router())"), "Open311 under its prefix");
    assert!(api.contains(".merge(crate::http::open311::clients::admin_router())"), "the Open311 clients under /v1");
    let mut out = Vec::new();
    for dir in ["src/http/api", "src/http/open311"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir)).expect(dir).map(|e| e.expect("entry").path()).collect();
        files.sort();
        for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
            let src = rust_source(&file);
            let name = format!("{dir}/{}", file.file_name().expect("name").to_string_lossy());
            let calls: Vec<usize> = src.match_indices(".route(").map(|(i, _)| i + ".route".len()).collect();
            for other in [".route_service(", ".nest(", ".nest_service(", ".fallback_service("] {
                assert!(!src.contains(other), "{name}: `{other}…)` is not read by this test: teach served_routes");
            }
            if calls.is_empty() {
                continue;
            }
            let prefix = match name.as_str() {
                n if n.starts_with("src/http/api/") => paths::PREFIX,
                "src/http/open311/clients.rs" => paths::PREFIX,
                "src/http/open311/mod.rs" => gridwork_server::http::open311::PREFIX,
                n => panic!("{n} has routes: say in served_routes (tests/protocol_doc.rs) where it is nested"),
            };
            let bindings = Bindings::of(&src);
            for open in calls {
                let args = top_level_args(inside(&src, open));
                assert_eq!(args.len(), 2, "{name}: .route({})", args.join(", "));
                let what = format!("{name}: .route({}, …)", args[0]);
                let path = format!("{prefix}{}", eval_path(args[0], &bindings, &protocol, &what));
                for method in methods_of(args[1]) {
                    // The handler of this method, for the names a `{file}` route serves.
                    let handler = args[1]
                        .split(&format!("{}(", method.as_str().to_ascii_lowercase()))
                        .nth(1)
                        .and_then(|r| r.split(')').next())
                        .unwrap_or("")
                        .trim()
                        .to_owned();
                    let names = if path.ends_with("{file}")
                        && !handler.is_empty()
                        && handler.chars().all(|c| c.is_alphanumeric() || c == '_')
                    {
                        handler_names(&src, &handler)
                    } else {
                        Vec::new()
                    };
                    out.push(Route { method, path: path.clone(), names, origin: what.clone() });
                }
            }
        }
    }
    out
}

/// The formats a `{file}` capture ends in (`split` in http/open311/mod.rs: `"json" => …`).
fn open311_formats() -> Vec<String> {
    let src = rust_source(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/open311/mod.rs"));
    let names = handler_names(&src, "split");
    assert!(names.contains(&"json".to_owned()) && names.contains(&"xml".to_owned()), "{names:?}");
    names
}

fn is_capture(seg: &str) -> bool {
    seg.starts_with('{') && seg.ends_with('}')
}

/// Whether a documented path is one the route's pattern matches (a capture takes a whole
/// segment; a `{file}` capture with fixed names only `<name>.<format>`).
fn route_matches(route: &Route, documented: &str, formats: &[String]) -> bool {
    let (r, d): (Vec<&str>, Vec<&str>) = (route.path.split('/').collect(), documented.split('/').collect());
    r.len() == d.len()
        && r.iter().zip(&d).all(|(r, d)| {
            if !is_capture(r) {
                return r == d;
            }
            if *r != "{file}" {
                return !d.is_empty();
            }
            let Some((name, ext)) = d.rsplit_once('.') else { return false };
            formats.iter().any(|f| f == ext)
                && (if route.names.is_empty() { !name.is_empty() } else { route.names.iter().any(|n| n == name) })
        })
}

/// The document's operations: (path, method).
fn documented_operations() -> Vec<(String, Method)> {
    let doc = openapi::build();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("a method");
            out.push((path.clone(), m));
        }
    }
    out
}

#[test]
fn every_route_the_routers_serve_is_in_the_openapi_document() {
    let routes = served_routes();
    assert!(routes.len() >= 25, "only {} routes read from the routers: {routes:#?}", routes.len());
    let formats = open311_formats();
    let documented = documented_operations();
    let mut missing = Vec::new();
    for route in &routes {
        let served = |path: &str| documented.iter().any(|(p, m)| *m == route.method && p == path);
        if route.path.ends_with("{file}") && !route.names.is_empty() {
            // Each name in each format: `discovery.json`, `discovery.xml`, …
            let base = route.path.trim_end_matches("{file}");
            for name in &route.names {
                for f in &formats {
                    let path = format!("{base}{name}.{f}");
                    if !served(&path) {
                        missing.push(format!("{} {path} ({})", route.method, route.origin));
                    }
                }
            }
        } else if route.path.ends_with("{file}") {
            // An id in each format: `requests/{service_request_id}.json`, `.xml`.
            for f in &formats {
                let ok = documented
                    .iter()
                    .any(|(p, m)| *m == route.method && route_matches(route, p, &formats) && p.ends_with(&format!("}}.{f}")));
                if !ok {
                    missing.push(format!("{} {} as .{f} ({})", route.method, route.path, route.origin));
                }
            }
        } else if !documented.iter().any(|(p, m)| *m == route.method && route_matches(route, p, &formats)) {
            missing.push(format!("{} {} ({})", route.method, route.path, route.origin));
        }
    }
    assert!(missing.is_empty(), "served but not in the OpenAPI document:\n{}", missing.join("\n"));
    // And the document has nothing under these prefixes that no route serves.
    let surfaces = [paths::PREFIX, gridwork_server::http::open311::PREFIX];
    let unserved: Vec<String> = documented
        .iter()
        .filter(|(p, _)| surfaces.iter().any(|s| p.starts_with(&format!("{s}/"))))
        .filter(|(p, m)| !routes.iter().any(|r| r.method == *m && route_matches(r, p, &formats)))
        .map(|(p, m)| format!("{m} {p}"))
        .collect();
    assert!(unserved.is_empty(), "in the OpenAPI document but no route serves it:\n{}", unserved.join("\n"));
    assert!(routes.iter().all(|r| r.method != Method::PUT), "the probe below relies on no route taking PUT");
}

#[tokio::test]
async fn every_path_of_the_openapi_document_is_served_by_the_real_router() {
    let h = common::harness().await;
    let admin = common::login(&h, "admin").await;
    // Real values for the path parameters that name something: a service, a filed request.
    let r = common::send(&h.app, axum::http::Request::builder().uri("/open311/v2/services.json"), Body::empty()).await;
    assert_eq!(r.status, StatusCode::OK);
    let services: Value = r.json();
    let code = services[0]["service_code"].as_str().expect("a service").to_owned();
    let body = json!({"name": "探测", "grid": fixtures::GRID, "lat": 36.7069, "lon": 119.1617});
    let req = common::authed(Method::POST, "/v1/open311/clients", &admin).header("content-type", "application/json");
    let r = common::send(&h.app, req, Body::from(body.to_string())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let created: Value = r.json();
    let (key, client) = (created["api_key"].as_str().expect("key").to_owned(), created["client"]["id"].clone());
    let form = format!("api_key={key}&service_code={code}&lat=36.7069&long=119.1617&description=probe");
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/open311/v2/requests.json")
        .header("content-type", "application/x-www-form-urlencoded");
    let r = common::send(&h.app, req, Body::from(form)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let filed: Value = r.json();
    let id = filed[0]["service_request_id"].as_str().expect("id").to_owned();
    let token = filed[0]["token"].as_str().expect("token").to_owned();
    let value_of = |param: &str| -> String {
        match param {
            "sha256" => "0".repeat(64),
            "id" => client.as_str().expect("client id").to_owned(),
            "service_code" => code.clone(),
            "service_request_id" => id.clone(),
            "token" => token.clone(),
            other => panic!("no probe value for the path parameter `{other}`: add one here"),
        }
    };
    let concrete = |path: &str| -> String {
        let mut out = String::new();
        let mut rest = path;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').expect("a closing brace") + open;
            out.push_str(&rest[..open]);
            out.push_str(&value_of(&rest[open + 1..close]));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    };
    // Without credentials: a route answers 401 or 403 (or 400, 415, 422 on an empty body)
    // before it looks for anything; only a path no route has is 404, a method it lacks 405.
    let probe = |method: Method, uri: String| {
        let app = h.app.clone();
        async move {
            let r = common::send(&app, axum::http::Request::builder().method(method.clone()).uri(&uri), Body::empty()).await;
            (r.status, String::from_utf8_lossy(&r.body).into_owned())
        }
    };
    let documented = documented_operations();
    assert!(documented.len() >= 30, "{} operations", documented.len());
    let mut wrong = Vec::new();
    for (path, method) in &documented {
        let uri = concrete(path);
        let (status, body) = probe(method.clone(), uri.clone()).await;
        if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
            wrong.push(format!("{method} {path} ({uri}): {status} {body}"));
        }
        // The path is routed, whatever the method: one it never takes is 405, not 404.
        let (status, body) = probe(Method::PUT, uri.clone()).await;
        if status != StatusCode::METHOD_NOT_ALLOWED {
            wrong.push(format!("PUT {path} ({uri}): {status}, not 405: {body}"));
        }
    }
    assert!(wrong.is_empty(), "documented but not served:\n{}", wrong.join("\n"));
    // The probe can tell: a path no route has is 404, a method a route lacks 405.
    for (method, uri, want) in [
        (Method::GET, "/v1/numbers/nothing-here", StatusCode::NOT_FOUND),
        (Method::GET, "/open311/v2/services/a/b.json", StatusCode::NOT_FOUND),
        (Method::GET, "/open311/v2/nothing.json", StatusCode::NOT_FOUND),
        (Method::DELETE, paths::NUMBER_ACCOUNTS, StatusCode::METHOD_NOT_ALLOWED),
        (Method::POST, "/open311/v2/discovery.json", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        assert_eq!(probe(method.clone(), uri.to_owned()).await.0, want, "{method} {uri}");
    }
}

#[tokio::test]
async fn the_number_accounts_answer_is_what_the_openapi_document_says() {
    let h = common::harness().await;
    let logins = sign_in_roles(&h).await;
    common::take_block(&h, &logins["officer"], 10).await;
    let r = common::send(&h.app, common::authed(Method::GET, paths::NUMBER_ACCOUNTS, &logins["admin"]), Body::empty()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let doc = openapi::build();
    let op = &doc["paths"][paths::NUMBER_ACCOUNTS]["get"];
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
        "#/components/schemas/NumberAccount"
    );
    let schemas = openapi::schemas();
    let keys_of = |schema: &Value, key: &str| -> BTreeSet<String> {
        schema[key].as_array().map_or_else(
            || schema[key].as_object().expect("properties").keys().cloned().collect(),
            |a| a.iter().map(|v| v.as_str().expect("a name").to_owned()).collect(),
        )
    };
    let answer: Vec<Value> = r.json();
    assert_eq!(answer.len(), 1, "{answer:?}");
    for (schema, value) in [("NumberAccount", &answer[0]), ("NumberBlock", &answer[0]["block"])] {
        let have: BTreeSet<String> = value.as_object().expect("an object").keys().cloned().collect();
        assert_eq!(keys_of(&schemas[schema], "properties"), have, "{schema}: the fields");
        assert_eq!(keys_of(&schemas[schema], "required"), have, "{schema}: all required");
        for (field, v) in value.as_object().expect("object") {
            let p = &schemas[schema]["properties"][field];
            let ty = p["type"].as_str();
            let ok = match v {
                Value::Number(n) => (ty == Some("integer") && (n.is_u64() || p["minimum"].is_null())) || ty == Some("number"),
                Value::String(_) => ty == Some("string") || p["$ref"] == "#/components/schemas/DateTime",
                Value::Object(_) => p["$ref"] == "#/components/schemas/NumberBlock",
                _ => false,
            };
            assert!(ok, "{schema}.{field}: {v} against {p}");
        }
    }
    // Grid workers and officers are refused, as the document's `(admin)` says.
    let r = common::send(&h.app, common::authed(Method::GET, paths::NUMBER_ACCOUNTS, &logins["officer"]), Body::empty()).await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    assert!(op["summary"].as_str().is_some_and(|s| s.contains("(admin)")));
}
