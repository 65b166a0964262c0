-- The public map attributes of every house, kept ready for the footprint tiles (docs/DESIGN.md §7.5).
--
-- A footprint tile (zooms 15 and up) drew each house with its parcel's village (a join), its open
-- listing's rent and uses (a lookup per house) and its photo count (a count per house): three lookups
-- per house on top of the index search. `map_houses` holds those values and the footprint in Web Mercator
-- for each house, so a public tile reads one table through one GiST index, as a plain table server does.
-- Statement-level triggers keep it (as `farmhouse_clusters` and the stats are kept), so a bulk insert
-- pays once per statement; a house's row is recomputed from the records whenever the house, its parcel's
-- village, its listings or its photos change.
--
-- The values are as the public tile draws them (text for codes, `float8` for the floor area, the uses
-- joined by commas); the rent stays in fen (money columns are integer fen) and the tile divides.
-- Staff attributes (the lease in force) are not kept here: staff tiles look them up per house.

create table map_houses (
    id bigint primary key,
    footprint_3857 geometry(Polygon, 3857) not null,
    unit_number text not null,
    township_code text not null,
    village text not null,
    status text not null,
    floor_area_m2 double precision not null,
    floors integer not null,
    year_built integer not null,
    structure text not null,
    condition text not null,
    -- The open listing's, if the house has one.
    asking_rent_fen bigint,
    allowed_uses text,
    photos integer not null
);
create index map_houses_footprint_3857_gist on map_houses using gist (footprint_3857);

-- Recomputes the rows of houses `ids` from the records (and removes those of houses no longer there).
-- The rows are locked first, in id order: a writer of the same house waits for the other to commit, and
-- the next statement (a new snapshot under READ COMMITTED) computes from what that one wrote, so two
-- concurrent writes to one house (a photo and a listing, say) never leave a row computed without one of
-- them. Rows that come out the same are not rewritten.
create function map_houses_refresh(ids bigint[]) returns void language plpgsql as $$
begin
    if cardinality(ids) = 0 then
        return;
    end if;
    perform 1 from map_houses m where m.id = any (ids) order by m.id for update;
    delete from map_houses m where m.id = any (ids) and not exists (select 1 from farmhouses f where f.id = m.id);
    insert into map_houses as m (id, footprint_3857, unit_number, township_code, village, status, floor_area_m2,
                                 floors, year_built, structure, condition, asking_rent_fen, allowed_uses, photos)
    select f.id, f.footprint_3857, f.unit_number::text, f.township_code::text, p.village, f.status,
           f.floor_area_m2::float8, f.floors::int4, f.year_built::int4, f.structure, f.condition,
           l.asking_rent_fen, array_to_string(l.allowed_uses, ','),
           (select count(*) from farmhouse_photos ph where ph.farmhouse_id = f.id)::int4
    from farmhouses f
    join parcels p on p.parcel_code = f.parcel_code
    left join lateral (
        select l.asking_rent_fen, l.allowed_uses from listings l
        where l.farmhouse_id = f.id and l.status = 'open' limit 1) l on true
    where f.id = any (ids)
    order by f.id
    on conflict (id) do update set
        footprint_3857 = excluded.footprint_3857, unit_number = excluded.unit_number,
        township_code = excluded.township_code, village = excluded.village, status = excluded.status,
        floor_area_m2 = excluded.floor_area_m2, floors = excluded.floors, year_built = excluded.year_built,
        structure = excluded.structure, condition = excluded.condition,
        asking_rent_fen = excluded.asking_rent_fen, allowed_uses = excluded.allowed_uses, photos = excluded.photos
    where (m.unit_number, m.township_code, m.village, m.status, m.floor_area_m2, m.floors, m.year_built,
           m.structure, m.condition, m.asking_rent_fen, m.allowed_uses, m.photos)
          is distinct from
          (excluded.unit_number, excluded.township_code, excluded.village, excluded.status, excluded.floor_area_m2,
           excluded.floors, excluded.year_built, excluded.structure, excluded.condition, excluded.asking_rent_fen,
           excluded.allowed_uses, excluded.photos)
       or not st_orderingequals(m.footprint_3857, excluded.footprint_3857);
