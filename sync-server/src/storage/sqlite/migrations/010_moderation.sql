-- 10: moderation of what the public sees. Records hidden from the public surfaces (Open311,
-- the notice status page, public photo links) with the reason; the public version of a
-- photo on a record (a redacted copy, its own blob, with the rectangles blacked out, as a
-- JSON list of pixel rectangles); and every change as an event of the record's history.
-- Originals and records are untouched. The reason is staff-only text.
CREATE TABLE moderation_hidden (
    record_id TEXT PRIMARY KEY,
    reason    TEXT NOT NULL,
    hidden_by TEXT NOT NULL,
    hidden_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE moderation_redactions (
    record_id   TEXT NOT NULL,
    photo       TEXT NOT NULL,
    redacted    TEXT NOT NULL,
    regions     TEXT NOT NULL,
    redacted_by TEXT NOT NULL,
    redacted_at TEXT NOT NULL,
    PRIMARY KEY (record_id, photo)
) STRICT, WITHOUT ROWID;
CREATE INDEX moderation_redactions_redacted ON moderation_redactions (redacted);

CREATE TABLE moderation_events (
    seq       INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    photo     TEXT,
    regions   INTEGER NOT NULL DEFAULT 0,
    reason    TEXT
) STRICT;
CREATE INDEX moderation_events_record ON moderation_events (record_id, seq);
