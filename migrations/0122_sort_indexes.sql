-- Sorted pages of OGC API – Features items (`sortby`, docs/DESIGN.md §7.1): a page after a position is
-- the row comparison `(key, id) > ($1, $2)` in the order `key, id`, which an index on the same columns
-- answers as a range, so page 1000 reads what page 1 reads. The other keys of houses and parcels have one
-- already (status, township, unit number, parcel code); these are their measures.
--
-- Existing databases: indexes only; nothing stored changes.
create index farmhouses_floor_area_id on farmhouses (floor_area_m2, id);
create index farmhouses_floors_id on farmhouses (floors, id);
create index farmhouses_year_built_id on farmhouses (year_built, id);
create index parcels_area_id on parcels (area_m2, id);
