//! Local store: migrations from a frozen old schema, atomic local writes, queries.

use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{RecordKind, Status};
use gridwork_core::store::records::{self, RecordQuery, SyncState};
use gridwork_core::store::{Store, outbox, schema};
use rusqlite::Connection;

fn schema_of(path: &std::path::Path) -> Vec<(String, String)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap();
    rows.map(|r| {
        let (n, sql) = r.unwrap();
        (n, sql.split_whitespace().collect::<Vec<_>>().join(" "))
    })
    .collect()
}

#[test]
fn a_version_1_database_upgrades_to_the_current_schema_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(include_str!("data/schema_v1.sql")).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        // The row as a version-1 app wrote it (today's insert knows later columns).
        let rec = fixtures::records().remove(0);
        conn.execute(
            "INSERT INTO records(id, kind, author, status, grid, created_at, updated_at, doc) VALUES (?1, 'report', ?2, ?3, ?4, ?5, ?5, ?6)",
            rusqlite::params![
                rec.id.to_string(),
                rec.author,
                rec.status.as_str(),
                rec.org.grid,
                gridwork_core::time::format_ts(rec.created_at),
                serde_json::to_string(&rec).unwrap()
            ],
        )
        .unwrap();
        let op = fixtures::create_op(rec, Hlc::new(1, 0, "dev"));
        outbox::enqueue(&conn, &op, RecordKind::Report, chrono::Utc::now()).unwrap();
    }
    let store = Store::open(&old, None).unwrap();
    let version: u32 = store.read(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?)).unwrap();
    assert_eq!(version, schema::VERSION);
    assert_eq!(store.read(outbox::pending_count).unwrap(), 1);
    assert_eq!(store.read(records::count).unwrap(), 1);
    drop(store);

    let fresh = dir.path().join("fresh.db");
    drop(Store::open(&fresh, None).unwrap());
    assert_eq!(schema_of(&old), schema_of(&fresh), "upgraded schema differs from a new database's");
}

#[test]
fn a_database_from_a_newer_app_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(Store::open(&path, None).unwrap());
    Connection::open(&path).unwrap().pragma_update(None, "user_version", schema::VERSION + 1).unwrap();
    assert!(matches!(Store::open(&path, None), Err(gridwork_core::Error::SchemaTooNew { .. })));
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("d.db"), None).unwrap();
    let rec = fixtures::records().remove(1);
    let op = fixtures::create_op(rec.clone(), Hlc::new(1, 0, "dev"));
    // Record written, then the outbox insert fails (same op id twice): all rolls back.
    let first = store.write(|tx| {
        records::insert_local(tx, &rec)?;
        outbox::enqueue(tx, &op, RecordKind::Notice, chrono::Utc::now())?;
        outbox::enqueue(tx, &op, RecordKind::Notice, chrono::Utc::now())
    });
    assert!(first.is_err());
    assert_eq!(store.read(records::count).unwrap(), 0);
    assert_eq!(store.read(outbox::pending_count).unwrap(), 0);
}

#[test]
fn screen_queries_filter_by_author_kind_status_and_date() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("d.db"), None).unwrap();
    let mut all = fixtures::records();
    let mut other = all[0].clone();
    other.id = uuid::Uuid::from_u128(99);
    other.author = "someone-else".into();
    all.push(other);
    store
        .write(|tx| {
            for (i, r) in all.iter().enumerate() {
                records::insert_local(tx, r)?;
                let op = fixtures::create_op(r.clone(), Hlc::new(i as u64 + 1, 0, "dev"));
                outbox::enqueue(tx, &op, r.kind(), chrono::Utc::now())?;
            }
            Ok(())
        })
        .unwrap();
    let mine = |q: RecordQuery| store.read(|c| records::list(c, &q)).unwrap();
    assert_eq!(mine(RecordQuery { author: Some("u1".into()), ..Default::default() }).len(), 3);
    let reports = mine(RecordQuery { author: Some("u1".into()), kind: Some(RecordKind::Report), ..Default::default() });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].sync_state, SyncState::Pending);
    assert_eq!(mine(RecordQuery { status: Some(Status::Issued), ..Default::default() }).len(), 1);
    let at = all[0].created_at;
    assert_eq!(mine(RecordQuery { created_from: Some(at + chrono::Duration::seconds(1)), ..Default::default() }).len(), 0);
    assert_eq!(mine(RecordQuery { created_before: Some(at + chrono::Duration::seconds(1)), ..Default::default() }).len(), 4);
    assert_eq!(store.read(outbox::pending_count).unwrap(), 4);
}

