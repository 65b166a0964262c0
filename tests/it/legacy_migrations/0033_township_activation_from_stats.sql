-- The townships' activation figures from the maintained aggregates: the amount of certified transactions
-- is summed from `stats_monthly` (kept by the triggers of 0021_stats.sql, per township and month) instead
-- of joining every certificate in force with its transaction and house. The figures are the same (a
-- test compares `stats_monthly` with the records); a township tile or page now reads a few hundred rows
-- however many houses the registry holds, where the join grew with them (about 1 s at a million houses).
create or replace function township_activation()
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
        select m.township_code, sum(m.certified_amount_fen) as amount
        from stats_monthly m
        group by m.township_code
    )
    select t.code, coalesce(h.total, 0)::bigint, coalesce(h.certified, 0)::bigint,
           coalesce(h.certified_area, 0), coalesce(a.amount, 0)::bigint
    from townships t
    left join houses h on h.township_code = t.code
    left join amounts a on a.township_code = t.code
$$;
