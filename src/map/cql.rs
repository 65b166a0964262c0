//! CQL2 filters (OGC API – Features, Part 3; docs/DESIGN.md §7.3) over the map's layers: the queryables
//! of a layer as its caller's role sees them, and a filter in cql2-text or cql2-json turned into a SQL
//! condition whose every value is a bound parameter.
//!
//! The `cql2` crate parses; this module decides what may be asked. A name that is no queryable of the
//! layer for the caller (a staff fact asked by the public, a column the layer does not show) is refused
//! like any unknown name, as is any function or operator not listed below, a value of the wrong type, a
//! geometry outside its CRS or with too many vertices, and an expression nested too deep or too large.
//! Refusals name the place in the expression: the line and column of the text for a filter that cannot
//! be read, else the path of the offending node in the filter's cql2-json form (`/args/1/args/0`), with
//! the character where the name or value appears in the text when it does.
//!
//! What may be asked: `=`, `<>`, `<`, `<=`, `>`, `>=`, `LIKE`, `IN`, `BETWEEN`, `IS NULL`, `AND`, `OR`,
//! `NOT`, `CASEI`; the eight spatial functions (`S_INTERSECTS`, `S_WITHIN`, `S_CONTAINS`, `S_DISJOINT`,
//! `S_EQUALS`, `S_TOUCHES`, `S_OVERLAPS`, `S_CROSSES`) with geometries and `BBOX`es in the filter's CRS;
//! and on dates `T_BEFORE`, `T_AFTER`, `T_EQUALS`, `T_DISJOINT`, `T_INTERSECTS`, `T_DURING` with `DATE`s
//! and `INTERVAL`s of dates.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use cql2::Expr;
use geo::{CoordsIter, Geometry as Geom, MapCoords, Validation};
use serde_json::{Map, Value as Json, json};
use sqlx::postgres::PgArguments;
use sqlx::query::QueryScalar;
use sqlx::{Postgres, QueryBuilder};
use wkt::{ToWkt, TryFromWkt};

use super::layers::{Kind, Layer};
use crate::domain::roles::Audience;

/// The longest filter read, in bytes.
pub const MAX_TEXT: usize = 16 * 1024;
/// The deepest nesting of brackets and parentheses in a filter's text (a geometry's own count).
pub const MAX_NESTING: usize = 16;
/// The most operators, operands and list items one filter may hold.
pub const MAX_NODES: usize = 300;
/// The most vertices of all the geometries of one filter.
pub const MAX_VERTICES: usize = 1000;

/// How long reading one filter may take before it is refused.
const PARSE_TIME: Duration = Duration::from_secs(2);

/// The type of a queryable, as the filter's values must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Text,
    Integer,
    Number,
    Date,
    Geometry,
}

impl Ty {
    fn numeric(self) -> bool {
        matches!(self, Ty::Integer | Ty::Number)
    }

    fn comparable_with(self, other: Ty) -> bool {
        self == other || (self.numeric() && other.numeric())
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Text => "a string",
            Ty::Integer => "an integer",
            Ty::Number => "a number",
            Ty::Date => "a date",
            Ty::Geometry => "a geometry",
        }
    }
}

/// A property a filter may name.
#[derive(Debug, Clone, Copy)]
pub struct Queryable {
    pub name: &'static str,
    /// SQL over the layer's row aliases ([`super::layers::Source::from`]).
    pub sql: &'static str,
    pub ty: Ty,
    pub audience: Audience,
    pub description: &'static str,
}

/// Facts of the open listing a house's filter may use beside the layer's properties: its public
/// notice's dates (公示) and its allowed uses, as `map_houses` (`m` in the farmhouses' `from` clause)
/// keeps them.
const FARMHOUSE_DATES: &[Queryable] = &[
    Queryable {
        name: "notice_start",
        sql: "m.notice_start",
        ty: Ty::Date,
        audience: Audience::Public,
        description: "first day of the open listing's public notice (公示)",
    },
    Queryable {
        name: "notice_end",
        sql: "m.notice_end",
        ty: Ty::Date,
        audience: Audience::Public,
        description: "last day of the open listing's public notice (公示)",
    },
    // A list in features; here its items joined by commas, so `allowed_uses LIKE '%民宿%'` selects the
    // houses whose open listing allows that use (the investor map's use filter).
    Queryable {
        name: "allowed_uses",
        sql: "m.allowed_uses",
        ty: Ty::Text,
        audience: Audience::Public,
        description: "uses the open listing allows, joined by commas (e.g. allowed_uses LIKE '%民宿%')",
    },
];

/// The queryables of `layer` for `audience`: its geometry, every property the audience sees (lists
/// aside), and the layer's dates. Never a property the audience does not see.
pub fn queryables(layer: Layer, audience: Audience) -> Vec<Queryable> {
    let mut all = vec![Queryable {
        name: "geometry",
        sql: layer.source().geom_4326,
        ty: Ty::Geometry,
        audience: Audience::Public,
        description: "the feature's geometry",
    }];
    for p in layer.visible(audience, false) {
        let ty = match p.kind {
            Kind::String => Ty::Text,
            Kind::Integer => Ty::Integer,
            Kind::Number => Ty::Number,
            Kind::List => continue,
        };
        all.push(Queryable { name: p.name, sql: p.sql, ty, audience: p.audience, description: p.description });
    }
    if layer == Layer::Farmhouses {
        all.extend(FARMHOUSE_DATES.iter().filter(|q| audience.sees(q.audience)));
    }
    all
}

