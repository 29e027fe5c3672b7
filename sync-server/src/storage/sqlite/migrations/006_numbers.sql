-- 6: notice numbers. Each brigade's yearly sequence is handed out in blocks, one device
-- (and account) each. A block's numbers from `returned_from` on went back; those from
-- `lost_from` up to the returned part were given up with the device (it changed hands or
-- was revoked): neither is ever used. Every number used by a notice is recorded once.
CREATE TABLE number_blocks (
    id          INTEGER PRIMARY KEY,
    prefix      TEXT NOT NULL,
    year        INTEGER NOT NULL,
    first       INTEGER NOT NULL,
    last        INTEGER NOT NULL,
    device_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    returned_from INTEGER,
    returned_at   TEXT,
    lost_from     INTEGER,
    lost_at       TEXT
) STRICT;
CREATE INDEX number_blocks_device ON number_blocks (device_id, id);
CREATE INDEX number_blocks_range ON number_blocks (prefix, year, first);

CREATE TABLE used_numbers (
    prefix    TEXT NOT NULL,
    year      INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    block_id  INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (prefix, year, n)
) STRICT, WITHOUT ROWID;
CREATE INDEX used_numbers_block ON used_numbers (block_id, n);
