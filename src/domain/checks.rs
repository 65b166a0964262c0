//! Field checks that collect every problem of an input instead of stopping at the first, so a clerk
//! fixes a form (or a survey file) in one pass.

use super::FieldError;

/// Accumulates the errors of one input.
#[derive(Debug, Default)]
pub struct Checks {
    prefix: String,
    errors: Vec<FieldError>,
}

impl Checks {
    /// Checks whose field names are nested under `prefix` (e.g. `properties`).
    pub fn under(prefix: &str) -> Self {
        Self { prefix: prefix.to_string(), errors: Vec::new() }
    }

    fn field(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_string() } else { format!("{}.{name}", self.prefix) }
    }

    /// Keeps the value of `result`, or records its error against `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.push(FieldError::new(self.field(field), message));
                None
            }
        }
    }

    /// Records errors that already name their fields (relative to this input).
    pub fn extend(&mut self, errors: Vec<FieldError>) {
        let prefixed: Vec<FieldError> = errors.into_iter().map(|e| e.under(&self.prefix)).collect();
        self.errors.extend(prefixed);
    }

    /// Checks `value` with `check` if it is given; records `missing` against `field` if it is not.
    pub fn required<T, U>(
        &mut self,
        field: &str,
        value: Option<T>,
        missing: &str,
        check: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        let Some(v) = value else {
            self.fail(field, missing);
            return None;
        };
        self.check(field, check(v))
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(self.field(field), message));
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `value` if nothing was wrong, else every error.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(value()) } else { Err(self.errors) }
    }
}

/// `value` if it is one of `allowed`.
pub fn one_of(value: &str, allowed: &[&str]) -> Result<String, String> {
    if allowed.contains(&value) { Ok(value.to_string()) } else { Err(not_one_of(value, allowed)) }
}

/// The message for `value` outside the set `allowed`.
pub fn not_one_of(value: &str, allowed: &[&str]) -> String {
    format!("{value:?} is not one of {}", allowed.join(", "))
}

/// One line of free text (a name, an address, a title): [`free_text`] without line breaks.
pub fn text(value: &str, min: usize, max: usize) -> Result<String, String> {
    free_text(value, min, max, Lines::One)
}

/// Free text that may run over several lines (a description, a message, a reason): [`free_text`] that
/// keeps `\n` line breaks.
pub fn paragraphs(value: &str, min: usize, max: usize) -> Result<String, String> {
    free_text(value, min, max, Lines::Many)
}

/// Whether a text may hold line breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// The one rule of free text, for every field of the API and the importer: `value` in Unicode NFC and
/// trimmed, with between `min` and `max` characters, and no control or format character (general
/// categories Cc and Cf, and the line and paragraph separators Zl and Zp), except `\n` where several
/// lines are allowed.
///
/// NFC gives each text one spelling, so an equality filter finds what was typed either way. Format
/// characters are invisible: a zero-width space makes a look-alike (`长溪\u{200b}村` is not `长溪村`) and a
/// bidi override shows text in another order than it is stored, so they are refused rather than removed —
/// the clerk sees what was wrong.
fn free_text(value: &str, min: usize, max: usize, lines: Lines) -> Result<String, String> {
    let normalised = nfc(value);
    let t = normalised.trim();
    let n = t.chars().count();
    if n < min {
        return Err(if min == 1 { "must not be empty".into() } else { format!("needs at least {min} characters") });
    }
    if n > max {
        return Err(format!("has {n} characters; at most {max}"));
    }
    if let Some((at, c)) = t.chars().enumerate().find(|&(_, c)| !(lines == Lines::Many && c == '\n') && hidden(c)) {
        let what = match c {
            '\n' => "a line break; this field is one line",
            c if c.is_control() => "a control character",
            _ => "an invisible formatting character (e.g. a zero-width space or a direction override)",
        };
        return Err(format!("character {} is U+{:04X}, {what}", at + 1, u32::from(c)));
    }
    Ok(t.to_string())
}

/// Whether `c` is a control, format or line/paragraph separator character.
fn hidden(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    matches!(c.general_category(), G::Control | G::Format | G::LineSeparator | G::ParagraphSeparator)
}

/// `value` in Unicode normalisation form C, the form free text is stored in; filters compare in it too.
pub fn nfc(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    value.nfc().collect()
}

/// An integer within `range`.
pub fn within(value: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not within {}..={}", range.start(), range.end()))
    }
}

/// A positive decimal below `max` with at most two decimals (areas in m²).
pub fn two_decimals(value: f64, max: f64) -> Result<f64, String> {
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("{value} must be above 0"));
    }
    if value >= max {
        return Err(format!("{value} must be below {max}"));
    }
    let text = format!("{value}");
    if text.split_once('.').is_some_and(|(_, frac)| frac.len() > 2) {
        return Err(format!("{value} has more than two decimals"));
    }
    Ok(value)
}

/// A document number as offices write them (contract, report and certificate numbers): 4 to `max`
/// letters, digits, CJK characters, brackets or dashes, e.g. 浙XX评报字〔2020〕第123号.
pub fn document_no(value: &str, max: usize) -> Result<String, String> {
    let n = value.chars().count();
    let allowed = |c: char| {
        c.is_ascii_alphanumeric() || ('\u{4e00}'..='\u{9fff}').contains(&c) || "()（）〔〕[]【】-".contains(c)
    };
    if !(4..=max).contains(&n) {
        Err(format!("4 to {max} characters, not {n}"))
    } else if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        Err(format!("{bad:?} is not used in document numbers (letters, digits, Chinese characters, brackets, dashes)"))
    } else {
        Ok(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_kept_with_its_field() {
        let mut c = Checks::under("properties");
        c.check("floors", within(11, 1..=10));
        c.check("structure", one_of("草", &["砖混", "木"]));
        c.check("floor_area_m2", two_decimals(300.5, 1e5));
        let errors = c.finish(|| ()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["properties.floors", "properties.structure"]);
    }

    #[test]
    fn decimals_and_text_are_bounded() {
        assert!(two_decimals(288.25, 1e5).is_ok());
        assert!(two_decimals(288.255, 1e5).is_err());
        assert!(two_decimals(-1.0, 1e5).is_err());
        assert!(text("  ", 1, 10).is_err());
        assert_eq!(text(" 村 ", 1, 10).unwrap(), "村");
        assert!(text("a\u{0}b", 1, 10).is_err());
    }

    #[test]
    fn text_is_nfc_and_holds_no_control_or_format_character() {
        assert_eq!(text("Cafe\u{301}", 1, 10).unwrap(), "Caf\u{e9}");
        assert_eq!(text("\u{F9B1}", 1, 10).unwrap(), "\u{9234}", "a CJK compatibility ideograph");
        assert_eq!(text("长溪村", 1, 10).unwrap(), "长溪村");
        for bad in
            ["长溪\u{200b}村", "\u{202e}村溪长", "赵\u{200d}六", "\u{feff}村", "a\u{2028}b", "a\tb", "a\rb", "a\nb"]
        {
            let e = text(bad, 1, 10).unwrap_err();
            assert!(e.starts_with("character "), "{bad:?}: {e}");
        }
        assert!(text("长溪\u{200b}村", 1, 10).unwrap_err().contains("U+200B"));
        assert_eq!(paragraphs("一行\n二行", 1, 10).unwrap(), "一行\n二行");
        assert!(paragraphs("一行\r\n二行", 1, 10).is_err());
        assert!(paragraphs("一\u{200b}行", 1, 10).is_err());
        assert_eq!(text("\u{3000}村\u{3000}", 1, 10).unwrap(), "村", "ideographic spaces are trimmed");
    }
}
