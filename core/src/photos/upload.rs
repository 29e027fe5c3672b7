//! The photo upload queue: after the records, photos go one by one, resumably. For each,
//! the server first says how much it already has (all of it: nothing is sent), then the
//! rest goes in chunks read from the file, so memory stays at one chunk whatever the
//! photo's or the batch's size. A cut connection costs at most the bytes in flight: the
//! server keeps what it received and the next attempt starts there.

use crate::client::DeviceInner;
use crate::error::{Error, Result};
use crate::protocol::UploadStart;
use crate::store::photos;
use crate::sync::http::Auth;
use crate::sync::{SyncObserver, SyncPhase, SyncProgress, SyncReport};
use chrono::Utc;
use std::io::{Read, Seek, SeekFrom};

/// Bytes per append request.
pub const CHUNK_BYTES: u64 = 512 * 1024;

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
}

/// The network the app says the phone is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    Unmetered,
    Metered,
}

pub fn allowed(policy: PhotoPolicy, network: Network) -> bool {
    policy == PhotoPolicy::AnyNetwork || network == Network::Unmetered
}

fn read_chunk(path: &std::path::Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::Io(format!("reading a photo: {}", e.kind()));
    let mut f = std::fs::File::open(path).map_err(io)?;
    f.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut buf = Vec::with_capacity(len as usize);
    f.take(len).read_to_end(&mut buf).map_err(io)?;
    Ok(buf)
}

pub(crate) async fn upload_all(
    dev: &DeviceInner,
    auth: Auth<'_>,
    observer: Option<&dyn SyncObserver>,
    report: &mut SyncReport,
) -> Result<()> {
    let queue = dev.store.read(photos::queue)?;
    if queue.is_empty() {
        return Ok(());
    }
    let mut progress = SyncProgress {
        phase: SyncPhase::UploadingPhotos,
        photos_total: queue.len() as u64,
        photo_bytes_total: queue.iter().map(|p| p.bytes).sum(),
        ..Default::default()
    };
    let notify = |p: &SyncProgress| {
        if let Some(o) = observer {
            o.on_progress(p)
        }
    };
    for photo in queue {
        let path = dev.photo_store.path(&photo.sha256);
        progress.current_photo = Some(photo.sha256.clone());
        progress.current_photo_bytes_total = photo.bytes;
        progress.current_photo_bytes_done = 0;
        notify(&progress);
        if !path.is_file() {
            dev.store.write(|tx| photos::mark_failed(tx, &photo.sha256, "file_missing"))?;
            continue;
        }
        dev.store.write(|tx| photos::mark_attempt(tx, &photo.sha256))?;
        let start = UploadStart { sha256: photo.sha256.clone(), size: photo.bytes };
        let (mut status, wire) = dev.transport.upload_start(auth, &start).await?;
        report.count(wire);
        let base = progress.photo_bytes_done;
        loop {
            progress.current_photo_bytes_done = status.offset.min(photo.bytes);
            progress.photo_bytes_done = base + progress.current_photo_bytes_done;
            notify(&progress);
            if status.complete {
                dev.store.write(|tx| photos::mark_uploaded(tx, &photo.sha256, Utc::now()))?;
                report.photos_uploaded += 1;
                break;
            }
            if status.offset >= photo.bytes {
                return Err(Error::Decode("upload offset past the end of the photo".into()));
            }
            let chunk = read_chunk(&path, status.offset, CHUNK_BYTES.min(photo.bytes - status.offset))?;
            let sent = chunk.len() as u64;
            match dev.transport.upload_append(auth, &photo.sha256, status.offset, chunk).await {
                Ok((next, wire)) => {
                    report.count(wire);
                    report.photo_bytes_sent += sent;
                    status = next;
                }
                // Someone (another attempt, another device) moved the offset: ask again.
                Err(Error::Server { status: 409, .. }) => {
                    let (next, wire) = dev.transport.upload_start(auth, &start).await?;
                    report.count(wire);
                    status = next;
                }
                // A permanent refusal of this file; keep it (never delete) and go on.
                Err(Error::Server { status: 413 | 415 | 422, code, .. }) => {
                    dev.store.write(|tx| photos::mark_failed(tx, &photo.sha256, &code))?;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        progress.photos_done += 1;
        progress.photo_bytes_done = base + photo.bytes;
    }
    progress.current_photo = None;
    notify(&progress);
    Ok(())
}
