//! Notice-number blocks in PostgreSQL. Blocks come from the same `counters` table as case
//! numbers (key `notice:<prefix>:<year>`), under the writer lock, so two devices never get
//! overlapping ranges, even from two server processes.

/// The last number of a block still usable: below its returned and its lost part.
const END: &str = "least(coalesce(returned_from, last + 1), coalesce(lost_from, last + 1)) - 1";

use super::{PgStorage, corrupt, from_sql_int, lock_writer, parse_ts, to_sql_int, ts};
use crate::storage::Result;
use crate::storage::numbers::{BlockAccount, NumberKey, NumberState, NumberStore, Whose};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridwork_core::numbering::{MAX_NUMBER, NumberBlock};
use gridwork_core::protocol::BlockReturn;
use tokio_postgres::GenericClient;

fn to_block(id: i64, prefix: String, year: i64, first: i64, last: i64) -> Result<NumberBlock> {
    Ok(NumberBlock {
        id: from_sql_int(id, "number_blocks.id")?,
        prefix,
        year: i32::try_from(year).map_err(|_| corrupt("number_blocks.year"))?,
        first: from_sql_int(first, "number_blocks.first")?,
        last: from_sql_int(last, "number_blocks.last")?,
    })
}

/// Where these numbers stand for `device_id`/`user_id` (see `RecordTx::number_states`),
/// inside the unit of work's transaction.
pub(crate) async fn number_states(
    client: &impl GenericClient,
    keys: &[NumberKey],
    device_id: &str,
    user_id: &str,
) -> Result<Vec<NumberState>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let taken = client.prepare("SELECT record_id FROM used_numbers WHERE prefix = $1 AND year = $2 AND n = $3").await?;
    let open = client
        .prepare(&format!(
            "SELECT id FROM number_blocks
             WHERE prefix = $1 AND year = $2 AND first <= $3 AND last >= $3 AND device_id = $4 AND user_id = $5
               AND $3 <= {END}"
        ))
        .await?;
    let mut out = Vec::with_capacity(keys.len());
    for (prefix, year, n) in keys {
        let n = to_sql_int(*n, "number")?;
        let year = i64::from(*year);
        let taken_by: Option<String> = client.query_opt(&taken, &[prefix, &year, &n]).await?.map(|r| r.try_get(0)).transpose()?;
        let block: Option<i64> =
            client.query_opt(&open, &[prefix, &year, &n, &device_id, &user_id]).await?.map(|r| r.try_get(0)).transpose()?;
        out.push(NumberState { taken_by, block });
    }
    Ok(out)
}

/// Record the numbers of accepted new notices (see `RecordTx::record_numbers`), inside the
/// unit of work's transaction.
pub(crate) async fn record_numbers(client: &impl GenericClient, uses: &[(NumberKey, i64, String)]) -> Result<()> {
    if uses.is_empty() {
        return Ok(());
    }
    let insert = client
        .prepare(
            "INSERT INTO used_numbers (prefix, year, n, block_id, record_id) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (prefix, year, n) DO NOTHING",
        )
        .await?;
    for ((prefix, year, n), block, record_id) in uses {
        let n = to_sql_int(*n, "number")?;
        client.execute(&insert, &[prefix, &i64::from(*year), &n, block, record_id]).await?;
    }
    Ok(())
}

/// The highest number used in a block, if any.
async fn highest_used(client: &deadpool_postgres::Transaction<'_>, block: i64) -> Result<Option<i64>> {
    let stmt = client.prepare_cached("SELECT MAX(n) FROM used_numbers WHERE block_id = $1").await?;
    Ok(client.query_one(&stmt, &[&block]).await?.try_get(0)?)
}

