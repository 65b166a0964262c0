//! Writing generated villages and houses: COPY into temporary staging tables, then one INSERT … SELECT per
//! registry table that resolves references by natural keys (ID numbers, unit numbers, contract numbers).
//! The rows pass every constraint and trigger of the schema, so the history records them (actor `seed`)
//! and the statistics follow.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};
use sqlx::PgConnection;

use super::houses::{House, Party, Village};
use crate::domain::records::PaperKind;
use crate::domain::rent::{self, Contract, Plan, Schedule};
use crate::store::copy::{CopyRows, polygon_ewkt};

const STAGING: &str = "
    create temp table if not exists seed_parties (kind text, name text, id_number text, credit_code text,
        phone text, address text);
    create temp table if not exists seed_villages (township_code text, name text, lon float8, lat float8);
    create temp table if not exists seed_houses (unit_number char(28), footprint geometry, floor_area_m2 numeric,
        floors smallint, year_built smallint, structure text, condition text, status text, description text,
        owner_id_number text);
    create temp table if not exists seed_appraisals (unit_number char(28), report_no text, firm text, appraiser text,
        method text, valuation_date date, value_fen bigint, annual_rent_fen bigint, valid_until date);
    create temp table if not exists seed_listings (unit_number char(28), title text, asking_rent_fen bigint,
        min_term_months smallint, max_term_months smallint, allowed_uses text[], notice_start date,
        notice_end date, status text);
    create temp table if not exists seed_transactions (unit_number char(28), lessee_id_number text,
        lessee_credit_code text, mode text, contract_no text, signed_on date, lease_start date, lease_end date,
        annual_rent_fen bigint, total_amount_fen bigint, intended_use text, payment_plan text);
    create temp table if not exists seed_certifications (contract_no text, certificate_no text,
        issued_at timestamptz, verification_code text);
    create temp table if not exists seed_collectives (township_code text, village text, credit_code text);
    create temp table if not exists seed_paper_files (kind text primary key, content bytea);
";

