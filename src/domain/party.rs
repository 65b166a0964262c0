//! Parties as the registry accepts them: a person or household with an ID-card number, or an
//! organisation with its credit code (docs/DESIGN.md §2). The API and the seed call the same check.

use serde::Deserialize;
use utoipa::ToSchema;

use super::FieldError;
use super::checks::{Checks, text, within};
use super::identity::{PartyKind, check_credit_code, check_id_number, check_phone};
use super::township::TownshipCode;

/// A party as an officer records it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyIn {
    /// person, household or organisation.
    pub kind: String,
    pub name: String,
    /// 身份证号 of the person or head of household (not for organisations).
    pub id_number: Option<String>,
    /// 统一社会信用代码 of an organisation.
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// A household's adult members whose consent a lease of its house needs (1–20; 1 when left out).
    pub members: Option<i64>,
    /// The township (9 digits) and village of a village collective economic organisation.
    pub township_code: Option<String>,
    pub village: Option<String>,
    /// The version being replaced (for PUT, unless If-Match is sent).
    pub version: Option<i32>,
}

/// Checks a party with every field's rule; errors name the field.
pub fn check_party(p: &PartyIn) -> Result<PartyFields, Vec<FieldError>> {
    let mut c = Checks::default();
    let kind = c.check("kind", p.kind.parse::<PartyKind>());
    let name = c.check("name", text(&p.name, 1, 200));
    let organisation = p.kind == PartyKind::Organisation.as_str() || p.kind == PartyKind::Collective.as_str();
    let collective = p.kind == PartyKind::Collective.as_str();
    match (&p.id_number, organisation) {
        (Some(n), false) => {
            c.check("id_number", check_id_number(n));
        }
        (Some(_), true) => c.fail("id_number", "an organisation has a credit code, not an ID-card number"),
        (None, false) => c.fail("id_number", "a person or household needs the ID-card number (身份证号)"),
        (None, true) => {}
    }
    match (&p.credit_code, organisation) {
        (Some(code), true) => {
            c.check("credit_code", check_credit_code(code));
        }
        (Some(_), false) => c.fail("credit_code", "only an organisation has a credit code"),
        (None, true) => c.fail("credit_code", "an organisation needs its unified social credit code"),
        (None, false) => {}
    }
    if let Some(phone) = &p.phone {
        c.check("phone", check_phone(phone));
    }
    let address = p.address.as_deref().and_then(|a| c.check("address", text(a, 1, 300)));
    let members = match p.members {
        Some(_) if p.kind != PartyKind::Household.as_str() => {
            c.fail("members", "only a household has members whose consent a lease needs");
            None
        }
        Some(n) => c.check("members", within(n, 1..=20)).map(|n| n as i16),
        None => None,
    };
    let (mut township_code, mut village) = (None, None);
    if collective {
        township_code = c.required(
            "township_code",
            p.township_code.as_deref(),
            "a village collective names its township (9 digits)",
            |t| TownshipCode::parse(t).map(|t| t.as_str().to_string()),
        );
        village =
            c.required("village", p.village.as_deref(), "a village collective names its village", |v| text(v, 1, 100));
    } else {
        if p.township_code.is_some() {
            c.fail("township_code", "only a village collective has a township");
        }
        if p.village.is_some() {
            c.fail("village", "only a village collective has a village");
        }
    }
    c.finish(|| PartyFields {
        kind: kind.expect("finish builds only when every check passed"),
        name: name.unwrap_or_default(),
        id_number: p.id_number.clone(),
        credit_code: p.credit_code.clone(),
        phone: p.phone.clone(),
        address,
        members,
        township_code,
        village,
    })
}

/// A checked party, new or replacing an existing one's fields.
#[derive(Debug, Clone)]
pub struct PartyFields {
    pub kind: PartyKind,
    pub name: String,
    pub id_number: Option<String>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub members: Option<i16>,
    pub township_code: Option<String>,
    pub village: Option<String>,
}