#[test]
fn notice_numbers_come_from_the_blocks_in_order_once_and_the_ends_go_back() {
    use gridwork_core::numbering::{NumberBlock, format_number};
    use gridwork_core::protocol::RejectReason;
    use gridwork_core::store::numbers;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("d.db"), None).unwrap();
    let kw = |n| format_number("奎文", 2026, n);
    assert_eq!(store.read(numbers::next_free).unwrap(), None, "no block: no number");
    let a = NumberBlock { id: 7, prefix: "奎文".into(), year: 2026, first: 101, last: 103 };
    let b = NumberBlock { id: 9, prefix: "奎文".into(), year: 2026, first: 301, last: 400 };
    store.write(|tx| numbers::put_block(tx, &a)).unwrap();
    store.write(|tx| numbers::put_block(tx, &b)).unwrap();
    store.write(|tx| numbers::put_block(tx, &a)).unwrap(); // again: nothing changes
    assert_eq!(store.read(numbers::remaining).unwrap(), 103);
    for n in [101, 102, 103, 301] {
        let next = store.read(numbers::next_free).unwrap();
        assert_eq!(next.as_deref(), Some(kw(n).as_str()));
        assert_eq!(store.write(|tx| numbers::take(tx, &kw(n))).unwrap(), None);
    }
    let reason = |r: Option<gridwork_core::protocol::Rejection>| r.map(|j| j.reason);
    assert_eq!(reason(store.write(|tx| numbers::take(tx, &kw(102))).unwrap()), Some(RejectReason::NumberUsed));
    assert_eq!(reason(store.write(|tx| numbers::take(tx, &kw(200))).unwrap()), Some(RejectReason::NumberNotIssued));
    assert_eq!(reason(store.write(|tx| numbers::take(tx, "GZ-1")).unwrap()), Some(RejectReason::Invalid));
    assert_eq!(store.read(numbers::remaining).unwrap(), 99);
    // Sign-out: block 7 is used up, block 9 goes back from 302.
    let ends = store.read(numbers::unused_ends).unwrap();
    assert_eq!(ends.iter().map(|e| (e.block, e.from)).collect::<Vec<_>>(), vec![(9, 302)]);
    store.write(|tx| numbers::trim(tx, &ends)).unwrap();
    assert_eq!(store.read(numbers::remaining).unwrap(), 0);
    assert_eq!(store.read(numbers::next_free).unwrap(), None);
}

#[test]
fn duplicate_hints_find_the_open_near_ones_of_the_category_and_not_the_rest() {
    use gridwork_core::model::RecordBody;
    use gridwork_core::store::{nearby, records as recs};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("d.db"), None).unwrap();
    let base = fixtures::records().remove(0); // a report of 09006 at 36.7069, 119.1617
    let (lat, lon) = (base.location.lat, base.location.lon);
    let now = chrono::Utc::now();
    let make = |n: u128, dlat: f64, category: &str, status: Status, days_ago: i64| {
        let mut r = base.clone();
        r.id = uuid::Uuid::from_u128(n);
        r.location.lat = lat + dlat;
        r.status = status;
        r.created_at = now - chrono::Duration::days(days_ago);
        if let RecordBody::Report(b) = &mut r.body {
            b.category = category.into();
        }
        store.write(|tx| recs::insert_local(tx, &r)).unwrap();
        r.id
    };
    let near = make(1, 0.0002, "09006", Status::Submitted, 1); // ~22 m north
    let nearer = make(2, 0.0001, "09006", Status::Submitted, 2); // ~11 m
    let _far = make(3, 0.0009, "09006", Status::Submitted, 1); // ~100 m
    let _other = make(4, 0.0001, "06036", Status::Submitted, 1);
    let _old = make(5, 0.0001, "09006", Status::Submitted, 8);
    let _taken_up = make(6, 0.0001, "09006", Status::Accepted, 1); // its case stands for it
    let _closed = make(7, 0.0001, "09006", Status::Closed, 1);
    let since = now - chrono::Duration::days(nearby::DAYS);
    let hints = store.read(|c| nearby::open_near(c, "09006", lat, lon, nearby::RADIUS_M, since, 20)).unwrap();
    let ids: Vec<_> = hints.iter().map(|h| h.record.record.id).collect();
    assert_eq!(ids, vec![nearer, near], "nearest first, the rest left out");
    assert!((hints[0].distance_m - 11.1).abs() < 0.5, "{}", hints[0].distance_m);
    // An edit that moves a record moves its hint.
    let mut moved = store.read(|c| recs::get(c, near)).unwrap().unwrap().0;
    moved.location.lat = lat + 0.002;
    store.write(|tx| recs::save_shown(tx, &moved)).unwrap();
    let hints = store.read(|c| nearby::open_near(c, "09006", lat, lon, nearby::RADIUS_M, since, 20)).unwrap();
    assert_eq!(hints.iter().map(|h| h.record.record.id).collect::<Vec<_>>(), vec![nearer]);
    // The query reads an index range, not the table.
    let plan: Vec<String> = store
        .read(|c| {
            let mut s = c.prepare(
                "EXPLAIN QUERY PLAN SELECT id FROM records r INDEXED BY records_near WHERE r.category = '09006' AND r.lat BETWEEN 1 AND 2",
            )?;
            let rows = s.query_map([], |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap();
    assert!(plan.iter().any(|p| p.contains("records_near")), "{plan:?}");
}
