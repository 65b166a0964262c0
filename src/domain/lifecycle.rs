//! The life of a house in the programme (docs/DESIGN.md §2):
//!
//! ```text
//! registered --list--> listed --sign--> contracted --certify--> certified
//!     ^                  |                  ^                       |
//!     +----withdraw------+                  +--------revoke---------+
//!     +-------------------- lease ends (contracted or certified) ---+
//! ```
//!
//! Each action is allowed from exactly the states drawn; anything else is refused with the current state.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::FieldError;

/// The state of a house.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Status {
    /// Idle and surveyed (闲置, 已登记).
    Registered,
    /// On the exchange (挂牌).
    Listed,
    /// A lease is signed (成交), awaiting certification.
    Contracted,
    /// The lease is certified (鉴证): the house counts as activated.
    Certified,
}

/// What can happen to a house.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    List,
    Withdraw,
    Sign,
    Certify,
    Revoke,
    EndLease,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Registered, Status::Listed, Status::Contracted, Status::Certified];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Registered => "registered",
            Status::Listed => "listed",
            Status::Contracted => "contracted",
            Status::Certified => "certified",
        }
    }

    /// The state after `action`, or why the action is not allowed now.
    #[allow(clippy::match_same_arms, reason = "one arm per arrow of the diagram above")]
    pub fn after(self, action: Action) -> Result<Status, String> {
        use Action::{Certify, EndLease, List, Revoke, Sign, Withdraw};
        use Status::{Certified, Contracted, Listed, Registered};
        match (self, action) {
            (Registered, List) => Ok(Listed),
            (Listed, Withdraw) => Ok(Registered),
            (Listed, Sign) => Ok(Contracted),
            (Contracted, Certify) => Ok(Certified),
            (Certified, Revoke) => Ok(Contracted),
            (Contracted | Certified, EndLease) => Ok(Registered),
            (state, action) => Err(format!("a {} house cannot be {}", state.as_str(), action.past_tense())),
        }
    }
}

impl Action {
    fn past_tense(self) -> &'static str {
        match self {
            Action::List => "listed",
            Action::Withdraw => "withdrawn from listing",
            Action::Sign => "leased",
            Action::Certify => "certified",
            Action::Revoke => "revoked",
            Action::EndLease => "released from a lease",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown status {s:?}: one of registered, listed, contracted, certified"))
    }
}

/// The longest lease the Civil Code allows (art. 705).
pub const MAX_LEASE_YEARS: u32 = 20;
/// The shortest notice period (公示) of a listing, in days.
pub const MIN_NOTICE_DAYS: i64 = 7;

/// Checks a lease period [start, end): at least one day, at most twenty years.
pub fn check_lease(start: NaiveDate, end: NaiveDate) -> Result<(), String> {
    if end <= start {
        return Err(format!("the lease must end after it starts ({start}); it ends {end}"));
    }
    let limit = start.checked_add_months(Months::new(12 * MAX_LEASE_YEARS)).expect("a date in range");
    if end > limit {
        return Err(format!(
            "a lease runs at most {MAX_LEASE_YEARS} years (Civil Code art. 705): from {start} it may end on {limit} at the latest"
        ));
    }
    Ok(())
}

/// Whole months of the period [start, end), rounded up (a lease of 12 months and 3 days is 13 months).
pub fn lease_months(start: NaiveDate, end: NaiveDate) -> u32 {
    let mut months = (end.year() - start.year()) as u32 * 12 + end.month() - start.month();
    if end.day() < start.day() {
        months = months.saturating_sub(1);
    }
    let whole = start.checked_add_months(Months::new(months)).expect("a date in range");
    if whole < end { months + 1 } else { months }
}

/// Checks a notice period (公示) of a listing.
pub fn check_notice(start: NaiveDate, end: NaiveDate) -> Result<(), String> {
    let days = (end - start).num_days();
    if days < MIN_NOTICE_DAYS {
        return Err(format!(
            "the notice period (公示) lasts at least {MIN_NOTICE_DAYS} days; {start}..{end} is {days}"
        ));
    }
    Ok(())
}

