//! `sortby` on items (docs/DESIGN.md §7.4): the keys a collection sorts on, their order in SQL, and the
//! keyset cursor of the `next`/`prev` links.
//!
//! A page never skips rows with OFFSET: its link carries the position of its last (or first) feature —
//! the values of the sort keys and the id, which breaks ties — and the next page is the rows after that
//! position in the order. A deep page costs what the first one costs, and a feature inserted or removed
//! meanwhile moves no other from one page to the next. Keys are columns that are never null. When they run
//! one way the condition is one row comparison, `(key, id) > ($1, $2)`, which an index on `(key, id)`
//! answers as a range (`migrations/0122_sort_indexes.sql`); otherwise it spells out the order key by key,
//! bounded by the first key so an index on it still starts the scan at the position.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use super::items::is_id;
use super::layers::{IdKind, Layer};
use crate::domain::roles::Audience;

/// A property items may be sorted on. Only columns of the layer's own rows are keys, and of the large
/// layers only indexed ones: a value looked up per row (a house's open listing, its lease, its parcel's
/// village) or without an index would have the database read and sort the whole collection for every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// The property's name (see [`Layer::properties`]); a key is offered to those who see the property.
    pub name: &'static str,
    /// The column sorted on (the stored one, so an index on it serves).
    pub sql: &'static str,
    /// Its SQL type, which a cursor's value is read as.
    pub cast: &'static str,
}

const fn key(name: &'static str, sql: &'static str, cast: &'static str) -> SortKey {
    SortKey { name, sql, cast }
}

// Houses and parcels are many: each of their keys leads an index (`0122_sort_indexes.sql` and before).
const FARMHOUSE_KEYS: &[SortKey] = &[
    key("unit_number", "f.unit_number", "bpchar"),
    key("township_code", "f.township_code", "bpchar"),
    key("status", "f.status", "text"),
    key("floor_area_m2", "f.floor_area_m2", "numeric"),
    key("floors", "f.floors", "int2"),
    key("year_built", "f.year_built", "int2"),
];

const PARCEL_KEYS: &[SortKey] = &[
    key("parcel_code", "p.parcel_code", "bpchar"),
    key("township_code", "p.township_code", "bpchar"),
    key("area_m2", "p.area_m2", "float8"),
];

const TOWNSHIP_KEYS: &[SortKey] = &[
    key("code", "t.code", "bpchar"),
    key("name", "t.name", "text"),
    key("kind", "t.kind", "text"),
    // `township_activation()` has a row of every township, zeros where it has no houses.
    key("houses_total", "a.houses_total", "int8"),
    key("certified_houses", "a.certified_houses", "int8"),
];

const VILLAGE_KEYS: &[SortKey] = &[key("name", "v.name", "text"), key("township_code", "v.township_code", "bpchar")];

/// The keys `layer` may be sorted on by anyone who sees them.
pub fn keys(layer: Layer) -> &'static [SortKey] {
    match layer {
        Layer::Farmhouses => FARMHOUSE_KEYS,
        Layer::Parcels => PARCEL_KEYS,
        Layer::Townships => TOWNSHIP_KEYS,
        Layer::Villages => VILLAGE_KEYS,
    }
}

/// The keys of `layer` that `audience` may sort on: those of the properties it sees.
pub fn sortable(layer: Layer, audience: Audience) -> impl Iterator<Item = &'static SortKey> {
    keys(layer).iter().filter(move |k| layer.visible(audience, false).any(|p| p.name == k.name))
}

/// The order of items: by these keys, then by id; by id alone when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortBy {
    /// Each key with whether it runs descending.
    pub keys: Vec<(&'static SortKey, bool)>,
}

impl SortBy {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// As `sortby` writes it: `-floor_area_m2,year_built`.
    pub fn text(&self) -> String {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|(k, descending)| format!("{}{}", if *descending { "-" } else { "" }, k.name))
            .collect();
        keys.join(",")
    }
}

/// Reads `sortby`: property names joined by commas, each optionally prefixed by `+` (ascending, the
/// default) or `-` (descending); each a key of `layer` that `audience` may sort on, once.
pub fn read(layer: Layer, audience: Audience, text: &str) -> Result<SortBy, String> {
    let mut sort = SortBy::default();
    for part in text.split(',').map(str::trim) {
        let (descending, name) = match part.as_bytes().first() {
            Some(b'-') => (true, &part[1..]),
            Some(b'+') => (false, &part[1..]),
            _ => (false, part),
        };
        let Some(key) = sortable(layer, audience).find(|k| k.name == name) else {
            let known: Vec<&str> = sortable(layer, audience).map(|k| k.name).collect();
            return Err(format!(
                "{} cannot be sorted on {name:?}; it sorts on {} (each optionally after + or -)",
                layer.name(),
                known.join(", ")
            ));
        };
        if sort.keys.iter().any(|(k, _)| k.name == name) {
            return Err(format!("{name} is named twice"));
        }
        sort.keys.push((key, descending));
    }
    Ok(sort)
}

