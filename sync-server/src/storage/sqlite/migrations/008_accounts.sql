-- 8: the admin console's accounts page: an account an admin disabled (it cannot sign in and
-- its sessions end), and when a session was last used (written at most once a minute).
ALTER TABLE users ADD COLUMN disabled_at TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;
