-- Figures from what certificates state, and certificates in force on the day asked.
--
-- 1. The monthly figures (migrations/0107_stats.sql) counted a certificate with its house's township and
--    floor area of today, so a later change of the house moved the figures of past months. A certificate
--    states its own (`certifications.facts`, migrations/0110_certificate_facts.sql); the month it was issued
--    in now counts those, and nothing done to the house afterwards moves it.
-- 2. The summary's totals are the certificates in force on a day: issued by then, and not yet ended early,
--    run out or revoked (the same rule as `domain::lifecycle::certificate_state`). Kept as changes per day
--    (`stats_in_force`; summed per month in `stats_in_force_monthly`): each certificate adds itself on the
--    day it was issued (Beijing) and takes itself away on the day it ceases: the earliest of the end of its
--    lease's term, the day its lease was ended early, and the day it was revoked (Beijing). In force on day
--    D = the sum of the changes up to D.
--
-- Existing databases: the aggregates are recomputed below from the records; nothing else changes.

-- The day a certificate ceases to be in force (it is in force before that day, not on it), from its
-- lease's record (`transactions`: the end of its term, the day it was ended early) and its revocation.
create function certificate_ceases(lease_end date, terminated_on date, revoked_at timestamptz)
returns date language sql stable parallel safe as $$
    select least(lease_end, terminated_on, (revoked_at at time zone 'Asia/Shanghai')::date)
$$;

-- What a certificate stating `facts` issued at `issued_at` adds to `stats_monthly` (`sign` -1 takes it
-- away).
create function stats_of_facts(facts jsonb, issued_at timestamptz, sign int) returns stats_delta
language sql stable parallel safe as $$
    select row(facts ->> 'township_code', stats_month(issued_at), 0, 0, sign,
               sign * (facts ->> 'floor_area_m2')::numeric, sign * (facts ->> 'total_amount_fen')::bigint)::stats_delta
$$;

-- Deals alone now: a certificate no longer follows its house (it counts what it states).
create or replace function stats_of_deals(deals stats_deal[]) returns stats_delta[] language sql stable as $$
    select array(
        select row(d.township_code, stats_month(d.signed_on), d.sign, d.sign * d.total_amount_fen, 0, 0, 0)::stats_delta
        from unnest(deals) d)
$$;

-- Changes per day and township of the certificates in force, and the same summed per month: the totals on
-- day D are the months before D's month plus the days of D's month up to D, a few thousand rows however
-- many certificates there are.
create table stats_in_force (
    day date not null,
    township_code char(9) not null,
    certified bigint not null default 0,
    floor_area_m2 numeric(16, 2) not null default 0,
    amount_fen bigint not null default 0,
    primary key (day, township_code)
);

create table stats_in_force_monthly (
    month date not null,
    township_code char(9) not null,
    certified bigint not null default 0,
    floor_area_m2 numeric(16, 2) not null default 0,
    amount_fen bigint not null default 0,
    primary key (month, township_code)
);

create type stats_in_force_delta as (
    township_code char(9),
    day date,
    certified bigint,
    floor_area_m2 numeric,
    amount_fen bigint
);

-- A certificate stating `facts`, issued at `issued_at` and ceasing on `ceases`: in from its issue day, out
-- on the day it ceases (`sign` -1 undoes both); nothing if it ceased the day it was issued or before (a
-- lease ended early with a date before the certificate), as it was never in force.
create function stats_in_force_of(facts jsonb, issued_at timestamptz, ceases date, sign int)
returns stats_in_force_delta[] language sql stable parallel safe as $$
    select case when ceases <= (issued_at at time zone 'Asia/Shanghai')::date then '{}'::stats_in_force_delta[]
    else array[
        row(facts ->> 'township_code', (issued_at at time zone 'Asia/Shanghai')::date, sign,
            sign * (facts ->> 'floor_area_m2')::numeric, sign * (facts ->> 'total_amount_fen')::bigint)::stats_in_force_delta,
        row(facts ->> 'township_code', ceases, -sign,
            -sign * (facts ->> 'floor_area_m2')::numeric, -sign * (facts ->> 'total_amount_fen')::bigint)::stats_in_force_delta]
    end
$$;

-- Adds `deltas` to `stats_in_force` and `stats_in_force_monthly`, summed per day (month) and township first.
create function stats_in_force_add(deltas stats_in_force_delta[]) returns void language sql as $$
    insert into stats_in_force as s (day, township_code, certified, floor_area_m2, amount_fen)
    select d.day, d.township_code, sum(d.certified), sum(d.floor_area_m2), sum(d.amount_fen)
    from unnest(deltas) d
    where d.township_code is not null
    group by d.day, d.township_code
    on conflict (day, township_code) do update set
        certified = s.certified + excluded.certified,
        floor_area_m2 = s.floor_area_m2 + excluded.floor_area_m2,
        amount_fen = s.amount_fen + excluded.amount_fen;
    insert into stats_in_force_monthly as s (month, township_code, certified, floor_area_m2, amount_fen)
    select stats_month(d.day), d.township_code, sum(d.certified), sum(d.floor_area_m2), sum(d.amount_fen)
    from unnest(deltas) d
    where d.township_code is not null
    group by stats_month(d.day), d.township_code
    on conflict (month, township_code) do update set
        certified = s.certified + excluded.certified,
        floor_area_m2 = s.floor_area_m2 + excluded.floor_area_m2,
        amount_fen = s.amount_fen + excluded.amount_fen;
$$;

