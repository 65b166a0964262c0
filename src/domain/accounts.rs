//! Accounts as the registry accepts them: the rules of a user name, a role and a password, shared by
//! `POST /api/v1/users` and `farmhouse user add`.

use serde::Deserialize;
use utoipa::ToSchema;

use super::FieldError;
use super::checks::{Checks, text};
use super::credentials::{check_password, hash_password};
use super::roles::Role;
use super::township::TownshipCode;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub username: String,
    /// investor, officer, official or admin.
    pub role: String,
    pub password: String,
    #[serde(default)]
    pub display_name: String,
    /// For an investor: the party it acts for.
    pub party_id: Option<i64>,
    /// For an officer or official: the townships (9-digit codes) the account is limited to; none: the
    /// whole district.
    #[serde(default)]
    pub townships: Vec<String>,
}

/// Checks a new account; `Ok` has the fields ready to store.
pub fn check_user(u: &UserIn) -> Result<NewUser, Vec<FieldError>> {
    let mut c = Checks::default();
    let username = u.username.trim().to_lowercase();
    let name_ok = (3..=40).contains(&username.len())
        && username.chars().next().is_some_and(|ch| ch.is_ascii_alphanumeric())
        && username.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "_.-".contains(ch));
    if !name_ok {
        c.fail("username", "3 to 40 lower-case letters, digits, _ . or -, starting with a letter or digit");
    }
    let role = c.check(
        "role",
        u.role.parse::<Role>().and_then(|r| {
            if r == Role::Public { Err("public is the role of callers without an account".into()) } else { Ok(r) }
        }),
    );
    c.check("password", check_password(&u.password));
    let display_name = c.check("display_name", text(&u.display_name, 0, 100));
    let mut townships = Vec::new();
    for (i, t) in u.townships.iter().enumerate() {
        if let Some(code) = c.check(&format!("townships[{i}]"), TownshipCode::parse(t)) {
            townships.push(code.as_str().to_string());
        }
    }
    if !townships.is_empty() && !matches!(role, Some(Role::Officer | Role::Official)) {
        c.fail("townships", "only an officer's or official's account is limited to townships");
    }
    if role == Some(Role::Bank) && u.party_id.is_none() {
        c.fail("party_id", "a bank's account names its bank (--party: the id of an organisation party)");
    }
    townships.sort();
    townships.dedup();
    c.finish(|| NewUser {
        townships,
        username,
        display_name: display_name.unwrap_or_default(),
        role: role.expect("finish builds only when every check passed"),
        password_hash: hash_password(&u.password),
        party_id: u.party_id,
    })
}

/// A checked account, ready to store (the password already hashed).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub party_id: Option<i64>,
    pub townships: Vec<String>,
}
