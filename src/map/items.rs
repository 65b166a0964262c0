//! OGC API – Features queries over the map's layers: pages of GeoJSON features, paged by keyset on the
//! feature id (a page deep in a collection costs what the first one costs), and the count of matches taken
//! from maintained counts where it can be.
//!
//! PostGIS writes each geometry as GeoJSON; the rest of a feature is written here from typed columns.
//! (Building the features as JSON in SQL cost the database about three times as much per page as
//! selecting the columns: `json_build_object` looks up the type of every value of every row.)

use crate::store::{StoreError, StoreResult};
use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Postgres, QueryBuilder, Row};

use super::layers::{Filter, IdKind, Kind, Layer, Property, from_clause};
use super::output_crs::OutputCrs;
use super::sort::{self, SortBy};
use super::view::View;
use crate::domain::roles::Audience;
use crate::domain::township::TownshipCode;

/// The most features one page may hold.
pub const MAX_LIMIT: u32 = 10_000;
pub const DEFAULT_LIMIT: u32 = 10;

/// Above this many matches inside a `bbox` (or under a filter the counts do not keep), `numberMatched`
/// is left out rather than counted.
pub const COUNT_CAP: i64 = 10_000;

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The features after this id (the `next` link).
    After(String),
    /// The features before this id (the `prev` link).
    Before(String),
}

/// One items request, checked.
#[derive(Debug, Clone)]
pub struct ItemQuery {
    /// A box in `bbox_crs`, lower corner then upper corner in its axis order (CRS84: west, south, east,
    /// north).
    pub bbox: Option<[f64; 4]>,
    pub filters: Vec<(&'static Filter, String)>,
    /// A CQL2 filter (`filter`), read for the caller's audience.
    pub cql: Option<std::sync::Arc<super::cql::Where>>,
    pub limit: u32,
    /// Where the page starts: a feature id, or under `sort` a position ([`sort::encode`]).
    pub cursor: Option<Cursor>,
    pub bbox_crs: OutputCrs,
    pub sort: SortBy,
    pub view: View,
}

/// One page (its features are written to the caller's buffer).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub returned: i64,
    /// The cursors of its first and last feature (their ids in id order).
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    /// More features lie beyond the page in the direction it was read.
    pub more: bool,
}

/// Whether `id` has the form of the layer's identifiers (anything else names no feature).
pub fn is_id(layer: Layer, id: &str) -> bool {
    match layer.source().id_kind {
        IdKind::Number => id.parse::<i64>().is_ok(),
        IdKind::Code => TownshipCode::parse(id).is_ok_and(|code| code.as_str() == id),
    }
}

/// The select list of one feature of `layer` with `properties`: the id as text, the geometry as
/// GeoJSON text in `crs`, then each property (in [`Layer::visible`] order) as the type its [`Kind`] reads.
fn feature_columns(layer: Layer, properties: &[&Property], crs: OutputCrs) -> String {
    let s = layer.source();
    let mut columns = vec![format!("{}::text", s.id), crs.geometry_sql(s)];
    for p in properties {
        let cast = match p.kind {
            Kind::String => "text",
            Kind::Integer => "int8",
            Kind::Number => "float8",
            Kind::List => "text[]",
        };
        columns.push(format!("({})::{cast}", p.sql));
    }
    columns.join(", ")
}

