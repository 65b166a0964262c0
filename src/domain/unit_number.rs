//! Real-estate unit numbers (不动产单元号, GB/T 37346-2019) and the parcel codes they begin with.
//!
//! A unit number has 28 characters:
//!
//! | chars | field | rule |
//! |---|---|---|
//! | 1–6 | county code (行政区划代码) | 6 digits |
//! | 7–9 | cadastral district (地籍区) | 3 digits |
//! | 10–12 | cadastral sub-district (地籍子区) | 3 digits |
//! | 13 | land ownership | G state, J collective, Z undetermined |
//! | 14 | land use right | A B S X C D E F N H G W; C (homestead) only under J |
//! | 15–19 | parcel sequence (宗地顺序号) | 5 digits, not 00000 |
//! | 20 | fixture code (定着物) | F building, L forest, Q other, W none |
//! | 21–28 | fixture unit number | 8 digits; W: all zeros; otherwise not all zeros |
//!
//! The first 19 characters are the parcel code. A farmhouse is a building (F) on a collective homestead
//! (JC): `330604ddddddJCdddddFdddddddd`.

use std::fmt;

use super::FieldError;

pub const UNIT_NUMBER_LEN: usize = 28;
pub const PARCEL_CODE_LEN: usize = 19;

const OWNERSHIP: &str = "GJZ";
const USE_RIGHTS: &str = "ABSXCDEFNHGW";
const FIXTURES: &str = "FLQW";

/// A checked 19-character parcel code (宗地代码).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParcelCode(String);

/// A checked 28-character unit number of a farmhouse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitNumber(String);

