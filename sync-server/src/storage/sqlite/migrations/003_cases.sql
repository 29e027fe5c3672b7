-- 3: what the case loop needs. Records dispatched to a unit or an officer reach the
-- assignee beyond their usual scope (`assignee`, indexed like the scope columns); a record
-- that leaves an assignee leaves a departure, so that assignee's next pull drops it. The
-- deadline the server watches (`due_at`: cases and notices) for its own overdue marks.
-- Counters give case numbers per district and year. Reference documents hold the working
-- calendar and the time limits.
ALTER TABLE records ADD COLUMN assignee TEXT;
ALTER TABLE records ADD COLUMN due_at TEXT;
CREATE INDEX records_assignee_seq ON records (assignee, seq) WHERE assignee IS NOT NULL;
CREATE INDEX records_due ON records (due_at) WHERE due_at IS NOT NULL;
-- The figures read every case; a partial index keeps the other kinds' writes free of it.
CREATE INDEX records_cases ON records (seq) WHERE kind = 'case';

CREATE TABLE record_departures (
    key       TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (key, seq, record_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE counters (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE reference_docs (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) STRICT, WITHOUT ROWID;
