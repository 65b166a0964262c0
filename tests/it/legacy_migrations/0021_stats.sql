-- The activation figures of `GET /api/v1/stats/summary`, kept current by triggers so the summary reads a
-- few hundred rows however many houses the registry holds.
--
-- Definitions (the same in the triggers and in `stats_monthly_from_records`, which recomputes them from
-- the records and which a test compares with the aggregates):
-- * a transaction counts in the month (Asia/Shanghai) it was signed, in its house's township;
-- * a certificate in force (not revoked) counts in the month it was issued, with its house's floor area
--   and its transaction's total amount. A house certified for two successive leases counts twice.

-- House counts per township and lifecycle status.
create table stats_township_status (
    township_code char(9) primary key,
    registered bigint not null default 0,
    listed bigint not null default 0,
    contracted bigint not null default 0,
    certified bigint not null default 0
);

-- Transactions and certificates per township and calendar month.
create table stats_monthly (
    township_code char(9) not null,
    month date not null,
    transactions bigint not null default 0,
    transaction_amount_fen bigint not null default 0,
    certified bigint not null default 0,
    certified_floor_area_m2 numeric(16, 2) not null default 0,
    certified_amount_fen bigint not null default 0,
    primary key (township_code, month)
);

-- One change to `stats_monthly`, to be added.
create type stats_delta as (
    township_code char(9),
    month date,
    transactions bigint,
    transaction_amount_fen bigint,
    certified bigint,
    certified_floor_area_m2 numeric,
    certified_amount_fen bigint
);

-- Adds `deltas` to `stats_monthly`, summed per township and month first so a bulk insert upserts each
-- row once.
create function stats_add(deltas stats_delta[]) returns void language sql as $$
    insert into stats_monthly as s (township_code, month, transactions, transaction_amount_fen, certified,
                                    certified_floor_area_m2, certified_amount_fen)
    select d.township_code, d.month, sum(d.transactions), sum(d.transaction_amount_fen), sum(d.certified),
           sum(d.certified_floor_area_m2), sum(d.certified_amount_fen)
    from unnest(deltas) d
    where d.township_code is not null
    group by d.township_code, d.month
    on conflict (township_code, month) do update set
        transactions = s.transactions + excluded.transactions,
        transaction_amount_fen = s.transaction_amount_fen + excluded.transaction_amount_fen,
        certified = s.certified + excluded.certified,
        certified_floor_area_m2 = s.certified_floor_area_m2 + excluded.certified_floor_area_m2,
        certified_amount_fen = s.certified_amount_fen + excluded.certified_amount_fen
$$;

create function stats_month(d date) returns date language sql immutable parallel safe as
    'select date_trunc(''month'', d)::date';

create function stats_month(t timestamptz) returns date language sql stable parallel safe as
    'select date_trunc(''month'', t at time zone ''Asia/Shanghai'')::date';

