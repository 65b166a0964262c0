-- A parcel lies in the township it is registered under, and a change of its boundary keeps its houses
-- within it. (Before, a parcel of 330604001 could be registered as 330604202, 13 km away, and a parcel
-- shrunk to 4 m left both its houses outside.)

-- Township boundaries are drawn from the division's maps, coarser than cadastral surveys (a 1:10,000 map
-- places a line to about 5 m), so a parcel on a border may stray 0.0001 degrees (about 10 m) outside its
-- township. The widened boundary is kept, like the district's, so no check buffers a township per row.
alter table townships add column boundary_tolerant geometry(Geometry, 4326)
    generated always as (st_buffer(boundary, 0.0001)) stored;

-- `st_covers(township, parcel)` rather than `st_coveredby(parcel, township)`: the same rule, and PostGIS
-- prepares the first argument when it repeats, as a township does through a bulk load (see 0034).
create function parcels_check_township() returns trigger language plpgsql as $$
declare
    t geometry;
begin
    if not is_checkable(new.boundary) then
        return new;
    end if;
    select boundary_tolerant into t from townships where code = new.township_code;
    -- An unknown township is the foreign key's to report.
    if found and not st_covers(t, new.boundary) then
        raise exception 'parcel % does not lie in township %', new.parcel_code, new.township_code
            using errcode = 'check_violation', constraint = 'parcels_within_township';
    end if;
    return new;
end $$;
create trigger parcels_check_township before insert or update of boundary, township_code on parcels
    for each row execute function parcels_check_township();

-- A new boundary must still hold every house of the parcel (with the footprints' survey tolerance).
create function parcels_check_houses() returns trigger language plpgsql as $$
declare
    widened geometry;
begin
    if not is_checkable(new.boundary) then
        return new;
    end if;
    widened := st_buffer(new.boundary, footprint_tolerance());
    if exists (
        select 1 from farmhouses f
        where f.parcel_code = old.parcel_code and is_checkable(f.footprint) and not st_covers(widened, f.footprint)
    ) then
        raise exception 'the new boundary of parcel % leaves a house of it outside', old.parcel_code
            using errcode = 'check_violation', constraint = 'parcels_houses_within';
    end if;
    return new;
end $$;
create trigger parcels_check_houses before update of boundary on parcels
    for each row execute function parcels_check_houses();

-- The house's side of the same rule, as in 0003, except that the parcel is read `for share`: a boundary
-- change and a new or moved footprint of the same parcel then take turns, so neither can check against
-- the other's state from before it committed.
create or replace function farmhouses_check_geometry() returns trigger language plpgsql as $$
declare
    p record;
begin
    select boundary, township_code into p from parcels where parcel_code = left(new.unit_number, 19) for share;
    if not found then
        raise exception 'no parcel % for unit number %', left(new.unit_number, 19), new.unit_number
            using errcode = 'foreign_key_violation', constraint = 'farmhouses_parcel_code_fkey';
    end if;
    new.township_code := p.township_code;
    if is_checkable(new.footprint) and not st_coveredby(new.footprint, st_buffer(p.boundary, footprint_tolerance())) then
        raise exception 'footprint of % is not within parcel %', new.unit_number, left(new.unit_number, 19)
            using errcode = 'check_violation', constraint = 'farmhouses_footprint_within_parcel';
    end if;
    return new;
end $$;
