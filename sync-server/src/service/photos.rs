//! Photo uploads (resumable, tus-like) and serving, independent of HTTP details and SQL.
//!
//! A device names a photo by its SHA-256. `start` tells how many bytes the server already
//! has (all of them if the blob store holds the photo, whoever sent it); `append` writes
//! bytes at that offset into a staging file `<data>/uploads/<sha256>.part`, keeping what
//! arrived even when the connection breaks. When the file reaches its declared size it is
//! checked (hash, image type, decodable), thumbnailed, put into the blob store and
//! recorded; a failed check removes the staging file, so nothing half-written remains.
//! Appends to one photo are serialised by a per-photo async mutex.
//!
//! Servers that share an object store ([`PhotoFiles::shared`]) stage in that store instead
//! (`staging.rs`), so that an upload resumes through any of them; the local directory then
//! only holds the file being checked.

use crate::blobs::local::LocalBlobs;
use crate::blobs::{Blob, BlobStore, photo_key, thumb_key};
use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::domain::error::{Conflict, InvalidKind, TooLarge};
use crate::service::reference::ReferenceService;
use crate::service::staging::{PIECE, StoreStaging};
use crate::storage::moderation::Region;
use crate::storage::{PhotoRow, PhotoSight, PhotoStore};
use bytes::Bytes;
use chrono::Utc;
use futures::{Stream, StreamExt};
use gridwork_core::media::{Format, JpegEnd, is_sha256_hex};
use gridwork_core::protocol::{RejectReason, Rejection, UploadStart, UploadStatus};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::OwnedMutexGuard;

/// Long edge of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 320;
const THUMB_QUALITY: u8 = 80;
/// An append whose body sends nothing for this long is treated as a broken connection
/// (flaky 4G leaves half-open sockets); what arrived is kept and the photo's lock freed.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Decoding limits for thumbnails: a hostile "photo" must not exhaust memory.
const MAX_DECODE_EDGE: u32 = 30_000;
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
/// Unfinished uploads untouched this long are removed when the server starts.
pub const STALE_UPLOAD: Duration = Duration::from_secs(7 * 24 * 3600);
/// Thumbnails decoded at once: with the allocation limit, a bound on decoding memory
/// whatever many uploads finish together.
static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Where photo files are staged and kept: the blob store, the staging area, the per-photo
/// upload locks.
pub struct PhotoFiles {
    blobs: Arc<dyn BlobStore>,
    /// Staging in the blob store (several servers on one store); `None`: in `uploads`.
    shared: Option<StoreStaging>,
    uploads: PathBuf,
    max_bytes: u64,
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for PhotoFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoFiles")
            .field("blobs", &self.blobs.describe())
            .field("uploads", &self.uploads)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl PhotoFiles {
    /// Photos in `blobs`, staged in `uploads_dir` (created if missing), at most `max_bytes` each.
    pub fn new(blobs: Arc<dyn BlobStore>, uploads_dir: impl Into<PathBuf>, max_bytes: u64) -> io::Result<Self> {
        let uploads = uploads_dir.into();
        fs::create_dir_all(&uploads)?;
        // Thumbnails being made when the server stopped are worthless; parts are kept for
        // their devices to resume, unless nobody touched them for STALE_UPLOAD (a device
        // that gave up, or someone filling the disk with uploads never finished).
        for entry in fs::read_dir(&uploads)? {
            let entry = entry?;
            let path = entry.path();
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_UPLOAD);
            if stale || path.extension().is_some_and(|e| e == "tmp" || e == "jpg") {
                let _ = fs::remove_file(path);
            }
        }
        Ok(PhotoFiles { blobs, shared: None, uploads, max_bytes, locks: Mutex::new(HashMap::new()) })
    }

    /// Photos in `blobs`, staged in `blobs` too, so that any server process sharing the
    /// store resumes an upload another one started; `scratch_dir` holds this process's
    /// files being checked. Staged uploads untouched for [`STALE_UPLOAD`] are swept by
    /// [`PhotoFiles::sweep_staging`].
    pub fn shared(blobs: Arc<dyn BlobStore>, scratch_dir: impl Into<PathBuf>, max_bytes: u64) -> io::Result<Self> {
        let mut files = Self::new(blobs.clone(), scratch_dir, max_bytes)?;
        files.shared = Some(StoreStaging::new(blobs));
        Ok(files)
    }

    /// Remove uploads staged in a shared store and untouched for [`STALE_UPLOAD`].
    pub async fn sweep_staging(&self) -> io::Result<usize> {
        match &self.shared {
            Some(staging) => staging.sweep(STALE_UPLOAD).await,
            None => Ok(0),
        }
    }

