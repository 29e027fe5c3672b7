//! Which photos have arrived, and whether a caller may see one, in PostgreSQL: a record in
//! their scope lists it by a vouched link (the `record_photos` index is kept with each
//! record version; a link made before the server had the photo is a claim until its lister
//! uploads it).

use super::{PgStorage, corrupt, from_sql_int, lock_writer, parse_ts, to_sql_int, ts};
use crate::domain::access::Visibility;
use crate::storage::{PhotoRow, PhotoSight, PhotoStore, Result};
use async_trait::async_trait;

/// One indexed lookup: the photo's index rows (primary key prefix), joined to their
/// records by primary key, filtered by the caller's area (`$2`) or assignments (`$3`, `$4`);
/// 2 if one is vouched, 1 if only claims are, NULL if none.
fn photo_visible_query(visibility: &Visibility) -> (&'static str, Vec<String>) {
    match visibility {
        Visibility::All => {
            ("SELECT MAX(CASE WHEN claimed_by IS NULL THEN 2 ELSE 1 END)::bigint FROM record_photos WHERE sha256 = $1", vec![])
        }
        Visibility::District(d) => (
            "SELECT MAX(CASE WHEN rp.claimed_by IS NULL THEN 2 ELSE 1 END)::bigint
             FROM record_photos rp JOIN records r ON r.id = rp.record_id
             WHERE rp.sha256 = $1 AND r.district = $2",
            vec![d.clone()],
        ),
        Visibility::Community(c) => (
            "SELECT MAX(CASE WHEN rp.claimed_by IS NULL THEN 2 ELSE 1 END)::bigint
             FROM record_photos rp JOIN records r ON r.id = rp.record_id
             WHERE rp.sha256 = $1 AND r.community = $2",
            vec![c.clone()],
        ),
        Visibility::Grid(g) => (
            "SELECT MAX(CASE WHEN rp.claimed_by IS NULL THEN 2 ELSE 1 END)::bigint
             FROM record_photos rp JOIN records r ON r.id = rp.record_id
             WHERE rp.sha256 = $1 AND r.grid = $2",
            vec![g.clone()],
        ),
        Visibility::Officer { district, .. } => {
            let mut keys = vec![district.clone()];
            keys.extend(visibility.assignments());
            (
                "SELECT MAX(CASE WHEN rp.claimed_by IS NULL THEN 2 ELSE 1 END)::bigint
                 FROM record_photos rp JOIN records r ON r.id = rp.record_id
                 WHERE rp.sha256 = $1 AND (r.district = $2 OR r.assignee IN ($3, $4))",
                keys,
            )
        }
    }
}

fn to_sql_dim(n: Option<u32>) -> Option<i64> {
    n.map(i64::from)
}

fn from_sql_dim(n: Option<i64>, what: &str) -> Result<Option<u32>> {
    n.map(|n| u32::try_from(n).map_err(|_| corrupt(what))).transpose()
}

#[async_trait]
impl PhotoStore for PgStorage {
    async fn photo_sight(&self, sha256: &str, visibility: &Visibility) -> Result<PhotoSight> {
        let (sql, keys) = photo_visible_query(visibility);
        let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&sha256];
        args.extend(keys.iter().map(|k| k as &(dyn tokio_postgres::types::ToSql + Sync)));
        let c = self.client().await?;
        let stmt = c.prepare_cached(sql).await?;
        let best: Option<i64> = c.query_one(&stmt, &args).await?.try_get(0)?;
        Ok(match best {
            Some(2) => PhotoSight::Vouched,
            Some(_) => PhotoSight::Claimed,
            None => PhotoSight::Unseen,
        })
    }

    async fn photo_uploaded(&self, sha256: &str) -> Result<Option<PhotoRow>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT sha256, size, mime, uploaded_by, uploaded_at, width, height FROM photos WHERE sha256 = $1")
            .await?;
        let Some(row) = c.query_opt(&stmt, &[&sha256]).await? else { return Ok(None) };
        let size: i64 = row.try_get(1)?;
        let at: String = row.try_get(4)?;
        Ok(Some(PhotoRow {
            sha256: row.try_get(0)?,
            size: from_sql_int(size, "photos.size")?,
            mime: row.try_get(2)?,
            uploaded_by: row.try_get(3)?,
            uploaded_at: parse_ts(&at, "photos.uploaded_at")?,
            width: from_sql_dim(row.try_get(5)?, "photos.width")?,
            height: from_sql_dim(row.try_get(6)?, "photos.height")?,
        }))
    }

    async fn record_photo_uploaded(&self, photo: PhotoRow) -> Result<()> {
        let size = to_sql_int(photo.size, "photos.size")?;
        let (width, height) = (to_sql_dim(photo.width), to_sql_dim(photo.height));
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        // A push writing this photo's index rows decides claim or vouched by reading
        // `photos`: it must not run between the row and the vouching below.
        lock_writer(&*tx).await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO photos (sha256, size, mime, uploaded_by, uploaded_at, width, height)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (sha256) DO NOTHING",
            )
            .await?;
        tx.execute(&insert, &[&photo.sha256, &size, &photo.mime, &photo.uploaded_by, &ts(photo.uploaded_at), &width, &height])
            .await?;
        // The uploader's own claims that described this file truly.
        let vouch = tx
            .prepare_cached(
                "UPDATE record_photos SET claimed_by = NULL
                 WHERE sha256 = $1 AND claimed_by = $2 AND mime = $3 AND bytes = $4
                   AND ($5::bigint IS NULL OR width = $5) AND ($6::bigint IS NULL OR height = $6)",
            )
            .await?;
        tx.execute(&vouch, &[&photo.sha256, &photo.uploaded_by, &photo.mime, &size, &width, &height]).await?;
        tx.commit().await?;
        Ok(())
    }
}
