-- Reference geography: districts (counties) and their townships and villages.
--
-- Every geometry is stored in lon/lat (EPSG:4326; CGCS2000 agrees to centimetres here) and, where it is
-- drawn on the map, also as a generated Web Mercator (EPSG:3857) copy with its own GiST index so tiles
-- never transform on the fly.
--
-- This is the first file of the baseline (0100–0108): the schema as the migrations of the registry's
-- development (0001–0040, kept under tests/it/legacy_migrations/) left it, one file per concern. A
-- database migrated with those is adopted as it is (src/store/legacy.rs); tests/it/migrations.rs proves
-- both sets build the same schema. Changes go into new files numbered after the baseline, never here.

create extension if not exists postgis;
create extension if not exists btree_gist;

-- Whether spatial predicates can be computed on `g`. Triggers skip geometries that are not, leaving them
-- to the column checks (which run after triggers) to refuse with their own names.
create function is_checkable(g geometry) returns boolean language sql immutable parallel safe as $$
    select g is not null and not st_isempty(g) and st_isvalid(g)
$$;

-- Why a polygon is not valid, in words a client can act on, or null when it is valid.
--
-- The service asks this of every polygon sent to it (the JSON API before it writes, an import for each
-- staged feature) instead of checking validity itself: GEOS answers in O(n log n), in the database's own
-- process, by the rules the columns' `st_isvalid` checks apply, so the answer and the constraint always
-- agree. The location is where GEOS found the fault (lon/lat, to about 1 cm).
create function polygon_fault(g geometry) returns text language sql immutable parallel safe as $$
    select case
        when g is null or st_isempty(g) then 'is empty'
        when d.valid then null
        else 'is not a valid polygon: ' || coalesce(d.reason, 'invalid')
             || coalesce(' at (' || round(st_x(d.location)::numeric, 7) || ', '
                                 || round(st_y(d.location)::numeric, 7) || ')', '')
    end
    from st_isvaliddetail(g) d
$$;

-- A county-level district (区/县). The outline bounds every other geometry of the district; a geometry may
-- stray 0.0005 degrees (about 50 m) outside it, since outlines are approximate and survey data along the
-- edge must not be refused for that.
create table districts (
    county_code char(6) primary key check (county_code ~ '^[0-9]{6}$'),
    name text not null check (length(name) between 1 and 100),
    outline geometry(MultiPolygon, 4326) not null
        check (st_isvalid(outline) and not st_isempty(outline)),
    -- The outline widened by the survey tolerance: what boundaries are checked against.
    outline_tolerant geometry(Geometry, 4326)
        generated always as (st_buffer(outline, 0.0005)) stored,
    -- The two letters that begin a district's certificate numbers (SY for Shangyu: SY-JZ-2020-000123).
    -- (Last because it was added after the table; `select *` and COPY keep that order.)
    certificate_prefix char(2) not null default 'SY'
        check (certificate_prefix ~ '^[A-Z]{2}$')
);
create index districts_outline_gist on districts using gist (outline);

-- Refuses a geometry that lies outside the outline of district `county`. An invalid or empty geometry
-- passes here: the column's own check reports it.
--
-- The check asks whether the outline covers the geometry (`st_covers(outline, g)`) rather than whether the
-- geometry is covered by the outline (`st_coveredby(g, outline)`). The rule is the same; PostGIS prepares
-- (indexes the edges of) the first argument of st_covers when it repeats from call to call, as the
-- district's outline does, and st_coveredby has no such cache. A bulk load checks each parcel in about
-- 6 µs instead of about 0.1 ms (100,000 parcels: 0.6 s instead of 11 s).
create function assert_inside_district(county text, g geometry, what text) returns void
    language plpgsql stable as $$
declare
    o geometry;
begin
    if not is_checkable(g) then
        return;
    end if;
    select outline_tolerant into o from districts where county_code = county;
    if o is null then
        raise exception 'unknown district %', county
            using errcode = 'foreign_key_violation', constraint = 'inside_district';
    end if;
    if not st_covers(o, g) then
        raise exception '% lies outside district %', what, county
            using errcode = 'check_violation', constraint = 'inside_district';
    end if;
end $$;

-- A township-level division (乡镇街道): 9-digit division code whose first six digits are its county.
create table townships (
    code char(9) primary key check (code ~ '^[0-9]{9}$'),
    county_code char(6) not null references districts generated always as (left(code, 6)) stored,
    name text not null check (length(name) between 1 and 100),
    kind text not null check (kind in ('街道', '镇', '乡')),
    seat geometry(Point, 4326),
    boundary geometry(MultiPolygon, 4326) not null
        check (st_isvalid(boundary) and not st_isempty(boundary)),
    boundary_3857 geometry(MultiPolygon, 3857) generated always as (st_transform(boundary, 3857)) stored,
    -- Township boundaries are drawn from the division's maps, coarser than cadastral surveys (a 1:10,000
    -- map places a line to about 5 m), so a parcel on a border may stray 0.0001 degrees (about 10 m)
    -- outside its township. The widened boundary is kept, like the district's, so no check buffers a
    -- township per row (parcels_check_township, 0102_registry.sql). (Last because it was added after the
    -- table; `select *` and COPY keep that order.)
    boundary_tolerant geometry(Geometry, 4326)
        generated always as (st_buffer(boundary, 0.0001)) stored
);
create index townships_boundary_gist on townships using gist (boundary);
create index townships_boundary_3857_gist on townships using gist (boundary_3857);

create function townships_inside_district() returns trigger language plpgsql as $$
begin
    perform assert_inside_district(left(new.code, 6), new.boundary, 'township boundary');
    return new;
end $$;
create trigger townships_inside_district before insert or update of boundary on townships
    for each row execute function townships_inside_district();

-- A village (行政村) of a township: a labelled point for the map and for search.
create table villages (
    id bigint generated always as identity primary key,
    township_code char(9) not null references townships,
    name text not null check (length(name) between 1 and 100),
    location geometry(Point, 4326) not null check (not st_isempty(location)),
    location_3857 geometry(Point, 3857) generated always as (st_transform(location, 3857)) stored,
    unique (township_code, name)
);
create index villages_location_gist on villages using gist (location);
create index villages_location_3857_gist on villages using gist (location_3857);
