-- 4: trust. Knowing a photo's hash is not enough to see it. A record's link to a photo is either
-- vouched (`claimed_by` NULL: the photo was on the server and its lister could see it, or
-- the lister sent its bytes) or a claim by the account that listed it before the server had
-- the photo, with the size, type and dimensions it listed. A claim counts for nobody's visibility until
-- that same account uploads the bytes it described. Links made before this migration stay
-- vouched. Uploaded photos keep their dimensions, so a listing can be checked against them.
ALTER TABLE record_photos ADD COLUMN claimed_by TEXT;
ALTER TABLE record_photos ADD COLUMN mime TEXT;
ALTER TABLE record_photos ADD COLUMN bytes INTEGER;
ALTER TABLE record_photos ADD COLUMN width INTEGER;
ALTER TABLE record_photos ADD COLUMN height INTEGER;
CREATE INDEX record_photos_claims ON record_photos (sha256, claimed_by) WHERE claimed_by IS NOT NULL;

ALTER TABLE photos ADD COLUMN width INTEGER;
ALTER TABLE photos ADD COLUMN height INTEGER;

-- Sign-ins: a new one on a device ends that device's earlier sessions (found by device);
-- wrong passwords in a row, per username (known or not, so the answer never tells which),
-- back off the next attempts.
CREATE INDEX sessions_device ON sessions (device_id) WHERE revoked_at IS NULL;
CREATE TABLE login_failures (
    username        TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The audit trail: append-only, each entry chained to the one before by hash
-- (`domain::audit`). Nothing here holds personal data.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_target ON audit_log (target, seq) WHERE target IS NOT NULL;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

-- The search the console, the exports and Open311 share (`domain::query`): when a record was
-- made, its category, whether it is overdue, and its searchable text (description, facts,
-- summary, address, numbers; never personal data), kept with each version; backfilled here.
ALTER TABLE records ADD COLUMN created_at TEXT;
ALTER TABLE records ADD COLUMN category TEXT;
ALTER TABLE records ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE records SET
    created_at = strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(doc, '$.created_at')),
    category = json_extract(doc, '$.body.' || kind || '.category'),
    overdue = CASE
        WHEN kind = 'case' THEN coalesce(json_extract(doc, '$.body.case.overdue'), 0)
        WHEN kind = 'notice' AND status = 'overdue' THEN 1
        ELSE 0 END,
    search_text = lower(concat_ws(' ',
        json_extract(doc, '$.body.' || kind || '.description'),
        json_extract(doc, '$.body.' || kind || '.facts'),
        json_extract(doc, '$.body.' || kind || '.summary'),
        json_extract(doc, '$.body.' || kind || '.number'),
        json_extract(doc, '$.location.address')));
CREATE INDEX records_created ON records (created_at, id);
CREATE INDEX records_updated ON records (updated_at, id);
