//! Upload staging in the blob store itself, for servers that share one object store: an
//! upload started through one server process resumes through any other, because no byte
//! waits on one machine's disk.
//!
//! An upload of photo `<sha>` declared `<size>` bytes long is a marker object and pieces:
//!
//! ```text
//! staging/<sha>/<size hex>/size                      the upload was started
//! staging/<sha>/<size hex>/<offset:016x>-<len:08x>   bytes [offset, offset+len)
//! ```
//!
//! Each append puts what it received as pieces of at most [`PIECE`] bytes, never
//! overwriting one: pieces are named by where they start *and* how long they are. What
//! the server holds is the run of pieces contiguous from 0; pieces may overlap (two
//! processes that both took an append at one offset after a device switched), which does
//! no harm because every byte at one offset of one photo is the same byte, and the
//! SHA-256 check at the end catches any that is not. So no lock is needed across
//! processes: the per-process lock in `photos.rs` only keeps one process's appends apart.

use crate::blobs::{BlobStore, Listed};
use bytes::Bytes;
use futures::StreamExt;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

/// The most bytes one piece holds: what an append keeps in memory before it is put.
pub const PIECE: usize = 1024 * 1024;
const ROOT: &str = "staging";
const MARKER: &str = "size";

fn io_err(e: crate::blobs::BlobError) -> io::Error {
    io::Error::other(e.to_string())
}

/// A piece as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    key: String,
    offset: u64,
    len: u64,
}

/// One upload's objects, as listed: the declared sizes it was started with (newest
/// first) and the pieces of each.
#[derive(Debug, Default)]
struct Listing {
    sizes: Vec<(u64, chrono::DateTime<chrono::Utc>)>,
    pieces: Vec<(u64, Piece)>,
    keys: Vec<String>,
}

fn parse(sha256: &str, listed: Vec<Listed>) -> Listing {
    let mut out = Listing::default();
    let prefix = format!("{ROOT}/{sha256}/");
    for l in listed {
        let Some(rest) = l.key.strip_prefix(&prefix) else { continue };
        out.keys.push(l.key.clone());
        let Some((size, name)) = rest.split_once('/') else { continue };
        let Ok(size) = u64::from_str_radix(size, 16) else { continue };
        if name == MARKER {
            out.sizes.push((size, l.modified));
            continue;
        }
        let Some((offset, len)) = name.split_once('-') else { continue };
        let (Ok(offset), Ok(len)) = (u64::from_str_radix(offset, 16), u64::from_str_radix(len, 16)) else { continue };
        // A listing's length is the object's: a piece named longer than it holds is not one.
        if len == l.len && len > 0 {
            out.pieces.push((size, Piece { key: l.key, offset, len }));
        }
    }
    out.sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
    out
}

/// The pieces of an upload of `size`, sorted by offset, and how far they reach
/// contiguously from 0.
fn chain(listing: &Listing, size: u64) -> (Vec<Piece>, u64) {
    let mut pieces: Vec<Piece> = listing.pieces.iter().filter(|(s, _)| *s == size).map(|(_, p)| p.clone()).collect();
    pieces.sort_by_key(|p| (p.offset, std::cmp::Reverse(p.len)));
    let mut reach = 0;
    for p in &pieces {
        if p.offset > reach {
            break;
        }
        reach = reach.max(p.offset + p.len);
    }
    (pieces, reach.min(size))
}

/// Staging in a (shared) blob store.
pub struct StoreStaging {
    blobs: Arc<dyn BlobStore>,
}

impl StoreStaging {
    pub fn new(blobs: Arc<dyn BlobStore>) -> Self {
        StoreStaging { blobs }
    }

    async fn listing(&self, sha256: &str) -> io::Result<Listing> {
        Ok(parse(sha256, self.blobs.list(&format!("{ROOT}/{sha256}")).await.map_err(io_err)?))
    }

    /// Start (or resume) the upload of `sha256` declared `size` bytes long: how many bytes
    /// are held. An upload started with another size is dropped first.
    pub async fn begin(&self, sha256: &str, size: u64) -> io::Result<u64> {
        let listing = self.listing(sha256).await?;
        let prefix = format!("{ROOT}/{sha256}/{size:x}/");
        for key in listing.keys.iter().filter(|k| !k.starts_with(&prefix)) {
            self.blobs.delete(key).await.map_err(io_err)?;
        }
        if !listing.sizes.iter().any(|(s, _)| *s == size) {
            self.blobs.put_bytes(&format!("{prefix}{MARKER}"), Bytes::new()).await.map_err(io_err)?;
        }
        Ok(chain(&listing, size).1)
    }

    /// The upload under way: its declared size and the bytes held; `None` if none was
    /// started (or it was finished meanwhile).
    pub async fn progress(&self, sha256: &str) -> io::Result<Option<(u64, u64)>> {
        let listing = self.listing(sha256).await?;
        Ok(listing.sizes.first().map(|&(size, _)| (size, chain(&listing, size).1)))
    }

    /// Keep `bytes`, which start at `offset` of the upload of `size`.
    pub async fn put_piece(&self, sha256: &str, size: u64, offset: u64, bytes: Bytes) -> io::Result<String> {
        let key = format!("{ROOT}/{sha256}/{size:x}/{offset:016x}-{:08x}", bytes.len());
        self.blobs.put_bytes(&key, bytes).await.map_err(io_err)?;
        Ok(key)
    }

