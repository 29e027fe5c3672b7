//! Photos on the device: ingest from a file the app hands over ([`ingest`]), the
//! content-addressed files beside the database ([`PhotoFiles`]), the resumable upload
//! queue ([`upload`]) and fetching others' photos ([`download`]).

pub mod download;
pub mod ingest;
#[cfg(any(test, feature = "test-support"))]
pub mod sample;
pub mod strip;
pub mod upload;

pub use crate::media::is_sha256_hex;

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which networks photos may use. Record metadata always goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoPolicy {
    AnyNetwork,
    UnmeteredOnly,
}

impl PhotoPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoPolicy::AnyNetwork => "any_network",
            PhotoPolicy::UnmeteredOnly => "unmetered_only",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [PhotoPolicy::AnyNetwork, PhotoPolicy::UnmeteredOnly].into_iter().find(|p| p.as_str() == s)
    }

    /// May photos go on `network`?
    pub fn allows(self, network: Network) -> bool {
        self == PhotoPolicy::AnyNetwork || network == Network::Unmetered
    }
}

/// The network the app says the phone is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    Unmetered,
    Metered,
}

/// Photo files by SHA-256: `<root>/<first two hex>/<sha256>` and `<sha256>.thumb`.
#[derive(Clone, Debug)]
pub struct PhotoFiles {
    root: PathBuf,
}

impl PhotoFiles {
    pub fn open(root: impl Into<PathBuf>) -> Result<PhotoFiles> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| Error::Io(format!("photo directory: {}", e.kind())))?;
        Ok(PhotoFiles { root })
    }

    pub(crate) fn dir(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[..2])
    }

    pub fn path(&self, sha: &str) -> PathBuf {
        self.dir(sha).join(sha)
    }

    pub fn thumb_path(&self, sha: &str) -> PathBuf {
        self.dir(sha).join(format!("{sha}.thumb"))
    }

    pub fn has(&self, sha: &str) -> bool {
        is_sha256_hex(sha) && self.path(sha).is_file()
    }

    /// Write `bytes` as `name` atomically: a temporary file, fsync, rename.
    fn put_file(&self, sha: &str, name: &Path, bytes: &[u8]) -> Result<()> {
        let dir = self.dir(sha);
        fs::create_dir_all(&dir).map_err(|e| Error::Io(format!("photo directory: {}", e.kind())))?;
        if name.is_file() {
            return Ok(()); // content-addressed: same name, same bytes
        }
        let tmp = dir.join(format!(".{}.{}.tmp", sha, std::process::id()));
        let io = |e: std::io::Error| Error::Io(format!("writing a photo: {}", e.kind()));
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        fs::rename(&tmp, name).map_err(io)?;
        Ok(())
    }

    pub fn put(&self, sha: &str, bytes: &[u8], thumb: Option<&[u8]>) -> Result<()> {
        self.put_file(sha, &self.path(sha), bytes)?;
        if let Some(t) = thumb {
            self.put_file(sha, &self.thumb_path(sha), t)?;
        }
        Ok(())
    }

    /// Remove every file (another account's photos when the device changes hands).
    pub fn clear(&self) -> Result<()> {
        let io = |e: std::io::Error| Error::Io(format!("clearing photos: {}", e.kind()));
        fs::remove_dir_all(&self.root).or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(io(e)) })?;
        fs::create_dir_all(&self.root).map_err(io)
    }

    pub fn delete(&self, sha: &str) -> Result<()> {
        for p in [self.path(sha), self.thumb_path(sha)] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Io(format!("deleting a photo: {}", e.kind()))),
            }
        }
        Ok(())
    }
}

/// A photo arriving from the server: written to a temporary file, checked, then moved in.
pub struct Download {
    tmp: PathBuf,
    file: File,
    hasher: sha2::Sha256,
    head: Vec<u8>,
    bytes: u64,
    target: PathBuf,
    sha: String,
    thumb: bool,
}

impl Download {
    pub fn begin(store: &PhotoFiles, sha: &str, thumb: bool) -> Result<Download> {
        let dir = store.dir(sha);
        let io = |e: std::io::Error| Error::Io(format!("saving a photo: {}", e.kind()));
        fs::create_dir_all(&dir).map_err(io)?;
        // Unique per download: two fetches of one photo must not share a file.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{sha}.{}.{n}.{}.part", std::process::id(), thumb as u8));
        let file = File::create(&tmp).map_err(io)?;
        let target = if thumb { store.thumb_path(sha) } else { store.path(sha) };
        Ok(Download { tmp, file, hasher: sha2::Digest::new(), head: Vec::new(), bytes: 0, target, sha: sha.to_owned(), thumb })
    }

    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        use sha2::Digest;
        self.hasher.update(chunk);
        if self.head.len() < 16 {
            self.head.extend_from_slice(&chunk[..chunk.len().min(16 - self.head.len())]);
        }
        self.bytes += chunk.len() as u64;
        self.file.write_all(chunk).map_err(|e| Error::Io(format!("saving a photo: {}", e.kind())))
    }

    /// Check and move into place: the full photo must hash to its name.
    pub fn finish(mut self) -> Result<(PathBuf, u64, &'static str)> {
        use sha2::Digest;
        let io = |e: std::io::Error| Error::Io(format!("saving a photo: {}", e.kind()));
        self.file.sync_all().map_err(io)?;
        let hash = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let format = crate::media::Format::sniff(&self.head);
        if (!self.thumb && hash != self.sha) || format.is_none() {
            let _ = fs::remove_file(&self.tmp);
            return Err(Error::Decode("the photo received does not match its hash".into()));
        }
        fs::rename(&self.tmp, &self.target).map_err(io)?;
        Ok((self.target.clone(), self.bytes, format.map(|f| f.mime()).unwrap_or("image/jpeg")))
    }
}

impl Drop for Download {
    fn drop(&mut self) {
        if self.tmp.exists() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
