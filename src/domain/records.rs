//! The closed sets of the records of a deal (docs/DESIGN.md §2): how a house was appraised, where its
//! listing stands, how the lessee was chosen and whether the lease stands; and the checks of each record
//! as an officer enters it, with messages that name the field. The rules of a deal against its listing
//! are in [`super::lifecycle::check_deal`].

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::FieldError;
use super::checks::{Checks, text, within};
use super::lifecycle::{MAX_LEASE_YEARS, check_lease, check_notice, check_use};
use super::money::Yuan;

crate::closed_set! {
    /// Appraisal method (评估方法).
    pub enum AppraisalMethod { MarketComparison = "市场比较法", Income = "收益法", Cost = "成本法" }
}

crate::closed_set! {
    /// Where a listing (挂牌) stands: open on the exchange, withdrawn by the owner, or closed by a deal.
    pub enum ListingStatus { Open = "open", Withdrawn = "withdrawn", Closed = "closed" }
}

crate::closed_set! {
    /// How the lessee was chosen (成交方式): by agreement, auction or tender.
    pub enum DealMode { Agreement = "协议", Auction = "竞价", Tender = "招标" }
}

crate::closed_set! {
    /// Whether a lease stands: signed (in force until its end) or terminated early.
    pub enum TransactionStatus { Signed = "signed", Terminated = "terminated" }
}

/// Dates the registry accepts: nothing before the programme's records or absurdly far ahead.
pub fn date(d: NaiveDate) -> Result<NaiveDate, String> {
    let (min, max) = (NaiveDate::from_ymd_opt(1990, 1, 1), NaiveDate::from_ymd_opt(2100, 12, 31));
    if Some(d) < min || Some(d) > max { Err(format!("{d} is not between 1990 and 2100")) } else { Ok(d) }
}

// Appraisals

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppraisalIn {
    pub report_no: String,
    pub firm: String,
    /// The registered appraiser who signed the report.
    pub appraiser: String,
    pub method: String,
    pub valuation_date: NaiveDate,
    #[schema(value_type = f64)]
    pub value_yuan: Yuan,
    #[schema(value_type = f64)]
    pub annual_rent_yuan: Yuan,
    pub valid_until: NaiveDate,
}

pub fn check_appraisal(a: &AppraisalIn) -> Result<NewAppraisal, Vec<FieldError>> {
    let mut c = Checks::default();
    let report_ok = a.report_no.chars().count() >= 4
        && a.report_no.chars().count() <= 40
        && a.report_no.chars().all(|ch| ch.is_ascii_alphanumeric() || "()（）〔〕[]-".contains(ch));
    if !report_ok {
        c.fail("report_no", "4 to 40 letters, digits, brackets or dashes");
    }
    let firm = c.check("firm", text(&a.firm, 1, 200));
    let appraiser = c.check("appraiser", text(&a.appraiser, 1, 100));
    let method = c.check("method", a.method.parse::<AppraisalMethod>());
    c.check("valuation_date", date(a.valuation_date));
    c.check("valid_until", date(a.valid_until));
    if a.valid_until <= a.valuation_date {
        c.fail("valid_until", "must be after the valuation date");
    }
    c.finish(|| NewAppraisal {
        report_no: a.report_no.clone(),
        firm: firm.unwrap_or_default(),
        appraiser: appraiser.unwrap_or_default(),
        method: method.expect("finish builds only when every check passed"),
        valuation_date: a.valuation_date,
        value_fen: a.value_yuan.fen(),
        annual_rent_fen: a.annual_rent_yuan.fen(),
        valid_until: a.valid_until,
    })
}

#[derive(Debug, Clone)]
pub struct NewAppraisal {
    pub report_no: String,
    pub firm: String,
    pub appraiser: String,
    pub method: AppraisalMethod,
    pub valuation_date: NaiveDate,
    pub value_fen: i64,
    pub annual_rent_fen: i64,
    pub valid_until: NaiveDate,
}

// Listings

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingIn {
    /// A showcase name (optional).
    pub title: Option<String>,
    #[schema(value_type = f64)]
    pub asking_rent_yuan: Yuan,
    pub min_term_months: i64,
    pub max_term_months: i64,
    /// 民宿, 康养, 文创, 电商, 来料加工, 其他.
    pub allowed_uses: Vec<String>,
    /// The notice period (公示): at least 7 days.
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
}

