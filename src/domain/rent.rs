//! A deal's rent schedule and where its money goes (docs/DESIGN.md §2.6): the instalments a payment plan
//! makes of a contract, each split between the household (农户租金) and the village collective (集体收益),
//! payments against them, and pledges a bank registers on a certificate. Integer fen throughout.

use chrono::{Months, NaiveDate};
use serde::Deserialize;
use utoipa::ToSchema;

use super::FieldError;
use super::checks::{Checks, document_no, text};
use super::money::{MAX_FEN, Yuan};
use super::records::date;

crate::closed_set! {
    /// How a deal's rent is paid: all at once (一次性), once a year in advance, or on days the contract names.
    pub enum Plan { LumpSum = "lump_sum", Yearly = "yearly", Custom = "custom" }
}

crate::closed_set! {
    /// How a payment was made.
    pub enum PaymentMethod { BankTransfer = "bank_transfer", Cash = "cash", Mobile = "mobile", Cheque = "cheque" }
}

/// The most instalments a schedule has.
pub const MAX_INSTALMENTS: usize = 1000;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstalmentIn {
    pub due_on: NaiveDate,
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    /// lump_sum (the total on the first day of the lease; the default), yearly (each year's rent at the
    /// start of the year) or custom (the instalments given).
    pub plan: String,
    /// yearly: the rent rises by this percent (at most two decimals) …
    #[schema(value_type = Option<f64>)]
    pub escalation_percent: Option<Yuan>,
    /// … every so many years, compounding (+5% every 3 years: 5 and 3).
    pub escalation_every_years: Option<i64>,
    /// yearly: months at the start of the lease without rent (免租期).
    pub rent_free_months: Option<i64>,
    /// custom: the instalments, adding up to the deal's total amount.
    pub instalments: Option<Vec<InstalmentIn>>,
}

/// A checked payment plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub plan: Plan,
    /// Hundredths of a percent and the years between rises.
    pub escalation: Option<(u32, u32)>,
    pub rent_free_months: u32,
    /// custom: (due day, fen), in the order given.
    pub custom: Vec<(NaiveDate, i64)>,
}

impl Schedule {
    /// The plan a deal gets when none is given: the whole amount on the first day of the lease.
    pub fn lump_sum() -> Self {
        Self { plan: Plan::LumpSum, escalation: None, rent_free_months: 0, custom: Vec::new() }
    }
}

