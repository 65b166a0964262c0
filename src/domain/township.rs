//! Township codes (乡镇级行政区划代码): the 6-digit county code followed by a 3-digit township number, as
//! the townships table keeps them (docs/DESIGN.md §2).

use std::fmt;

crate::closed_set! {
    /// The kind of a township-level division: a subdistrict (街道), a town (镇) or a township (乡).
    pub enum TownshipKind { Subdistrict = "街道", Town = "镇", Township = "乡" }
}

/// A checked 9-digit township code, e.g. `330604101`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct TownshipCode(String);

impl TownshipCode {
    /// The message every caller gives for a code that is not 9 digits.
    pub const RULE: &'static str = "must be a 9-digit township code";

    /// `code` (trimmed) if it is 9 ASCII digits.
    pub fn parse(code: &str) -> Result<Self, String> {
        let code = code.trim();
        if code.len() == 9 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_string()))
        } else {
            Err(Self::RULE.to_string())
        }
    }

    /// An optional filter: `None` for an absent or empty value.
    pub fn parse_optional(code: Option<&str>) -> Result<Option<Self>, String> {
        match code.map(str::trim) {
            None | Some("") => Ok(None),
            Some(c) => Self::parse(c).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The county (区/县) the township belongs to.
    pub fn county_code(&self) -> &str {
        &self.0[..6]
    }
}

impl fmt::Display for TownshipCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TownshipCode;

    #[test]
    fn a_township_code_is_nine_digits() {
        assert_eq!(TownshipCode::parse(" 330604101 ").unwrap().county_code(), "330604");
        for bad in ["33060410", "3306041011", "33060410x", "３３０６０４１０１", ""] {
            assert_eq!(TownshipCode::parse(bad), Err(TownshipCode::RULE.to_string()), "{bad:?}");
        }
        assert_eq!(TownshipCode::parse_optional(Some("  ")), Ok(None));
    }
}