/// The queryables document (JSON Schema 2020-12) of `layer` for `audience`, published at `id`.
pub fn queryables_schema(layer: Layer, audience: Audience, id: &str) -> Json {
    let mut properties = Map::new();
    for q in queryables(layer, audience) {
        let mut p = json!({ "title": q.name, "description": q.description });
        match q.ty {
            Ty::Text => p["type"] = json!("string"),
            Ty::Integer => p["type"] = json!("integer"),
            Ty::Number => p["type"] = json!("number"),
            Ty::Date => {
                p["type"] = json!("string");
                p["format"] = json!("date");
            }
            Ty::Geometry => {
                p["format"] = json!("geometry-any");
                p["x-ogc-role"] = json!("primary-geometry");
            }
        }
        properties.insert(q.name.to_string(), p);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id,
        "type": "object",
        "title": layer.title(),
        "description": format!("The properties a filter on {} may use (CQL2: filter, filter-lang, filter-crs).", layer.name()),
        "properties": properties,
        "additionalProperties": false,
    })
}

/// The language of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Text,
    Json,
}

/// A CRS a filter's geometries may be given in (`filter-crs`), with the order of its axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterCrs {
    pub srid: u32,
    /// The CRS's first axis is north (latitude or northing): coordinates are swapped to east, north.
    north_first: bool,
    /// West, south, east, north bounds of coordinates (in east, north order) that the CRS can transform.
    bounds: [f64; 4],
}

pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG_URI: &str = "http://www.opengis.net/def/crs/EPSG/0/";

const LON_LAT: [f64; 4] = [-180.0, -90.0, 180.0, 90.0];

/// The CRSs `filter-crs` takes: CRS84 (longitude, latitude), then by EPSG code. Geographic EPSG CRSs
/// are latitude first and the Gauss–Krüger ones northing (X) first, as EPSG defines them.
const FILTER_CRSS: &[(u32, FilterCrs)] = &[
    (4326, FilterCrs { srid: 4326, north_first: true, bounds: LON_LAT }),
    (4490, FilterCrs { srid: 4490, north_first: true, bounds: LON_LAT }),
    (4549, FilterCrs { srid: 4549, north_first: true, bounds: [0.0, 0.0, 1_000_000.0, 10_000_000.0] }),
    (4528, FilterCrs { srid: 4528, north_first: true, bounds: [40_000_000.0, 0.0, 41_000_000.0, 10_000_000.0] }),
    (
        3857,
        FilterCrs {
            srid: 3857,
            north_first: false,
            bounds: [-20_037_508.342_789_244, -20_048_966.1, 20_037_508.342_789_244, 20_048_966.1],
        },
    ),
];

impl FilterCrs {
    pub const CRS84: FilterCrs = FilterCrs { srid: 4326, north_first: false, bounds: LON_LAT };

    /// Reads a `filter-crs` URI.
    pub fn parse(uri: &str) -> Result<Self, Refusal> {
        if uri == CRS84 {
            return Ok(Self::CRS84);
        }
        uri.strip_prefix(EPSG_URI)
            .and_then(|code| code.parse::<u32>().ok())
            .and_then(|code| FILTER_CRSS.iter().find(|(c, _)| *c == code))
            .map(|(_, crs)| *crs)
            .ok_or_else(|| {
                let uris: Vec<String> = FILTER_CRSS.iter().map(|(c, _)| format!("{EPSG_URI}{c}")).collect();
                Refusal::new(
                    "filter-crs",
                    format!("{uri:?} is not a CRS filters may use; give {CRS84} or one of {}", uris.join(", ")),
                )
            })
    }
}

/// A refused filter: the parameter at fault (`filter`, `filter-lang`, `filter-crs`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// A filter as the request gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FilterRequest {
    pub text: String,
    pub lang: Option<String>,
    pub crs: Option<String>,
}

impl FilterRequest {
    /// Takes `filter`, `filter-lang` and `filter-crs` out of a request's parameters; the rest are left.
    /// (`filter-lang` or `filter-crs` without a filter are taken and ignored.)
    pub fn take(pairs: &mut Vec<(String, String)>) -> Option<FilterRequest> {
        let mut text = None;
        let mut lang = None;
        let mut crs = None;
        pairs.retain(|(k, v)| {
            let slot = match k.as_str() {
                "filter" => &mut text,
                "filter-lang" => &mut lang,
                "filter-crs" => &mut crs,
                _ => return true,
            };
            *slot = Some(v.clone());
            false
        });
        text.map(|text| FilterRequest { text, lang, crs })
    }

    /// The parameters that give this filter again (for links).
    pub fn params(&self) -> Vec<(&'static str, &str)> {
        let mut p = vec![("filter", self.text.as_str())];
        if let Some(lang) = &self.lang {
            p.push(("filter-lang", lang));
        }
        if let Some(crs) = &self.crs {
            p.push(("filter-crs", crs));
        }
        p
    }
}

/// A value bound to a filter's SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Text(String),
    Number(f64),
    Date(NaiveDate),
}

