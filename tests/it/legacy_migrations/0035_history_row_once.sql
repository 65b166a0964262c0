-- The history triggers turn each changed row into JSON once, not three times.
--
-- The functions of 0005 called to_jsonb(row) for the record id, for the sort and for the entry itself.
-- A row's geometries become GeoJSON with a `crs` member, which costs a spatial_ref_sys lookup per
-- geometry, so that JSON was most of the time of a bulk insert (importing 2,000 houses: 345 ms of its
-- 670 ms). `offset 0` keeps the planner from folding the subquery back into three calls. The entries
-- written, and so their hashes, are the same as before.

create or replace function history_insert() returns trigger language plpgsql as $$
begin
    insert into history (seq, actor, table_name, record_id, action, before, after, prev_hash, hash)
    select 0, history_actor(), tg_table_name, (j ->> 'id')::bigint, 'insert', null, history_row(j), '', ''
    from (select to_jsonb(n) as j from new_rows n offset 0) r
    order by (j ->> 'id')::bigint;
    return null;
end $$;

create or replace function history_update() returns trigger language plpgsql as $$
begin
    insert into history (seq, actor, table_name, record_id, action, before, after, prev_hash, hash)
    select 0, history_actor(), tg_table_name, o.id, 'update', o.r, n.r, '', ''
    from (select (j ->> 'id')::bigint as id, history_row(j) as r
          from (select to_jsonb(x) as j from old_rows x offset 0) r) o
    join (select (j ->> 'id')::bigint as id, history_row(j) as r
          from (select to_jsonb(x) as j from new_rows x offset 0) r) n
      using (id)
    where o.r is distinct from n.r
    order by o.id;
    return null;
end $$;

create or replace function history_delete() returns trigger language plpgsql as $$
begin
    insert into history (seq, actor, table_name, record_id, action, before, after, prev_hash, hash)
    select 0, history_actor(), tg_table_name, (j ->> 'id')::bigint, 'delete', history_row(j), null, '', ''
    from (select to_jsonb(o) as j from old_rows o offset 0) r
    order by (j ->> 'id')::bigint;
    return null;
end $$;
