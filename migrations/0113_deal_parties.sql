-- Who lets the house, who agreed, which papers were seen, and who may certify it (docs/DESIGN.md §2.5):
-- the lessor and the village collective of each deal, the house's title basis, consent records, papers
-- with their digests, the checklist that gates a certificate, two officers for a certificate and for its
-- revocation, accounts limited to townships, and the words officers use for old houses.
--
-- Everything an existing registry holds stays valid: the new columns have defaults or may be empty, and a
-- deal recorded before this migration keeps its certificate. A deal still awaiting its certificate needs
-- its lessor, consent and papers before it is certified (PUT /api/v1/transactions/{id}/parties and the
-- routes of consent and papers).

-- ---------------------------------------------------------------------------------------------------
-- Vocabulary from practice: earth-and-wood and stone-and-wood houses, badly damaged and dangerous ones;
-- document numbers with Chinese characters and brackets (浙XX评报字〔2020〕第123号); a building unit
-- number whose building (幢) and unit (户) parts are each 0001–9999.

alter table farmhouses drop constraint farmhouses_structure_check;
alter table farmhouses add constraint farmhouses_structure_check
    check (structure in ('砖混', '砖木', '钢混', '木', '土木', '石木'));
alter table farmhouses drop constraint farmhouses_condition_check;
alter table farmhouses add constraint farmhouses_condition_check
    check (condition in ('完好', '基本完好', '一般', '破损', '严重损坏', '危险'));

-- Rows written before keep their numbers: a check's function is not re-run over existing rows.
create or replace function is_farmhouse_unit_number(u text) returns boolean language sql immutable parallel safe as $$
    select u ~ '^[0-9]{12}JC[0-9]{5}F[0-9]{8}$' and substr(u, 15, 5) <> '00000'
       and substr(u, 21, 4) <> '0000' and right(u, 4) <> '0000'
$$;

-- A document number as offices write them: letters, digits, CJK characters, brackets and dashes.
create function is_document_no(t text, max_length integer) returns boolean language sql immutable parallel safe as $$
    select t ~ '^[A-Za-z0-9一-鿿()（）〔〕\[\]【】-]+$' and length(t) between 4 and max_length
$$;

alter table appraisals drop constraint appraisals_report_no_check;
alter table appraisals add constraint appraisals_report_no_check check (is_document_no(report_no, 40));
alter table transactions drop constraint transactions_contract_no_check;
alter table transactions add constraint transactions_contract_no_check check (is_document_no(contract_no, 40));

-- ---------------------------------------------------------------------------------------------------
-- Parties: the village collective economic organisation (村集体经济组织) is a party of its own kind, with
-- its credit code (N2…) and its village; a household says how many adult members must agree to a lease.

alter table parties drop constraint parties_kind_check;
alter table parties add constraint parties_kind_check
    check (kind in ('person', 'household', 'organisation', 'collective'));
alter table parties drop constraint parties_identity;
alter table parties add constraint parties_identity check (
    case when kind in ('organisation', 'collective') then credit_code is not null and id_number is null
         else id_number is not null and credit_code is null end);
alter table parties
    add column township_code char(9) references townships,
    add column village text check (length(village) between 1 and 100),
    add column members smallint check (members between 1 and 20);
alter table parties add constraint parties_collective_village
    check ((kind = 'collective') = (township_code is not null and village is not null));
alter table parties add constraint parties_household_members check (members is null or kind = 'household');
create unique index parties_one_collective_per_village on parties (township_code, village) where kind = 'collective';

