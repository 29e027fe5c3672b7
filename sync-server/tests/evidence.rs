//! Signed evidence through the whole router: a device registers its key at sign-in (a
//! malformed key is 422), its pushes must then carry one signature per op (422 without),
//! an op signed by another key is rejected `bad_signature`, the key is in the chained audit
//! trail, and the console's evidence page shows each field signed or not, and only to
//! those who may see the record.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::browser::Browser;
use common::{Harness, Login, PASSWORD, authed, harness, send};
use ed25519_dalek::SigningKey;
use gridwork_core::evidence;
use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::RecordBody;
use gridwork_core::protocol::{BodyPatch, Op, OpAction, Outcome, PushResponse, RecordPatch, RejectReason, ReportPatch, paths};
use uuid::Uuid;

/// A sign-in from a new device registering `key`: the answer and the device.
async fn login_with_key(h: &Harness, username: &str, key: Option<&str>) -> (common::Resp, Uuid) {
    let device = Uuid::now_v7();
    let body = serde_json::json!({"username": username, "password": PASSWORD, "device_id": device, "device_key": key});
    let b = Request::builder().method(Method::POST).uri(paths::LOGIN).header("content-type", "application/json");
    (send(&h.app, b, Body::from(body.to_string())).await, device)
}

async fn signed_login(h: &Harness, username: &str, key: &SigningKey) -> Login {
    let (r, device) = login_with_key(h, username, Some(&evidence::encode_key(&key.verifying_key()))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let body: gridwork_core::protocol::LoginResponse = r.json();
    Login { token: body.token, device }
}

async fn push(h: &Harness, who: &Login, ops: &[Op], sigs: Option<Vec<String>>) -> common::Resp {
    let mut body = serde_json::json!({ "ops": ops });
    if let Some(sigs) = sigs {
        body["sigs"] = serde_json::json!(sigs);
    }
    let b = authed(Method::POST, paths::PUSH, who).header("content-type", "application/json");
    send(&h.app, b, Body::from(body.to_string())).await
}

fn new_report() -> (Uuid, Op) {
    let mut rec = fixtures::records().remove(0);
    assert!(matches!(rec.body, RecordBody::Report(_)));
    rec.id = Uuid::now_v7();
    (rec.id, fixtures::create_op(rec, Hlc::new(1_700_000_000_000, 0, "dev")))
}

fn describe(id: Uuid, text: &str, wall: u64) -> Op {
    Op {
        op_id: Uuid::now_v7(),
        record_id: id,
        hlc: Hlc::new(wall, 0, "dev"),
        action: OpAction::Update(RecordPatch {
            body: Some(BodyPatch::Report(ReportPatch { description: Some(text.into()), ..Default::default() })),
            ..Default::default()
        }),
    }
}

fn sign_all(key: &SigningKey, who: &Login, ops: &[Op]) -> Vec<String> {
    ops.iter().map(|op| evidence::sign(key, &who.device.to_string(), op)).collect()
}

#[tokio::test]
async fn a_registered_key_makes_signatures_required_and_checked() {
    let h = harness().await;
    for bad in ["", "zz", &"a".repeat(63), &"g".repeat(64)] {
        let (r, _) = login_with_key(&h, "grid.kw01", Some(bad)).await;
        r.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    }
    let key = SigningKey::from_bytes(&[3u8; 32]);
    let worker = signed_login(&h, "grid.kw01", &key).await;

    // No signatures, or too few: the push as a whole is refused, nothing applied.
    let (id, create) = new_report();
    push(&h, &worker, std::slice::from_ref(&create), None).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let two = [create.clone(), describe(id, "楼道堆放杂物，已通知物业", 1_700_000_100_000)];
    let one_sig = sign_all(&key, &worker, &two[..1]);
    push(&h, &worker, &two, Some(one_sig)).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert!(h.state.stores().records.get(id).await.expect("get").is_none());

    // Signed: accepted. Signed by another key, or for another device: rejected.
    let r = push(&h, &worker, &two, Some(sign_all(&key, &worker, &two))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let resp: PushResponse = r.json();
    assert!(resp.results.iter().all(|r| r.outcome == Outcome::Accepted), "{resp:?}");
    let other = SigningKey::from_bytes(&[4u8; 32]);
    let forged = describe(id, "被冒名修改", 1_700_000_200_000);
    let wrong_device = describe(id, "换了设备的签名", 1_700_000_300_000);
    let sigs = vec![
        evidence::sign(&other, &worker.device.to_string(), &forged),
        evidence::sign(&key, &Uuid::now_v7().to_string(), &wrong_device),
    ];
    let resp: PushResponse = push(&h, &worker, &[forged, wrong_device], Some(sigs)).await.json();
    for r in &resp.results {
        assert_eq!(r.rejection.as_ref().map(|j| j.reason), Some(RejectReason::BadSignature), "{resp:?}");
    }

    // A session without a key pushes unsigned, as before.
    let plain = common::login(&h, "grid.kw01").await;
    let (_, create) = new_report();
    let resp: PushResponse = push(&h, &plain, &[create], None).await.json();
    assert_eq!(resp.results[0].outcome, Outcome::Accepted);

    // The key is in the chained trail, with the sign-in.
    let trail = h.state.stores().audit.audit_page(0, 1000, None).await.expect("audit");
    let public = evidence::encode_key(&key.verifying_key());
    assert!(trail.iter().any(|e| e.action == "sign_in" && e.detail.contains(&public)), "the registered key is audited");

    // The console: every field the device signed, by whom; the key listed.
    let mut admin = Browser::signed_in(&h, "admin").await;
    let page = admin.page(&format!("/admin/records/{id}/evidence")).await;
    assert!(page.contains(r#"id="evidence-description" data-verdict="signed""#), "{page}");
    assert!(page.contains(r#"id="evidence-verdict" data-verdict="signed""#), "{page}");
    assert!(page.contains(&public), "the device's key is shown");
    let record = admin.page(&format!("/admin/records/{id}")).await;
    assert!(record.contains(&format!("/admin/records/{id}/evidence")), "linked from the record page");

    // An admin's edit on the console is unsigned, not broken.
    let state = h.state.stores().records.get(id).await.expect("get").expect("record");
    assert!(state.seq.is_some());
    let admin_api = common::login(&h, "admin").await;
    let resp: PushResponse = push(&h, &admin_api, &[describe(id, "管理员核实后补充", 1_700_000_400_000)], None).await.json();
    assert_eq!(resp.results[0].outcome, Outcome::Accepted);
    let page = admin.page(&format!("/admin/records/{id}/evidence")).await;
    assert!(page.contains(r#"id="evidence-description" data-verdict="unsigned""#), "{page}");
    assert!(page.contains(r#"id="evidence-category" data-verdict="signed""#), "{page}");
    assert!(page.contains(r#"data-verdict="partly""#), "{page}");

    // The bundle (证据包): admins only, by a form post, audited; checkable offline by the
    // command with nothing but the file. A changed field in it is caught.
    let csrf = admin.csrf().await;
    let r = admin.post(&format!("/admin/records/{id}/evidence/bundle"), &[("_csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", common::browser::text(&r));
    assert!(r.header("content-disposition").contains(&format!("evidence-{id}.json")));
    let bundle: evidence::EvidenceBundle = serde_json::from_slice(&r.body).expect("a bundle");
    assert_eq!(bundle.format, evidence::BUNDLE_FORMAT);
    assert!(bundle.check().intact());
    let trail = h.state.stores().audit.audit_page(0, 1000, Some(&id.to_string())).await.expect("audit");
    assert!(trail.iter().any(|e| e.action == "export_evidence"), "the export is audited");
    let r = admin.post(&format!("/admin/records/{id}/evidence/bundle"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token, no bundle");
    let mut officer = Browser::signed_in(&h, "officer.kw").await;
    let csrf = officer.csrf().await;
    let r = officer.post(&format!("/admin/records/{id}/evidence/bundle"), &[("_csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "officers see the verdicts, not the bundle");

    let file = h.dir.path().join("bundle.json");
    std::fs::write(&file, r_body(&bundle)).expect("write");
    let run = |f: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridwork-server"))
            .args(["evidence", "verify", "--bundle"])
            .arg(f)
            .env("GRIDWORK_LOG", "warn")
            .output()
            .expect("run the command");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (ok, out) = run(&file);
    assert!(ok, "{out}");
    assert!(out.contains("category\tsigned") && out.contains("description\tunsigned"), "{out}");
    let mut tampered = bundle.clone();
    if let RecordBody::Report(r) = &mut tampered.record.record.body {
        r.category = "09007".into();
    }
    std::fs::write(&file, r_body(&tampered)).expect("write");
    let (ok, out) = run(&file);
    assert!(!ok && out.contains("category\taltered"), "{out}");
    std::fs::write(&file, b"{}").expect("write");
    assert!(!run(&file).0, "not a bundle");

    // Out of scope: the other district's officer does not see it; no such record is 404.
    let mut wc = Browser::signed_in(&h, "officer.wc").await;
    let r = wc.get(&format!("/admin/records/{id}/evidence")).await;
    assert!(matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{}", r.status);
    let r = admin.get(&format!("/admin/records/{}/evidence", Uuid::now_v7())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = admin.get("/admin/records/not-an-id/evidence").await;
    assert!(r.status.is_client_error(), "{}", r.status);
}

fn r_body(bundle: &evidence::EvidenceBundle) -> Vec<u8> {
    serde_json::to_vec(bundle).expect("json")
}
