//! Tiles drawn under a CQL2 filter ([`super::cql`]): the layer's features that match it, and at the
//! cluster zooms the houses that match it gathered into the same drawn cells as the unfiltered clusters
//! (docs/DESIGN.md §10), counted on the fly, so a cluster says how many of its houses match. The filter's values are parameters `$4…` after zoom, column and row; the statements
//! are not kept prepared (each filter is a statement of its own).

use bytes::Bytes;
use sqlx::PgExecutor;

use super::cache::TileKey;
use super::cql::Where;
use super::grid::{BUFFER, EXTENT};
use super::layers::{Band, CLUSTER_FIELDS, DRAWN_CELLS, Layer, features_tile_sql, from_clause};
use crate::domain::roles::Audience;
use crate::store::StoreResult;

/// Builds the MVT of `key` with only what matches `filter` (everything without one).
pub async fn render(db: impl PgExecutor<'_>, key: &TileKey, filter: Option<&Where>) -> StoreResult<Bytes> {
    let Some(filter) = filter else {
        return super::render(db, key).await;
    };
    let condition = filter.numbered(4);
    let sql = match key.layer.band(key.tile.z) {
        Band::Empty => return Ok(Bytes::new()),
        Band::Features => features_tile_sql(key.layer, audience(key, filter), &format!(" and ({condition})")),
        Band::Clusters => clusters_sql(audience(key, filter), &condition),
    };
    let q = sqlx::query_scalar::<_, Vec<u8>>(&sql)
        .bind(i32::from(key.tile.z))
        .bind(key.tile.x as i32)
        .bind(key.tile.y as i32)
        .persistent(false);
    let mvt = filter.bind(q).fetch_one(db).await?;
    Ok(Bytes::from(mvt))
}

/// The rows' `from` clause a filter needs: the tile's own audience, with the staff joins when the
/// filter names a staff fact (which only a staff tile can).
fn audience(key: &TileKey, filter: &Where) -> Audience {
    if filter.staff { Audience::Staff } else { key.audience }
}

/// How each cluster field is counted over the matching houses `f` of a cell.
fn cluster_field(name: &str) -> Option<&'static str> {
    Some(match name {
        "houses" => "count(*)::int4",
        "registered" => "(count(*) filter (where f.status = 'registered'))::int4",
        "listed" => "(count(*) filter (where f.status = 'listed'))::int4",
        "contracted" => "(count(*) filter (where f.status = 'contracted'))::int4",
        "certified" => "(count(*) filter (where f.status = 'certified'))::int4",
        _ => return None,
    })
}

/// Clusters of the matching houses, drawn as the unfiltered clusters are ([`super::layers`]): the tile
/// cut into [`DRAWN_CELLS`] cells per edge, each cluster with its drawn cell's number in the zoom as id
/// and drawn halfway between the mean of its matching houses and its cell's centre.
fn clusters_sql(audience: Audience, condition: &str) -> String {
    let fields: Vec<String> =
        CLUSTER_FIELDS.iter().map(|(f, _)| format!("{} as {f}", cluster_field(f).unwrap_or("null::int4"))).collect();
    let names: Vec<String> = CLUSTER_FIELDS.iter().map(|(f, _)| format!("c.{f}")).collect();
    format!(
        "with g as (select {world} / ({drawn} * 2 ^ $1::integer) as size)
select coalesce(st_asmvt(mvt, 'farmhouses', {EXTENT}, 'geom', 'id'), ''::bytea) from (
    select c.gy::int8 * ({drawn}::int8 << $1::integer) + c.gx as id,
           st_asmvtgeom(st_setsrid(st_makepoint(
               (c.sum_x / c.houses - {half} + (c.gx + 0.5) * g.size) / 2,
               (c.sum_y / c.houses + {half} - (c.gy + 0.5) * g.size) / 2), 3857),
                        st_tileenvelope($1::integer, $2::integer, $3::integer), {EXTENT}, {BUFFER}, true) as geom,
           {names}
    from (
        select floor((st_x(f.point_3857) + {half}) / g.size)::integer as gx,
               floor(({half} - st_y(f.point_3857)) / g.size)::integer as gy,
               {fields},
               sum(st_x(f.point_3857)) as sum_x, sum(st_y(f.point_3857)) as sum_y
        from {from}
        cross join g
        where f.point_3857 && st_tileenvelope($1::integer, $2::integer, $3::integer)
          and ({condition})
        group by 1, 2
    ) c
    cross join g
    where c.gx between $2::integer * {drawn} and $2::integer * {drawn} + {drawn} - 1
      and c.gy between $3::integer * {drawn} and $3::integer * {drawn} + {drawn} - 1
) mvt where mvt.geom is not null",
        drawn = DRAWN_CELLS,
        half = super::grid::WORLD_HALF,
        world = 2.0 * super::grid::WORLD_HALF,
        names = names.join(", "),
        fields = fields.join(",\n               "),
        from = from_clause(Layer::Farmhouses, audience),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filtered_clusters_count_every_field_the_clusters_have() {
        for (name, _) in CLUSTER_FIELDS {
            assert!(cluster_field(name).is_some(), "the filtered clusters do not count {name}");
        }
    }
}
