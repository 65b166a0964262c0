-- Each township's box kept beside its boundary, for the townships layer's tile notifications
-- (docs/DESIGN.md §6.2).
--
-- Since 0125 a statement that changes houses, deals or certificates reads the boundary of each township
-- it touched, once, to name the box of townships tiles to drop. A township's boundary is a large
-- compressed value: reading and decompressing it was 10 ms of a certification's 31 ms of database time
-- at a million houses. Its envelope (five points) gives the same box. A generated column, so it
-- follows every change of the boundary; like the other derived map columns it is left out of the
-- history's copy of a row.

alter table townships
    add column extent_3857 geometry(Polygon, 3857) generated always as (st_envelope(st_transform(boundary, 3857))) stored;
-- Every geometry column has one (tests/it/schema_rules.rs); twenty rows.
create index townships_extent_3857_gist on townships using gist (extent_3857);

create or replace function history_row(r jsonb) returns jsonb language sql immutable parallel safe as $$
    select r - array['boundary_3857', 'footprint_3857', 'point_3857', 'location_3857', 'outline_tolerant',
                     'content', 'password_hash', 'extent_3857']
$$;

-- As in 0125_bulk_load.sql, with the township's envelope read instead of its boundary.
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
            source := format('select t.extent_3857 as g from townships t where t.code in (select (%s) from (%s) r)',
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
