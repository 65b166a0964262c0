-- The map's own tables and triggers: feature counts, the township activation figures, the cluster grid of
-- the middle zooms, and the notifications that tell running services which tiles a write made stale.
--
-- Every table here is kept by triggers from the registry; the legacy migrations also filled them from
-- the rows already there when they were added, which a baseline applied to an empty database never needs.

-- Counts the map and OGC API – Features read instead of counting rows on every request: features per
-- collection, township and status, and the floor area they add up to. Kept by statement-level triggers, so
-- a bulk import pays once per statement, not once per row; `numberMatched` of an unfiltered or
-- status/township-filtered page and the townships' activation figures are sums over a few dozen rows here
-- however many houses there are.
--
-- Writers of houses in one township update the same counter row and so wait for each other until commit;
-- registry writes are rare and short, imports are one statement.

create table map_feature_counts (
    collection text not null,
    township_code char(9) not null,
    -- The house status for `farmhouses`; '' for parcels.
    status text not null,
    features bigint not null,
    floor_area_m2 numeric not null,
    primary key (collection, township_code, status)
);

-- The rows a statement changed, as SQL for `execute`: each with `sign` +1 (new version) or -1 (old
-- version), so aggregates over them are deltas. Only callable from a statement-level trigger that
-- references its transition tables as `old_rows` / `new_rows`.
create function map_changed_rows(op text) returns text language sql immutable parallel safe as $$
    select case op
        when 'INSERT' then 'select 1 as sign, * from new_rows'
        when 'DELETE' then 'select -1 as sign, * from old_rows'
        else 'select -1 as sign, * from old_rows union all select 1 as sign, * from new_rows'
    end
$$;

-- Adds the statement's deltas of collection `tg_argv[0]`, grouped by township and by the status
-- expression `tg_argv[1]` (over a changed row `r`), with floor area `tg_argv[2]`.
create function map_count_changes() returns trigger language plpgsql as $$
begin
    execute format($q$
        insert into map_feature_counts as c (collection, township_code, status, features, floor_area_m2)
        select %L, r.township_code, %s, sum(r.sign), sum(r.sign * %s)
        from (%s) r
        group by 2, 3
        order by 2, 3
        on conflict (collection, township_code, status) do update
            set features = c.features + excluded.features, floor_area_m2 = c.floor_area_m2 + excluded.floor_area_m2
        $q$, tg_argv[0], tg_argv[1], tg_argv[2], map_changed_rows(tg_op));
    return null;
end $$;

