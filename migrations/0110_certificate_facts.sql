-- A certificate states frozen facts.
--
-- A certificate is relied on by a bank and a court for what it says on the day it was issued. Until now
-- verification joined the house's current row, so a later correction of the floor area or the owner
-- silently changed what every issued certificate said. Now each certificate keeps, from its issue, a
-- snapshot of what it states (`facts`), written by the database itself when the row is inserted (by the
-- service or by the demo generator alike) and never changed afterwards. The parties appear by id and by a
-- masked name, as the public document shows them.
--
-- The facts of a house that an in-force certificate states (floor area, structure, unit number, owner)
-- are not corrected in place: such a change is refused (`farmhouses_certified_facts`); a correction
-- (更正) revokes the certificate with its reason and issues a new one from the corrected facts.

-- A party's name as the public document shows it: a person's or household's surname and one mark per
-- further character (王**); an organisation's name in full, as registered.
create function masked_party_name(p_kind text, p_name text) returns text language sql immutable as $$
    select case when p_kind = 'organisation' then p_name
                else left(p_name, 1) || repeat('*', greatest(char_length(p_name) - 1, 1)) end
$$;

-- What certificate `p_no` of transaction `p_transaction` states, from today's records: called when the
-- certificate is issued (and once below for certificates issued before this migration).
create function certificate_facts(p_transaction bigint, p_no text, p_officer bigint, p_issued_at timestamptz)
returns jsonb language sql stable as $$
    select jsonb_build_object(
        'certificate_no', p_no,
        'unit_number', f.unit_number::text,
        'parcel_code', f.parcel_code::text,
        'township_code', f.township_code::text,
        'township_name', tw.name,
        'village', p.village,
        'floor_area_m2', f.floor_area_m2,
        'structure', f.structure,
        'lessor', case when o.id is null then null
                       else jsonb_build_object('party_id', o.id, 'name', masked_party_name(o.kind, o.name)) end,
        'lessee', jsonb_build_object('party_id', l.id, 'name', masked_party_name(l.kind, l.name)),
        'contract_no', t.contract_no,
        'lease_start', t.lease_start,
        'lease_end', t.lease_end,
        'annual_rent_fen', t.annual_rent_fen,
        'total_amount_fen', t.total_amount_fen,
        'intended_use', t.intended_use,
        'officer', u.username,
        'issued_at', p_issued_at)
    from transactions t
    join farmhouses f on f.id = t.farmhouse_id
    join parcels p on p.parcel_code = f.parcel_code
    join townships tw on tw.code = f.township_code
    join parties l on l.id = t.lessee_party_id
    left join parties o on o.id = f.owner_party_id
    left join users u on u.id = p_officer
    where t.id = p_transaction
$$;

alter table certifications add column facts jsonb;

-- Certificates issued before this migration: their facts as the records hold them now (nothing could
-- change them without the history showing it).
alter table certifications disable trigger certifications_guard;
update certifications set facts = certificate_facts(transaction_id, certificate_no, officer_user_id, issued_at);
alter table certifications enable trigger certifications_guard;
alter table certifications alter column facts set not null;

-- The guard of migrations/0103_records.sql, with the facts: written at issue, frozen afterwards.
create or replace function certifications_guard() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        raise exception 'certificate % cannot be deleted; revoke it instead', old.certificate_no
            using errcode = 'restrict_violation', constraint = 'certifications_kept';
    end if;
    if tg_op = 'INSERT' then
        if not exists (select 1 from transactions t where t.id = new.transaction_id and t.status = 'signed') then
            raise exception 'transaction % is not a signed transaction', new.transaction_id
                using errcode = 'check_violation', constraint = 'certifications_signed_transaction';
        end if;
        new.facts := certificate_facts(new.transaction_id, new.certificate_no, new.officer_user_id, new.issued_at);
        return new;
    end if;
    if old.revoked_at is not null
       or (new.certificate_no, new.transaction_id, new.officer_user_id, new.issued_at, new.verification_code, new.facts)
          is distinct from
          (old.certificate_no, old.transaction_id, old.officer_user_id, old.issued_at, old.verification_code, old.facts)
    then
        raise exception 'certificate % can only be revoked, once', old.certificate_no
            using errcode = 'restrict_violation', constraint = 'certifications_kept';
    end if;
    return new;
end $$;

-- The facts a certificate in force states are not changed in place. "In force" here is the lease the
-- house is certified by: signed, not revoked (an ended or expired lease's certificate no longer binds the
-- house's row).
create function farmhouses_keep_certified_facts() returns trigger language plpgsql as $$
declare
    no text;
begin
    select c.certificate_no into no
    from certifications c join transactions t on t.id = c.transaction_id
    where t.farmhouse_id = new.id and t.status = 'signed' and c.revoked_at is null
    limit 1;
    if no is not null then
        raise exception 'house % is certified by %, which states its floor area, structure, unit number and owner; correct the certificate instead',
            new.id, no
            using errcode = 'check_violation', constraint = 'farmhouses_certified_facts';
    end if;
    return new;
end $$;
create trigger farmhouses_keep_certified_facts before update of floor_area_m2, structure, unit_number, owner_party_id
    on farmhouses for each row
    when ((new.floor_area_m2, new.structure, new.unit_number, new.owner_party_id)
          is distinct from (old.floor_area_m2, old.structure, old.unit_number, old.owner_party_id))
    execute function farmhouses_keep_certified_facts();