/// Checks a payment plan; field names are nested under `prefix` (`schedule`).
pub fn check_schedule(i: &ScheduleIn, prefix: &str) -> Result<Schedule, Vec<FieldError>> {
    let mut c = Checks::under(prefix);
    let plan = c.check("plan", i.plan.parse::<Plan>());
    let not_part = |c: &mut Checks, field: &str, present: bool| {
        if present {
            c.fail(field, format!("is not part of a {} plan", i.plan.trim()));
        }
    };
    let mut escalation = None;
    let mut rent_free_months = 0;
    let mut custom = Vec::new();
    match plan {
        Some(Plan::Yearly) => {
            match (i.escalation_percent, i.escalation_every_years) {
                (None, None) => {}
                (Some(p), Some(every)) => {
                    let bp = c.check(
                        "escalation_percent",
                        u32::try_from(p.fen())
                            .ok()
                            .filter(|bp| (1..=10_000).contains(bp))
                            .ok_or_else(|| format!("{p}% is not a rise between 0.01% and 100%")),
                    );
                    let every = c.check(
                        "escalation_every_years",
                        u32::try_from(every)
                            .ok()
                            .filter(|y| (1..=20).contains(y))
                            .ok_or_else(|| format!("{every} is not a number of years from 1 to 20")),
                    );
                    escalation = bp.zip(every);
                }
                (Some(_), None) => c.fail("escalation_every_years", "is required with escalation_percent"),
                (None, Some(_)) => c.fail("escalation_percent", "is required with escalation_every_years"),
            }
            if let Some(m) = i.rent_free_months {
                rent_free_months = c
                    .check(
                        "rent_free_months",
                        u32::try_from(m)
                            .ok()
                            .filter(|m| *m <= 60)
                            .ok_or_else(|| format!("{m} is not a number of months from 0 to 60")),
                    )
                    .unwrap_or(0);
            }
            not_part(&mut c, "instalments", i.instalments.is_some());
        }
        Some(Plan::Custom) => {
            let given = i.instalments.as_deref().unwrap_or_default();
            if given.is_empty() {
                c.fail("instalments", "are required: at least one due day and amount");
            } else if given.len() > MAX_INSTALMENTS {
                c.fail("instalments", format!("{} instalments: at most {MAX_INSTALMENTS}", given.len()));
            }
            for (n, d) in given.iter().enumerate().take(MAX_INSTALMENTS) {
                c.check(&format!("instalments[{n}].due_on"), date(d.due_on));
                if d.amount_yuan.fen() == 0 {
                    c.fail(&format!("instalments[{n}].amount_yuan"), "an instalment is more than nothing");
                }
                custom.push((d.due_on, d.amount_yuan.fen()));
            }
            not_part(
                &mut c,
                "escalation_percent",
                i.escalation_percent.is_some() || i.escalation_every_years.is_some(),
            );
            not_part(&mut c, "rent_free_months", i.rent_free_months.is_some());
        }
        Some(Plan::LumpSum) | None => {
            not_part(
                &mut c,
                "escalation_percent",
                i.escalation_percent.is_some() || i.escalation_every_years.is_some(),
            );
            not_part(&mut c, "rent_free_months", i.rent_free_months.is_some());
            not_part(&mut c, "instalments", i.instalments.is_some());
        }
    }
    c.finish(|| Schedule { plan: plan.expect("checked"), escalation, rent_free_months, custom })
}

/// What a schedule is made from: the contract's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    pub signed_on: NaiveDate,
    pub lease_start: NaiveDate,
    /// The day after the last day of the lease.
    pub lease_end: NaiveDate,
    pub annual_rent_fen: i64,
    pub total_fen: i64,
}

/// One instalment as the schedule makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub due_on: NaiveDate,
    pub amount_fen: i64,
    pub household_fen: i64,
    pub collective_fen: i64,
}

/// The instalments of `schedule` for `contract`, each split so that the collective receives
/// `collective_annual_fen` a year of the lease (pro rata by day, never more than the rent): the field that
/// is wrong and why when the plan does not fit the contract, named within the schedule (`instalments[0].due_on`;
/// empty: the plan as a whole).
pub fn instalments(
    schedule: &Schedule,
    contract: &Contract,
    collective_annual_fen: i64,
) -> Result<Vec<Due>, FieldError> {
    let amounts = match schedule.plan {
        Plan::LumpSum if contract.total_fen == 0 => Vec::new(),
        Plan::LumpSum => vec![(contract.lease_start, contract.total_fen)],
        Plan::Yearly => yearly(schedule, contract)?,
        Plan::Custom => custom(&schedule.custom, contract)?,
    };
    let total: i64 = amounts.iter().map(|(_, a)| a).sum();
    let term_days = (contract.lease_end - contract.lease_start).num_days().max(0);
    let collective_total = (i128::from(collective_annual_fen) * i128::from(term_days) + 182) / 365;
    let collective_total = i64::try_from(collective_total).unwrap_or(i64::MAX).min(total);
    Ok(split(&amounts, collective_total))
}

