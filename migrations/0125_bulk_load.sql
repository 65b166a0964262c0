-- Bulk loading (DESIGN §6.2): the per-statement work of the registry's triggers done once per statement
-- rather than once per changed row, with every rule and notification as before.

-- Tile notifications of the `townships` layer. The notification triggers of 0108_map.sql named a
-- township's boundary as a per-row expression (`(select t.boundary_3857 from townships t where
-- t.code = r.township_code)`): for each changed house, deal or certificate the township's whole
-- boundary (a large, compressed value) was read and decompressed, and its box computed four times
-- over. Seeding 10,000 houses spent 9.8 s of its 38 s there. The same boxes come from the distinct
-- townships of the changed rows: an argument `township:EXPR` names the township code of a changed row
-- `r`, and each township's boundary is read once per statement. Every other geometry expression is
-- reduced to its box once per row instead of once per coordinate. The notifications are the same
-- text as before.
create or replace function notify_map_change() returns trigger language plpgsql as $$
declare
    i integer := 0;
    n bigint;
    boxes text;
    whole box2d;
    source text;
begin
    while i + 1 < tg_nargs loop
        if tg_argv[i + 1] like 'township:%' then
            source := format('select t.boundary_3857 as g from townships t where t.code in (select (%s) from (%s) r)',
                             substr(tg_argv[i + 1], 10), map_changed_rows(tg_op));
        else
            source := format('select (%s)::geometry as g from (%s) r', tg_argv[i + 1], map_changed_rows(tg_op));
        end if;
        execute format($q$
            select count(distinct b), string_agg(distinct b, ';'), st_extent(x::geometry)
            from (
                select x, concat_ws(',', floor(st_xmin(x)), floor(st_ymin(x)), ceil(st_xmax(x)), ceil(st_ymax(x))) as b
                from (select box2d(g) as x from (%s) s where g is not null and not st_isempty(g) offset 0) e
            ) d
            $q$, source)
        into n, boxes, whole;
        if n > 40 then
            boxes := concat_ws(',', floor(st_xmin(whole)), floor(st_ymin(whole)), ceil(st_xmax(whole)), ceil(st_ymax(whole)));
        end if;
        if n > 0 then
            perform pg_notify('map_tiles', tg_argv[i] || ' ' || boxes);
        end if;
        i := i + 2;
    end loop;
    return null;
end $$;

-- The same layers and rows as 0108_map.sql, with the townships named by code.
do $$
declare
    t record;
    op text;
begin
    for t in select * from (values
        ('farmhouses', $a$'farmhouses', 'r.footprint_3857', 'townships', 'township:r.township_code'$a$),
        ('transactions', $a$'farmhouses', '(select f.footprint_3857 from farmhouses f where f.id = r.farmhouse_id)',
            'townships', 'township:(select f.township_code from farmhouses f where f.id = r.farmhouse_id)'$a$),
        ('certifications', $a$'townships', 'township:(select f.township_code from transactions x
            join farmhouses f on f.id = x.farmhouse_id where x.id = r.transaction_id)'$a$)) v(name, args)
    loop
        foreach op in array array['insert', 'update', 'delete'] loop
            execute format('drop trigger %I on %I', t.name || '_map_notify_' || op, t.name);
        end loop;
        call map_statement_triggers(t.name::regclass, t.name || '_map_notify', 'notify_map_change', t.args);
    end loop;
end $$;

-- A footprint within its parcel (with the survey tolerance). Widening the parcel (`st_buffer`) was most of
-- the cost of writing a house (importing 10,000 houses: 1.0 s of buffers and 0.8 s of coverage tests in
-- this trigger alone), yet almost every footprint lies inside the parcel itself: a parcel covers the
-- footprint, or else the widened parcel is asked as before. The rule is the same — the widened parcel
-- contains the parcel — and only a footprint reaching over the parcel's edge pays for the buffer.
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
    if is_checkable(new.footprint) and not st_covers(p.boundary, new.footprint)
       and not st_coveredby(new.footprint, st_buffer(p.boundary, footprint_tolerance())) then
        raise exception 'footprint of % is not within parcel %', new.unit_number, left(new.unit_number, 19)
            using errcode = 'check_violation', constraint = 'farmhouses_footprint_within_parcel';
    end if;
    return new;
end $$;
