//! Provisioning a phone by QR code (扫码登录) through the whole router: the console page
//! (admins only, the code made by a CSRF-checked POST and shown once, as a QR code of this
//! server as the browser reached it, audited without the code), and `POST /v1/auth/enrol`
//! answering like a login, once per code, with typed errors and a back-off.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::browser::{Browser, csrf_of, text};
use common::{Harness, Resp, harness, send};
use gridwork_core::protocol::{LoginResponse, paths};
use uuid::Uuid;

/// The host the console is reached at, port included.
const HOST: &str = "gw.test:8443";

/// The text of the element with this id.
fn element(page: &str, id: &str) -> String {
    let at = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {page}"));
    let start = at + page[at..].find('>').expect("tag end") + 1;
    page[start..].split('<').next().expect("text").trim().to_owned()
}

/// A browser on `gw.test:8443`, behind TLS or not, signed in as `username`.
async fn signed_in<'a>(h: &'a Harness, username: &str, tls: bool) -> Browser<'a> {
    Browser { tls, ..Browser::at(h, HOST) }.signing_in(username).await
}

async fn enrol(h: &Harness, body: serde_json::Value) -> Resp {
    let b = Request::builder().method(Method::POST).uri(paths::ENROL).header("content-type", "application/json");
    send(&h.app, b, Body::from(body.to_string())).await
}

/// Make a code on the console page as `admin`; (the page, the code as shown for typing).
async fn make_code(b: &mut Browser<'_>, user: &str) -> (String, String) {
    let r = b.get(&format!("/admin/enrol?user={user}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let page = text(&r);
    assert!(!page.contains("id=\"enrol-qr\""), "no code before the POST");
    let r = b.post("/admin/enrol", &[("_csrf", &csrf_of(&page)), ("user", user)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    assert_eq!(r.header("cache-control"), "no-store", "the code is never cached");
    let page = text(&r);
    let code = element(&page, "enrol-text");
    (page, code)
}

#[tokio::test]
async fn an_admin_makes_a_one_time_code_and_a_device_enrols_with_it_like_a_login() {
    let h = harness().await;
    let mut admin = signed_in(&h, "admin", false).await;
    let (page, code) = make_code(&mut admin, "grid.kw01").await;
    assert!(page.contains("<svg ") && page.contains("id=\"enrol-qr\""), "a QR code drawn as SVG");
    assert_eq!(element(&page, "enrol-server"), "http://gw.test:8443", "the server as the browser reached it");
    assert!(element(&page, "enrol-expires").contains("有效期至"));
    assert_eq!(code.len(), 39, "32 characters in groups of four: {code}");

    // The device signs in with it: a login's answer, a token bound to the device.
    let device = Uuid::now_v7();
    let r = enrol(&h, serde_json::json!({ "code": code, "device_id": device, "device_name": "孙丽娜的手机" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let signed: LoginResponse = r.json();
    assert_eq!(signed.user.username, "grid.kw01");
    let session = h.state.accounts().authenticate(&signed.token, device).await.expect("a live session for the device");
    assert_eq!(session.user.username, "grid.kw01");

    // Once: a second use, from this device or another, is a wrong password's answer.
    for d in [device, Uuid::now_v7()] {
        let r = enrol(&h, serde_json::json!({ "code": code, "device_id": d })).await;
        let body = r.error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert!(!body.error.message.contains(&code));
    }
    // Enrolling again with a new code ends the device's earlier session, as a login does.
    let (_, again) = make_code(&mut admin, "grid.kw01").await;
    let r = enrol(&h, serde_json::json!({ "code": again.to_lowercase(), "device_id": device })).await;
    assert_eq!(r.status, StatusCode::OK, "typed in lower case: {}", text(&r));
    assert!(h.state.accounts().authenticate(&signed.token, device).await.is_err(), "the older session ended");

    // The trail names the making and the sign-ins, never the code.
    let entries = h.state.stores().audit.audit_page(0, 1000, None).await.expect("audit");
    let made: Vec<_> = entries.iter().filter(|e| e.action == "enrol_code").collect();
    assert_eq!(made.len(), 2);
    assert!(entries.iter().any(|e| e.action == "sign_in" && e.detail.contains("enrol")));
    let plain = code.replace('-', "");
    for e in &entries {
        assert!(!e.detail.contains(&plain) && !e.detail.contains(&code), "{e:?}");
    }
}

#[tokio::test]
async fn behind_tls_the_qr_names_https() {
    let h = harness().await;
    let mut admin = signed_in(&h, "admin", true).await;
    let (page, _) = make_code(&mut admin, "officer.kw").await;
    assert_eq!(element(&page, "enrol-server"), "https://gw.test:8443");
}

#[tokio::test]
async fn only_admins_make_codes_and_only_with_the_sessions_token() {
    let h = harness().await;
    let mut officer = signed_in(&h, "officer.kw", false).await;
    assert_eq!(officer.get("/admin/enrol?user=grid.kw01").await.status, StatusCode::FORBIDDEN);
    let token = csrf_of(&text(&officer.get("/admin/queue").await));
    assert_eq!(officer.post("/admin/enrol", &[("_csrf", &token), ("user", "grid.kw01")]).await.status, StatusCode::FORBIDDEN);

    let mut admin = signed_in(&h, "admin", false).await;
    assert_eq!(admin.post("/admin/enrol", &[("user", "grid.kw01")]).await.status, StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(admin.get("/admin/enrol?user=nobody").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/admin/enrol?user=Bad%20Name").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(admin.get("/admin/enrol").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Signed out: to the sign-in page.
    let mut nobody = Browser::at(&h, HOST);
    assert_eq!(nobody.get("/admin/enrol?user=grid.kw01").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn bad_codes_are_401_malformed_requests_422_and_a_device_backs_off() {
    let h = harness().await;
    let device = Uuid::now_v7();
    for bad in ["7K3M9QXRB2C4D6F8G0HJKMNPQRSTVWXY", "not a code"] {
        enrol(&h, serde_json::json!({ "code": bad, "device_id": Uuid::now_v7() }))
            .await
            .error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    for malformed in [
        serde_json::json!({ "code": "A", "device_id": "not-a-uuid" }),
        serde_json::json!({ "device_id": device }),
        serde_json::json!({ "code": "A", "device_id": device, "password": "x" }),
        serde_json::json!({ "code": "", "device_id": device }),
        serde_json::json!({ "code": "A".repeat(65), "device_id": device }),
        serde_json::json!({ "code": "A", "device_id": device, "device_name": "x".repeat(101) }),
    ] {
        enrol(&h, malformed).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    }

    // Five bad codes in a row from one device, then it waits; other devices do not.
    for _ in 0..5 {
        enrol(&h, serde_json::json!({ "code": "0".repeat(32), "device_id": device }))
            .await
            .error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let r = enrol(&h, serde_json::json!({ "code": "0".repeat(32), "device_id": device })).await;
    r.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert!(r.header("retry-after").parse::<u64>().expect("seconds") >= 1);
    enrol(&h, serde_json::json!({ "code": "0".repeat(32), "device_id": Uuid::now_v7() }))
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}
