-- The activation records of a house: appraisal (评估), listing (挂牌), transaction (成交) and
-- certification (鉴证). Money is integer fen (1 yuan = 100 fen): exact, never floating point.

create function is_use(u text) returns boolean language sql immutable parallel safe as $$
    select u in ('民宿', '康养', '文创', '电商', '来料加工', '其他')
$$;

create table appraisals (
    id bigint generated always as identity primary key,
    farmhouse_id bigint not null references farmhouses,
    report_no text not null unique check (report_no ~ '^[A-Za-z0-9()（）〔〕\[\]-]{4,40}$'),
    firm text not null check (length(firm) between 1 and 200),
    appraiser text not null check (length(appraiser) between 1 and 100),
    method text not null check (method in ('市场比较法', '收益法', '成本法')),
    valuation_date date not null,
    value_fen bigint not null check (value_fen >= 0),
    annual_rent_fen bigint not null check (annual_rent_fen >= 0),
    valid_until date not null,
    created_at timestamptz not null default now(),
    constraint appraisals_validity check (valid_until > valuation_date)
);
create index appraisals_house on appraisals (farmhouse_id, valuation_date desc);

create table listings (
    id bigint generated always as identity primary key,
    farmhouse_id bigint not null references farmhouses,
    -- A showcase name (e.g. 沐格山居); most listings have none.
    title text not null default '' check (length(title) <= 100),
    asking_rent_fen bigint not null check (asking_rent_fen >= 0),
    min_term_months smallint not null check (min_term_months between 1 and 240),
    max_term_months smallint not null check (max_term_months between 1 and 240),
    allowed_uses text[] not null check (cardinality(allowed_uses) between 1 and 6
        and array_position(allowed_uses, null) is null
        and allowed_uses <@ array['民宿', '康养', '文创', '电商', '来料加工', '其他']),
    -- 公示: at least seven days, during which no deal may be signed.
    notice_start date not null,
    notice_end date not null,
    status text not null default 'open' check (status in ('open', 'withdrawn', 'closed')),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint listings_terms check (min_term_months <= max_term_months),
    constraint listings_notice_period check (notice_end >= notice_start + 7),
    unique (id, farmhouse_id)
);
create unique index listings_one_open_per_house on listings (farmhouse_id) where status = 'open';
create index listings_status on listings (status, farmhouse_id);
create trigger listings_touch before update on listings for each row execute function touch_version();

create table transactions (
    id bigint generated always as identity primary key,
    listing_id bigint not null unique,
    farmhouse_id bigint not null,
    lessee_party_id bigint not null references parties,
    mode text not null check (mode in ('协议', '竞价', '招标')),
    contract_no text not null unique check (contract_no ~ '^[A-Za-z0-9-]{4,40}$'),
    signed_on date not null,
    lease_start date not null,
    lease_end date not null,
    -- signed: in force (or run its course); terminated: ended early, on terminated_on.
    status text not null default 'signed' check (status in ('signed', 'terminated')),
    terminated_on date,
    -- The days the house is actually let, end exclusive: the contract's period, cut short on the day a
    -- lease ended early. The no-overlap rule compares these. (`greatest` keeps a reversed period from
    -- failing here, so that transactions_term reports it.)
    occupancy daterange not null generated always as (daterange(lease_start,
        greatest(lease_start, least(lease_end, coalesce(terminated_on, lease_end))), '[)')) stored,
    annual_rent_fen bigint not null check (annual_rent_fen >= 0),
    total_amount_fen bigint not null check (total_amount_fen >= 0),
    intended_use text not null check (is_use(intended_use)),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    foreign key (listing_id, farmhouse_id) references listings (id, farmhouse_id),
    -- Civil Code art. 705: a lease runs at most twenty years; and at least one day.
    constraint transactions_term check (lease_end > lease_start and lease_end <= lease_start + interval '20 years'),
    constraint transactions_signed_before_start check (signed_on <= lease_start),
    constraint transactions_ended check ((status = 'terminated') = (terminated_on is not null)),
    constraint transactions_no_overlap exclude using gist (farmhouse_id with =, occupancy with &&)
);
create index transactions_house on transactions (farmhouse_id);
create index transactions_signed_on on transactions (signed_on);
create trigger transactions_touch before update on transactions for each row execute function touch_version();

-- Certificate numbers are issued per prefix and year without gaps: SY-JZ-2020-000123.
create table certificate_counters (
    prefix text not null check (prefix ~ '^[A-Z]{2}$'),
    year smallint not null,
    last_number integer not null default 0 check (last_number between 0 and 999999),
    primary key (prefix, year)
);

create table certifications (
    id bigint generated always as identity primary key,
    certificate_no text not null unique check (certificate_no ~ '^[A-Z]{2}-JZ-[0-9]{4}-[0-9]{6}$'),
    transaction_id bigint not null references transactions,
    officer_user_id bigint references users,
    issued_at timestamptz not null default now(),
    -- Printed on the certificate; with the number it lets anyone check it at /verify.
    verification_code text not null check (verification_code ~ '^[0-9A-Z]{8}$'),
    revoked_at timestamptz,
    revoked_by_user_id bigint references users,
    revoke_reason text check (length(trim(revoke_reason)) between 1 and 500),
    constraint certifications_revocation check ((revoked_at is null) = (revoke_reason is null))
);
-- A transaction has at most one certificate in force; a revoked certificate stays beside a later one.
create unique index certifications_one_per_transaction on certifications (transaction_id) where revoked_at is null;

-- A certificate is issued only for a signed transaction, never deleted, and once issued changes only by
-- being revoked.
create function certifications_guard() returns trigger language plpgsql as $$
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
        return new;
    end if;
    if old.revoked_at is not null
       or (new.certificate_no, new.transaction_id, new.officer_user_id, new.issued_at, new.verification_code)
          is distinct from (old.certificate_no, old.transaction_id, old.officer_user_id, old.issued_at, old.verification_code) then
        raise exception 'certificate % can only be revoked, once', old.certificate_no
            using errcode = 'restrict_violation', constraint = 'certifications_kept';
    end if;
    return new;
end $$;
create trigger certifications_guard before insert or update or delete on certifications
    for each row execute function certifications_guard();