end $$;

-- Houses: new ones added, changed ones recomputed, deleted ones removed.
create function map_houses_of_farmhouses() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        delete from map_houses m using old_rows o where m.id = o.id;
    elsif tg_op = 'INSERT' then
        -- Straight from the new rows and their parcels: no listing or photo can name a house before it is
        -- there (their foreign keys), so a bulk insert makes no lookup per house but the parcel's.
        insert into map_houses (id, footprint_3857, unit_number, township_code, village, status, floor_area_m2,
                                floors, year_built, structure, condition, asking_rent_fen, allowed_uses, photos)
        select n.id, n.footprint_3857, n.unit_number::text, n.township_code::text, p.village, n.status,
               n.floor_area_m2::float8, n.floors::int4, n.year_built::int4, n.structure, n.condition, null, null, 0
        from new_rows n join parcels p on p.parcel_code = n.parcel_code;
    else
        -- Only houses whose drawn facts changed (a new description or owner changes nothing drawn).
        perform map_houses_refresh(array(
            select n.id from new_rows n join old_rows o on o.id = n.id
            where (n.parcel_code, n.township_code, n.status, n.floor_area_m2, n.floors, n.year_built, n.structure,
                   n.condition, n.unit_number)
                  is distinct from
                  (o.parcel_code, o.township_code, o.status, o.floor_area_m2, o.floors, o.year_built, o.structure,
                   o.condition, o.unit_number)
               or not st_orderingequals(n.footprint_3857, o.footprint_3857)));
    end if;
    return null;
end $$;

-- Records of a house (listings, photos): the houses they belong to, before and after.
create function map_houses_of_records() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform map_houses_refresh(array(select distinct n.farmhouse_id from new_rows n));
    elsif tg_op = 'DELETE' then
        perform map_houses_refresh(array(select distinct o.farmhouse_id from old_rows o));
    else
        perform map_houses_refresh(array(
            select n.farmhouse_id from new_rows n union select o.farmhouse_id from old_rows o));
    end if;
    return null;
end $$;

-- Parcels: a new village for the houses on a parcel.
create function map_houses_of_parcels() returns trigger language plpgsql as $$
begin
    perform map_houses_refresh(array(
        select f.id from new_rows n join old_rows o on o.id = n.id
        join farmhouses f on f.parcel_code = n.parcel_code
        where n.village is distinct from o.village));
    return null;
end $$;

create function map_houses_truncate() returns trigger language plpgsql as $$
begin
    truncate map_houses;
    return null;
end $$;

call map_statement_triggers('farmhouses', 'farmhouses_map_houses', 'map_houses_of_farmhouses', '');
create trigger farmhouses_map_houses_truncate after truncate on farmhouses
    for each statement execute function map_houses_truncate();
call map_statement_triggers('listings', 'listings_map_houses', 'map_houses_of_records', '');
call map_statement_triggers('farmhouse_photos', 'farmhouse_photos_map_houses', 'map_houses_of_records', '');
create trigger parcels_map_houses_update after update on parcels referencing old table as old_rows new table as new_rows
    for each statement execute function map_houses_of_parcels();

-- The houses already registered.
insert into map_houses (id, footprint_3857, unit_number, township_code, village, status, floor_area_m2, floors,
                        year_built, structure, condition, asking_rent_fen, allowed_uses, photos)
select f.id, f.footprint_3857, f.unit_number::text, f.township_code::text, p.village, f.status,
       f.floor_area_m2::float8, f.floors::int4, f.year_built::int4, f.structure, f.condition,
       l.asking_rent_fen, array_to_string(l.allowed_uses, ','),
       coalesce(ph.photos, 0)::int4
from farmhouses f
join parcels p on p.parcel_code = f.parcel_code
left join listings l on l.farmhouse_id = f.id and l.status = 'open'
left join (select farmhouse_id, count(*) as photos from farmhouse_photos group by farmhouse_id) ph
    on ph.farmhouse_id = f.id;
