//! Handler tests: the whole router, driven with `tower::ServiceExt::oneshot`.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use flate2::Compression;
use flate2::write::GzEncoder;
use gridwork_core::cases::{Assignee, Case, CaseSource, CaseStep, StepAction};
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{RecordBody, Role, Status};
use gridwork_core::protocol::DEVICE_HEADER;
use gridwork_core::protocol::{
    MAX_BODY_BYTES, MAX_PUSH_OPS, NewRecord, Op, OpAction, Outcome, PullResponse, PushRequest, PushResponse, RecordPatch,
    RejectReason, RevokeResponse, paths,
};
use gridwork_core::reference::ReferenceData;
use gridwork_server::service::accounts::NewUser;
use serde_json::{Value, json};
use std::io::Write;
use uuid::Uuid;

mod common;
use common::{Harness, Login, PASSWORD, Resp, USERS, harness, login};

const PHONE: &str = "13805361234";

struct Req {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Body,
}

fn req(method: Method, path: &str) -> Req {
    Req { method, path: path.into(), headers: vec![], body: Body::empty() }
}

impl Req {
    fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    fn auth(self, l: &Login) -> Self {
        self.header("authorization", &format!("Bearer {}", l.token)).header(DEVICE_HEADER, &l.device.to_string())
    }
    fn json(mut self, v: &impl serde::Serialize) -> Self {
        self.body = Body::from(serde_json::to_vec(v).expect("json"));
        self.header("content-type", "application/json")
    }
    fn raw(mut self, bytes: Vec<u8>) -> Self {
        self.body = Body::from(bytes);
        self
    }
    async fn send(self, app: &Router) -> Resp {
        let mut b = Request::builder().method(self.method).uri(self.path);
        for (k, v) in self.headers {
            b = b.header(k, v);
        }
        common::send(app, b, self.body).await
    }
}

fn push_body(ops: Vec<Op>) -> PushRequest {
    PushRequest { ops, sigs: vec![] }
}

fn create(n: usize) -> Op {
    let mut rec = fixtures::records().remove(0);
    rec.id = Uuid::now_v7();
    let _ = n;
    fixtures::create_op(rec, Hlc::new(1_700_000_000_000, 0, "dev1"))
}

