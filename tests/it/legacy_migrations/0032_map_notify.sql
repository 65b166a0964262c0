-- Tells every running service which map tiles a write made stale: after each statement that changes a
-- record drawn on the map, a notification on channel `map_tiles` names a tile layer and the Web Mercator
-- boxes (EPSG:3857, whole metres, rounded outwards) of the old and new versions of the changed rows:
--
--     farmhouses 13452001,3501230,13452040,3501262;13460110,3502001,13460150,3502040
--
-- A statement that changes more than 40 distinct boxes sends their extent instead, and a truncate sends
-- `*` (the whole layer). Notifications are delivered at commit, so no tile is dropped for a write that
-- is rolled back. `src/tiles/listener.rs` reads them; a service in the same process as the writer also
-- drops the tiles itself right after commit (`TileCache::invalidate_bbox`).

-- The notifications of one statement: for each pair (layer, geometry expression over a changed row `r`)
-- among the trigger's arguments, the boxes of that geometry over the old and new rows.
create function notify_map_change() returns trigger language plpgsql as $$
declare
    i integer := 0;
    n bigint;
    boxes text;
    whole box2d;
begin
    while i + 1 < tg_nargs loop
        execute format($q$
            select count(distinct b), string_agg(distinct b, ';'), st_extent(g)
            from (
                select g, concat_ws(',', floor(st_xmin(g)), floor(st_ymin(g)), ceil(st_xmax(g)), ceil(st_ymax(g))) as b
                from (select (%s)::geometry as g from (%s) r) s
                where g is not null and not st_isempty(g)
            ) d
            $q$, tg_argv[i + 1], map_changed_rows(tg_op))
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

create function notify_map_truncate() returns trigger language plpgsql as $$
declare
    layer text;
begin
    foreach layer in array tg_argv loop
        perform pg_notify('map_tiles', layer || ' *');
    end loop;
    return null;
end $$;

-- Attaches the notifications to table `t`: `args` lists (layer, geometry expression) pairs, as SQL
-- literals; `layers` the layers a truncate empties.
create procedure notify_map_changes(t regclass, args text, layers text) language plpgsql as $$
declare
    name text := (select relname from pg_class where oid = t);
begin
    call map_statement_triggers(t, name || '_map_notify', 'notify_map_change', args);
    execute format('create trigger %I after truncate on %s for each statement execute function notify_map_truncate(%s)',
                   name || '_map_notify_truncate', t, layers);
end $$;

-- A house is drawn as itself (footprint, cluster) and counts in its township's figures.
call notify_map_changes('farmhouses', $$
    'farmhouses', 'r.footprint_3857',
    'townships', '(select t.boundary_3857 from townships t where t.code = r.township_code)'
$$, $$'farmhouses', 'townships'$$);
-- A house shows its parcel's village.
call notify_map_changes('parcels', $$'parcels', 'r.boundary_3857', 'farmhouses', 'r.boundary_3857'$$,
                        $$'parcels', 'farmhouses'$$);
call notify_map_changes('townships', $$'townships', 'r.boundary_3857'$$, $$'townships'$$);
call notify_map_changes('villages', $$'villages', 'r.location_3857'$$, $$'villages'$$);
-- A house shows its open listing's rent and uses, its photo count, and to staff its lessee and contract;
-- a certified transaction's amount counts in the township's figures.
call notify_map_changes('listings', $$'farmhouses', '(select f.footprint_3857 from farmhouses f where f.id = r.farmhouse_id)'$$,
                        $$'farmhouses'$$);
call notify_map_changes('farmhouse_photos', $$'farmhouses', '(select f.footprint_3857 from farmhouses f where f.id = r.farmhouse_id)'$$,
                        $$'farmhouses'$$);
call notify_map_changes('transactions', $$
    'farmhouses', '(select f.footprint_3857 from farmhouses f where f.id = r.farmhouse_id)',
    'townships', '(select t.boundary_3857 from farmhouses f join townships t on t.code = f.township_code where f.id = r.farmhouse_id)'
$$, $$'farmhouses', 'townships'$$);
call notify_map_changes('certifications', $$
    'townships', '(select t.boundary_3857 from transactions x join farmhouses f on f.id = x.farmhouse_id
                   join townships t on t.code = f.township_code where x.id = r.transaction_id)'
$$, $$'townships'$$);
