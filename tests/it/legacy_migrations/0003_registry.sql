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
create function parcels_check_geometry() returns trigger language plpgsql as $$
begin
    if not is_checkable(new.boundary) then
        return new;
    end if;
    perform assert_inside_district(left(new.parcel_code, 6), new.boundary, 'parcel boundary');
    perform pg_advisory_xact_lock(hashtext('parcels:' || new.township_code));
    if exists (
        select 1 from parcels p
        where p.township_code = new.township_code
          and p.parcel_code <> new.parcel_code
          and p.boundary && new.boundary
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
create trigger farmhouses_touch before update on farmhouses for each row execute function touch_version();

-- How far (degrees; about 0.5 m) a footprint may stray outside its parcel: survey tolerance.
create function footprint_tolerance() returns double precision language sql immutable parallel safe as
    'select 0.000005::double precision';

-- A footprint lies within its parcel (with the survey tolerance); the house takes the parcel's township.
create function farmhouses_check_geometry() returns trigger language plpgsql as $$
declare
    p record;
begin
    select boundary, township_code into p from parcels where parcel_code = left(new.unit_number, 19);
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