/// Yearly instalments: each lease year's rent due on its first day (or the first day after the rent-free
/// months), a part year pro rata by day, rising by the escalation, rounded to the fen; the rounding (at
/// most a fen an instalment) is taken up by the last.
fn yearly(s: &Schedule, c: &Contract) -> Result<Vec<(NaiveDate, i64)>, FieldError> {
    let free_end = add_months(c.lease_start, s.rent_free_months);
    let mut out = Vec::new();
    let mut rate = i128::from(c.annual_rent_fen);
    let mut year = 0u32;
    loop {
        let start = add_months(c.lease_start, 12 * year);
        if start >= c.lease_end {
            break;
        }
        if let Some((bp, every)) = s.escalation
            && year > 0
            && year.is_multiple_of(every)
        {
            rate = (rate * (10_000 + i128::from(bp)) + 5_000) / 10_000;
        }
        let full_end = add_months(c.lease_start, 12 * (year + 1));
        let end = full_end.min(c.lease_end);
        let due = start.max(free_end);
        if due < end {
            // A whole lease year is a whole year's rent (less its rent-free months), however many days it
            // has (29 February, month ends); only a part year at the end is counted in months and days.
            let (num, den) = if end == full_end {
                let (free, den) = months_between(start, due);
                (den - free, den)
            } else {
                months_between(due, end)
            };
            let amount = (rate * num * 2 + den) / (2 * den);
            if amount > 0 {
                out.push((due, i64::try_from(amount).unwrap_or(MAX_FEN)));
            }
        }
        year += 1;
    }
    let sum: i64 = out.iter().map(|(_, a)| a).sum();
    let diff = c.total_fen - sum;
    if diff.unsigned_abs() as usize <= out.len() && out.last().is_some_and(|(_, a)| a + diff > 0) {
        if let Some(last) = out.last_mut() {
            last.1 += diff;
        }
        return Ok(out);
    }
    Err(FieldError::new(
        "",
        format!(
            "a yearly schedule of these terms adds up to {} yuan in {} instalment(s), the deal's total amount is {} yuan: \
             correct the total, the escalation or the rent-free months, or give the instalments (custom)",
            Yuan::from_fen(sum),
            out.len(),
            Yuan::from_fen(c.total_fen)
        ),
    ))
}

fn custom(given: &[(NaiveDate, i64)], c: &Contract) -> Result<Vec<(NaiveDate, i64)>, FieldError> {
    for (n, (due, _)) in given.iter().enumerate() {
        if *due < c.signed_on || *due >= c.lease_end {
            return Err(FieldError::new(
                format!("instalments[{n}].due_on"),
                format!(
                    "{due} is not within the contract: from its signing ({}) to its end ({})",
                    c.signed_on, c.lease_end
                ),
            ));
        }
    }
    let sum: i64 = given.iter().map(|(_, a)| a).sum();
    if sum != c.total_fen {
        return Err(FieldError::new(
            "instalments",
            format!(
                "the instalments add up to {} yuan, the deal's total amount is {} yuan",
                Yuan::from_fen(sum),
                Yuan::from_fen(c.total_fen)
            ),
        ));
    }
    let mut sorted = given.to_vec();
    sorted.sort_by_key(|(d, _)| *d);
    Ok(sorted)
}

/// Splits `collective_total` (at most the sum of the amounts) over the instalments in proportion to their
/// amounts, rounding down, the remainder on the last that has room: the parts add up exactly.
fn split(amounts: &[(NaiveDate, i64)], collective_total: i64) -> Vec<Due> {
    let total: i64 = amounts.iter().map(|(_, a)| a).sum();
    let mut parts: Vec<i64> =
        amounts
            .iter()
            .map(|(_, a)| {
                if total == 0 { 0 } else { (i128::from(*a) * i128::from(collective_total) / i128::from(total)) as i64 }
            })
            .collect();
    let mut left = collective_total - parts.iter().sum::<i64>();
    for (part, (_, amount)) in parts.iter_mut().zip(amounts).rev() {
        let room = (amount - *part).min(left);
        *part += room;
        left -= room;
    }
    amounts
        .iter()
        .zip(parts)
        .map(|(&(due_on, amount_fen), collective_fen)| Due {
            due_on,
            amount_fen,
            household_fen: amount_fen - collective_fen,
            collective_fen,
        })
        .collect()
}

