//! The photo upload queue: after the records, photos go oldest first, two at a time,
//! resumably. For each, the server first says how much it already has (all of it: nothing
//! is sent), then the rest goes in chunks read from the file, so memory stays at one chunk
//! per photo in flight whatever the photos' or the batch's size. A cut connection costs at most the bytes in flight: the
//! server keeps what it received and the next attempt starts there.

use crate::context::DeviceContext;
use crate::error::{Error, Result};
use crate::events::{SyncObserver, SyncPhase, SyncProgress, SyncReport, notify};
use crate::protocol::UploadStart;
use crate::store::photos::{self, PendingPhoto};
use crate::transport::Auth;
use chrono::Utc;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Bytes per append request: a photo as ingest makes it (2048 px, well under 1 MiB)
/// usually goes in one request, one round trip and one server flush.
pub const CHUNK_BYTES: u64 = 1024 * 1024;

fn read_chunk(path: &std::path::Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::Io(format!("reading a photo: {}", e.kind()));
    let mut f = std::fs::File::open(path).map_err(io)?;
    f.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut buf = Vec::with_capacity(len as usize);
    f.take(len).read_to_end(&mut buf).map_err(io)?;
    Ok(buf)
}

/// `len` bytes of the file at `offset`, read on the blocking pool.
async fn chunk_at(path: PathBuf, offset: u64, len: u64) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || read_chunk(&path, offset, len)).await.map_err(|e| Error::Io(format!("worker: {e}")))?
}

/// Photos in flight at once. When the last byte of a photo arrives the server checks and
/// stores it (hash, decode, thumbnail, blob store, database): on a fast link most of a
/// photo's time, during which the next photo's bytes can already go. Each photo is still
/// sent and resumed on its own, and memory stays at one chunk per photo in flight.
pub const PARALLEL_UPLOADS: usize = 2;

/// The progress shared by the photos in flight.
struct Shared<'a> {
    progress: Mutex<SyncProgress>,
    observer: Option<&'a dyn SyncObserver>,
}

impl Shared<'_> {
    fn update(&self, f: impl FnOnce(&mut SyncProgress)) {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut p);
        notify(self.observer, &p);
    }
}

/// Upload every photo in the queue, oldest first, [`PARALLEL_UPLOADS`] at a time.
pub async fn upload_all(ctx: &DeviceContext, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let session = ctx.require_session()?;
    let device_id = ctx.device_id.to_string();
    let auth = ctx.auth(&session, &device_id);
    let mut report = SyncReport::default();
    let queue = ctx.store.read_async(photos::queue).await?;
    if queue.is_empty() {
        return Ok(report);
    }
    let shared = Shared {
        progress: Mutex::new(SyncProgress {
            phase: SyncPhase::UploadingPhotos,
            photos_total: queue.len() as u64,
            photo_bytes_total: queue.iter().map(|p| p.bytes).sum(),
            ..Default::default()
        }),
        observer,
    };
    // Lanes that each take the next photo of the queue (oldest first): a photo the server
    // is still checking holds up only its own lane. A failure stops both lanes after the
    // photo each has in hand, and is the answer (each photo uploaded is marked so already).
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let lane = || async {
        let mut done = SyncReport::default();
        while !failed.load(Ordering::Relaxed) {
            let Some(photo) = queue.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
            match upload_one(ctx, auth, photo, &shared).await {
                Ok(r) => done.add(&r),
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    return (done, Some(e));
                }
            }
        }
        (done, None)
    };
    const _: () = assert!(PARALLEL_UPLOADS == 2, "upload_all joins two lanes");
    let ((a, a_err), (b, b_err)) = tokio::join!(lane(), lane());
    report.add(&a);
    report.add(&b);
    if let Some(e) = a_err.or(b_err) {
        return Err(e);
    }
    shared.update(|p| p.current_photo = None);
    Ok(report)
}

/// Upload one photo of the queue: what the server has, then the rest in chunks.
async fn upload_one(ctx: &DeviceContext, auth: Auth<'_>, photo: &PendingPhoto, shared: &Shared<'_>) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    let path = ctx.photo_files.path(&photo.sha256);
    shared.update(|p| {
        p.current_photo = Some(photo.sha256.clone());
        p.current_photo_bytes_total = photo.bytes;
        p.current_photo_bytes_done = 0;
    });
    let sha = photo.sha256.clone();
    if !path.is_file() {
        ctx.store.write_async(move |tx| photos::mark_failed(tx, &sha, "file_missing")).await?;
        return Ok(report);
    }
    ctx.store.write_async(move |tx| photos::mark_attempt(tx, &sha)).await?;
    let start = UploadStart { sha256: photo.sha256.clone(), size: photo.bytes };
    let (mut status, wire) = ctx.transport.upload_start(auth, &start).await?;
    report.count(wire);
    // This photo's bytes counted in the overall progress so far.
    let mut counted = 0;
    loop {
        let done = status.offset.min(photo.bytes);
        shared.update(|p| {
            p.current_photo = Some(photo.sha256.clone());
            p.current_photo_bytes_total = photo.bytes;
            p.current_photo_bytes_done = done;
            p.photo_bytes_done = (p.photo_bytes_done + done).saturating_sub(counted);
        });
        counted = done;
        if status.complete {
            let sha = photo.sha256.clone();
            ctx.store.write_async(move |tx| photos::mark_uploaded(tx, &sha, Utc::now())).await?;
            report.photos_uploaded += 1;
            break;
        }
        if status.offset >= photo.bytes {
            return Err(Error::Decode("upload offset past the end of the photo".into()));
        }
        let chunk = chunk_at(path.clone(), status.offset, CHUNK_BYTES.min(photo.bytes - status.offset)).await?;
        let sent = chunk.len() as u64;
        match ctx.transport.upload_append(auth, &photo.sha256, status.offset, chunk).await {
            Ok((next, wire)) => {
                report.count(wire);
                report.photo_bytes_sent += sent;
                status = next;
            }
            // Someone (another attempt, another device) moved the offset: ask again.
            Err(Error::Server { status: 409, .. }) => {
                let (next, wire) = ctx.transport.upload_start(auth, &start).await?;
                report.count(wire);
                status = next;
            }
            // A permanent refusal of this file; keep it (never delete) and go on.
            Err(Error::Server { status: 413 | 415 | 422, code, .. }) => {
                let sha = photo.sha256.clone();
                ctx.store.write_async(move |tx| photos::mark_failed(tx, &sha, &code)).await?;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    shared.update(|p| {
        p.photos_done += 1;
        p.photo_bytes_done = (p.photo_bytes_done + photo.bytes).saturating_sub(counted);
    });
    Ok(report)
}
