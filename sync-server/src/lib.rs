//! gridwork sync server: accounts, the sync endpoints and their storage.
//!
//! Layers, top to bottom: `routes` (thin axum handlers) → `sync` / `auth` / `photos`
//! (rules, no SQL) → `storage` (the [`storage::Storage`] trait; SQLite by default) and
//! `blobs` (the [`blobs::BlobStore`] trait for photo files: a directory or S3). Errors
//! leave through [`error::AppError`] only.

pub mod auth;
pub mod blobs;
pub mod demo;
pub mod error;
pub mod extract;
pub mod photos;
pub mod routes;
pub mod seed;
pub mod state;
pub mod storage;
pub mod sync;

pub use error::AppError;
pub use state::AppState;

use crate::blobs::BlobStore;
use crate::blobs::local::LocalBlobs;
use crate::blobs::s3::{S3Blobs, S3Config};
use crate::photos::Photos;
use crate::storage::Storage;
use crate::storage::sqlite::SqliteStorage;
use anyhow::Context;
use axum::Router;
use gridwork_core::protocol::DEFAULT_MAX_PHOTO_BYTES;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Where photo files are kept.
#[derive(Clone, Debug, Default)]
pub enum BlobConfig {
    /// A directory: `<data>/blobs`.
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3(S3Config),
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    pub blobs: BlobConfig,
    /// Largest photo accepted, in bytes.
    pub max_photo_bytes: u64,
}

impl ServerConfig {
    /// Photos in `<data>/blobs`, at most [`DEFAULT_MAX_PHOTO_BYTES`] each.
    pub fn new(data_dir: impl Into<PathBuf>, addr: SocketAddr) -> Self {
        ServerConfig { data_dir: data_dir.into(), addr, blobs: BlobConfig::Local, max_photo_bytes: DEFAULT_MAX_PHOTO_BYTES }
    }

    /// The photo half of the state for this configuration (staging in `<data>/uploads`).
    pub fn open_photos(&self) -> anyhow::Result<Photos> {
        let blobs: Arc<dyn BlobStore> = match &self.blobs {
            BlobConfig::Local => Arc::new(LocalBlobs::open(self.data_dir.join("blobs")).context("opening the blob directory")?),
            BlobConfig::S3(s3) => Arc::new(S3Blobs::new(s3).context("configuring the S3 blob store")?),
        };
        tracing::info!(store = %blobs.describe(), "photo blob store");
        Photos::new(blobs, self.data_dir.join("uploads"), self.max_photo_bytes).context("opening the upload directory")
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
    let photos = config.open_photos()?;
    let state = AppState::new(storage, photos).await?;
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