impl Bound {
    fn cast(&self) -> &'static str {
        match self {
            Bound::Text(_) => "::text",
            Bound::Number(_) => "::float8",
            Bound::Date(_) => "::date",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Sql(String),
    Value(Bound),
}

/// A filter made SQL: a boolean condition over the layer's row aliases, with its values bound.
#[derive(Debug, Clone)]
pub struct Where {
    parts: Vec<Part>,
    /// It names a staff-only property (the layer's staff joins are needed).
    pub staff: bool,
    /// The filter's normal form: equal for filters that select the same rows the same way (the tile
    /// cache keeps filtered tiles under it).
    pub key: Arc<str>,
    /// The filter as the request gave it.
    pub request: FilterRequest,
}

impl Where {
    /// Appends the condition to `b`, binding its values.
    pub fn push_to(&self, b: &mut QueryBuilder<'_, Postgres>) {
        for part in &self.parts {
            match part {
                Part::Sql(s) => {
                    b.push(s);
                }
                Part::Value(v) => {
                    match v {
                        Bound::Text(t) => b.push_bind(t.clone()),
                        Bound::Number(n) => b.push_bind(*n),
                        Bound::Date(d) => b.push_bind(*d),
                    };
                    b.push(v.cast());
                }
            }
        }
    }

    /// The condition with its values as parameters `$first`, `$first + 1`, …; bind them with
    /// [`Where::bind`].
    pub fn numbered(&self, first: usize) -> String {
        let mut n = first;
        let mut sql = String::new();
        for part in &self.parts {
            match part {
                Part::Sql(s) => sql.push_str(s),
                Part::Value(v) => {
                    sql.push_str(&format!("${n}{}", v.cast()));
                    n += 1;
                }
            }
        }
        sql
    }

    /// Binds the values of [`Where::numbered`] to `q`, in order.
    pub fn bind<'q, O>(
        &self,
        mut q: QueryScalar<'q, Postgres, O, PgArguments>,
    ) -> QueryScalar<'q, Postgres, O, PgArguments> {
        for part in &self.parts {
            if let Part::Value(v) = part {
                q = match v {
                    Bound::Text(t) => q.bind(t.clone()),
                    Bound::Number(n) => q.bind(*n),
                    Bound::Date(d) => q.bind(*d),
                };
            }
        }
        q
    }
}

/// Recently read filters, so a map asking for many tiles under one filter reads it once (at most about
/// 4 MiB of filter text).
static READ: LazyLock<moka::sync::Cache<(Layer, Audience, FilterRequest), Arc<Where>>> = LazyLock::new(|| {
    moka::sync::Cache::builder()
        .max_capacity(4 * 1024 * 1024)
        .weigher(|k: &(Layer, Audience, FilterRequest), _: &Arc<Where>| {
            u32::try_from(2 * k.2.text.len() + 256).unwrap_or(u32::MAX)
        })
        .build()
});

/// Filters read at once; a reader that never ends keeps its permit, so a flood of them costs filters,
/// not the service.
static READERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Reads `request` as a filter on `layer` for `audience`. The reading runs on a thread of its own with
/// a large stack, so that no nesting the parser meets can exhaust a server thread's stack, and it is
/// refused if it takes too long.
pub async fn compile(layer: Layer, audience: Audience, request: FilterRequest) -> Result<Arc<Where>, Refusal> {
    let memo = (layer, audience, request.clone());
    if let Some(w) = READ.get(&memo) {
        return Ok(w);
    }
    let busy = || Refusal::new("filter", "too many filters are being read; try again");
    let Ok(Ok(permit)) = tokio::time::timeout(PARSE_TIME, READERS.acquire()).await else {
        return Err(busy());
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new().name("cql2".into()).stack_size(64 * 1024 * 1024).spawn(move || {
        let _ = tx.send(compile_now(layer, audience, request));
        drop(permit);
    });
    if spawned.is_err() {
        return Err(Refusal::new("filter", "the filter cannot be read now; try again"));
    }
    let w = match tokio::time::timeout(PARSE_TIME, rx).await {
        Ok(Ok(result)) => Arc::new(result?),
        _ => return Err(Refusal::new("filter", "the filter takes too long to read; make it simpler")),
    };
    READ.insert(memo, w.clone());
    Ok(w)
}

/// [`compile`] on the current thread.
pub fn compile_now(layer: Layer, audience: Audience, request: FilterRequest) -> Result<Where, Refusal> {
    let lang = match request.lang.as_deref() {
        None | Some("cql2-text") => Lang::Text,
        Some("cql2-json") => Lang::Json,
        Some(other) => {
            return Err(Refusal::new("filter-lang", format!("must be cql2-text or cql2-json, not {other:?}")));
        }
    };
    let crs = match request.crs.as_deref() {
        None => FilterCrs::CRS84,
        Some(uri) => FilterCrs::parse(uri)?,
    };
    let text = request.text.as_str();
    check_size(text)?;
    let expr = match lang {
        Lang::Text => cql2::parse_text(text).map_err(|e| unreadable_text(&e))?,
        Lang::Json => cql2::parse_json(text).map_err(|e| {
            Refusal::new(
                "filter",
                format!("the cql2-json cannot be read at line {}, column {}: {e}", e.line(), e.column()),
            )
        })?,
    };
    let queryables = queryables(layer, audience);
    let mut c = Compiler { queryables: &queryables, crs, text, parts: Vec::new(), nodes: 0, vertices: 0, staff: false };
    c.predicate(&expr, "", 0)?;
    let parts = std::mem::take(&mut c.parts);
    let mut key = format!("{}|", crs.srid);
    for part in &parts {
        match part {
            Part::Sql(s) => key.push_str(s),
            Part::Value(v) => key.push_str(&format!("{{{v:?}}}")),
        }
    }
    Ok(Where { parts, staff: c.staff, key: key.into(), request })
}

/// Refuses a filter too long, or nested too deep to read safely.
fn check_size(text: &str) -> Result<(), Refusal> {
    if text.len() > MAX_TEXT {
        return Err(Refusal::new("filter", format!("is {} bytes long; at most {MAX_TEXT} are read", text.len())));
    }
    if text.trim().is_empty() {
        return Err(Refusal::new("filter", "is empty"));
    }
    if let Some(i) = text.find('\0') {
        return Err(Refusal::new("filter", format!("holds a NUL character (at character {})", char_at(text, i))));
    }
    let (mut depth, mut quote) = (0usize, None);
    for (i, ch) in text.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '[' | '{') => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Refusal::new(
                        "filter",
                        format!("is nested more than {MAX_NESTING} deep (at character {})", char_at(text, i)),
                    ));
                }
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The 1-based character number of byte `i` of `text`.
fn char_at(text: &str, i: usize) -> usize {
    text[..i].chars().count() + 1
}

