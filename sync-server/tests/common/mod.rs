//! The harness the router tests share: a server state on a fresh SQLite store with the
//! fixture piece of Weifang and one account per role and scope, and response helpers.
#![allow(dead_code)] // each test binary uses its own part

pub mod browser;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, StatusCode, header, request};
use gridwork_core::fixtures;
use gridwork_core::model::Role;
use gridwork_core::protocol::{ErrorBody, UploadStatus};
use gridwork_server::service::accounts::NewUser;
use gridwork_server::{AppState, app};
use tower::ServiceExt;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse 电池";

/// The accounts every harness has: (username, role, scope).
pub const USERS: &[(&str, Role, &str)] = &[
    ("admin", Role::Admin, fixtures::CITY),
    ("officer.kw", Role::Officer, fixtures::DISTRICT),
    ("officer.wc", Role::Officer, fixtures::OTHER_DISTRICT),
    ("grid.kw01", Role::GridWorker, fixtures::GRID),
    ("grid.wc01", Role::GridWorker, fixtures::OTHER_GRID),
    ("community.kw", Role::GridWorker, fixtures::COMMUNITY),
];

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub app: Router,
}

pub struct Login {
    pub token: String,
    pub device: Uuid,
}

pub async fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = AppState::sqlite_for_tests(dir.path()).await;
    let data = fixtures::reference_data();
    state.stores().reference.put_orgs(data.orgs).await.expect("orgs");
    state.stores().reference.put_categories(data.categories).await.expect("categories");
    state.reference().reload().await.expect("reload");
    for (username, role, scope) in USERS {
        let new = NewUser {
            username: (*username).into(),
            display_name: format!("测试{username}"),
            role: *role,
            scope: (*scope).into(),
            password: PASSWORD.into(),
        };
        state.accounts().add_user(new).await.expect("add user");
    }
    let app = app(state.clone());
    Harness { dir, state, app }
}

/// Sign `username` in from a new device.
pub async fn login(h: &Harness, username: &str) -> Login {
    let device = Uuid::now_v7();
    let body = serde_json::json!({"username": username, "password": PASSWORD, "device_id": device, "device_name": "测试手机"});
    let r = send(
        &h.app,
        axum::http::Request::builder()
            .method(axum::http::Method::POST)
            .uri(gridwork_core::protocol::paths::LOGIN)
            .header("content-type", "application/json"),
        Body::from(body.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let body: gridwork_core::protocol::LoginResponse = r.json();
    assert_eq!(body.user.username, username);
    Login { token: body.token, device }
}

/// A request with `who`'s bearer token and device header.
pub fn authed(method: axum::http::Method, path: &str, who: &Login) -> request::Builder {
    axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", who.token))
        .header(gridwork_core::protocol::DEVICE_HEADER, who.device.to_string())
}

/// Runs one request through the router and collects the whole answer.
pub async fn send(app: &Router, b: request::Builder, body: Body) -> Resp {
    let resp = app.clone().oneshot(b.body(body).expect("request")).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    let body = to_bytes(body, usize::MAX).await.expect("body").to_vec();
    Resp { status: parts.status, headers: parts.headers, body }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// Every error must be an `ErrorBody` with the given code.
    pub fn error(&self, status: StatusCode, code: &str) -> ErrorBody {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        let ct = self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(ct.starts_with("application/json"), "content-type {ct}");
        let body: ErrorBody = self.json();
        assert_eq!(body.error.code, code, "{body:?}");
        assert!(!body.error.message.is_empty());
        body
    }

    /// An upload answer: 200, with the offset also in the `Upload-Offset` header.
    pub fn status(&self) -> UploadStatus {
        assert_eq!(self.status, StatusCode::OK, "{}", String::from_utf8_lossy(&self.body));
        let s: UploadStatus = self.json();
        assert_eq!(self.headers.get("upload-offset").and_then(|v| v.to_str().ok()), Some(s.offset.to_string().as_str()));
        s
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
    }
}

/// A block of notice numbers for `who`'s device, as its sync asks for one.
pub async fn take_block(h: &Harness, who: &Login, count: u32) -> gridwork_core::numbering::NumberBlock {
    let r = send(
        &h.app,
        authed(axum::http::Method::POST, gridwork_core::protocol::paths::NUMBER_BLOCKS, who)
            .header("content-type", "application/json"),
        Body::from(serde_json::json!({ "count": count }).to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}
