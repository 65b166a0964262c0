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

/// Generic terms of place names, romanised as a word of their own after the proper name.
const GENERIC_TERMS: &[(&str, &str)] =
    &[("街道", "Jiedao"), ("社区", "Shequ"), ("镇", "Zhen"), ("乡", "Xiang"), ("村", "Cun")];

/// Characters whose reading in place names is not the first reading of the pinyin data: 长塘 is
/// Changtang, 崧厦 Songxia.
const PLACE_READINGS: &[(char, &str)] = &[('长', "chang"), ('厦', "xia")];

/// Place name `name` in Hanyu Pinyin without tones, as GB/T 16159 writes place names: the proper name as
/// one capitalised word with an apostrophe before a syllable starting with a, o or e (曹娥 → Cao'e), the
/// generic term as a second word (百官街道 → "Baiguan Jiedao", 章镇镇 → "Zhangzhen Zhen"). Characters
/// without a reading (digits, Latin letters) are kept.
pub fn romanise(name: &str) -> String {
    let name = name.trim();
    let (proper, generic) = GENERIC_TERMS
        .iter()
        .find_map(|(term, word)| name.strip_suffix(term).filter(|p| !p.is_empty()).map(|p| (p, Some(*word))))
        .unwrap_or((name, None));
    let mut word = String::new();
    for c in proper.chars() {
        let reading = PLACE_READINGS
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, r)| *r)
            .or_else(|| pinyin::ToPinyin::to_pinyin(&c).map(pinyin::Pinyin::plain));
        match reading {
            Some(r) => {
                if !word.is_empty() && r.starts_with(['a', 'o', 'e']) {
                    word.push('\'');
                }
                word.push_str(r);
            }
            None => word.push(c),
        }
    }
    let mut out = capitalised(&word);
    if let Some(g) = generic {
        out.push(' ');
        out.push_str(g);
    }
    out
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|f| f.to_uppercase().chain(chars).collect()).unwrap_or_default()
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

    #[test]
    fn place_names_are_romanised_as_gb_t_16159_writes_them() {
        for (name, pinyin) in [
            ("百官街道", "Baiguan Jiedao"),
            ("曹娥街道", "Cao'e Jiedao"),
            ("长塘镇", "Changtang Zhen"),
            ("崧厦街道", "Songxia Jiedao"),
            ("章镇镇", "Zhangzhen Zhen"),
            ("岭南乡", "Lingnan Xiang"),
            ("上虞", "Shangyu"),
            ("孙家村", "Sunjia Cun"),
            ("新村", "Xin Cun"),
            ("村", "Cun"),
            ("二村3组", "Ercun3zu"),
        ] {
            assert_eq!(super::romanise(name), pinyin, "{name}");
        }
    }
}
