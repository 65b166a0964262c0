-- Counts the map and OGC API – Features read instead of counting rows on every request: features per
-- collection, township and status, and the floor area they add up to. Kept by statement-level triggers, so
-- a bulk import pays once per statement, not once per row; `numberMatched` of an unfiltered or
-- status/township-filtered page and the townships' activation figures are sums over a few dozen rows here
-- however many houses there are.
--
-- Writers of houses in one township update the same counter row and so wait for each other until commit;
-- registry writes are rare and short, imports are one statement.

create table map_feature_counts (
    collection text not null,
    township_code char(9) not null,
    -- The house status for `farmhouses`; '' for parcels.
    status text not null,
    features bigint not null,
    floor_area_m2 numeric not null,
    primary key (collection, township_code, status)
);

-- The rows a statement changed, as SQL for `execute`: each with `sign` +1 (new version) or -1 (old
-- version), so aggregates over them are deltas. Only callable from a statement-level trigger that
-- references its transition tables as `old_rows` / `new_rows`.
create function map_changed_rows(op text) returns text language sql immutable parallel safe as $$
    select case op
        when 'INSERT' then 'select 1 as sign, * from new_rows'
        when 'DELETE' then 'select -1 as sign, * from old_rows'
        else 'select -1 as sign, * from old_rows union all select 1 as sign, * from new_rows'
    end
$$;

-- Adds the statement's deltas of collection `tg_argv[0]`, grouped by township and by the status
-- expression `tg_argv[1]` (over a changed row `r`), with floor area `tg_argv[2]`.
create function map_count_changes() returns trigger language plpgsql as $$
begin
    execute format($q$
        insert into map_feature_counts as c (collection, township_code, status, features, floor_area_m2)
        select %L, r.township_code, %s, sum(r.sign), sum(r.sign * %s)
        from (%s) r
        group by 2, 3
        order by 2, 3
        on conflict (collection, township_code, status) do update
            set features = c.features + excluded.features, floor_area_m2 = c.floor_area_m2 + excluded.floor_area_m2
        $q$, tg_argv[0], tg_argv[1], tg_argv[2], map_changed_rows(tg_op));
    return null;
end $$;

-- Attaches the three statement-level triggers that run `fn(args)` after inserts, updates and deletes of
-- `t` (transition tables may serve one event each).
create procedure map_statement_triggers(t regclass, prefix text, fn text, args text) language plpgsql as $$
begin
    execute format('create trigger %I after insert on %s referencing new table as new_rows
                    for each statement execute function %s(%s)', prefix || '_insert', t, fn, args);
    execute format('create trigger %I after update on %s referencing old table as old_rows new table as new_rows
                    for each statement execute function %s(%s)', prefix || '_update', t, fn, args);
    execute format('create trigger %I after delete on %s referencing old table as old_rows
                    for each statement execute function %s(%s)', prefix || '_delete', t, fn, args);
end $$;

call map_statement_triggers('farmhouses', 'farmhouses_counts', 'map_count_changes',
                            $$'farmhouses', 'r.status', 'r.floor_area_m2'$$);
call map_statement_triggers('parcels', 'parcels_counts', 'map_count_changes', $$'parcels', '''''', '0'$$);

insert into map_feature_counts (collection, township_code, status, features, floor_area_m2)
select 'farmhouses', township_code, status, count(*), sum(floor_area_m2) from farmhouses group by 2, 3;
insert into map_feature_counts (collection, township_code, status, features, floor_area_m2)
select 'parcels', township_code, '', count(*), 0 from parcels group by 2;

-- The activation figures of every township: houses in total, certified (activated) houses and their floor
-- area, and the total amount of transactions with a certificate in force (fen). The one place the map and
-- the features read them from; when trigger-maintained district statistics exist, only this body changes.
create function township_activation()
returns table (township_code char(9), houses_total bigint, certified_houses bigint,
               certified_floor_area_m2 numeric, transaction_amount_fen bigint)
language sql stable parallel safe as $$
    with houses as (
        select c.township_code,
               sum(c.features) as total,
               sum(c.features) filter (where c.status = 'certified') as certified,
               sum(c.floor_area_m2) filter (where c.status = 'certified') as certified_area
        from map_feature_counts c
        where c.collection = 'farmhouses'
        group by c.township_code
    ), amounts as (
        select f.township_code, sum(x.total_amount_fen) as amount
        from certifications z
        join transactions x on x.id = z.transaction_id
        join farmhouses f on f.id = x.farmhouse_id
        where z.revoked_at is null
        group by f.township_code
    )
    select t.code, coalesce(h.total, 0)::bigint, coalesce(h.certified, 0)::bigint,
           coalesce(h.certified_area, 0), coalesce(a.amount, 0)::bigint
    from townships t
    left join houses h on h.township_code = t.code
    left join amounts a on a.township_code = t.code
$$;

-- Keyset pages of one township's houses (`?township_code=…`, by id) read in index order.
create index farmhouses_township_id on farmhouses (township_code, id);