-- What deals and certificates add to `stats_monthly` (`sign` -1 takes them away): a deal (a transaction with
-- its house's township and floor area) counts in its signing month, and its certificate in force, if any,
-- in the certificate's issuing month.
create type stats_deal as (township_code char(9), floor_area_m2 numeric, transaction_id bigint, signed_on date,
                           total_amount_fen bigint, sign int);
create type stats_certificate as (transaction_id bigint, issued_at timestamptz, sign int);

create function stats_of_deals(deals stats_deal[]) returns stats_delta[] language sql stable as $$
    select array(
        select row(d.township_code, stats_month(d.signed_on), d.sign, d.sign * d.total_amount_fen, 0, 0, 0)::stats_delta
        from unnest(deals) d
        union all
        select row(d.township_code, stats_month(c.issued_at), 0, 0, d.sign, d.sign * d.floor_area_m2,
                   d.sign * d.total_amount_fen)::stats_delta
        from unnest(deals) d join certifications c on c.transaction_id = d.transaction_id and c.revoked_at is null)
$$;

create function stats_of_certificates(cs stats_certificate[]) returns stats_delta[] language sql stable as $$
    select array(
        select row(f.township_code, stats_month(c.issued_at), 0, 0, c.sign, c.sign * f.floor_area_m2,
                   c.sign * t.total_amount_fen)::stats_delta
        from unnest(cs) c join transactions t on t.id = c.transaction_id join farmhouses f on f.id = t.farmhouse_id)
$$;

-- Adds houses (`sign` -1 takes them away) to the status counts of their townships.
create type stats_house_status as (township_code char(9), status text, sign int);

create function stats_count_houses(houses stats_house_status[]) returns void language sql as $$
    insert into stats_township_status as s (township_code, registered, listed, contracted, certified)
    select township_code, coalesce(sum(sign) filter (where status = 'registered'), 0),
           coalesce(sum(sign) filter (where status = 'listed'), 0),
           coalesce(sum(sign) filter (where status = 'contracted'), 0),
           coalesce(sum(sign) filter (where status = 'certified'), 0)
    from unnest(houses) h
    group by township_code
    on conflict (township_code) do update set
        registered = s.registered + excluded.registered, listed = s.listed + excluded.listed,
        contracted = s.contracted + excluded.contracted, certified = s.certified + excluded.certified
$$;

-- Houses: status counts per township; a house that changes township or floor area takes its
-- transactions and certificates along.
create function stats_farmhouses() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        perform stats_count_houses(array(select row(township_code, status, -1)::stats_house_status from old_rows));
    end if;
    if tg_op in ('UPDATE', 'INSERT') then
        perform stats_count_houses(array(select row(township_code, status, 1)::stats_house_status from new_rows));
    end if;
    if tg_op = 'UPDATE' then
        perform stats_add(stats_of_deals(array(
            select row(h.township_code, h.floor_area_m2, t.id, t.signed_on, t.total_amount_fen, h.sign)::stats_deal
            from (select o.id, o.township_code, o.floor_area_m2, -1 as sign from old_rows o join new_rows n using (id)
                  where (o.township_code, o.floor_area_m2) is distinct from (n.township_code, n.floor_area_m2)
                  union all
                  select n.id, n.township_code, n.floor_area_m2, 1 from old_rows o join new_rows n using (id)
                  where (o.township_code, o.floor_area_m2) is distinct from (n.township_code, n.floor_area_m2)) h
            join transactions t on t.farmhouse_id = h.id)));
    end if;
    return null;
end $$;

create function stats_transactions() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform stats_add(stats_of_deals(array(
            select row(f.township_code, f.floor_area_m2, t.id, t.signed_on, t.total_amount_fen, 1)::stats_deal
            from new_rows t join farmhouses f on f.id = t.farmhouse_id)));
    elsif tg_op = 'DELETE' then
        perform stats_add(stats_of_deals(array(
            select row(f.township_code, f.floor_area_m2, t.id, t.signed_on, t.total_amount_fen, -1)::stats_deal
            from old_rows t join farmhouses f on f.id = t.farmhouse_id)));
    else
        perform stats_add(stats_of_deals(array(
            select row(f.township_code, f.floor_area_m2, t.id, t.signed_on, t.total_amount_fen, t.sign)::stats_deal
            from (select o.*, -1 as sign from old_rows o join new_rows n using (id)
                  where (o.farmhouse_id, o.signed_on, o.total_amount_fen) is distinct from (n.farmhouse_id, n.signed_on, n.total_amount_fen)
                  union all
                  select n.*, 1 from old_rows o join new_rows n using (id)
                  where (o.farmhouse_id, o.signed_on, o.total_amount_fen) is distinct from (n.farmhouse_id, n.signed_on, n.total_amount_fen)) t
            join farmhouses f on f.id = t.farmhouse_id)));
    end if;
    return null;
end $$;

-- Certificates are never deleted (certifications_kept); a revocation takes one out of the figures.
create function stats_certifications() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform stats_add(stats_of_certificates(array(
            select row(transaction_id, issued_at, 1)::stats_certificate from new_rows where revoked_at is null)));
    else
        perform stats_add(stats_of_certificates(array(
            select row(o.transaction_id, o.issued_at, -1)::stats_certificate
            from old_rows o join new_rows n using (id) where o.revoked_at is null and n.revoked_at is not null)));
    end if;
    return null;
end $$;

create trigger stats_farmhouses_insert after insert on farmhouses referencing new table as new_rows
    for each statement execute function stats_farmhouses();
create trigger stats_farmhouses_update after update on farmhouses referencing old table as old_rows new table as new_rows
    for each statement execute function stats_farmhouses();
create trigger stats_farmhouses_delete after delete on farmhouses referencing old table as old_rows
    for each statement execute function stats_farmhouses();
create trigger stats_transactions_insert after insert on transactions referencing new table as new_rows
    for each statement execute function stats_transactions();
create trigger stats_transactions_update after update on transactions referencing old table as old_rows new table as new_rows
    for each statement execute function stats_transactions();
create trigger stats_transactions_delete after delete on transactions referencing old table as old_rows
    for each statement execute function stats_transactions();
create trigger stats_certifications_insert after insert on certifications referencing new table as new_rows
    for each statement execute function stats_certifications();
create trigger stats_certifications_update after update on certifications referencing old table as old_rows new table as new_rows
    for each statement execute function stats_certifications();

-- The same figures computed from the records: what the aggregates must equal at all times.
create view stats_monthly_from_records as
with tx as (
    select f.township_code, stats_month(t.signed_on) as month, count(*) as transactions,
           sum(t.total_amount_fen)::bigint as transaction_amount_fen
    from transactions t join farmhouses f on f.id = t.farmhouse_id
    group by 1, 2
), cert as (
    select f.township_code, stats_month(c.issued_at) as month, count(*) as certified,
           sum(f.floor_area_m2) as certified_floor_area_m2, sum(t.total_amount_fen)::bigint as certified_amount_fen
    from certifications c join transactions t on t.id = c.transaction_id join farmhouses f on f.id = t.farmhouse_id
    where c.revoked_at is null
    group by 1, 2
)
select coalesce(tx.township_code, cert.township_code) as township_code, coalesce(tx.month, cert.month) as month,
       coalesce(tx.transactions, 0) as transactions, coalesce(tx.transaction_amount_fen, 0) as transaction_amount_fen,
       coalesce(cert.certified, 0) as certified, coalesce(cert.certified_floor_area_m2, 0) as certified_floor_area_m2,
       coalesce(cert.certified_amount_fen, 0) as certified_amount_fen
from tx full join cert on cert.township_code = tx.township_code and cert.month = tx.month;

create view stats_township_status_from_records as
select township_code, count(*) filter (where status = 'registered') as registered,
       count(*) filter (where status = 'listed') as listed, count(*) filter (where status = 'contracted') as contracted,
       count(*) filter (where status = 'certified') as certified
from farmhouses group by township_code;
