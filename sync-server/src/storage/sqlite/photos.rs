//! Which photos have arrived, and whether a caller may see one: a record in their scope
//! lists it (the `record_photos` index is kept with each record version).

use super::{SqliteStorage, from_sql_int, parse_ts, to_sql_int, ts};
use crate::domain::access::Visibility;
use crate::storage::{PhotoRow, PhotoStore, Result};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

/// One indexed lookup: the photo's index rows (primary key prefix), joined to their
/// records by primary key, filtered by the caller's area (`?2`) or assignments (`?3`, `?4`).
pub(crate) fn photo_visible_query(visibility: &Visibility) -> (&'static str, Vec<String>) {
    match visibility {
        Visibility::All => ("SELECT EXISTS (SELECT 1 FROM record_photos WHERE sha256 = ?1)", vec![]),
        Visibility::District(d) => (
            "SELECT EXISTS (SELECT 1 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                            WHERE rp.sha256 = ?1 AND r.district = ?2)",
            vec![d.clone()],
        ),
        Visibility::Community(c) => (
            "SELECT EXISTS (SELECT 1 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                            WHERE rp.sha256 = ?1 AND r.community = ?2)",
            vec![c.clone()],
        ),
        Visibility::Grid(g) => (
            "SELECT EXISTS (SELECT 1 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                            WHERE rp.sha256 = ?1 AND r.grid = ?2)",
            vec![g.clone()],
        ),
        Visibility::Officer { district, .. } => {
            let mut keys = vec![district.clone()];
            keys.extend(visibility.assignments());
            (
                "SELECT EXISTS (SELECT 1 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                                WHERE rp.sha256 = ?1 AND (r.district = ?2 OR r.assignee IN (?3, ?4)))",
                keys,
            )
        }
    }
}

#[async_trait]
impl PhotoStore for SqliteStorage {
    async fn photo_visible(&self, sha256: &str, visibility: &Visibility) -> Result<bool> {
        let sha256 = sha256.to_owned();
        let visibility = visibility.clone();
        self.read(move |conn| {
            let (sql, keys) = photo_visible_query(&visibility);
            let mut args = vec![sha256];
            args.extend(keys);
            let found: bool = conn.prepare_cached(sql)?.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
            Ok(found)
        })
        .await
    }

    async fn photo_uploaded(&self, sha256: &str) -> Result<Option<PhotoRow>> {
        let sha256 = sha256.to_owned();
        self.read(move |conn| {
            let row = conn
                .prepare_cached("SELECT sha256, size, mime, uploaded_by, uploaded_at FROM photos WHERE sha256 = ?1")?
                .query_row([&sha256], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .optional()?;
            row.map(|(sha256, size, mime, uploaded_by, at)| {
                Ok(PhotoRow {
                    sha256,
                    size: from_sql_int(size, "photos.size")?,
                    mime,
                    uploaded_by,
                    uploaded_at: parse_ts(&at, "photos.uploaded_at")?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn record_photo_uploaded(&self, photo: PhotoRow) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO photos (sha256, size, mime, uploaded_by, uploaded_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (sha256) DO NOTHING",
            )?
            .execute(params![
                photo.sha256,
                to_sql_int(photo.size, "photos.size")?,
                photo.mime,
                photo.uploaded_by,
                ts(photo.uploaded_at)
            ])?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn photo_visibility_uses_the_indexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open(dir.path()).expect("open");
        s.with_writer(|conn| {
            for v in [
                Visibility::All,
                Visibility::Grid("g".into()),
                Visibility::Community("c".into()),
                Visibility::District("d".into()),
                Visibility::Officer { district: "d".into(), user_id: "u".into() },
            ] {
                let (sql, keys) = photo_visible_query(&v);
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("prepare");
                let detail = |r: &rusqlite::Row<'_>| r.get::<_, String>(3);
                let args: Vec<String> = std::iter::once("x".to_owned()).chain(keys).collect();
                let plan: Vec<String> = stmt
                    .query_map(rusqlite::params_from_iter(args.iter()), detail)
                    .expect("plan")
                    .collect::<rusqlite::Result<_>>()
                    .expect("rows");
                let table_scans = plan.iter().filter(|step| step.starts_with("SCAN") && *step != "SCAN CONSTANT ROW").count();
                let plan = plan.join(" | ");
                assert!(
                    table_scans == 0
                        && (plan.contains("SEARCH record_photos USING PRIMARY KEY")
                            || plan.contains("SEARCH rp USING PRIMARY KEY")),
                    "{v:?}: {plan}"
                );
            }
        })
        .await;
    }
}
