-- Leases of jobs that run in one server process at a time (storage/leases.rs).
CREATE TABLE leases (
    name     TEXT COLLATE "C" PRIMARY KEY,
    holder   TEXT NOT NULL,
    -- Milliseconds since the epoch, by the database server's clock.
    until_ms BIGINT NOT NULL
);