const MOVE: &str = "
    insert into parties (kind, name, id_number, credit_code, phone, address)
        select kind, name, id_number, credit_code, phone, address from seed_parties on conflict do nothing;
    insert into villages (township_code, name, location)
        select township_code, name, st_setsrid(st_makepoint(lon, lat), 4326) from seed_villages
        on conflict do nothing;
    -- Each village's collective fee (土地所有权收益): 0, 2, 3 or 5 yuan per m² of the parcel a year.
    update villages v set collective_fee_fen_per_m2_year = (array[0, 200, 300, 500])[1 + (hashtext(v.name) & 3)]
        from seed_villages s where v.township_code = s.township_code and v.name = s.name;
    -- Each village's collective economic organisation (村集体经济组织).
    insert into parties (kind, name, credit_code, township_code, village)
        select 'collective', village || '股份经济合作社', credit_code, township_code, village from seed_collectives
        on conflict do nothing;
    -- The demo houses stand on confirmed rights with one real-estate certificate for house and land (房地一体).
    insert into farmhouses (unit_number, township_code, footprint, floor_area_m2, floors, year_built, structure,
                            condition, status, description, owner_party_id, homestead_title, homestead_cert_no,
                            ownership_title, ownership_cert_no)
        select s.unit_number, p.township_code, s.footprint, s.floor_area_m2, s.floors, s.year_built, s.structure,
               s.condition, s.status, s.description, o.id, 'issued', c.no, 'issued', c.no
        from seed_houses s join parcels p on p.parcel_code = left(s.unit_number, 19)::char(19)
        join parties o on o.id_number = s.owner_id_number
        cross join lateral (select format('浙(%s)绍兴市上虞区不动产权第%s号', 2016 + (hashtext(s.unit_number) & 3),
                                          lpad(((hashtext(s.unit_number) & 2147483647) % 10000000)::text, 7, '0'))
                            as no) c;
    insert into appraisals (farmhouse_id, report_no, firm, appraiser, method, valuation_date, value_fen,
                            annual_rent_fen, valid_until)
        select f.id, s.report_no, s.firm, s.appraiser, s.method, s.valuation_date, s.value_fen, s.annual_rent_fen,
               s.valid_until
        from seed_appraisals s join farmhouses f on f.unit_number = s.unit_number;
    insert into listings (farmhouse_id, title, asking_rent_fen, min_term_months, max_term_months, allowed_uses,
                          notice_start, notice_end, status)
        select f.id, s.title, s.asking_rent_fen, s.min_term_months, s.max_term_months, s.allowed_uses,
               s.notice_start, s.notice_end, s.status
        from seed_listings s join farmhouses f on f.unit_number = s.unit_number;
    insert into transactions (listing_id, farmhouse_id, lessee_party_id, mode, contract_no, signed_on,
                              lease_start, lease_end, annual_rent_fen, total_amount_fen, intended_use,
                              lessor_party_id, collective_party_id, payment_plan, collective_fee_fen_per_m2_year,
                              land_area_m2)
        select l.id, f.id,
               coalesce((select id from parties where credit_code = s.lessee_credit_code),
                        (select id from parties where id_number = s.lessee_id_number)),
               s.mode, s.contract_no, s.signed_on, s.lease_start, s.lease_end, s.annual_rent_fen,
               s.total_amount_fen, s.intended_use, f.owner_party_id,
               (select c.id from parties c
                where c.kind = 'collective' and c.township_code = f.township_code and c.village = p.village),
               s.payment_plan, coalesce(v.collective_fee_fen_per_m2_year, 0), round(p.area_m2::numeric, 2)
        from seed_transactions s join farmhouses f on f.unit_number = s.unit_number
        join listings l on l.farmhouse_id = f.id and l.status = 'closed'
        join parcels p on p.parcel_code = f.parcel_code
        left join villages v on v.township_code = f.township_code and v.name = p.village;
    -- Consent to each deal: the owner household's (one adult member, its head) and the village committee's.
    insert into consents (transaction_id, kind, member_name, agrees, given_on)
        select t.id, 'member', o.name, true, t.signed_on - 5
        from seed_transactions s join transactions t on t.contract_no = s.contract_no
        join parties o on o.id = t.lessor_party_id;
    insert into consents (transaction_id, kind, agrees, opinion, given_on)
        select t.id, 'committee', true, '经村委会研究，同意出租用于' || t.intended_use, t.signed_on - 3
        from seed_transactions s join transactions t on t.contract_no = s.contract_no;
    -- Papers: every deal still awaiting its certificate has them (an officer may certify it in the demo), and
    -- the first few certified deals of each batch, to show what a certified deal keeps.
    create temp table seed_papered on commit drop as
        select t.id, t.farmhouse_id, t.intended_use
        from seed_transactions s join transactions t on t.contract_no = s.contract_no
        where s.contract_no not in (select contract_no from seed_certifications)
           or s.contract_no in (select contract_no from seed_certifications order by issued_at limit 3);
    insert into papers (transaction_id, kind, media_type, sha256, content)
        select d.id, f.kind, 'image/png', sha256(f.content), f.content
        from seed_papered d cross join seed_paper_files f where f.kind <> 'safety_appraisal';
    insert into papers (farmhouse_id, kind, safety_grade, media_type, sha256, content)
        select d.farmhouse_id, 'safety_appraisal', 'B', 'image/png', sha256(f.content), f.content
        from seed_papered d join seed_paper_files f on f.kind = 'safety_appraisal'
        where d.intended_use in ('民宿', '康养');
    drop table seed_papered;
";

/// After the schedules: rent paid on each instalment due by today, a few days after it fell due, except
/// about one in twenty-five of the last eighteen months' (overdue) and as many paid in half; then the
/// certificates, which state the split of the schedules.
const PAY_AND_CERTIFY: &str = "
    insert into payments (instalment_id, paid_on, amount_fen, payer, method, receipt_no)
        select i.id, least(i.due_on + (hashtext(t.contract_no) & 15), china_today()),
               case when i.due_on > china_today() - 540 and (hashtext(t.contract_no || i.seq) & 1023) % 25 = 1
                    then i.amount_fen / 2 else i.amount_fen end,
               l.name, (array['bank_transfer', 'bank_transfer', 'mobile', 'cash'])[1 + (hashtext(t.contract_no) >> 4 & 3)],
               format('SYSK-%s-%s-%s', extract(year from i.due_on), t.id, i.seq)
        from seed_transactions s join transactions t on t.contract_no = s.contract_no
        join instalments i on i.transaction_id = t.id join parties l on l.id = t.lessee_party_id
        where i.due_on <= china_today()
          and not (i.due_on > china_today() - 540 and (hashtext(t.contract_no || i.seq) & 1023) % 25 = 0)
        order by i.id;
    insert into certifications (certificate_no, transaction_id, issued_at, verification_code)
        select s.certificate_no, t.id, s.issued_at, s.verification_code
        from seed_certifications s join transactions t on t.contract_no = s.contract_no
        order by s.issued_at;
    truncate seed_parties, seed_villages, seed_houses, seed_appraisals, seed_listings, seed_transactions,
             seed_certifications, seed_collectives;