    /// The default layout under the data directory: blobs in `<data>/blobs`, staging in
    /// `<data>/uploads`.
    pub fn local(data_dir: &Path, max_bytes: u64) -> io::Result<Self> {
        let blobs = LocalBlobs::open(data_dir.join("blobs"))?;
        Self::new(Arc::new(blobs), data_dir.join("uploads"), max_bytes)
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn uploads_dir(&self) -> &Path {
        &self.uploads
    }

    /// Staging file of a photo being uploaded.
    pub fn part_path(&self, sha256: &str) -> PathBuf {
        self.uploads.join(format!("{sha256}.part"))
    }

    fn size_path(&self, sha256: &str) -> PathBuf {
        self.uploads.join(format!("{sha256}.size"))
    }

    fn thumb_tmp_path(&self, sha256: &str) -> PathBuf {
        self.uploads.join(format!("{sha256}.thumb.jpg"))
    }

    /// The upload lock of one photo.
    async fn lock(&self, sha256: &str) -> OwnedMutexGuard<()> {
        let mutex = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            if locks.len() > 256 {
                locks.retain(|_, w| w.strong_count() > 0);
            }
            match locks.get(sha256).and_then(Weak::upgrade) {
                Some(m) => m,
                None => {
                    let m = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(sha256.to_owned(), Arc::downgrade(&m));
                    m
                }
            }
        };
        mutex.lock_owned().await
    }
}

fn status(sha256: &str, size: u64, offset: u64) -> UploadStatus {
    UploadStatus { sha256: sha256.to_owned(), size, offset, complete: offset == size && size > 0 }
}

fn done(row: &PhotoRow) -> UploadStatus {
    UploadStatus { sha256: row.sha256.clone(), size: row.size, offset: row.size, complete: true }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> io::Result<T> + Send + 'static) -> Result<T, DomainError> {
    tokio::task::spawn_blocking(f).await.map_err(DomainError::internal)?.map_err(DomainError::internal)
}

/// Uploads and serving: the files, which photos are recorded, and who may see them.
pub struct PhotosService {
    files: PhotoFiles,
    store: Arc<dyn PhotoStore>,
    reference: Arc<ReferenceService>,
    /// The uploads each account has started and not finished, with when each was last
    /// started (a phone sends its queue one photo at a time, so a few; a flood of starts
    /// would fill the staging disk).
    open: std::sync::Mutex<std::collections::HashMap<String, std::collections::HashMap<String, std::time::Instant>>>,
}

/// Unfinished uploads one account may have at once.
pub const MAX_OPEN_UPLOADS: usize = 64;

/// Count `sha256` among one account's open uploads at `now`: those not started again for
/// [`OPEN_UPLOAD_COUNTS_FOR`] no longer count; a new one beyond the bound is refused.
fn count_open(
    mine: &mut std::collections::HashMap<String, std::time::Instant>,
    sha256: &str,
    now: std::time::Instant,
) -> Result<(), DomainError> {
    mine.retain(|_, started| now.saturating_duration_since(*started) < OPEN_UPLOAD_COUNTS_FOR);
    if !mine.contains_key(sha256) && mine.len() >= MAX_OPEN_UPLOADS {
        return Err(DomainError::TooManyUploads { max: MAX_OPEN_UPLOADS });
    }
    mine.insert(sha256.to_owned(), now);
    Ok(())
}
/// An upload not started again for this long no longer counts (a phone that gave up on a
/// photo never finishes it); its staging file goes with the stale ones at the next start.
pub const OPEN_UPLOAD_COUNTS_FOR: std::time::Duration = std::time::Duration::from_secs(60 * 60);

impl PhotosService {
    pub fn new(files: PhotoFiles, store: Arc<dyn PhotoStore>, reference: Arc<ReferenceService>) -> Self {
        PhotosService { files, store, reference, open: Default::default() }
    }

