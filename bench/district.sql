-- Synthetic district for the tile benchmark: the Shangyu outline, its 20 townships cut from it around
-- their seats (Voronoi), and :houses houses in villages of about 200 on a 30 m lattice, each on a
-- 20 m parcel of its own. Deterministic (fixed seeds). Run with psql after `farmhouse migrate`:
--   psql -v houses=20000 -v outline="$(cat fixtures/shangyu-outline.geojson)" -f bench/district.sql
-- with the townships' table (fixtures/shangyu-townships.tsv, comments removed) on standard input.

\set ON_ERROR_STOP on

insert into districts (county_code, name, outline)
select '330604', '上虞区', st_multi(st_geomfromgeojson((:'outline'::jsonb -> 'features' -> 0 -> 'geometry')::text));

create temporary table seats (code text, name text, kind text, lon float8, lat float8);
\copy seats from pstdin with (format csv, delimiter E'\t', header true)

insert into townships (code, name, kind, seat, boundary)
select s.code, s.name, s.kind, st_setsrid(st_makepoint(s.lon, s.lat), 4326),
       st_multi(st_collectionextract(st_intersection(c.cell, d.outline), 3))
from seats s
join (select (st_dump(st_voronoipolygons(st_collect(st_setsrid(st_makepoint(lon, lat), 4326))))).geom as cell
      from seats) c on st_contains(c.cell, st_setsrid(st_makepoint(s.lon, s.lat), 4326))
cross join districts d;

-- Lattice cells in metres on EPSG:4549 (plane), so spacing is true on the ground.
create temporary table lots as
with villages as (
    select v.path[1] as village, st_transform(v.geom, 4549) as centre
    from st_dump(st_generatepoints((select outline from districts), greatest(1, :houses / 200), 20240601)) v
), cells as (
    select distinct on (cx, cy) village, cx, cy
    from villages,
         lateral (select floor(st_x(centre) / 30)::int + (k % 15) - 7 as cx,
                         floor(st_y(centre) / 30)::int + (k / 15) - 7 as cy
                  from generate_series(0, 224) k) g
    order by cx, cy, village
)
select row_number() over (order by village, cx, cy) as i, village, cx, cy
from cells;

create temporary table placed as
select l.i, l.village, t.code as township_code,
       st_transform(st_setsrid(st_makeenvelope(l.cx * 30 + 5, l.cy * 30 + 5, l.cx * 30 + 25, l.cy * 30 + 25), 4549), 4326) as parcel,
       st_transform(st_setsrid(st_makeenvelope(l.cx * 30 + 9, l.cy * 30 + 9, l.cx * 30 + 21, l.cy * 30 + 21), 4549), 4326) as footprint
from lots l
join townships t on st_contains(t.boundary, st_transform(st_setsrid(st_makepoint(l.cx * 30 + 15, l.cy * 30 + 15), 4549), 4326))
where st_coveredby(st_transform(st_setsrid(st_makeenvelope(l.cx * 30 + 5, l.cy * 30 + 5, l.cx * 30 + 25, l.cy * 30 + 25), 4549), 4326),
                   (select outline from districts))
order by l.i
limit :houses;

insert into parcels (parcel_code, township_code, village, land_use, boundary)
select '330604' || lpad((i / 99999 / 999 + 1)::text, 3, '0') || lpad((i / 99999 % 999 + 1)::text, 3, '0')
       || 'JC' || lpad((i % 99999 + 1)::text, 5, '0'),
       township_code, '村' || village, '0702', parcel
from placed;

insert into farmhouses (unit_number, footprint, floor_area_m2, floors, year_built, structure, status, description)
select '330604' || lpad((i / 99999 / 999 + 1)::text, 3, '0') || lpad((i / 99999 % 999 + 1)::text, 3, '0')
       || 'JC' || lpad((i % 99999 + 1)::text, 5, '0') || 'F00010001',
       footprint, 80 + (i * 37) % 400, 1 + i % 3, 1950 + (i * 7) % 70,
       (array['砖混', '砖木', '钢混', '木'])[i % 4 + 1],
       (array['registered', 'registered', 'listed', 'contracted', 'certified'])[i % 5 + 1],
       '农房 ' || i
from placed;

analyze;
select count(*) as houses from farmhouses;