";

/// Creates the staging tables on `conn` (temporary: they vanish with the connection), with the scans that
/// stand in for the demo deals' papers.
pub async fn prepare(conn: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql(STAGING).execute(&mut *conn).await.context("creating the staging tables")?;
    for (i, kind) in PaperKind::ALL.iter().enumerate() {
        sqlx::query("insert into seed_paper_files (kind, content) values ($1, $2) on conflict do nothing")
            .bind(kind.as_str())
            .bind(super::pictures::paper_scan(i as u8)?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The credit code of the collective economic organisation of a village (N2: registered by the
/// agriculture department, village level), from the township and village so that runs agree.
fn collective_credit_code(township: &str, village: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{township}/{village}"));
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 100_000_000;
    let org = format!("{n:08}");
    let org = format!("{org}{}", crate::domain::identity::organisation_code_check_char(&org));
    let first17 = format!("N2{}{org}", &township[..6]);
    format!("{first17}{}", crate::domain::identity::credit_check_char(&first17))
}

/// Certificate numbers per year, gapless from the last one issued (`certificate_counters`).
pub struct CertificateNumbers {
    /// The district's two letters (SY).
    prefix: String,
    last: HashMap<i32, i32>,
}

impl CertificateNumbers {
    /// The counters of the demo district's prefix.
    pub async fn load(conn: &mut PgConnection) -> Result<Self> {
        let prefix: String =
            sqlx::query_scalar("select certificate_prefix::text from districts where county_code = $1")
                .bind(super::district::COUNTY_CODE)
                .fetch_one(&mut *conn)
                .await?;
        let rows: Vec<(i16, i32)> =
            sqlx::query_as("select year, last_number from certificate_counters where prefix = $1")
                .bind(&prefix)
                .fetch_all(&mut *conn)
                .await?;
        Ok(Self { prefix, last: rows.into_iter().map(|(y, n)| (i32::from(y), n)).collect() })
    }

    /// The next number of `year`, the Beijing calendar year of issue (as the service numbers them).
    fn next(&mut self, year: i32) -> String {
        let n = self.last.entry(year).or_insert(0);
        *n += 1;
        format!("{}-JZ-{year}-{n:06}", self.prefix)
    }

    /// Writes the counters back.
    pub async fn save(&self, conn: &mut PgConnection) -> Result<()> {
        for (&year, &n) in &self.last {
            sqlx::query(
                "insert into certificate_counters (prefix, year, last_number) values ($3, $1, $2)
                 on conflict (prefix, year) do update set last_number = excluded.last_number",
            )
            .bind(year as i16)
            .bind(n)
            .bind(&self.prefix)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

fn party_row(rows: &mut CopyRows, p: &Party) {
    rows.text(p.kind.as_str())
        .text(&p.name)
        .field(p.id_number.as_deref())
        .field(p.credit_code.as_deref())
        .text(&p.phone)
        .text(&p.address)
        .end();
}

/// Writes `parties` (the run's investors).
pub async fn parties(conn: &mut PgConnection, parties: &[Party]) -> Result<()> {
    let mut rows = CopyRows::new();
    for p in parties {
        party_row(&mut rows, p);
    }
    rows.send(conn, "copy seed_parties from stdin").await?;
    sqlx::raw_sql(
        "insert into parties (kind, name, id_number, credit_code, phone, address)
         select kind, name, id_number, credit_code, phone, address from seed_parties on conflict do nothing;
         truncate seed_parties;",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes villages and their houses with every record. Certificates are numbered in order of issue.
pub async fn villages(
    conn: &mut PgConnection,
    villages: &[(Village, Vec<House>)],
    investors: &[Party],
    numbers: &mut CertificateNumbers,
    demo: bool,
) -> Result<()> {
    let mut v = CopyRows::new();
    let mut collectives = CopyRows::new();
    let mut owners = CopyRows::new();
    let mut parcels = CopyRows::new();
    let mut houses = CopyRows::new();
    let mut appraisals = CopyRows::new();
    let mut listings = CopyRows::new();
    let mut transactions = CopyRows::new();
    let mut certificates = Vec::new();
    for (village, members) in villages {
        v.text(&village.township_code).text(&village.name).value(village.lon).value(village.lat).end();
        collectives
            .text(&village.township_code)
            .text(&village.name)
            .text(collective_credit_code(&village.township_code, &village.name))
            .end();
        for h in members {
            let (footprint, parcel) = h.rings();
            party_row(&mut owners, &h.owner);
            parcels
                .text(&h.parcel_code)
                .text(&h.township_code)
                .text(&h.village)
                .text("0702")
                .text(polygon_ewkt(&[&parcel]))
                .end();
            houses
                .text(&h.unit_number)
                .text(polygon_ewkt(&[&footprint]))
                .text(format!("{}.{:02}", h.floor_area_centi / 100, h.floor_area_centi % 100))
                .value(h.floors)
                .value(h.year_built)
                .text(h.structure.as_str())
                .text(h.condition.as_str())
                .text(h.status.as_str())
                .text(&h.description)
                .field(h.owner.id_number.as_deref())
                .end();
            let Some(deal) = &h.deal else { continue };
            let a = &deal.appraisal;
            appraisals
                .text(&h.unit_number)
                .text(&a.report_no)
                .text(a.firm)
                .text(&a.appraiser)
                .text(a.method)
                .value(a.valuation_date)
                .value(a.value_fen)
                .value(a.annual_rent_fen)
                .value(a.valid_until)
                .end();
            let l = &deal.listing;
            listings
                .text(&h.unit_number)
                .text(&l.title)
                .value(l.asking_rent_fen)
                .value(l.min_term_months)
                .value(l.max_term_months)
                .text(format!("{{{}}}", l.allowed_uses.join(",")))
                .value(l.notice_start)
                .value(l.notice_end)
                .text(l.status)
                .end();
            let Some(lease) = &deal.lease else { continue };
            let lessee = &investors[lease.lessee];
            transactions
                .text(&h.unit_number)
                .field(lessee.id_number.as_deref())
                .field(lessee.credit_code.as_deref())
                .text(lease.mode)
                .text(&lease.contract_no)
                .value(lease.signed_on)
                .value(lease.lease_start)
                .value(lease.lease_end())
                .value(lease.annual_rent_yuan * 100)
                .value(lease.total_amount_yuan() * 100)
                .text(lease.intended_use)
                .text(schedule_of(&lease.contract_no, demo).plan.as_str())
                .end();
            if let Some(c) = &deal.certificate {
                certificates.push((c.issued_at, &lease.contract_no, &c.verification_code));
            }
        }
    }
    certificates.sort();
    let mut certs = CopyRows::new();
    for (issued_at, contract_no, code) in certificates {
        certs
            .text(contract_no)
            .text(numbers.next(issued_at.year()))
            .text(format!("{} +08:00", issued_at.format("%Y-%m-%d %H:%M:%S")))
            .text(code)
            .end();
    }
    v.send(conn, "copy seed_villages from stdin").await?;
    collectives.send(conn, "copy seed_collectives from stdin").await?;
    owners.send(conn, "copy seed_parties from stdin").await?;
    parcels.send(conn, "copy parcels (parcel_code, township_code, village, land_use, boundary) from stdin").await?;
    houses.send(conn, "copy seed_houses from stdin").await?;
    appraisals.send(conn, "copy seed_appraisals from stdin").await?;
    listings.send(conn, "copy seed_listings from stdin").await?;
    transactions.send(conn, "copy seed_transactions from stdin").await?;
    certs.send(conn, "copy seed_certifications from stdin").await?;
    sqlx::raw_sql(MOVE).execute(&mut *conn).await.context("moving the staged rows into the registry")?;
    schedules(conn, demo).await.context("making the deals' rent schedules")?;
    sqlx::raw_sql(PAY_AND_CERTIFY).execute(&mut *conn).await.context("paying rent and issuing certificates")?;
    Ok(())
}

/// The schedule of deal `contract_no`: in the demo yearly for four deals in five, a lump sum for the rest;
/// in scale data (a million houses for the benchmarks) a lump sum each, so that loading stays a matter of
/// minutes (one instalment and one payment a deal instead of a dozen).
fn schedule_of(contract_no: &str, demo: bool) -> Schedule {
    if !demo || contract_no.bytes().map(u32::from).sum::<u32>().is_multiple_of(5) {
        Schedule::lump_sum()
    } else {
        Schedule { plan: Plan::Yearly, escalation: None, rent_free_months: 0, custom: Vec::new() }
    }
}

/// The rent schedules of the staged deals, made by the registry's own rule ([`rent::instalments`]) from
/// each contract and its village's collective fee ([`schedule_of`]). The deals were written with their
/// plan, fee and land area already (DESIGN §6.2: no second pass over them).
async fn schedules(conn: &mut PgConnection, demo: bool) -> Result<()> {
    type Row = (i64, String, NaiveDate, NaiveDate, NaiveDate, i64, i64, i64, f64);
    let deals: Vec<Row> = sqlx::query_as(
        "select t.id, t.contract_no, t.signed_on, t.lease_start, t.lease_end, t.annual_rent_fen, t.total_amount_fen,
                coalesce(v.collective_fee_fen_per_m2_year, 0), p.area_m2
         from seed_transactions s join transactions t on t.contract_no = s.contract_no
         join farmhouses f on f.id = t.farmhouse_id join parcels p on p.parcel_code = f.parcel_code
         left join villages v on v.township_code = f.township_code and v.name = p.village
         order by t.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut rows = CopyRows::new();
    for (id, contract_no, signed_on, lease_start, lease_end, annual_rent_fen, total_fen, fee, area_m2) in deals {
        let plan = schedule_of(&contract_no, demo);
        let contract = Contract { signed_on, lease_start, lease_end, annual_rent_fen, total_fen };
        let dues = rent::instalments(&plan, &contract, rent::collective_annual_fen(fee, area_m2))
            .map_err(|e| anyhow::anyhow!("deal {contract_no}: {e}"))?;
        for (n, d) in dues.iter().enumerate() {
            rows.value(id).value(n + 1).value(d.due_on).value(d.amount_fen).value(d.household_fen);
            rows.value(d.collective_fen).end();
        }
    }
    rows.send(
        conn,
        "copy instalments (transaction_id, seq, due_on, amount_fen, household_fen, collective_fen) from stdin",
    )
    .await?;
    Ok(())
}

/// The demo's bank, 浙江上虞农村商业银行 (the district's rural commercial bank), and its loans on about one
/// certificate in force in twenty: registered in the last one to thirty-two months (and a month after the
/// certificate at the earliest), for one or three years, at about half the rent still to come; those whose
/// loan has run its course are released on its last day.
pub async fn pledges(conn: &mut PgConnection) -> Result<i64> {
    let org = "14696237";
    let org = format!("{org}{}", crate::domain::identity::organisation_code_check_char(org));
    let first17 = format!("91330604{}", &org[..9]);
    let credit_code = format!("{first17}{}", crate::domain::identity::credit_check_char(&first17));
    let bank: i64 = sqlx::query_scalar(
        "insert into parties (kind, name, credit_code, phone, address)
         values ('organisation', $1, $2, '0575-82126000', '浙江省绍兴市上虞区曹娥街道市民大道618号')
         on conflict (credit_code) do update set name = excluded.name returning id",
    )
    .bind(DEMO_BANK)
    .bind(&credit_code)
    .fetch_one(&mut *conn)
    .await?;
    let made = sqlx::query(
        "insert into pledges (certification_id, bank_party_id, loan_contract_no, amount_fen, loan_start, loan_end,
                              registered_on)
         select c.id, $1, format('上虞农商借字〔%s〕第%s号', extract(year from d.start), c.id),
                greatest(100000, (t.annual_rent_fen * greatest(1, (t.lease_end - d.start) / 365) / 2) / 100000 * 100000),
                d.start, d.start + (365 * (1 + (hashtext(c.certificate_no) >> 8 & 1) * 2)), d.start
         from certifications c join transactions t on t.id = c.transaction_id
         cross join lateral (select greatest((c.issued_at at time zone 'Asia/Shanghai')::date + 30,
                                              china_today() - 30 * (1 + (hashtext(c.certificate_no) >> 4 & 31))) as start) d
         where c.revoked_at is null and t.status = 'signed' and t.lease_end > china_today()
           and (hashtext(c.certificate_no) & 1023) % 20 = 0
           and not exists (select 1 from pledges g where g.certification_id = c.id)
         order by c.id",
    )
    .bind(bank)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update pledges set released_on = loan_end, release_note = '贷款已结清'
         where bank_party_id = $1 and released_on is null and loan_end <= china_today()",
    )
    .bind(bank)
    .execute(&mut *conn)
    .await?;
    Ok(made.rows_affected() as i64)
}

/// The demo district's bank (a party of kind organisation).
pub const DEMO_BANK: &str = "浙江上虞农村商业银行股份有限公司";