    /// Count `sha256` as an unfinished upload of `user`, unless that makes too many.
    fn open_upload(&self, user: &str, sha256: &str) -> Result<(), DomainError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        count_open(open.entry(user.to_owned()).or_default(), sha256, std::time::Instant::now())
    }

    /// The upload is over (stored, or its bytes refused and discarded).
    fn close_upload(&self, user: &str, sha256: &str) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mine) = open.get_mut(user) {
            mine.remove(sha256);
            if mine.is_empty() {
                open.remove(user);
            }
        }
    }

    pub fn files(&self) -> &PhotoFiles {
        &self.files
    }

    /// The photo's row if the server holds it (recorded and present in the blob store) and
    /// `caller` may know that: they sent it, or a record they can see lists it. To anyone
    /// else a held photo looks like one the server lacks, and they upload it like any other
    /// (their bytes prove they have it); the answer never tells whether it exists.
    async fn held_for(&self, caller: &Caller, sha256: &str) -> Result<Option<PhotoRow>, DomainError> {
        let Some(row) = self.store.photo_uploaded(sha256).await? else { return Ok(None) };
        if row.uploaded_by != caller.user_id {
            let refs = self.reference.current().await?;
            if self.store.photo_sight(sha256, &caller.visibility(&refs.index)).await? != PhotoSight::Vouched {
                return Ok(None);
            }
        }
        let present = self.files.blobs().exists(&photo_key(sha256)).await.map_err(DomainError::internal)?;
        Ok(present.then_some(row))
    }

    /// `POST /v1/photos/uploads`: how much of the photo the server has; starts (or
    /// restarts, if the declared size changed) the staging file.
    pub async fn start(&self, caller: &Caller, req: UploadStart) -> Result<UploadStatus, DomainError> {
        if !is_sha256_hex(&req.sha256) {
            return Err(DomainError::invalid_input("sha256", "sha256: 应为64位小写十六进制"));
        }
        if req.size == 0 {
            return Err(DomainError::invalid_input("size", "size: 应大于0"));
        }
        if req.size > self.files.max_bytes() {
            return Err(DomainError::TooLarge(TooLarge::Photo { max: self.files.max_bytes() }));
        }
        let _guard = self.files.lock(&req.sha256).await;
        if let Some(row) = self.held_for(caller, &req.sha256).await? {
            return Ok(done(&row));
        }
        self.open_upload(&caller.user_id, &req.sha256)?;
        let offset = match &self.files.shared {
            Some(staging) => staging.begin(&req.sha256, req.size).await.map_err(DomainError::internal)?,
            None => {
                let (part, size_file, size) = (self.files.part_path(&req.sha256), self.files.size_path(&req.sha256), req.size);
                blocking(move || prepare_staging(&part, &size_file, size)).await?
            }
        };
        if offset == req.size {
            // Every byte arrived earlier but finishing failed (e.g. the blob store was down).
            return self.finish(&caller.user_id, &req.sha256, req.size).await;
        }
        Ok(status(&req.sha256, req.size, offset))
    }

    /// `PATCH /v1/photos/uploads/{sha256}`: write `body` at `offset`. `content_length` (if
    /// the request had one) lets an over-long append be refused before reading it.
    ///
    /// The work runs in its own task holding the photo's lock, so that a request dropped
    /// mid-body (the client went away) still flushes what arrived before the lock is freed.
    pub async fn append<S, E>(
        self: &Arc<Self>,
        caller: &Caller,
        sha256: &str,
        offset: u64,
        content_length: Option<u64>,
        body: S,
    ) -> Result<UploadStatus, DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Send + 'static,
    {
        if !is_sha256_hex(sha256) {
            return Err(DomainError::NotFound);
        }
        let guard = self.files.lock(sha256).await;
        let (this, caller, sha256) = (self.clone(), caller.clone(), sha256.to_owned());
        tokio::spawn(async move {
            let result = this.append_locked(&caller, &sha256, offset, content_length, body).await;
            drop(guard);
            result
        })
        .await
        .map_err(DomainError::internal)?
    }

    async fn append_locked<S, E>(
        &self,
        caller: &Caller,
        sha256: &str,
        offset: u64,
        content_length: Option<u64>,
        body: S,
    ) -> Result<UploadStatus, DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
    {
        if let Some(row) = self.held_for(caller, sha256).await? {
            return Ok(done(&row));
        }
        if let Some(staging) = &self.files.shared {
            return self.append_shared(staging, caller, sha256, offset, content_length, body).await;
        }
        let part = self.files.part_path(sha256);
        let size_file = self.files.size_path(sha256);
        let Some(declared) = blocking(move || read_declared(&size_file)).await? else {
            // No upload under way: the device re-POSTs to start one.
            return Err(DomainError::Conflict(Conflict::UploadOffset));
        };
        let mut file = match tokio::fs::OpenOptions::new().write(true).open(&part).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(DomainError::Conflict(Conflict::UploadOffset)),
            Err(e) => return Err(DomainError::internal(e)),
        };
        let len = file.metadata().await.map_err(DomainError::internal)?.len();
        if len != offset {
            return Err(DomainError::Conflict(Conflict::UploadOffset));
        }
        let room = declared.saturating_sub(offset);
        if content_length.is_some_and(|n| n > room) {
            return Err(too_long());
        }
        file.seek(io::SeekFrom::Start(offset)).await.map_err(DomainError::internal)?;

        let mut written: u64 = 0;
        let mut body = std::pin::pin!(body);
        let outcome = loop {
            match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    if written + chunk.len() as u64 > room {
                        break Err(too_long());
                    }
                    if let Err(e) = file.write_all(&chunk).await {
                        break Err(DomainError::internal(e));
                    }
                    written += chunk.len() as u64;
                }
                Ok(None) => break Ok(()),
                // The connection broke or stalled: keep what arrived.
                Ok(Some(Err(_))) | Err(_) => break Err(DomainError::Interrupted),
            }
        };
        if matches!(outcome, Err(DomainError::Invalid { kind: InvalidKind::UploadTooLong, .. })) {
            file.set_len(offset).await.map_err(DomainError::internal)?;
        }
        file.flush().await.map_err(DomainError::internal)?;
        file.sync_data().await.map_err(DomainError::internal)?;
        drop(file);
        outcome?;

        let now = offset + written;
        if now == declared { self.finish(&caller.user_id, sha256, declared).await } else { Ok(status(sha256, declared, now)) }
    }

    /// [`Self::append_locked`] into a shared store: what arrives is put as pieces of at most
    /// [`PIECE`] bytes (kept even when the connection breaks), so memory stays bounded.
    async fn append_shared<S, E>(
        &self,
        staging: &StoreStaging,
        caller: &Caller,
        sha256: &str,
        offset: u64,
        content_length: Option<u64>,
        body: S,
    ) -> Result<UploadStatus, DomainError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
    {
        let Some((declared, held)) = staging.progress(sha256).await.map_err(DomainError::internal)? else {
            return Err(DomainError::Conflict(Conflict::UploadOffset));
        };
        if held != offset {
            return Err(DomainError::Conflict(Conflict::UploadOffset));
        }
        let room = declared.saturating_sub(offset);
        if content_length.is_some_and(|n| n > room) {
            return Err(too_long());
        }
        let mut buf = bytes::BytesMut::new();
        let (mut written, mut put) = (0u64, Vec::new());
        let mut body = std::pin::pin!(body);
        let outcome = loop {
            match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    if written + (buf.len() + chunk.len()) as u64 > room {
                        break Err(too_long());
                    }
                    buf.extend_from_slice(&chunk);
                    while buf.len() >= PIECE {
                        let piece = buf.split_to(PIECE).freeze();
                        let len = piece.len() as u64;
                        match staging.put_piece(sha256, declared, offset + written, piece).await {
                            Ok(key) => put.push(key),
                            Err(e) => return Err(DomainError::internal(e)),
                        }
                        written += len;
                    }
                }
                Ok(None) => break Ok(()),
                // The connection broke or stalled: keep what arrived.
                Ok(Some(Err(_))) | Err(_) => break Err(DomainError::Interrupted),
            }
        };
        if matches!(outcome, Err(DomainError::Invalid { kind: InvalidKind::UploadTooLong, .. })) {
            staging.remove(&put).await.map_err(DomainError::internal)?;
            return Err(too_long());
        }
        if !buf.is_empty() {
            let len = buf.len() as u64;
            staging.put_piece(sha256, declared, offset + written, buf.freeze()).await.map_err(DomainError::internal)?;
            written += len;
        }
        outcome?;
        let now = offset + written;
        if now == declared { self.finish(&caller.user_id, sha256, declared).await } else { Ok(status(sha256, declared, now)) }
    }

    /// Every byte has arrived: check, thumbnail, store, record. A failed check removes the
    /// staging file; a failure of the blob store or the database keeps it, so the next POST
    /// finishes the upload without the bytes being sent again.
    async fn finish(&self, user_id: &str, sha256: &str, size: u64) -> Result<UploadStatus, DomainError> {
        let result = self.finish_checked(user_id, sha256, size).await;
        // Stored, or refused and discarded: no longer open. A failure of the stores keeps
        // the staging file for the next POST, which counts it again.
        self.close_upload(user_id, sha256);
        result
    }

    async fn finish_checked(&self, user_id: &str, sha256: &str, size: u64) -> Result<UploadStatus, DomainError> {
        let part = self.files.part_path(sha256);
        let size_file = self.files.size_path(sha256);
        let thumb = self.files.thumb_tmp_path(sha256);
        if let Some(staging) = &self.files.shared
            && !staging.assemble(sha256, size, &part).await.map_err(DomainError::internal)?
        {
            let _ = tokio::fs::remove_file(&part).await;
            // Another server process finished it a moment ago (and removed the pieces).
            if let Some(row) = self.store.photo_uploaded(sha256).await? {
                return Ok(done(&row));
            }
            return Err(DomainError::Conflict(Conflict::UploadOffset));
        }
        let checked = {
            let (part, thumb, want) = (part.clone(), thumb.clone(), sha256.to_owned());
            let _decoding = DECODES.acquire().await.map_err(DomainError::internal)?;
            blocking(move || {
                let (got, ends) = hash_file(&part)?;
                if got != want {
                    return Ok(Checked::HashMismatch);
                }
                let Some(format) = Format::sniff(&ends.head) else { return Ok(Checked::NotAnImage) };
                // Decoders are lenient with a file cut short; its own framing is not.
                let whole = match format {
                    Format::Jpeg => ends.jpeg_end.found(),
                    other => other.ends_whole(&ends.head, &ends.tail, ends.len),
                };
                if !whole {
                    return Ok(Checked::NotAnImage);
                }
                let Some((rgb, dims)) = decode_thumbnail(&part)? else { return Ok(Checked::NotAnImage) };
                write_thumbnail(&rgb, &thumb)?;
                Ok(Checked::Ok(format, dims))
            })
            .await?
        };
        let (format, (width, height)) = match checked {
            Checked::Ok(f, dims) => (f, dims),
            bad => {
                let (part, size_file, thumb) = (part.clone(), size_file.clone(), thumb.clone());
                blocking(move || {
                    for p in [&part, &size_file, &thumb] {
                        remove_if_present(p)?;
                    }
                    Ok(())
                })
                .await?;
                if let Some(staging) = &self.files.shared {
                    staging.discard(sha256).await.map_err(DomainError::internal)?;
                }
                let (kind, message) = match bad {
                    Checked::HashMismatch => (InvalidKind::HashMismatch, "照片内容与声明的SHA-256不符"),
                    _ => (InvalidKind::NotAPhoto, "照片只能是JPEG、PNG或WebP格式"),
                };
                return Err(DomainError::Invalid { kind, rejection: Rejection::new(RejectReason::Invalid, None, message) });
            }
        };
        let stored = async {
            self.files.blobs().put_file(&thumb_key(sha256), &thumb).await?;
            self.files.blobs().put_file(&photo_key(sha256), &part).await
        }
        .await;
        if let Err(e) = stored {
            let _ = tokio::fs::remove_file(&thumb).await;
            if self.files.shared.is_some() {
                // The pieces stay in the store for the next attempt.
                let _ = tokio::fs::remove_file(&part).await;
            }
            return Err(DomainError::internal(format!("blob store: {e}")));
        }
        let row = PhotoRow {
            sha256: sha256.to_owned(),
            size,
            mime: format.mime().to_owned(),
            uploaded_by: user_id.to_owned(),
            uploaded_at: Utc::now(),
            width: Some(width),
            height: Some(height),
        };
        self.store.record_photo_uploaded(row).await?;
        blocking(move || {
            for p in [&part, &size_file, &thumb] {
                remove_if_present(p)?;
            }
            Ok(())
        })
        .await?;
        if let Some(staging) = &self.files.shared {
            staging.discard(sha256).await.map_err(DomainError::internal)?;
        }
        tracing::info!(user = %user_id, size, "photo uploaded");
        Ok(status(sha256, size, size))
    }

    /// The photo if `caller` may see it: a record in their scope lists it by a vouched link.
    /// Unknown and not visible look the same (`NotFound`); listed but not uploaded yet, or
    /// listed only by claims (whoever listed it has not sent it), is `PhotoPending`.
    pub async fn visible_photo(&self, caller: &Caller, sha256: &str) -> Result<PhotoRow, DomainError> {
        if !is_sha256_hex(sha256) {
            return Err(DomainError::NotFound);
        }
        let refs = self.reference.current().await?;
        match self.store.photo_sight(sha256, &caller.visibility(&refs.index)).await? {
            PhotoSight::Unseen => Err(DomainError::NotFound),
            // Listed only by those who have not sent it: pending, even if someone else has.
            PhotoSight::Claimed => Err(DomainError::PhotoPending),
            PhotoSight::Vouched => self.store.photo_uploaded(sha256).await?.ok_or(DomainError::PhotoPending),
        }
    }

    /// The file of a photo checked with [`Self::visible_photo`], with its content type.
    pub async fn open(&self, row: &PhotoRow, variant: Variant) -> Result<(Blob, &'static str), DomainError> {
        let (key, mime) = match variant {
            Variant::Original => (photo_key(&row.sha256), mime_of(&row.mime)),
            Variant::Thumb => (thumb_key(&row.sha256), "image/jpeg"),
        };
        let blob = self.files.blobs().get(&key).await.map_err(DomainError::internal)?;
        // Recorded but gone from the blob store: the next upload attempt puts it back.
        Ok((blob.ok_or(DomainError::PhotoPending)?, mime))
    }
}

