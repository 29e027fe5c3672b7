-- The whole schema of the PostgreSQL backend as of SQLite migration 013 (one file: a new
-- backend starts at the current shape). Text is COLLATE "C" wherever it is compared or
-- sorted (codes, ids, UTC timestamps, HLC strings): ordering never depends on the locale.
-- Integers are BIGINT (Rust i64) throughout.

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES
    ('reference_rev', 0),
    ('record_seq', 0),
    ('epoch', floor(random() * 9007199254740991)::bigint),
    ('epoch_base', 0);

CREATE TABLE orgs (
    code   TEXT COLLATE "C" PRIMARY KEY,
    name   TEXT NOT NULL,
    level  TEXT COLLATE "C" NOT NULL,
    parent TEXT COLLATE "C"
);

CREATE TABLE categories (
    code   TEXT COLLATE "C" PRIMARY KEY,
    name   TEXT NOT NULL,
    parent TEXT COLLATE "C",
    kind   TEXT COLLATE "C" NOT NULL
);

CREATE TABLE reference_docs (
    key TEXT COLLATE "C" PRIMARY KEY,
    doc TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT COLLATE "C" NOT NULL,
    scope         TEXT COLLATE "C" NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    disabled_at   TEXT COLLATE "C"
);

CREATE TABLE sessions (
    token_hash   TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    device_id    TEXT COLLATE "C" NOT NULL,
    device_name  TEXT,
    created_at   TEXT COLLATE "C" NOT NULL,
    revoked_at   TEXT COLLATE "C",
    last_seen_at TEXT COLLATE "C",
    device_key   TEXT COLLATE "C"
);
CREATE INDEX sessions_user_device ON sessions (user_id, device_id);
CREATE INDEX sessions_device ON sessions (device_id) WHERE revoked_at IS NULL;

