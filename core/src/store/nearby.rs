//! Open reports and cases near a point: the duplicate hint a grid worker sees while filing
//! a report, from local data only (offline), found through an index range on
//! (category, latitude) and then measured exactly.

use super::outbox::ts;
use super::records::{LocalRecord, sync_state};
use crate::error::Result;
use crate::geo::{EARTH_M, distance_m};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

/// How near an open record must be to be shown as a possible duplicate.
pub const RADIUS_M: f64 = 50.0;
/// How recent (created within these days).
pub const DAYS: i64 = 7;
/// At most this many hints.
pub const MAX_HINTS: u32 = 20;

/// An open record near the point, and how far (m).
#[derive(Clone, Debug, PartialEq)]
pub struct Near {
    pub record: LocalRecord,
    pub distance_m: f64,
}

/// Reports not yet taken up (已上报; not those that add to another) and cases not closed
/// or voided, of `category`, within
/// `radius_m` of (lat, lon), created at or after `since`; nearest first, at most `limit`.
/// Records the server took away from this device are left out.
pub fn open_near(
    conn: &Connection,
    category: &str,
    lat: f64,
    lon: f64,
    radius_m: f64,
    since: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Near>> {
    // A box around the point (a little wider than the circle), then the exact distance.
    let dlat = (radius_m / EARTH_M).to_degrees() * 1.01;
    let dlon = dlat / lat.to_radians().cos().abs().max(0.01);
    let mut stmt = conn.prepare_cached(
        "SELECT doc,
                EXISTS(SELECT 1 FROM outbox o WHERE o.record_id = r.id AND o.state = 'pending'),
                EXISTS(SELECT 1 FROM outbox o WHERE o.record_id = r.id AND o.state = 'rejected'),
                r.lat, r.lon
         FROM records r INDEXED BY records_near
         WHERE r.category = ?1 AND r.lat BETWEEN ?2 AND ?3 AND r.lon BETWEEN ?4 AND ?5
           AND r.created_at >= ?6 AND r.departed = 0
           AND ((r.kind = 'report' AND r.status = 'submitted'
                 AND json_extract(r.doc, '$.body.report.duplicate_of') IS NULL)
                OR (r.kind = 'case' AND r.status NOT IN ('closed', 'voided')))",
    )?;
    let rows = stmt.query_map(params![category, lat - dlat, lat + dlat, lon - dlon, lon + dlon, ts(since)], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, bool>(2)?, r.get::<_, f64>(3)?, r.get::<_, f64>(4)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (doc, pending, rejected, rlat, rlon) = row?;
        let d = distance_m(lat, lon, rlat, rlon);
        if d <= radius_m {
            out.push(Near {
                record: LocalRecord { record: serde_json::from_str(&doc)?, sync_state: sync_state(pending, rejected) },
                distance_m: d,
            });
        }
    }
    out.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.record.record.id.cmp(&b.record.record.id)));
    out.truncate(limit as usize);
    Ok(out)
}
