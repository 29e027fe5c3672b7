-- 9: enrolment codes (扫码登录). Only the SHA-256 of a code is kept; a code is used once, by
-- one device, before it expires.
CREATE TABLE enrolments (
    code_hash      TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    used_by_device TEXT
) STRICT;

CREATE INDEX enrolments_user ON enrolments (user_id, expires_at);
CREATE INDEX enrolments_expiry ON enrolments (expires_at);