-- Certificates: issued (in their month, and in force from their day); revoked (out of their month, and
-- ceasing on the day of revocation if that is earlier).
create or replace function stats_certifications() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform stats_add(array(select stats_of_facts(facts, issued_at, 1) from new_rows where revoked_at is null));
        perform stats_in_force_add(array(
            select unnest(stats_in_force_of(n.facts, n.issued_at,
                                            certificate_ceases(t.lease_end, t.terminated_on, n.revoked_at), 1))
            from new_rows n join transactions t on t.id = n.transaction_id));
    else
        perform stats_add(array(
            select stats_of_facts(o.facts, o.issued_at, -1)
            from old_rows o join new_rows n using (id) where o.revoked_at is null and n.revoked_at is not null));
        perform stats_in_force_add(array(
            select unnest(stats_in_force_of(o.facts, o.issued_at,
                                            certificate_ceases(t.lease_end, t.terminated_on, o.revoked_at), -1)
                          || stats_in_force_of(n.facts, n.issued_at,
                                               certificate_ceases(t.lease_end, t.terminated_on, n.revoked_at), 1))
            from old_rows o join new_rows n using (id) join transactions t on t.id = n.transaction_id
            where o.revoked_at is distinct from n.revoked_at));
    end if;
    return null;
end $$;

-- Transactions: a lease ended early (or its term changed) moves the day its certificates cease. A trigger
-- of its own beside `stats_transactions` (migrations/0107_stats.sql), which keeps counting the deals.
create function stats_in_force_transactions() returns trigger language plpgsql as $$
begin
    perform stats_in_force_add(array(
        select unnest(stats_in_force_of(c.facts, c.issued_at,
                                        certificate_ceases(o.lease_end, o.terminated_on, c.revoked_at), -1)
                      || stats_in_force_of(c.facts, c.issued_at,
                                           certificate_ceases(n.lease_end, n.terminated_on, c.revoked_at), 1))
        from old_rows o join new_rows n using (id) join certifications c on c.transaction_id = n.id
        where (o.lease_end, o.terminated_on) is distinct from (n.lease_end, n.terminated_on)));
    return null;
end $$;
create trigger stats_in_force_transactions after update on transactions
    referencing old table as old_rows new table as new_rows
    for each statement execute function stats_in_force_transactions();

-- The same figures from the records, as the tests compare them with the aggregates.
create or replace view stats_monthly_from_records as
with tx as (
    select f.township_code, stats_month(t.signed_on) as month, count(*) as transactions,
           sum(t.total_amount_fen)::bigint as transaction_amount_fen
    from transactions t join farmhouses f on f.id = t.farmhouse_id
    group by 1, 2
), cert as (
    select (c.facts ->> 'township_code')::char(9) as township_code, stats_month(c.issued_at) as month,
           count(*) as certified, sum((c.facts ->> 'floor_area_m2')::numeric) as certified_floor_area_m2,
           sum((c.facts ->> 'total_amount_fen')::bigint)::bigint as certified_amount_fen
    from certifications c
    where c.revoked_at is null
    group by 1, 2
)
select coalesce(tx.township_code, cert.township_code) as township_code, coalesce(tx.month, cert.month) as month,
       coalesce(tx.transactions, 0) as transactions, coalesce(tx.transaction_amount_fen, 0) as transaction_amount_fen,
       coalesce(cert.certified, 0) as certified, coalesce(cert.certified_floor_area_m2, 0) as certified_floor_area_m2,
       coalesce(cert.certified_amount_fen, 0) as certified_amount_fen
from tx full join cert on cert.township_code = tx.township_code and cert.month = tx.month;

-- Certificates in force on `d` per township, from the records.
create function stats_in_force_from_records(d date)
returns table (township_code char(9), certified bigint, floor_area_m2 numeric, amount_fen bigint)
language sql stable as $$
    select (c.facts ->> 'township_code')::char(9), count(*), sum((c.facts ->> 'floor_area_m2')::numeric),
           sum((c.facts ->> 'total_amount_fen')::bigint)::bigint
    from certifications c join transactions t on t.id = c.transaction_id
    where (c.issued_at at time zone 'Asia/Shanghai')::date <= d
      and certificate_ceases(t.lease_end, t.terminated_on, c.revoked_at) > d
    group by 1
$$;

-- The same from the aggregates, as the summary reads it: whole months before `d`'s month, then its days.
create function stats_in_force_on(d date)
returns table (township_code char(9), certified bigint, floor_area_m2 numeric, amount_fen bigint)
language sql stable as $$
    select township_code, sum(certified)::bigint, sum(floor_area_m2), sum(amount_fen)::bigint
    from (select township_code, certified, floor_area_m2, amount_fen from stats_in_force_monthly
          where month < stats_month(d)
          union all
          select township_code, certified, floor_area_m2, amount_fen from stats_in_force
          where day >= stats_month(d) and day <= d) changes
    group by township_code
$$;

-- Recomputed for what the database holds.
truncate stats_monthly;
insert into stats_monthly (township_code, month, transactions, transaction_amount_fen, certified,
                           certified_floor_area_m2, certified_amount_fen)
select township_code, month, transactions, transaction_amount_fen, certified, certified_floor_area_m2,
       certified_amount_fen
from stats_monthly_from_records;

select stats_in_force_add(array(
    select unnest(stats_in_force_of(c.facts, c.issued_at, certificate_ceases(t.lease_end, t.terminated_on, c.revoked_at), 1))
    from certifications c join transactions t on t.id = c.transaction_id));
