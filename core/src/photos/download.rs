//! Fetching a photo of a record the user may see: streamed into a temporary file, checked
//! against its SHA-256, then moved into the photo files (on the blocking pool).

use super::{Download, is_sha256_hex};
use crate::context::DeviceContext;
use crate::error::{Error, Result};
use crate::store::photos;
use chrono::Utc;
use std::path::PathBuf;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Io(format!("worker: {e}")))?
}

/// The local file of a photo (or its thumbnail), if this device holds it.
pub fn local_file(ctx: &DeviceContext, sha256: &str, thumb: bool) -> Option<PathBuf> {
    if !is_sha256_hex(sha256) {
        return None;
    }
    let p = if thumb { ctx.photo_files.thumb_path(sha256) } else { ctx.photo_files.path(sha256) };
    p.is_file().then_some(p)
}

/// A photo of a record this user may see, fetched from the server unless held here. The
/// full file is checked against its SHA-256 before it is kept. A photo whose upload has
/// not finished yet gives `Error::PhotoPending`.
pub async fn fetch(ctx: &DeviceContext, sha256: &str, thumb: bool) -> Result<PathBuf> {
    if !is_sha256_hex(sha256) {
        return Err(Error::Argument("照片编号无效 (sha256)".into()));
    }
    if let Some(p) = local_file(ctx, sha256, thumb) {
        return Ok(p);
    }
    let session = ctx.require_session()?;
    let device_id = ctx.device_id.to_string();
    let mut body = match ctx.transport.download(ctx.auth(&session, &device_id), sha256, thumb).await {
        Ok(body) => body,
        Err(Error::Server { status: 404, code, .. }) if code == "photo_pending" => return Err(Error::PhotoPending),
        Err(Error::Server { status: 404, .. }) => return Err(Error::NotFound),
        Err(e) => return Err(e),
    };
    let (files, sha) = (ctx.photo_files.clone(), sha256.to_owned());
    let mut file = blocking(move || Download::begin(&files, &sha, thumb)).await?;
    while let Some(chunk) = body.next_chunk().await? {
        file = blocking(move || {
            file.write(&chunk)?;
            Ok(file)
        })
        .await?;
    }
    let (path, bytes, mime) = blocking(move || file.finish()).await?;
    if !thumb {
        let sha = sha256.to_owned();
        ctx.store.write_async(move |tx| photos::add_remote(tx, &sha, mime, bytes, Utc::now())).await?;
    }
    Ok(path)
}

/// Delete full-size files the server has confirmed it holds (thumbnails stay). Never
/// touches a photo that is not uploaded. Returns the bytes freed.
pub fn free_space(ctx: &DeviceContext) -> Result<u64> {
    let mut freed = 0;
    for sha in ctx.store.read(photos::freeable)? {
        let path = ctx.photo_files.path(&sha);
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        ctx.store.write(|tx| photos::mark_freed(tx, &sha))?;
        match std::fs::remove_file(&path) {
            Ok(()) => freed += len,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(format!("freeing a photo: {}", e.kind()))),
        }
    }
    Ok(freed)
}
