-- Money and credit (docs/DESIGN.md §2.6): the rent schedule of a deal, the payments against it, the
-- split of each instalment between the household (农户租金) and the village collective (集体收益), and
-- pledges (抵押登记) that a bank registers on a certified use right.
--
-- Amounts are integer fen throughout. Every rule below is the database's: a writer that is not the service
-- (a script, psql, the demo generator) meets the same refusals.
--
-- Existing data: deals recorded before this migration have no schedule; their certificates keep the facts
-- they stated. A deal without a schedule is not certified until one is recorded (its checklist says so).

-- ---------------------------------------------------------------------------------------------------
-- A bank's accounts: role `bank`, acting for the bank (an organisation party) named by `users.party_id`.

alter table users drop constraint users_role_check;
alter table users add constraint users_role_check
    check (role in ('investor', 'officer', 'official', 'admin', 'bank'));
create function users_bank_party() returns trigger language plpgsql as $$
begin
    if new.role = 'bank' and not exists (select 1 from parties p where p.id = new.party_id and p.kind = 'organisation') then
        raise exception 'a bank account acts for its bank: party_id must name an organisation'
            using errcode = 'check_violation', constraint = 'users_bank_party';
    end if;
    return new;
end $$;
create trigger users_bank_party before insert or update of role, party_id on users
    for each row execute function users_bank_party();

-- ---------------------------------------------------------------------------------------------------
-- The collective's fee (土地所有权收益): fen per m² of the parcel (the homestead land) per year, set per
-- village (0: the village takes none). A deal takes the rule of its village when its schedule is made and
-- keeps it: a later change of the rule changes no recorded deal.

alter table villages add column collective_fee_fen_per_m2_year bigint not null default 0
    check (collective_fee_fen_per_m2_year between 0 and 100000);

-- ---------------------------------------------------------------------------------------------------
-- The payment plan of a deal and the rule of the collective it was made with.

alter table transactions
    add column payment_plan text check (payment_plan in ('lump_sum', 'yearly', 'custom')),
    -- A rise of the yearly rent every so many years, compounding, in hundredths of a percent (500: +5%).
    add column escalation_basis_points integer check (escalation_basis_points between 1 and 10000),
    add column escalation_every_years smallint check (escalation_every_years between 1 and 20),
    add column rent_free_months smallint not null default 0 check (rent_free_months between 0 and 60),
    add column collective_fee_fen_per_m2_year bigint check (collective_fee_fen_per_m2_year >= 0),
    add column land_area_m2 numeric(10, 2) check (land_area_m2 > 0),
    add constraint transactions_escalation check ((escalation_basis_points is null) = (escalation_every_years is null));

-- One instalment (期) of a deal's rent: due on a day, split between the household and the collective.
-- `paid_fen` is kept by the payments trigger, never written by a caller.
create table instalments (
    id bigint generated always as identity primary key,
    transaction_id bigint not null references transactions,
    seq smallint not null check (seq between 1 and 1000),
    due_on date not null,
    amount_fen bigint not null check (amount_fen > 0),
    household_fen bigint not null check (household_fen >= 0),
    collective_fen bigint not null check (collective_fen >= 0),
    paid_fen bigint not null default 0 check (paid_fen >= 0),
    unique (transaction_id, seq),
    constraint instalments_split check (household_fen + collective_fen = amount_fen)
);
-- Unpaid instalments by due day: the overdue list reads these.
create index instalments_unpaid on instalments (due_on) where paid_fen < amount_fen;
call keep_history('instalments');

-- The instalments of a deal add up to its total amount. Checked when the writing transaction commits, so a
-- schedule is replaced by deleting and inserting its rows in one transaction.
create function check_instalments_sum(deal bigint) returns void language plpgsql as $$
declare
    total bigint;
    scheduled bigint;
    n integer;
begin
    select t.total_amount_fen into total from transactions t where t.id = deal;
    select coalesce(sum(amount_fen), 0), count(*) into scheduled, n from instalments where transaction_id = deal;
    if n > 0 and scheduled <> total then
        raise exception 'the instalments of deal % add up to % fen, its total amount is % fen', deal, scheduled, total
            using errcode = 'check_violation', constraint = 'instalments_sum';
    end if;
end $$;
create function instalments_sum() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        perform check_instalments_sum(old.transaction_id);
    else
        perform check_instalments_sum(new.transaction_id);
    end if;
    return null;
end $$;
create function transactions_instalments_sum() returns trigger language plpgsql as $$
begin
    perform check_instalments_sum(new.id);
    return null;
end $$;
create constraint trigger instalments_sum after insert or update or delete on instalments
    deferrable initially deferred for each row execute function instalments_sum();
