//! The device database schema and its migrations over `PRAGMA user_version` (the runner is
//! shared with the server: `crate::sql`). Each entry of [`MIGRATIONS`] moves the schema one
//! version up; never edit a released entry, add a new one. `tests/` keeps a frozen copy of
//! version 1 for the upgrade test.

use crate::error::Result;
use rusqlite::Connection;

pub const MIGRATIONS: &[&str] = &[
    // 1: records, the outbox of local ops, key/value metadata.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    -- What the device shows: the server's last state with pending local ops applied on top.
    CREATE TABLE records (
        id         TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        author     TEXT NOT NULL,
        status     TEXT NOT NULL,
        grid       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        doc        TEXT NOT NULL,   -- Record JSON as shown
        server_doc TEXT,            -- the server's last state, base for re-applying pending ops
        seq        INTEGER          -- server sequence of server_doc
    );
    CREATE INDEX records_by_author ON records(author, kind, status, created_at);
    CREATE INDEX records_by_kind ON records(kind, status, created_at);

    -- Every local change, in order. Pending ops are pushed; accepted and rejected ones stay
    -- as the record's local history, rejected ones with the server's reason.
    CREATE TABLE outbox (
        local_seq  INTEGER PRIMARY KEY AUTOINCREMENT,
        op_id      TEXT NOT NULL UNIQUE,
        record_id  TEXT NOT NULL,
        kind       TEXT NOT NULL,
        op         TEXT NOT NULL,   -- protocol::Op JSON
        state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected', 'discarded')),
        created_at TEXT NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        server_seq INTEGER,
        reason     TEXT,
        field      TEXT,
        message    TEXT,
        done_at    TEXT
    );
    CREATE INDEX outbox_by_state ON outbox(state, local_seq);
    CREATE INDEX outbox_by_record ON outbox(record_id, local_seq);
    "#,
    // 2: changes that arrived from the server, for a record's history.
    r#"
    CREATE TABLE server_history (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id  TEXT NOT NULL,
        seq        INTEGER NOT NULL,
        at         TEXT NOT NULL,
        actor      TEXT NOT NULL,
        fields     TEXT NOT NULL    -- JSON array of the field names that changed
    );
    CREATE INDEX server_history_by_record ON server_history(record_id, id);
    "#,
    // 3: photo files this device holds. Photos taken here form the upload queue; a file
    // is deleted only after the server has confirmed it holds it (`uploaded_at`).
    r#"
    CREATE TABLE photos (
        sha256      TEXT PRIMARY KEY,
        mime        TEXT NOT NULL,
        bytes       INTEGER NOT NULL,
        origin      TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
        created_at  TEXT NOT NULL,
        uploaded_at TEXT,           -- the server confirmed it holds the whole file
        failed      TEXT,           -- a permanent refusal (e.g. the file is corrupt)
        attempts    INTEGER NOT NULL DEFAULT 0,
        has_file    INTEGER NOT NULL DEFAULT 1  -- 0 once the full-size file was freed
    );
    CREATE INDEX photos_queue ON photos(origin, uploaded_at, failed, created_at);
    "#,
    // 4: cases. A record the server says this device may no longer see (a case dispatched
    // elsewhere) is marked departed while something of it still waits here, and goes when
    // nothing does. Cases are found by the record they were opened from.
    r#"
    ALTER TABLE records ADD COLUMN departed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE records ADD COLUMN source_id TEXT;
    CREATE INDEX records_by_source ON records(source_id) WHERE source_id IS NOT NULL;
    "#,
    // 5: notice numbers. The blocks of the brigade's sequence the server handed this device,
    // and the numbers its notices took (drawn offline, each once).
    r#"
    CREATE TABLE number_blocks (
        id     INTEGER PRIMARY KEY,
        prefix TEXT NOT NULL,
        year   INTEGER NOT NULL,
        first  INTEGER NOT NULL,
        last   INTEGER NOT NULL
    );
    CREATE TABLE used_numbers (
        prefix TEXT NOT NULL,
        year   INTEGER NOT NULL,
        n      INTEGER NOT NULL,
        PRIMARY KEY (prefix, year, n)
    ) WITHOUT ROWID;
    "#,
    // 6: duplicate hints and stalls. Reports and cases by category and position, so the
    // open ones near a new report are found in an index range, not by reading every
    // document; notices and service logs by the 小蓝棚 they inspected.
    r#"
    ALTER TABLE records ADD COLUMN stall TEXT;
    UPDATE records SET stall = coalesce(json_extract(doc, '$.body.notice.stall'), json_extract(doc, '$.body.service_log.stall'));
    CREATE INDEX records_by_stall ON records(stall, created_at) WHERE stall IS NOT NULL;
    ALTER TABLE records ADD COLUMN category TEXT;
    ALTER TABLE records ADD COLUMN lat REAL;
    ALTER TABLE records ADD COLUMN lon REAL;
    UPDATE records SET
        category = coalesce(json_extract(doc, '$.body.report.category'), json_extract(doc, '$.body.case.category')),
        lat = json_extract(doc, '$.location.lat'),
        lon = json_extract(doc, '$.location.lon')
    WHERE kind IN ('report', 'case');
    CREATE INDEX records_near ON records(category, lat) WHERE category IS NOT NULL;
    "#,
];

pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Bring the schema of `conn` up to [`VERSION`] (all pending steps in one transaction).
pub fn migrate(conn: &mut Connection) -> Result<()> {
    Ok(crate::sql::migrate(conn, MIGRATIONS)?)
}
