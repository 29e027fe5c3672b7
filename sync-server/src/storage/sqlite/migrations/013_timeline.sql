-- 13: which history the record sequence belongs to. A backup made by `gridwork-server
-- backup` gets a new epoch, and as base the highest seq it holds: a device that synced with
-- the server after the backup was taken learns, once the backup is restored, that the
-- server lost what came after `epoch_base`, pushes it again and pulls afresh.
INSERT INTO meta (key, value) VALUES ('epoch', random() & 9007199254740991), ('epoch_base', 0);
