//! Open311 client applications and the requests they filed, in SQLite.

use super::{SqliteStorage, corrupt, parse_ts, ts};
use crate::storage::Result;
use crate::storage::clients::{ClientRow, ClientStore, FiledRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;
use uuid::Uuid;

const CLIENT_COLS: &str = "id, name, key_hash, user_id, grid, lat, lon, created_at, created_by, revoked_at";

type ClientTuple = (String, String, String, String, String, f64, f64, String, String, Option<String>);

fn client_tuple(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClientTuple> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?))
}

fn client_from(t: ClientTuple) -> Result<ClientRow> {
    let (id, name, key_hash, user_id, grid, lat, lon, created_at, created_by, revoked_at) = t;
    Ok(ClientRow {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("open311_clients.id"))?,
        name,
        key_hash,
        user_id,
        grid,
        lat,
        lon,
        created_at: parse_ts(&created_at, "open311_clients.created_at")?,
        created_by,
        revoked_at: revoked_at.map(|t| parse_ts(&t, "open311_clients.revoked_at")).transpose()?,
    })
}

#[async_trait]
impl ClientStore for SqliteStorage {
    async fn insert_client(&self, c: ClientRow) -> Result<()> {
        self.write(move |conn| {
            let sql = format!("INSERT INTO open311_clients ({CLIENT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
            conn.prepare_cached(&sql)?.execute(params![
                c.id.to_string(),
                c.name,
                c.key_hash,
                c.user_id,
                c.grid,
                c.lat,
                c.lon,
                ts(c.created_at),
                c.created_by,
                c.revoked_at.map(ts),
            ])?;
            Ok(())
        })
        .await
    }

    async fn client_by_key_hash(&self, key_hash: &str) -> Result<Option<ClientRow>> {
        let key_hash = key_hash.to_owned();
        self.read(move |conn| {
            let sql = format!("SELECT {CLIENT_COLS} FROM open311_clients WHERE key_hash = ?1");
            conn.prepare_cached(&sql)?.query_row([key_hash], client_tuple).optional()?.map(client_from).transpose()
        })
        .await
    }

    async fn client(&self, id: Uuid) -> Result<Option<ClientRow>> {
        self.read(move |conn| {
            let sql = format!("SELECT {CLIENT_COLS} FROM open311_clients WHERE id = ?1");
            conn.prepare_cached(&sql)?.query_row([id.to_string()], client_tuple).optional()?.map(client_from).transpose()
        })
        .await
    }

    async fn list_clients(&self) -> Result<Vec<ClientRow>> {
        self.read(move |conn| {
            let sql = format!("SELECT {CLIENT_COLS} FROM open311_clients ORDER BY created_at, id");
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([], client_tuple)?;
            rows.map(|r| client_from(r?)).collect()
        })
        .await
    }

    async fn revoke_client(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool> {
        self.write(move |conn| {
            let n = conn
                .prepare_cached("UPDATE open311_clients SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
                .execute(params![id.to_string(), ts(at)])?;
            Ok(n > 0)
        })
        .await
    }

    async fn put_filed_request(&self, f: FiledRequest) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO open311_requests (report_id, client_id, media_url, filed_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (report_id) DO NOTHING",
            )?
            .execute(params![f.report_id.to_string(), f.client_id.to_string(), f.media_url, ts(f.filed_at)])?;
            Ok(())
        })
        .await
    }

    async fn filed_requests(&self, report_ids: &[Uuid]) -> Result<HashMap<Uuid, FiledRequest>> {
        let ids: Vec<String> = report_ids.iter().map(Uuid::to_string).collect();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT report_id, client_id, media_url, filed_at FROM open311_requests WHERE report_id = ?1")?;
            let mut out = HashMap::new();
            for id in ids {
                let row = stmt
                    .query_row([&id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    })
                    .optional()?;
                if let Some((report, client, media_url, filed_at)) = row {
                    let report_id = Uuid::parse_str(&report).map_err(|_| corrupt("open311_requests.report_id"))?;
                    let filed = FiledRequest {
                        report_id,
                        client_id: Uuid::parse_str(&client).map_err(|_| corrupt("open311_requests.client_id"))?,
                        media_url,
                        filed_at: parse_ts(&filed_at, "open311_requests.filed_at")?,
                    };
                    out.insert(report_id, filed);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn case_link(&self, report_id: Uuid) -> Result<Option<Uuid>> {
        self.read(move |conn| {
            let id: Option<String> = conn
                .prepare_cached("SELECT case_id FROM open311_case_links WHERE report_id = ?1")?
                .query_row([report_id.to_string()], |r| r.get(0))
                .optional()?;
            id.map(|s| Uuid::parse_str(&s).map_err(|_| corrupt("open311_case_links.case_id"))).transpose()
        })
        .await
    }

    async fn put_case_link(&self, report_id: Uuid, case_id: Uuid) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO open311_case_links (report_id, case_id) VALUES (?1, ?2) ON CONFLICT (report_id) DO NOTHING",
            )?
            .execute(params![report_id.to_string(), case_id.to_string()])?;
            Ok(())
        })
        .await
    }
}
