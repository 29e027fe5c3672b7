//! Which photos have arrived, and whether a caller may see one: a record in their scope
//! lists it by a vouched link (the `record_photos` index is kept with each record version;
//! a link made before the server had the photo is a claim until its lister uploads it).

use super::{SqliteStorage, from_sql_int, parse_ts, to_sql_int, ts};
use crate::domain::access::Visibility;
use crate::storage::{PhotoRow, PhotoSight, PhotoStore, Result};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

/// One indexed lookup: the photo's index rows (primary key prefix), joined to their
/// records by primary key, filtered by the caller's area (`?2`) or assignments (`?3`, `?4`);
/// 2 if one is vouched, 1 if only claims are, NULL if none.
pub(crate) fn photo_visible_query(visibility: &Visibility) -> (&'static str, Vec<String>) {
    match visibility {
        Visibility::All => {
            ("SELECT MAX(CASE WHEN claimed_by IS NULL THEN 2 ELSE 1 END) FROM record_photos WHERE sha256 = ?1", vec![])
        }
        Visibility::District(d) => (
            "SELECT MAX(CASE WHEN rp.claimed_by IS NULL THEN 2 ELSE 1 END)
             FROM record_photos rp JOIN records r ON r.id = rp.record_id
             WHERE rp.sha256 = ?1 AND r.district = ?2",
            vec![d.clone()],
        ),
        Visibility::Community(c) => (
            "SELECT MAX(CASE WHEN rp.claimed_by IS NULL THEN 2 ELSE 1 END)
             FROM record_photos rp JOIN records r ON r.id = rp.record_id
             WHERE rp.sha256 = ?1 AND r.community = ?2",
            vec![c.clone()],
        ),
        Visibility::Grid(g) => (
            "SELECT MAX(CASE WHEN rp.claimed_by IS NULL THEN 2 ELSE 1 END)
             FROM record_photos rp JOIN records r ON r.id = rp.record_id
             WHERE rp.sha256 = ?1 AND r.grid = ?2",
            vec![g.clone()],
        ),
        Visibility::Officer { district, .. } => {
            let mut keys = vec![district.clone()];
            keys.extend(visibility.assignments());
            (
                "SELECT MAX(CASE WHEN rp.claimed_by IS NULL THEN 2 ELSE 1 END)
                 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                 WHERE rp.sha256 = ?1 AND (r.district = ?2 OR r.assignee IN (?3, ?4))",
                keys,
            )
        }
    }
}

#[async_trait]
impl PhotoStore for SqliteStorage {
    async fn photo_sight(&self, sha256: &str, visibility: &Visibility) -> Result<PhotoSight> {
        let sha256 = sha256.to_owned();
        let visibility = visibility.clone();
        self.read(move |conn| {
            let (sql, keys) = photo_visible_query(&visibility);
            let mut args = vec![sha256];
            args.extend(keys);
            let best: Option<i64> = conn.prepare_cached(sql)?.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
            Ok(match best {
                Some(2) => PhotoSight::Vouched,
                Some(_) => PhotoSight::Claimed,
                None => PhotoSight::Unseen,
            })
        })
        .await
    }

    async fn photo_uploaded(&self, sha256: &str) -> Result<Option<PhotoRow>> {
        let sha256 = sha256.to_owned();
        self.read(move |conn| {
            let row = conn
                .prepare_cached(
                    "SELECT sha256, size, mime, uploaded_by, uploaded_at, width, height FROM photos WHERE sha256 = ?1",
                )?
                .query_row([&sha256], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<u32>>(5)?,
                        r.get::<_, Option<u32>>(6)?,
                    ))
                })
                .optional()?;
            row.map(|(sha256, size, mime, uploaded_by, at, width, height)| {
                Ok(PhotoRow {
                    sha256,
                    size: from_sql_int(size, "photos.size")?,
                    mime,
                    uploaded_by,
                    uploaded_at: parse_ts(&at, "photos.uploaded_at")?,
                    width,
                    height,
                })
            })
            .transpose()
        })
        .await
    }

    async fn record_photo_uploaded(&self, photo: PhotoRow) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let size = to_sql_int(photo.size, "photos.size")?;
            tx.prepare_cached(
                "INSERT INTO photos (sha256, size, mime, uploaded_by, uploaded_at, width, height)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (sha256) DO NOTHING",
            )?
            .execute(params![
                photo.sha256,
                size,
                photo.mime,
                photo.uploaded_by,
                ts(photo.uploaded_at),
                photo.width,
                photo.height
            ])?;
            // The uploader's own claims that described this file truly.
            tx.prepare_cached(
                "UPDATE record_photos SET claimed_by = NULL
                 WHERE sha256 = ?1 AND claimed_by = ?2 AND mime = ?3 AND bytes = ?4
                   AND (?5 IS NULL OR width = ?5) AND (?6 IS NULL OR height = ?6)",
            )?
            .execute(params![photo.sha256, photo.uploaded_by, photo.mime, size, photo.width, photo.height])?;
            tx.commit()?;
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
