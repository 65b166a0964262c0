-- The open listing's notice dates kept in `map_houses` beside its rent and uses (docs/DESIGN.md §7.5), so
-- the houses' features, counts and filtered tiles read every public value of a house from one row found
-- by its id, instead of a parcel lookup, a listing lookup and two photo lookups per house.
--
-- A page of 1,000 houses cost PostgreSQL 9.6 ms with those lookups and 3.7 ms merging `farmhouses` with
-- `map_houses` on the id (at a million houses). Nothing else changes: the same triggers keep the row,
-- now with the dates.

alter table map_houses add column notice_start date, add column notice_end date;

create or replace function map_houses_refresh(ids bigint[]) returns void language plpgsql as $$
begin
    if cardinality(ids) = 0 then
        return;
    end if;
    perform 1 from map_houses m where m.id = any (ids) order by m.id for update;
    delete from map_houses m where m.id = any (ids) and not exists (select 1 from farmhouses f where f.id = m.id);
    insert into map_houses as m (id, footprint_3857, unit_number, township_code, village, status, floor_area_m2,
                                 floors, year_built, structure, condition, asking_rent_fen, allowed_uses, photos,
                                 notice_start, notice_end)
    select f.id, f.footprint_3857, f.unit_number::text, f.township_code::text, p.village, f.status,
           f.floor_area_m2::float8, f.floors::int4, f.year_built::int4, f.structure, f.condition,
           l.asking_rent_fen, array_to_string(l.allowed_uses, ','),
           (select count(*) from farmhouse_photos ph where ph.farmhouse_id = f.id)::int4,
           l.notice_start, l.notice_end
    from farmhouses f
    join parcels p on p.parcel_code = f.parcel_code
    left join lateral (
        select l.asking_rent_fen, l.allowed_uses, l.notice_start, l.notice_end from listings l
        where l.farmhouse_id = f.id and l.status = 'open' limit 1) l on true
    where f.id = any (ids)
    order by f.id
    on conflict (id) do update set
        footprint_3857 = excluded.footprint_3857, unit_number = excluded.unit_number,
        township_code = excluded.township_code, village = excluded.village, status = excluded.status,
        floor_area_m2 = excluded.floor_area_m2, floors = excluded.floors, year_built = excluded.year_built,
        structure = excluded.structure, condition = excluded.condition,
        asking_rent_fen = excluded.asking_rent_fen, allowed_uses = excluded.allowed_uses, photos = excluded.photos,
        notice_start = excluded.notice_start, notice_end = excluded.notice_end
    where (m.unit_number, m.township_code, m.village, m.status, m.floor_area_m2, m.floors, m.year_built,
           m.structure, m.condition, m.asking_rent_fen, m.allowed_uses, m.photos, m.notice_start, m.notice_end)
          is distinct from
          (excluded.unit_number, excluded.township_code, excluded.village, excluded.status, excluded.floor_area_m2,
           excluded.floors, excluded.year_built, excluded.structure, excluded.condition, excluded.asking_rent_fen,
           excluded.allowed_uses, excluded.photos, excluded.notice_start, excluded.notice_end)
       or not st_orderingequals(m.footprint_3857, excluded.footprint_3857);
end $$;

-- The houses with an open listing now.
update map_houses m set notice_start = l.notice_start, notice_end = l.notice_end
from listings l where l.farmhouse_id = m.id and l.status = 'open';
