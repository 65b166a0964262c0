//! Identity numbers of parties: the resident ID-card number (居民身份证号码, GB 11643) and the unified
//! social credit code of organisations (统一社会信用代码, GB 32100), both with their check characters.

use chrono::NaiveDate;

/// Checks an 18-character ID-card number: 6-digit area, birth date, 3-digit sequence, check character.
pub fn check_id_number(id: &str) -> Result<(), String> {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 {
        return Err(format!("an ID-card number has 18 characters, this has {}", chars.len()));
    }
    if !chars[..17].iter().all(char::is_ascii_digit) {
        return Err("the first 17 characters of an ID-card number are digits".into());
    }
    let birth = &id[6..14];
    if NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() {
        return Err(format!("characters 7–14 are the birth date; {birth} is not a date"));
    }
    let expected = id_check_char(&id[..17]);
    if chars[17] != expected {
        return Err(format!("the check character is wrong: expected {expected}, found {}", chars[17]));
    }
    Ok(())
}

/// The check character of the first 17 digits of an ID-card number (ISO 7064 MOD 11-2).
pub fn id_check_char(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Checks an 18-character unified social credit code.
pub fn check_credit_code(code: &str) -> Result<(), String> {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(format!("a unified social credit code has 18 characters, this has {}", chars.len()));
    }
    if let Some(bad) = chars.iter().find(|c| !CREDIT_ALPHABET.contains(**c)) {
        return Err(format!("{bad:?} is not used in credit codes (digits and capitals without I, O, S, V, Z)"));
    }
    if !chars[2..8].iter().all(char::is_ascii_digit) {
        return Err("characters 3–8 of a credit code are the area code: 6 digits".into());
    }
    let expected = credit_check_char(&code[..17]);
    if chars[17] != expected {
        return Err(format!("the check character is wrong: expected {expected}, found {}", chars[17]));
    }
    Ok(())
}

/// The check character of the first 17 characters of a credit code (GB 32100 MOD 31).
pub fn credit_check_char(first17: &str) -> char {
    const WEIGHTS: [usize; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: usize = first17.chars().zip(WEIGHTS).map(|(c, w)| CREDIT_ALPHABET.find(c).unwrap_or(0) * w).sum();
    let check = (31 - sum % 31) % 31;
    CREDIT_ALPHABET.as_bytes()[check] as char
}

/// The GB 11714 check character of an 8-character organisation code body.
pub fn organisation_code_check_char(body: &str) -> char {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(36).unwrap_or(0) * w).sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).expect("a digit"),
    }
}

/// Checks a telephone number: digits with optional +, spaces and dashes, 5 to 20 characters.
pub fn check_phone(phone: &str) -> Result<(), String> {
    let ok = (5..=20).contains(&phone.chars().count())
        && phone
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i > 0 && (c == ' ' || c == '-')) || (i == 0 && c == '+'))
        && phone.chars().nth(usize::from(phone.starts_with('+'))).is_some_and(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err("a telephone number has 5 to 20 digits, spaces or dashes (and may start with +)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_carry_their_check_character() {
        let first17 = "33060419800101123";
        let id = format!("{first17}{}", id_check_char(first17));
        assert!(check_id_number(&id).is_ok());
        assert!(check_id_number("11010519491231002X").is_ok(), "the GB 11643 example");
        assert!(check_id_number("110105194912310021").unwrap_err().contains("check character"));
        assert!(check_id_number("110105194913310021").unwrap_err().contains("birth date"));
        assert!(check_id_number("1101051949123100").is_err());
    }

    #[test]
    fn credit_codes_carry_their_check_character() {
        assert!(check_credit_code("91350100M000100Y43").is_ok(), "a published code");
        let first17 = "91330604MA2BC1234";
        let code = format!("{first17}{}", credit_check_char(first17));
        assert!(check_credit_code(&code).is_ok());
        assert!(check_credit_code("91350100M000100Y44").unwrap_err().contains("check character"));
        assert!(check_credit_code("91350100M000100YI3").is_err());
    }

    #[test]
    fn phones_are_digits_with_separators() {
        assert!(check_phone("13800000000").is_ok());
        assert!(check_phone("0575-82123456").is_ok());
        assert!(check_phone("+86 138 0000 0000").is_ok());
        assert!(check_phone("call me").is_err());
        assert!(check_phone("-1234567").is_err());
    }
}

crate::closed_set! {
    /// What a party is: a person and a household (农户) are identified by an ID-card number, an
    /// organisation and a village collective economic organisation (村集体经济组织) by their unified social
    /// credit code.
    pub enum PartyKind {
        Person = "person",
        Household = "household",
        Organisation = "organisation",
        Collective = "collective",
    }
}