// ---------------------------------------------------------------------------------------
// Redacted public copies (moderation): the original is never changed.

/// Most rectangles one redaction blacks out.
pub const MAX_REGIONS: usize = 20;
const REDACTED_QUALITY: u8 = 90;

/// Key of a redacted public copy of a photo (by the copy's own SHA-256).
pub fn redacted_key(sha256: &str) -> String {
    format!("public/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

/// How the rectangles of a redaction are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionUnit {
    /// Fractions (0 to 1) of the upright photo's width and height.
    Fraction,
    /// Pixels of the upright photo.
    Pixel,
}

/// A rectangle as an admin gave it, not yet checked against the photo.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AskedRegion {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

fn bad_region(message: impl Into<String>) -> DomainError {
    DomainError::invalid_input("rect", message)
}

/// The checks that need no photo: how many, finite, not negative, not empty, and (as
/// fractions) within the photo.
pub fn check_regions(asked: &[AskedRegion], unit: RegionUnit) -> Result<(), DomainError> {
    if asked.is_empty() {
        return Err(bad_region("请至少画出或填写一个遮挡区域"));
    }
    if asked.len() > MAX_REGIONS {
        return Err(bad_region(format!("一张照片最多遮挡{MAX_REGIONS}处")));
    }
    for (i, r) in asked.iter().enumerate() {
        let n = i + 1;
        if ![r.x, r.y, r.w, r.h].iter().all(|v| v.is_finite()) {
            return Err(bad_region(format!("第{n}个遮挡区域的数值无效")));
        }
        if r.x < 0.0 || r.y < 0.0 {
            return Err(bad_region(format!("第{n}个遮挡区域超出照片范围（x、y 不能为负）")));
        }
        if r.w <= 0.0 || r.h <= 0.0 {
            return Err(bad_region(format!("第{n}个遮挡区域的宽和高须大于0")));
        }
        if unit == RegionUnit::Fraction && (r.x + r.w > 1.0 + 1e-9 || r.y + r.h > 1.0 + 1e-9) {
            return Err(bad_region(format!("第{n}个遮挡区域超出照片范围（比例不能超过1）")));
        }
    }
    Ok(())
}

/// The rectangles in pixels of a `width`×`height` upright photo (each at least one pixel,
/// covering every pixel the asked rectangle touches).
pub fn regions_in_pixels(asked: &[AskedRegion], unit: RegionUnit, width: u32, height: u32) -> Result<Vec<Region>, DomainError> {
    // None: a photo approved as it is.
    if !asked.is_empty() {
        check_regions(asked, unit)?;
    }
    let (fw, fh) = (f64::from(width), f64::from(height));
    let mut out = Vec::with_capacity(asked.len());
    for (i, r) in asked.iter().enumerate() {
        let (x0, y0, x1, y1) = match unit {
            RegionUnit::Fraction => (r.x * fw, r.y * fh, (r.x + r.w) * fw, (r.y + r.h) * fh),
            RegionUnit::Pixel => (r.x, r.y, r.x + r.w, r.y + r.h),
        };
        // Fractions may round a hair past the edge; pixels may not pass it.
        let slack = if unit == RegionUnit::Fraction { 1e-6 * fw.max(fh) } else { 1e-9 };
        if x1 > fw + slack || y1 > fh + slack {
            return Err(bad_region(format!("第{}个遮挡区域超出照片范围（照片为 {width}×{height} 像素）", i + 1)));
        }
        let clamp = |v: f64, max: f64| v.clamp(0.0, max);
        let (x0, y0) = (clamp(x0.floor(), fw), clamp(y0.floor(), fh));
        let (x1, y1) = (clamp(x1.ceil(), fw), clamp(y1.ceil(), fh));
        if x1 <= x0 || y1 <= y0 {
            return Err(bad_region(format!("第{}个遮挡区域太小（不足1像素）", i + 1)));
        }
        // Within 0..=30_000 (the decoding limit): the casts are exact.
        out.push(Region { x: x0 as u32, y: y0 as u32, w: (x1 - x0) as u32, h: (y1 - y0) as u32 });
    }
    Ok(out)
}

/// Black out `regions` of an upright photo (pixels outside them are untouched).
pub fn black_out(img: &mut image::RgbImage, regions: &[Region]) {
    let (w, h) = img.dimensions();
    for r in regions {
        for y in r.y..r.y.saturating_add(r.h).min(h) {
            for x in r.x..r.x.saturating_add(r.w).min(w) {
                img.put_pixel(x, y, image::Rgb([0, 0, 0]));
            }
        }
    }
}

/// Decode a whole photo upright (EXIF orientation applied), within the decoding limits.
fn decode_upright(bytes: &[u8]) -> Option<image::RgbImage> {
    use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
    let decoded = (|| -> image::ImageResult<image::RgbImage> {
        let mut reader = ImageReader::new(io::Cursor::new(bytes)).with_guessed_format()?;
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_DECODE_EDGE);
        limits.max_image_height = Some(MAX_DECODE_EDGE);
        limits.max_alloc = Some(MAX_DECODE_ALLOC);
        reader.limits(limits);
        let mut decoder = reader.into_decoder()?;
        let orientation = decoder.orientation()?;
        let mut img = DynamicImage::from_decoder(decoder)?;
        img.apply_orientation(orientation);
        Ok(img.to_rgb8())
    })();
    decoded.ok()
}

