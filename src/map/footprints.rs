//! The public footprint tiles of the houses (zooms 15 and up), encoded here from `map_houses` rows
//! (docs/DESIGN.md §7.5).
//!
//! PostgreSQL finds the rows through one GiST index and sends each footprint as WKB with its kept public
//! values; the service turns them into the Mapbox Vector Tile. `st_asmvtgeom` and `st_asmvt` cost the
//! database about three quarters of such a tile's time (at a million houses, 2 clients: 530 tiles/s
//! with them, 1,250/s for the rows alone), and every tile's database time is shared by every request,
//! whereas footprints are small rectangles that take microseconds to encode here. The features are those
//! `st_asmvtgeom` draws: moved into the tile's 4096 units (y down), rounded to whole units, cut to the
//! tile and its 64-unit buffer, rings that collapse dropped, exterior rings clockwise (MVT 2.1 §4.3.4);
//! values typed as `st_asmvt` types them (text → string, float → double, integer → uint or sint,
//! nulls left out). Filtered and staff tiles stay with PostGIS (`layers::features_tile_sql`);
//! tests/it/tiles.rs holds every tile of both paths to the same features.

use bytes::Bytes;
use futures_util::TryStreamExt;
use geo::{BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect};
use geozero::mvt::{Message, TagsBuilder, Tile, TileValue, tile};
use sqlx::{PgExecutor, Row};
use std::sync::LazyLock;

use super::grid::{BUFFER, EXTENT, TileId};
use super::layers::{Kind, Layer, kept_house_attribute};
use crate::domain::roles::Audience;
use crate::store::StoreResult;

/// The public properties of a footprint tile, in the order drawn, with their kinds.
static PROPERTIES: LazyLock<Vec<(&'static str, Kind)>> =
    LazyLock::new(|| Layer::Farmhouses.visible(Audience::Public, true).map(|p| (p.name, p.kind)).collect());

/// The rows of a tile: id, footprint (WKB), then each property as [`PROPERTIES`] lists them (integers as
/// int8).
static SQL: LazyLock<String> = LazyLock::new(|| {
    let columns: String = PROPERTIES
        .iter()
        .map(|(name, kind)| {
            let kept = kept_house_attribute(name).unwrap_or_else(|| panic!("map_houses keeps no {name}"));
            match kind {
                Kind::Integer => format!(", ({kept})::int8"),
                _ => format!(", {kept}"),
            }
        })
        .collect();
    format!(
        "select m.id, st_asbinary(m.footprint_3857){columns} from map_houses m
         where m.footprint_3857 && st_tileenvelope($1::integer, $2::integer, $3::integer, margin => {margin})",
        margin = f64::from(BUFFER) / f64::from(EXTENT)
    )
});

/// The public footprint tile `tile` (empty when no house is drawn in it).
pub async fn render(db: impl PgExecutor<'_>, tile: TileId) -> StoreResult<Bytes> {
    let frame = Frame::of(tile);
    let mut tags = TagsBuilder::new();
    let mut features = Vec::new();
    let mut rows = sqlx::query(&SQL).bind(i32::from(tile.z)).bind(tile.x as i32).bind(tile.y as i32).fetch(db);
    while let Some(row) = rows.try_next().await? {
        let wkb: &[u8] = row.try_get(1)?;
        let Some(geometry) = frame.encode(wkb) else { continue };
        let mut feature = tile::Feature { id: Some(row.try_get::<i64, _>(0)? as u64), geometry, ..Default::default() };
        feature.set_type(tile::GeomType::Polygon);
        for (i, (name, kind)) in PROPERTIES.iter().enumerate() {
            let column = i + 2;
            let value = match kind {
                Kind::String | Kind::List => row.try_get::<Option<&str>, _>(column)?.map(|s| TileValue::Str(s.into())),
                Kind::Number => row.try_get::<Option<f64>, _>(column)?.map(TileValue::Double),
                Kind::Integer => row.try_get::<Option<i64>, _>(column)?.map(|n| match u64::try_from(n) {
                    Ok(u) => TileValue::Uint(u),
                    Err(_) => TileValue::Sint(n),
                }),
            };
            if let Some(value) = value {
                let (k, v) = tags.insert_ref(name, value);
                feature.tags.extend([k, v]);
            }
        }
        features.push(feature);
    }
    if features.is_empty() {
        return Ok(Bytes::new());
    }
    let (keys, values) = tags.into_tags();
    let layer = tile::Layer {
        version: 2,
        name: Layer::Farmhouses.name().to_string(),
        features,
        keys,
        values: values.into_iter().map(Into::into).collect(),
        extent: Some(EXTENT),
    };
    Ok(Bytes::from(Tile { layers: vec![layer] }.encode_to_vec()))
}

/// A tile's frame: where its corner lies in Web Mercator and how many tile units a metre is.
struct Frame {
    left: f64,
    top: f64,
    scale: f64,
}

impl Frame {
    fn of(tile: TileId) -> Self {
        let b = tile.bounds();
        Self { left: b.min_x, top: b.max_y, scale: f64::from(EXTENT) / (b.max_x - b.min_x) }
    }

    /// The MVT geometry commands of a footprint given as WKB (a polygon or multipolygon in Web
    /// Mercator), or `None` when nothing of it is drawn.
    fn encode(&self, wkb: &[u8]) -> Option<Vec<u32>> {
        use geozero::ToGeo;
        let polygons: MultiPolygon = match geozero::wkb::Wkb(wkb).to_geo().ok()? {
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            _ => return None,
        };
        let moved = MultiPolygon(polygons.0.iter().map(|p| self.moved(p)).collect());
        let (low, high) = (-f64::from(BUFFER), f64::from(EXTENT + BUFFER));
        let clip = Rect::new(Coord { x: low, y: low }, Coord { x: high, y: high });
        let inside = moved
            .bounding_rect()
            .is_some_and(|b| b.min().x >= low && b.min().y >= low && b.max().x <= high && b.max().y <= high);
        let drawn = if inside { moved } else { moved.intersection(&clip.to_polygon()) };
        let mut commands = Vec::new();
        let mut cursor = (0, 0);
        for polygon in &drawn.0 {
            let Some(exterior) = ring(polygon.exterior(), true) else { continue };
            push_ring(&mut commands, &mut cursor, &exterior);
            for hole in polygon.interiors().iter().filter_map(|r| ring(r, false)) {
                push_ring(&mut commands, &mut cursor, &hole);
            }
        }
        (!commands.is_empty()).then_some(commands)
    }

    /// `polygon` in tile units (y down), not yet rounded.
    fn moved(&self, polygon: &Polygon) -> Polygon {
        let moved = |r: &LineString| {
            r.coords()
                .map(|c| Coord { x: (c.x - self.left) * self.scale, y: (self.top - c.y) * self.scale })
                .collect::<LineString>()
        };
        Polygon::new(moved(polygon.exterior()), polygon.interiors().iter().map(moved).collect())
    }
}

/// A ring's points rounded to whole units, without repeats or the closing point, turned so its area is
/// positive (an exterior ring) or negative (a hole); `None` when it collapses to less than an area.
fn ring(r: &LineString, exterior: bool) -> Option<Vec<(i32, i32)>> {
    let mut points: Vec<(i32, i32)> = Vec::with_capacity(r.0.len());
    for c in r.coords() {
        let p = (c.x.round_ties_even() as i32, c.y.round_ties_even() as i32);
        if points.last() != Some(&p) {
            points.push(p);
        }
    }
    while points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.len() < 3 {
        return None;
    }
    // The surveyor's formula in tile units (y down): positive for a clockwise ring as drawn.
    let twice_area: i64 = points
        .iter()
        .zip(points.iter().cycle().skip(1))
        .map(|(a, b)| i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1))
        .sum();
    if twice_area == 0 {
        return None;
    }
    if (twice_area > 0) != exterior {
        points.reverse();
    }
    Some(points)
}