    /// Remove pieces (an append that ran over the declared size keeps nothing).
    pub async fn remove(&self, keys: &[String]) -> io::Result<()> {
        for key in keys {
            self.blobs.delete(key).await.map_err(io_err)?;
        }
        Ok(())
    }

    /// Write the whole upload of `size` into the local file `dest`, in order: `false` if
    /// the pieces no longer reach the end (another process finished it and removed them).
    pub async fn assemble(&self, sha256: &str, size: u64, dest: &Path) -> io::Result<bool> {
        let (pieces, reach) = chain(&self.listing(sha256).await?, size);
        if reach < size {
            return Ok(false);
        }
        let mut out = io::BufWriter::new(std::fs::File::create(dest)?);
        let mut pos = 0u64;
        for p in pieces {
            if pos >= size {
                break;
            }
            if p.offset + p.len <= pos {
                continue;
            }
            let Some(blob) = self.blobs.get(&p.key).await.map_err(io_err)? else { return Ok(false) };
            let mut skip = pos - p.offset;
            let mut stream = blob.stream;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                let from = usize::try_from(skip.min(chunk.len() as u64)).unwrap_or(chunk.len());
                skip -= from as u64;
                let take = &chunk[from..];
                let take = &take[..usize::try_from((size - pos).min(take.len() as u64)).unwrap_or(take.len())];
                out.write_all(take)?;
                pos += take.len() as u64;
            }
            if pos < (p.offset + p.len).min(size) {
                return Ok(false);
            }
        }
        out.flush()?;
        out.get_ref().sync_data()?;
        Ok(pos == size)
    }

    /// Forget the upload of `sha256`: every object of it.
    pub async fn discard(&self, sha256: &str) -> io::Result<()> {
        let listing = self.listing(sha256).await?;
        // Pieces first, the marker last: a process that lists meanwhile sees a started
        // upload with fewer bytes, never pieces without their upload.
        let (markers, pieces): (Vec<&String>, Vec<&String>) = listing.keys.iter().partition(|k| k.ends_with(MARKER));
        for key in pieces.into_iter().chain(markers) {
            self.blobs.delete(key).await.map_err(io_err)?;
        }
        Ok(())
    }

    /// Remove every staged object untouched for `older_than` (uploads given up on);
    /// how many.
    pub async fn sweep(&self, older_than: std::time::Duration) -> io::Result<usize> {
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let mut removed = 0;
        for l in self.blobs.list(ROOT).await.map_err(io_err)? {
            if l.modified < cutoff {
                self.blobs.delete(&l.key).await.map_err(io_err)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::local::LocalBlobs;

    fn staging() -> (tempfile::TempDir, StoreStaging) {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = LocalBlobs::open(dir.path().join("blobs")).expect("blobs");
        (dir, StoreStaging::new(Arc::new(blobs)))
    }

    #[tokio::test]
    async fn overlapping_pieces_from_two_processes_assemble_once_in_order() {
        let (dir, s) = staging();
        let sha = "ab".repeat(32);
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let size = data.len() as u64;
        assert_eq!(s.begin(&sha, size).await.expect("begin"), 0);
        s.put_piece(&sha, size, 0, Bytes::copy_from_slice(&data[..1500])).await.expect("piece");
        // A second process took an append at 1000 (the device switched mid-append).
        s.put_piece(&sha, size, 1000, Bytes::copy_from_slice(&data[1000..3000])).await.expect("piece");
        s.put_piece(&sha, size, 1500, Bytes::copy_from_slice(&data[1500..2000])).await.expect("piece");
        // A gap: bytes beyond it do not count yet.
        s.put_piece(&sha, size, 4000, Bytes::copy_from_slice(&data[4000..])).await.expect("piece");
        assert_eq!(s.progress(&sha).await.expect("progress"), Some((size, 3000)));
        let dest = dir.path().join("whole");
        assert!(!s.assemble(&sha, size, &dest).await.expect("assemble"), "not whole yet");
        s.put_piece(&sha, size, 3000, Bytes::copy_from_slice(&data[3000..4000])).await.expect("piece");
        assert_eq!(s.begin(&sha, size).await.expect("resume"), size);
        assert!(s.assemble(&sha, size, &dest).await.expect("assemble"));
        assert_eq!(std::fs::read(&dest).expect("read"), data);
        s.discard(&sha).await.expect("discard");
        assert_eq!(s.progress(&sha).await.expect("progress"), None);
    }

    #[tokio::test]
    async fn another_declared_size_starts_again_and_stale_uploads_are_swept() {
        let (_dir, s) = staging();
        let sha = "cd".repeat(32);
        s.begin(&sha, 10).await.expect("begin");
        s.put_piece(&sha, 10, 0, Bytes::from_static(b"01234")).await.expect("piece");
        assert_eq!(s.begin(&sha, 12).await.expect("begin"), 0, "another size: from the start");
        assert_eq!(s.progress(&sha).await.expect("progress"), Some((12, 0)));
        assert_eq!(s.sweep(std::time::Duration::from_secs(3600)).await.expect("sweep"), 0, "fresh: kept");
        assert_eq!(s.sweep(std::time::Duration::ZERO).await.expect("sweep"), 1);
        assert_eq!(s.progress(&sha).await.expect("progress"), None);
    }
}
