//! gridwork sync server: accounts, the sync endpoints and their storage.
//!
//! Layers, top to bottom: `routes` (thin axum handlers) → `sync` / `auth` (rules, no SQL)
//! → `storage` (the [`storage::Storage`] trait; SQLite by default). Errors leave through
//! [`error::AppError`] only.

pub mod auth;
pub mod demo;
pub mod error;
pub mod extract;
pub mod routes;
pub mod seed;
pub mod state;
pub mod storage;
pub mod sync;

pub use error::AppError;
pub use state::AppState;

use crate::storage::sqlite::SqliteStorage;
use crate::storage::Storage;
use anyhow::Context;
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
}

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>, addr: SocketAddr) -> Self {
        ServerConfig { data_dir: data_dir.into(), addr }
    }
}

/// A server listening on `addr`; [`RunningServer::shutdown`] stops it gracefully.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stop accepting, let in-flight requests finish, then close the store.
    pub async fn shutdown(self) {
        let RunningServer { state, stop, task, .. } = self;
        let _ = stop.send(());
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "server stopped with an error"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
        }
        if let Err(e) = state.storage().close().await {
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
pub async fn open_store(data_dir: PathBuf) -> anyhow::Result<Arc<dyn Storage>> {
    let store = tokio::task::spawn_blocking(move || SqliteStorage::open(&data_dir))
        .await
        .context("opening the store")?
        .context("opening the store")?;
    Ok(Arc::new(store))
}

/// Open the store in `config.data_dir`, make sure the reference data is there, and serve.
pub async fn start(config: ServerConfig) -> anyhow::Result<RunningServer> {
    let storage = open_store(config.data_dir.clone()).await?;
    seed::ensure_reference(storage.as_ref()).await?;
    let state = AppState::new(storage).await?;
    start_with_state(state, config.addr).await
}

/// Serve an already built state on `addr`.
pub async fn start_with_state(state: AppState, addr: SocketAddr) -> anyhow::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "listening");
    Ok(RunningServer { addr, state, stop, task })
}
