-- Survey files imported by `farmhouse import` and `POST /api/v1/import/...`.
--
-- A file is known by the sha256 of its bytes (for a shapefile: of its .shp, .dbf and .prj together), so
-- importing the same file twice is refused instead of adding every feature a second time. The row is
-- written in the same transaction as the features, so a rejected or failed import leaves no trace.

create table imports (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('parcels', 'farmhouses')),
    sha256 bytea not null check (length(sha256) = 32),
    file_name text not null default '' check (length(file_name) <= 300),
    -- The EPSG code the file's coordinates were read in.
    crs integer not null check (crs in (4326, 4490, 4528, 4549)),
    features integer not null check (features >= 0),
    actor text not null default history_actor(),
    imported_at timestamptz not null default now(),
    constraint imports_once unique (kind, sha256)
);
