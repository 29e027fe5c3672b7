-- 2: photos: which records list which photo (for serving by visibility), and which
-- photos have arrived.
CREATE TABLE record_photos (
    sha256    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (sha256, record_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_photos_record ON record_photos (record_id);

CREATE TABLE photos (
    sha256      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO record_photos (sha256, record_id)
    SELECT json_extract(p.value, '$.sha256'), r.id
    FROM records r, json_each(r.doc, '$.body.' || r.kind || '.photos') p
    WHERE json_extract(p.value, '$.sha256') IS NOT NULL;
