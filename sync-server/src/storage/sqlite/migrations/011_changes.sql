-- 11: what each accepted create or edit changed, for a record's timeline on the console:
-- who, from which device, which fields, and which fields of the edit lost to a later
-- write (a concurrent edit on another device). JSON, kept with the op log's entry.
ALTER TABLE applied_ops ADD COLUMN change TEXT;
CREATE INDEX applied_ops_changes ON applied_ops (record_id) WHERE change IS NOT NULL;
