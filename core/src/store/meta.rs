//! Small key/value state of the device: its id, the session, the pull cursor and the
//! reference data. Lives in the same (encrypted) database as the records.

use crate::error::Result;
use crate::reference::{ReferenceData, UserInfo};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

pub const DEVICE_ID: &str = "device_id";
pub const SESSION: &str = "session";
pub const CURSOR: &str = "pull_cursor";
/// The server's history the cursor belongs to (`PullResponse::epoch`).
pub const EPOCH: &str = "pull_epoch";
pub const REFERENCE: &str = "reference";
pub const HLC: &str = "hlc";
pub const PHOTO_POLICY: &str = "photo_policy";
/// The device's Ed25519 secret key (hex) when the database keeps it (`signer::DbKeyStore`).
pub const SIGNING_KEY: &str = "signing_key";
/// Days a closed notice's party stays on this device, as the server last said.
pub const PARTY_RETENTION_DAYS: &str = "party_retention_days";
/// The account whose records and changes this database holds; survives a logout.
pub const DATA_OWNER: &str = "data_owner";

/// A logged-in session. The token is a secret: kept only in this database.
#[derive(Serialize, Deserialize, Clone)]
pub struct StoredSession {
    pub token: String,
    pub user: UserInfo,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession").field("user", &self.user.username).finish_non_exhaustive()
    }
}

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)
}

pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?
        .execute([key, value])?;
    Ok(())
}

pub fn delete(conn: &Connection, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?.execute([key])?;
    Ok(())
}

pub fn get_json<T: for<'de> Deserialize<'de>>(conn: &Connection, key: &str) -> Result<Option<T>> {
    get(conn, key)?.map(|s| serde_json::from_str(&s).map_err(Into::into)).transpose()
}

pub fn set_json<T: Serialize>(conn: &Connection, key: &str, value: &T) -> Result<()> {
    set(conn, key, &serde_json::to_string(value)?)
}

/// The server history of the stored cursor, if a server named one.
pub fn epoch(conn: &Connection) -> Result<Option<u64>> {
    get(conn, EPOCH)?.map(|s| s.parse().map_err(|_| crate::error::corrupt("meta.pull_epoch"))).transpose()
}

pub fn cursor(conn: &Connection) -> Result<u64> {
    get(conn, CURSOR)?
        .map(|s| s.parse().map_err(|_| crate::error::corrupt("meta.pull_cursor")))
        .transpose()
        .map(|c| c.unwrap_or(0))
}

pub fn reference(conn: &Connection) -> Result<Option<ReferenceData>> {
    get_json(conn, REFERENCE)
}

/// Days a closed notice's party stays here: the server's setting as last pulled, else
/// [`crate::privacy::DEFAULT_PARTY_RETENTION_DAYS`].
pub fn party_retention_days(conn: &Connection) -> Result<u32> {
    get(conn, PARTY_RETENTION_DAYS)?
        .map(|s| s.parse().map_err(|_| crate::error::corrupt("meta.party_retention_days")))
        .transpose()
        .map(|d| d.unwrap_or(crate::privacy::DEFAULT_PARTY_RETENTION_DAYS))
}