/// A cql2-text parse error as a refusal naming the line and column (the parser's message says it as
/// ` --> line:column`, then shows the text with a caret and what was expected).
fn unreadable_text(e: &cql2::Error) -> Refusal {
    let message = e.to_string();
    let at = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .and_then(|pos| pos.split_once(':'))
        .map(|(line, col)| format!(" at line {}, column {}", line.trim(), col.trim()));
    let expected = message.lines().find_map(|l| l.trim().strip_prefix("= ")).unwrap_or(&message);
    Refusal::new("filter", format!("the cql2-text cannot be read{}: {expected}", at.unwrap_or_default()))
}

/// What a scalar operand became: its SQL parts and type.
struct Operand {
    parts: Vec<Part>,
    ty: Ty,
    /// A property (not a value): the side a spatial or temporal function reads from the rows.
    property: bool,
}

struct Compiler<'a> {
    queryables: &'a [Queryable],
    crs: FilterCrs,
    text: &'a str,
    parts: Vec<Part>,
    nodes: usize,
    vertices: usize,
    staff: bool,
}

const SPATIAL: &[(&str, &str)] = &[
    ("s_intersects", "st_intersects"),
    ("s_within", "st_within"),
    ("s_contains", "st_contains"),
    ("s_disjoint", "st_disjoint"),
    ("s_equals", "st_equals"),
    ("s_touches", "st_touches"),
    ("s_overlaps", "st_overlaps"),
    ("s_crosses", "st_crosses"),
];

const COMPARISON: &[&str] = &["=", "<>", "<", "<=", ">", ">="];

const TEMPORAL: &[&str] = &["t_before", "t_after", "t_equals", "t_disjoint", "t_intersects", "t_during"];

/// `path` extended by argument `i`.
fn arg_path(path: &str, i: usize) -> String {
    format!("{path}/args/{i}")
}

