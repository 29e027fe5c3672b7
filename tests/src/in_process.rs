//! The real server in this process, reached without a socket: the device engines'
//! [`HttpClient`] over the server's router (`tower::ServiceExt::oneshot`). For unit tests of
//! the engines against the real server code, with no mock in between.

use axum::body::Body;
use gridwork_core::error::{Error, Result};
use gridwork_core::model::Role;
use gridwork_core::transport::{BoxFuture, HttpClient, HttpRequest, HttpResponse, Method, ResponseBody};
use gridwork_core::{Device, DeviceConfig};
use gridwork_server::AppState;
use gridwork_server::service::accounts::NewUser;
use http_body_util::BodyExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

/// Base URL the in-process devices use (never resolved).
pub const BASE: &str = "http://in-process.gridwork";

/// A server state on SQLite in a directory, with the Weifang reference data and accounts.
pub struct InProcess {
    pub state: AppState,
    router: axum::Router,
    /// Requests served, per path (method and path, no query).
    pub requests: Arc<std::sync::Mutex<Vec<String>>>,
    served: AtomicU64,
}

impl InProcess {
    /// The demo reference data and one account per `(username, role, scope)`, all with
    /// `password`.
    pub async fn start(dir: &Path, users: &[(&str, Role, &str)], password: &str) -> Arc<InProcess> {
        let state = AppState::sqlite_for_tests(dir).await;
        gridwork_server::bootstrap::ensure_reference(state.stores().reference.as_ref()).await.expect("reference");
        state.reference().reload().await.expect("reload");
        for (username, role, scope) in users {
            let new = NewUser {
                username: (*username).into(),
                display_name: format!("测试{username}"),
                role: *role,
                scope: (*scope).into(),
                password: password.into(),
            };
            state.accounts().add_user(new).await.expect("add user");
        }
        let router = gridwork_server::app(state.clone());
        Arc::new(InProcess { state, router, requests: Default::default(), served: AtomicU64::new(0) })
    }

    /// A device on its own database under `dir`, talking to this server.
    pub fn device(self: &Arc<Self>, dir: &Path, name: &str) -> Device {
        // Not a network at all: the requests go straight to the router.
        let config = DeviceConfig {
            db_path: dir.join(format!("{name}.db")),
            server_url: BASE.into(),
            db_key: None,
            allow_plain_http: true,
        };
        Device::open_with(config, Some(self.clone())).expect("open device")
    }

    /// How many requests this server answered.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

struct Whole(Option<Vec<u8>>);

impl ResponseBody for Whole {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>>> {
        Box::pin(async move { Ok(self.0.take()) })
    }
}

impl HttpClient for InProcess {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse>> {
        Box::pin(async move {
            let path = request.url.strip_prefix(BASE).unwrap_or(&request.url).to_owned();
            let method = match request.method {
                Method::Get => "GET",
                Method::Post => "POST",
                Method::Patch => "PATCH",
            };
            self.requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("{method} {}", path.split('?').next().unwrap_or("")));
            self.served.fetch_add(1, Ordering::Relaxed);
            let mut b = axum::http::Request::builder().method(method).uri(path);
            for (name, value) in request.headers {
                b = b.header(name, value);
            }
            let req = b.body(Body::from(request.body.unwrap_or_default())).map_err(|e| Error::Network(e.to_string()))?;
            let resp = self.router.clone().oneshot(req).await.map_err(|e| Error::Network(e.to_string()))?;
            let status = resp.status().as_u16();
            let gzipped = resp.headers().get("content-encoding").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
            let bytes = resp.into_body().collect().await.map_err(|e| Error::Network(e.to_string()))?.to_bytes().to_vec();
            Ok(HttpResponse { status, gzipped, body: Box::new(Whole(Some(bytes))) })
        })
    }
}
