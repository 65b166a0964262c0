-- Clusters of houses for the map's middle zooms, kept as a grid so a tile reads at most a few thousand
-- cells however many houses lie under it.
--
-- The grid is fixed to Web Mercator tiles: at zoom z (11 to 14) each tile is cut into 64 x 64 cells, and
-- a cell holds the houses whose map point falls in it, their count by status and the sum of their
-- coordinates (the cluster is drawn at the mean). A cell never straddles two tiles, so a cluster is the
-- same in every tile that shows it. `src/tiles/layers.rs` holds the same numbers; a test proves they agree.

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

-- Cells for the houses already there.
do $$ begin execute farmhouse_clusters_upsert('select 1 as sign, * from farmhouses'); end $$;
