//! Open311 client applications and the requests they filed, in PostgreSQL. Every write is
//! one statement (a repeat of a report id or of a case link is ignored by the database).

use super::{PgStorage, corrupt, parse_ts, ts};
use crate::storage::Result;
use crate::storage::clients::{ClientRow, ClientStore, FiledRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use tokio_postgres::Row;
use uuid::Uuid;

const SELECT_CLIENTS: &str =
    "SELECT id, name, key_hash, user_id, grid, lat, lon, created_at, created_by, revoked_at FROM open311_clients";

fn uuid_from(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| corrupt(what))
}

fn client_from(r: &Row) -> Result<ClientRow> {
    let id: String = r.try_get(0)?;
    let created_at: String = r.try_get(7)?;
    let revoked_at: Option<String> = r.try_get(9)?;
    Ok(ClientRow {
        id: uuid_from(&id, "open311_clients.id")?,
        name: r.try_get(1)?,
        key_hash: r.try_get(2)?,
        user_id: r.try_get(3)?,
        grid: r.try_get(4)?,
        lat: r.try_get(5)?,
        lon: r.try_get(6)?,
        created_at: parse_ts(&created_at, "open311_clients.created_at")?,
        created_by: r.try_get(8)?,
        revoked_at: revoked_at.map(|t| parse_ts(&t, "open311_clients.revoked_at")).transpose()?,
    })
}

impl PgStorage {
    async fn client_row_where(&self, sql: &str, value: &str) -> Result<Option<ClientRow>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(sql).await?;
        c.query_opt(&stmt, &[&value]).await?.as_ref().map(client_from).transpose()
    }
}

#[async_trait]
impl ClientStore for PgStorage {
    async fn insert_client(&self, cl: ClientRow) -> Result<()> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO open311_clients (id, name, key_hash, user_id, grid, lat, lon, created_at, created_by, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await?;
        c.execute(
            &stmt,
            &[
                &cl.id.to_string(),
                &cl.name,
                &cl.key_hash,
                &cl.user_id,
                &cl.grid,
                &cl.lat,
                &cl.lon,
                &ts(cl.created_at),
                &cl.created_by,
                &cl.revoked_at.map(ts),
            ],
        )
        .await?;
        Ok(())
    }

    async fn client_by_key_hash(&self, key_hash: &str) -> Result<Option<ClientRow>> {
        self.client_row_where(&format!("{SELECT_CLIENTS} WHERE key_hash = $1"), key_hash).await
    }

    async fn client(&self, id: Uuid) -> Result<Option<ClientRow>> {
        self.client_row_where(&format!("{SELECT_CLIENTS} WHERE id = $1"), &id.to_string()).await
    }

    async fn list_clients(&self) -> Result<Vec<ClientRow>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(&format!("{SELECT_CLIENTS} ORDER BY created_at, id")).await?;
        c.query(&stmt, &[]).await?.iter().map(client_from).collect()
    }

    async fn revoke_client(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("UPDATE open311_clients SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL").await?;
        Ok(c.execute(&stmt, &[&id.to_string(), &ts(at)]).await? > 0)
    }

    async fn put_filed_request(&self, f: FiledRequest) -> Result<()> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO open311_requests (report_id, client_id, media_url, filed_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (report_id) DO NOTHING",
            )
            .await?;
        c.execute(&stmt, &[&f.report_id.to_string(), &f.client_id.to_string(), &f.media_url, &ts(f.filed_at)]).await?;
        Ok(())
    }

    async fn filed_requests(&self, report_ids: &[Uuid]) -> Result<HashMap<Uuid, FiledRequest>> {
        if report_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<String> = report_ids.iter().map(Uuid::to_string).collect();
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT report_id, client_id, media_url, filed_at FROM open311_requests WHERE report_id = ANY($1)")
            .await?;
        let mut out = HashMap::new();
        for r in c.query(&stmt, &[&ids]).await? {
            let report: String = r.try_get(0)?;
            let client: String = r.try_get(1)?;
            let filed_at: String = r.try_get(3)?;
            let report_id = uuid_from(&report, "open311_requests.report_id")?;
            let filed = FiledRequest {
                report_id,
                client_id: uuid_from(&client, "open311_requests.client_id")?,
                media_url: r.try_get(2)?,
                filed_at: parse_ts(&filed_at, "open311_requests.filed_at")?,
            };
            out.insert(report_id, filed);
        }
        Ok(out)
    }

    async fn case_link(&self, report_id: Uuid) -> Result<Option<Uuid>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT case_id FROM open311_case_links WHERE report_id = $1").await?;
        let Some(r) = c.query_opt(&stmt, &[&report_id.to_string()]).await? else { return Ok(None) };
        let id: String = r.try_get(0)?;
        uuid_from(&id, "open311_case_links.case_id").map(Some)
    }

    async fn put_case_link(&self, report_id: Uuid, case_id: Uuid) -> Result<()> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO open311_case_links (report_id, case_id) VALUES ($1, $2) ON CONFLICT (report_id) DO NOTHING",
            )
            .await?;
        c.execute(&stmt, &[&report_id.to_string(), &case_id.to_string()]).await?;
        Ok(())
    }
}