-- Attaches the three statement-level triggers that run `fn(args)` after inserts, updates and deletes of
-- `t` (transition tables may serve one event each).
create procedure map_statement_triggers(t regclass, prefix text, fn text, args text) language plpgsql as $$
begin
    execute format('create trigger %I after insert on %s referencing new table as new_rows
                    for each statement execute function %s(%s)', prefix || '_insert', t, fn, args);
    execute format('create trigger %I after update on %s referencing old table as old_rows new table as new_rows
                    for each statement execute function %s(%s)', prefix || '_update', t, fn, args);
    execute format('create trigger %I after delete on %s referencing old table as old_rows
                    for each statement execute function %s(%s)', prefix || '_delete', t, fn, args);
end $$;

call map_statement_triggers('farmhouses', 'farmhouses_counts', 'map_count_changes',
                            $$'farmhouses', 'r.status', 'r.floor_area_m2'$$);
call map_statement_triggers('parcels', 'parcels_counts', 'map_count_changes', $$'parcels', '''''', '0'$$);

-- The activation figures of every township: houses in total, certified (activated) houses and their floor
-- area, and the total amount of transactions with a certificate in force (fen). The one place the map and
-- the features read them from.
--
-- The amount is summed from `stats_monthly` (kept by the triggers of 0107_stats.sql, per township and
-- month) instead of joining every certificate in force with its transaction and house. The figures are
-- the same (a test compares `stats_monthly` with the records); a township tile or page reads a few
-- hundred rows however many houses the registry holds, where the join grew with them (about 1 s at a
-- million houses).
create function township_activation()
returns table (township_code char(9), houses_total bigint, certified_houses bigint,
               certified_floor_area_m2 numeric, transaction_amount_fen bigint)
language sql stable parallel safe as $$
    with houses as (
        select c.township_code,
               sum(c.features) as total,
               sum(c.features) filter (where c.status = 'certified') as certified,
               sum(c.floor_area_m2) filter (where c.status = 'certified') as certified_area
        from map_feature_counts c
        where c.collection = 'farmhouses'
        group by c.township_code
    ), amounts as (
        select m.township_code, sum(m.certified_amount_fen) as amount
        from stats_monthly m
        group by m.township_code
    )
    select t.code, coalesce(h.total, 0)::bigint, coalesce(h.certified, 0)::bigint,
           coalesce(h.certified_area, 0), coalesce(a.amount, 0)::bigint
    from townships t
    left join houses h on h.township_code = t.code
    left join amounts a on a.township_code = t.code
$$;

-- Clusters of houses for the map's middle zooms, kept as a grid so a tile reads at most a few thousand
-- cells however many houses lie under it.
--
-- The grid is fixed to Web Mercator tiles: at zoom z (11 to 14) each tile is cut into 64 x 64 cells, and
-- a cell holds the houses whose map point falls in it, their count by status and the sum of their
-- coordinates (the cluster is drawn at the mean). A cell never straddles two tiles, so a cluster is the
-- same in every tile that shows it. `src/map/layers.rs` holds the same numbers; a test proves they agree.

create function farmhouse_cluster_zooms() returns int4range language sql immutable parallel safe as
    'select int4range(11, 14, ''[]'')';
create function farmhouse_cluster_cells() returns integer language sql immutable parallel safe as 'select 64';

create table farmhouse_clusters (
    z smallint not null,
    -- Column and row of the cell from the top-left corner of the world (rows grow southwards, like tiles).
    ix integer not null,
    iy integer not null,
    houses integer not null,
    registered integer not null,
    listed integer not null,
    contracted integer not null,
    certified integer not null,
    sum_x double precision not null,
    sum_y double precision not null,
    primary key (z, ix, iy)
);

-- The statement that adds rows `source` (SQL of rows of `farmhouses` with a `sign` column: +1 to add,
-- -1 to remove) to the cells of every cluster zoom their map point falls in. Cells are updated in key
-- order, so two writers never wait for each other crosswise. (It returns SQL rather than running it: a
-- trigger's transition tables are visible only to statements the trigger function itself executes.)
create function farmhouse_clusters_upsert(source text) returns text language sql immutable parallel safe as $$
    select format($q$
        insert into farmhouse_clusters as c (z, ix, iy, houses, registered, listed, contracted, certified, sum_x, sum_y)
        select z, ix, iy, sum(sign),
               coalesce(sum(sign) filter (where status = 'registered'), 0),
               coalesce(sum(sign) filter (where status = 'listed'), 0),
               coalesce(sum(sign) filter (where status = 'contracted'), 0),
               coalesce(sum(sign) filter (where status = 'certified'), 0),
               sum(sign * x), sum(sign * y)
        from (
            select g.z,
                   floor((st_x(r.point_3857) + 20037508.342789244) / g.cell)::integer as ix,
                   floor((20037508.342789244 - st_y(r.point_3857)) / g.cell)::integer as iy,
                   r.sign, r.status, st_x(r.point_3857) as x, st_y(r.point_3857) as y
            from (%s) r
            cross join (select z, 40075016.685578488 / (farmhouse_cluster_cells() * 2 ^ z) as cell
                        from generate_series(lower(farmhouse_cluster_zooms()),
                                             upper(farmhouse_cluster_zooms()) - 1) z) g
        ) d
        group by z, ix, iy
        order by z, ix, iy
        on conflict (z, ix, iy) do update set
            houses = c.houses + excluded.houses,
            registered = c.registered + excluded.registered,
            listed = c.listed + excluded.listed,
            contracted = c.contracted + excluded.contracted,
            certified = c.certified + excluded.certified,
            sum_x = c.sum_x + excluded.sum_x,
            sum_y = c.sum_y + excluded.sum_y
        $q$, source)
$$;

-- Emptied cells, found without scanning the table.
create index farmhouse_clusters_empty on farmhouse_clusters (z) where houses <= 0;

create function farmhouse_clusters_changed() returns trigger language plpgsql as $$
begin
    execute farmhouse_clusters_upsert(map_changed_rows(tg_op));
    -- The table holds only cells with houses.
    delete from farmhouse_clusters where houses <= 0;
    return null;
end $$;

call map_statement_triggers('farmhouses', 'farmhouses_clusters', 'farmhouse_clusters_changed', '');

-- Tells every running service which map tiles a write made stale: after each statement that changes a
-- record drawn on the map, a notification on channel `map_tiles` names a tile layer and the Web Mercator
-- boxes (EPSG:3857, whole metres, rounded outwards) of the old and new versions of the changed rows:
--
--     farmhouses 13452001,3501230,13452040,3501262;13460110,3502001,13460150,3502040
--
-- A statement that changes more than 40 distinct boxes sends their extent instead, and a truncate sends
-- `*` (the whole layer). Notifications are delivered at commit, so no tile is dropped for a write that
-- is rolled back. `src/map/listener.rs` reads them; a service in the same process as the writer also
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
