//! The map's layers, which are also the OGC API – Features collections: where each one's rows come from,
//! what it draws at each zoom, and which attributes each [`Audience`] gets.
//!
//! Tiles and features are built from the same [`Property`] lists, so a fact is public or staff-only in
//! one place. What a role may not see is never selected at all.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::grid::{BUFFER, EXTENT};
use crate::domain::roles::Audience;

/// A map layer and feature collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Farmhouses,
    Parcels,
    Townships,
    Villages,
}

/// What a layer draws at a zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Band {
    /// Nothing: another layer speaks for these zooms.
    Empty,
    /// Each record as its own feature.
    Features,
    /// Houses gathered in the fixed grid of `farmhouse_clusters`.
    Clusters,
}

/// The zooms at which houses are drawn as clusters (below: only the townships' figures; above:
/// footprints), and the cells per tile edge of the cluster grid. `migrations/0108_map.sql`
/// keeps the same numbers; a test proves they agree.
pub const CLUSTER_ZOOMS: std::ops::RangeInclusive<u8> = 11..=14;
pub const CLUSTER_CELLS: u32 = 64;

/// The zooms whose tiles draw clusters: those of the stored grid, and below it the cells of its first
/// zoom gathered, so houses (listed ones above all) show however far out the map is. Drawn clusters
/// gather the stored cells into [`DRAWN_CELLS`] per tile edge (docs/DESIGN.md §10).
pub const DRAWN_CLUSTER_ZOOMS: std::ops::RangeInclusive<u8> = 8..=14;
/// Drawn clusters per tile edge: a cell of 64 px on a 512 px tile. Each cluster is drawn halfway between
/// the mean of its houses and its cell's centre, so two clusters are at least 32 px apart and circles of
/// up to 16 px never overlap.
pub const DRAWN_CELLS: u32 = 8;

/// The JSON and tile type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Number,
    /// A list of strings: an array in GeoJSON, comma-joined in tiles (MVT has no lists).
    List,
}

impl Kind {
    /// The type name TileJSON's `vector_layers.fields` and the OpenAPI schema use.
    pub fn json_type(self) -> &'static str {
        match self {
            Kind::String | Kind::List => "string",
            Kind::Integer => "integer",
            Kind::Number => "number",
        }
    }
}

/// One attribute of a layer's features.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    /// SQL over the layer's row aliases (see [`Source::from`]).
    pub sql: &'static str,
    pub kind: Kind,
    /// The least audience that sees it.
    pub audience: Audience,
    /// Drawn in tiles too; long texts and lists of links are left to the features, to keep tiles small.
    pub in_tiles: bool,
    pub description: &'static str,
}

const fn public(name: &'static str, sql: &'static str, kind: Kind, description: &'static str) -> Property {
    Property { name, sql, kind, audience: Audience::Public, in_tiles: true, description }
}

const fn features_only(name: &'static str, sql: &'static str, kind: Kind, description: &'static str) -> Property {
    Property { name, sql, kind, audience: Audience::Public, in_tiles: false, description }
}

const fn staff(name: &'static str, sql: &'static str, kind: Kind, description: &'static str) -> Property {
    Property { name, sql, kind, audience: Audience::Staff, in_tiles: true, description }
}

/// A property a client may filter items on with `?name=value` (equality).
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub name: &'static str,
    /// Another accepted name (`township` for `township_code`).
    pub alias: Option<&'static str>,
    pub sql: &'static str,
    /// The SQL type the value is compared as (the column's own, so its index serves).
    pub cast: &'static str,
    /// The column of `map_feature_counts` that answers counts under this filter, if any.
    pub counted_as: Option<&'static str>,
}

/// How the identifier of a layer's features is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A bigint: the row's `id`.
    Number,
    /// A division code of nine digits.
    Code,
}