/// A position in the order of items: the sort keys' values (as PostgreSQL writes them) and the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The `sortby` it was read under, so a cursor is never applied to another order.
    sortby: String,
    keys: Vec<Option<String>>,
    id: String,
}

/// The value of an `after`/`before` parameter: the id when items are in id order, else the position,
/// base64url-encoded JSON.
pub fn encode(sort: &SortBy, position: &Position) -> String {
    if sort.is_empty() {
        return position.id.clone();
    }
    // Serialising strings and options cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// Reads an `after`/`before` value written by [`encode`] for `layer` under `sort`.
pub fn decode(layer: Layer, sort: &SortBy, text: &str) -> Result<Position, String> {
    let position = if sort.is_empty() {
        Position { sortby: String::new(), keys: Vec::new(), id: text.to_string() }
    } else {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| "is not a cursor of a page link".to_string())?;
        let position: Position =
            serde_json::from_slice(&bytes).map_err(|_| "is not a cursor of a page link".to_string())?;
        if position.sortby != sort.text() {
            return Err(format!("is a cursor of sortby={:?}, not of sortby={:?}", position.sortby, sort.text()));
        }
        position
    };
    if !is_id(layer, &position.id) {
        return Err(format!("{:?} is not a feature id of {}", position.id, layer.name()));
    }
    if position.keys.len() != sort.keys.len() {
        return Err("is not a cursor of a page link".into());
    }
    for ((key, _), value) in sort.keys.iter().zip(&position.keys) {
        let fits = match value {
            None => false,
            Some(v) if v.contains('\0') => false,
            Some(v) => match key.cast {
                // What the cast takes without an error (a value out of its range would fail the query).
                "int2" => v.parse::<i16>().is_ok(),
                "int4" => v.parse::<i32>().is_ok(),
                "int8" => v.parse::<i64>().is_ok(),
                "numeric" | "float8" => v.parse::<f64>().is_ok_and(f64::is_finite),
                _ => true,
            },
        };
        if !fits {
            return Err(format!("holds a value that is not one of {}", key.name));
        }
    }
    Ok(position)
}

/// The select list's tail that reads the position of each row: `, key::text, …` (empty in id order).
pub fn key_columns(sort: &SortBy) -> String {
    sort.keys.iter().map(|(k, _)| format!(", ({})::text", k.sql)).collect()
}

/// The position of `row`, whose column 0 is the id and whose sort keys start at column `from`.
pub fn position_of(row: &PgRow, sort: &SortBy, from: usize) -> sqlx::Result<Position> {
    let keys = (0..sort.keys.len()).map(|i| row.try_get::<Option<String>, _>(from + i)).collect::<sqlx::Result<_>>()?;
    Ok(Position { sortby: sort.text(), keys, id: row.try_get(0)? })
}

/// The terms of the order: each key with its direction (reversed when `backwards`), then the id, which runs
/// as the last key does.
fn terms(layer: Layer, sort: &SortBy, backwards: bool) -> Vec<(&'static str, &'static str, bool)> {
    let s = layer.source();
    let id_cast = match s.id_kind {
        IdKind::Number => "int8",
        IdKind::Code => "text",
    };
    let mut terms: Vec<_> = sort.keys.iter().map(|(k, d)| (k.sql, k.cast, *d != backwards)).collect();
    let last = sort.keys.last().is_some_and(|(_, d)| *d);
    terms.push((s.id, id_cast, last != backwards));
    terms
}

/// Pushes ` order by …` of `sort` (reversed when `backwards`, to read the page before a position).
pub fn push_order(b: &mut QueryBuilder<'_, Postgres>, layer: Layer, sort: &SortBy, backwards: bool) {
    b.push(" order by ");
    let mut list = b.separated(", ");
    for (sql, _, descending) in terms(layer, sort, backwards) {
        list.push(sql).push_unseparated(if descending { " desc" } else { " asc" });
    }
}

