//! The photo upload queue: after the records, photos go one by one, resumably. For each,
//! the server first says how much it already has (all of it: nothing is sent), then the
//! rest goes in chunks read from the file, so memory stays at one chunk whatever the
//! photo's or the batch's size. A cut connection costs at most the bytes in flight: the
//! server keeps what it received and the next attempt starts there.

use crate::context::DeviceContext;
use crate::error::{Error, Result};
use crate::events::{SyncObserver, SyncPhase, SyncProgress, SyncReport, notify};
use crate::protocol::UploadStart;
use crate::store::photos;
use chrono::Utc;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Bytes per append request.
pub const CHUNK_BYTES: u64 = 512 * 1024;

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

/// Upload every photo in the queue, oldest first.
pub async fn upload_all(ctx: &DeviceContext, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    let session = ctx.require_session()?;
    let device_id = ctx.device_id.to_string();
    let auth = ctx.auth(&session, &device_id);
    let mut report = SyncReport::default();
    let queue = ctx.store.read_async(photos::queue).await?;
    if queue.is_empty() {
        return Ok(report);
    }
    let mut progress = SyncProgress {
        phase: SyncPhase::UploadingPhotos,
        photos_total: queue.len() as u64,
        photo_bytes_total: queue.iter().map(|p| p.bytes).sum(),
        ..Default::default()
    };
    for photo in queue {
        let path = ctx.photo_files.path(&photo.sha256);
        progress.current_photo = Some(photo.sha256.clone());
        progress.current_photo_bytes_total = photo.bytes;
        progress.current_photo_bytes_done = 0;
        notify(observer, &progress);
        let sha = photo.sha256.clone();
        if !path.is_file() {
            ctx.store.write_async(move |tx| photos::mark_failed(tx, &sha, "file_missing")).await?;
            continue;
        }
        ctx.store.write_async(move |tx| photos::mark_attempt(tx, &sha)).await?;
        let start = UploadStart { sha256: photo.sha256.clone(), size: photo.bytes };
        let (mut status, wire) = ctx.transport.upload_start(auth, &start).await?;
        report.count(wire);
        let base = progress.photo_bytes_done;
        loop {
            progress.current_photo_bytes_done = status.offset.min(photo.bytes);
            progress.photo_bytes_done = base + progress.current_photo_bytes_done;
            notify(observer, &progress);
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
        progress.photos_done += 1;
        progress.photo_bytes_done = base + photo.bytes;
    }
    progress.current_photo = None;
    notify(observer, &progress);
    Ok(report)
}
