//! Blobs as files under a directory (`<data>/blobs`). A put copies into `.tmp/`, fsyncs,
//! renames over the key's path and fsyncs the directory: a reader opens either the old
//! file or the new one, never a part, and an acknowledged put survives a power cut.

use super::{Blob, BlobResult, BlobStore, check_key};
use async_trait::async_trait;
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

fn put_blocking(src: &Path, tmp: &Path, dest: &Path) -> io::Result<()> {
    let result = (|| {
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(src, tmp)?;
        fs::OpenOptions::new().write(true).open(tmp)?.sync_all()?;
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

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put_file(&self, key: &str, src: &Path) -> BlobResult<()> {
        let dest = self.path_of(key)?;
        let tmp = self.tmp_path();
        let src = src.to_path_buf();
        tokio::task::spawn_blocking(move || put_blocking(&src, &tmp, &dest))
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        Ok(())
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
