//! Blobs as files under a directory (`<data>/blobs`). A put copies into `.tmp/`, fsyncs,
//! renames over the key's path and fsyncs the directory: a reader opens either the old
//! file or the new one, never a part, and an acknowledged put survives a power cut.

use super::{Blob, BlobResult, BlobStore, Listed, check_key};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const TMP_DIR: &str = ".tmp";
const READ_CHUNK: usize = 64 * 1024;

pub struct LocalBlobs {
    root: PathBuf,
    counter: AtomicU64,
}

impl LocalBlobs {
    /// A store in `root` (created if missing). Leftover temporary files of an earlier run
    /// are removed.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        Ok(LocalBlobs { root, counter: AtomicU64::new(0) })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> BlobResult<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn tmp_path(&self) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.root.join(TMP_DIR).join(format!("{}-{n}", std::process::id()))
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Where a put takes its bytes from.
enum Source<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

fn put_blocking(src: Source<'_>, tmp: &Path, dest: &Path) -> io::Result<()> {
    let result = (|| {
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        match src {
            Source::File(src) => {
                fs::copy(src, tmp)?;
                fs::OpenOptions::new().write(true).open(tmp)?.sync_all()?;
            }
            Source::Bytes(bytes) => {
                let mut f = fs::File::create(tmp)?;
                io::Write::write_all(&mut f, bytes)?;
                f.sync_all()?;
            }
        }
        fs::rename(tmp, dest)?;
        if let Some(parent) = dest.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// The files under `dir` (the directory of key `prefix`), as keys.
fn list_blocking(dir: &Path, prefix: &str) -> io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), prefix.to_owned())];
    while let Some((dir, key)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            let meta = match entry.metadata() {
                Ok(m) => m,
                // Removed meanwhile (another upload finished): not listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let child = format!("{key}/{name}");
            if meta.is_dir() {
                stack.push((entry.path(), child));
            } else {
                let modified = meta.modified().map(chrono::DateTime::<chrono::Utc>::from).unwrap_or_default();
                out.push(Listed { key: child, len: meta.len(), modified });
            }
        }
    }
    Ok(out)
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put_file(&self, key: &str, src: &Path) -> BlobResult<()> {
        let dest = self.path_of(key)?;
        let tmp = self.tmp_path();
        let src = src.to_path_buf();
        tokio::task::spawn_blocking(move || put_blocking(Source::File(&src), &tmp, &dest))
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        Ok(())
    }

    async fn put_bytes(&self, key: &str, bytes: Bytes) -> BlobResult<()> {
        let dest = self.path_of(key)?;
        let tmp = self.tmp_path();
        tokio::task::spawn_blocking(move || put_blocking(Source::Bytes(&bytes), &tmp, &dest))
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> BlobResult<Vec<Listed>> {
        let dir = self.path_of(prefix)?;
        let prefix = prefix.to_owned();
        let listed = tokio::task::spawn_blocking(move || list_blocking(&dir, &prefix))
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        Ok(listed)
    }

    async fn get(&self, key: &str) -> BlobResult<Option<Blob>> {
        let path = self.path_of(key)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // The length of the opened file: a rename replacing it later does not change it.
        let len = file.metadata().await?.len();
        let stream = tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK).boxed();
        Ok(Some(Blob { len, stream }))
    }

    async fn exists(&self, key: &str) -> BlobResult<bool> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> BlobResult<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn describe(&self) -> String {
        format!("local directory {}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::conformance::Opened;
    use std::sync::Arc;

    async fn open() -> Opened {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalBlobs::open(dir.path().join("blobs")).expect("open");
        Opened { store: Arc::new(store), _guard: Box::new(dir) }
    }

    crate::blob_conformance!(open);

    #[tokio::test]
    async fn leftover_temp_files_are_cleared_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("blobs");
        drop(LocalBlobs::open(&root).expect("open"));
        std::fs::write(root.join(TMP_DIR).join("stale"), b"half").expect("write");
        let store = LocalBlobs::open(&root).expect("reopen");
        assert_eq!(std::fs::read_dir(store.root().join(TMP_DIR)).expect("dir").count(), 0);
    }
}
