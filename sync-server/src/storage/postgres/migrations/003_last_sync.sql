-- A device's last pull and what it said was still waiting to go (the accounts page).
ALTER TABLE sessions ADD COLUMN last_sync_at TEXT COLLATE "C";
ALTER TABLE sessions ADD COLUMN pending BIGINT;
