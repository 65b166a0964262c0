-- Sorted pages of OGC API – Features items (`sortby`, docs/DESIGN.md §7.1): a page after a position is
-- the row comparison `(key, id) > ($1, $2)` in the order `key, id`, which an index on the same columns
-- answers as a range, so page 1000 reads what page 1 reads. The other keys of houses have one already
-- (`farmhouses_status`: status, id; the unique unit number); these are the houses' measures.
--
-- Existing databases: indexes only; nothing stored changes.
create index farmhouses_floor_area_id on farmhouses (floor_area_m2, id);
create index farmhouses_year_built_id on farmhouses (year_built, id);
