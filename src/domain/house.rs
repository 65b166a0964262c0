//! The facts of a house and of a parcel an officer records, with their ranges (the same as the
//! database's checks).

use super::checks::{paragraphs, text, two_decimals, within};

crate::closed_set! {
    /// Building structure (结构): brick-concrete, brick-wood, reinforced concrete, wood, earth-and-wood,
    /// stone-and-wood.
    pub enum Structure {
        BrickConcrete = "砖混",
        BrickWood = "砖木",
        ReinforcedConcrete = "钢混",
        Wood = "木",
        EarthWood = "土木",
        StoneWood = "石木",
    }
}

crate::closed_set! {
    /// Building condition (完损程度): intact, mostly intact, fair, damaged, badly damaged, dangerous.
    pub enum Condition {
        Intact = "完好",
        MostlyIntact = "基本完好",
        Fair = "一般",
        Damaged = "破损",
        BadlyDamaged = "严重损坏",
        Dangerous = "危险",
    }
}

crate::closed_set! {
    /// Where a right of a house stands (docs/DESIGN.md §2.5): its real-estate certificate (不动产权证) is
    /// issued, it is confirmed (确权) without a certificate yet, or it is not confirmed.
    pub enum Title { Issued = "issued", Confirmed = "confirmed", Unconfirmed = "unconfirmed" }
}

/// A right of a house (the homestead use right or the house ownership) as the registry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Right {
    pub title: Title,
    /// The real-estate certificate number (不动产权证号), which an issued title has and only it.
    pub certificate_no: Option<String>,
}

impl Right {
    pub const UNCONFIRMED: Right = Right { title: Title::Unconfirmed, certificate_no: None };
}

/// Checks a right given as `<prefix>_title` and `<prefix>_cert_no` into `c`: `None` when neither is given.
pub fn right(
    c: &mut super::checks::Checks,
    prefix: &str,
    title: Option<&str>,
    certificate_no: Option<&str>,
) -> Option<Right> {
    let cert_field = format!("{prefix}_cert_no");
    let title = match (title, certificate_no) {
        (None, None) => return None,
        (Some(t), _) => c.check(&format!("{prefix}_title"), t.parse::<Title>())?,
        (None, Some(_)) => Title::Issued,
    };
    let no = match (title, certificate_no) {
        (Title::Issued, Some(no)) => Some(c.check(&cert_field, super::checks::document_no(no, 60))?),
        (Title::Issued, None) => {
            c.fail(&cert_field, "an issued title has its certificate number (不动产权证号)");
            return None;
        }
        (_, Some(_)) => {
            c.fail(&cert_field, format!("a title that is {title} has no certificate number; say issued"));
            return None;
        }
        (_, None) => None,
    };
    Some(Right { title, certificate_no: no })
}

/// Floor area (建筑面积) in m²: above 0, below 100,000, at most two decimals.
pub fn floor_area(v: f64) -> Result<f64, String> {
    two_decimals(v, 100_000.0)
}

pub fn floors(v: i64) -> Result<i16, String> {
    within(v, 1..=10).map(|v| v as i16)
}

/// Year built: 1900 up to `this_year`.
pub fn year_built(v: i64, this_year: i32) -> Result<i16, String> {
    within(v, 1900..=i64::from(this_year)).map(|v| v as i16)
}

pub fn structure(v: &str) -> Result<Structure, String> {
    v.parse()
}

pub fn condition(v: &str) -> Result<Condition, String> {
    v.parse()
}

pub fn description(v: &str) -> Result<String, String> {
    paragraphs(v, 0, 2000)
}

pub fn village(v: &str) -> Result<String, String> {
    text(v, 1, 100)
}

/// Land-use code of GB/T 21010: four digits (0702 农村宅基地).
pub fn land_use(v: &str) -> Result<String, String> {
    if v.len() == 4 && v.chars().all(|c| c.is_ascii_digit()) {
        Ok(v.to_string())
    } else {
        Err(format!("{v:?} is not a 4-digit land-use code (GB/T 21010, e.g. 0702 for homesteads)"))
    }
}