/// Where a layer's rows come from.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// `from` clause (tables with aliases and the joins every audience needs).
    pub from: &'static str,
    /// Joins only staff attributes need.
    pub staff_joins: &'static str,
    /// The feature identifier (keyset paging runs on it) and its type.
    pub id: &'static str,
    /// The same identifier in a table joined one row to one (the layer's kept values): a keyset bound on
    /// the id is given on it too, since PostgreSQL carries an equality across a join but not a range,
    /// and without it would merge the joined table's key from its first row.
    pub id_twin: Option<&'static str>,
    pub id_kind: IdKind,
    /// The identifier as a bigint, for MVT feature ids.
    pub tile_id: &'static str,
    pub geom_3857: &'static str,
    pub geom_4326: &'static str,
    /// The collection's row in `map_feature_counts`, if it has one.
    pub counted: Option<&'static str>,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Farmhouses, Layer::Parcels, Layer::Townships, Layer::Villages];

    pub fn name(self) -> &'static str {
        match self {
            Layer::Farmhouses => "farmhouses",
            Layer::Parcels => "parcels",
            Layer::Townships => "townships",
            Layer::Villages => "villages",
        }
    }

    pub fn from_name(name: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == name)
    }

    pub fn title(self) -> &'static str {
        match self {
            Layer::Farmhouses => "Farmhouses (房屋)",
            Layer::Parcels => "Parcels (宗地)",
            Layer::Townships => "Townships (乡镇街道) and their activation figures",
            Layer::Villages => "Villages (行政村)",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Layer::Farmhouses => {
                "Farmhouses of the idle-farmhouse activation programme with their public facts. Tiles draw \
                 clusters at zooms 8-14 and footprints from zoom 15."
            }
            Layer::Parcels => "Homestead and construction parcels. Tiles draw them from zoom 15.",
            Layer::Townships => {
                "Township-level divisions with houses in total, certified (activated) houses, their floor area \
                 and the amount of certified transactions."
            }
            Layer::Villages => "Administrative villages as points. Tiles draw them from zoom 10.",
        }
    }

    /// What the layer draws at zoom `z`.
    pub fn band(self, z: u8) -> Band {
        match self {
            Layer::Farmhouses if z < *DRAWN_CLUSTER_ZOOMS.start() => Band::Empty,
            Layer::Farmhouses if DRAWN_CLUSTER_ZOOMS.contains(&z) => Band::Clusters,
            Layer::Parcels if z < 15 => Band::Empty,
            Layer::Villages if z < 10 => Band::Empty,
            _ => Band::Features,
        }
    }

    /// The zooms TileJSON announces: from the first zoom with features to the one past which a map
    /// client should overzoom instead of asking for more tiles.
    pub fn zooms(self) -> (u8, u8) {
        match self {
            Layer::Farmhouses => (*DRAWN_CLUSTER_ZOOMS.start(), 16),
            Layer::Parcels => (15, 16),
            Layer::Townships => (0, 12),
            Layer::Villages => (10, 14),
        }
    }

    pub fn source(self) -> &'static Source {
        match self {
            Layer::Farmhouses => &FARMHOUSES,
            Layer::Parcels => &PARCELS,
            Layer::Townships => &TOWNSHIPS,
            Layer::Villages => &VILLAGES,
        }
    }

    pub fn properties(self) -> &'static [Property] {
        match self {
            Layer::Farmhouses => FARMHOUSE_PROPERTIES,
            Layer::Parcels => PARCEL_PROPERTIES,
            Layer::Townships => TOWNSHIP_PROPERTIES,
            Layer::Villages => VILLAGE_PROPERTIES,
        }
    }

    pub fn filters(self) -> &'static [Filter] {
        match self {
            Layer::Farmhouses => FARMHOUSE_FILTERS,
            Layer::Parcels => PARCEL_FILTERS,
            Layer::Townships => &[],
            Layer::Villages => VILLAGE_FILTERS,
        }
    }

    /// The attribute set this layer gives a caller of `audience`: layers without staff attributes give
    /// every caller the public set, so their tiles are cached once.
    pub fn audience(self, audience: Audience) -> Audience {
        if self.properties().iter().any(|p| p.audience > Audience::Public) { audience } else { Audience::Public }
    }

    /// The properties `audience` sees, in tiles (`tiles`) or in features.
    pub fn visible(self, audience: Audience, tiles: bool) -> impl Iterator<Item = &'static Property> {
        self.properties().iter().filter(move |p| audience.sees(p.audience) && (p.in_tiles || !tiles))
    }

    /// The SQL that builds one tile of this layer at `band` for `audience`, with parameters $1 zoom,
    /// $2 column, $3 row (all `integer`); it returns one `bytea` (empty when nothing is there). Built once
    /// per process, so each connection prepares each statement once.
    pub fn tile_sql(self, band: Band, audience: Audience) -> Option<&'static str> {
        TILE_SQL.get(&(self, band, audience)).map(String::as_str)
    }
}