async fn push(h: &Harness, who: &Login, ops: Vec<Op>) -> PushResponse {
    let r = req(Method::POST, paths::PUSH).auth(who).json(&push_body(ops)).send(&h.app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn pull(h: &Harness, who: &Login, query: &str) -> PullResponse {
    let r = req(Method::GET, &format!("{}?{query}", paths::PULL)).auth(who).send(&h.app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

#[tokio::test]
async fn healthz_and_unknown_routes() {
    let h = harness().await;
    let r = req(Method::GET, "/healthz").send(&h.app).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json::<Value>(), json!({"status": "ok"}));
    req(Method::GET, "/v1/nothing-here").send(&h.app).await.error(StatusCode::NOT_FOUND, "not_found");
    req(Method::GET, paths::PUSH).send(&h.app).await.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    req(Method::DELETE, paths::LOGIN).send(&h.app).await.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn login_ok_and_bad_credentials_look_the_same() {
    let h = harness().await;
    let l = login(&h, "grid.kw01").await;
    assert_eq!(l.token.len(), 64);
    let device = Uuid::now_v7();
    let wrong = req(Method::POST, paths::LOGIN)
        .json(&json!({"username": "grid.kw01", "password": "nope", "device_id": device}))
        .send(&h.app)
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let unknown = req(Method::POST, paths::LOGIN)
        .json(&json!({"username": "ghost", "password": "nope", "device_id": device}))
        .send(&h.app)
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong, unknown);
    // The token is stored hashed only.
    assert!(h.state.stores().accounts.find_live_session(&l.token).await.expect("find").is_none());
}

#[tokio::test]
async fn wrong_passwords_in_a_row_back_off_whether_or_not_the_account_exists() {
    let h = harness().await;
    let attempt = |username: &'static str, password: &'static str| {
        let app = h.app.clone();
        async move {
            req(Method::POST, paths::LOGIN)
                .json(&json!({"username": username, "password": password, "device_id": Uuid::now_v7()}))
                .send(&app)
                .await
        }
    };
    for username in ["grid.kw01", "ghost"] {
        for _ in 0..5 {
            attempt(username, "nope").await.error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        // The sixth attempt waits, even with the right password, and the wait is said.
        let r = attempt(username, PASSWORD).await;
        assert_eq!(r.header("retry-after"), "30", "{username}");
        r.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    }
    // Another account is not affected.
    login(&h, "grid.wc01").await;
    // After the wait the right password works, and the count starts again.
    h.state.clock().wall().shift(chrono::Duration::seconds(31));
    login(&h, "grid.kw01").await;
    for _ in 0..5 {
        attempt("grid.kw01", "nope").await.error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    attempt("grid.kw01", PASSWORD).await.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    // A wrong one after the wait doubles it (the shift replaces the one before).
    h.state.clock().wall().shift(chrono::Duration::seconds(62));
    attempt("grid.kw01", "nope").await.error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let r = attempt("grid.kw01", PASSWORD).await;
    assert_eq!(r.header("retry-after"), "60");
    // Thirty wrong ones in a row never let a guess through: all refused before checking.
    for _ in 0..30 {
        assert_ne!(attempt("grid.kw01", PASSWORD).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_new_sign_in_on_a_device_ends_its_earlier_token() {
    let h = harness().await;
    let device = Uuid::now_v7();
    let sign_in = |username: &'static str| {
        let app = h.app.clone();
        async move {
            let r = req(Method::POST, paths::LOGIN)
                .json(&json!({"username": username, "password": PASSWORD, "device_id": device}))
                .send(&app)
                .await;
            assert_eq!(r.status, StatusCode::OK);
            Login { token: r.json::<gridwork_core::protocol::LoginResponse>().token, device }
        }
    };
    let first = sign_in("grid.kw01").await;
    let elsewhere = login(&h, "grid.kw01").await;
    let second = sign_in("grid.kw01").await;
    req(Method::GET, paths::REFERENCE).auth(&first).send(&h.app).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(req(Method::GET, paths::REFERENCE).auth(&second).send(&h.app).await.status, StatusCode::OK);
    assert_eq!(
        req(Method::GET, paths::REFERENCE).auth(&elsewhere).send(&h.app).await.status,
        StatusCode::OK,
        "other devices keep theirs"
    );
    // Another account on the same phone: the phone is theirs now.
    let third = sign_in("community.kw").await;
    req(Method::GET, paths::REFERENCE).auth(&second).send(&h.app).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(req(Method::GET, paths::REFERENCE).auth(&third).send(&h.app).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_grid_worker_issues_no_notices_and_changes_none() {
    let h = harness().await;
    let worker = login(&h, "grid.kw01").await;
    let officer = login(&h, "officer.kw").await;
    common::take_block(&h, &officer, 10).await;
    let notice = fixtures::records().remove(1);
    assert!(matches!(notice.body, RecordBody::Notice(_)));
    let issue = fixtures::create_op(notice.clone(), Hlc::new(1_700_000_000_000, 0, "dev1"));
    let r = push(&h, &worker, vec![issue.clone()]).await;
    assert_eq!(r.results[0].rejection.as_ref().map(|x| x.reason), Some(RejectReason::WrongRole));
    let issue = Op { op_id: Uuid::now_v7(), ..issue };
    assert_eq!(push(&h, &officer, vec![issue]).await.results[0].outcome, Outcome::Accepted);
    let rewrite = Op {
        op_id: Uuid::now_v7(),
        record_id: notice.id,
        hlc: Hlc::new(1_700_000_000_001, 0, "dev1"),
        action: OpAction::Update(RecordPatch {
            body: Some(gridwork_core::protocol::BodyPatch::Notice(gridwork_core::protocol::NoticePatch {
                facts: Some("改写的事实".into()),
                ..Default::default()
            })),
            ..Default::default()
        }),
    };
    let r = push(&h, &worker, vec![rewrite]).await;
    let rejection = r.results[0].rejection.as_ref().expect("refused");
    assert_eq!((rejection.reason, rejection.field.as_deref()), (RejectReason::WrongRole, Some("facts")));
    let page = pull(&h, &officer, "since=0").await;
    let RecordBody::Notice(n) = &page.records.iter().find(|r| r.id == notice.id).expect("notice").body else { panic!() };
    assert_ne!(n.facts, "改写的事实");
}

#[tokio::test]
async fn every_endpoint_requires_a_live_session_for_this_device() {
    let h = harness().await;
    let admin = login(&h, "admin").await;
    let endpoints: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, paths::LOGOUT.into(), None),
        (Method::POST, paths::REVOKE.into(), Some(json!({"username": "grid.kw01"}))),
        (Method::POST, paths::PUSH.into(), Some(json!({"ops": []}))),
        (Method::GET, format!("{}?since=0", paths::PULL), None),
        (Method::GET, paths::REFERENCE.into(), None),
        (Method::POST, paths::UPLOADS.into(), Some(json!({"sha256": "a".repeat(64), "size": 10}))),
        (Method::GET, format!("{}{}", paths::PHOTO_PREFIX, "a".repeat(64)), None),
        (Method::GET, format!("{}{}/thumb", paths::PHOTO_PREFIX, "a".repeat(64)), None),
        (Method::GET, format!("{}?from=2026-11-01&to=2026-12-01", paths::FIGURES), None),
    ];
    let garbage = Login { token: "0123456789abcdef".repeat(4), device: admin.device };
    let wrong_device = Login { token: admin.token.clone(), device: Uuid::now_v7() };
    for (method, path, body) in &endpoints {
        let build = || {
            let r = req(method.clone(), path);
            match body {
                Some(b) => r.json(b),
                None => r,
            }
        };
        build().send(&h.app).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
        build()
            .header("authorization", "Bearer not-a-token")
            .header(DEVICE_HEADER, &admin.device.to_string())
            .send(&h.app)
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthorized");
        build().auth(&garbage).send(&h.app).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
        build().auth(&wrong_device).send(&h.app).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
        build()
            .header("authorization", &format!("Bearer {}", admin.token))
            .send(&h.app)
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthorized");
    }

    // After logout the token is dead everywhere.
    let worker = login(&h, "grid.kw01").await;
    assert_eq!(pull(&h, &worker, "since=0").await.records.len(), 0);
    let r = req(Method::POST, paths::LOGOUT).auth(&worker).send(&h.app).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for (method, path, body) in &endpoints {
        let r = req(method.clone(), path);
        let r = match body {
            Some(b) => r.json(b),
            None => r,
        };
        r.auth(&worker).send(&h.app).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }

    // After an admin revoke too (all devices of the user).
    let a = login(&h, "officer.kw").await;
    let b = login(&h, "officer.kw").await;
    let r = req(Method::POST, paths::REVOKE).auth(&admin).json(&json!({"username": "officer.kw"})).send(&h.app).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json::<RevokeResponse>().revoked, 2);
    for l in [&a, &b] {
        req(Method::GET, paths::REFERENCE).auth(l).send(&h.app).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // The admin's own session is untouched.
    assert_eq!(req(Method::GET, paths::REFERENCE).auth(&admin).send(&h.app).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revoke_one_device_forbidden_and_unknown_user() {
    let h = harness().await;
    let admin = login(&h, "admin").await;
    let a = login(&h, "grid.kw01").await;
    let b = login(&h, "grid.kw01").await;
    let r = req(Method::POST, paths::REVOKE)
        .auth(&admin)
        .json(&json!({"username": "grid.kw01", "device_id": a.device}))
        .send(&h.app)
        .await;
    assert_eq!(r.json::<RevokeResponse>().revoked, 1);
    req(Method::GET, paths::REFERENCE).auth(&a).send(&h.app).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(req(Method::GET, paths::REFERENCE).auth(&b).send(&h.app).await.status, StatusCode::OK);

    req(Method::POST, paths::REVOKE)
        .auth(&b)
        .json(&json!({"username": "admin"}))
        .send(&h.app)
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    let officer = login(&h, "officer.kw").await;
    req(Method::POST, paths::REVOKE)
        .auth(&officer)
        .json(&json!({"username": "grid.kw01"}))
        .send(&h.app)
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    req(Method::POST, paths::REVOKE)
        .auth(&admin)
        .json(&json!({"username": "ghost"}))
        .send(&h.app)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn malformed_and_invalid_bodies() {
    let h = harness().await;
    let w = login(&h, "grid.kw01").await;
    let send = |bytes: &'static [u8]| {
        req(Method::POST, paths::PUSH).auth(&w).header("content-type", "application/json").raw(bytes.to_vec())
    };
    send(b"{\"ops\": [").send(&h.app).await.error(StatusCode::BAD_REQUEST, "malformed_json");
    send(b"not json at all").send(&h.app).await.error(StatusCode::BAD_REQUEST, "malformed_json");
    send(b"{\"ops\": [], \"extra\": 1}").send(&h.app).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    send(b"{\"ops\": 5}").send(&h.app).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");

    // Unknown record kind.
    let mut op = serde_json::to_value(create(0)).expect("json");
    let body = op["action"]["create"]["body"].as_object_mut().expect("body").remove("report").expect("report");
    op["action"]["create"]["body"] = json!({ "complaint": body });
    let e = req(Method::POST, paths::PUSH)
        .auth(&w)
        .json(&json!({"ops": [op]}))
        .send(&h.app)
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert!(e.error.message.contains("ops[0].action"), "{}", e.error.message);

    // Valid JSON of the wrong shape is a shape error with its path, never malformed_json:
    // a device isolates a refused op only on a 422, so a 400 here would block its queue.
    type Mangle = fn(&mut serde_json::Value);
    let shapes: [(&str, Mangle); 4] = [
        ("ops[0].action.create.body", |op| {
            let report = op["action"]["create"]["body"]["report"].clone();
            op["action"]["create"]["body"] = json!({ "report": report.clone(), "notice": report });
        }),
        ("ops[0].action.create.body", |op| op["action"]["create"]["body"] = json!({})),
        ("ops[0].action", |op| op["action"] = json!({})),
        ("ops[0].action", |op| {
            let create = op["action"]["create"].clone();
            op["action"] = json!({ "create": create, "update": {} });
        }),
    ];
    for (path, mangle) in shapes {
        let mut op = serde_json::to_value(create(1)).expect("json");
        mangle(&mut op);
        let e = req(Method::POST, paths::PUSH)
            .auth(&w)
            .json(&json!({"ops": [op]}))
            .send(&h.app)
            .await
            .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
        assert!(e.error.message.contains(path), "{path}: {}", e.error.message);
    }

    // Content type.
    req(Method::POST, paths::PUSH)
        .auth(&w)
        .raw(b"{\"ops\": []}".to_vec())
        .send(&h.app)
        .await
        .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    req(Method::POST, paths::PUSH)
        .auth(&w)
        .header("content-type", "text/plain")
        .raw(b"{\"ops\": []}".to_vec())
        .send(&h.app)
        .await
        .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    req(Method::POST, paths::LOGIN)
        .header("content-type", "application/xml")
        .raw(b"<x/>".to_vec())
        .send(&h.app)
        .await
        .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn personal_data_is_not_echoed_in_errors() {
    let h = harness().await;
    let officer = login(&h, "officer.kw").await;
    // A phone of the wrong JSON type: a shape error naming the path only.
    let mut op = serde_json::to_value(fixtures::create_op(fixtures::records().remove(1), Hlc::new(1, 0, "d"))).expect("json");
    op["action"]["create"]["body"]["notice"]["party"]["phone"] = json!(13805361234u64);
    let r = req(Method::POST, paths::PUSH).auth(&officer).json(&json!({"ops": [op]})).send(&h.app).await;
    let e = r.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert!(e.error.message.contains("party.phone"), "{}", e.error.message);
    assert!(!String::from_utf8_lossy(&r.body).contains(PHONE));

    // A malformed phone string: a rejection naming the field only.
    let mut rec = fixtures::records().remove(1);
    if let RecordBody::Notice(n) = &mut rec.body {
        n.party.phone = Some(format!("{PHONE}99x"));
    }
    let resp = push(&h, &officer, vec![fixtures::create_op(rec, Hlc::new(1, 0, "d"))]).await;
    let rej = resp.results[0].rejection.as_ref().expect("rejected");
    assert_eq!(rej.field.as_deref(), Some("party.phone"));
    assert!(!serde_json::to_string(&resp).expect("json").contains(PHONE));

    // Query strings with junk.
    let r = req(Method::GET, &format!("{}?since={PHONE}x", paths::PULL)).auth(&officer).send(&h.app).await;
    assert!(!String::from_utf8_lossy(&r.body).contains(PHONE));
}

#[tokio::test]
async fn batch_and_body_limits() {
    let h = harness().await;
    let w = login(&h, "grid.kw01").await;
    let ops: Vec<Op> = (0..=MAX_PUSH_OPS).map(create).collect();
    req(Method::POST, paths::PUSH)
        .auth(&w)
        .json(&push_body(ops))
        .send(&h.app)
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "batch_too_large");
    assert_eq!(h.state.stores().records.counts().await.expect("counts").records, 0);

    let mut big = b"{\"ops\": [], \"pad\": \"".to_vec();
    big.resize(MAX_BODY_BYTES + 10, b'x');
    big.extend_from_slice(b"\"}");
    req(Method::POST, paths::PUSH)
        .auth(&w)
        .header("content-type", "application/json")
        .raw(big.clone())
        .send(&h.app)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // The limit holds for the decompressed size, whatever the compressed one.
    let small = gzip(&big);
    assert!(small.len() < MAX_BODY_BYTES / 10);
    req(Method::POST, paths::PUSH)
        .auth(&w)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .raw(small)
        .send(&h.app)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Broken gzip and unknown encodings are errors in our format too.
    req(Method::POST, paths::PUSH)
        .auth(&w)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .raw(b"not gzip".to_vec())
        .send(&h.app)
        .await
        .error(StatusCode::BAD_REQUEST, "malformed_body");
    let r = req(Method::POST, paths::PUSH)
        .auth(&w)
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .raw(b"{}".to_vec())
        .send(&h.app)
        .await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn bad_location_rejects_the_whole_batch() {
    let h = harness().await;
    let w = login(&h, "grid.kw01").await;
    let good = create(0);
    let mut bad = create(1);
    if let OpAction::Create(n) = &mut bad.action {
        n.location.lat = 91.0;
    }
    let e = req(Method::POST, paths::PUSH)
        .auth(&w)
        .json(&push_body(vec![good, bad]))
        .send(&h.app)
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_op");
    assert!(e.error.message.contains("ops[1].location.lat"), "{}", e.error.message);
    assert_eq!(h.state.stores().records.counts().await.expect("counts").logged_ops, 0, "nothing applied");

    let rec_id = fixtures::records()[0].id;
    let mut far = fixtures::location();
    far.lon = 200.0;
    let upd = Op {
        op_id: Uuid::now_v7(),
        record_id: rec_id,
        hlc: Hlc::new(2, 0, "d"),
        action: OpAction::Update(RecordPatch { location: Some(far), ..Default::default() }),
    };
    let e = req(Method::POST, paths::PUSH)
        .auth(&w)
        .json(&push_body(vec![upd]))
        .send(&h.app)
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_op");
    assert!(e.error.message.contains("ops[0].location.lon"), "{}", e.error.message);
}

#[tokio::test]
async fn gzip_request_bodies_and_responses() {
    let h = harness().await;
    let w = login(&h, "grid.kw01").await;
    let body = serde_json::to_vec(&push_body(vec![create(0), create(1)])).expect("json");
    let r = req(Method::POST, paths::PUSH)
        .auth(&w)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .raw(gzip(&body))
        .send(&h.app)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let resp: PushResponse = r.json();
    assert!(resp.results.iter().all(|r| r.outcome == Outcome::Accepted), "{resp:?}");

    let r = req(Method::GET, paths::REFERENCE).auth(&w).header("accept-encoding", "gzip").send(&h.app).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()), Some("gzip"));
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut plain).expect("gunzip");
    let data: ReferenceData = serde_json::from_slice(&plain).expect("reference");
    assert!(!data.orgs.is_empty());
}

#[tokio::test]
async fn pull_query_validation() {
    let h = harness().await;
    let w = login(&h, "grid.kw01").await;
    for q in ["limit=0", "since=abc", "since=-1", "limit=abc", "since=1&bogus=2"] {
        // Bad query parameters are a shape error: the documented 422 invalid_request.
        let e = req(Method::GET, &format!("{}?{q}", paths::PULL)).auth(&w).send(&h.app).await;
        let body = e.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
        let name = q.rsplit('&').next().and_then(|p| p.split('=').next()).unwrap_or("");
        assert!(body.error.message.contains(name) || name == "bogus", "{q}: {}", body.error.message);
    }
    // Too large a limit is clamped, not refused.
    assert!(!pull(&h, &w, "limit=1000000").await.has_more);
}

#[tokio::test]
async fn figures_validate_their_period_and_are_for_admins_and_officers() {
    let h = harness().await;
    let admin = login(&h, "admin").await;
    let figures = |q: &str| format!("{}?{q}", paths::FIGURES);
    for q in [
        "",
        "from=2026-11-01",
        "to=2026-12-01",
        "from=2026-13-01&to=2026-12-01",
        "from=yesterday&to=2026-12-01",
        "from=2026-11-01&to=2026-12-01&by=street",
        "from=2026-11-01&to=2026-12-01&bogus=1",
    ] {
        req(Method::GET, &figures(q)).auth(&admin).send(&h.app).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    }
    for q in [
        "from=2026-12-01&to=2026-12-01",
        "from=2026-12-02&to=2026-12-01",
        "from=-262143-01-01&to=2026-12-01",
        "from=2026-11-01&to=+262142-12-31",
    ] {
        let body = req(Method::GET, &figures(q)).auth(&admin).send(&h.app).await;
        let e = body.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
        let field = if q.starts_with("from=-") { "from" } else { "to" };
        assert!(e.error.message.contains(field), "{q}: {}", e.error.message);
    }
    let worker = login(&h, "grid.kw01").await;
    req(Method::GET, &figures("from=2026-11-01&to=2026-12-01"))
        .auth(&worker)
        .send(&h.app)
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");

    // An empty city: one total row of zeros; every grouping answers.
    let r = req(Method::GET, &figures("from=2026-11-01&to=2026-12-01")).auth(&admin).send(&h.app).await;
    assert_eq!(r.status, StatusCode::OK);
    let v: Value = r.json();
    assert_eq!(v["by"], "total");
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["rows"][0]["registered"], 0);
    let officer = login(&h, "officer.kw").await;
    for by in ["total", "district", "brigade", "unit", "category"] {
        let r = req(Method::GET, &figures(&format!("from=2026-11-01&to=2026-12-01&by={by}"))).auth(&officer).send(&h.app).await;
        assert_eq!(r.status, StatusCode::OK, "{by}");
    }
}

/// A case opened by `who` from a hotline call, in the fixture grid.
fn open_case() -> Op {
    let report = fixtures::records().remove(0);
    let body = RecordBody::Case(Case::opened(CaseSource::Hotline, "06036".into(), "楼道堆放杂物".into(), vec![]));
    Op {
        op_id: Uuid::now_v7(),
        record_id: Uuid::now_v7(),
        hlc: Hlc::new(1_700_000_000_000, 0, "dev1"),
        action: OpAction::Create(NewRecord {
            org: report.org,
            created_at: report.created_at,
            location: report.location,
            status: Status::Registered,
            body,
        }),
    }
}

fn step_op(record_id: Uuid, from: Status, action: StepAction) -> Op {
    Op {
        op_id: Uuid::now_v7(),
        record_id,
        hlc: Hlc::new(1_700_000_000_001, 0, "dev1"),
        action: OpAction::Step(CaseStep { from, action, note: None, photos: vec![] }),
    }
}

#[tokio::test]
async fn case_steps_with_bad_input_are_refused_with_their_reasons() {
    let h = harness().await;
    let admin = login(&h, "admin").await;
    let worker = login(&h, "grid.kw01").await;
    let reason = |r: &PushResponse| r.results[0].rejection.as_ref().map(|x| x.reason);

    // Only admins open cases.
    assert_eq!(reason(&push(&h, &worker, vec![open_case()]).await), Some(RejectReason::WrongRole));
    let c = open_case();
    let id = c.record_id;
    let opened = push(&h, &admin, vec![c]).await;
    assert_eq!(opened.results[0].outcome, Outcome::Accepted, "{opened:?}");
    let report = create(0);
    let report_id = report.record_id;
    push(&h, &admin, vec![report]).await;

    // Shapes: an unknown stage or action, a negative or fractional number: 422 with the path.
    for bad in [
        json!({"from": "bogus", "action": "handle"}),
        json!({"from": "registered", "action": "fly"}),
        json!({"from": "dispatched", "action": {"request_extension": {"working_minutes": -5}}}),
        json!({"from": "dispatched", "action": {"request_extension": {"working_minutes": 1.5}}}),
        json!({"from": "registered", "action": {"dispatch": {"to": {"team": {"code": "x"}}}}}),
        json!({"from": "registered", "action": "handle", "extra": 1}),
    ] {
        let op = json!({"op_id": Uuid::now_v7(), "record_id": id, "hlc": "0018bcfe56800-000000-dev1", "action": {"step": bad}});
        let e = req(Method::POST, paths::PUSH)
            .auth(&admin)
            .json(&json!({"ops": [op]}))
            .send(&h.app)
            .await
            .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
        assert!(e.error.message.contains("ops[0].action"), "{bad}: {}", e.error.message);
    }

    // Well-formed but refused: each with its reason, in the results, the rest of the batch applied.
    let cases: Vec<(&Login, Op, RejectReason)> = vec![
        (&admin, step_op(Uuid::now_v7(), Status::Registered, StepAction::Handle), RejectReason::NotFound),
        (&admin, step_op(report_id, Status::Submitted, StepAction::Handle), RejectReason::KindMismatch),
        (&worker, step_op(id, Status::Registered, StepAction::Void), RejectReason::WrongRole),
        (&admin, step_op(id, Status::Dispatched, StepAction::Void), RejectReason::StaleStep),
        (&worker, step_op(id, Status::Registered, StepAction::Handle), RejectReason::NotAssignee),
        (&admin, step_op(id, Status::Registered, StepAction::Handle), RejectReason::InvalidTransition),
        (&admin, step_op(id, Status::Registered, StepAction::Supervise), RejectReason::InvalidTransition),
        (
            &admin,
            step_op(id, Status::Registered, StepAction::Dispatch { to: Assignee::Unit { code: fixtures::GRID.into() } }),
            RejectReason::Invalid,
        ),
        (&admin, step_op(id, Status::Registered, StepAction::Reply { text: " ".into() }), RejectReason::Invalid),
        (&admin, step_op(id, Status::Registered, StepAction::MarkOverdue), RejectReason::WrongRole),
    ];
    for (who, op, want) in cases {
        let label = format!("{:?}", op.action);
        assert_eq!(reason(&push(&h, who, vec![op]).await), Some(want), "{label}");
    }
    // A case changes only by its steps.
    let update = Op {
        op_id: Uuid::now_v7(),
        record_id: id,
        hlc: Hlc::new(1_700_000_000_002, 0, "dev1"),
        action: OpAction::Update(RecordPatch::default()),
    };
    assert_eq!(reason(&push(&h, &admin, vec![update]).await), Some(RejectReason::InvalidTransition));
    // Nothing of that changed the case.
    let page = pull(&h, &admin, "since=0").await;
    let case = page.records.iter().find(|r| r.id == id).expect("the case");
    assert_eq!(case.status, Status::Registered);
    let RecordBody::Case(c) = &case.body else { panic!("not a case") };
    assert_eq!(c.timeline.len(), 1, "only the opening");
    assert!(c.number.as_deref().is_some_and(|n| n.starts_with("370705-")), "{:?}", c.number);
}

#[tokio::test]
async fn push_pull_visibility_retries_and_paging() {
    let h = harness().await;
    let w = login(&h, "grid.kw01").await;
    let other = login(&h, "grid.wc01").await;
    let community = login(&h, "community.kw").await;
    let officer = login(&h, "officer.kw").await;
    let admin = login(&h, "admin").await;

    // A worker files all three kinds in their grid (notices by officers).
    let recs = fixtures::records();
    let ops = vec![
        fixtures::create_op(recs[0].clone(), Hlc::new(1_700_000_000_000, 0, "dev1")),
        fixtures::create_op(recs[2].clone(), Hlc::new(1_700_000_000_001, 0, "dev1")),
    ];
    let first = push(&h, &w, ops.clone()).await;
    assert!(first.results.iter().all(|r| r.outcome == Outcome::Accepted), "{first:?}");
    assert!(first.server_hlc.wall_ms > 0);
    // A retry after a lost response: same answer, nothing new.
    let again = push(&h, &w, ops.clone()).await;
    assert_eq!(first.results, again.results);
    assert_eq!(h.state.stores().records.counts().await.expect("counts").logged_ops, 2);
    // The same op ids from another account: conflict.
    let stolen = push(&h, &other, ops.clone()).await;
    assert!(stolen.results.iter().all(|r| r.rejection.as_ref().map(|x| x.reason) == Some(RejectReason::OpIdConflict)));

    common::take_block(&h, &officer, 10).await;
    let notice = push(&h, &officer, vec![fixtures::create_op(recs[1].clone(), Hlc::new(1_700_000_000_002, 0, "dev2"))]).await;
    assert_eq!(notice.results[0].outcome, Outcome::Accepted, "{notice:?}");
    // Out of scope: the worker of another grid may not file here.
    let mut foreign = recs[0].clone();
    foreign.id = Uuid::now_v7();
    let out = push(&h, &other, vec![fixtures::create_op(foreign, Hlc::new(1_700_000_000_003, 0, "dev3"))]).await;
    assert_eq!(out.results[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::OutOfScope));
    // A worker may not cancel a notice; the officer may.
    let cancel = |t: u64| Op {
        op_id: Uuid::now_v7(),
        record_id: recs[1].id,
        hlc: Hlc::new(t, 0, "dev"),
        action: OpAction::Update(RecordPatch { status: Some(Status::Rectified), ..Default::default() }),
    };
    let by_worker = push(&h, &w, vec![cancel(1_700_000_000_010)]).await;
    assert_eq!(by_worker.results[0].rejection.as_ref().map(|r| r.reason), Some(RejectReason::InvalidTransition));
    let by_officer = push(&h, &officer, vec![cancel(1_700_000_000_011)]).await;
    assert_eq!(by_officer.results[0].outcome, Outcome::Accepted);

    // Visibility.
    let seen = |p: PullResponse| p.records.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(seen(pull(&h, &w, "since=0").await).len(), 3);
    assert_eq!(seen(pull(&h, &community, "since=0").await).len(), 3);
    assert_eq!(seen(pull(&h, &officer, "since=0").await).len(), 3);
    assert_eq!(seen(pull(&h, &admin, "since=0").await).len(), 3);
    assert!(seen(pull(&h, &other, "since=0").await).is_empty());

    // Paging and cursors.
    let p1 = pull(&h, &admin, "since=0&limit=2").await;
    assert_eq!((p1.records.len(), p1.has_more), (2, true));
    assert_eq!(Some(p1.next), p1.records[1].seq);
    assert!(p1.records.iter().all(|r| r.seq.is_some()));
    let p2 = pull(&h, &admin, &format!("since={}&limit=2", p1.next)).await;
    assert_eq!((p2.records.len(), p2.has_more), (1, false));
    let p3 = pull(&h, &admin, &format!("since={}", p2.next)).await;
    assert!(p3.records.is_empty() && !p3.has_more && p3.next == p2.next);
    assert!(!p3.reference_version.is_empty());
    // The updated notice came last, with the officer as the last writer.
    let last = p2.records.last().expect("record");
    assert_eq!((last.id, last.status), (recs[1].id, Status::Rectified));
}

#[tokio::test]
async fn reference_has_an_etag_and_honours_if_none_match() {
    let h = harness().await;
    let w = login(&h, "grid.kw01").await;
    let r = req(Method::GET, paths::REFERENCE).auth(&w).send(&h.app).await;
    assert_eq!(r.status, StatusCode::OK);
    let data: ReferenceData = r.json();
    assert_eq!(data.users.len(), USERS.len());
    let etag = r.headers.get(header::ETAG).and_then(|v| v.to_str().ok()).expect("etag").to_owned();
    // A grid worker gets the body with the stall operators masked, under its own ETag.
    assert_eq!(etag, format!("\"{}-m\"", data.version));
    assert!(!String::from_utf8_lossy(&r.body).contains("argon2"), "no password data");
    let officer = login(&h, "officer.kw").await;
    let o = req(Method::GET, paths::REFERENCE).auth(&officer).send(&h.app).await;
    assert_eq!(o.headers.get(header::ETAG).and_then(|v| v.to_str().ok()), Some(format!("\"{}\"", data.version).as_str()));
    let r2 = req(Method::GET, paths::REFERENCE).auth(&officer).header("if-none-match", &etag).send(&h.app).await;
    assert_eq!(r2.status, StatusCode::OK, "the masked body's ETag is not the officer's");
    let r = req(Method::GET, paths::REFERENCE).auth(&w).header("if-none-match", &etag).send(&h.app).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());
    // The pull names the same version.
    assert_eq!(pull(&h, &w, "since=0").await.reference_version, data.version);

    // A new user changes the version.
    h.state
        .accounts()
        .add_user(NewUser {
            username: "grid.new".into(),
            display_name: "新人".into(),
            role: Role::GridWorker,
            scope: fixtures::GRID.into(),
            password: PASSWORD.into(),
        })
        .await
        .expect("add");
    let r = req(Method::GET, paths::REFERENCE).auth(&w).header("if-none-match", &etag).send(&h.app).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.json::<ReferenceData>().version, data.version);
}

/// A JSON body that starts and never finishes (a slow or stalled client) is answered a
/// typed 408 once its time is up, and nothing is applied.
#[tokio::test]
async fn a_body_that_never_finishes_is_a_typed_408() {
    let h = common::harness().await;
    let worker = common::login(&h, "grid.kw01").await;
    use futures::StreamExt;
    let stalled = futures::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"{\"ops\": ["))])
        .chain(futures::stream::pending());
    let b = common::authed(Method::POST, "/v1/sync/push", &worker).header("content-type", "application/json");
    // The clock runs on by itself from here: the server's 120 s pass at once.
    tokio::time::pause();
    let r = common::send(&h.app, b, Body::from_stream(stalled)).await;
    tokio::time::resume();
    r.error(StatusCode::REQUEST_TIMEOUT, "request_timeout");
}

