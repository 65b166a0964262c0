-- Parcels (宗地) and farmhouses (房屋), with the spatial rules of DESIGN.md §2 as constraints.

-- Parcel code: the first 19 characters of a real-estate unit number (GB/T 37346-2019): county (6 digits),
-- cadastral district (3), sub-district (3), two letters — ownership (G state, J collective, Z undetermined)
-- and use (A ownership, B construction land, S above ground, X below ground, C homestead (only under J),
-- D contract, E forest, F grassland, N farmland, H sea area, G island, W undetermined) — and a 5-digit
-- sequence from 00001.
create function is_parcel_code(c text) returns boolean language sql immutable parallel safe as $$
    select c ~ '^[0-9]{12}([GZ][ABSXDEFNHGW]|J[ABSXCDEFNHGW])[0-9]{5}$' and right(c, 5) <> '00000'
$$;

create table parcels (
    id bigint generated always as identity primary key,
    parcel_code char(19) not null unique check (is_parcel_code(parcel_code)),
    county_code char(6) not null generated always as (left(parcel_code, 6)) stored,
    township_code char(9) not null references townships,
    village text not null check (length(village) between 1 and 100),
    -- Land-use code of GB/T 21010 (e.g. 0702 农村宅基地).
    land_use char(4) not null check (land_use ~ '^[0-9]{4}$'),
    boundary geometry(Polygon, 4326) not null check (st_isvalid(boundary) and not st_isempty(boundary)),
    boundary_3857 geometry(Polygon, 3857) generated always as (st_transform(boundary, 3857)) stored,
    -- Official area: the plane area on CGCS2000 / 3-degree Gauss-Kruger CM 120E, as surveys compute it.
    area_m2 double precision generated always as (st_area(st_transform(boundary, 4549))) stored,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint parcels_township_in_county check (left(township_code, 6) = left(parcel_code, 6))
);
create index parcels_boundary_gist on parcels using gist (boundary);
create index parcels_boundary_3857_gist on parcels using gist (boundary_3857);
create index parcels_township on parcels (township_code, id);
create trigger parcels_touch before update on parcels for each row execute function touch_version();

-- A parcel lies inside its district and overlaps no other parcel of its township. Overlaps smaller than
-- about 0.1 m² (survey rounding) are tolerated; touching edges always are. Concurrent writers of one
-- township are serialised so two overlapping parcels cannot slip in side by side.
--
-- The overlap check searches the spatial index, never the township's whole list. PL/pgSQL plans the query
-- once per session; planned while a township has few parcels, a filter on township_code walks the township
-- index (parcels_township) and reads every parcel of the township for each new one, so a bulk load of n
-- parcels costs n²/40 row visits (a seed of 300,000 houses read 537 million index entries and slowed from
-- 830 to 330 houses/s). Comparing the township as text keeps that index out of this query, leaving the
-- GiST index on boundary.
create function parcels_check_geometry() returns trigger language plpgsql as $$
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
create trigger parcels_check_geometry before insert or update of boundary, township_code on parcels
    for each row execute function parcels_check_geometry();

-- 不动产单元号 of a house: its parcel's code (with J C: collective homestead), fixture code F (building) and
-- an 8-digit building unit number that is not all zeros.
create function is_farmhouse_unit_number(u text) returns boolean language sql immutable parallel safe as $$
    select u ~ '^[0-9]{12}JC[0-9]{5}F[0-9]{8}$' and substr(u, 15, 5) <> '00000' and right(u, 8) <> '00000000'
$$;