CREATE TABLE login_failures (
    username        TEXT COLLATE "C" PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE records (
    id          TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL UNIQUE,
    grid        TEXT COLLATE "C" NOT NULL,
    community   TEXT COLLATE "C" NOT NULL,
    street      TEXT COLLATE "C" NOT NULL,
    district    TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    author      TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL,
    doc         TEXT NOT NULL,
    clocks      TEXT NOT NULL,
    assignee    TEXT COLLATE "C",
    due_at      TEXT COLLATE "C",
    created_at  TEXT COLLATE "C",
    category    TEXT COLLATE "C",
    overdue     BOOLEAN NOT NULL DEFAULT false,
    search_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX records_district_seq ON records (district, seq);
CREATE INDEX records_community_seq ON records (community, seq);
CREATE INDEX records_grid_seq ON records (grid, seq);
CREATE INDEX records_assignee_seq ON records (assignee, seq) WHERE assignee IS NOT NULL;
CREATE INDEX records_due ON records (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX records_cases ON records (seq) WHERE kind = 'case';
CREATE INDEX records_created ON records (created_at, id);
CREATE INDEX records_updated ON records (updated_at, id);
CREATE INDEX records_status_kind ON records (status, kind);

CREATE TABLE applied_ops (
    op_id      TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    record_id  TEXT COLLATE "C" NOT NULL,
    outcome    TEXT COLLATE "C" NOT NULL,
    seq        BIGINT,
    rejection  TEXT,
    applied_at TEXT COLLATE "C" NOT NULL,
    change     TEXT,
    evidence   TEXT
);
CREATE INDEX applied_ops_changes ON applied_ops (record_id) WHERE change IS NOT NULL;
CREATE INDEX applied_ops_evidence ON applied_ops (record_id) WHERE evidence IS NOT NULL;

CREATE TABLE record_photos (
    sha256     TEXT COLLATE "C" NOT NULL,
    record_id  TEXT COLLATE "C" NOT NULL,
    claimed_by TEXT COLLATE "C",
    mime       TEXT COLLATE "C",
    bytes      BIGINT,
    width      BIGINT,
    height     BIGINT,
    PRIMARY KEY (sha256, record_id)
);
CREATE INDEX record_photos_record ON record_photos (record_id);
CREATE INDEX record_photos_claims ON record_photos (sha256, claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE record_departures (
    key       TEXT COLLATE "C" NOT NULL,
    seq       BIGINT NOT NULL,
    record_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key, seq, record_id)
);

CREATE TABLE counters (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE photos (
    sha256      TEXT COLLATE "C" PRIMARY KEY,
    size        BIGINT NOT NULL,
    mime        TEXT COLLATE "C" NOT NULL,
    uploaded_by TEXT COLLATE "C" NOT NULL,
    uploaded_at TEXT COLLATE "C" NOT NULL,
    width       BIGINT,
    height      BIGINT
);

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TEXT COLLATE "C" NOT NULL,
    actor     TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    target    TEXT COLLATE "C",
    detail    TEXT NOT NULL,
    prev_hash TEXT COLLATE "C" NOT NULL,
    hash      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, seq) WHERE target IS NOT NULL;
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

CREATE TABLE open311_clients (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT NOT NULL,
    key_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    grid       TEXT COLLATE "C" NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    revoked_at TEXT COLLATE "C"
);

CREATE TABLE open311_requests (
    report_id TEXT COLLATE "C" PRIMARY KEY,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES open311_clients (id),
    media_url TEXT,
    filed_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE open311_case_links (
    report_id TEXT COLLATE "C" PRIMARY KEY,
    case_id   TEXT COLLATE "C" NOT NULL
);

CREATE TABLE number_blocks (
    id            BIGINT PRIMARY KEY,
    prefix        TEXT COLLATE "C" NOT NULL,
    year          BIGINT NOT NULL,
    first         BIGINT NOT NULL,
    last          BIGINT NOT NULL,
    device_id     TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    issued_at     TEXT COLLATE "C" NOT NULL,
    returned_from BIGINT,
    returned_at   TEXT COLLATE "C",
    lost_from     BIGINT,
    lost_at       TEXT COLLATE "C"
);
CREATE INDEX number_blocks_device ON number_blocks (device_id, id);
CREATE INDEX number_blocks_range ON number_blocks (prefix, year, first);

CREATE TABLE used_numbers (
    prefix    TEXT COLLATE "C" NOT NULL,
    year      BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    block_id  BIGINT NOT NULL,
    record_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (prefix, year, n)
);
CREATE INDEX used_numbers_block ON used_numbers (block_id, n);

CREATE TABLE enrolments (
    code_hash      TEXT COLLATE "C" PRIMARY KEY,
    user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    created_by     TEXT COLLATE "C" NOT NULL,
    created_at     TEXT COLLATE "C" NOT NULL,
    expires_at     TEXT COLLATE "C" NOT NULL,
    used_at        TEXT COLLATE "C",
    used_by_device TEXT COLLATE "C"
);
CREATE INDEX enrolments_user ON enrolments (user_id, expires_at);
CREATE INDEX enrolments_expiry ON enrolments (expires_at);

CREATE TABLE moderation_hidden (
    record_id TEXT COLLATE "C" PRIMARY KEY,
    reason    TEXT NOT NULL,
    hidden_by TEXT COLLATE "C" NOT NULL,
    hidden_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE moderation_redactions (
    record_id   TEXT COLLATE "C" NOT NULL,
    photo       TEXT COLLATE "C" NOT NULL,
    redacted    TEXT COLLATE "C" NOT NULL,
    regions     TEXT NOT NULL,
    redacted_by TEXT COLLATE "C" NOT NULL,
    redacted_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (record_id, photo)
);
CREATE INDEX moderation_redactions_redacted ON moderation_redactions (redacted);

CREATE TABLE moderation_events (
    seq       BIGSERIAL PRIMARY KEY,
    record_id TEXT COLLATE "C" NOT NULL,
    at        TEXT COLLATE "C" NOT NULL,
    actor     TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    photo     TEXT COLLATE "C",
    regions   BIGINT NOT NULL DEFAULT 0,
    reason    TEXT
);
CREATE INDEX moderation_events_record ON moderation_events (record_id, seq);
