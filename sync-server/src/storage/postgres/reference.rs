//! The org tree and the category table in PostgreSQL, with the revision counter that tells
//! other processes' changes apart.

use super::{PgStorage, corrupt, from_sql_int};
use crate::storage::columns::{category_kind_from_str, category_kind_str};
use crate::storage::{ReferenceStore, Result, StorageError};
use async_trait::async_trait;
use gridwork_core::cases::TimeLimit;
use gridwork_core::reference::{Category, OrgLevel, OrgUnit};
use gridwork_core::worktime::WorkCalendar;

/// One more change of the reference data, in the caller's transaction.
pub(super) async fn bump_reference_rev(client: &impl tokio_postgres::GenericClient) -> Result<()> {
    client.execute("UPDATE meta SET value = value + 1 WHERE key = 'reference_rev'", &[]).await?;
    Ok(())
}

const UPSERT_DOC: &str =
    "INSERT INTO reference_docs (key, doc) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc";

impl PgStorage {
    /// Upsert reference documents by key and bump the revision, in one transaction.
    async fn put_reference_docs(&self, docs: &[(&str, String)]) -> Result<()> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        // The writer lock orders concurrent replacements (and their revision bumps).
        super::lock_writer(&*tx).await?;
        let stmt = tx.prepare_cached(UPSERT_DOC).await?;
        for (key, doc) in docs {
            tx.execute(&stmt, &[key, doc]).await?;
        }
        bump_reference_rev(&*tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reference_doc(&self, key: &str) -> Result<Option<String>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT doc FROM reference_docs WHERE key = $1").await?;
        Ok(c.query_opt(&stmt, &[&key]).await?.map(|r| r.get(0)))
    }
}

#[async_trait]
impl ReferenceStore for PgStorage {
    async fn put_orgs(&self, orgs: Vec<OrgUnit>) -> Result<()> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        // Concurrent batches upsert in one order (no deadlock on overlapping codes).
        super::lock_writer(&*tx).await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO orgs (code, name, level, parent) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, parent = excluded.parent",
            )
            .await?;
        for o in &orgs {
            tx.execute(&stmt, &[&o.code, &o.name, &o.level.as_str(), &o.parent]).await?;
        }
        bump_reference_rev(&*tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_categories(&self, categories: Vec<Category>) -> Result<()> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        super::lock_writer(&*tx).await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO categories (code, name, parent, kind) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent = excluded.parent, kind = excluded.kind",
            )
            .await?;
        for cat in &categories {
            tx.execute(&stmt, &[&cat.code, &cat.name, &cat.parent, &category_kind_str(cat.kind)]).await?;
        }
        bump_reference_rev(&*tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn orgs(&self) -> Result<Vec<OrgUnit>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT code, name, level, parent FROM orgs ORDER BY code").await?;
        c.query(&stmt, &[])
            .await?
            .into_iter()
            .map(|r| -> Result<OrgUnit> {
                let level: String = r.try_get(2)?;
                let level = OrgLevel::parse(&level).ok_or_else(|| corrupt("orgs.level"))?;
                Ok(OrgUnit { code: r.try_get(0)?, name: r.try_get(1)?, level, parent: r.try_get(3)? })
            })
            .collect()
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT code, name, parent, kind FROM categories ORDER BY code").await?;
        c.query(&stmt, &[])
            .await?
            .into_iter()
            .map(|r| -> Result<Category> {
                let kind: String = r.try_get(3)?;
                Ok(Category {
                    code: r.try_get(0)?,
                    name: r.try_get(1)?,
                    parent: r.try_get(2)?,
                    kind: category_kind_from_str(&kind)?,
                })
            })
            .collect()
    }

    async fn put_worktime(&self, calendar: WorkCalendar, time_limits: Vec<TimeLimit>) -> Result<()> {
        let calendar = serde_json::to_string(&calendar).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let limits = serde_json::to_string(&time_limits).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        self.put_reference_docs(&[("calendar", calendar), ("time_limits", limits)]).await
    }

    async fn worktime(&self) -> Result<Option<(WorkCalendar, Vec<TimeLimit>)>> {
        // One snapshot for both documents (a concurrent replacement commits them together).
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT key, doc FROM reference_docs WHERE key IN ('calendar', 'time_limits')").await?;
        let (mut calendar, mut limits) = (None, None);
        for r in c.query(&stmt, &[]).await? {
            let key: String = r.try_get(0)?;
            let doc: String = r.try_get(1)?;
            match key.as_str() {
                "calendar" => calendar = Some(doc),
                _ => limits = Some(doc),
            }
        }
        let (Some(calendar), Some(limits)) = (calendar, limits) else { return Ok(None) };
        let calendar = serde_json::from_str(&calendar).map_err(|_| corrupt("reference_docs.calendar"))?;
        let limits = serde_json::from_str(&limits).map_err(|_| corrupt("reference_docs.time_limits"))?;
        Ok(Some((calendar, limits)))
    }

    async fn put_stalls(&self, stalls: Vec<gridwork_core::stalls::Stall>) -> Result<()> {
        let doc = serde_json::to_string(&stalls).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        self.put_reference_docs(&[("stalls", doc)]).await
    }

    async fn stalls(&self) -> Result<Vec<gridwork_core::stalls::Stall>> {
        let doc = self.reference_doc("stalls").await?;
        doc.map_or(Ok(Vec::new()), |d| serde_json::from_str(&d).map_err(|_| corrupt("reference_docs.stalls")))
    }

    async fn reference_revision(&self) -> Result<u64> {
        let c = self.client().await?;
        let stmt = c.prepare_cached("SELECT value FROM meta WHERE key = 'reference_rev'").await?;
        let row = c.query_opt(&stmt, &[]).await?.ok_or_else(|| corrupt("meta.reference_rev"))?;
        from_sql_int(row.try_get(0)?, "meta.reference_rev")
    }
}