#[async_trait]
impl NumberStore for PgStorage {
    async fn issue_block(
        &self,
        prefix: &str,
        year: i32,
        count: u32,
        device_id: &str,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<NumberBlock>> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        lock_writer(&*tx).await?;
        let key = format!("notice:{prefix}:{year}");
        let before: i64 = tx
            .query_opt(&tx.prepare_cached("SELECT value FROM counters WHERE key = $1").await?, &[&key])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or(0);
        let last = before + i64::from(count);
        if count == 0 || last > MAX_NUMBER as i64 {
            return Ok(None);
        }
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO counters (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .await?,
            &[&key, &last],
        )
        .await?;
        let year_sql = i64::from(year);
        let id: i64 = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO number_blocks (id, prefix, year, first, last, device_id, user_id, issued_at)
                     VALUES ((SELECT coalesce(MAX(id), 0) + 1 FROM number_blocks), $1, $2, $3, $4, $5, $6, $7)
                     RETURNING id",
                )
                .await?,
                &[&prefix, &year_sql, &(before + 1), &last, &device_id, &user_id, &ts(at)],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(Some(to_block(id, prefix.to_owned(), year_sql, before + 1, last)?))
    }

    async fn open_blocks(&self, device_id: &str, user_id: &str) -> Result<Vec<NumberBlock>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT id, prefix, year, next, end_ FROM (
                     SELECT id, prefix, year,
                            greatest(first, coalesce((SELECT MAX(n) + 1 FROM used_numbers u WHERE u.block_id = b.id), first)) AS next,
                            {END} AS end_
                     FROM number_blocks b
                     WHERE device_id = $1 AND user_id = $2
                 ) o
                 WHERE end_ >= next ORDER BY id"
            ))
            .await?;
        c.query(&stmt, &[&device_id, &user_id])
            .await?
            .iter()
            .map(|r| to_block(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?))
            .collect()
    }

    async fn return_numbers(&self, device_id: &str, user_id: &str, returns: &[BlockReturn], at: DateTime<Utc>) -> Result<u64> {
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        lock_writer(&*tx).await?;
        let select = tx
            .prepare_cached(
                "SELECT first, last FROM number_blocks
                 WHERE id = $1 AND device_id = $2 AND user_id = $3
                   AND returned_from IS NULL AND lost_from IS NULL",
            )
            .await?;
        let update = tx.prepare_cached("UPDATE number_blocks SET returned_from = $2, returned_at = $3 WHERE id = $1").await?;
        let at = ts(at);
        let mut total = 0u64;
        for r in returns {
            let Ok(id) = i64::try_from(r.block) else { continue };
            let Ok(from) = i64::try_from(r.from) else { continue };
            let Some(row) = tx.query_opt(&select, &[&id, &device_id, &user_id]).await? else { continue };
            let (first, last): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            let floor = highest_used(&tx, id).await?.map_or(first, |h| h + 1);
            if from < floor || from > last {
                continue;
            }
            tx.execute(&update, &[&id, &from, &at]).await?;
            total += from_sql_int(last - from + 1, "returned")?;
        }
        tx.commit().await?;
        Ok(total)
    }

    async fn lose_numbers(&self, whose: Whose<'_>, at: DateTime<Utc>) -> Result<u64> {
        // (device, keep user) or (user, device): the open blocks they name.
        let (sql, a, b) = match whose {
            Whose::Device { device_id, keep_user } => (
                "SELECT id, first, coalesce(returned_from - 1, last) FROM number_blocks
                 WHERE device_id = $1 AND lost_from IS NULL AND ($2::text IS NULL OR user_id <> $2)",
                device_id,
                keep_user,
            ),
            Whose::User { user_id, device_id } => (
                "SELECT id, first, coalesce(returned_from - 1, last) FROM number_blocks
                 WHERE user_id = $1 AND lost_from IS NULL AND ($2::text IS NULL OR device_id = $2)",
                user_id,
                device_id,
            ),
        };
        let mut c = self.writer().await?;
        let tx = c.transaction().await?;
        lock_writer(&*tx).await?;
        let open = tx.query(&tx.prepare_cached(sql).await?, &[&a, &b]).await?;
        let update = tx.prepare_cached("UPDATE number_blocks SET lost_from = $2, lost_at = $3 WHERE id = $1").await?;
        let at = ts(at);
        let mut total = 0u64;
        for row in open {
            let (id, first, end): (i64, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            let from = highest_used(&tx, id).await?.map_or(first, |h| h + 1);
            if from > end {
                continue; // used up, or the rest went back already
            }
            tx.execute(&update, &[&id, &from, &at]).await?;
            total += from_sql_int(end - from + 1, "lost")?;
        }
        tx.commit().await?;
        Ok(total)
    }

    async fn number_accounts(&self, prefix: Option<&str>, year: Option<i32>) -> Result<Vec<BlockAccount>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT b.id, b.prefix, b.year, b.first, b.last, b.device_id, b.user_id, b.issued_at,
                        b.returned_from, b.lost_from,
                        (SELECT COUNT(*) FROM used_numbers u WHERE u.block_id = b.id),
                        (SELECT COUNT(*) FROM used_numbers u JOIN records r ON r.id = u.record_id
                          WHERE u.block_id = b.id AND r.status = 'cancelled')
                 FROM number_blocks b
                 WHERE ($1::text IS NULL OR b.prefix = $1) AND ($2::bigint IS NULL OR b.year = $2)
                 ORDER BY b.prefix, b.year, b.first",
            )
            .await?;
        let year = year.map(i64::from);
        let rows = c.query(&stmt, &[&prefix, &year]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let last: i64 = r.try_get(4)?;
            let returned_from: Option<i64> = r.try_get(8)?;
            let lost_from: Option<i64> = r.try_get(9)?;
            let used: i64 = r.try_get(10)?;
            let cancelled: i64 = r.try_get(11)?;
            let issued_at: String = r.try_get(7)?;
            let block = to_block(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, last)?;
            let returned = returned_from.map_or(0, |from| last - from + 1);
            let lost = lost_from.map_or(0, |from| returned_from.unwrap_or(last + 1) - from);
            let returned = from_sql_int(returned, "returned")?;
            let lost = from_sql_int(lost, "lost")?;
            let used = from_sql_int(used, "used")?;
            let open = block.len().checked_sub(used + returned + lost).ok_or_else(|| corrupt("number_blocks"))?;
            out.push(BlockAccount {
                block,
                device_id: r.try_get(5)?,
                user_id: r.try_get(6)?,
                issued_at: parse_ts(&issued_at, "number_blocks.issued_at")?,
                used,
                cancelled: from_sql_int(cancelled, "cancelled")?,
                returned,
                lost,
                open,
            });
        }
        Ok(out)
    }
}