/// The uses an investor may put a house to.
pub const USES: [&str; 6] = ["民宿", "康养", "文创", "电商", "来料加工", "其他"];

pub fn check_use(u: &str) -> Result<(), String> {
    if USES.contains(&u) { Ok(()) } else { Err(format!("unknown use {u:?}: one of {}", USES.join(", "))) }
}

crate::closed_set! {
    /// Where a certificate stands on a given day: its lease in force, ended early (退租), run to its end,
    /// or the certificate revoked.
    pub enum CertificateState { InForce = "in_force", Ended = "ended", Expired = "expired", Revoked = "revoked" }
}

/// The state of a certificate on `today`, from its records: revoked (whenever it was), else its lease
/// ended early (`terminated_on`), else run out (`lease_end` is the day after its last day), else in force.
/// Computed each time it is asked, never stored, so it cannot go stale.
pub fn certificate_state(
    revoked: bool,
    terminated_on: Option<NaiveDate>,
    lease_end: NaiveDate,
    today: NaiveDate,
) -> CertificateState {
    if revoked {
        CertificateState::Revoked
    } else if terminated_on.is_some_and(|d| d <= today) {
        CertificateState::Ended
    } else if lease_end <= today {
        CertificateState::Expired
    } else {
        CertificateState::InForce
    }
}

/// The last day of a lease whose `lease_end` is, as recorded, the day after it: what people read on a
/// certificate and its verification page.
pub fn last_day(lease_end: NaiveDate) -> NaiveDate {
    lease_end.pred_opt().unwrap_or(lease_end)
}

/// Today's date in Beijing (Asia/Shanghai, UTC+8 all year): the calendar of the registry's records,
/// certificate years and lease terms.
pub fn beijing_today() -> NaiveDate {
    beijing_date(chrono::Utc::now())
}

/// The Beijing calendar date of instant `at`.
pub fn beijing_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    at.with_timezone(&beijing).date_naive()
}

/// What an open listing offers: a deal is checked against it when it is signed.
#[derive(Debug, Clone, Copy)]
pub struct ListingTerms<'a> {
    pub listing: i64,
    pub notice_end: NaiveDate,
    pub min_term_months: i16,
    pub max_term_months: i16,
    pub allowed_uses: &'a [String],
}

/// The terms of a deal (成交) that bear on its listing.
#[derive(Debug, Clone, Copy)]
pub struct DealTerms<'a> {
    pub signed_on: NaiveDate,
    pub lease_start: NaiveDate,
    pub lease_end: NaiveDate,
    pub intended_use: &'a str,
}

