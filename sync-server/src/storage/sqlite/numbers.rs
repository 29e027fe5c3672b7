//! Notice-number blocks in SQLite. Blocks come from the same `counters` table as case
//! numbers (key `notice:<prefix>:<year>`), on the writer, so two devices never get
//! overlapping ranges.

/// The last number of a block still usable: below its returned and its lost part.
const END: &str = "min(coalesce(returned_from, last + 1), coalesce(lost_from, last + 1)) - 1";

use super::{SqliteStorage, corrupt, from_sql_int, parse_ts, to_sql_int, ts};
use crate::storage::Result;
use crate::storage::numbers::{BlockAccount, NumberKey, NumberState, NumberStore, Whose};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridwork_core::numbering::{MAX_NUMBER, NumberBlock};
use gridwork_core::protocol::BlockReturn;
use rusqlite::{Connection, OptionalExtension, params};

fn block_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, i32, i64, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_block((id, prefix, year, first, last): (i64, String, i32, i64, i64)) -> Result<NumberBlock> {
    Ok(NumberBlock {
        id: from_sql_int(id, "number_blocks.id")?,
        prefix,
        year,
        first: from_sql_int(first, "number_blocks.first")?,
        last: from_sql_int(last, "number_blocks.last")?,
    })
}

/// Where each number stands for this device and account, in the push's transaction.
pub(crate) fn number_states(conn: &Connection, keys: &[NumberKey], device_id: &str, user_id: &str) -> Result<Vec<NumberState>> {
    let mut taken = conn.prepare_cached("SELECT record_id FROM used_numbers WHERE prefix = ?1 AND year = ?2 AND n = ?3")?;
    let mut open = conn.prepare_cached(&format!(
        "SELECT id FROM number_blocks
         WHERE prefix = ?1 AND year = ?2 AND first <= ?3 AND last >= ?3 AND device_id = ?4 AND user_id = ?5
           AND ?3 <= {END}"
    ))?;
    keys.iter()
        .map(|(prefix, year, n)| {
            let n_sql = to_sql_int(*n, "number")?;
            let taken_by: Option<String> = taken.query_row(params![prefix, year, n_sql], |r| r.get(0)).optional()?;
            let block: Option<i64> = open.query_row(params![prefix, year, n_sql, device_id, user_id], |r| r.get(0)).optional()?;
            Ok(NumberState { taken_by, block })
        })
        .collect()
}

/// Record the numbers of accepted new notices.
pub(crate) fn record_numbers(conn: &Connection, uses: &[(NumberKey, i64, String)]) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO used_numbers (prefix, year, n, block_id, record_id) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (prefix, year, n) DO NOTHING",
    )?;
    for ((prefix, year, n), block, record_id) in uses {
        insert.execute(params![prefix, year, to_sql_int(*n, "number")?, block, record_id])?;
    }
    Ok(())
}

/// The highest number used in a block, if any.
fn highest_used(conn: &Connection, block: i64) -> Result<Option<i64>> {
    Ok(conn.prepare_cached("SELECT MAX(n) FROM used_numbers WHERE block_id = ?1")?.query_row([block], |r| r.get(0))?)
}