#[tokio::test]
async fn own_records_come_as_digests_only_to_the_device_that_made_them() {
    let h = harness().await;
    let phone = login(&h, "grid.kw01").await;
    let other_phone = login(&h, "grid.kw01").await;
    let ops: Vec<Op> = (0..3).map(create).collect();
    assert!(push(&h, &phone, ops.clone()).await.results.iter().all(|r| r.outcome == Outcome::Accepted));

    let full = pull(&h, &phone, "since=0").await;
    let own = pull(&h, &phone, "since=0&own_digests=true").await;
    assert_eq!((full.records.len(), full.own.len()), (3, 0));
    assert_eq!((own.records.len(), own.own.len()), (0, 3));
    assert_eq!((own.next, own.has_more), (full.next, full.has_more));
    for (o, r) in own.own.iter().zip(&full.records) {
        assert_eq!((o.id, Some(o.seq), o.updated_at), (r.id, r.seq, r.updated_at));
        assert_eq!(o.digest, gridwork_core::protocol::record_digest(r));
    }
    // The same account on another phone, and `false`, get them in full.
    assert_eq!(pull(&h, &other_phone, "since=0&own_digests=true").await.records.len(), 3);
    assert_eq!(pull(&h, &phone, "since=0&own_digests=false").await.own.len(), 0);
    let r = req(Method::GET, &format!("{}?since=0&own_digests=1", paths::PULL)).auth(&phone).send(&h.app).await;
    r.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
}
