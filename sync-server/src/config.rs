//! What a server runs with: where its data lives, where it listens, where photo files go.

use crate::blobs::BlobStore;
use crate::blobs::local::LocalBlobs;
use crate::blobs::s3::{S3Blobs, S3Config};
use crate::domain::clock::WallClock;
use crate::service::photos::PhotoFiles;
use anyhow::Context;
use gridwork_core::protocol::DEFAULT_MAX_PHOTO_BYTES;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// How often the deadline job looks for what went overdue.
    pub deadline_interval: Duration,
    /// A file holding an offset in seconds for the server's clock (drills and tests).
    pub clock_offset_file: Option<PathBuf>,
}

impl ServerConfig {
    /// Photos in `<data>/blobs`, at most [`DEFAULT_MAX_PHOTO_BYTES`] each.
    pub fn new(data_dir: impl Into<PathBuf>, addr: SocketAddr) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            addr,
            blobs: BlobConfig::Local,
            max_photo_bytes: DEFAULT_MAX_PHOTO_BYTES,
            deadline_interval: Duration::from_secs(60),
            clock_offset_file: None,
        }
    }

    /// The wall clock of this configuration.
    pub fn wall_clock(&self) -> Arc<WallClock> {
        Arc::new(match &self.clock_offset_file {
            Some(file) => WallClock::with_offset_file(file.clone()),
            None => WallClock::system(),
        })
    }

    /// The photo files of this configuration (staging in `<data>/uploads`).
    pub fn open_photo_files(&self) -> anyhow::Result<PhotoFiles> {
        let blobs: Arc<dyn BlobStore> = match &self.blobs {
            BlobConfig::Local => Arc::new(LocalBlobs::open(self.data_dir.join("blobs")).context("opening the blob directory")?),
            BlobConfig::S3(s3) => Arc::new(S3Blobs::new(s3).context("configuring the S3 blob store")?),
        };
        tracing::info!(store = %blobs.describe(), "photo blob store");
        PhotoFiles::new(blobs, self.data_dir.join("uploads"), self.max_photo_bytes).context("opening the upload directory")
    }
}