create constraint trigger transactions_instalments_sum after update of total_amount_fen on transactions
    deferrable initially deferred for each row execute function transactions_instalments_sum();

-- A certificate states the split (certificate_facts below): the schedule of a certified deal, and every
-- instalment with a payment against it, is kept as it is.
create function instalments_kept() returns trigger language plpgsql as $$
declare
    r instalments := case when tg_op = 'INSERT' then new else old end;
begin
    if tg_op = 'UPDATE' and (new.transaction_id, new.seq, new.due_on, new.amount_fen, new.household_fen,
                             new.collective_fen) is not distinct from
                            (old.transaction_id, old.seq, old.due_on, old.amount_fen, old.household_fen,
                             old.collective_fen) then
        return new; -- only paid_fen, which the payments trigger keeps
    end if;
    -- (A certificate issued before schedules were kept states none; its deal's schedule may be recorded.)
    if exists (select 1 from certifications c where c.transaction_id = r.transaction_id and c.revoked_at is null
               and c.facts ? 'split' and c.facts -> 'split' <> 'null'::jsonb) then
        raise exception 'deal % is certified: its certificate states its schedule', r.transaction_id
            using errcode = 'restrict_violation', constraint = 'instalments_certified';
    end if;
    if tg_op <> 'INSERT' and old.paid_fen > 0 then
        raise exception 'instalment % of deal % has payments; it is kept', old.seq, old.transaction_id
            using errcode = 'restrict_violation', constraint = 'instalments_paid';
    end if;
    return case when tg_op = 'DELETE' then old else new end;
end $$;
create trigger instalments_kept before insert or update or delete on instalments
    for each row execute function instalments_kept();

-- ---------------------------------------------------------------------------------------------------
-- Payments (收款): recorded by officers against an instalment. More than is due is refused unless the
-- payment says why (`excess_reason`: e.g. a deposit paid with the rent). The split of a payment follows its
-- instalment's and is written here, never by the caller. Payments are kept: a mistake is answered by the
-- history and a note, not by removing the row.

create table payments (
    id bigint generated always as identity primary key,
    instalment_id bigint not null references instalments,
    paid_on date not null,
    amount_fen bigint not null check (amount_fen > 0 and amount_fen <= 1000000000000),
    household_fen bigint not null default 0 check (household_fen >= 0),
    collective_fen bigint not null default 0 check (collective_fen >= 0),
    payer text not null check (length(trim(payer)) between 1 and 200),
    method text not null check (method in ('bank_transfer', 'cash', 'mobile', 'cheque')),
    receipt_no text not null unique check (is_document_no(receipt_no, 60)),
    excess_reason text check (length(trim(excess_reason)) between 1 and 500),
    recorded_by_user_id bigint references users,
    created_at timestamptz not null default now(),
    constraint payments_split check (household_fen + collective_fen = amount_fen)
);
create index payments_instalment on payments (instalment_id, id);
create index payments_paid_on on payments (paid_on);
call keep_history('payments');

create function payments_apply() returns trigger language plpgsql as $$
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
    update instalments set paid_fen = paid_fen + new.amount_fen where id = i.id;
    return new;
end $$;
create trigger payments_apply before insert or update or delete on payments
    for each row execute function payments_apply();

-- Income by township and month paid (Asia/Shanghai calendar), kept by a trigger so the public summary reads
-- a few hundred rows, not every payment.
create table income_monthly (
    township_code char(9) not null,
    month date not null,
    payments bigint not null default 0,
    household_fen bigint not null default 0,
    collective_fen bigint not null default 0,
    primary key (township_code, month)
);

create function income_monthly_add() returns trigger language plpgsql as $$
begin
    insert into income_monthly as m (township_code, month, payments, household_fen, collective_fen)
    select f.township_code, date_trunc('month', n.paid_on)::date, count(*), sum(n.household_fen), sum(n.collective_fen)
    from new_rows n join instalments i on i.id = n.instalment_id
    join transactions t on t.id = i.transaction_id join farmhouses f on f.id = t.farmhouse_id
    group by 1, 2
    on conflict (township_code, month) do update
        set payments = m.payments + excluded.payments, household_fen = m.household_fen + excluded.household_fen,
            collective_fen = m.collective_fen + excluded.collective_fen;
    return null;
end $$;
create trigger payments_income after insert on payments referencing new table as new_rows
    for each statement execute function income_monthly_add();

-- ---------------------------------------------------------------------------------------------------
-- Pledges (抵押登记): a bank's loan secured on the use right a certificate in force states. One pledge in
-- force per certificate, unless the bank whose pledge is in force consents to a further one (the consent
-- is recorded on the new pledge). Released (解押) once; never removed.
--
-- While a certificate is pledged its lease is not ended early nor the certificate revoked: the pledge is
-- released first, or an admin overrides it with a reason, which is written on the pledge (so the history
-- shows who and why) before the lease or the certificate changes.

create table pledges (
    id bigint generated always as identity primary key,
    certification_id bigint not null references certifications,
    bank_party_id bigint not null references parties,
    loan_contract_no text not null check (is_document_no(loan_contract_no, 60)),
    amount_fen bigint not null check (amount_fen > 0 and amount_fen <= 1000000000000),
    loan_start date not null,
    loan_end date not null,
    registered_on date not null,
    prior_consent text check (length(trim(prior_consent)) between 1 and 500),
    registered_by_user_id bigint references users,
    released_on date,
    released_by_user_id bigint references users,
    release_note text check (length(trim(release_note)) between 1 and 500),
    override_reason text check (length(trim(override_reason)) between 1 and 500),
    overridden_by_user_id bigint references users,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (bank_party_id, loan_contract_no),
    constraint pledges_term check (loan_end > loan_start),
    constraint pledges_release check (released_on is null or released_on >= registered_on)
);
create index pledges_certification on pledges (certification_id) where released_on is null;
create index pledges_bank on pledges (bank_party_id, id);
create trigger pledges_touch before update on pledges for each row execute function touch_version();
call keep_history('pledges');

create function pledges_guard() returns trigger language plpgsql as $$
declare
    c record;
    holder text;
begin
    if tg_op = 'DELETE' then
        raise exception 'pledge % is kept; release it instead', old.id
            using errcode = 'restrict_violation', constraint = 'pledges_kept';
    end if;
    if tg_op = 'UPDATE' then
        if old.released_on is not null
           or (new.certification_id, new.bank_party_id, new.loan_contract_no, new.amount_fen, new.loan_start,
               new.loan_end, new.registered_on, new.prior_consent, new.registered_by_user_id)
              is distinct from
              (old.certification_id, old.bank_party_id, old.loan_contract_no, old.amount_fen, old.loan_start,
               old.loan_end, old.registered_on, old.prior_consent, old.registered_by_user_id) then
            raise exception 'pledge % can only be released, once, or overridden', old.id
                using errcode = 'restrict_violation', constraint = 'pledges_kept';
        end if;
        if new.released_on is not null and new.released_by_user_id is null then
            new.released_by_user_id := acting_user_id();
        end if;
        if new.override_reason is not null and old.override_reason is null then
            new.overridden_by_user_id := acting_user_id();
        end if;
        return new;
    end if;
    -- The certificate's row is locked: two banks registering at once are decided one after the other.
    select ce.id, ce.certificate_no, ce.revoked_at, t.status, t.lease_end into c
    from certifications ce join transactions t on t.id = ce.transaction_id
    where ce.id = new.certification_id for update of ce;
    if c.revoked_at is not null or c.status <> 'signed' or c.lease_end <= china_today() then
        raise exception 'certificate % is not in force: nothing to pledge', c.certificate_no
            using errcode = 'check_violation', constraint = 'pledges_certificate_in_force';
    end if;
    if not exists (select 1 from parties p where p.id = new.bank_party_id and p.kind = 'organisation') then
        raise exception 'a pledge is registered by a bank: party % is not an organisation', new.bank_party_id
            using errcode = 'check_violation', constraint = 'pledges_bank_party';
    end if;
    select p.name into holder from pledges g join parties p on p.id = g.bank_party_id
    where g.certification_id = new.certification_id and g.released_on is null limit 1;
    if holder is not null and new.prior_consent is null then
        raise exception 'certificate % is pledged to %: a further pledge needs its consent', c.certificate_no, holder
            using errcode = 'unique_violation', constraint = 'pledges_one_active';
    end if;
    new.registered_by_user_id := acting_user_id();
    return new;
end $$;
create trigger pledges_guard before insert or update or delete on pledges
    for each row execute function pledges_guard();

-- Pledges in force on a certificate, not overridden by an admin.
create function certificate_pledged(p_certification bigint) returns text language sql stable as $$
    select string_agg(format('%s (%s)', p.name, g.loan_contract_no), ', ' order by g.id)
    from pledges g join parties p on p.id = g.bank_party_id
    where g.certification_id = p_certification and g.released_on is null and g.override_reason is null
$$;

create function transactions_pledged() returns trigger language plpgsql as $$
declare
    held text;
begin
    -- (A lease that runs its course ends whether pledged or not: the loan was lent against that term.)
    if new.status = 'terminated' and old.status <> 'terminated' and new.terminated_on < new.lease_end then
        select certificate_pledged(c.id) into held from certifications c
        where c.transaction_id = new.id and c.revoked_at is null;
        if held is not null then
            raise exception 'the lease of deal % is pledged to %: release the pledge first', new.id, held
                using errcode = 'check_violation', constraint = 'transactions_pledged';
        end if;
    end if;
    return new;
end $$;
create trigger transactions_pledged before update of status on transactions
    for each row execute function transactions_pledged();

create function certifications_pledged() returns trigger language plpgsql as $$
declare
    held text := certificate_pledged(new.id);
begin
    if new.revoked_at is not null and old.revoked_at is null and held is not null then
        raise exception 'certificate % is pledged to %: release the pledge first', new.certificate_no, held
            using errcode = 'check_violation', constraint = 'certifications_pledged';
    end if;
    return new;
end $$;
create trigger certifications_pledged before update of revoked_at on certifications
    for each row execute function certifications_pledged();

-- Officers limited to townships record payments and schedules only there (the scope guard of 0113).
create trigger instalments_scope_insert after insert on instalments referencing new table as new_rows
    for each statement execute function scope_guard('transaction');
create function payments_scope() returns trigger language plpgsql as $$
declare
    me bigint := acting_user_id();
    outside text;
begin
    if me is null or not exists (select 1 from user_townships where user_id = me) then
        return null;
    end if;
    select min(f.township_code) into outside from new_rows n join instalments i on i.id = n.instalment_id
        join transactions t on t.id = i.transaction_id join farmhouses f on f.id = t.farmhouse_id
    where f.township_code not in (select township_code from user_townships where user_id = me);
    if outside is not null then
        raise exception 'township % is outside the townships of this account', outside
            using errcode = 'insufficient_privilege', constraint = 'user_township_scope';
    end if;
    return null;
end $$;
create trigger payments_scope_insert after insert on payments referencing new table as new_rows
    for each statement execute function payments_scope();

-- ---------------------------------------------------------------------------------------------------
-- A certificate states the deal's lessor and collective as recorded on the deal, and how its rent is
-- split: the collective's rule applied and the totals to the household and the collective.

create or replace function certificate_facts(p_transaction bigint, p_no text, p_officer bigint, p_issued_at timestamptz)
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
        'collective', case when co.id is null then null
                           else jsonb_build_object('party_id', co.id, 'name', co.name) end,
        'contract_no', t.contract_no,
        'lease_start', t.lease_start,
        'lease_end', t.lease_end,
        'annual_rent_fen', t.annual_rent_fen,
        'total_amount_fen', t.total_amount_fen,
        'intended_use', t.intended_use,
        'payment_plan', t.payment_plan,
        'split', case when s.n = 0 then null else jsonb_build_object(
            'instalments', s.n,
            'household_fen', s.household,
            'collective_fen', s.collective,
            'collective_fee_fen_per_m2_year', t.collective_fee_fen_per_m2_year,
            'land_area_m2', t.land_area_m2) end,
        'officer', u.username,
        'issued_at', p_issued_at)
    from transactions t
    join farmhouses f on f.id = t.farmhouse_id
    join parcels p on p.parcel_code = f.parcel_code
    join townships tw on tw.code = f.township_code
    join parties l on l.id = t.lessee_party_id
    left join parties o on o.id = coalesce(t.lessor_party_id, f.owner_party_id)
    left join parties co on co.id = t.collective_party_id
    left join users u on u.id = p_officer
    cross join lateral (select count(*) as n, coalesce(sum(household_fen), 0) as household,
                               coalesce(sum(collective_fen), 0) as collective
                        from instalments where transaction_id = t.id) s
    where t.id = p_transaction
$$;

-- The checklist of migrations/0113_deal_parties.sql gains `schedule`: a deal is certified with the
-- schedule and split its certificate states. (SQL functions find each other by name when called, so the
-- guard of 0113 calls this one.)
alter function deal_checklist(bigint) rename to deal_checklist_0113;
create function deal_checklist(deal bigint) returns table (item text, satisfied boolean, detail text)
language sql stable as $$
    select * from deal_checklist_0113(deal)
    union all
    select 'schedule', t.payment_plan is not null,
           case when t.payment_plan is null then 'no rent schedule is recorded for the deal'
                else format('%s instalment(s): %s fen to the household, %s fen to the collective',
                            count(i.id), sum(i.household_fen), sum(i.collective_fen)) end
    from transactions t left join instalments i on i.transaction_id = t.id
    where t.id = deal
    group by t.payment_plan
$$;
