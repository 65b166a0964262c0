-- Why a polygon is not valid, in words a client can act on, or null when it is valid.
--
-- The service asks this of every polygon sent to it (the JSON API before it writes, an import for each
-- staged feature) instead of checking validity itself: GEOS answers in O(n log n), in the database's own
-- process, by the rules the columns' `st_isvalid` checks apply, so the answer and the constraint always
-- agree. The location is where GEOS found the fault (lon/lat, to about 1 cm).
create function polygon_fault(g geometry) returns text language sql immutable parallel safe as $$
    select case
        when g is null or st_isempty(g) then 'is empty'
        when d.valid then null
        else 'is not a valid polygon: ' || coalesce(d.reason, 'invalid')
             || coalesce(' at (' || round(st_x(d.location)::numeric, 7) || ', '
                                 || round(st_y(d.location)::numeric, 7) || ')', '')
    end
    from st_isvaliddetail(g) d
$$;
