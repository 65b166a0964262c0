-- Survey files imported by `farmhouse import` and `POST /api/v1/import/...`.
--
-- A file is known by the sha256 of its bytes (for a shapefile: of its .shp, .dbf and .prj together), so
-- importing the same file twice is refused instead of adding every feature a second time. The row is
-- written in the same transaction as the features, so a rejected or failed import leaves no trace.
--
-- A file of its own rather than part of the records: an import is not a registry record (it has no
-- history triggers and no place on the map) but an account of a bulk write and of who made it, and its
-- `actor` defaults to history_actor() of 0104_history.sql, so it must come after the history. Like every
-- table made after 0105_access.sql, the service role gets its rights through the default privileges
-- granted there.

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
