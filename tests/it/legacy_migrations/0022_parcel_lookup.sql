-- A house's parcel is found through the unique index on parcels.parcel_code.
--
-- `left(unit_number, 19)` is text and parcel_code is char(19): compared as they were (0003), the parcel
-- code was cast to text and every house insert scanned all parcels, which made bulk loads quadratic
-- (a seed of 50,000 houses took minutes). Casting the other side keeps the index. The rule is unchanged.
create or replace function farmhouses_check_geometry() returns trigger language plpgsql as $$
declare
    p record;
begin
    select boundary, township_code into p from parcels where parcel_code = left(new.unit_number, 19)::char(19);
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
