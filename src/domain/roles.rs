//! Who may see and do what (docs/DESIGN.md §5).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The role of a caller. Anyone not logged in is `Public`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Role {
    Public,
    Investor,
    Officer,
    Official,
    Admin,
    /// A bank lending on certified use rights: the public facts, certificates it holds (with their code)
    /// and its own pledges (docs/DESIGN.md §2.6).
    Bank,
}

impl Role {
    pub const ALL: [Role; 6] = [Role::Public, Role::Investor, Role::Officer, Role::Official, Role::Admin, Role::Bank];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Investor => "investor",
            Role::Officer => "officer",
            Role::Official => "official",
            Role::Admin => "admin",
            Role::Bank => "bank",
        }
    }

    /// Which facts of houses this role is shown on the map, in tiles and in features: the one place that
    /// decides it. Everything a role may not see is left out of the query, not filtered afterwards.
    pub fn audience(self) -> Audience {
        match self {
            Role::Public | Role::Investor | Role::Bank => Audience::Public,
            Role::Officer | Role::Official | Role::Admin => Audience::Staff,
        }
    }

    /// How much of a party's private data (name, ID number, phone, address) this role may see.
    pub fn privacy(self) -> Privacy {
        match self {
            Role::Officer | Role::Admin => Privacy::Full,
            Role::Official => Privacy::Masked,
            Role::Public | Role::Investor | Role::Bank => Privacy::None,
        }
    }
}

/// The attribute set of map layers and feature collections a caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    /// Public facts only (docs/DESIGN.md §5): never a party, a name, an ID number, a phone or an address.
    Public,
    /// Public facts and the registry's own non-identity references (lessee party id, contract number).
    Staff,
}

impl Audience {
    /// Whether attributes meant for `level` are shown to this audience.
    pub fn sees(self, level: Audience) -> bool {
        self >= level
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Staff => "staff",
        }
    }
}

/// How private data of parties is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    /// Nothing private at all.
    None,
    /// Names shown; ID numbers masked (`3306**********1234`); phones and addresses hidden.
    Masked,
    /// Everything.
    Full,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: one of public, investor, officer, official, admin, bank"))
    }
}

/// Masks an ID-card number for officials: the first four and last four characters stay.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..4].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 8));
    out.extend(&chars[chars.len() - 4..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_masked_to_their_ends() {
        assert_eq!(mask_id_number("330604198001011234"), "3306**********1234");
    }

    #[test]
    fn roles_read_back_from_their_names() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
