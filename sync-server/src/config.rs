//! What a server runs with: where its data lives, where it listens, where photo files go.

use crate::blobs::BlobStore;
use crate::blobs::local::LocalBlobs;
use crate::blobs::s3::{S3Blobs, S3Config};
use crate::domain::clock::WallClock;
use crate::service::photos::PhotoFiles;
use anyhow::Context;
use gridwork_core::print::FontSource;
use gridwork_core::protocol::DEFAULT_MAX_PHOTO_BYTES;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
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

/// Where the database is.
#[derive(Clone)]
pub enum Database {
    /// SQLite in `<data>/gridwork.db` (the default).
    Sqlite(PathBuf),
    /// PostgreSQL (`--database postgres://…`): several server processes may share it.
    Postgres(String),
}

impl Database {
    /// SQLite under `data_dir` unless a PostgreSQL connection string is given.
    pub fn choose(data_dir: &std::path::Path, url: Option<String>) -> anyhow::Result<Database> {
        match url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()) {
            None => Ok(Database::Sqlite(data_dir.to_path_buf())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                // Parsed now, so that a typo fails at start with a clear message.
                url.parse::<tokio_postgres::Config>().map_err(|_| {
                    anyhow::anyhow!("--database 不是有效的 PostgreSQL 连接串 (postgres://user:password@host:port/db)")
                })?;
                Ok(Database::Postgres(url))
            }
            Some(_) => anyhow::bail!("--database 只接受 postgres:// 连接串；SQLite 用 --data DIR (only postgres:// URLs)"),
        }
    }

    /// For logs: the SQLite file, or the connection string without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(dir) => dir.join(crate::storage::sqlite::DB_FILE).display().to_string(),
            Database::Postgres(url) => crate::storage::postgres::redacted(url),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.write_str(&self.describe())
    }
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Local files: the SQLite database (unless `database` is PostgreSQL), photo files on
    /// local disk, upload staging.
    pub data_dir: PathBuf,
    pub database: Database,
    pub addr: SocketAddr,
    pub blobs: BlobConfig,
    /// Reverse proxies (addresses or CIDR blocks, `--trusted-proxy`) whose
    /// `X-Forwarded-For` / `Forwarded` headers name the client; empty: the socket's peer is
    /// the client and those headers are ignored.
    pub trusted_proxies: Vec<crate::http::forwarded::ProxyNet>,
    /// Largest photo accepted, in bytes.
    pub max_photo_bytes: u64,
    /// How often the deadline job looks for what went overdue.
    pub deadline_interval: Duration,
    /// A file holding an offset in seconds for the server's clock (drills and tests).
    pub clock_offset_file: Option<PathBuf>,
    /// The CJK font the console's PDFs (the 通报) embed: `--font` / `GRIDWORK_FONT`, else
    /// [`DEFAULT_FONT`] if the machine has it.
    pub font: Option<PathBuf>,
    /// Serve HTTPS with this certificate and key (`--tls-cert`/`--tls-key`); `None`: plain
    /// HTTP (behind a reverse proxy that does TLS, or on loopback).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Days a closed notice's party still reaches devices (`--party-retention-days`).
    pub party_retention_days: u32,
}

impl ServerConfig {
    /// Photos in `<data>/blobs`, at most [`DEFAULT_MAX_PHOTO_BYTES`] each.
    pub fn new(data_dir: impl Into<PathBuf>, addr: SocketAddr) -> Self {
        let data_dir = data_dir.into();
        ServerConfig {
            database: Database::Sqlite(data_dir.clone()),
            data_dir,
            addr,
            blobs: BlobConfig::Local,
            trusted_proxies: Vec::new(),
            max_photo_bytes: DEFAULT_MAX_PHOTO_BYTES,
            deadline_interval: Duration::from_secs(60),
            clock_offset_file: None,
            font: default_font_path(),
            tls: None,
            party_retention_days: gridwork_core::privacy::DEFAULT_PARTY_RETENTION_DAYS,
        }
    }

    /// The wall clock of this configuration.
    pub fn wall_clock(&self) -> Arc<WallClock> {
        Arc::new(match &self.clock_offset_file {
            Some(file) => WallClock::with_offset_file(file.clone()),
            None => WallClock::system(),
        })
    }

    /// The photo files of this configuration: staging in `<data>/uploads`, or in the S3
    /// store when photos live there (see [`PhotoFiles::shared`]).
    pub fn open_photo_files(&self) -> anyhow::Result<PhotoFiles> {
        let blobs: Arc<dyn BlobStore> = match &self.blobs {
            BlobConfig::Local => Arc::new(LocalBlobs::open(self.data_dir.join("blobs")).context("opening the blob directory")?),
            BlobConfig::S3(s3) => Arc::new(S3Blobs::new(s3).context("configuring the S3 blob store")?),
        };
        tracing::info!(store = %blobs.describe(), "photo blob store");
        let uploads = self.data_dir.join("uploads");
        match self.blobs {
            // An object store may be shared by several server processes: staged there too.
            BlobConfig::S3(_) => PhotoFiles::shared(blobs, uploads, self.max_photo_bytes),
            BlobConfig::Local => PhotoFiles::new(blobs, uploads, self.max_photo_bytes),
        }
        .context("opening the upload directory")
    }
}

/// The font used when none is configured: WenQuanYi Micro Hei (Debian/Ubuntu `fonts-wqy-microhei`).
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// `GRIDWORK_FONT` if set, else [`DEFAULT_FONT`] if it exists.
pub fn default_font_path() -> Option<PathBuf> {
    match std::env::var_os("GRIDWORK_FONT") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => Some(PathBuf::from(DEFAULT_FONT)).filter(|p| p.is_file()),
    }
}

/// The CJK font of the console's PDFs: read (and checked for Chinese glyphs) on first use,
/// once. Without a usable one the PDFs are refused with a clear page, never a panic.
pub struct PdfFont {
    path: Option<PathBuf>,
    loaded: OnceLock<Option<FontSource>>,
}

impl PdfFont {
    /// The font in the file at `path` (a TrueType/OpenType file, or the first face of a
    /// collection); `None`: no font.
    pub fn at(path: Option<PathBuf>) -> PdfFont {
        PdfFont { path, loaded: OnceLock::new() }
    }

    /// No font: PDFs are refused.
    pub fn none() -> PdfFont {
        PdfFont::at(None)
    }

    /// [`default_font_path`].
    pub fn from_env() -> PdfFont {
        PdfFont::at(default_font_path())
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// The font, if it is configured, readable and has Chinese glyphs.
    pub fn get(&self) -> Option<&FontSource> {
        self.loaded
            .get_or_init(|| {
                let path = self.path.as_ref()?;
                let font = match std::fs::read(path) {
                    Ok(data) => FontSource::new(data),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "cannot read the PDF font");
                        return None;
                    }
                };
                match gridwork_core::print::report::check_font(&font) {
                    Ok(()) => Some(font),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "the PDF font is not usable");
                        None
                    }
                }
            })
            .as_ref()
    }
}

impl std::fmt::Debug for PdfFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PdfFont({:?})", self.path)
    }
}