create table farmhouses (
    id bigint generated always as identity primary key,
    unit_number char(28) not null unique check (is_farmhouse_unit_number(unit_number)),
    parcel_code char(19) not null generated always as (left(unit_number, 19)) stored references parcels (parcel_code),
    county_code char(6) not null generated always as (left(unit_number, 6)) stored,
    -- Copied from the parcel on insert (a trigger), so filters and tiles need no join.
    township_code char(9) not null references townships,
    footprint geometry(Polygon, 4326) not null check (st_isvalid(footprint) and not st_isempty(footprint)),
    footprint_3857 geometry(Polygon, 3857) generated always as (st_transform(footprint, 3857)) stored,
    -- The point the map draws and clusters at middle zooms.
    point_3857 geometry(Point, 3857) generated always as (st_transform(st_pointonsurface(footprint), 3857)) stored,
    floor_area_m2 numeric(10, 2) not null check (floor_area_m2 > 0 and floor_area_m2 < 100000),
    floors smallint not null check (floors between 1 and 10),
    year_built smallint not null check (year_built between 1900 and 2100),
    structure text not null check (structure in ('砖混', '砖木', '钢混', '木')),
    condition text not null default '基本完好' check (condition in ('完好', '基本完好', '一般', '破损')),
    status text not null default 'registered'
        check (status in ('registered', 'listed', 'contracted', 'certified')),
    description text not null default '' check (length(description) <= 2000),
    owner_party_id bigint references parties,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index farmhouses_footprint_gist on farmhouses using gist (footprint);
create index farmhouses_footprint_3857_gist on farmhouses using gist (footprint_3857);
create index farmhouses_point_3857_gist on farmhouses using gist (point_3857);
create index farmhouses_township_status on farmhouses (township_code, status, id);
create index farmhouses_status on farmhouses (status, id);
create index farmhouses_parcel on farmhouses (parcel_code);
-- Keyset pages of one township's houses (`?township_code=…`, by id) read in index order.
create index farmhouses_township_id on farmhouses (township_code, id);
create trigger farmhouses_touch before update on farmhouses for each row execute function touch_version();

-- How far (degrees; about 0.5 m) a footprint may stray outside its parcel: survey tolerance.
create function footprint_tolerance() returns double precision language sql immutable parallel safe as
    'select 0.000005::double precision';

-- A parcel lies in the township it is registered under (within the township's widened boundary,
-- townships.boundary_tolerant), and a change of its boundary keeps its houses within it. (Without these,
-- a parcel of 330604001 could be registered as 330604202, 13 km away, and a parcel shrunk to 4 m left
-- both its houses outside.)
--
-- `st_covers(township, parcel)` rather than `st_coveredby(parcel, township)`: the same rule, and PostGIS
-- prepares the first argument when it repeats, as a township does through a bulk load (see
-- assert_inside_district, 0100_reference.sql).
create function parcels_check_township() returns trigger language plpgsql as $$
declare
    t geometry;
begin
    if not is_checkable(new.boundary) then
        return new;
    end if;
    select boundary_tolerant into t from townships where code = new.township_code;
    -- An unknown township is the foreign key's to report.
    if found and not st_covers(t, new.boundary) then
        raise exception 'parcel % does not lie in township %', new.parcel_code, new.township_code
            using errcode = 'check_violation', constraint = 'parcels_within_township';
    end if;
    return new;
end $$;
create trigger parcels_check_township before insert or update of boundary, township_code on parcels
    for each row execute function parcels_check_township();

-- A new boundary must still hold every house of the parcel (with the footprints' survey tolerance).
create function parcels_check_houses() returns trigger language plpgsql as $$
declare
    widened geometry;
begin
    if not is_checkable(new.boundary) then
        return new;
    end if;
    widened := st_buffer(new.boundary, footprint_tolerance());
    if exists (
        select 1 from farmhouses f
        where f.parcel_code = old.parcel_code and is_checkable(f.footprint) and not st_covers(widened, f.footprint)
    ) then
        raise exception 'the new boundary of parcel % leaves a house of it outside', old.parcel_code
            using errcode = 'check_violation', constraint = 'parcels_houses_within';
    end if;
    return new;
end $$;
create trigger parcels_check_houses before update of boundary on parcels
    for each row execute function parcels_check_houses();

-- A footprint lies within its parcel (with the survey tolerance); the house takes the parcel's township.
-- The parcel is read `for share`: a boundary change (parcels_check_houses above) and a new or moved
-- footprint of the same parcel then take turns, so neither can check against the other's state from
-- before it committed.
--
-- The lookup compares parcel_code (char(19)) with `left(unit_number, 19)` (text). PostgreSQL compares
-- the two as text, which keeps the unique index on parcel_code out of the query and makes each house
-- insert read every parcel (bulk loads grow quadratically). An earlier version cast the right-hand side
-- to char(19) for that reason (tests/it/legacy_migrations/0022_parcel_lookup.sql); the version that
-- added `for share` (0038) dropped the cast. The body is kept as the legacy set left it so that both sets
-- build the same schema; migrations/0109_house_parcel_lookup.sql restores the cast.
create function farmhouses_check_geometry() returns trigger language plpgsql as $$
declare
    p record;
begin
    select boundary, township_code into p from parcels where parcel_code = left(new.unit_number, 19) for share;
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
create trigger farmhouses_check_geometry before insert or update of footprint, unit_number on farmhouses
    for each row execute function farmhouses_check_geometry();

create table farmhouse_photos (
    id bigint generated always as identity primary key,
    farmhouse_id bigint not null references farmhouses on delete cascade,
    media_type text not null check (media_type in ('image/jpeg', 'image/png')),
    width integer not null check (width between 1 and 10000),
    height integer not null check (height between 1 and 10000),
    sha256 bytea not null check (length(sha256) = 32),
    content bytea not null check (length(content) between 1 and 10485760),
    caption text not null default '' check (length(caption) <= 200),
    created_at timestamptz not null default now(),
    unique (farmhouse_id, sha256)
);
create index farmhouse_photos_house on farmhouse_photos (farmhouse_id, id);

-- A house's owner is a person or a household, never an organisation.
--
-- The owner of a homestead house (宅基地上的房屋) is the rural household that holds the use right; an
-- organisation recorded as the owner would be shown, and counted, as a household. The rule holds from
-- both sides: a house may not be given an organisation as its owner, and a party that owns a house may not
-- become an organisation. Both raise a named rule that the service maps to the field at fault.

create function farmhouses_check_owner_kind() returns trigger language plpgsql as $$
declare
    owner_kind text;
begin
    -- `for share` waits for, and then sees, a concurrent change of the party's kind, so the check and
    -- parties_check_owner_kind below cannot both pass on a stale view of each other's row.
    select kind into owner_kind from parties where id = new.owner_party_id for share;
    if owner_kind = 'organisation' then
        raise exception 'party % is an organisation; a house''s owner is a person or household', new.owner_party_id
            using errcode = 'check_violation', constraint = 'farmhouses_owner_kind';
    end if;
    return new;
end $$;

create trigger farmhouses_owner_kind before insert or update of owner_party_id on farmhouses
    for each row when (new.owner_party_id is not null) execute function farmhouses_check_owner_kind();

create function parties_check_owner_kind() returns trigger language plpgsql as $$
begin
    if exists (select 1 from farmhouses where owner_party_id = new.id) then
        raise exception 'party % owns a house, so it is a person or household, not an organisation', new.id
            using errcode = 'check_violation', constraint = 'parties_owner_kind';
    end if;
    return new;
end $$;

create trigger parties_owner_kind before update of kind on parties
    for each row when (new.kind = 'organisation' and old.kind <> 'organisation')
    execute function parties_check_owner_kind();

-- The check above looks houses up by owner; without an index it would read every house.
create index farmhouses_owner on farmhouses (owner_party_id) where owner_party_id is not null;