/// The months from `from` to `to` (less than a year) as a fraction of a year, `(numerator, denominator)`:
/// whole months, and the days left as a share of the month they fall in. Half a year is exactly 6/12.
fn months_between(from: NaiveDate, to: NaiveDate) -> (i128, i128) {
    let mut whole = 0;
    while add_months(from, whole + 1) <= to {
        whole += 1;
    }
    let rest_start = add_months(from, whole);
    let month_days = (add_months(from, whole + 1) - rest_start).num_days();
    let rest = (to - rest_start).num_days();
    (i128::from(whole) * i128::from(month_days) + i128::from(rest), 12 * i128::from(month_days))
}

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// The collective's yearly fee for a parcel: `fee_fen_per_m2_year` × its area (`land_area_m2`, as the
/// survey computes it, taken to the hundredth of a m² as the deal records it), rounded to the fen.
pub fn collective_annual_fen(fee_fen_per_m2_year: i64, land_area_m2: f64) -> i64 {
    let land_area_centi_m2 = (land_area_m2 * 100.0).round() as i64;
    let fen = (i128::from(fee_fen_per_m2_year) * i128::from(land_area_centi_m2) + 50) / 100;
    i64::try_from(fen).unwrap_or(MAX_FEN).min(MAX_FEN)
}

// ---------------------------------------------------------------------------------------------------
// Payments

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    pub paid_on: NaiveDate,
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    /// Who paid (the lessee, or who paid for it).
    pub payer: String,
    /// bank_transfer, cash, mobile or cheque.
    pub method: String,
    /// The receipt's number (收据号), unique in the registry.
    pub receipt_no: String,
    /// Why more than is due is paid (e.g. a deposit with the rent); without it, more than is due is refused.
    pub excess_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    pub paid_on: NaiveDate,
    pub amount_fen: i64,
    pub payer: String,
    pub method: PaymentMethod,
    pub receipt_no: String,
    pub excess_reason: Option<String>,
}

pub fn check_payment(i: &PaymentIn) -> Result<NewPayment, Vec<FieldError>> {
    let mut c = Checks::default();
    c.check("paid_on", date(i.paid_on));
    if i.amount_yuan.fen() == 0 {
        c.fail("amount_yuan", "a payment is more than nothing");
    }
    let payer = c.check("payer", text(&i.payer, 1, 200));
    let method = c.check("method", i.method.parse::<PaymentMethod>());
    c.check("receipt_no", document_no(&i.receipt_no, 60));
    let excess_reason = i.excess_reason.as_deref().and_then(|r| c.check("excess_reason", text(r, 1, 500)));
    c.finish(|| NewPayment {
        paid_on: i.paid_on,
        amount_fen: i.amount_yuan.fen(),
        payer: payer.expect("checked"),
        method: method.expect("checked"),
        receipt_no: i.receipt_no.trim().to_string(),
        excess_reason,
    })
}