/// Appends the GeoJSON feature of `row` (selected with [`feature_columns`]) to `out`.
fn write_feature(out: &mut Vec<u8>, layer: Layer, properties: &[&Property], row: &PgRow) -> StoreResult<()> {
    let id: &str = row.try_get(0)?;
    out.extend_from_slice(br#"{"type":"Feature","id":"#);
    match layer.source().id_kind {
        // Digits: the number itself.
        IdKind::Number => out.extend_from_slice(id.as_bytes()),
        IdKind::Code => json(out, id),
    }
    out.extend_from_slice(br#","geometry":"#);
    let geometry: Option<&str> = row.try_get(1)?;
    out.extend_from_slice(geometry.unwrap_or("null").as_bytes());
    out.extend_from_slice(br#","properties":{"#);
    for (i, p) in properties.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json(out, p.name);
        out.push(b':');
        let column = i + 2;
        match p.kind {
            Kind::String => json(out, &row.try_get::<Option<&str>, _>(column)?),
            Kind::Integer => json(out, &row.try_get::<Option<i64>, _>(column)?),
            Kind::Number => json(out, &row.try_get::<Option<f64>, _>(column)?),
            Kind::List => json(out, &row.try_get::<Option<Vec<String>>, _>(column)?),
        }
    }
    out.extend_from_slice(b"}}");
    Ok(())
}

/// Appends `value` as JSON (`null` for `None`, and for a number JSON cannot hold).
fn json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing to a Vec fails only for values JSON cannot hold (none here: floats become null).
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// Appends the features of `rows` (selected with [`feature_columns`] of `properties`) to `out`, in their
/// order, joined by commas.
fn write_features(out: &mut Vec<u8>, layer: Layer, properties: &[&Property], rows: &[PgRow]) -> StoreResult<()> {
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_feature(out, layer, properties, row)?;
    }
    Ok(())
}

/// Starts the next condition of a `where` clause: `where` before the first, `and` before the others.
fn and<'q, 'a>(b: &'q mut QueryBuilder<'a, Postgres>, first: &mut bool) -> &'q mut QueryBuilder<'a, Postgres> {
    b.push(if std::mem::take(first) { " where " } else { " and " })
}

/// Appends the conditions of `q` (without paging), binding their values.
fn push_conditions(b: &mut QueryBuilder<'_, Postgres>, layer: Layer, q: &ItemQuery, first: &mut bool) {
    let g = layer.source().geom_4326;
    if let Some(bbox) = q.bbox {
        let envelope = |b: &mut QueryBuilder<'_, Postgres>| q.bbox_crs.push_envelope(b, bbox);
        and(b, first).push(g).push(" && ");
        envelope(b);
        b.push(" and st_intersects(").push(g).push(", ");
        envelope(b);
        b.push(")");
    }
    for (filter, value) in &q.filters {
        and(b, first).push(filter.sql).push(" = ").push_bind(value.clone()).push("::").push(filter.cast);
    }
    if let Some(w) = &q.cql {
        and(b, first).push("(");
        w.push_to(b);
        b.push(")");
    }
}

/// One page of `layer` for `audience`: its features, GeoJSON joined by commas in the query's order, are
/// appended to `out` (the response body), as the rows arrive; a page read forwards holds no row longer
/// than it takes to write it (DESIGN §7.5).
pub async fn page(
    db: impl PgExecutor<'_>,
    layer: Layer,
    audience: Audience,
    q: &ItemQuery,
    out: &mut Vec<u8>,
) -> StoreResult<Page> {
    let properties = q.view.properties(layer, audience);
    let mut b = QueryBuilder::new(format!(
        "select {}{} from {}",
        feature_columns(layer, &properties, q.view.crs),
        sort::key_columns(&q.sort),
        from_clause(layer, audience)
    ));
    let mut first = true;
    push_conditions(&mut b, layer, q, &mut first);
    let descending = matches!(q.cursor, Some(Cursor::Before(_)));
    if let Some(Cursor::After(at) | Cursor::Before(at)) = &q.cursor {
        let at = sort::decode(layer, &q.sort, at).map_err(|e| StoreError::invalid("after", e))?;
        sort::push_after(&mut b, layer, &q.sort, &at, descending, &mut first);
    }
    // One row past the page tells whether more follow.
    sort::push_order(&mut b, layer, &q.sort, descending);
    b.push(" limit ").push_bind(i64::from(q.limit) + 1);
    let limit = q.limit as usize;
    let keys_from = properties.len() + 2;
    let id = |row: Option<&PgRow>| {
        row.map(|r| sort::position_of(r, &q.sort, keys_from).map(|at| sort::encode(&q.sort, &at))).transpose()
    };
    // A filter's statement is its own: it is not kept prepared.
    let query = b.build().persistent(q.cql.is_none());
    if descending {
        // A page read backwards is still given in order.
        let mut rows = query.fetch_all(db).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        rows.reverse();
        write_features(out, layer, &properties, &rows)?;
        return Ok(Page { returned: rows.len() as i64, first_id: id(rows.first())?, last_id: id(rows.last())?, more });
    }
    let mut stream = query.fetch(db);
    let (mut returned, mut more) = (0, false);
    let (mut first_id, mut last) = (None, None);
    while let Some(row) = stream.try_next().await? {
        if returned == limit {
            more = true;
            continue;
        }
        if returned > 0 {
            out.push(b',');
        } else {
            first_id = id(Some(&row))?;
        }
        write_feature(out, layer, &properties, &row)?;
        returned += 1;
        last = Some(row);
    }
    Ok(Page { returned: returned as i64, first_id, last_id: id(last.as_ref())?, more })
}

/// How many features match `q` (paging aside): from the maintained counts when they can answer, else
/// counted up to [`COUNT_CAP`]; `None` above that.
pub async fn number_matched(db: impl PgExecutor<'_>, layer: Layer, q: &ItemQuery) -> StoreResult<Option<i64>> {
    let s = layer.source();
    if let Some(collection) = s.counted
        && q.bbox.is_none()
        && q.cql.is_none()
        && q.filters.iter().all(|(f, _)| f.counted_as.is_some())
    {
        let mut b =
            QueryBuilder::new("select coalesce(sum(features), 0)::int8 from map_feature_counts where collection = ");
        b.push_bind(collection);
        for (f, value) in &q.filters {
            b.push(" and ").push(f.counted_as.unwrap_or("status")).push(" = ").push_bind(value.clone());
            b.push("::").push(f.cast);
        }
        return Ok(Some(b.build_query_scalar::<i64>().fetch_one(db).await?));
    }
    // A filter on a staff fact needs the staff joins (only staff can give one).
    let audience = if q.cql.as_ref().is_some_and(|w| w.staff) { Audience::Staff } else { Audience::Public };
    let mut b = QueryBuilder::new(format!("select count(*) from (select 1 from {}", from_clause(layer, audience)));
    push_conditions(&mut b, layer, q, &mut true);
    b.push(format!(" limit {}) s", COUNT_CAP + 1));
    let n = b.build_query_scalar::<i64>().persistent(q.cql.is_none()).fetch_one(db).await?;
    Ok((n <= COUNT_CAP).then_some(n))
}

/// Feature `id` of `layer` as GeoJSON in `view`, if there is one.
pub async fn item(
    db: impl PgExecutor<'_>,
    layer: Layer,
    audience: Audience,
    id: &str,
    view: &View,
) -> StoreResult<Option<String>> {
    if !is_id(layer, id) {
        return Ok(None);
    }
    let s = layer.source();
    let cast = match s.id_kind {
        IdKind::Number => "int8",
        IdKind::Code => "text",
    };
    let properties = view.properties(layer, audience);
    let sql = format!(
        "select {columns} from {from} where {id} = $1::{cast}",
        columns = feature_columns(layer, &properties, view.crs),
        from = from_clause(layer, audience),
        id = s.id,
    );
    let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(db).await? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(1024);
    write_feature(&mut out, layer, &properties, &row)?;
    String::from_utf8(out).map(Some).map_err(|e| sqlx::Error::Decode(e.into()).into())
}

/// The longitude/latitude extent of the districts served: every collection's extent.
pub async fn extent(db: impl PgExecutor<'_>) -> StoreResult<Option<[f64; 4]>> {
    let row: (Option<f64>, Option<f64>, Option<f64>, Option<f64>) = sqlx::query_as(
        "select st_xmin(e), st_ymin(e), st_xmax(e), st_ymax(e) from (select st_extent(outline) as e from districts) s",
    )
    .fetch_one(db)
    .await?;
    Ok(match row {
        (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
        _ => None,
    })
}
