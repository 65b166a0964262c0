//! The closed sets of the records of a deal (docs/DESIGN.md §2): how a house was appraised, where its
//! listing stands, how the lessee was chosen and whether the lease stands; and the checks of each record
//! as an officer enters it, with messages that name the field. The rules of a deal against its listing
//! are in [`super::lifecycle::check_deal`].

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use super::FieldError;
use super::checks::{Checks, document_no, text, within};
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
    c.check("report_no", document_no(&a.report_no, 40));
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
    /// The household or person that lets it: the house's owner of record, which it is when left out.
    pub lessor_party_id: Option<i64>,
    /// The village collective economic organisation (村集体经济组织) of the house's village.
    pub collective_party_id: Option<i64>,
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
    /// How the rent is paid; left out: the total on the first day of the lease (lump_sum).
    pub schedule: Option<super::rent::ScheduleIn>,
}

pub fn check_transaction(t: &TransactionIn) -> Result<NewTransaction, Vec<FieldError>> {
    let mut c = Checks::default();
    let mode = c.check("mode", t.mode.parse::<DealMode>());
    c.check("contract_no", document_no(&t.contract_no, 40));
    c.check("signed_on", date(t.signed_on));
    c.check("lease_start", date(t.lease_start));
    c.check("lease_end", date(t.lease_end).and_then(|_| check_lease(t.lease_start, t.lease_end)));
    if t.signed_on > t.lease_start {
        c.fail("signed_on", format!("a lease is signed before it starts ({})", t.lease_start));
    }
    c.check("intended_use", check_use(&t.intended_use));
    if t.lease_end > t.lease_start {
        c.check(
            "total_amount_yuan",
            check_total(t.annual_rent_yuan.fen(), t.total_amount_yuan.fen(), t.lease_start, t.lease_end),
        );
    }
    let schedule = match &t.schedule {
        None => Some(super::rent::Schedule::lump_sum()),
        Some(s) => match super::rent::check_schedule(s, "schedule") {
            Ok(s) => Some(s),
            Err(errors) => {
                c.extend(errors);
                None
            }
        },
    };
    c.finish(|| NewTransaction {
        schedule: schedule.expect("checked"),
        lessee_party_id: t.lessee_party_id,
        lessor_party_id: t.lessor_party_id,
        collective_party_id: t.collective_party_id,
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
    pub schedule: super::rent::Schedule,
    pub lessee_party_id: i64,
    pub lessor_party_id: Option<i64>,
    pub collective_party_id: Option<i64>,
    pub mode: DealMode,
    pub contract_no: String,
    pub signed_on: NaiveDate,
    pub lease_start: NaiveDate,
    pub lease_end: NaiveDate,
    pub annual_rent_fen: i64,
    pub total_amount_fen: i64,
    pub intended_use: String,
}

/// How far a deal's total may fall below the rent of its whole term: up to a year rent-free (免租期).
pub const RENT_FREE_MONTHS: u32 = 12;
/// How far it may rise above it, in percent: rent escalation over the term (e.g. +5% every 3 years).
pub const ESCALATION_PERCENT: i64 = 50;

/// Checks a deal's total amount against its annual rent over its term (docs/DESIGN.md §2.5): at least the
/// rent of the term less [`RENT_FREE_MONTHS`], at most the rent of the term plus [`ESCALATION_PERCENT`].
pub fn check_total(annual_rent_fen: i64, total_fen: i64, start: NaiveDate, end: NaiveDate) -> Result<(), String> {
    // Whole months of the term, a part month counted as a month.
    let mut months = i64::from(end.years_since(start).unwrap_or(0)) * 12;
    while start.checked_add_months(chrono::Months::new((months + 1) as u32)).is_some_and(|d| d <= end) {
        months += 1;
    }
    if start.checked_add_months(chrono::Months::new(months as u32)).is_some_and(|d| d < end) {
        months += 1;
    }
    let term_fen = i128::from(annual_rent_fen) * i128::from(months) / 12;
    let floor = i128::from(annual_rent_fen) * i128::from((months - i64::from(RENT_FREE_MONTHS)).max(0)) / 12;
    let ceiling = term_fen * i128::from(100 + ESCALATION_PERCENT) / 100;
    let yuan = |f: i128| format!("{:.2}", f as f64 / 100.0);
    if i128::from(total_fen) < floor {
        Err(format!(
            "{} yuan is below the rent of the term ({} yuan over {months} months) less {RENT_FREE_MONTHS} rent-free months ({} yuan)",
            yuan(total_fen.into()),
            yuan(term_fen),
            yuan(floor)
        ))
    } else if i128::from(total_fen) > ceiling {
        Err(format!(
            "{} yuan is above the rent of the term ({} yuan over {months} months) plus {ESCALATION_PERCENT}% escalation ({} yuan)",
            yuan(total_fen.into()),
            yuan(term_fen),
            yuan(ceiling)
        ))
    } else {
        Ok(())
    }
}

// Consent

crate::closed_set! {
    /// What a consent record is: a household member's agreement, the village committee's (村委会) opinion,
    /// or the collective members' meeting (成员大会) resolution.
    pub enum ConsentKind { Member = "member", Committee = "committee", Meeting = "meeting" }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentIn {
    /// member, committee or meeting.
    pub kind: String,
    /// The household member who agrees (member).
    pub member_name: Option<String>,
    /// Whether the member or the committee agrees (member, committee).
    pub agrees: Option<bool>,
    /// The committee's opinion in its words (committee).
    pub opinion: Option<String>,
    /// The votes of the members' meeting (meeting): two thirds of all members must vote for.
    pub votes_for: Option<i64>,
    pub votes_against: Option<i64>,
    pub votes_total: Option<i64>,
    /// The day consent was given, or the meeting held.
    pub given_on: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct NewConsent {
    pub kind: ConsentKind,
    pub member_name: Option<String>,
    pub agrees: Option<bool>,
    pub opinion: Option<String>,
    pub votes: Option<(i32, i32, i32)>,
    pub given_on: NaiveDate,
}

pub fn check_consent(i: &ConsentIn) -> Result<NewConsent, Vec<FieldError>> {
    let mut c = Checks::default();
    let kind = c.check("kind", i.kind.parse::<ConsentKind>());
    c.check("given_on", date(i.given_on));
    let (mut member_name, mut agrees, mut opinion, mut votes) = (None, None, None, None);
    let only = |c: &mut Checks, field: &str, present: bool, kind: &str| {
        if present {
            c.fail(field, format!("is not part of a {kind} consent"));
        }
    };
    match kind {
        Some(ConsentKind::Member) => {
            member_name = c.required(
                "member_name",
                i.member_name.as_deref(),
                "is required: the household member who agrees",
                |n| text(n, 1, 100),
            );
            agrees = i.agrees.or_else(|| {
                c.fail("agrees", "is required: true or false");
                None
            });
            only(&mut c, "opinion", i.opinion.is_some(), "member");
            only(&mut c, "votes_for", i.votes_for.is_some() || i.votes_total.is_some(), "member");
        }
        Some(ConsentKind::Committee) => {
            agrees = i.agrees.or_else(|| {
                c.fail("agrees", "is required: true or false");
                None
            });
            opinion = i.opinion.as_deref().and_then(|o| c.check("opinion", super::checks::paragraphs(o, 0, 1000)));
            only(&mut c, "member_name", i.member_name.is_some(), "committee");
            only(&mut c, "votes_for", i.votes_for.is_some() || i.votes_total.is_some(), "committee");
        }
        Some(ConsentKind::Meeting) => {
            let mut count = |field: &str, v: Option<i64>, min: i64| {
                c.required(field, v, "is required for a meeting", |v| within(v, min..=100_000).map(|v| v as i32))
            };
            let (f, a, t) = (
                count("votes_for", i.votes_for, 0),
                count("votes_against", i.votes_against, 0),
                count("votes_total", i.votes_total, 1),
            );
            if let (Some(f), Some(a), Some(t)) = (f, a, t) {
                if f + a > t {
                    c.fail("votes_total", format!("{f} for and {a} against are more than {t} members"));
                }
                votes = Some((f, a, t));
            }
            only(&mut c, "member_name", i.member_name.is_some(), "meeting");
            only(&mut c, "agrees", i.agrees.is_some(), "meeting");
        }
        None => {}
    }
    c.finish(|| NewConsent {
        kind: kind.expect("finish builds only when every check passed"),
        member_name,
        agrees,
        opinion,
        votes,
        given_on: i.given_on,
    })
}

// Papers

crate::closed_set! {
    /// The papers (材料) an officer attaches to a deal or a house.
    pub enum PaperKind {
        LeaseContract = "lease_contract",
        ListingEntrustment = "listing_entrustment",
        IdCopy = "id_copy",
        AppraisalReport = "appraisal_report",
        SafetyAppraisal = "safety_appraisal",
    }
}

impl PaperKind {
    /// Whether the paper belongs to a deal only (a contract, the parties' ID cards), not to a house.
    pub fn of_a_deal_only(self) -> bool {
        matches!(self, PaperKind::LeaseContract | PaperKind::IdCopy)
    }

    /// Whether only officers and admins may see it: the copies of ID cards.
    pub fn identity(self) -> bool {
        self == PaperKind::IdCopy
    }
}

crate::closed_set! {
    /// The grade of a house safety appraisal (房屋安全鉴定): A safe, B basically safe, C partly dangerous,
    /// D dangerous.
    pub enum SafetyGrade { A = "A", B = "B", C = "C", D = "D" }
}

/// The most a paper may weigh.
pub const MAX_PAPER_BYTES: usize = 10 * 1024 * 1024;

/// Checks a paper's kind, grade and bytes; returns its media type, told by its bytes (what the client's
/// Content-Type claims is not trusted).
pub fn check_paper(
    kind: Option<&str>,
    grade: Option<&str>,
    bytes: &[u8],
) -> Result<(PaperKind, Option<SafetyGrade>, &'static str), Vec<FieldError>> {
    let mut c = Checks::default();
    let kind = c.required(
        "kind",
        kind,
        "is required: lease_contract, listing_entrustment, id_copy, appraisal_report or safety_appraisal",
        str::parse::<PaperKind>,
    );
    let grade = match (kind, grade) {
        (Some(PaperKind::SafetyAppraisal), Some(g)) => c.check("grade", g.parse::<SafetyGrade>()),
        (Some(PaperKind::SafetyAppraisal), None) => {
            c.fail("grade", "a safety appraisal states its grade: A, B, C or D");
            None
        }
        (_, Some(_)) => {
            c.fail("grade", "only a safety appraisal has a grade");
            None
        }
        (_, None) => None,
    };
    let media = match infer::get(bytes).map(|t| t.mime_type()) {
        _ if bytes.is_empty() => {
            c.fail("file", "is empty");
            None
        }
        _ if bytes.len() > MAX_PAPER_BYTES => {
            c.fail("file", format!("has {} bytes; at most {MAX_PAPER_BYTES}", bytes.len()));
            None
        }
        Some("application/pdf") => Some("application/pdf"),
        Some("image/jpeg") => Some("image/jpeg"),
        Some("image/png") => Some("image/png"),
        Some(other) => {
            c.fail("file", format!("is {other}; a paper is a PDF, JPEG or PNG file"));
            None
        }
        None => {
            c.fail("file", "is not a PDF, JPEG or PNG file (told by its bytes)");
            None
        }
    };
    c.finish(|| (kind.expect("checked"), grade, media.expect("checked")))
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