// ---------------------------------------------------------------------------------------------------
// Pledges

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PledgeIn {
    /// The verification code printed on the certificate: the bank has the certificate in hand.
    pub code: String,
    /// The loan contract's number (借款合同号), unique for the bank.
    pub loan_contract_no: String,
    #[schema(value_type = f64)]
    pub amount_yuan: Yuan,
    pub loan_start: NaiveDate,
    /// The day the loan is due back.
    pub loan_end: NaiveDate,
    /// The day of registration (抵押登记); today (Beijing) when left out.
    pub registered_on: Option<NaiveDate>,
    /// The consent of the bank whose pledge is in force, for a further pledge (its reference and words).
    pub prior_consent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewPledge {
    pub loan_contract_no: String,
    pub amount_fen: i64,
    pub loan_start: NaiveDate,
    pub loan_end: NaiveDate,
    pub registered_on: NaiveDate,
    pub prior_consent: Option<String>,
}

pub fn check_pledge(i: &PledgeIn, today: NaiveDate) -> Result<NewPledge, Vec<FieldError>> {
    let mut c = Checks::default();
    c.check("loan_contract_no", document_no(&i.loan_contract_no, 60));
    if i.amount_yuan.fen() == 0 {
        c.fail("amount_yuan", "a loan is more than nothing");
    }
    c.check("loan_start", date(i.loan_start));
    c.check("loan_end", date(i.loan_end));
    if i.loan_end <= i.loan_start {
        c.fail("loan_end", format!("the loan ends after it starts ({})", i.loan_start));
    }
    let registered_on = i.registered_on.unwrap_or(today);
    c.check("registered_on", date(registered_on));
    if registered_on > today {
        c.fail("registered_on", format!("{registered_on} is after today ({today})"));
    }
    let prior_consent = i.prior_consent.as_deref().and_then(|r| c.check("prior_consent", text(r, 1, 500)));
    c.finish(|| NewPledge {
        loan_contract_no: i.loan_contract_no.trim().to_string(),
        amount_fen: i.amount_yuan.fen(),
        loan_start: i.loan_start,
        loan_end: i.loan_end,
        registered_on,
        prior_consent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn contract(start: &str, end: &str, annual: i64, total: i64) -> Contract {
        Contract {
            signed_on: d(start),
            lease_start: d(start),
            lease_end: d(end),
            annual_rent_fen: annual,
            total_fen: total,
        }
    }

    fn yearly_plan(escalation: Option<(u32, u32)>, free: u32) -> Schedule {
        Schedule { plan: Plan::Yearly, escalation, rent_free_months: free, custom: vec![] }
    }

    #[test]
    fn a_yearly_plan_is_each_years_rent_on_its_first_day() {
        let c = contract("2024-03-01", "2027-03-01", 1_000_000, 3_000_000);
        let dues = instalments(&yearly_plan(None, 0), &c, 0).unwrap();
        assert_eq!(
            dues.iter().map(|x| (x.due_on, x.amount_fen)).collect::<Vec<_>>(),
            vec![(d("2024-03-01"), 1_000_000), (d("2025-03-01"), 1_000_000), (d("2026-03-01"), 1_000_000)]
        );
    }

    #[test]
    fn a_lease_from_29_february_has_whole_years() {
        let c = contract("2020-02-29", "2030-02-28", 613_600, 6_136_000);
        let dues = instalments(&yearly_plan(None, 0), &c, 0).unwrap();
        assert!(dues.iter().all(|x| x.amount_fen == 613_600), "{dues:?}");
    }

    #[test]
    fn escalation_compounds_every_so_many_years() {
        // 10,000 yuan, +5% every 2 years, 5 years: 10,000 10,000 10,500 10,500 11,025.
        let c = contract("2024-01-01", "2029-01-01", 1_000_000, 5_202_500);
        let dues = instalments(&yearly_plan(Some((500, 2)), 0), &c, 0).unwrap();
        let amounts: Vec<i64> = dues.iter().map(|x| x.amount_fen).collect();
        assert_eq!(amounts, vec![1_000_000, 1_000_000, 1_050_000, 1_050_000, 1_102_500]);
    }

    #[test]
    fn rent_free_months_delay_and_shorten_the_first_instalment() {
        // Six months free of a two-year lease: the first year's rent is half, due after the free months.
        let c = contract("2024-01-01", "2026-01-01", 1_200_000, 1_800_000);
        let dues = instalments(&yearly_plan(None, 6), &c, 0).unwrap();
        assert_eq!(dues[0].due_on, d("2024-07-01"));
        assert_eq!(dues.iter().map(|x| x.amount_fen).sum::<i64>(), 1_800_000);
        assert_eq!(dues[0].amount_fen, 600_000);
        // A lease ending mid-month: its last part year is its whole months and the days of the next.
        // 1,200,000 × (1 + 15/28) / 12 = 153,571.43 fen.
        let c = contract("2024-01-01", "2025-02-16", 1_200_000, 1_353_571);
        let dues = instalments(&yearly_plan(None, 0), &c, 0).unwrap();
        assert_eq!(dues[1].amount_fen, 153_571, "a month and 15 of February's 28 days");
    }

    #[test]
    fn a_yearly_plan_that_does_not_add_up_names_the_schedule() {
        let c = contract("2024-01-01", "2026-01-01", 1_000_000, 2_500_000);
        let e = instalments(&yearly_plan(None, 0), &c, 0).unwrap_err();
        assert_eq!(e.field, "");
        assert!(e.message.contains("20000.00 yuan in 2"), "{}", e.message);
    }

    #[test]
    fn custom_instalments_must_add_up_and_lie_within_the_contract() {
        let c = contract("2024-01-01", "2026-01-01", 1_000_000, 2_000_000);
        let s = |v: Vec<(&str, i64)>| Schedule {
            plan: Plan::Custom,
            escalation: None,
            rent_free_months: 0,
            custom: v.into_iter().map(|(x, a)| (d(x), a)).collect(),
        };
        assert_eq!(instalments(&s(vec![("2024-01-01", 1_500_000)]), &c, 0).unwrap_err().field, "instalments");
        assert_eq!(instalments(&s(vec![("2026-01-01", 2_000_000)]), &c, 0).unwrap_err().field, "instalments[0].due_on");
        let ok = instalments(&s(vec![("2025-01-01", 500_000), ("2024-01-01", 1_500_000)]), &c, 0).unwrap();
        assert_eq!(ok[0].due_on, d("2024-01-01"), "sorted by day");
    }

    #[test]
    fn the_split_adds_up_exactly_and_never_exceeds_the_rent() {
        let c = contract("2024-01-01", "2027-01-01", 1_000_001, 3_000_003);
        for collective_annual in [0, 1, 333_333, 999_999, 5_000_000] {
            let dues = instalments(&yearly_plan(None, 0), &c, collective_annual).unwrap();
            for x in &dues {
                assert_eq!(x.household_fen + x.collective_fen, x.amount_fen);
                assert!(x.collective_fen >= 0 && x.household_fen >= 0);
            }
            let collective: i64 = dues.iter().map(|x| x.collective_fen).sum();
            let days = (c.lease_end - c.lease_start).num_days();
            let expected = ((i128::from(collective_annual) * i128::from(days) + 182) / 365) as i64;
            assert_eq!(collective, expected.min(3_000_003), "annual {collective_annual}");
        }
    }

    #[test]
    fn a_fee_per_square_metre_makes_the_collectives_year() {
        // 2.50 yuan/m² on 180.25 m²: 450.63 yuan (450.625 rounded half up).
        assert_eq!(collective_annual_fen(250, 180.25), 45_063);
    }

    #[test]
    fn a_plan_names_the_fields_that_are_not_its_own() {
        let i = ScheduleIn { plan: "lump_sum".into(), rent_free_months: Some(3), ..Default::default() };
        let e = check_schedule(&i, "schedule").unwrap_err();
        assert_eq!(e[0].field, "schedule.rent_free_months");
        let i = ScheduleIn { plan: "weekly".into(), ..Default::default() };
        assert_eq!(check_schedule(&i, "schedule").unwrap_err()[0].field, "schedule.plan");
        let i = ScheduleIn {
            plan: "yearly".into(),
            escalation_percent: Some(Yuan::parse("5").unwrap()),
            escalation_every_years: Some(3),
            ..Default::default()
        };
        assert_eq!(check_schedule(&i, "schedule").unwrap().escalation, Some((500, 3)));
    }
}