/// A deal is signed after the listing's notice period, for a use it allows and a term it offers.
pub fn check_deal(l: &ListingTerms<'_>, d: &DealTerms<'_>) -> Result<(), FieldError> {
    let listing = l.listing;
    if d.signed_on <= l.notice_end {
        return Err(FieldError::new(
            "signed_on",
            format!(
                "the notice period (公示) of listing {listing} runs to {}; a deal may be signed after it",
                l.notice_end
            ),
        ));
    }
    if !l.allowed_uses.iter().any(|u| u == d.intended_use) {
        return Err(FieldError::new(
            "intended_use",
            format!("listing {listing} allows {}, not {}", l.allowed_uses.join(", "), d.intended_use),
        ));
    }
    let months = lease_months(d.lease_start, d.lease_end);
    if months < u32::try_from(l.min_term_months).unwrap_or(0) || months > u32::try_from(l.max_term_months).unwrap_or(0)
    {
        return Err(FieldError::new(
            "lease_end",
            format!(
                "the lease runs {months} months; listing {listing} offers {} to {} months",
                l.min_term_months, l.max_term_months
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_lifecycle_allows_exactly_the_drawn_transitions() {
        use Action::*;
        use Status::*;
        let allowed = [
            (Registered, List, Listed),
            (Listed, Withdraw, Registered),
            (Listed, Sign, Contracted),
            (Contracted, Certify, Certified),
            (Certified, Revoke, Contracted),
            (Contracted, EndLease, Registered),
            (Certified, EndLease, Registered),
        ];
        for s in Status::ALL {
            for a in [List, Withdraw, Sign, Certify, Revoke, EndLease] {
                let expected = allowed.iter().find(|(from, act, _)| *from == s && *act == a).map(|t| t.2);
                assert_eq!(s.after(a).ok(), expected, "{s:?} {a:?}");
            }
        }
        assert_eq!(Certified.after(Certify).unwrap_err(), "a certified house cannot be certified");
    }

    #[test]
    fn a_lease_runs_one_day_to_twenty_years() {
        assert!(check_lease(d("2020-03-01"), d("2020-03-02")).is_ok());
        assert!(check_lease(d("2020-03-01"), d("2040-03-01")).is_ok());
        assert!(check_lease(d("2020-03-01"), d("2040-03-02")).unwrap_err().contains("20 years"));
        assert!(check_lease(d("2020-03-01"), d("2020-03-01")).is_err());
        assert!(check_lease(d("2020-02-29"), d("2040-02-29")).is_ok());
    }

    #[test]
    fn lease_months_round_up() {
        assert_eq!(lease_months(d("2020-01-01"), d("2021-01-01")), 12);
        assert_eq!(lease_months(d("2020-01-01"), d("2021-01-04")), 13);
        assert_eq!(lease_months(d("2020-01-31"), d("2020-02-29")), 1);
        assert_eq!(lease_months(d("2020-01-15"), d("2020-01-16")), 1);
        assert_eq!(lease_months(d("2020-03-01"), d("2040-03-01")), 240);
    }

    #[test]
    fn a_deal_fits_its_listing() {
        let uses = vec!["民宿".to_string()];
        let l = ListingTerms {
            listing: 7,
            notice_end: d("2020-01-10"),
            min_term_months: 12,
            max_term_months: 60,
            allowed_uses: &uses,
        };
        let deal = DealTerms {
            signed_on: d("2020-01-11"),
            lease_start: d("2020-02-01"),
            lease_end: d("2025-02-01"),
            intended_use: "民宿",
        };
        assert_eq!(check_deal(&l, &deal), Ok(()));
        assert_eq!(check_deal(&l, &DealTerms { signed_on: d("2020-01-10"), ..deal }).unwrap_err().field, "signed_on");
        assert_eq!(check_deal(&l, &DealTerms { intended_use: "电商", ..deal }).unwrap_err().field, "intended_use");
        let long = DealTerms { lease_end: d("2025-02-02"), ..deal };
        assert_eq!(
            check_deal(&l, &long).unwrap_err().message,
            "the lease runs 61 months; listing 7 offers 12 to 60 months"
        );
    }

    #[test]
    fn a_certificate_state_follows_its_records_on_the_day_asked() {
        let end = d("2025-02-01");
        assert_eq!(certificate_state(false, None, end, d("2025-01-31")), CertificateState::InForce);
        assert_eq!(certificate_state(false, None, end, d("2025-02-01")), CertificateState::Expired);
        assert_eq!(certificate_state(false, Some(d("2023-05-01")), end, d("2024-01-01")), CertificateState::Ended);
        assert_eq!(certificate_state(false, Some(d("2023-05-01")), end, d("2023-04-30")), CertificateState::InForce);
        assert_eq!(certificate_state(true, None, end, d("2021-01-01")), CertificateState::Revoked);
    }

    #[test]
    fn the_first_hours_of_new_year_in_beijing_belong_to_the_new_year() {
        let at = "2024-12-31T16:30:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        assert_eq!(beijing_date(at), d("2025-01-01"));
    }

    #[test]
    fn a_notice_period_lasts_seven_days() {
        assert!(check_notice(d("2020-01-01"), d("2020-01-08")).is_ok());
        assert!(check_notice(d("2020-01-01"), d("2020-01-07")).is_err());
    }
}