#[async_trait]
impl NumberStore for SqliteStorage {
    async fn issue_block(
        &self,
        prefix: &str,
        year: i32,
        count: u32,
        device_id: &str,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<NumberBlock>> {
        let (prefix, device_id, user_id) = (prefix.to_owned(), device_id.to_owned(), user_id.to_owned());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let key = format!("notice:{prefix}:{year}");
            let before: i64 = tx
                .prepare_cached("SELECT value FROM counters WHERE key = ?1")?
                .query_row([&key], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            let last = before + i64::from(count);
            if count == 0 || last > MAX_NUMBER as i64 {
                return Ok(None);
            }
            tx.prepare_cached(
                "INSERT INTO counters (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, last])?;
            tx.prepare_cached(
                "INSERT INTO number_blocks (prefix, year, first, last, device_id, user_id, issued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![prefix, year, before + 1, last, device_id, user_id, ts(at)])?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(Some(to_block((id, prefix, year, before + 1, last))?))
        })
        .await
    }

    async fn open_blocks(&self, device_id: &str, user_id: &str) -> Result<Vec<NumberBlock>> {
        let (device_id, user_id) = (device_id.to_owned(), user_id.to_owned());
        self.read(move |conn| {
            let rows: Vec<(i64, String, i32, i64, i64)> = conn
                .prepare_cached(&format!(
                    "SELECT id, prefix, year,
                            max(first, coalesce((SELECT MAX(n) + 1 FROM used_numbers u WHERE u.block_id = b.id), first)) AS next,
                            {END} AS end_ FROM number_blocks b
                     WHERE device_id = ?1 AND user_id = ?2 AND end_ >= next ORDER BY id"
                ))?
                .query_map(params![device_id, user_id], block_of)?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter().map(to_block).collect()
        })
        .await
    }

    async fn return_numbers(&self, device_id: &str, user_id: &str, returns: &[BlockReturn], at: DateTime<Utc>) -> Result<u64> {
        let (device_id, user_id, returns) = (device_id.to_owned(), user_id.to_owned(), returns.to_vec());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let mut total = 0u64;
            for r in &returns {
                let Ok(id) = i64::try_from(r.block) else { continue };
                let Ok(from) = i64::try_from(r.from) else { continue };
                let row: Option<(i64, i64)> = tx
                    .prepare_cached(
                        "SELECT first, last FROM number_blocks
                         WHERE id = ?1 AND device_id = ?2 AND user_id = ?3
                           AND returned_from IS NULL AND lost_from IS NULL",
                    )?
                    .query_row(params![id, device_id, user_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                let Some((first, last)) = row else { continue };
                let floor = highest_used(&tx, id)?.map_or(first, |h| h + 1);
                if from < floor || from > last {
                    continue;
                }
                tx.prepare_cached("UPDATE number_blocks SET returned_from = ?2, returned_at = ?3 WHERE id = ?1")?
                    .execute(params![id, from, ts(at)])?;
                total += from_sql_int(last - from + 1, "returned")?;
            }
            tx.commit()?;
            Ok(total)
        })
        .await
    }

    async fn lose_numbers(&self, whose: Whose<'_>, at: DateTime<Utc>) -> Result<u64> {
        // (device, keep user) or (user, device): the open blocks they name.
        let (sql, a, b) = match whose {
            Whose::Device { device_id, keep_user } => (
                "SELECT id, first, coalesce(returned_from - 1, last) FROM number_blocks
                 WHERE device_id = ?1 AND lost_from IS NULL AND (?2 IS NULL OR user_id <> ?2)",
                device_id.to_owned(),
                keep_user.map(str::to_owned),
            ),
            Whose::User { user_id, device_id } => (
                "SELECT id, first, coalesce(returned_from - 1, last) FROM number_blocks
                 WHERE user_id = ?1 AND lost_from IS NULL AND (?2 IS NULL OR device_id = ?2)",
                user_id.to_owned(),
                device_id.map(str::to_owned),
            ),
        };
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let open: Vec<(i64, i64, i64)> = tx
                .prepare_cached(sql)?
                .query_map(params![a, b], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut total = 0u64;
            for (id, first, end) in open {
                let from = highest_used(&tx, id)?.map_or(first, |h| h + 1);
                if from > end {
                    continue; // used up, or the rest went back already
                }
                tx.prepare_cached("UPDATE number_blocks SET lost_from = ?2, lost_at = ?3 WHERE id = ?1")?.execute(params![
                    id,
                    from,
                    ts(at)
                ])?;
                total += from_sql_int(end - from + 1, "lost")?;
            }
            tx.commit()?;
            Ok(total)
        })
        .await
    }

    async fn number_accounts(&self, prefix: Option<&str>, year: Option<i32>) -> Result<Vec<BlockAccount>> {
        let prefix = prefix.map(str::to_owned);
        self.read(move |conn| {
            type Row = (i64, String, i32, i64, i64, String, String, String, Option<i64>, Option<i64>, i64, i64);
            let rows: Vec<Row> = conn
                .prepare_cached(
                    "SELECT b.id, b.prefix, b.year, b.first, b.last, b.device_id, b.user_id, b.issued_at,
                            b.returned_from, b.lost_from,
                            (SELECT COUNT(*) FROM used_numbers u WHERE u.block_id = b.id),
                            (SELECT COUNT(*) FROM used_numbers u JOIN records r ON r.id = u.record_id
                              WHERE u.block_id = b.id AND r.status = 'cancelled')
                     FROM number_blocks b
                     WHERE (?1 IS NULL OR b.prefix = ?1) AND (?2 IS NULL OR b.year = ?2)
                     ORDER BY b.prefix, b.year, b.first",
                )?
                .query_map(params![prefix, year], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                        r.get(10)?,
                        r.get(11)?,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (id, prefix, year, first, last, device_id, user_id, issued_at, returned_from, lost_from, used, cancelled) in rows
            {
                let block = to_block((id, prefix, year, first, last))?;
                let returned = returned_from.map_or(0, |from| last - from + 1);
                let lost = lost_from.map_or(0, |from| returned_from.unwrap_or(last + 1) - from);
                let returned = from_sql_int(returned, "returned")?;
                let lost = from_sql_int(lost, "lost")?;
                let used = from_sql_int(used, "used")?;
                let open = block.len().checked_sub(used + returned + lost).ok_or_else(|| corrupt("number_blocks"))?;
                out.push(BlockAccount {
                    block,
                    device_id,
                    user_id,
                    issued_at: parse_ts(&issued_at, "number_blocks.issued_at")?,
                    used,
                    cancelled: from_sql_int(cancelled, "cancelled")?,
                    returned,
                    lost,
                    open,
                });
            }
            Ok(out)
        })
        .await
    }
}