/// The fields of cluster features (zooms of [`CLUSTER_ZOOMS`]), for TileJSON.
pub const CLUSTER_FIELDS: &[(&str, &str)] = &[
    ("houses", "cluster: number of houses in the cell"),
    ("registered", "cluster: houses registered (idle)"),
    ("listed", "cluster: houses listed on the exchange"),
    ("contracted", "cluster: houses with a signed lease"),
    ("certified", "cluster: certified (activated) houses"),
];

static FARMHOUSES: Source = Source {
    // A house's public values beyond its own row (its parcel's village, its open listing's rent, uses
    // and notice dates, its photo count) are read from `map_houses`, which triggers keep one row per
    // house (DESIGN §7.5): one row found by the id, where a page or a filtered tile made a parcel lookup,
    // a listing lookup and two photo lookups per house. A left join on its primary key, so a query that
    // reads none of its columns (a count of a box) does not join it at all; bounded on `m.id` as on
    // `f.id` (see `id_twin`), PostgreSQL merges the two tables' keys from the page's position.
    from: "farmhouses f
           left join map_houses m on m.id = f.id",
    staff_joins: "left join lateral (
               select tx.lessee_party_id, tx.contract_no from transactions tx
               where tx.farmhouse_id = f.id and tx.status = 'signed'
               order by tx.lease_start desc limit 1) x on true",
    id: "f.id",
    id_twin: Some("m.id"),
    id_kind: IdKind::Number,
    tile_id: "f.id",
    geom_3857: "f.footprint_3857",
    geom_4326: "f.footprint",
    counted: Some("farmhouses"),
};

const FARMHOUSE_PROPERTIES: &[Property] = &[
    public("unit_number", "f.unit_number::text", Kind::String, "real-estate unit number (不动产单元号)"),
    public("township_code", "f.township_code::text", Kind::String, "township division code"),
    public("village", "m.village", Kind::String, "village of the house's parcel"),
    public("status", "f.status", Kind::String, "registered, listed, contracted or certified (activated)"),
    public("floor_area_m2", "f.floor_area_m2::float8", Kind::Number, "floor area (建筑面积), m²"),
    public("floors", "f.floors::int4", Kind::Integer, "floors"),
    public("year_built", "f.year_built::int4", Kind::Integer, "year built"),
    public("structure", "f.structure", Kind::String, "structure: 砖混, 砖木, 钢混 or 木"),
    public("condition", "f.condition", Kind::String, "condition: 完好, 基本完好, 一般 or 破损"),
    public(
        "asking_rent_yuan",
        "(m.asking_rent_fen / 100.0)::float8",
        Kind::Number,
        "asking annual rent of the open listing, yuan",
    ),
    // Kept joined by commas (no use has one: `listings.allowed_uses` takes six words).
    public("allowed_uses", "string_to_array(m.allowed_uses, ',')", Kind::List, "uses the open listing allows"),
    public("photos", "m.photos", Kind::Integer, "number of photos"),
    features_only("description", "f.description", Kind::String, "public description"),
    features_only(
        "photo_urls",
        "case when m.photos > 0 then
             (select array_agg(format('/api/v1/farmhouses/%s/photos/%s', f.id, ph.id) order by ph.id)
              from farmhouse_photos ph where ph.farmhouse_id = f.id)
         else '{}' end",
        Kind::List,
        "links to the photos",
    ),
    staff("lessee_party_id", "x.lessee_party_id", Kind::Integer, "party id of the lessee of the lease in force"),
    staff("contract_no", "x.contract_no", Kind::String, "contract number of the lease in force"),
];

const FARMHOUSE_FILTERS: &[Filter] = &[
    Filter { name: "status", alias: None, sql: "f.status", cast: "text", counted_as: Some("status") },
    Filter {
        name: "township_code",
        alias: Some("township"),
        sql: "f.township_code",
        cast: "bpchar",
        counted_as: Some("township_code"),
    },
    Filter { name: "village", alias: None, sql: "m.village", cast: "text", counted_as: None },
];

static PARCELS: Source = Source {
    from: "parcels p",
    staff_joins: "",
    id: "p.id",
    id_twin: None,
    id_kind: IdKind::Number,
    tile_id: "p.id",
    geom_3857: "p.boundary_3857",
    geom_4326: "p.boundary",
    counted: Some("parcels"),
};

