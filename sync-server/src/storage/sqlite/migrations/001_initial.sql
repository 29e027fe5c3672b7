-- 1: the initial schema: reference data, accounts and sessions, records and the op log.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('reference_rev', 0);

CREATE TABLE orgs (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    level  TEXT NOT NULL,
    parent TEXT
) STRICT;

CREATE TABLE categories (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    parent TEXT,
    kind   TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    device_id   TEXT NOT NULL,
    device_name TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user_device ON sessions (user_id, device_id);

CREATE TABLE records (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    seq        INTEGER NOT NULL UNIQUE,
    grid       TEXT NOT NULL,
    community  TEXT NOT NULL,
    street     TEXT NOT NULL,
    district   TEXT NOT NULL,
    status     TEXT NOT NULL,
    author     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    doc        TEXT NOT NULL,
    clocks     TEXT NOT NULL
) STRICT;
CREATE INDEX records_district_seq ON records (district, seq);
CREATE INDEX records_community_seq ON records (community, seq);
CREATE INDEX records_grid_seq ON records (grid, seq);

CREATE TABLE applied_ops (
    op_id      TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    seq        INTEGER,
    rejection  TEXT,
    applied_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
