-- One history chain per county (docs/DESIGN.md §2.7), so that writers of different counties never wait on
-- each other. Until now every entry was linked into one chain of the whole database behind one advisory
-- lock held to commit: every write of the province queued on it.
--
-- * `chain` names the chain of an entry: the county code of the record written (a house's, a parcel's, a
--   village's township's, a deal's house's …). Entries of records that belong to no county (users,
--   persons, organisations …) go to the county the transaction declares (`farmhouse.county`), else to the
--   first chain the transaction already writes, else to the province's chain '000000'.
-- * `seq` numbers the entries of each chain without gaps; the key is (chain, seq). Writers of a chain are
--   serialised by the advisory lock (7366, county as integer), taken once per transaction and chain.
-- * The entries written before this migration stay as they are, the legacy chain '' (same seq, same
--   hashes). Its last entry is recorded in `history_anchor`, and every county chain starts from that
--   entry's hash, so removing legacy entries breaks every chain that follows.
-- * Each entry's hash is computed as before (history_hash: content and the hash before it). The chain
--   key is not part of it: tests/it/schema_rules.rs recomputes every entry with history_hash, the first
--   from an empty hash; an entry moved to another chain breaks the links of both chains.
-- * `id` orders entries across chains, in the order they were written (a record's history may span
--   chains: a person changed in two counties' transactions); legacy entries keep 0 and their seq order.

alter table history add column chain text not null default '';
alter table history add column id bigint not null default 0;
alter table history drop constraint history_pkey;
alter table history add constraint history_pkey primary key (chain, seq);
create sequence history_id_seq owned by history.id;

-- Where the county chains start: the legacy chain's last entry (seq 0 and no hash in a registry that
-- began with county chains). Written once, here; never changed.
create table history_anchor (
    one boolean primary key default true,
    legacy_seq bigint not null,
    legacy_hash bytea not null
);
insert into history_anchor (legacy_seq, legacy_hash)
select coalesce(max(seq), 0),
       coalesce((select h.hash from history h where h.chain = '' order by h.seq desc limit 1), '\x'::bytea)
from history where chain = '';
create trigger history_anchor_append_only before update or delete on history_anchor
    for each row execute function history_append_only();
create trigger history_anchor_no_truncate before truncate on history_anchor
    for each statement execute function history_append_only();
grant select on history_anchor to farmhouse_writer;
revoke insert, update, delete, truncate on history_anchor from farmhouse_writer;
grant usage, select on sequence history_id_seq to farmhouse_writer;

-- The county of a changed row `r` of table `t`, or null for a record of no county. Records reach their
-- county through their house, parcel, township, deal, listing, certificate or project; a house or deal
-- removed in the same statement (a cascade) is no longer found, and its record is taken as of no county.
-- PL/pgSQL, not SQL: a SQL function with subqueries is not inlined, and ran its executor per row (61 µs a
-- row against 1.5 µs).
create function history_county(t text, r jsonb) returns text language plpgsql stable as $$
begin
    case
        when t in ('farmhouses', 'parcels') then
            return r ->> 'county_code';
        when t in ('villages', 'projects', 'user_townships', 'parties') then
            return left(r ->> 'township_code', 6);
        when t in ('farmhouse_photos', 'appraisals', 'listings', 'transactions', 'project_houses') then
            return (select f.county_code from farmhouses f where f.id = (r ->> 'farmhouse_id')::bigint);
        when t = 'papers' then
            return (select f.county_code from farmhouses f
                    where f.id = coalesce((r ->> 'farmhouse_id')::bigint,
                                          (select d.farmhouse_id from transactions d
                                           where d.id = (r ->> 'transaction_id')::bigint)));
        when t in ('certifications', 'consents', 'instalments') then
            return (select f.county_code from transactions d join farmhouses f on f.id = d.farmhouse_id
                    where d.id = (r ->> 'transaction_id')::bigint);
        when t = 'payments' then
            return (select f.county_code from instalments i join transactions d on d.id = i.transaction_id
                    join farmhouses f on f.id = d.farmhouse_id where i.id = (r ->> 'instalment_id')::bigint);
        when t = 'interests' then
            return (select f.county_code from listings l join farmhouses f on f.id = l.farmhouse_id
                    where l.id = (r ->> 'listing_id')::bigint);
        when t = 'pledges' then
            return (select f.county_code from certifications c join transactions d on d.id = c.transaction_id
                    join farmhouses f on f.id = d.farmhouse_id where c.id = (r ->> 'certification_id')::bigint);
        when t = 'project_photos' then
            return (select left(p.township_code, 6) from projects p where p.id = (r ->> 'project_id')::bigint);
        else
            return null;
    end case;
end $$;

-- The last entry of `chain` (or its anchor): looked up once per transaction and chain, through the
-- primary key at any size of the table (see history_chain in 0104 on plans kept from an empty table).
create function history_chain_head(chain text, out seq bigint, out hash bytea)
language plpgsql set enable_seqscan = off as $$
begin
    select h.seq, h.hash into seq, hash from history h where h.chain = history_chain_head.chain
    order by h.seq desc limit 1;
    if not found then
        select 0, a.legacy_hash into seq, hash from history_anchor a;
        if not found then
            seq := 0;
            hash := '\x'::bytea;
        end if;
    end if;
end $$;

-- The chain of an entry of no county: the county the transaction declares, else the first chain it
-- writes already, else the province's. Taking the chain already held keeps a transaction on one lock (a
-- deal and its new lessee in one county's chain) and the province's lock, when taken, the first one.
create function history_countyless_chain() returns text language plpgsql stable as $$
declare
    c text := current_setting('farmhouse.county', true);