impl Compiler<'_> {
    /// A refusal at `path`, with the character where `token` first appears in the text, if it does.
    fn refuse(&self, path: &str, token: Option<&str>, message: impl std::fmt::Display) -> Refusal {
        let at = if path.is_empty() { "the whole filter".to_string() } else { path.to_string() };
        let found = token.filter(|t| !t.is_empty()).and_then(|t| self.text.find(t));
        let mut m = format!("{message} (at {at}");
        if let Some(i) = found {
            m.push_str(&format!(", character {}", char_at(self.text, i)));
        }
        m.push(')');
        Refusal::new("filter", m)
    }

    fn count(&mut self, path: &str) -> Result<(), Refusal> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.refuse(path, None, format!("the filter holds more than {MAX_NODES} terms")));
        }
        Ok(())
    }

    fn sql(&mut self, s: impl Into<String>) {
        self.parts.push(Part::Sql(s.into()));
    }

    /// Appends the SQL of a boolean expression.
    fn predicate(&mut self, e: &Expr, path: &str, depth: usize) -> Result<(), Refusal> {
        self.count(path)?;
        if depth > MAX_NESTING {
            return Err(self.refuse(path, None, format!("the filter is nested more than {MAX_NESTING} deep")));
        }
        let (op, args) = match e {
            Expr::Operation { op, args } => (op.as_str(), args),
            Expr::Bool(b) => {
                self.sql(if *b { "true" } else { "false" });
                return Ok(());
            }
            other => {
                return Err(self.refuse(path, token_of(other).as_deref(), "a condition is expected here, not a value"));
            }
        };
        let lower = op.to_ascii_lowercase();
        match lower.as_str() {
            "and" | "or" => {
                if args.len() < 2 {
                    return Err(self.refuse(
                        path,
                        None,
                        format!("{} takes at least two conditions", op.to_uppercase()),
                    ));
                }
                self.sql("(");
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.sql(if lower == "and" { " and " } else { " or " });
                    }
                    self.predicate(a, &arg_path(path, i), depth + 1)?;
                }
                self.sql(")");
            }
            "not" => {
                let [a] = self.arity::<1>(path, op, args)?;
                self.sql("(not ");
                self.predicate(a, &arg_path(path, 0), depth + 1)?;
                self.sql(")");
            }
            _ if COMPARISON.contains(&lower.as_str()) => {
                let [a, b] = self.arity::<2>(path, op, args)?;
                let l = self.operand(a, &arg_path(path, 0))?;
                let r = self.operand(b, &arg_path(path, 1))?;
                self.same_type(path, op, &l, &[&r], b)?;
                if l.ty == Ty::Geometry {
                    return Err(self.refuse(path, None, "geometries are compared with the spatial functions (S_…)"));
                }
                self.sql("(");
                self.parts.extend(l.parts);
                self.sql(format!(" {lower} "));
                self.parts.extend(r.parts);
                self.sql(")");
            }
            "like" => {
                let [a, b] = self.arity::<2>(path, op, args)?;
                let l = self.operand(a, &arg_path(path, 0))?;
                let r = self.operand(b, &arg_path(path, 1))?;
                if l.ty != Ty::Text || r.ty != Ty::Text {
                    return Err(self.refuse(
                        path,
                        token_of(b).as_deref(),
                        "LIKE compares strings with a string pattern",
                    ));
                }
                self.sql("(");
                self.parts.extend(l.parts);
                self.sql(" like ");
                self.parts.extend(r.parts);
                self.sql(")");
            }
            "between" => {
                let [a, lo, hi] = self.arity::<3>(path, op, args)?;
                let v = self.operand(a, &arg_path(path, 0))?;
                let l = self.operand(lo, &arg_path(path, 1))?;
                let h = self.operand(hi, &arg_path(path, 2))?;
                if !(v.ty.numeric() || v.ty == Ty::Date) {
                    return Err(self.refuse(path, token_of(a).as_deref(), "BETWEEN compares numbers or dates"));
                }
                self.same_type(path, op, &v, &[&l, &h], lo)?;
                self.sql("(");
                self.parts.extend(v.parts);
                self.sql(" between ");
                self.parts.extend(l.parts);
                self.sql(" and ");
                self.parts.extend(h.parts);
                self.sql(")");
            }
            "in" => {
                let [a, list] = self.arity::<2>(path, op, args)?;
                let v = self.operand(a, &arg_path(path, 0))?;
                let Expr::Array(items) = list else {
                    return Err(self.refuse(&arg_path(path, 1), None, "IN takes a list of values"));
                };
                if items.is_empty() {
                    return Err(self.refuse(&arg_path(path, 1), None, "IN takes at least one value"));
                }
                if v.ty == Ty::Geometry {
                    return Err(self.refuse(path, None, "IN compares strings, numbers or dates"));
                }
                let list_path = arg_path(path, 1);
                let mut values = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{list_path}/{i}");
                    self.count(&p)?;
                    let o = self.operand(item, &p)?;
                    self.same_type(&p, op, &v, &[&o], item)?;
                    values.push(o);
                }
                self.sql("(");
                self.parts.extend(v.parts);
                self.sql(" in (");
                for (i, o) in values.into_iter().enumerate() {
                    if i > 0 {
                        self.sql(", ");
                    }
                    self.parts.extend(o.parts);
                }
                self.sql("))");
            }
            "isnull" => {
                let [a] = self.arity::<1>(path, op, args)?;
                let v = self.operand(a, &arg_path(path, 0))?;
                self.sql("(");
                self.parts.extend(v.parts);
                self.sql(" is null)");
            }
            _ if SPATIAL.iter().any(|(name, _)| *name == lower) => {
                let function = SPATIAL.iter().find(|(name, _)| *name == lower).map_or("", |(_, f)| *f);
                let [a, b] = self.arity::<2>(path, op, args)?;
                let l = self.operand(a, &arg_path(path, 0))?;
                let r = self.operand(b, &arg_path(path, 1))?;
                for (o, x, i) in [(&l, a, 0), (&r, b, 1)] {
                    if o.ty != Ty::Geometry {
                        return Err(self.refuse(
                            &arg_path(path, i),
                            token_of(x).as_deref(),
                            format!("{} compares geometries, not {}", op.to_uppercase(), o.ty.name()),
                        ));
                    }
                }
                self.sql(format!("{function}("));
                self.parts.extend(l.parts);
                self.sql(", ");
                self.parts.extend(r.parts);
                self.sql(")");
            }
            _ if TEMPORAL.contains(&lower.as_str()) => self.temporal(path, &lower, args)?,
            _ => {
                return Err(self.refuse(
                    path,
                    Some(op),
                    format!(
                        "{op:?} is not a function or operator filters may use; they may use =, <>, <, <=, >, >=, \
                         LIKE, IN, BETWEEN, IS NULL, AND, OR, NOT, CASEI, S_INTERSECTS, S_WITHIN, S_CONTAINS, \
                         S_DISJOINT, S_EQUALS, S_TOUCHES, S_OVERLAPS, S_CROSSES, T_BEFORE, T_AFTER, T_EQUALS, \
                         T_DISJOINT, T_INTERSECTS and T_DURING"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The arguments of `op`, which must be exactly `N`.
    fn arity<'e, const N: usize>(&self, path: &str, op: &str, args: &'e [Box<Expr>]) -> Result<[&'e Expr; N], Refusal> {
        let refs: Vec<&Expr> = args.iter().map(|a| &**a).collect();
        refs.try_into().map_err(|_| {
            self.refuse(path, None, format!("{} takes {N} arguments, not {}", op.to_uppercase(), args.len()))
        })
    }

    /// Refuses `others` unless each has the type of `first`.
    fn same_type(&self, path: &str, op: &str, first: &Operand, others: &[&Operand], at: &Expr) -> Result<(), Refusal> {
        for o in others {
            if !first.ty.comparable_with(o.ty) {
                return Err(self.refuse(
                    path,
                    token_of(at).as_deref(),
                    format!("{} compares {} with {}", op.to_uppercase(), first.ty.name(), o.ty.name()),
                ));
            }
        }
        Ok(())
    }

    /// A scalar: a queryable, a value, `CASEI` of a string, or a geometry.
    fn operand(&mut self, e: &Expr, path: &str) -> Result<Operand, Refusal> {
        self.count(path)?;
        let value = |b: Bound, ty: Ty| Operand { parts: vec![Part::Value(b)], ty, property: false };
        match e {
            Expr::Property { property } => {
                let Some(q) = self.queryables.iter().find(|q| q.name == property) else {
                    let names: Vec<&str> = self.queryables.iter().map(|q| q.name).collect();
                    return Err(self.refuse(
                        path,
                        Some(property),
                        format!("{property:?} is not a queryable; the queryables are {}", names.join(", ")),
                    ));
                };
                if q.audience > Audience::Public {
                    self.staff = true;
                }
                Ok(Operand { parts: vec![Part::Sql(format!("({})", q.sql))], ty: q.ty, property: true })
            }
            Expr::Literal(s) => {
                if s.contains('\0') {
                    return Err(self.refuse(path, None, "a string must not contain a NUL character"));
                }
                Ok(value(Bound::Text(s.clone()), Ty::Text))
            }
            Expr::Float(n) if n.is_finite() => Ok(value(Bound::Number(*n), Ty::Number)),
            Expr::Date { date } => {
                let d = self.date(date, path)?;
                Ok(value(Bound::Date(d), Ty::Date))
            }
            Expr::Timestamp { .. } => Err(self.refuse(
                path,
                Some("TIMESTAMP"),
                "the queryables hold dates, not instants: give DATE('YYYY-MM-DD')",
            )),
            Expr::Geometry(g) => {
                let wkt =
                    g.to_wkt().map_err(|e| self.refuse(path, None, format!("the geometry cannot be read: {e}")))?;
                if wkt.contains(" Z") || wkt.contains(" M") {
                    return Err(self.refuse(path, None, "only 2D geometries are taken"));
                }
                if !rings_closed(&wkt) {
                    return Err(self.refuse(path, None, "a polygon's rings must end where they start"));
                }
                let geom = Geom::<f64>::try_from_wkt_str(&wkt).map_err(|e| {
                    self.refuse(path, None, format!("the geometry cannot be read (only 2D geometries are taken): {e}"))
                })?;
                self.geometry(geom, path)
            }
            Expr::BBox { bbox } => {
                let numbers: Option<Vec<f64>> =
                    bbox.iter().map(|b| if let Expr::Float(n) = **b { Some(n) } else { None }).collect();
                let b = match numbers.as_deref() {
                    Some([a, b, c, d] | [a, b, _, c, d, _]) => [*a, *b, *c, *d],
                    _ => return Err(self.refuse(path, Some("BBOX"), "BBOX takes four numbers (or six, in 3D)")),
                };
                if b[0] > b[2] || b[1] > b[3] {
                    return Err(self.refuse(path, Some("BBOX"), "BBOX takes its lower corner first"));
                }
                let rect = geo::Rect::new((b[0], b[1]), (b[2], b[3]));
                self.geometry(Geom::Polygon(rect.to_polygon()), path)
            }
            Expr::Operation { op, args } if op.eq_ignore_ascii_case("casei") => {
                let [a] = self.arity::<1>(path, op, args)?;
                let o = self.operand(a, &arg_path(path, 0))?;
                if o.ty != Ty::Text {
                    return Err(self.refuse(path, token_of(a).as_deref(), "CASEI takes a string"));
                }
                let mut parts = vec![Part::Sql("lower(".into())];
                parts.extend(o.parts);
                parts.push(Part::Sql(")".into()));
                Ok(Operand { parts, ty: Ty::Text, property: o.property })
            }
            Expr::Float(_) => Err(self.refuse(path, None, "a number must be finite")),
            Expr::Null => Err(self.refuse(path, Some("NULL"), "NULL is tested with IS NULL")),
            Expr::Bool(_) => Err(self.refuse(path, None, "no queryable is a boolean")),
            Expr::Array(_) => Err(self.refuse(path, None, "a list is only taken by IN")),
            Expr::Interval { .. } => {
                Err(self.refuse(path, Some("INTERVAL"), "an interval is only taken by T_ functions"))
            }
            Expr::Operation { op, .. } => Err(self.refuse(
                path,
                Some(op),
                format!("{op:?} is not a value; arithmetic and functions other than CASEI are not taken"),
            )),
        }
    }

    fn date(&self, e: &Expr, path: &str) -> Result<NaiveDate, Refusal> {
        let Expr::Literal(s) = e else {
            return Err(self.refuse(path, Some("DATE"), "DATE takes a string 'YYYY-MM-DD'"));
        };
        // Years PostgreSQL and the calendar agree on.
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|d| (1..=9999).contains(&d.year()))
            .ok_or_else(|| self.refuse(path, Some(s), format!("{s:?} is not a date YYYY-MM-DD")))
    }

    /// A geometry literal in the filter's CRS, checked and made a bound WKT in that CRS, transformed to
    /// the layers' EPSG:4326 in PostGIS.
    fn geometry(&mut self, geom: Geom<f64>, path: &str) -> Result<Operand, Refusal> {
        if matches!(geom, Geom::GeometryCollection(_)) {
            return Err(self.refuse(path, Some("GEOMETRYCOLLECTION"), "geometry collections are not taken"));
        }
        self.vertices += geom.coords_count();
        if self.vertices > MAX_VERTICES {
            return Err(self.refuse(
                path,
                None,
                format!("the filter's geometries have more than {MAX_VERTICES} vertices in all"),
            ));
        }
        if geom.coords_count() == 0 {
            return Err(self.refuse(path, None, "the geometry is empty"));
        }
        let crs = self.crs;
        let geom = if crs.north_first { geom.map_coords(|c| geo::coord! { x: c.y, y: c.x }) } else { geom };
        let [w, s, e, n] = crs.bounds;
        if !geom
            .coords_iter()
            .all(|c| c.x.is_finite() && c.y.is_finite() && (w..=e).contains(&c.x) && (s..=n).contains(&c.y))
        {
            let order = if crs.north_first { "north, east" } else { "east, north" };
            return Err(self.refuse(
                path,
                None,
                format!(
                    "the geometry lies outside EPSG:{} (its coordinates are {order}; set filter-crs for another CRS)",
                    crs.srid
                ),
            ));
        }
        if let Err(e) = geom.check_validation() {
            return Err(self.refuse(path, None, format!("the geometry is not valid: {e}")));
        }
        let wkt = geom.wkt_string();
        let parts = if crs.srid == 4326 {
            vec![Part::Sql("st_geomfromtext(".into()), Part::Value(Bound::Text(wkt)), Part::Sql(", 4326)".into())]
        } else {
            vec![
                Part::Sql("st_transform(st_geomfromtext(".into()),
                Part::Value(Bound::Text(wkt)),
                Part::Sql(format!(", {}), 4326)", crs.srid)),
            ]
        };
        Ok(Operand { parts, ty: Ty::Geometry, property: false })
    }

    /// A temporal function of a date queryable and a date or an interval of dates (`..` open).
    fn temporal(&mut self, path: &str, op: &str, args: &[Box<Expr>]) -> Result<(), Refusal> {
        let [a, b] = self.arity::<2>(path, op, args)?;
        let (prop, other, other_path) = match self.operand(a, &arg_path(path, 0)) {
            Ok(o) if o.property => (o, b, arg_path(path, 1)),
            Ok(o) => {
                return Err(self.refuse(
                    path,
                    token_of(a).as_deref(),
                    format!("{} takes a date queryable first, not {}", op.to_uppercase(), o.ty.name()),
                ));
            }
            Err(e) => return Err(e),
        };
        if prop.ty != Ty::Date {
            return Err(self.refuse(
                path,
                token_of(a).as_deref(),
                format!("{} compares dates, not {}", op.to_uppercase(), prop.ty.name()),
            ));
        }
        let p = prop.parts;
        let cmp = |c: &mut Self, p: &[Part], sym: &str, d: NaiveDate| {
            c.sql("(");
            c.parts.extend(p.iter().cloned());
            c.sql(format!(" {sym} "));
            c.parts.push(Part::Value(Bound::Date(d)));
            c.sql(")");
        };
        match other {
            Expr::Date { date } => {
                let d = self.date(date, &other_path)?;
                let sym = match op {
                    "t_before" => "<",
                    "t_after" => ">",
                    "t_equals" | "t_intersects" => "=",
                    "t_disjoint" => "<>",
                    _ => return Err(self.refuse(path, None, format!("{} takes an INTERVAL", op.to_uppercase()))),
                };
                cmp(self, &p, sym, d);
            }
            Expr::Interval { interval } => {
                let bounds: Vec<Option<NaiveDate>> = match interval.as_slice() {
                    [lo, hi] => {
                        let mut v = Vec::new();
                        for (i, x) in [lo, hi].into_iter().enumerate() {
                            let at = format!("{other_path}/interval/{i}");
                            v.push(match &**x {
                                Expr::Literal(s) if s == ".." => None,
                                Expr::Literal(_) => Some(self.date(x, &at)?),
                                Expr::Date { date } => Some(self.date(date, &at)?),
                                _ => return Err(self.refuse(&at, None, "an interval's ends are dates or '..'")),
                            });
                        }
                        v
                    }
                    _ => return Err(self.refuse(&other_path, Some("INTERVAL"), "INTERVAL takes two ends")),
                };
                let (lo, hi) = (bounds[0], bounds[1]);
                if let (Some(l), Some(h)) = (lo, hi)
                    && l > h
                {
                    return Err(self.refuse(&other_path, Some("INTERVAL"), "an interval starts before it ends"));
                }
                match op {
                    "t_before" => match lo {
                        Some(l) => cmp(self, &p, "<", l),
                        None => self.sql("false"),
                    },
                    "t_after" => match hi {
                        Some(h) => cmp(self, &p, ">", h),
                        None => self.sql("false"),
                    },
                    "t_during" | "t_intersects" | "t_disjoint" => {
                        // A day is within the interval (during: strictly inside it).
                        let (ge, le) = if op == "t_during" { (">", "<") } else { (">=", "<=") };
                        self.sql(if op == "t_disjoint" { "(not (true" } else { "((true" });
                        if let Some(l) = lo {
                            self.sql(" and ");
                            cmp(self, &p, ge, l);
                        }
                        if let Some(h) = hi {
                            self.sql(" and ");
                            cmp(self, &p, le, h);
                        }
                        self.sql(") and ");
                        self.parts.extend(p.iter().cloned());
                        self.sql(" is not null)");
                    }
                    _ => return Err(self.refuse(path, None, format!("{} takes a DATE", op.to_uppercase()))),
                }
            }
            other => {
                return Err(self.refuse(
                    &other_path,
                    token_of(other).as_deref(),
                    format!("{} takes a DATE or an INTERVAL", op.to_uppercase()),
                ));
            }
        }
        Ok(())
    }
}

/// Whether every ring of the polygons in `text` (WKT) ends where it starts: reading it into a polygon
/// would close an open ring silently, and PostGIS refuses one.
#[allow(clippy::float_cmp, reason = "a ring is closed by repeating its first position exactly")]
fn rings_closed(text: &str) -> bool {
    let Ok(w) = text.parse::<wkt::Wkt<f64>>() else { return false };
    let closed = |p: &wkt::types::Polygon<f64>| {
        p.rings().iter().all(|r| {
            let c = r.coords();
            c.first().zip(c.last()).is_some_and(|(a, b)| a.x == b.x && a.y == b.y)
        })
    };
    match &w {
        wkt::Wkt::Polygon(p) => closed(p),
        wkt::Wkt::MultiPolygon(m) => m.polygons().iter().all(closed),
        _ => true,
    }
}

/// The text of a node that may appear in the filter as written (a name, a string, a function).
fn token_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Property { property } => Some(property.clone()),
        Expr::Literal(s) => Some(s.clone()),
        Expr::Operation { op, .. } => Some(op.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        layer: Layer,
        audience: Audience,
        text: &str,
        lang: Option<&str>,
        crs: Option<&str>,
    ) -> Result<Where, Refusal> {
        compile_now(
            layer,
            audience,
            FilterRequest { text: text.into(), lang: lang.map(Into::into), crs: crs.map(Into::into) },
        )
    }

    fn text(text: &str) -> Result<Where, Refusal> {
        read(Layer::Farmhouses, Audience::Public, text, None, None)
    }

    #[test]
    fn values_are_bound_never_written_into_the_sql() {
        let w = text("village = 'x''); drop table farmhouses; --' and floors >= 2").unwrap();
        let sql = w.numbered(1);
        assert_eq!(sql, "(((m.village) = $1::text) and ((f.floors::int4) >= $2::float8))");
        assert!(!sql.contains("drop"), "{sql}");
    }

    #[test]
    fn text_and_json_of_one_filter_are_one_key() {
        let t = text("status IN ('listed', 'certified') AND S_INTERSECTS(geometry, BBOX(120.8, 29.9, 121.0, 30.1))")
            .unwrap();
        let j = read(
            Layer::Farmhouses,
            Audience::Public,
            r#"{"op":"and","args":[{"op":"in","args":[{"property":"status"},["listed","certified"]]},
                {"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[120.8,29.9,121.0,30.1]}]}]}"#,
            Some("cql2-json"),
            None,
        )
        .unwrap();
        assert_eq!(t.key, j.key);
        let again =
            text("status in ('listed','certified') and s_intersects(geometry,bbox(120.8,29.9,121,30.1))").unwrap();
        assert_eq!(t.key, again.key);
    }

    #[test]
    fn staff_facts_are_queryable_by_staff_only() {
        let refused = text("contract_no = 'HT-1'").unwrap_err();
        assert_eq!(refused.field, "filter");
        assert!(refused.message.contains("not a queryable") && refused.message.contains("character 1"), "{refused:?}");
        let w = read(Layer::Farmhouses, Audience::Staff, "contract_no = 'HT-1'", None, None).unwrap();
        assert!(w.staff);
        assert!(!queryables(Layer::Farmhouses, Audience::Public).iter().any(|q| q.name == "lessee_party_id"));
    }

    #[test]
    fn refusals_name_the_parameter_and_the_place() {
        let e = text("status = ").unwrap_err();
        assert!(e.message.contains("line 1, column"), "{e:?}");
        let e = text("status = 'listed' and floors = 'two'").unwrap_err();
        assert!(e.message.contains("/args/1") && e.message.contains("an integer with a string"), "{e:?}");
        let e = read(Layer::Farmhouses, Audience::Public, "{\"op\":", Some("cql2-json"), None).unwrap_err();
        assert!(e.message.contains("line 1, column"), "{e:?}");
        assert_eq!(
            read(Layer::Farmhouses, Audience::Public, "floors = 1", Some("sql"), None).unwrap_err().field,
            "filter-lang"
        );
        let e = read(Layer::Farmhouses, Audience::Public, "floors = 1", None, Some("EPSG:4326")).unwrap_err();
        assert_eq!(e.field, "filter-crs");
        assert!(
            text(&format!("{}floors = 1{}", "(".repeat(40), ")".repeat(40))).unwrap_err().message.contains("nested")
        );
    }

    #[test]
    fn geometries_are_read_in_the_filter_crs() {
        // EPSG:4326 is latitude first.
        let w = read(
            Layer::Farmhouses,
            Audience::Public,
            "S_WITHIN(geometry, POLYGON((29.9 120.8, 29.9 121, 30.1 121, 30.1 120.8, 29.9 120.8)))",
            None,
            Some("http://www.opengis.net/def/crs/EPSG/0/4326"),
        )
        .unwrap();
        assert!(
            w.parts.contains(&Part::Value(Bound::Text(
                "POLYGON((120.8 29.9,121 29.9,121 30.1,120.8 30.1,120.8 29.9))".into()
            ))),
            "{w:?}"
        );
        let outside = read(
            Layer::Farmhouses,
            Audience::Public,
            "S_INTERSECTS(geometry, POINT(120.9 30.0))",
            None,
            Some("http://www.opengis.net/def/crs/EPSG/0/4326"),
        )
        .unwrap_err();
        assert!(outside.message.contains("outside"), "{outside:?}");
        let gk = read(
            Layer::Farmhouses,
            Audience::Public,
            "S_INTERSECTS(geometry, POINT(3320000 590000))",
            None,
            Some("http://www.opengis.net/def/crs/EPSG/0/4549"),
        )
        .unwrap();
        assert!(gk.numbered(1).contains("st_transform(st_geomfromtext($1::text, 4549), 4326)"), "{gk:?}");
    }
}
