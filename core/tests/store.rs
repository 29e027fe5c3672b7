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
