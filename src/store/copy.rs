//! Bulk loading with `COPY … FROM STDIN` (text format): rows are written into a buffer and streamed to the
//! server in pieces, far faster than one INSERT per row. Used by the importer and the seed generators.

use super::StoreResult;
use sqlx::PgConnection;

/// Rows in PostgreSQL's COPY text format.
#[derive(Default)]
pub struct CopyRows {
    buf: Vec<u8>,
    fields: usize,
    pub rows: usize,
}

impl CopyRows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field to the current row; `None` is SQL null.
    pub fn field(&mut self, value: Option<&str>) -> &mut Self {
        if self.fields > 0 {
            self.buf.push(b'\t');
        }
        self.fields += 1;
        match value {
            None => self.buf.extend_from_slice(b"\\N"),
            Some(v) => {
                for b in v.bytes() {
                    match b {
                        b'\\' => self.buf.extend_from_slice(b"\\\\"),
                        b'\t' => self.buf.extend_from_slice(b"\\t"),
                        b'\n' => self.buf.extend_from_slice(b"\\n"),
                        b'\r' => self.buf.extend_from_slice(b"\\r"),
                        _ => self.buf.push(b),
                    }
                }
            }
        }
        self
    }

    /// Adds a non-null field.
    pub fn text(&mut self, value: impl AsRef<str>) -> &mut Self {
        self.field(Some(value.as_ref()))
    }

    /// Adds a field written with `Display`.
    pub fn value(&mut self, value: impl std::fmt::Display) -> &mut Self {
        self.text(value.to_string())
    }

    /// Ends the current row.
    pub fn end(&mut self) {
        self.buf.push(b'\n');
        self.fields = 0;
        self.rows += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Streams the rows with `copy_sql` (`copy t (a, b) from stdin`) and empties the buffer.
    pub async fn send(&mut self, conn: &mut PgConnection, copy_sql: &str) -> StoreResult<u64> {
        let mut copy = conn.copy_in_raw(copy_sql).await?;
        for piece in self.buf.chunks(1 << 20) {
            copy.send(piece).await?;
        }
        let n = copy.finish().await?;
        self.buf.clear();
        self.rows = 0;
        Ok(n)
    }
}

/// A closed ring of lon/lat positions as EWKT (`SRID=4326;POLYGON((…))`), which COPY reads into a
/// geometry column. Nine decimals of a degree are 0.1 mm.
pub fn polygon_ewkt(rings: &[&[(f64, f64)]]) -> String {
    let mut s = String::from("SRID=4326;POLYGON(");
    for (k, ring) in rings.iter().enumerate() {
        if k > 0 {
            s.push(',');
        }
        s.push('(');
        for (i, (x, y)) in ring.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!("{x:.9} {y:.9}"));
        }
        s.push(')');
    }
    s.push(')');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_are_escaped_and_nulls_marked() {
        let mut rows = CopyRows::new();
        rows.text("a\tb\\c\nd").field(None).value(12);
        rows.end();
        assert_eq!(String::from_utf8(rows.buf.clone()).unwrap(), "a\\tb\\\\c\\nd\t\\N\t12\n");
    }
}