/// A redacted copy just stored.
#[derive(Clone, Debug, PartialEq)]
pub struct RedactedCopy {
    /// SHA-256 of the copy (a JPEG without metadata).
    pub sha256: String,
    /// The rectangles blacked out, in pixels of the upright photo.
    pub regions: Vec<Region>,
    pub width: u32,
    pub height: u32,
}

impl PhotosService {
    /// Make and store the redacted copy of the photo `row` (which the caller was checked to
    /// see): decoded upright, `asked` filled solid black, re-encoded as JPEG (no EXIF or
    /// other metadata: only pixels are written), stored as its own blob. The original stays.
    /// The public copy of a photo: upright, re-encoded without metadata (its EXIF place and
    /// time stay private), with `asked` blacked out (none: the photo approved as it is; the
    /// caller checked the regions).
    pub async fn redact(&self, row: &PhotoRow, asked: &[AskedRegion], unit: RegionUnit) -> Result<RedactedCopy, DomainError> {
        let (blob, _) = self.open(row, Variant::Original).await?;
        let max = self.files.max_bytes();
        let mut bytes = Vec::with_capacity(usize::try_from(blob.len.min(max)).unwrap_or(0));
        let mut stream = blob.stream;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(DomainError::internal)?;
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(DomainError::internal("stored photo is larger than the photo limit"));
            }
            bytes.extend_from_slice(&chunk);
        }
        let asked = asked.to_vec();
        let tmp = self.files.uploads_dir().join(format!("{}.redacted.jpg", uuid::Uuid::now_v7().simple()));
        let made = {
            let _decoding = DECODES.acquire().await.map_err(DomainError::internal)?;
            let tmp = tmp.clone();
            tokio::task::spawn_blocking(move || -> Result<Result<RedactedCopy, DomainError>, io::Error> {
                let Some(mut img) = decode_upright(&bytes) else {
                    return Ok(Err(DomainError::invalid_input("photo", "这张照片无法解码，不能遮挡")));
                };
                let (width, height) = img.dimensions();
                let regions = match regions_in_pixels(&asked, unit, width, height) {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                black_out(&mut img, &regions);
                let mut out = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, REDACTED_QUALITY)
                    .encode_image(&img)
                    .map_err(io::Error::other)?;
                let sha256 = hex::encode(Sha256::digest(&out));
                fs::write(&tmp, &out)?;
                Ok(Ok(RedactedCopy { sha256, regions, width, height }))
            })
            .await
            .map_err(DomainError::internal)?
            .map_err(DomainError::internal)?
        };
        let copy = match made {
            Ok(c) => c,
            Err(e) => return Err(e),
        };
        let stored = self.files.blobs().put_file(&redacted_key(&copy.sha256), &tmp).await;
        let _ = tokio::fs::remove_file(&tmp).await;
        stored.map_err(|e| DomainError::internal(format!("blob store: {e}")))?;
        Ok(copy)
    }

    /// A redacted copy's file (always JPEG).
    pub async fn open_redacted(&self, sha256: &str) -> Result<Blob, DomainError> {
        if !is_sha256_hex(sha256) {
            return Err(DomainError::NotFound);
        }
        let blob = self.files.blobs().get(&redacted_key(sha256)).await.map_err(DomainError::internal)?;
        blob.ok_or(DomainError::NotFound)
    }

    /// Remove a redacted copy no photo uses any more.
    pub async fn remove_redacted(&self, sha256: &str) -> Result<(), DomainError> {
        if !is_sha256_hex(sha256) {
            return Ok(());
        }
        self.files.blobs().delete(&redacted_key(sha256)).await.map_err(DomainError::internal)
    }

    /// The photo's row if the server holds its file (whoever may see it: callers check).
    pub async fn uploaded(&self, sha256: &str) -> Result<Option<PhotoRow>, DomainError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        Ok(self.store.photo_uploaded(sha256).await?)
    }

    /// How the records `visibility` covers list this photo.
    pub async fn sight(&self, sha256: &str, visibility: &crate::domain::access::Visibility) -> Result<PhotoSight, DomainError> {
        if !is_sha256_hex(sha256) {
            return Ok(PhotoSight::Unseen);
        }
        Ok(self.store.photo_sight(sha256, visibility).await?)
    }
}

