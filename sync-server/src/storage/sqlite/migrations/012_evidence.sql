-- 12: signed evidence. The Ed25519 public key a device registered when it signed in, kept
-- with the session; and, for each accepted op of such a session, the op as signed with its
-- signature, key and stamp (JSON), so a record's fields can be checked against them later.
ALTER TABLE sessions ADD COLUMN device_key TEXT;
ALTER TABLE applied_ops ADD COLUMN evidence TEXT;
CREATE INDEX applied_ops_evidence ON applied_ops (record_id) WHERE evidence IS NOT NULL;