pub fn check_listing(l: &ListingIn) -> Result<NewListing, Vec<FieldError>> {
    let mut c = Checks::default();
    let title = c.check("title", text(l.title.as_deref().unwrap_or(""), 0, 100));
    let max_months = i64::from(MAX_LEASE_YEARS) * 12;
    let min = c.check("min_term_months", within(l.min_term_months, 1..=max_months));
    let max = c.check("max_term_months", within(l.max_term_months, 1..=max_months));
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        c.fail("max_term_months", format!("{max} is below min_term_months ({min})"));
    }
    if l.allowed_uses.is_empty() {
        c.fail("allowed_uses", "name at least one use");
    }
    for (i, u) in l.allowed_uses.iter().enumerate() {
        c.check(&format!("allowed_uses[{i}]"), check_use(u));
        if l.allowed_uses[..i].contains(u) {
            c.fail(&format!("allowed_uses[{i}]"), format!("{u} is named twice"));
        }
    }
    c.check("notice_start", date(l.notice_start));
    c.check("notice_end", date(l.notice_end).and_then(|_| check_notice(l.notice_start, l.notice_end)));
    c.finish(|| NewListing {
        title: title.unwrap_or_default(),
        asking_rent_fen: l.asking_rent_yuan.fen(),
        min_term_months: l.min_term_months as i16,
        max_term_months: l.max_term_months as i16,
        allowed_uses: l.allowed_uses.clone(),
        notice_start: l.notice_start,
        notice_end: l.notice_end,
    })
}

#[derive(Debug, Clone)]
pub struct NewListing {
    pub title: String,
    pub asking_rent_fen: i64,
    pub min_term_months: i16,
    pub max_term_months: i16,
    pub allowed_uses: Vec<String>,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
}

// Transactions

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionIn {
    /// The investor party that leases the house.
    pub lessee_party_id: i64,
    /// 协议 (negotiated), 竞价 (bidding) or 招标 (tender).
    pub mode: String,
    pub contract_no: String,
    pub signed_on: NaiveDate,
    pub lease_start: NaiveDate,
    /// The day after the last day of the lease (at most 20 years after the start).
    pub lease_end: NaiveDate,
    #[schema(value_type = f64)]
    pub annual_rent_yuan: Yuan,
    #[schema(value_type = f64)]
    pub total_amount_yuan: Yuan,
    pub intended_use: String,
}

pub fn check_transaction(t: &TransactionIn) -> Result<NewTransaction, Vec<FieldError>> {
    let mut c = Checks::default();
    let mode = c.check("mode", t.mode.parse::<DealMode>());
    let contract_ok = (4..=40).contains(&t.contract_no.len())
        && t.contract_no.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !contract_ok {
        c.fail("contract_no", "4 to 40 letters, digits or dashes");
    }
    c.check("signed_on", date(t.signed_on));
    c.check("lease_start", date(t.lease_start));
    c.check("lease_end", date(t.lease_end).and_then(|_| check_lease(t.lease_start, t.lease_end)));
    if t.signed_on > t.lease_start {
        c.fail("signed_on", format!("a lease is signed before it starts ({})", t.lease_start));
    }
    c.check("intended_use", check_use(&t.intended_use));
    c.finish(|| NewTransaction {
        lessee_party_id: t.lessee_party_id,
        mode: mode.expect("finish builds only when every check passed"),
        contract_no: t.contract_no.clone(),
        signed_on: t.signed_on,
        lease_start: t.lease_start,
        lease_end: t.lease_end,
        annual_rent_fen: t.annual_rent_yuan.fen(),
        total_amount_fen: t.total_amount_yuan.fen(),
        intended_use: t.intended_use.clone(),
    })
}

#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub lessee_party_id: i64,
    pub mode: DealMode,
    pub contract_no: String,
    pub signed_on: NaiveDate,
    pub lease_start: NaiveDate,
    pub lease_end: NaiveDate,
    pub annual_rent_fen: i64,
    pub total_amount_fen: i64,
    pub intended_use: String,
}

// Certificates

/// A party as a certificate names it: its id and its masked name (王**; an organisation in full).
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize, ToSchema)]
pub struct NamedParty {
    pub party_id: i64,
    pub name: String,
}

/// What a certificate (鉴证书) states, frozen when it is issued (`certifications.facts`): verification, the
/// document and the figures of past months read this, never the house's row of today.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize, ToSchema)]
pub struct CertificateFacts {
    pub certificate_no: String,
    pub unit_number: String,
    pub parcel_code: String,
    pub township_code: String,
    pub township_name: String,
    pub village: String,
    pub floor_area_m2: f64,
    pub structure: String,
    /// The owner household, if the registry knows it.
    pub lessor: Option<NamedParty>,
    pub lessee: NamedParty,
    pub contract_no: String,
    pub lease_start: NaiveDate,
    /// The day after the last day of the lease.
    pub lease_end: NaiveDate,
    pub annual_rent_fen: i64,
    pub total_amount_fen: i64,
    pub intended_use: String,
    /// The officer who issued it (user name), if recorded.
    pub officer: Option<String>,
    pub issued_at: chrono::DateTime<chrono::Utc>,
}
