-- 5: Open311. Client applications with their api keys (only the SHA-256 of a key is kept)
-- and the service account each files its requests by; the requests filed through Open311,
-- with what a 随手拍 report cannot hold (the media_url link). No personal data: Open311's
-- contact fields (name, phone, email) are never stored.
CREATE TABLE open311_clients (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES users (id),
    grid       TEXT NOT NULL,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE TABLE open311_requests (
    report_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES open311_clients (id),
    media_url TEXT,
    filed_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The case opened from a report, remembered once Open311 has looked it up (it never changes).
CREATE TABLE open311_case_links (
    report_id TEXT PRIMARY KEY,
    case_id   TEXT NOT NULL
) STRICT, WITHOUT ROWID;
