//! Money: integer fen (分; 1 yuan = 100 fen), exact end to end.
//!
//! The API speaks yuan. A JSON number or a decimal string is accepted when it has at most two decimals;
//! `1.005` (a fraction of a fen) and negative amounts are refused, never rounded.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest amount accepted: ten billion yuan. Far above any rural lease, and small enough that every
/// amount in fen is exact as a JSON number.
pub const MAX_FEN: i64 = 1_000_000_000_000;

/// An amount of money in yuan, kept as integer fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Yuan {
    fen: i64,
}

impl Yuan {
    pub fn from_fen(fen: i64) -> Self {
        Self { fen }
    }

    pub fn fen(self) -> i64 {
        self.fen
    }

    /// Parses a decimal amount of yuan ("12000", "12000.5", "12000.50").
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if t.starts_with('-') {
            return Err(format!("an amount cannot be negative: {t}"));
        }
        if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("not an amount of yuan: {t:?}"));
        }
        if frac.len() > 2 && frac[2..].chars().any(|c| c != '0') {
            return Err(format!("{t} yuan has a fraction of a fen (at most two decimals)"));
        }
        let whole: i64 = whole.parse().map_err(|_| format!("amount too large: {t}"))?;
        let frac = format!("{:0<2}", &frac[..frac.len().min(2)]);
        let fen = whole
            .checked_mul(100)
            .and_then(|f| f.checked_add(frac.parse::<i64>().unwrap_or(0)))
            .filter(|&f| f <= MAX_FEN)
            .ok_or_else(|| format!("amount too large: {t} (at most {} yuan)", MAX_FEN / 100))?;
        Ok(Self { fen })
    }
}

impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.fen / 100, self.fen % 100)
    }
}

impl Serialize for Yuan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.fen % 100 == 0 {
            s.serialize_i64(self.fen / 100)
        } else {
            // Exact: below 2^53 fen, the shortest decimal that reads back as this f64 is the amount.
            s.serialize_f64(self.fen as f64 / 100.0)
        }
    }
}

impl<'de> Deserialize<'de> for Yuan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Yuan;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an amount of yuan with at most two decimals (a number or a decimal string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yuan, E> {
                Yuan::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yuan, E> {
                Yuan::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yuan, E> {
                if !v.is_finite() {
                    return Err(E::custom("not an amount of yuan"));
                }
                // Rust prints the shortest decimal that reads back as `v`: what the client wrote.
                Yuan::parse(&format!("{v}")).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Yuan, E> {
                Yuan::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Yuan, String> {
        serde_json::from_str::<Yuan>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_and_strings_with_up_to_two_decimals_are_exact() {
        assert_eq!(read("12000").unwrap().fen(), 1_200_000);
        assert_eq!(read("12000.5").unwrap().fen(), 1_200_050);
        assert_eq!(read("0.07").unwrap().fen(), 7);
        assert_eq!(read("\"26657.91\"").unwrap().fen(), 2_665_791);
        assert_eq!(read("\"1.500\"").unwrap().fen(), 150);
        assert_eq!(read("1e3").unwrap().fen(), 100_000);
    }

    #[test]
    fn fractions_of_a_fen_and_negative_amounts_are_refused() {
        assert!(read("1.005").unwrap_err().contains("fraction of a fen"));
        assert!(read("\"0.001\"").unwrap_err().contains("fraction of a fen"));
        assert!(read("-5").unwrap_err().contains("negative"));
        assert!(read("\"-0.01\"").unwrap_err().contains("negative"));
        assert!(read("\"abc\"").is_err());
        assert!(read("true").is_err());
        assert!(read("1e30").is_err());
    }

    #[test]
    fn amounts_serialise_as_exact_numbers() {
        assert_eq!(serde_json::to_string(&Yuan::from_fen(26_657_910_000)).unwrap(), "266579100");
        assert_eq!(serde_json::to_string(&Yuan::from_fen(1_234_567)).unwrap(), "12345.67");
        assert_eq!(Yuan::from_fen(1_234_507).to_string(), "12345.07");
    }
}