const PARCEL_PROPERTIES: &[Property] = &[
    public("parcel_code", "p.parcel_code::text", Kind::String, "parcel code (宗地代码)"),
    public("township_code", "p.township_code::text", Kind::String, "township division code"),
    public("village", "p.village", Kind::String, "village"),
    public("land_use", "p.land_use::text", Kind::String, "land-use code (GB/T 21010)"),
    public("area_m2", "round(p.area_m2::numeric, 2)::float8", Kind::Number, "official plane area (EPSG:4549), m²"),
];

const PARCEL_FILTERS: &[Filter] = &[
    Filter {
        name: "township_code",
        alias: Some("township"),
        sql: "p.township_code",
        cast: "bpchar",
        counted_as: Some("township_code"),
    },
    Filter { name: "village", alias: None, sql: "p.village", cast: "text", counted_as: None },
];

static TOWNSHIPS: Source = Source {
    from: "townships t left join township_activation() a on a.township_code = t.code",
    staff_joins: "",
    id: "t.code",
    id_twin: None,
    id_kind: IdKind::Code,
    tile_id: "t.code::int8",
    geom_3857: "t.boundary_3857",
    geom_4326: "t.boundary",
    counted: None,
};

const TOWNSHIP_PROPERTIES: &[Property] = &[
    public("code", "t.code::text", Kind::String, "township division code"),
    public("name", "t.name", Kind::String, "name"),
    public("name_pinyin", "t.name_pinyin", Kind::String, "name in Hanyu Pinyin (Baiguan Jiedao)"),
    public("kind", "t.kind", Kind::String, "街道, 镇 or 乡"),
    public("houses_total", "a.houses_total", Kind::Integer, "registered houses in total"),
    public("certified_houses", "a.certified_houses", Kind::Integer, "certified (activated) houses"),
    public(
        "certified_floor_area_m2",
        "a.certified_floor_area_m2::float8",
        Kind::Number,
        "floor area of certified houses, m²",
    ),
    public(
        "transaction_amount_yuan",
        "(a.transaction_amount_fen / 100.0)::float8",
        Kind::Number,
        "total amount of certified transactions, yuan",
    ),
];

static VILLAGES: Source = Source {
    from: "villages v",
    staff_joins: "",
    id: "v.id",
    id_twin: None,
    id_kind: IdKind::Number,
    tile_id: "v.id",
    geom_3857: "v.location_3857",
    geom_4326: "v.location",
    counted: None,
};

const VILLAGE_PROPERTIES: &[Property] = &[
    public("name", "v.name", Kind::String, "name"),
    public("name_pinyin", "v.name_pinyin", Kind::String, "name in Hanyu Pinyin (Sunjia Cun)"),
    public("township_code", "v.township_code::text", Kind::String, "township division code"),
];

const VILLAGE_FILTERS: &[Filter] = &[Filter {
    name: "township_code",
    alias: Some("township"),
    sql: "v.township_code",
    cast: "bpchar",
    counted_as: None,
}];

/// The `from` clause of `layer` for `audience`.
pub fn from_clause(layer: Layer, audience: Audience) -> String {
    let s = layer.source();
    if audience.sees(Audience::Staff) && !s.staff_joins.is_empty() {
        format!("{}\n{}", s.from, s.staff_joins)
    } else {
        s.from.to_string()
    }
}

static TILE_SQL: LazyLock<HashMap<(Layer, Band, Audience), String>> = LazyLock::new(|| {
    let mut all = HashMap::new();
    for layer in Layer::ALL {
        for audience in [Audience::Public, Audience::Staff] {
            let sql = match layer {
                Layer::Farmhouses => kept_footprints_sql(audience),
                _ => features_tile_sql(layer, audience, ""),
            };
            all.insert((layer, Band::Features, audience), sql);
        }
    }
    let clusters = clusters_tile_sql();
    for audience in [Audience::Public, Audience::Staff] {
        all.insert((Layer::Farmhouses, Band::Clusters, audience), clusters.clone());
    }
    all
});

/// The envelope of the requested tile, and the same widened by the buffer (what the index searches).
const ENVELOPE: &str = "st_tileenvelope($1::integer, $2::integer, $3::integer)";

