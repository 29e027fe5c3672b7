-- Leases of jobs that run in one server process at a time (storage/leases.rs).
CREATE TABLE leases (
    name     TEXT PRIMARY KEY,
    holder   TEXT NOT NULL,
    -- Milliseconds since the epoch, by the database's clock.
    until_ms INTEGER NOT NULL
) STRICT;
