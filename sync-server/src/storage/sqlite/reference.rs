//! The org tree and the category table in SQLite, with the revision counter that tells
//! other processes' changes apart.

use super::{SqliteStorage, corrupt, from_sql_int};
use crate::storage::columns::{category_kind_from_str, category_kind_str};
use crate::storage::{ReferenceStore, Result, StorageError};
use async_trait::async_trait;
use gridwork_core::cases::TimeLimit;
use gridwork_core::reference::{Category, OrgLevel, OrgUnit};
use gridwork_core::worktime::WorkCalendar;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn bump_reference_rev(conn: &Connection) -> Result<()> {
    conn.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'reference_rev'")?.execute([])?;
    Ok(())
}

#[async_trait]
impl ReferenceStore for SqliteStorage {
    async fn put_orgs(&self, orgs: Vec<OrgUnit>) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO orgs (code, name, level, parent) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, parent = excluded.parent",
                )?;
                for o in &orgs {
                    stmt.execute(params![o.code, o.name, o.level.as_str(), o.parent])?;
                }
            }
            bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn put_categories(&self, categories: Vec<Category>) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO categories (code, name, parent, kind) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent = excluded.parent, kind = excluded.kind",
                )?;
                for c in &categories {
                    stmt.execute(params![c.code, c.name, c.parent, category_kind_str(c.kind)])?;
                }
            }
            bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn orgs(&self) -> Result<Vec<OrgUnit>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT code, name, level, parent FROM orgs ORDER BY code")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(code, name, level, parent)| {
                    let level = OrgLevel::parse(&level).ok_or_else(|| corrupt("orgs.level"))?;
                    Ok(OrgUnit { code, name, level, parent })
                })
                .collect()
        })
        .await
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT code, name, parent, kind FROM categories ORDER BY code")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(code, name, parent, kind)| Ok(Category { code, name, parent, kind: category_kind_from_str(&kind)? }))
                .collect()
        })
        .await
    }

    async fn put_worktime(&self, calendar: WorkCalendar, time_limits: Vec<TimeLimit>) -> Result<()> {
        let calendar = serde_json::to_string(&calendar).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let limits = serde_json::to_string(&time_limits).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        self.write(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO reference_docs (key, doc) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc",
                )?;
                stmt.execute(params!["calendar", calendar])?;
                stmt.execute(params!["time_limits", limits])?;
            }
            bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn worktime(&self) -> Result<Option<(WorkCalendar, Vec<TimeLimit>)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT doc FROM reference_docs WHERE key = ?1")?;
            let calendar: Option<String> = stmt.query_row(["calendar"], |r| r.get(0)).optional()?;
            let limits: Option<String> = stmt.query_row(["time_limits"], |r| r.get(0)).optional()?;
            let (Some(calendar), Some(limits)) = (calendar, limits) else { return Ok(None) };
            let calendar = serde_json::from_str(&calendar).map_err(|_| corrupt("reference_docs.calendar"))?;
            let limits = serde_json::from_str(&limits).map_err(|_| corrupt("reference_docs.time_limits"))?;
            Ok(Some((calendar, limits)))
        })
        .await
    }

    async fn put_stalls(&self, stalls: Vec<gridwork_core::stalls::Stall>) -> Result<()> {
        let doc = serde_json::to_string(&stalls).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        self.write(move |conn| {
            let tx = conn.transaction()?;
            tx.prepare_cached(
                "INSERT INTO reference_docs (key, doc) VALUES ('stalls', ?1) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc",
            )?
            .execute([doc])?;
            bump_reference_rev(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn stalls(&self) -> Result<Vec<gridwork_core::stalls::Stall>> {
        self.read(|conn| {
            let doc: Option<String> = conn
                .prepare_cached("SELECT doc FROM reference_docs WHERE key = 'stalls'")?
                .query_row([], |r| r.get(0))
                .optional()?;
            doc.map_or(Ok(Vec::new()), |d| serde_json::from_str(&d).map_err(|_| corrupt("reference_docs.stalls")))
        })
        .await
    }

    async fn reference_revision(&self) -> Result<u64> {
        self.read(|conn| {
            let v: i64 =
                conn.prepare_cached("SELECT value FROM meta WHERE key = 'reference_rev'")?.query_row([], |r| r.get(0))?;
            from_sql_int(v, "meta.reference_rev")
        })
        .await
    }
}
