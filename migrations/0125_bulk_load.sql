-- Bulk loading (DESIGN §6.2): the per-statement work of the registry's triggers done once per statement
-- rather than once per changed row, with every rule and notification as before.

-- Tile notifications of the `townships` layer. The notification triggers of 0108_map.sql named a
-- township's boundary as a per-row expression (`(select t.boundary_3857 from townships t where
-- t.code = r.township_code)`): for each changed house, deal or certificate the township's whole
-- boundary (a large, compressed value) was read and decompressed, and its box computed four times
-- over. Seeding 10,000 houses spent 9.8 s of its 38 s there. The same boxes come from the distinct
-- townships of the changed rows: an argument `township:EXPR` names the township code of a changed row
-- `r`, and each township's boundary is read once per statement. Every other geometry expression is
-- reduced to its box once per row instead of once per coordinate. The notifications are the same
-- text as before.
create or replace function notify_map_change() returns trigger language plpgsql as $$
declare
    i integer := 0;
    n bigint;
    boxes text;
    whole box2d;
    source text;
begin
    while i + 1 < tg_nargs loop
        if tg_argv[i + 1] like 'township:%' then
            source := format('select t.boundary_3857 as g from townships t where t.code in (select (%s) from (%s) r)',
                             substr(tg_argv[i + 1], 10), map_changed_rows(tg_op));
        else
            source := format('select (%s)::geometry as g from (%s) r', tg_argv[i + 1], map_changed_rows(tg_op));
        end if;
        execute format($q$
            select count(distinct b), string_agg(distinct b, ';'), st_extent(x::geometry)
            from (
                select x, concat_ws(',', floor(st_xmin(x)), floor(st_ymin(x)), ceil(st_xmax(x)), ceil(st_ymax(x))) as b
                from (select box2d(g) as x from (%s) s where g is not null and not st_isempty(g) offset 0) e
            ) d
            $q$, source)
        into n, boxes, whole;
        if n > 40 then
            boxes := concat_ws(',', floor(st_xmin(whole)), floor(st_ymin(whole)), ceil(st_xmax(whole)), ceil(st_ymax(whole)));
        end if;
        if n > 0 then
            perform pg_notify('map_tiles', tg_argv[i] || ' ' || boxes);
        end if;
        i := i + 2;
    end loop;
    return null;
end $$;

-- The same layers and rows as 0108_map.sql, with the townships named by code.
do $$
declare
    t record;
    op text;
begin
    for t in select * from (values
        ('farmhouses', $a$'farmhouses', 'r.footprint_3857', 'townships', 'township:r.township_code'$a$),
        ('transactions', $a$'farmhouses', '(select f.footprint_3857 from farmhouses f where f.id = r.farmhouse_id)',
            'townships', 'township:(select f.township_code from farmhouses f where f.id = r.farmhouse_id)'$a$),
        ('certifications', $a$'townships', 'township:(select f.township_code from transactions x
            join farmhouses f on f.id = x.farmhouse_id where x.id = r.transaction_id)'$a$)) v(name, args)
    loop
        foreach op in array array['insert', 'update', 'delete'] loop
            execute format('drop trigger %I on %I', t.name || '_map_notify_' || op, t.name);
        end loop;
        call map_statement_triggers(t.name::regclass, t.name || '_map_notify', 'notify_map_change', t.args);
    end loop;
end $$;

-- A footprint within its parcel (with the survey tolerance). Widening the parcel (`st_buffer`) was most of
-- the cost of writing a house (importing 10,000 houses: 1.0 s of buffers and 0.8 s of coverage tests in
-- this trigger alone), yet almost every footprint lies inside the parcel itself: a parcel covers the
-- footprint, or else the widened parcel is asked as before. The rule is the same — the widened parcel
-- contains the parcel — and only a footprint reaching over the parcel's edge pays for the buffer.
create or replace function farmhouses_check_geometry() returns trigger language plpgsql as $$
declare
    p record;
begin
    select boundary, township_code into p from parcels where parcel_code = left(new.unit_number, 19)::char(19)
        for share;
    if not found then
        raise exception 'no parcel % for unit number %', left(new.unit_number, 19), new.unit_number
            using errcode = 'foreign_key_violation', constraint = 'farmhouses_parcel_code_fkey';
    end if;
    new.township_code := p.township_code;
    if is_checkable(new.footprint) and not st_covers(p.boundary, new.footprint)
       and not st_coveredby(new.footprint, st_buffer(p.boundary, footprint_tolerance())) then
        raise exception 'footprint of % is not within parcel %', new.unit_number, left(new.unit_number, 19)
            using errcode = 'check_violation', constraint = 'farmhouses_footprint_within_parcel';
    end if;
    return new;
end $$;

-- Payments credit their instalments once per statement. The row trigger of 0114_money_credit.sql updated
-- the instalment for each payment, one UPDATE statement per payment, and each ran the statement triggers
-- of `instalments` (its history) again: seeding 10,000 houses spent 2.0 s of its 2.6 s of payments there.
-- The row trigger still refuses changes, locks the instalment (`for update`: two writers of one
-- instalment take turns), checks the payment against what was paid before the statement and writes the
-- split; the statement trigger below checks each payment against the payments before it in the same
-- statement too, then adds them to their instalments in one UPDATE.
create or replace function payments_apply() returns trigger language plpgsql as $$
declare
    i instalments;
begin
    if tg_op <> 'INSERT' then
        raise exception 'payments are kept as recorded'
            using errcode = 'restrict_violation', constraint = 'payments_kept';
    end if;
    -- The instalment's row is locked: two payments at once are counted one after the other.
    select * into i from instalments where id = new.instalment_id for update;
    if not found then
        raise exception 'instalment % does not exist', new.instalment_id
            using errcode = 'foreign_key_violation', constraint = 'payments_instalment_id_fkey';
    end if;
    if i.paid_fen + new.amount_fen > i.amount_fen and new.excess_reason is null then
        raise exception 'instalment % of deal % is % fen, % fen paid already: % fen is more than is due',
                i.seq, i.transaction_id, i.amount_fen, i.paid_fen, new.amount_fen
            using errcode = 'check_violation', constraint = 'payments_within_due';
    end if;
    new.collective_fen := (new.amount_fen * i.collective_fen) / i.amount_fen;
    new.household_fen := new.amount_fen - new.collective_fen;
    new.recorded_by_user_id := acting_user_id();
    return new;
end $$;

create function payments_credit() returns trigger language plpgsql as $$
declare
    b record;
begin
    -- In the order written: the first payment that, with those before it, is more than is due.
    select i.seq, i.transaction_id, i.amount_fen as due, i.paid_fen + p.before as paid, p.amount_fen as paying into b
    from (select n.id, n.instalment_id, n.amount_fen, n.excess_reason,
                 coalesce(sum(n.amount_fen) over (partition by n.instalment_id order by n.id
                                                  rows between unbounded preceding and 1 preceding), 0) as before
          from new_rows n) p
    join instalments i on i.id = p.instalment_id
    where p.excess_reason is null and i.paid_fen + p.before + p.amount_fen > i.amount_fen
    order by p.id
    limit 1;
    if found then
        raise exception 'instalment % of deal % is % fen, % fen paid already: % fen is more than is due',
                b.seq, b.transaction_id, b.due, b.paid, b.paying
            using errcode = 'check_violation', constraint = 'payments_within_due';
    end if;
    update instalments i set paid_fen = i.paid_fen + n.amount_fen
    from (select instalment_id, sum(amount_fen) as amount_fen from new_rows group by instalment_id) n
    where i.id = n.instalment_id;
    return null;
end $$;
create trigger payments_credit after insert on payments referencing new table as new_rows
    for each statement execute function payments_credit();