/// MoveTo the first point, LineTo the others, ClosePath (MVT 2.1 §4.3), each point relative to the one
/// before (across rings too).
fn push_ring(commands: &mut Vec<u32>, cursor: &mut (i32, i32), points: &[(i32, i32)]) {
    let command = |id: u32, count: u32| (id & 0x7) | (count << 3);
    let zigzag = |n: i32| ((n << 1) ^ (n >> 31)) as u32;
    let mut step = |commands: &mut Vec<u32>, p: (i32, i32)| {
        commands.extend([zigzag(p.0 - cursor.0), zigzag(p.1 - cursor.1)]);
        *cursor = p;
    };
    commands.push(command(1, 1));
    step(commands, points[0]);
    commands.push(command(2, (points.len() - 1) as u32));
    for p in &points[1..] {
        step(commands, *p);
    }
    commands.push(command(7, 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(points: &[(f64, f64)]) -> LineString {
        LineString::from(points.to_vec())
    }

    #[test]
    fn rings_are_rounded_deduplicated_and_turned() {
        // Counter-clockwise as drawn (y down): turned for an exterior ring.
        let ccw = square(&[(0.2, 0.0), (0.0, 10.0), (10.0, 10.4), (10.0, 0.0), (0.2, 0.0)]);
        let exterior = ring(&ccw, true).unwrap();
        assert_eq!(exterior, vec![(10, 0), (10, 10), (0, 10), (0, 0)]);
        assert_eq!(ring(&ccw, false).unwrap(), vec![(0, 0), (0, 10), (10, 10), (10, 0)]);
        // Smaller than a unit: nothing drawn.
        assert_eq!(ring(&square(&[(0.1, 0.1), (0.2, 0.1), (0.2, 0.2), (0.1, 0.1)]), true), None);
    }

    #[test]
    fn commands_are_relative_and_zigzagged() {
        let mut commands = Vec::new();
        let mut cursor = (0, 0);
        push_ring(&mut commands, &mut cursor, &[(20, 4076), (20, 4086), (10, 4086), (10, 4076)]);
        // As PostGIS encodes the same square (st_asmvt of st_makeenvelope(10, 10, 20, 20) in a 4096 box).
        assert_eq!(commands, vec![9, 40, 8152, 26, 0, 20, 19, 0, 0, 19, 15]);
        assert_eq!(cursor, (10, 4076));
    }

    #[test]
    fn footprints_across_the_buffer_are_cut_to_it() {
        let frame = Frame { left: 0.0, top: 4096.0, scale: 1.0 };
        let wide = Polygon::new(square(&[(-500.0, 100.0), (100.0, 100.0), (100.0, 200.0), (-500.0, 200.0)]), vec![]);
        let wkb = {
            use geozero::ToWkb;
            geo::Geometry::Polygon(wide).to_wkb(geozero::CoordDimensions::xy()).unwrap()
        };
        let mut feature = tile::Feature { geometry: frame.encode(&wkb).unwrap(), ..Default::default() };
        feature.set_type(tile::GeomType::Polygon);
        // Read back with geozero's MVT reader: from x = -64 (the buffer's edge) to 100, never -500.
        let xs: Vec<i32> = {
            use geo::CoordsIter;
            use geozero::ToGeo;
            feature.to_geo().unwrap().coords_iter().map(|c| c.x as i32).collect()
        };
        assert_eq!(xs.len(), 5, "{xs:?}");
        assert_eq!(xs.iter().min(), Some(&-64));
        assert_eq!(xs.iter().max(), Some(&100));
    }
}
