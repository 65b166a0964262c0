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
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!("{value:?} is not one of {}", allowed.join(", ")))
    }
}

/// `value` trimmed, with between `min` and `max` characters.
pub fn text(value: &str, min: usize, max: usize) -> Result<String, String> {
    let t = value.trim();
    let n = t.chars().count();
    if n < min {
        return Err(if min == 1 { "must not be empty".into() } else { format!("needs at least {min} characters") });
    }
    if n > max {
        return Err(format!("has {n} characters; at most {max}"));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err("contains control characters".into());
    }
    Ok(t.to_string())
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
}
