-- Frozen copy of the device schema at version 1. Never edit: the upgrade test
-- builds an old database from it.
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
