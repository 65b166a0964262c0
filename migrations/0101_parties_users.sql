-- People and organisations (parties) and the accounts that log in.
--
-- A party's name, ID-card number, phone and address are private: the service never shows them to the
-- public or to investors (DESIGN.md §5). Their formats are checked here; the ID-card checksum is checked
-- by the service, which can name the bad character.

-- Bumps `version` and `updated_at` on every update, so optimistic concurrency (`where version = $n`) and
-- "last changed" never depend on each caller remembering to do it.
create function touch_version() returns trigger language plpgsql as $$
begin
    new.version := old.version + 1;
    new.updated_at := now();
    return new;
end $$;

create table parties (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('person', 'household', 'organisation')),
    name text not null check (length(name) between 1 and 200),
    -- 身份证号 of the person or the head of household: 17 digits and a check character.
    id_number text unique check (id_number ~ '^[0-9]{17}[0-9X]$'),
    -- 统一社会信用代码 (GB 32100): 18 characters from the code set without I, O, S, V, Z.
    credit_code text unique check (credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'),
    phone text check (phone ~ '^\+?[0-9][0-9 -]{4,19}$'),
    address text check (length(address) <= 300),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint parties_identity check (
        case kind when 'organisation' then credit_code is not null and id_number is null
                  else id_number is not null and credit_code is null end)
);
create trigger parties_touch before update on parties for each row execute function touch_version();
-- A party that owns a house stays a person or household: parties_owner_kind, 0102_registry.sql.

create table users (
    id bigint generated always as identity primary key,
    username text not null unique check (username ~ '^[a-z0-9][a-z0-9_.-]{2,39}$'),
    display_name text not null default '' check (length(display_name) <= 100),
    role text not null check (role in ('investor', 'officer', 'official', 'admin')),
    -- argon2id PHC string; never leaves the database except to be verified.
    password_hash text not null check (password_hash like '$argon2%'),
    -- The party an investor account acts for (the lessee of its deals).
    party_id bigint references parties,
    disabled_at timestamptz,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger users_touch before update on users for each row execute function touch_version();
