//! gridwork sync server: the device API, its use cases and their storage.
//!
//! Layers, arrows pointing one way: [`http`] (front doors: routers, extractors, error
//! rendering) → [`service`] (use cases) → [`domain`] (rules, no HTTP, no SQL) and
//! [`storage`] (one trait per aggregate; SQLite by default) and [`blobs`] (photo files: a
//! directory or S3). [`state`] is the composition root; [`bootstrap`] seeds reference data
//! and the demo city through the services.

pub mod blobs;
pub mod bootstrap;
pub mod config;
#[cfg(any(test, feature = "test-support"))]
pub mod conformance;
pub mod domain;
pub mod http;
pub mod service;
pub mod state;
pub mod storage;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod tls;

pub use config::{BlobConfig, ServerConfig};
pub use state::AppState;

use crate::storage::Stores;
use crate::storage::sqlite::SqliteStorage;
use anyhow::Context;
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> Router {
    http::router(state)
}

/// A server listening on `addr`; [`RunningServer::shutdown`] stops it gracefully.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    /// The deadline job, stopped with the server.
    deadlines: Option<JoinHandle<()>>,
    /// Served over HTTPS ([`tls`]).
    pub tls: bool,
}

impl RunningServer {
    fn new(
        addr: SocketAddr,
        state: AppState,
        stop: oneshot::Sender<()>,
        task: JoinHandle<std::io::Result<()>>,
        tls: bool,
    ) -> RunningServer {
        RunningServer { addr, state, stop, task, deadlines: None, tls }
    }

    /// The server's base URL: `https://addr` over TLS, else `http://addr`.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Stop accepting, let in-flight requests finish, then close the stores.
    pub async fn shutdown(self) {
        let RunningServer { state, stop, task, deadlines, .. } = self;
        if let Some(job) = deadlines {
            job.abort();
            state.deadlines().step_down().await;
        }
        let _ = stop.send(());
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "server stopped with an error"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
        }
        if let Err(e) = state.stores().close().await {
            tracing::error!(error = %e, "closing the store failed");
        }
    }

    /// Run until `signal` completes, then shut down as [`RunningServer::shutdown`].
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// Open (or create and migrate) the SQLite store under `data_dir`.
pub async fn open_store(data_dir: PathBuf) -> anyhow::Result<Stores> {
    let store = tokio::task::spawn_blocking(move || SqliteStorage::open(&data_dir))
        .await
        .context("opening the store")?
        .context("opening the store")?;
    Ok(Stores::of(Arc::new(store)))
}

/// Open (or create and migrate) the database: SQLite or PostgreSQL.
pub async fn open_database(database: &config::Database) -> anyhow::Result<Stores> {
    match database {
        config::Database::Sqlite(dir) => open_store(dir.clone()).await,
        config::Database::Postgres(url) => {
            let store = storage::postgres::PgStorage::open(url)
                .await
                .with_context(|| format!("opening the PostgreSQL database {}", storage::postgres::redacted(url)))?;
            Ok(Stores::of(Arc::new(store)))
        }
    }
}

/// The photo files of `config`; uploads staged in a shared store and given up on long ago
/// are swept first.
pub async fn open_photo_files(config: &ServerConfig) -> anyhow::Result<service::photos::PhotoFiles> {
    let photos = config.open_photo_files()?;
    match photos.sweep_staging().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "stale staged uploads removed"),
        Err(e) => tracing::warn!(error = %e, "sweeping staged uploads failed"),
    }
    Ok(photos)
}

/// Open the configured database, make sure the reference data is there, and serve.
pub async fn start(config: ServerConfig) -> anyhow::Result<RunningServer> {
    let stores = open_database(&config.database).await?;
    bootstrap::ensure_reference(stores.reference.as_ref()).await?;
    let state = AppState::new(stores, open_photo_files(&config).await?, config.wall_clock())
        .await?
        .with_trusted_proxies(http::forwarded::TrustedProxies::new(config.trusted_proxies.clone()))
        .with_party_retention_days(config.party_retention_days);
    let mut server = match config.tls.clone() {
        Some(files) => tls::start_with_state_tls(state, config.addr, files).await?,
        None => start_with_state(state, config.addr).await?,
    };
    server.run_deadlines(config.deadline_interval);
    Ok(server)
}

/// Serve an already built state on `addr`.
pub async fn start_with_state(state: AppState, addr: SocketAddr) -> anyhow::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let proxies = axum::extract::FromRef::from_ref(&state);
    let router = http::forwarded::proto_from_proxies_only(app(state.clone()), proxies);
    // Without TCP_NODELAY a response written in two pieces waits for the peer's delayed ACK
    // (about 40 ms on Linux), once per request: what capped photo uploads on loopback.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "listening");
    Ok(RunningServer::new(addr, state, stop, task, false))
}

impl RunningServer {
    /// Start the deadline job (every `every`; it also runs at once).
    pub fn run_deadlines(&mut self, every: std::time::Duration) {
        if self.deadlines.is_none() {
            self.deadlines = Some(self.state.deadlines().clone().spawn(every));
        }
    }
}
