-- Logging in, API tokens, investors' interest in listings, and the database role the service works as.

-- A login session of the web page: the cookie holds a random secret; only its SHA-256 is kept here.
create table sessions (
    id bigint generated always as identity primary key,
    secret_sha256 bytea not null unique check (length(secret_sha256) = 32),
    user_id bigint not null references users on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    address text,
    constraint sessions_expiry check (expires_at > created_at)
);
create index sessions_user on sessions (user_id);

-- A bearer token for scripts: shown once when made, kept as its SHA-256, revocable.
create table api_tokens (
    id bigint generated always as identity primary key,
    secret_sha256 bytea not null unique check (length(secret_sha256) = 32),
    user_id bigint not null references users on delete cascade,
    label text not null default '' check (length(label) <= 100),
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
create index api_tokens_user on api_tokens (user_id);

-- Failed logins per key (`user:<name>` or `addr:<ip>`): after a few, the next attempt must wait, longer
-- after each further failure, but never more than a quarter of an hour; a success clears the key.
create table login_failures (
    key text primary key check (length(key) <= 200),
    failures integer not null default 0 check (failures >= 0),
    last_failure_at timestamptz not null default now(),
    blocked_until timestamptz
);

-- An investor's registered interest (意向登记) in a listed house.
create table interests (
    id bigint generated always as identity primary key,
    listing_id bigint not null references listings,
    user_id bigint not null references users,
    -- The investor's own contact for this interest (private: officers see it).
    contact_phone text check (contact_phone ~ '^\+?[0-9][0-9 -]{4,19}$'),
    message text not null default '' check (length(message) <= 1000),
    created_at timestamptz not null default now(),
    constraint interests_once unique (listing_id, user_id)
);
create index interests_listing on interests (listing_id, id);
call keep_history('interests');

-- The role the service works as (its pool sets it on every connection): it reads and writes the registry
-- but can only read and append the history, never change or remove an entry.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'farmhouse_writer') then
        create role farmhouse_writer nologin;
    end if;
exception when duplicate_object or unique_violation then
    null; -- another database of the cluster made it at the same moment
end $$;
grant usage on schema public to farmhouse_writer;
grant select, insert, update, delete on all tables in schema public to farmhouse_writer;
grant usage, select on all sequences in schema public to farmhouse_writer;
alter default privileges in schema public grant select, insert, update, delete on tables to farmhouse_writer;
alter default privileges in schema public grant usage, select on sequences to farmhouse_writer;
revoke update, delete, truncate on history from farmhouse_writer;
revoke insert, update, delete, truncate on _sqlx_migrations from farmhouse_writer;
