//! Writing generated villages and houses: COPY into temporary staging tables, then one INSERT … SELECT per
//! registry table that resolves references by natural keys (ID numbers, unit numbers, contract numbers).
//! The rows pass every constraint and trigger of the schema, so the history records them (actor `seed`)
//! and the statistics follow.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::Datelike;
use sqlx::PgConnection;

use super::houses::{House, Party, Village};
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
        annual_rent_fen bigint, total_amount_fen bigint, intended_use text);
    create temp table if not exists seed_certifications (contract_no text, certificate_no text,
        issued_at timestamptz, verification_code text);
";

const MOVE: &str = "
    insert into parties (kind, name, id_number, credit_code, phone, address)
        select kind, name, id_number, credit_code, phone, address from seed_parties on conflict do nothing;
    insert into villages (township_code, name, location)
        select township_code, name, st_setsrid(st_makepoint(lon, lat), 4326) from seed_villages
        on conflict do nothing;
    insert into farmhouses (unit_number, township_code, footprint, floor_area_m2, floors, year_built, structure,
                            condition, status, description, owner_party_id)
        select s.unit_number, p.township_code, s.footprint, s.floor_area_m2, s.floors, s.year_built, s.structure,
               s.condition, s.status, s.description, o.id
        from seed_houses s join parcels p on p.parcel_code = left(s.unit_number, 19)::char(19)
        join parties o on o.id_number = s.owner_id_number;
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
                              lease_start, lease_end, annual_rent_fen, total_amount_fen, intended_use)
        select l.id, f.id,
               coalesce((select id from parties where credit_code = s.lessee_credit_code),
                        (select id from parties where id_number = s.lessee_id_number)),
               s.mode, s.contract_no, s.signed_on, s.lease_start, s.lease_end, s.annual_rent_fen,
               s.total_amount_fen, s.intended_use
        from seed_transactions s join farmhouses f on f.unit_number = s.unit_number
        join listings l on l.farmhouse_id = f.id and l.status = 'closed';
    insert into certifications (certificate_no, transaction_id, issued_at, verification_code)
        select s.certificate_no, t.id, s.issued_at, s.verification_code
        from seed_certifications s join transactions t on t.contract_no = s.contract_no
        order by s.issued_at;
    truncate seed_parties, seed_villages, seed_houses, seed_appraisals, seed_listings, seed_transactions,
             seed_certifications;
";

/// Creates the staging tables on `conn` (temporary: they vanish with the connection).
pub async fn prepare(conn: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql(STAGING).execute(&mut *conn).await.context("creating the staging tables")?;
    Ok(())
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
) -> Result<()> {
    let mut v = CopyRows::new();
    let mut owners = CopyRows::new();
    let mut parcels = CopyRows::new();
    let mut houses = CopyRows::new();
    let mut appraisals = CopyRows::new();
    let mut listings = CopyRows::new();
    let mut transactions = CopyRows::new();
    let mut certificates = Vec::new();
    for (village, members) in villages {
        v.text(&village.township_code).text(&village.name).value(village.lon).value(village.lat).end();
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
    owners.send(conn, "copy seed_parties from stdin").await?;
    parcels.send(conn, "copy parcels (parcel_code, township_code, village, land_use, boundary) from stdin").await?;
    houses.send(conn, "copy seed_houses from stdin").await?;
    appraisals.send(conn, "copy seed_appraisals from stdin").await?;
    listings.send(conn, "copy seed_listings from stdin").await?;
    transactions.send(conn, "copy seed_transactions from stdin").await?;
    certs.send(conn, "copy seed_certifications from stdin").await?;
    sqlx::raw_sql(MOVE).execute(&mut *conn).await.context("moving the staged rows into the registry")?;
    Ok(())
}