fn too_long() -> DomainError {
    DomainError::Invalid {
        kind: InvalidKind::UploadTooLong,
        rejection: Rejection::new(RejectReason::Invalid, None, "上传内容超出声明的照片大小"),
    }
}

/// The staging file's length, after making sure it belongs to an upload of `size` bytes
/// (otherwise it is started afresh).
fn prepare_staging(part: &Path, size_file: &Path, size: u64) -> io::Result<u64> {
    let declared = read_declared(size_file)?;
    if declared == Some(size) {
        match fs::metadata(part) {
            Ok(m) if m.len() <= size => return Ok(m.len()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    fs::File::create(part)?;
    let tmp = size_file.with_extension("size.tmp");
    fs::write(&tmp, size.to_string())?;
    fs::rename(&tmp, size_file)?;
    Ok(0)
}

fn read_declared(size_file: &Path) -> io::Result<Option<u64>> {
    match fs::read_to_string(size_file) {
        Ok(s) => Ok(s.trim().parse().ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// SHA-256 and first bytes of a file, read in chunks.
/// The SHA-256 of a file, its first 16 bytes, its last 16, its length, and whether it ends
/// like a whole JPEG.
fn hash_file(path: &Path) -> io::Result<(String, FileEnds)> {
    let mut f = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut ends = FileEnds::default();
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if ends.head.len() < 16 {
            ends.head.extend_from_slice(&buf[..n.min(16 - ends.head.len())]);
        }
        ends.tail.extend_from_slice(&buf[n.saturating_sub(16)..n]);
        let cut = ends.tail.len().saturating_sub(16);
        ends.tail.drain(..cut);
        ends.len += n as u64;
        ends.jpeg_end.feed(&buf[..n]);
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), ends))
}

#[derive(Default)]
struct FileEnds {
    head: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
    jpeg_end: JpegEnd,
}

/// Decode the photo at `src` (already read whole by the hash check) into its thumbnail: at
/// most [`THUMB_EDGE`] px on the long edge (smaller photos keep their size), upright per
/// the photo's EXIF orientation.
/// `Ok(None)`: the bytes are not a photo we can decode, whatever the reason (a camera file
/// cut short ends in an "unexpected end of file" from the decoder: that is the photo's
/// fault, not the server's). `Err`: the file could not be opened.
fn decode_thumbnail(src: &Path) -> io::Result<Option<(image::RgbImage, (u32, u32))>> {
    use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
    if let Some(thumb) = decode_jpeg_thumbnail(src)? {
        return Ok(Some(thumb));
    }
    let file = io::BufReader::new(fs::File::open(src)?);
    let decoded = (|| -> image::ImageResult<(image::RgbImage, (u32, u32))> {
        let mut reader = ImageReader::new(file).with_guessed_format()?;
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_DECODE_EDGE);
        limits.max_image_height = Some(MAX_DECODE_EDGE);
        limits.max_alloc = Some(MAX_DECODE_ALLOC);
        reader.limits(limits);
        let mut decoder = reader.into_decoder()?;
        let orientation = decoder.orientation()?;
        let mut img = DynamicImage::from_decoder(decoder)?;
        let dims = (img.width(), img.height());
        img.apply_orientation(orientation);
        if img.width().max(img.height()) > THUMB_EDGE {
            img = img.thumbnail(THUMB_EDGE, THUMB_EDGE);
        }
        Ok((img.to_rgb8(), dims))
    })();
    Ok(decoded.ok())
}

/// [`decode_thumbnail`] of a JPEG decoded at a reduced DCT scale (1/2 to 1/8, the
/// smallest still at least [`THUMB_EDGE`] on the long edge): every byte is still decoded,
/// the inverse transform and colour conversion only for the pixels the thumbnail needs.
/// `Ok(None)` when the file is not a JPEG this decoder reads (8-bit grey or colour); the
/// caller then decodes it in full as before.
fn decode_jpeg_thumbnail(src: &Path) -> io::Result<Option<(image::RgbImage, (u32, u32))>> {
    use image::DynamicImage;
    let mut head = [0u8; 3];
    let mut file = fs::File::open(src)?;
    if file.read(&mut head)? < 3 || head != [0xFF, 0xD8, 0xFF] {
        return Ok(None);
    }
    let bytes = fs::read(src)?;
    let decoded = (|| {
        let mut decoder = jpeg_decoder::Decoder::new(bytes.as_slice());
        decoder.set_max_decoding_buffer_size(usize::try_from(MAX_DECODE_ALLOC).unwrap_or(usize::MAX));
        decoder.read_info().ok()?;
        let info = decoder.info()?;
        let dims = (u32::from(info.width), u32::from(info.height));
        if dims.0.max(dims.1) > MAX_DECODE_EDGE {
            return None;
        }
        let edge = u16::try_from(THUMB_EDGE).ok()?;
        let (w, h) = decoder.scale(edge.min(info.width), edge.min(info.height)).ok()?;
        let pixels = decoder.decode().ok()?;
        let pixels = match info.pixel_format {
            jpeg_decoder::PixelFormat::RGB24 => pixels,
            jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
            _ => return None,
        };
        let mut img = DynamicImage::ImageRgb8(image::RgbImage::from_raw(u32::from(w), u32::from(h), pixels)?);
        let orientation = decoder
            .exif_data()
            .and_then(image::metadata::Orientation::from_exif_chunk)
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        img.apply_orientation(orientation);
        if img.width().max(img.height()) > THUMB_EDGE {
            img = img.thumbnail(THUMB_EDGE, THUMB_EDGE);
        }
        Some((img.into_rgb8(), dims))
    })();
    Ok(decoded)
}

/// Write a thumbnail as JPEG to `dest`.
fn write_thumbnail(rgb: &image::RgbImage, dest: &Path) -> io::Result<()> {
    use image::codecs::jpeg::JpegEncoder;
    let mut out = io::BufWriter::new(fs::File::create(dest)?);
    JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY).encode_image(rgb).map_err(io::Error::other)?;
    out.flush()
}

enum Checked {
    /// The format and the pixel dimensions of the file as stored (before orientation).
    Ok(Format, (u32, u32)),
    HashMismatch,
    NotAnImage,
}

fn remove_if_present(p: &Path) -> io::Result<()> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Which file of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumb,
}

