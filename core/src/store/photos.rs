//! The device's photo files: which it took (and must upload) and which it fetched.

use super::outbox::ts;
use crate::error::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPhoto {
    pub sha256: String,
    pub mime: String,
    pub bytes: u64,
}

/// A photo taken on this device (idempotent: the same file twice is one photo).
pub fn add_local(conn: &Connection, sha: &str, mime: &str, bytes: u64, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO photos(sha256, mime, bytes, origin, created_at) VALUES (?1, ?2, ?3, 'local', ?4)
         ON CONFLICT(sha256) DO UPDATE SET has_file = 1",
    )?
    .execute(params![sha, mime, bytes as i64, ts(now)])?;
    Ok(())
}

/// A photo fetched from the server: nothing to upload.
pub fn add_remote(conn: &Connection, sha: &str, mime: &str, bytes: u64, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO photos(sha256, mime, bytes, origin, created_at, uploaded_at) VALUES (?1, ?2, ?3, 'remote', ?4, ?4)
         ON CONFLICT(sha256) DO UPDATE SET has_file = 1",
    )?
    .execute(params![sha, mime, bytes as i64, ts(now)])?;
    Ok(())
}

/// Photos waiting to be uploaded, oldest first.
pub fn queue(conn: &Connection) -> Result<Vec<PendingPhoto>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sha256, mime, bytes FROM photos
         WHERE origin = 'local' AND uploaded_at IS NULL AND failed IS NULL ORDER BY created_at, sha256",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
    rows.map(|row| {
        let (sha256, mime, bytes) = row?;
        Ok(PendingPhoto { sha256, mime, bytes: bytes_of(bytes)? })
    })
    .collect()
}

/// The server may have lost photos (restored from a backup): every photo taken here whose
/// file is still on the device goes through the upload queue again (the server answers at
/// once for those it has).
pub fn requeue_uploaded(conn: &Connection) -> Result<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE photos SET uploaded_at = NULL WHERE origin = 'local' AND uploaded_at IS NOT NULL AND has_file = 1",
        )?
        .execute([])?;
    Ok(n as u64)
}

pub fn mark_uploaded(conn: &Connection, sha: &str, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("UPDATE photos SET uploaded_at = ?2 WHERE sha256 = ?1 AND uploaded_at IS NULL")?
        .execute(params![sha, ts(now)])?;
    Ok(())
}

pub fn mark_attempt(conn: &Connection, sha: &str) -> Result<()> {
    conn.prepare_cached("UPDATE photos SET attempts = attempts + 1 WHERE sha256 = ?1")?.execute([sha])?;
    Ok(())
}

pub fn mark_failed(conn: &Connection, sha: &str, reason: &str) -> Result<()> {
    conn.prepare_cached("UPDATE photos SET failed = ?2 WHERE sha256 = ?1")?.execute([sha, reason])?;
    Ok(())
}

/// Where one photo stands on this device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoRow {
    pub sha256: String,
    pub mime: String,
    pub bytes: u64,
    pub local: bool,
    pub uploaded: bool,
    pub failed: Option<String>,
    pub has_file: bool,
}

pub fn get(conn: &Connection, sha: &str) -> Result<Option<PhotoRow>> {
    let row = conn
        .prepare_cached("SELECT sha256, mime, bytes, origin, uploaded_at, failed, has_file FROM photos WHERE sha256 = ?1")?
        .query_row([sha], |r| {
            let row = PhotoRow {
                sha256: r.get(0)?,
                mime: r.get(1)?,
                bytes: 0,
                local: r.get::<_, String>(3)? == "local",
                uploaded: r.get::<_, Option<String>>(4)?.is_some(),
                failed: r.get(5)?,
                has_file: r.get(6)?,
            };
            Ok((row, r.get::<_, i64>(2)?))
        })
        .optional()?;
    row.map(|(row, bytes)| Ok(PhotoRow { bytes: bytes_of(bytes)?, ..row })).transpose()
}

fn bytes_of(stored: i64) -> Result<u64> {
    u64::try_from(stored).map_err(|_| crate::error::corrupt("photos.bytes"))
}

/// Full-size files that may be freed: the server holds them, and a record it accepted
/// lists them (so it will serve them back).
pub fn freeable(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sha256 FROM photos p WHERE uploaded_at IS NOT NULL AND has_file = 1
         AND EXISTS (SELECT 1 FROM records r WHERE r.server_doc IS NOT NULL AND instr(r.server_doc, p.sha256) > 0)",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

pub fn mark_freed(conn: &Connection, sha: &str) -> Result<()> {
    conn.prepare_cached("UPDATE photos SET has_file = 0 WHERE sha256 = ?1 AND uploaded_at IS NOT NULL")?.execute([sha])?;
    Ok(())
}

/// Photos still to upload: how many and how many bytes.
pub fn queue_size(conn: &Connection) -> Result<(u64, u64)> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM photos
             WHERE origin = 'local' AND uploaded_at IS NULL AND failed IS NULL",
        )?
        .query_row([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)))?)
}
