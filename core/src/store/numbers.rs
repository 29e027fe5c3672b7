//! The notice-number blocks this device holds and the numbers its notices took.

use crate::error::Result;
use crate::numbering::{self, NumberBlock};
use crate::protocol::{BlockReturn, RejectReason, Rejection};
use rusqlite::{Connection, OptionalExtension, params};

/// Keep a block (again: the server's copy of one this device knows changes nothing).
pub fn put_block(conn: &Connection, b: &NumberBlock) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO number_blocks (id, prefix, year, first, last) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![b.id as i64, b.prefix, b.year, b.first as i64, b.last as i64])?;
    Ok(())
}

/// Each block with the next number it would give (None when used up), oldest first.
fn blocks_with_next(conn: &Connection) -> Result<Vec<(NumberBlock, Option<u64>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.id, b.prefix, b.year, b.first, b.last,
                (SELECT MAX(u.n) FROM used_numbers u
                  WHERE u.prefix = b.prefix AND u.year = b.year AND u.n BETWEEN b.first AND b.last)
         FROM number_blocks b ORDER BY b.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i32>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, prefix, year, first, last, used) = row?;
        let block = NumberBlock { id: id as u64, prefix, year, first: first as u64, last: last as u64 };
        let next = used.map_or(first, |u| u + 1);
        out.push((block, (next <= last).then_some(next as u64)));
    }
    Ok(out)
}

/// The number the next notice takes, if this device has one left.
pub fn next_free(conn: &Connection) -> Result<Option<String>> {
    Ok(blocks_with_next(conn)?.into_iter().find_map(|(b, next)| next.map(|n| numbering::format_number(&b.prefix, b.year, n))))
}

/// Numbers this device has left.
pub fn remaining(conn: &Connection) -> Result<u64> {
    Ok(blocks_with_next(conn)?.into_iter().filter_map(|(b, next)| next.map(|n| b.last + 1 - n)).sum())
}

/// Take `number` for a notice being created, in its transaction: it must come from a block
/// of this device and not be taken already (the server checks the same). Why not, if not.
pub fn take(conn: &Connection, number: &str) -> Result<Option<Rejection>> {
    let refuse = |reason, message: &str| Ok(Some(Rejection::new(reason, Some("number"), message)));
    let Some((prefix, year, n)) = numbering::parse_number(number) else {
        return refuse(RejectReason::Invalid, "告知单编号格式不对 (number)");
    };
    let held = conn
        .prepare_cached("SELECT 1 FROM number_blocks WHERE prefix = ?1 AND year = ?2 AND first <= ?3 AND last >= ?3")?
        .query_row(params![prefix, year, n as i64], |_| Ok(()))
        .optional()?;
    if held.is_none() {
        return refuse(RejectReason::NumberNotIssued, "告知单编号不是发给本设备的号段 (number)");
    }
    let inserted = conn
        .prepare_cached("INSERT OR IGNORE INTO used_numbers (prefix, year, n) VALUES (?1, ?2, ?3)")?
        .execute(params![prefix, year, n as i64])?;
    if inserted == 0 {
        return refuse(RejectReason::NumberUsed, "告知单编号已被本机其他告知单使用 (number)");
    }
    Ok(None)
}

/// The unused end of every block, to give back.
pub fn unused_ends(conn: &Connection) -> Result<Vec<BlockReturn>> {
    Ok(blocks_with_next(conn)?.into_iter().filter_map(|(b, next)| next.map(|from| BlockReturn { block: b.id, from })).collect())
}

/// The server took these ends back: the blocks end before them (a block given back whole
/// goes).
pub fn trim(conn: &Connection, returned: &[BlockReturn]) -> Result<()> {
    for r in returned {
        conn.prepare_cached("UPDATE number_blocks SET last = ?2 - 1 WHERE id = ?1")?
            .execute(params![r.block as i64, r.from as i64])?;
    }
    conn.execute("DELETE FROM number_blocks WHERE last < first", [])?;
    Ok(())
}