/// `condition`: more SQL after the index search's condition (` and (…)`), or nothing.
pub(crate) fn features_tile_sql(layer: Layer, audience: Audience, condition: &str) -> String {
    let s = layer.source();
    let mut columns = String::new();
    for p in layer.visible(audience, true) {
        let value = match p.kind {
            Kind::List => format!("array_to_string({}, ',')", p.sql),
            _ => p.sql.to_string(),
        };
        columns.push_str(&format!(",\n           {value} as {}", p.name));
    }
    format!(
        "select coalesce(st_asmvt(mvt, '{name}', {EXTENT}, 'geom', 'id'), ''::bytea) from (
    select {tile_id} as id,
           st_asmvtgeom({geom}, {ENVELOPE}, {EXTENT}, {BUFFER}, true) as geom{columns}
    from {from}
    where {geom} && st_tileenvelope($1::integer, $2::integer, $3::integer, margin => {margin}){condition}
) mvt where mvt.geom is not null",
        name = layer.name(),
        tile_id = s.tile_id,
        geom = s.geom_3857,
        from = from_clause(layer, audience),
        margin = f64::from(BUFFER) / f64::from(EXTENT),
    )
}

/// The value of public house attribute `name` as `map_houses` (alias `m`) keeps it, drawn as the
/// property's own SQL draws it from the records (DESIGN §7.5).
pub(crate) fn kept_house_attribute(name: &str) -> Option<&'static str> {
    Some(match name {
        "unit_number" => "m.unit_number",
        "township_code" => "m.township_code",
        "village" => "m.village",
        "status" => "m.status",
        "floor_area_m2" => "m.floor_area_m2",
        "floors" => "m.floors",
        "year_built" => "m.year_built",
        "structure" => "m.structure",
        "condition" => "m.condition",
        "asking_rent_yuan" => "(m.asking_rent_fen / 100.0)::float8",
        "allowed_uses" => "m.allowed_uses",
        "photos" => "m.photos",
        _ => return None,
    })
}

/// The footprint tile of the houses for `audience` (zooms 15 and up), read from `map_houses`, where
/// triggers keep each house's public attributes with its Web Mercator footprint: one table through one
/// GiST index, no lookup per house (DESIGN §7.5). Staff attributes (the lease in force) are looked up
/// per house as in [`FARMHOUSES`]. The public tile is encoded by the service instead
/// ([`super::footprints`]); this statement draws the staff tiles. The same features and values as
/// [`features_tile_sql`] draws for the filtered tiles; tests/it/tiles.rs compares the two. No `geom is not
/// null` around it: `st_asmvt` skips rows without a geometry itself, and the condition made PostgreSQL
/// clip every footprint twice (once to filter, once to select).
fn kept_footprints_sql(audience: Audience) -> String {
    let mut columns = String::new();
    for p in Layer::Farmhouses.visible(audience, true) {
        let value = match (p.audience, kept_house_attribute(p.name)) {
            (Audience::Public, Some(kept)) => kept.to_string(),
            (Audience::Public, None) => panic!("map_houses keeps no {}", p.name),
            (_, _) => match p.kind {
                Kind::List => format!("array_to_string({}, ',')", p.sql),
                _ => p.sql.to_string(),
            },
        };
        columns.push_str(&format!(",\n           {value} as {}", p.name));
    }
    let staff_joins = if audience.sees(Audience::Staff) {
        "\n    left join lateral (
               select tx.lessee_party_id, tx.contract_no from transactions tx
               where tx.farmhouse_id = m.id and tx.status = 'signed'
               order by tx.lease_start desc limit 1) x on true"
    } else {
        ""
    };
    format!(
        "select coalesce(st_asmvt(mvt, 'farmhouses', {EXTENT}, 'geom', 'id'), ''::bytea) from (
    select m.id,
           st_asmvtgeom(m.footprint_3857, {ENVELOPE}, {EXTENT}, {BUFFER}, true) as geom{columns}
    from map_houses m{staff_joins}
    where m.footprint_3857 && st_tileenvelope($1::integer, $2::integer, $3::integer, margin => {margin})
) mvt",
        margin = f64::from(BUFFER) / f64::from(EXTENT),
    )
}

