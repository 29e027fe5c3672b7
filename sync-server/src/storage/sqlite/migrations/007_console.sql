-- 7: the admin console's queue counts by stage and kind (待立案, 待派遣, 待核查 …), counted from
-- the index alone. Stage first: queries by kind only (the figures' cases, in seq order)
-- keep their own index. Sorted pages do not use it (see storage/sqlite/search.rs).
CREATE INDEX records_status_kind ON records (status, kind);