impl ParcelCode {
    /// Checks `code` as a parcel code; errors name `field` and the part of the code that is wrong.
    pub fn parse(code: &str, field: &str) -> Result<Self, Vec<FieldError>> {
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != PARCEL_CODE_LEN {
            return Err(vec![FieldError::new(
                field,
                format!("a parcel code has {PARCEL_CODE_LEN} characters, this has {}", chars.len()),
            )]);
        }
        let errors = check_parcel_part(&chars, field);
        if errors.is_empty() { Ok(Self(code.to_string())) } else { Err(errors) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn county_code(&self) -> &str {
        &self.0[..6]
    }
}

impl UnitNumber {
    /// Checks `unit` as the unit number of a farmhouse (a building on a collective homestead); errors name
    /// `field.<part>` for each part that is wrong.
    pub fn parse_farmhouse(unit: &str, field: &str) -> Result<Self, Vec<FieldError>> {
        let chars: Vec<char> = unit.chars().collect();
        if chars.len() != UNIT_NUMBER_LEN {
            return Err(vec![FieldError::new(
                field,
                format!("a real-estate unit number has {UNIT_NUMBER_LEN} characters, this has {}", chars.len()),
            )]);
        }
        let mut errors = check_parcel_part(&chars, field);
        let (ownership, right) = (chars[12], chars[13]);
        if errors.is_empty() && (ownership, right) != ('J', 'C') {
            errors.push(FieldError::new(
                format!("{field}.land_right"),
                format!(
                    "characters 13–14 are the parcel's land right; a farmhouse stands on a collective \
                     homestead (JC), not {ownership}{right}"
                ),
            ));
        }
        let fixture = chars[19];
        if !FIXTURES.contains(fixture) {
            errors.push(FieldError::new(
                format!("{field}.fixture_code"),
                format!("character 20 is the fixture code (F building, L forest, Q other, W none), not {fixture:?}"),
            ));
        } else if fixture != 'F' {
            errors.push(FieldError::new(
                format!("{field}.fixture_code"),
                format!("character 20 is the fixture code; a farmhouse is a building (F), not {fixture}"),
            ));
        }
        let fixture_number: String = chars[20..].iter().collect();
        if !fixture_number.chars().all(|c| c.is_ascii_digit()) {
            errors.push(FieldError::new(
                format!("{field}.fixture_number"),
                format!("characters 21–28 are the building unit number: 8 digits, not {fixture_number:?}"),
            ));
        } else if fixture == 'F' {
            // A building unit number is the building (幢号, characters 21–24) and the unit within it (户号,
            // 25–28), each 0001–9999: 00010000 names no unit, 00000001 no building.
            for (part, name, digits) in [
                ("building", "21–24 are the building (幢号)", &fixture_number[..4]),
                ("unit", "25–28 are the unit (户号)", &fixture_number[4..]),
            ] {
                if digits == "0000" {
                    errors.push(FieldError::new(
                        format!("{field}.{part}"),
                        format!("characters {name}: 0001 to 9999, not 0000"),
                    ));
                }
            }
        }
        if errors.is_empty() { Ok(Self(unit.to_string())) } else { Err(errors) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code of the parcel the house stands on: the first 19 characters.
    pub fn parcel_code(&self) -> ParcelCode {
        ParcelCode(self.0[..PARCEL_CODE_LEN].to_string())
    }

    pub fn county_code(&self) -> &str {
        &self.0[..6]
    }
}

/// Checks the first 19 characters (the parcel code) of `chars`.
fn check_parcel_part(chars: &[char], field: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let digits = |from: usize, to: usize| chars[from..to].iter().all(char::is_ascii_digit);
    let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    for (from, to, part, name) in [
        (0, 6, "county_code", "county code (行政区划代码)"),
        (6, 9, "cadastral_district", "cadastral district (地籍区)"),
        (9, 12, "cadastral_subdistrict", "cadastral sub-district (地籍子区)"),
    ] {
        if !digits(from, to) {
            errors.push(FieldError::new(
                format!("{field}.{part}"),
                format!(
                    "characters {}–{} are the {name}: {} digits, not {:?}",
                    from + 1,
                    to,
                    to - from,
                    text(from, to)
                ),
            ));
        }
    }
    let (ownership, right) = (chars[12], chars[13]);
    if !OWNERSHIP.contains(ownership) {
        errors.push(FieldError::new(
            format!("{field}.ownership"),
            format!("character 13 is the land ownership (G state, J collective, Z undetermined), not {ownership:?}"),
        ));
    }
    if !USE_RIGHTS.contains(right) {
        errors.push(FieldError::new(
            format!("{field}.land_right"),
            format!("character 14 is the land right (A, B, S, X, C, D, E, F, N, H, G or W), not {right:?}"),
        ));
    } else if right == 'C' && ownership != 'J' && OWNERSHIP.contains(ownership) {
        errors.push(FieldError::new(
            format!("{field}.land_right"),
            "character 14 is C (homestead), which exists only on collective land (J in character 13)",
        ));
    }
    if !digits(14, 19) {
        errors.push(FieldError::new(
            format!("{field}.parcel_sequence"),
            format!("characters 15–19 are the parcel sequence number: 5 digits, not {:?}", text(14, 19)),
        ));
    } else if text(14, 19) == "00000" {
        errors.push(FieldError::new(
            format!("{field}.parcel_sequence"),
            "characters 15–19 are the parcel sequence number, which starts at 00001",
        ));
    }
    errors
}

impl fmt::Display for UnitNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ParcelCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: Result<UnitNumber, Vec<FieldError>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_farmhouse_unit_number_is_accepted_and_gives_its_parcel() {
        let u = UnitNumber::parse_farmhouse("330604001002JC00017F00010001", "unit_number").unwrap();
        assert_eq!(u.parcel_code().as_str(), "330604001002JC00017");
        assert_eq!(u.county_code(), "330604");
    }

    #[test]
    fn each_wrong_part_is_named() {
        let f = |u| fields(UnitNumber::parse_farmhouse(u, "unit_number"));
        assert_eq!(f("33060X001002JC00017F00010001"), ["unit_number.county_code"]);
        assert_eq!(f("330604A01002JC00017F00010001"), ["unit_number.cadastral_district"]);
        assert_eq!(f("33060400100BJC00017F00010001"), ["unit_number.cadastral_subdistrict"]);
        assert_eq!(f("330604001002QC00017F00010001"), ["unit_number.ownership"]);
        assert_eq!(f("330604001002GC00017F00010001"), ["unit_number.land_right"]);
        assert_eq!(f("330604001002JB00017F00010001"), ["unit_number.land_right"]);
        assert_eq!(f("330604001002JC0001AF00010001"), ["unit_number.parcel_sequence"]);
        assert_eq!(f("330604001002JC00000F00010001"), ["unit_number.parcel_sequence"]);
        assert_eq!(f("330604001002JC00017W00000000"), ["unit_number.fixture_code"]);
        assert_eq!(f("330604001002JC00017K00010001"), ["unit_number.fixture_code"]);
        assert_eq!(f("330604001002JC00017F0001000x"), ["unit_number.fixture_number"]);
        assert_eq!(f("330604001002JC00017F00000000"), ["unit_number.building", "unit_number.unit"]);
        assert_eq!(f("330604001002JC00017F00000001"), ["unit_number.building"]);
        assert_eq!(f("330604001002JC00017F00010000"), ["unit_number.unit"]);
        assert_eq!(f("330604001002JC00017F0001"), ["unit_number"]);
        assert_eq!(f("３30604001002JC00017F00010001"), ["unit_number.county_code"]);
    }

    #[test]
    fn several_wrong_parts_are_all_reported() {
        let f = fields(UnitNumber::parse_farmhouse("33060X001002QC00017F0001000x", "u"));
        assert_eq!(f, ["u.county_code", "u.ownership", "u.fixture_number"]);
    }

    #[test]
    fn parcel_codes_allow_other_land_rights_but_homestead_only_on_collective_land() {
        assert!(ParcelCode::parse("330604001002GB00017", "p").is_ok());
        assert!(ParcelCode::parse("330604001002JC00017", "p").is_ok());
        assert!(ParcelCode::parse("330604001002ZC00017", "p").is_err());
        assert!(ParcelCode::parse("330604001002JC0001", "p").is_err());
    }
}