begin
    if c is null or c !~ '^[0-9]{6}$' then
        c := current_setting('farmhouse.history_first_chain', true);
        if c is null or c !~ '^[0-9]{6}$' then
            c := '000000';
        end if;
    end if;
    return c;
end $$;

-- Takes the lock of `chain` for the rest of the transaction and returns its last entry (or its anchor).
create function history_chain_lock(chain text, out seq bigint, out hash bytea) language plpgsql as $$
begin
    perform pg_advisory_xact_lock(7366, chain::integer);
    if coalesce(current_setting('farmhouse.history_first_chain', true), '') = '' then
        perform set_config('farmhouse.history_first_chain', chain, true);
    end if;
    select h.seq, h.hash into seq, hash from history_chain_head(chain) h;
end $$;

-- What the history triggers write of one changed row; history_link chains them.
create type history_change as (chain text, table_name text, record_id bigint, action text, before jsonb, after jsonb);

-- One step of a chain, as an aggregate run over a chain's entries in order: the hash of the entry whose
-- content is `payload`, linked to the hash before it (to `head` for the first entry of the run).
create function history_chain_step(state bytea, head bytea, payload text) returns bytea
language plpgsql immutable parallel safe as $$
begin
    return sha256(coalesce(state, head) || convert_to(payload, 'UTF8'));
end $$;
create aggregate history_chain_agg(bytea, text) (sfunc = history_chain_step, stype = bytea);

-- Links the changes of one statement to their chains. Per chain, in the order of the chain codes, the
-- lock is taken and the last entry read once; seq, prev_hash and hash of each entry then follow from the
-- entry before it within the statement (a running aggregate over the chain's entries in record order),
-- not from a lookup of the last entry per row as 0104 did. The entries come out linked (seq > 0), so the
-- row trigger history_chain leaves them as they are. Changes of no county (chain null) go to
-- history_countyless_chain() as it is when the statement starts. Hashes as history_hash computes them.
create function history_link(changes history_change[]) returns setof history language sql as $$
    with c as (
        select coalesce(x.chain, (select history_countyless_chain())) as chain, x.table_name, x.record_id, x.action,
               x.before, x.after, now() as at, history_actor() as actor
        from unnest(changes) x
    ),
    heads as materialized (
        select d.chain, l.seq as head_seq, l.hash as head_hash
        from (select distinct chain from c order by chain) d cross join lateral history_chain_lock(d.chain) l
    ),
    numbered as (
        select c.*, h.head_hash, h.head_seq + row_number() over (partition by c.chain order by c.record_id) as seq
        from c join heads h using (chain)
    ),
    hashed as (
        select n.*, history_chain_agg(n.head_hash, concat_ws(E'\x1f', n.seq::text,
                   to_char(n.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), n.actor, n.table_name,
                   n.record_id::text, n.action, coalesce(n.before::text, 'null'), coalesce(n.after::text, 'null')))
                   over (partition by n.chain order by n.seq) as hash
        from numbered n
    )
    select seq, at, actor, table_name, record_id, action, before, after,
           coalesce(lag(hash) over (partition by chain order by seq), head_hash), hash, chain,
           nextval('history_id_seq')
    from hashed
    order by chain, seq
$$;

-- Links an entry written by other means than the history triggers (seq 0): to the last entry of its
-- chain, looked up under the chain's lock, as 0104 did for every entry.
create or replace function history_chain() returns trigger language plpgsql as $$
declare
    last_seq bigint;
    last_hash bytea;
begin
    if new.chain is null or new.chain !~ '^[0-9]{6}$' then
        new.chain := history_countyless_chain();
    end if;
    select l.seq, l.hash into last_seq, last_hash from history_chain_lock(new.chain) l;
    new.seq := last_seq + 1;
    new.prev_hash := last_hash;
    new.at := now();
    new.id := nextval('history_id_seq');
    new.hash := history_hash(new.prev_hash, new.seq, new.at, new.actor, new.table_name, new.record_id,
                             new.action, new.before, new.after);
    return new;
end $$;
drop trigger history_chain on history;
create trigger history_chain before insert on history for each row when (new.seq = 0)
    execute function history_chain();

create or replace function history_insert() returns trigger language plpgsql as $$
begin
    insert into history select * from history_link(array(
        select row(c, tg_table_name, id, 'insert', null, history_row(j))::history_change
        from (select history_county(tg_table_name, j) as c, (j ->> 'id')::bigint as id, j
              from (select to_jsonb(n) as j from new_rows n offset 0) r offset 0) r));
    return null;
end $$;

create or replace function history_update() returns trigger language plpgsql as $$
begin
    insert into history select * from history_link(array(
        select row(history_county(tg_table_name, n.j), tg_table_name, o.id, 'update', o.r, n.r)::history_change
        from (select (j ->> 'id')::bigint as id, history_row(j) as r
              from (select to_jsonb(x) as j from old_rows x offset 0) r) o
        join (select (j ->> 'id')::bigint as id, history_row(j) as r, j
              from (select to_jsonb(x) as j from new_rows x offset 0) r) n
          using (id)
        where o.r is distinct from n.r));
    return null;
end $$;

create or replace function history_delete() returns trigger language plpgsql as $$
begin
    insert into history select * from history_link(array(
        select row(c, tg_table_name, id, 'delete', history_row(j), null)::history_change
        from (select history_county(tg_table_name, j) as c, (j ->> 'id')::bigint as id, j
              from (select to_jsonb(o) as j from old_rows o offset 0) r offset 0) r));
    return null;
end $$;