fn mime_of(stored: &str) -> &'static str {
    [Format::Jpeg, Format::Png, Format::WebP]
        .into_iter()
        .map(Format::mime)
        .find(|m| *m == stored)
        .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod stale_tests {
    use super::*;

    #[test]
    fn stale_unfinished_uploads_are_removed_at_start_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uploads = dir.path().join("uploads");
        fs::create_dir_all(&uploads).expect("mkdir");
        let (old, fresh) = (uploads.join(format!("{}.part", "a".repeat(64))), uploads.join(format!("{}.part", "b".repeat(64))));
        fs::write(&old, b"half a photo").expect("write");
        fs::write(&fresh, b"half a photo").expect("write");
        let eight_days = std::time::SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
        fs::File::options().write(true).open(&old).and_then(|f| f.set_modified(eight_days)).expect("age");
        let blobs = LocalBlobs::open(dir.path().join("blobs")).expect("blobs");
        PhotoFiles::new(Arc::new(blobs), &uploads, 1024).expect("photos");
        assert!(!old.exists(), "a week-old unfinished upload is gone");
        assert!(fresh.exists(), "a recent one waits for its device");
    }
}

#[cfg(test)]
mod open_upload_tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn abandoned_uploads_stop_counting_after_an_hour() {
        let mut mine = std::collections::HashMap::new();
        let t0 = Instant::now();
        for i in 0..MAX_OPEN_UPLOADS {
            count_open(&mut mine, &format!("{i:064x}"), t0).expect("under the bound");
        }
        assert!(matches!(count_open(&mut mine, "new", t0), Err(DomainError::TooManyUploads { .. })));
        // Started again: still the same upload, and counted from now.
        count_open(&mut mine, &format!("{:064x}", 0), t0 + Duration::from_secs(1800)).expect("the same upload");
        // An hour on, the ones never started again are given up; the renewed one still counts.
        let later = t0 + OPEN_UPLOAD_COUNTS_FOR + Duration::from_secs(1);
        count_open(&mut mine, "new", later).expect("the abandoned ones no longer count");
        assert_eq!(mine.len(), 2);
    }
}
