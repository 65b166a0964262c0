-- A house finds its parcel through the parcels' unique index again.
--
-- `parcel_code` is char(19) and `left(unit_number, 19)` is text: compared as they are, PostgreSQL casts
-- the column to text and reads every parcel for every house written (a bulk load slows down as the
-- registry grows). The lookup casts the prefix to char(19) instead, which the unique index answers. The
-- version before this one (migrations/0102_registry.sql) lost that cast when it added `for share`.

create or replace function farmhouses_check_geometry() returns trigger language plpgsql as $$
declare
    p record;
begin
    select boundary, township_code into p from parcels where parcel_code = left(new.unit_number, 19)::char(19)
        for share;
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