/// Pushes the condition (after ` where ` or ` and `, as `first` says) of the rows that follow `at` in the
/// order of `sort` (that precede it when `backwards`).
pub fn push_after(
    b: &mut QueryBuilder<'_, Postgres>,
    layer: Layer,
    sort: &SortBy,
    at: &Position,
    backwards: bool,
    first: &mut bool,
) {
    b.push(if std::mem::take(first) { " where " } else { " and " });
    let terms = terms(layer, sort, backwards);
    let values: Vec<&str> = at.keys.iter().map(|v| v.as_deref().unwrap_or_default()).chain([at.id.as_str()]).collect();
    let value = |b: &mut QueryBuilder<'_, Postgres>, v: &str, cast: &str| {
        b.push_bind(v.to_string()).push("::").push(cast.to_string());
    };
    if let (Some(twin), [(_, cast, descending)]) = (layer.source().id_twin, &terms[..]) {
        // In id order the same range on the joined table's id too (see `Source::id_twin`).
        b.push(twin).push(if *descending { " < " } else { " > " });
        value(b, values[0], cast);
        b.push(" and ");
    }
    if terms.iter().all(|t| t.2 == terms[0].2) {
        // (k1, …, id) > (v1, …, id0): a range of an index on the same columns.
        b.push("(");
        let mut list = b.separated(", ");
        for t in &terms {
            list.push(t.0);
        }
        b.push(if terms[0].2 { ") < (" } else { ") > (" });
        for (i, (t, v)) in terms.iter().zip(&values).enumerate() {
            if i > 0 {
                b.push(", ");
            }
            value(b, v, t.1);
        }
        b.push(")");
        return;
    }
    // Key by key: equal on the keys before, past it on this one; bounded by the first key, which an index
    // on it reads as a range.
    let (sql, cast, descending) = terms[0];
    b.push(sql).push(if descending { " <= " } else { " >= " });
    value(b, values[0], cast);
    b.push(" and (");
    for (i, ((sql, cast, descending), v)) in terms.iter().zip(&values).enumerate() {
        if i > 0 {
            b.push(" or ");
        }
        b.push("(");
        for ((sql, cast, _), v) in terms[..i].iter().zip(&values) {
            b.push(*sql).push(" = ");
            value(b, v, cast);
            b.push(" and ");
        }
        b.push(*sql).push(if *descending { " < " } else { " > " });
        value(b, v, cast);
        b.push(")");
    }
    b.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortby_takes_the_keys_the_caller_sees() {
        let sort = read(Layer::Farmhouses, Audience::Public, "-floor_area_m2,+year_built,status").unwrap();
        assert_eq!(sort.text(), "-floor_area_m2,year_built,status");
        assert!(read(Layer::Farmhouses, Audience::Public, "contract_no").unwrap_err().contains("cannot be sorted"));
        for bad in ["", "floors,", "colour", "-", "floors,-floors", "description"] {
            assert!(read(Layer::Farmhouses, Audience::Public, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_sort_key_is_a_property_of_its_layer() {
        for layer in Layer::ALL {
            for k in keys(layer) {
                assert!(layer.properties().iter().any(|p| p.name == k.name), "{}.{}", layer.name(), k.name);
            }
        }
    }

    #[test]
    fn a_cursor_reads_back_only_under_its_own_order() {
        let sort = read(Layer::Farmhouses, Audience::Public, "-floor_area_m2,status").unwrap();
        let at =
            Position { sortby: sort.text(), keys: vec![Some("120.50".into()), Some("listed".into())], id: "42".into() };
        let token = encode(&sort, &at);
        assert_eq!(decode(Layer::Farmhouses, &sort, &token), Ok(at.clone()));
        let other = read(Layer::Farmhouses, Audience::Public, "floor_area_m2,status").unwrap();
        assert!(decode(Layer::Farmhouses, &other, &token).unwrap_err().contains("not of sortby"));
        assert!(decode(Layer::Farmhouses, &sort, "42").is_err());
        for much in ["much", "1e400", "NaN"] {
            let bad = Position { keys: vec![Some(much.into()), Some("listed".into())], ..at.clone() };
            assert!(decode(Layer::Farmhouses, &sort, &encode(&sort, &bad)).is_err(), "{much}");
        }
        let townships = read(Layer::Townships, Audience::Public, "-houses_total,name").unwrap();
        let (keys, id) = (vec![None, Some("百官街道".into())], "330604001".into());
        let nulls = Position { sortby: townships.text(), keys, id };
        assert!(decode(Layer::Townships, &townships, &encode(&townships, &nulls)).is_err(), "keys are never null");
        let floors = read(Layer::Farmhouses, Audience::Public, "floors").unwrap();
        let too_many = Position { sortby: "floors".into(), keys: vec![Some("70000".into())], id: "1".into() };
        assert!(decode(Layer::Farmhouses, &floors, &encode(&floors, &too_many)).is_err(), "beyond smallint");
        let null_area = Position { keys: vec![None, Some("listed".into())], ..at };
        assert!(decode(Layer::Farmhouses, &sort, &encode(&sort, &null_area)).is_err());
        // In id order the cursor is the id itself.
        let by_id = SortBy::default();
        assert_eq!(encode(&by_id, &decode(Layer::Farmhouses, &by_id, "42").unwrap()), "42");
        assert!(decode(Layer::Farmhouses, &by_id, "4x").is_err());
    }
}
