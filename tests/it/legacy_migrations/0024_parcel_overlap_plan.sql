-- A new parcel's overlap check searches the spatial index, never the township's whole list.
--
-- The check of 0003 filters on township_code and on `boundary &&`. PL/pgSQL plans it once per session; planned
-- while a township has few parcels, it walks the township index (parcels_township) and reads every parcel of
-- the township for each new one, so a bulk load of n parcels costs n²/40 row visits (a seed of 300,000
-- houses read 537 million index entries and slowed from 830 to 330 houses/s). Comparing the township as
-- text keeps that index out of this query, leaving the GiST index on boundary. The rule is unchanged.
create or replace function parcels_check_geometry() returns trigger language plpgsql as $$
begin
    if not is_checkable(new.boundary) then
        return new;
    end if;
    perform assert_inside_district(left(new.parcel_code, 6), new.boundary, 'parcel boundary');
    perform pg_advisory_xact_lock(hashtext('parcels:' || new.township_code));
    if exists (
        select 1 from parcels p
        where p.boundary && new.boundary
          and p.township_code::text = new.township_code::text
          and p.parcel_code <> new.parcel_code
          and st_relate(p.boundary, new.boundary, '2********')
          and st_area(st_intersection(p.boundary, new.boundary)) > 1e-11
    ) then
        raise exception 'parcel % overlaps another parcel of township %', new.parcel_code, new.township_code
            using errcode = 'exclusion_violation', constraint = 'parcels_no_overlap';
    end if;
    return new;
end $$;
