-- The history of every change: who, when, what before, what after. Append-only and hash-chained: each
-- entry's hash covers its content and the previous entry's hash, so altering or removing any entry breaks
-- the chain from there on (`farmhouse audit verify` finds the first break).
--
-- Entries are written by triggers on the registry tables, so no path into the database can change a
-- record without leaving its entry. The acting user comes from the transaction setting `farmhouse.actor`
-- (the service sets it); without it, the name of the database role at work is recorded.

create table history (
    seq bigint primary key,
    at timestamptz not null default now(),
    actor text not null,
    table_name text not null,
    record_id bigint not null,
    action text not null check (action in ('insert', 'update', 'delete')),
    before jsonb,
    after jsonb,
    prev_hash bytea not null,
    hash bytea not null
);
create index history_record on history (table_name, record_id, seq);

-- The hash of one entry. `audit verify` recomputes it with this very function.
create function history_hash(prev bytea, seq bigint, at timestamptz, actor text, table_name text,
                             record_id bigint, action text, before jsonb, after jsonb)
returns bytea language sql immutable parallel safe as $$
    select sha256(prev || convert_to(concat_ws(E'\x1f', seq::text,
        to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, table_name, record_id::text,
        action, coalesce(before::text, 'null'), coalesce(after::text, 'null')), 'UTF8'))
$$;

-- Links a new entry to the chain. Writers of history are serialised by a transaction-scoped advisory
-- lock, so the entry read as "last" is the last committed one and numbers have no gaps.
create function history_chain() returns trigger language plpgsql as $$
declare
    last record;
begin
    perform pg_advisory_xact_lock(7366126837);
    select h.seq, h.hash into last from history h order by h.seq desc limit 1;
    new.seq := coalesce(last.seq, 0) + 1;
    new.prev_hash := coalesce(last.hash, '\x'::bytea);
    new.at := now();
    new.hash := history_hash(new.prev_hash, new.seq, new.at, new.actor, new.table_name, new.record_id,
                             new.action, new.before, new.after);
    return new;
end $$;
create trigger history_chain before insert on history for each row execute function history_chain();

create function history_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'history is append-only'
        using errcode = 'insufficient_privilege', constraint = 'history_append_only';
end $$;
create trigger history_append_only before update or delete on history
    for each row execute function history_append_only();
create trigger history_no_truncate before truncate on history
    for each statement execute function history_append_only();

create function history_actor() returns text language sql stable as $$
    select coalesce(nullif(current_setting('farmhouse.actor', true), ''), current_user::text)
$$;

-- A row as the history keeps it: derived map columns and large or secret values left out.
create function history_row(r jsonb) returns jsonb language sql immutable parallel safe as $$
    select r - array['boundary_3857', 'footprint_3857', 'point_3857', 'location_3857', 'outline_tolerant',
                     'content', 'password_hash']
$$;

create function history_insert() returns trigger language plpgsql as $$
begin
    insert into history (seq, actor, table_name, record_id, action, before, after, prev_hash, hash)
    select 0, history_actor(), tg_table_name, (to_jsonb(n) ->> 'id')::bigint, 'insert', null,
           history_row(to_jsonb(n)), '', ''
    from new_rows n order by (to_jsonb(n) ->> 'id')::bigint;
    return null;
end $$;

create function history_update() returns trigger language plpgsql as $$
begin
    insert into history (seq, actor, table_name, record_id, action, before, after, prev_hash, hash)
    select 0, history_actor(), tg_table_name, o.id, 'update', o.r, n.r, '', ''
    from (select (to_jsonb(x) ->> 'id')::bigint as id, history_row(to_jsonb(x)) as r from old_rows x) o
    join (select (to_jsonb(x) ->> 'id')::bigint as id, history_row(to_jsonb(x)) as r from new_rows x) n
      using (id)
    where o.r is distinct from n.r
    order by o.id;
    return null;
end $$;

create function history_delete() returns trigger language plpgsql as $$
begin
    insert into history (seq, actor, table_name, record_id, action, before, after, prev_hash, hash)
    select 0, history_actor(), tg_table_name, (to_jsonb(o) ->> 'id')::bigint, 'delete',
           history_row(to_jsonb(o)), null, '', ''
    from old_rows o order by (to_jsonb(o) ->> 'id')::bigint;
    return null;
end $$;

-- Attaches the three history triggers to a table with a bigint `id`.
create procedure keep_history(t regclass) language plpgsql as $$
declare
    name text := (select relname from pg_class where oid = t);
begin
    execute format('create trigger %I after insert on %s referencing new table as new_rows
                    for each statement execute function history_insert()', name || '_history_insert', t);
    execute format('create trigger %I after update on %s referencing old table as old_rows new table as new_rows
                    for each statement execute function history_update()', name || '_history_update', t);
    execute format('create trigger %I after delete on %s referencing old table as old_rows
                    for each statement execute function history_delete()', name || '_history_delete', t);
end $$;

call keep_history('villages');
call keep_history('parties');
call keep_history('users');
call keep_history('parcels');
call keep_history('farmhouses');
call keep_history('farmhouse_photos');
call keep_history('appraisals');
call keep_history('listings');
call keep_history('transactions');
call keep_history('certifications');
