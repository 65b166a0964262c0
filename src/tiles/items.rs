//! OGC API – Features queries over the map's layers: pages of GeoJSON features built in PostGIS, paged by
//! keyset on the feature id (a page deep in a collection costs what the first one costs), and the count
//! of matches taken from maintained counts where it can be.

use sqlx::PgExecutor;

use super::layers::{Filter, IdKind, Kind, Layer, from_clause};
use crate::domain::roles::Audience;

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
    /// Longitude/latitude box (CRS84): west, south, east, north.
    pub bbox: Option<[f64; 4]>,
    pub filters: Vec<(&'static Filter, String)>,
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

/// One page: its features as GeoJSON joined by commas, in id order.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub features: String,
    pub returned: i64,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    /// More features lie beyond the page in the direction it was read.
    pub more: bool,
}

/// Whether `id` has the form of the layer's identifiers (anything else names no feature).
pub fn is_id(layer: Layer, id: &str) -> bool {
    match layer.source().id_kind {
        IdKind::Number => id.parse::<i64>().is_ok(),
        IdKind::Code => id.len() == 9 && id.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// The SQL of one GeoJSON feature of `layer` as seen by `audience`.
fn feature_sql(layer: Layer, audience: Audience) -> String {
    let s = layer.source();
    let properties: Vec<String> = layer
        .visible(audience, false)
        .map(|p| match p.kind {
            Kind::List => format!("'{}', to_json({})", p.name, p.sql),
            _ => format!("'{}', {}", p.name, p.sql),
        })
        .collect();
    let id = match s.id_kind {
        IdKind::Number => s.id.to_string(),
        IdKind::Code => format!("{}::text", s.id),
    };
    format!(
        "json_build_object('type', 'Feature', 'id', {id}, 'geometry', st_asgeojson({geom}, 7)::json, \
         'properties', json_build_object({props}))::text",
        geom = s.geom_4326,
        props = properties.join(", "),
    )
}

/// A value bound to a query.
enum Arg {
    Float(f64),
    Text(String),
    Int(i64),
}

/// The `where` clause of `q` (without paging), binding its values after `args`.
fn conditions(layer: Layer, q: &ItemQuery, args: &mut Vec<Arg>) -> Vec<String> {
    let s = layer.source();
    let mut clauses = Vec::new();
    if let Some(b) = q.bbox {
        let n = args.len();
        clauses.push(format!(
            "{g} && st_makeenvelope(${}, ${}, ${}, ${}, 4326) and st_intersects({g}, st_makeenvelope(${}, ${}, ${}, ${}, 4326))",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            g = s.geom_4326
        ));
        args.extend(b.iter().map(|v| Arg::Float(*v)));
    }
    for (filter, value) in &q.filters {
        args.push(Arg::Text(value.clone()));
        clauses.push(format!("{} = ${}::{}", filter.sql, args.len(), filter.cast));
    }
    clauses
}

fn bind_all<'q>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Postgres, PageRow, sqlx::postgres::PgArguments>,
    args: Vec<Arg>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, PageRow, sqlx::postgres::PgArguments> {
    for a in args {
        query = match a {
            Arg::Float(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
        };
    }
    query
}

type PageRow = (String, i64, Option<String>, Option<String>, bool);

/// One page of `layer` for `audience`.
pub async fn page(
    db: impl PgExecutor<'_>,
    layer: Layer,
    audience: Audience,
    q: &ItemQuery,
) -> Result<Page, sqlx::Error> {
    let s = layer.source();
    let mut args = Vec::new();
    let mut clauses = conditions(layer, q, &mut args);
    let cast = match s.id_kind {
        IdKind::Number => "int8",
        IdKind::Code => "text",
    };
    let descending = matches!(q.cursor, Some(Cursor::Before(_)));
    match &q.cursor {
        Some(Cursor::After(id)) => {
            args.push(Arg::Text(id.clone()));
            clauses.push(format!("{} > ${}::{cast}", s.id, args.len()));
        }
        Some(Cursor::Before(id)) => {
            args.push(Arg::Text(id.clone()));
            clauses.push(format!("{} < ${}::{cast}", s.id, args.len()));
        }
        None => {}
    }
    args.push(Arg::Int(i64::from(q.limit)));
    let limit = args.len();
    let direction = if descending { "desc" } else { "asc" };
    // The page's smallest and largest ids are its first and last rows in reading order.
    let end = format!("(select least(count(*), ${limit}) from page)");
    let (first, last) = if descending { (end.as_str(), "1") } else { ("1", end.as_str()) };
    let sql = format!(
        "with page as (
            select {id}::text as id, {feature} as feature, row_number() over (order by {id} {direction}) as n
            from {from}
            {where_}
            order by {id} {direction}
            limit ${limit} + 1
        )
        select coalesce(string_agg(feature, ',' order by n {direction}) filter (where n <= ${limit}), ''),
               count(*) filter (where n <= ${limit}),
               (select id from page where n = {first}),
               (select id from page where n = {last}),
               count(*) > ${limit}
        from page",
        id = s.id,
        feature = feature_sql(layer, audience),
        from = from_clause(layer, audience),
        where_ = if clauses.is_empty() { String::new() } else { format!("where {}", clauses.join(" and ")) },
    );
    let (features, returned, first_id, last_id, more) = bind_all(sqlx::query_as(&sql), args).fetch_one(db).await?;
    Ok(Page { features, returned, first_id, last_id, more })
}

/// How many features match `q` (paging aside): from the maintained counts when they can answer, else
/// counted up to [`COUNT_CAP`]; `None` above that.
pub async fn number_matched(db: impl PgExecutor<'_>, layer: Layer, q: &ItemQuery) -> Result<Option<i64>, sqlx::Error> {
    let s = layer.source();
    if let Some(collection) = s.counted
        && q.bbox.is_none()
        && q.filters.iter().all(|(f, _)| f.counted_as.is_some())
    {
        let mut sql =
            String::from("select coalesce(sum(features), 0)::int8 from map_feature_counts where collection = $1");
        let mut query_args = vec![collection.to_string()];
        for (f, value) in &q.filters {
            query_args.push(value.clone());
            sql.push_str(&format!(" and {} = ${}::{}", f.counted_as.unwrap_or("status"), query_args.len(), f.cast));
        }
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for a in query_args {
            query = query.bind(a);
        }
        return Ok(Some(query.fetch_one(db).await?));
    }
    let mut args = Vec::new();
    let clauses = conditions(layer, q, &mut args);
    let sql = format!(
        "select count(*) from (select 1 from {from} {where_} limit {cap}) s",
        from = from_clause(layer, Audience::Public),
        where_ = if clauses.is_empty() { String::new() } else { format!("where {}", clauses.join(" and ")) },
        cap = COUNT_CAP + 1,
    );
    let mut query = sqlx::query_scalar::<_, i64>(&sql);
    for a in args {
        query = match a {
            Arg::Float(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
        };
    }
    let n = query.fetch_one(db).await?;
    Ok((n <= COUNT_CAP).then_some(n))
}

/// Feature `id` of `layer` as GeoJSON, if there is one.
pub async fn item(
    db: impl PgExecutor<'_>,
    layer: Layer,
    audience: Audience,
    id: &str,
) -> Result<Option<String>, sqlx::Error> {
    if !is_id(layer, id) {
        return Ok(None);
    }
    let s = layer.source();
    let cast = match s.id_kind {
        IdKind::Number => "int8",
        IdKind::Code => "text",
    };
    let sql = format!(
        "select {feature} from {from} where {id} = $1::{cast}",
        feature = feature_sql(layer, audience),
        from = from_clause(layer, audience),
        id = s.id,
    );
    sqlx::query_scalar(&sql).bind(id).fetch_optional(db).await
}

/// The longitude/latitude extent of the districts served: every collection's extent.
pub async fn extent(db: impl PgExecutor<'_>) -> Result<Option<[f64; 4]>, sqlx::Error> {
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
