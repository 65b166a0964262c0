-- A house's owner is a person or a household, never an organisation.
--
-- The owner of a homestead house (宅基地上的房屋) is the rural household that holds the use right; an
-- organisation recorded as the owner would be shown, and counted, as a household. The rule holds from
-- both sides: a house may not be given an organisation as its owner, and a party that owns a house may not
-- become an organisation. Both raise a named rule that the service maps to the field at fault.

create function farmhouses_check_owner_kind() returns trigger language plpgsql as $$
declare
    owner_kind text;
begin
    -- `for share` waits for, and then sees, a concurrent change of the party's kind, so the check and
    -- parties_check_owner_kind below cannot both pass on a stale view of each other's row.
    select kind into owner_kind from parties where id = new.owner_party_id for share;
    if owner_kind = 'organisation' then
        raise exception 'party % is an organisation; a house''s owner is a person or household', new.owner_party_id
            using errcode = 'check_violation', constraint = 'farmhouses_owner_kind';
    end if;
    return new;
end $$;

create trigger farmhouses_owner_kind before insert or update of owner_party_id on farmhouses
    for each row when (new.owner_party_id is not null) execute function farmhouses_check_owner_kind();

create function parties_check_owner_kind() returns trigger language plpgsql as $$
begin
    if exists (select 1 from farmhouses where owner_party_id = new.id) then
        raise exception 'party % owns a house, so it is a person or household, not an organisation', new.id
            using errcode = 'check_violation', constraint = 'parties_owner_kind';
    end if;
    return new;
end $$;

create trigger parties_owner_kind before update of kind on parties
    for each row when (new.kind = 'organisation' and old.kind <> 'organisation')
    execute function parties_check_owner_kind();

-- The check above looks houses up by owner; without an index it would read every house.
create index farmhouses_owner on farmhouses (owner_party_id) where owner_party_id is not null;