/// Clusters of the tile: the stored cells of its zoom (below the stored grid, of its first zoom) gathered
/// into [`DRAWN_CELLS`] per tile edge. A drawn cell lies in one tile, so a cluster is in exactly one tile
/// and its id (its drawn cell's number in the zoom) is the same wherever it is asked for. It is drawn
/// halfway between the mean of its houses and its cell's centre (see [`DRAWN_CELLS`]).
fn clusters_tile_sql() -> String {
    let fields: Vec<String> = CLUSTER_FIELDS.iter().map(|(f, _)| format!("sum(c.{f})::int4 as {f}")).collect();
    let names: Vec<&str> = CLUSTER_FIELDS.iter().map(|(f, _)| *f).collect();
    format!(
        "select coalesce(st_asmvt(mvt, 'farmhouses', {EXTENT}, 'geom', 'id'), ''::bytea) from (
    select g.gy::int8 * ({drawn}::int8 << $1::integer) + g.gx as id,
           st_asmvtgeom(st_setsrid(st_makepoint(
               (g.sum_x / g.houses - {half} + (g.gx + 0.5) * g.size) / 2,
               (g.sum_y / g.houses + {half} - (g.gy + 0.5) * g.size) / 2), 3857),
                        {ENVELOPE}, {EXTENT}, {BUFFER}, true) as geom,
           {names}
    from (
        select c.ix / k.per as gx, c.iy / k.per as gy, k.size, {fields},
               sum(c.sum_x) as sum_x, sum(c.sum_y) as sum_y
        from (select s.z, s.n, s.n / {drawn} as per, {world} / ({drawn} * 2 ^ $1::integer) as size
              from (select z, {cells} << (z - $1::integer) as n
                    from (select greatest($1::integer, {first}) as z) z) s) k
        join farmhouse_clusters c on c.z = k.z
             and c.ix between $2::integer * k.n and $2::integer * k.n + k.n - 1
             and c.iy between $3::integer * k.n and $3::integer * k.n + k.n - 1
        group by 1, 2, 3
    ) g
    where g.houses > 0
) mvt where mvt.geom is not null",
        cells = CLUSTER_CELLS,
        drawn = DRAWN_CELLS,
        first = CLUSTER_ZOOMS.start(),
        half = super::grid::WORLD_HALF,
        world = 2.0 * super::grid::WORLD_HALF,
        fields = fields.join(", "),
        names = names.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_attributes_never_include_staff_facts() {
        for layer in Layer::ALL {
            for tiles in [true, false] {
                for p in layer.visible(Audience::Public, tiles) {
                    assert_eq!(p.audience, Audience::Public, "{}.{}", layer.name(), p.name);
                }
            }
            let public_sql = layer.tile_sql(Band::Features, Audience::Public).unwrap();
            assert!(!public_sql.contains("lessee"), "{public_sql}");
        }
        assert!(Layer::Farmhouses.tile_sql(Band::Features, Audience::Staff).unwrap().contains("lessee_party_id"));
    }

    #[test]
    fn map_houses_keeps_every_public_attribute_of_house_tiles() {
        for p in Layer::Farmhouses.visible(Audience::Public, true) {
            assert!(kept_house_attribute(p.name).is_some(), "map_houses keeps no {}", p.name);
        }
        let staff = Layer::Farmhouses.tile_sql(Band::Features, Audience::Staff).unwrap();
        assert!(staff.contains("from map_houses m") && staff.contains("x.contract_no as contract_no"), "{staff}");
        let public = Layer::Farmhouses.tile_sql(Band::Features, Audience::Public).unwrap();
        assert!(!public.contains("join"), "{public}");
    }

    #[test]
    fn houses_go_from_townships_to_clusters_to_footprints() {
        assert_eq!(Layer::Farmhouses.band(7), Band::Empty);
        assert_eq!(Layer::Farmhouses.band(8), Band::Clusters);
        assert_eq!(Layer::Farmhouses.band(11), Band::Clusters);
        assert_eq!(Layer::Farmhouses.band(14), Band::Clusters);
        assert_eq!(Layer::Farmhouses.band(15), Band::Features);
        assert_eq!(Layer::Townships.band(0), Band::Features);
    }

    #[test]
    fn only_layers_with_staff_facts_keep_audiences_apart() {
        assert_eq!(Layer::Farmhouses.audience(Audience::Staff), Audience::Staff);
        assert_eq!(Layer::Townships.audience(Audience::Staff), Audience::Public);
    }
}
