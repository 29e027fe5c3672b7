//! `gridwork-server migrate`: copy a SQLite deployment into an empty PostgreSQL database.
//! The two schemas have the same tables and columns (see `migrations/001_initial.sql`), so
//! the copy is table by table, row by row, each value converted to its PostgreSQL column's
//! type; hashes (the audit chain), stamps and sequence numbers are kept as they are, so
//! devices carry on with their cursors and the audit trail still verifies. One transaction:
//! a copy that fails leaves the database empty.

use super::{PgStorage, lock_writer};
use crate::storage::{Result, StorageError};
use rusqlite::types::Value;
use std::path::Path;
use tokio_postgres::types::{ToSql, Type};

/// The tables in an order that satisfies their references.
const TABLES: &[&str] = &[
    "orgs",
    "categories",
    "reference_docs",
    "users",
    "sessions",
    "login_failures",
    "records",
    "applied_ops",
    "record_photos",
    "record_departures",
    "counters",
    "photos",
    "audit_log",
    "open311_clients",
    "open311_requests",
    "open311_case_links",
    "number_blocks",
    "used_numbers",
    "enrolments",
    "moderation_hidden",
    "moderation_redactions",
    "moderation_events",
];

/// Rows handed from the SQLite reader to the PostgreSQL writer at a time.
const BATCH: usize = 500;

/// How many rows of each table were copied.
#[derive(Debug, Default, PartialEq)]
pub struct ImportReport {
    pub tables: Vec<(String, u64)>,
}

impl ImportReport {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n)
    }
}

/// Copy the SQLite database `sqlite_file` (at the current schema: open it with
/// [`crate::storage::sqlite::SqliteStorage::open`] first) into `target`, which must hold
/// no accounts and no records.
pub async fn import_sqlite(sqlite_file: &Path, target: &PgStorage) -> Result<ImportReport> {
    let mut client = target.writer().await?;
    let tx = client.transaction().await?;
    lock_writer(&*tx).await?;
    let used: i64 = tx.query_one("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM records)", &[]).await?.get(0);
    if used > 0 {
        return Err(StorageError::Database("the PostgreSQL database is not empty (it has accounts or records)".into()));
    }
    let mut report = ImportReport::default();
    for table in TABLES {
        let columns = tx
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[table],
            )
            .await?;
        let columns: Vec<(String, String)> = columns.iter().map(|r| (r.get(0), r.get(1))).collect();
        if columns.is_empty() {
            return Err(StorageError::Database(format!("table {table} is missing in PostgreSQL")));
        }
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let insert =
            tx.prepare(&format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), placeholders.join(", "))).await?;
        let types: Vec<Type> = insert.params().to_vec();

        // The reader runs on the blocking pool and sends batches; the writer inserts them.
        let (send, mut receive) = tokio::sync::mpsc::channel::<Result<Vec<Vec<Value>>>>(4);
        let select = format!("SELECT {} FROM {table}", names.join(", "));
        let file = sqlite_file.to_path_buf();
        let reader = tokio::task::spawn_blocking(move || {
            let read = || -> Result<()> {
                let conn = rusqlite::Connection::open_with_flags(&file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
                let mut stmt = conn.prepare(&select)?;
                let width = stmt.column_count();
                let mut rows = stmt.query([])?;
                let mut batch = Vec::with_capacity(BATCH);
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(width);
                    for i in 0..width {
                        values.push(row.get::<_, Value>(i)?);
                    }
                    batch.push(values);
                    if batch.len() == BATCH && send.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                        return Ok(());
                    }
                }
                if !batch.is_empty() {
                    let _ = send.blocking_send(Ok(batch));
                }
                Ok(())
            };
            if let Err(e) = read() {
                let _ = send.blocking_send(Err(e));
            }
        });
        let mut copied = 0u64;
        while let Some(batch) = receive.recv().await {
            for row in batch? {
                let params = convert(table, &names, &types, row)?;
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
                tx.execute(&insert, &refs).await?;
                copied += 1;
            }
        }
        reader.await.map_err(|e| StorageError::Task(e.to_string()))?;
        report.tables.push(((*table).to_owned(), copied));
    }
    // The counters that live beside the rows: meta (reference revision, epoch) as the
    // SQLite file has them, the record sequence at its highest number, the event sequence.
    let file = sqlite_file.to_path_buf();
    let meta = tokio::task::spawn_blocking(move || -> Result<Vec<(String, i64)>> {
        let conn = rusqlite::Connection::open_with_flags(&file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut stmt = conn.prepare("SELECT key, value FROM meta")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    })
    .await
    .map_err(|e| StorageError::Task(e.to_string()))??;
    for (key, value) in meta {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await?;
    }
    tx.execute("UPDATE meta SET value = (SELECT COALESCE(MAX(seq), 0) FROM records) WHERE key = 'record_seq'", &[]).await?;
    tx.execute(
        "SELECT setval(pg_get_serial_sequence('moderation_events', 'seq'), (SELECT COALESCE(MAX(seq), 0) + 1 FROM moderation_events), false)",
        &[],
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// One SQLite row as parameters of the PostgreSQL insert, by each column's type.
fn convert(table: &str, names: &[&str], types: &[Type], row: Vec<Value>) -> Result<Vec<Box<dyn ToSql + Sync + Send>>> {
    let bad = |column: &str, value: &Value| {
        StorageError::Corrupt(format!("{table}.{column}: a {} value where PostgreSQL wants another type", value.data_type()))
    };
    row.into_iter()
        .zip(names.iter().zip(types))
        .map(|(value, (column, ty))| -> Result<Box<dyn ToSql + Sync + Send>> {
            Ok(match (ty, value) {
                (_, Value::Null) => match *ty {
                    Type::INT8 => Box::new(None::<i64>),
                    Type::BOOL => Box::new(None::<bool>),
                    Type::FLOAT8 => Box::new(None::<f64>),
                    _ => Box::new(None::<String>),
                },
                (&Type::INT8, Value::Integer(n)) => Box::new(n),
                (&Type::BOOL, Value::Integer(n)) => Box::new(n != 0),
                (&Type::FLOAT8, Value::Real(x)) => Box::new(x),
                (&Type::FLOAT8, Value::Integer(n)) => Box::new(n as f64),
                (&Type::TEXT, Value::Text(s)) => Box::new(s),
                (_, value) => return Err(bad(column, &value)),
            })
        })
        .collect()
}