-- ---------------------------------------------------------------------------------------------------
-- The title basis of a house: the homestead use right (宅基地使用权) and the house ownership (房屋所有权),
-- each with its certificate (不动产权证号) once issued, or confirmed (确权) without one yet; whether the
-- household keeps its qualification right (资格权); whether the house or its land belongs to the
-- collective itself (then its members' meeting decides a lease).

alter table farmhouses
    add column homestead_title text not null default 'unconfirmed'
        check (homestead_title in ('issued', 'confirmed', 'unconfirmed')),
    add column homestead_cert_no text check (is_document_no(homestead_cert_no, 60)),
    add column ownership_title text not null default 'unconfirmed'
        check (ownership_title in ('issued', 'confirmed', 'unconfirmed')),
    add column ownership_cert_no text check (is_document_no(ownership_cert_no, 60)),
    add column qualification_retained boolean not null default true,
    add column collective_property boolean not null default false;
alter table farmhouses add constraint farmhouses_homestead_certificate
    check ((homestead_title = 'issued') = (homestead_cert_no is not null));
alter table farmhouses add constraint farmhouses_ownership_certificate
    check ((ownership_title = 'issued') = (ownership_cert_no is not null));

-- ---------------------------------------------------------------------------------------------------
-- The user a writer acts for: `farmhouse.actor` is `<role>:<username>` (store::begin_as); none for the
-- system, the seed or a database role at work directly.

create function acting_user_id() returns bigint language sql stable as $$
    select u.id from users u
    where history_actor() like '%:%'
      and u.username = split_part(history_actor(), ':', 2) and u.role = split_part(history_actor(), ':', 1)
$$;

-- ---------------------------------------------------------------------------------------------------
-- The parties of a deal and who recorded it. Deals recorded before keep an empty lessor until an officer
-- names it; the checklist then asks for it.

alter table transactions
    add column lessor_party_id bigint references parties,
    add column collective_party_id bigint references parties,
    add column recorded_by_user_id bigint references users;

create function transactions_parties() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        new.recorded_by_user_id := acting_user_id();
    else
        new.recorded_by_user_id := old.recorded_by_user_id;
    end if;
    if new.lessor_party_id is not null
       and (select kind from parties where id = new.lessor_party_id) not in ('person', 'household') then
        raise exception 'the lessor of a farmhouse is a person or household'
            using errcode = 'check_violation', constraint = 'transactions_lessor_kind';
    end if;
    if new.collective_party_id is not null
       and (select kind from parties where id = new.collective_party_id) <> 'collective' then
        raise exception 'party % is not a village collective economic organisation', new.collective_party_id
            using errcode = 'check_violation', constraint = 'transactions_collective_kind';
    end if;
    return new;
end $$;
create trigger transactions_parties before insert or update of lessor_party_id, collective_party_id,
    recorded_by_user_id on transactions for each row execute function transactions_parties();

-- ---------------------------------------------------------------------------------------------------
-- Consent (同意): each adult member of the lessor household, the village committee's (村委会) opinion, and
-- for a house or land of the collective, the members' meeting (成员大会) with its votes.

create table consents (
    id bigint generated always as identity primary key,
    transaction_id bigint not null references transactions,
    kind text not null check (kind in ('member', 'committee', 'meeting')),
    -- A household member's name: private, like a party's.
    member_name text check (length(member_name) between 1 and 100),
    agrees boolean,
    opinion text check (length(opinion) <= 1000),
    votes_for integer check (votes_for >= 0),
    votes_against integer check (votes_against >= 0),
    votes_total integer check (votes_total between 1 and 100000),
    given_on date not null,
    recorded_by_user_id bigint references users,
    created_at timestamptz not null default now(),
    constraint consents_shape check (case kind
        when 'member' then member_name is not null and agrees is not null and votes_total is null
        when 'committee' then member_name is null and agrees is not null and votes_total is null
        else member_name is null and agrees is null
             and votes_for is not null and votes_against is not null and votes_total is not null end),
    constraint consents_votes check (votes_for + votes_against <= votes_total)
);
create index consents_transaction on consents (transaction_id, id);
create unique index consents_member_once on consents (transaction_id, member_name) where kind = 'member';
call keep_history('consents');

-- ---------------------------------------------------------------------------------------------------
-- Papers (材料): the files seen for a deal or a house, kept in the database with their SHA-256 (which the
-- history keeps; the bytes it leaves out). ID copies are staff-only and never leave a staff route.

create table papers (
    id bigint generated always as identity primary key,
    farmhouse_id bigint references farmhouses,
    transaction_id bigint references transactions,
    kind text not null check (kind in ('lease_contract', 'listing_entrustment', 'id_copy', 'appraisal_report',
                                       'safety_appraisal')),
    -- 房屋安全鉴定 grade: A safe … D dangerous.
    safety_grade char(1) check (safety_grade in ('A', 'B', 'C', 'D')),
    media_type text not null check (media_type in ('application/pdf', 'image/jpeg', 'image/png')),
    sha256 bytea not null check (length(sha256) = 32),
    content bytea not null check (length(content) between 1 and 10485760),
    bytes integer not null generated always as (length(content)) stored,
    recorded_by_user_id bigint references users,
    created_at timestamptz not null default now(),
    constraint papers_owner check ((farmhouse_id is null) <> (transaction_id is null)),
    constraint papers_grade check ((kind = 'safety_appraisal') = (safety_grade is not null)),
    constraint papers_of_a_deal check (kind not in ('lease_contract', 'id_copy') or transaction_id is not null)
);
create index papers_farmhouse on papers (farmhouse_id, id) where farmhouse_id is not null;
create index papers_transaction on papers (transaction_id, id) where transaction_id is not null;
call keep_history('papers');

create function papers_recorder() returns trigger language plpgsql as $$
begin
    new.recorded_by_user_id := acting_user_id();
    return new;
end $$;
create trigger papers_recorder before insert on papers for each row execute function papers_recorder();
create function consents_recorder() returns trigger language plpgsql as $$
begin
    new.recorded_by_user_id := acting_user_id();
    return new;
end $$;
create trigger consents_recorder before insert on consents for each row execute function consents_recorder();

-- The latest safety grade of a house: from its own papers or those of its deals. (Two index lookups, not
-- one scan of every paper: the house list and every new listing ask it.)
create function house_safety_grade(house bigint) returns char(1) language sql stable as $$
    select safety_grade from (
        select p.id, p.safety_grade from papers p
        where p.farmhouse_id = house and p.kind = 'safety_appraisal'
        union all
        select p.id, p.safety_grade from transactions t join papers p on p.transaction_id = t.id
        where t.farmhouse_id = house and p.kind = 'safety_appraisal'
    ) s order by id desc limit 1
$$;

-- A house graded C or D is not let for lodging (民宿) or elderly care (康养): people sleep there.
create function listings_safety() returns trigger language plpgsql as $$
declare
    grade char(1);
begin
    if new.allowed_uses && array['民宿', '康养'] then
        grade := house_safety_grade(new.farmhouse_id);
        if grade in ('C', 'D') then
            raise exception 'the house is graded % in its safety appraisal; it is not listed for 民宿 or 康养', grade
                using errcode = 'check_violation', constraint = 'listings_safety_grade';
        end if;
    end if;
    return new;
end $$;
create trigger listings_safety before insert or update of allowed_uses on listings
    for each row execute function listings_safety();

-- ---------------------------------------------------------------------------------------------------
-- The checklist of a deal: what a certificate needs, item by item. The service shows it
-- (GET /api/v1/transactions/{id}/checklist) and refuses to certify while an item is open; the guard of
-- certifications below refuses too, so no path into the database issues a certificate without it.

create function deal_checklist(deal bigint) returns table (item text, satisfied boolean, detail text)
language sql stable as $$
    with d as (
        select t.id, t.farmhouse_id, t.lessor_party_id, t.intended_use, f.owner_party_id, f.homestead_title,
               f.ownership_title, f.collective_property, l.kind as lessor_kind, coalesce(l.members, 1) as members
        from transactions t join farmhouses f on f.id = t.farmhouse_id
        left join parties l on l.id = t.lessor_party_id
        where t.id = deal
    ),
    c as (
        select count(distinct member_name) filter (where kind = 'member' and agrees) as agreeing,
               count(*) filter (where kind = 'member' and not agrees) as refusing,
               (select agrees from consents where transaction_id = deal and kind = 'committee'
                order by id desc limit 1) as committee,
               (select votes_for from consents where transaction_id = deal and kind = 'meeting'
                order by id desc limit 1) as votes_for,
               (select votes_total from consents where transaction_id = deal and kind = 'meeting'
                order by id desc limit 1) as votes_total
        from consents where transaction_id = deal
    ),
    p as (
        select array_agg(distinct pa.kind) as kinds,
               (array_agg(pa.safety_grade order by pa.id desc) filter (where pa.kind = 'safety_appraisal'))[1] as grade
        from papers pa, d
        where pa.transaction_id = d.id or pa.farmhouse_id = d.farmhouse_id
    ),
    needed(paper, label) as (values ('lease_contract', 'the lease contract (租赁合同)'),
                                    ('listing_entrustment', 'the entrustment to list (委托挂牌申请)'),
                                    ('id_copy', 'copies of the parties'' ID cards (身份证复印件)'),
                                    ('appraisal_report', 'the appraisal report (评估报告)')),
    items(item, satisfied, detail) as (
    select 'lessor',
           d.lessor_party_id is not null and d.lessor_party_id = d.owner_party_id,
           case when d.lessor_party_id is null then 'no lessor is recorded for the deal'
                when d.owner_party_id is null then 'the house has no owner of record'
                when d.lessor_party_id <> d.owner_party_id then
                    format('the lessor (party %s) is not the owner of record (party %s)', d.lessor_party_id, d.owner_party_id)
                else 'the owner of record lets the house' end
    from d
    union all
    select 'title',
           d.homestead_title <> 'unconfirmed' and d.ownership_title <> 'unconfirmed',
           format('homestead use right %s, house ownership %s', d.homestead_title, d.ownership_title)
    from d
    union all
    select 'consent.household',
           d.lessor_kind = 'person' or (d.lessor_kind = 'household' and c.agreeing >= d.members and c.refusing = 0),
           case when d.lessor_kind is null then 'no lessor is recorded: whose household consents is not known'
                when d.lessor_kind = 'person' then 'the lessor is a person, who signs the contract'
                when c.refusing > 0 then format('%s member(s) of the household refused', c.refusing)
                else format('%s of %s adult members agreed', c.agreeing, d.members) end
    from d, c
    union all
    select 'consent.committee', coalesce(c.committee, false),
           case when c.committee is null then 'no opinion of the village committee (村委会) is recorded'
                when c.committee then 'the village committee agreed' else 'the village committee objected' end
    from c
    union all
    select 'consent.meeting',
           not d.collective_property or coalesce(c.votes_for * 3 >= c.votes_total * 2, false),
           case when not d.collective_property then 'not needed: the house and land are not the collective''s'
                when c.votes_total is null then 'the collective''s members'' meeting (成员大会) has not resolved'
                else format('%s of %s members voted for (two thirds needed)', c.votes_for, c.votes_total) end
    from d, c
    union all
    select 'papers.' || n.paper, coalesce(n.paper = any(p.kinds), false),
           case when coalesce(n.paper = any(p.kinds), false) then 'attached' else 'missing: ' || n.label end
    from needed n, p
    union all
    select 'papers.safety_appraisal',
           d.intended_use not in ('民宿', '康养') or coalesce(p.grade in ('A', 'B'), false),
           case when p.grade is not null then format('graded %s%s', p.grade,
                     case when p.grade in ('C', 'D') and d.intended_use in ('民宿', '康养')
                          then ': not for ' || d.intended_use else '' end)
                when d.intended_use not in ('民宿', '康养') then 'not needed for ' || d.intended_use
                else 'missing: the house safety appraisal (房屋安全鉴定), needed for ' || d.intended_use end
    from d, p
    )
    -- An item whose rule cannot be decided (a fact left empty) is open.
    select item, coalesce(satisfied, false), coalesce(detail, '') from items
$$;

-- ---------------------------------------------------------------------------------------------------
-- The guard of migrations/0110_certificate_facts.sql, with these rules added.
--
-- Two officers: the officer who recorded a deal does not certify it (maker–checker), and an officer's
-- revocation takes effect only when a second officer confirms it (an admin revokes alone). A certificate
-- needs its checklist complete, except a record of the past (`farmhouse.historical_record`, as for
-- listings) and the re-issue of a correction (revoked and certified again in one transaction).

alter table certifications
    add column revocation_requested_by_user_id bigint references users,
    add column revocation_requested_at timestamptz,
    add column revocation_reason text check (length(trim(revocation_reason)) between 1 and 500);
-- (The requesting user is empty only for a writer that acts for no account.)
alter table certifications add constraint certifications_revocation_request check (
    (revocation_requested_at is null) = (revocation_reason is null)
    and (revocation_requested_by_user_id is null or revocation_requested_at is not null));

create or replace function certifications_guard() returns trigger language plpgsql as $$
declare
    missing text;
    recorder bigint;
    revoker_role text;
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
        select recorded_by_user_id into recorder from transactions where id = new.transaction_id;
        if new.officer_user_id is not null and new.officer_user_id = recorder then
            raise exception 'the officer who recorded deal % does not certify it; a second officer does', new.transaction_id
                using errcode = 'check_violation', constraint = 'certifications_maker_checker';
        end if;
        if nullif(trim(current_setting('farmhouse.historical_record', true)), '') is null
           and not exists (select 1 from certifications c
                           where c.transaction_id = new.transaction_id and c.revoked_at = now()) then
            select string_agg(item, ', ') into missing from deal_checklist(new.transaction_id) where not satisfied;
            if missing is not null then
                raise exception 'deal % is not ready for its certificate: %', new.transaction_id, missing
                    using errcode = 'check_violation', constraint = 'certifications_checklist';
            end if;
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
    if new.revoked_at is not null and new.revoked_by_user_id is not null then
        select role into revoker_role from users where id = new.revoked_by_user_id;
        if revoker_role is distinct from 'admin' and (new.revocation_requested_at is null
               or new.revocation_requested_by_user_id is not distinct from new.revoked_by_user_id) then
            raise exception 'certificate % is revoked by a second officer, after another asked, or by an admin', old.certificate_no
                using errcode = 'check_violation', constraint = 'certifications_two_officers';
        end if;
    end if;
    return new;
end $$;

-- ---------------------------------------------------------------------------------------------------
-- Accounts limited to townships: an officer or official with rows here acts only there (no rows: the
-- whole district). Writes outside are refused by the statement triggers below, whatever path they take.

create table user_townships (
    id bigint generated always as identity primary key,
    user_id bigint not null references users on delete cascade,
    township_code char(9) not null references townships,
    unique (user_id, township_code)
);
call keep_history('user_townships');

create function scope_guard() returns trigger language plpgsql as $$
declare
    me bigint := acting_user_id();
    outside text;
begin
    if me is null or not exists (select 1 from user_townships where user_id = me) then
        return null;
    end if;
    if tg_argv[0] = 'township' then
        select min(n.township_code) into outside from new_rows n
        where n.township_code not in (select township_code from user_townships where user_id = me);
    elsif tg_argv[0] = 'farmhouse' then
        select min(f.township_code) into outside from new_rows n join farmhouses f on f.id = n.farmhouse_id
        where f.township_code not in (select township_code from user_townships where user_id = me);
    elsif tg_argv[0] = 'transaction' then
        select min(f.township_code) into outside from new_rows n join transactions t on t.id = n.transaction_id
            join farmhouses f on f.id = t.farmhouse_id
        where f.township_code not in (select township_code from user_townships where user_id = me);
    else -- papers: of a house or of a deal
        select min(f.township_code) into outside from new_rows n left join transactions t on t.id = n.transaction_id
            join farmhouses f on f.id = coalesce(n.farmhouse_id, t.farmhouse_id)
        where f.township_code not in (select township_code from user_townships where user_id = me);
    end if;
    if outside is not null then
        raise exception 'township % is outside the townships of this account', outside
            using errcode = 'insufficient_privilege', constraint = 'user_township_scope';
    end if;
    return null;
end $$;

do $$
declare
    t record;
begin
    for t in select * from (values ('parcels', 'township'), ('farmhouses', 'township'),
                                   ('farmhouse_photos', 'farmhouse'), ('appraisals', 'farmhouse'),
                                   ('listings', 'farmhouse'), ('transactions', 'farmhouse'),
                                   ('certifications', 'transaction'), ('consents', 'transaction'),
                                   ('papers', 'paper')) v(name, path)
    loop
        execute format('create trigger %I after insert on %I referencing new table as new_rows
                        for each statement execute function scope_guard(%L)', t.name || '_scope_insert', t.name, t.path);
        execute format('create trigger %I after update on %I referencing new table as new_rows
                        for each statement execute function scope_guard(%L)', t.name || '_scope_update', t.name, t.path);
    end loop;
end $$;
