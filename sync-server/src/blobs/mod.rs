//! The blob store: where photo files and their thumbnails live, by key
//! (`photos/ab/<sha256>`, `thumbs/ab/<sha256>`). One interface, two implementations: a
//! directory ([`local::LocalBlobs`]) and an S3-compatible object store ([`s3::S3Blobs`]).
//! Both pass the suite in `conformance.rs`. Objects appear whole or not at all: a reader
//! never sees half of one.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::path::Path;

pub mod local;
pub mod s3;

#[cfg(any(test, feature = "test-support"))]
pub mod conformance;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key")]
    InvalidKey,
    #[error("blob io error: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store error: {0}")]
    Store(String),
}

pub type BlobResult<T> = std::result::Result<T, BlobError>;

/// An object being read: its length and its bytes, in chunks.
pub struct Blob {
    pub len: u64,
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob").field("len", &self.len).finish_non_exhaustive()
    }
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Store the finished local file `src` under `key`, replacing any object there.
    /// Atomic: until it returns, readers see the old object (or none), never a part.
    /// `src` is left in place.
    async fn put_file(&self, key: &str, src: &Path) -> BlobResult<()>;
    /// The object under `key`, streamed; `None` if there is none.
    async fn get(&self, key: &str) -> BlobResult<Option<Blob>>;
    async fn exists(&self, key: &str) -> BlobResult<bool>;
    /// Store `bytes` (a small object: a staged piece of an upload) under `key`, atomically
    /// as [`BlobStore::put_file`].
    async fn put_bytes(&self, key: &str, bytes: Bytes) -> BlobResult<()>;
    /// Every object whose key starts with the segments of `prefix` (`staging/ab`: keys
    /// under `staging/ab/`), in no particular order.
    async fn list(&self, prefix: &str) -> BlobResult<Vec<Listed>>;
    /// Remove `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> BlobResult<()>;
    /// For logs: which store this is (no credentials).
    fn describe(&self) -> String;
}

/// One object of a [`BlobStore::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub len: u64,
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// Key of a photo's file.
pub fn photo_key(sha256: &str) -> String {
    format!("photos/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

/// Key of a photo's thumbnail.
pub fn thumb_key(sha256: &str) -> String {
    format!("thumbs/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

/// Keys are `/`-separated segments of `[a-z0-9._-]`, none empty or starting with `.`
/// (the local store keeps its temporary files under `.tmp/`).
pub fn check_key(key: &str) -> BlobResult<()> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
        });
    if ok { Ok(()) } else { Err(BlobError::InvalidKey) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_use_the_two_char_fanout_and_reject_escapes() {
        let sha = "ab".repeat(32);
        assert_eq!(photo_key(&sha), format!("photos/ab/{sha}"));
        assert_eq!(thumb_key(&sha), format!("thumbs/ab/{sha}"));
        assert!(check_key(&photo_key(&sha)).is_ok());
        for bad in ["", "/a", "a/", "a//b", "../a", "a/../b", "A/b", "a/b c", "./a", ".tmp/x"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
