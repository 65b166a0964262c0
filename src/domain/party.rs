//! Parties as the registry accepts them: a person or household with an ID-card number, or an
//! organisation with its credit code (docs/DESIGN.md §2). The API and the seed call the same check.

use serde::Deserialize;
use utoipa::ToSchema;

use super::FieldError;
use super::checks::{Checks, text};
use super::identity::{PartyKind, check_credit_code, check_id_number, check_phone};

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
    /// The version being replaced (for PUT, unless If-Match is sent).
    pub version: Option<i32>,
}

/// Checks a party with every field's rule; errors name the field.
pub fn check_party(p: &PartyIn) -> Result<PartyFields, Vec<FieldError>> {
    let mut c = Checks::default();
    let kind = c.check("kind", p.kind.parse::<PartyKind>());
    let name = c.check("name", text(&p.name, 1, 200));
    let organisation = p.kind == PartyKind::Organisation.as_str();
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
    c.finish(|| PartyFields {
        kind: kind.expect("finish builds only when every check passed"),
        name: name.unwrap_or_default(),
        id_number: p.id_number.clone(),
        credit_code: p.credit_code.clone(),
        phone: p.phone.clone(),
        address,
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
}
