//! Where generated houses stand: a grid of 30 m cells over the district, one parcel per cell, so parcels
//! never overlap however many runs fill the district. Cells are grouped into square blocks of 32 × 32;
//! a village is a compact cluster of cells around its block's centre.
//!
//! Positions are worked out on a local plane (metres east and north of a corner of the district), which
//! is accurate to a fraction of a percent across Shangyu: enough for made-up footprints, whose official
//! areas the database computes on EPSG:4549 anyway.

use std::collections::HashSet;

/// The south-west corner of the plane, west and south of the district outline.
const LON0: f64 = 120.60;
const LAT0: f64 = 29.70;
/// Metres per degree of longitude and latitude at 30° N.
const M_PER_DEG_LON: f64 = 96_490.0;
const M_PER_DEG_LAT: f64 = 110_900.0;

/// Side of a cell in metres: room for the largest parcel generated, turned by up to 12°.
pub const CELL: f64 = 30.0;
/// Side of a block (a village's room), in cells.
pub const BLOCK: i64 = 32;

/// A point on the plane, metres east and north of (LON0, LAT0).
pub fn to_plane(lon: f64, lat: f64) -> (f64, f64) {
    ((lon - LON0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT)
}

pub fn to_lonlat(x: f64, y: f64) -> (f64, f64) {
    (LON0 + x / M_PER_DEG_LON, LAT0 + y / M_PER_DEG_LAT)
}

/// The cell holding plane point (x, y).
pub fn cell_of(x: f64, y: f64) -> (i64, i64) {
    ((x / CELL).floor() as i64, (y / CELL).floor() as i64)
}

/// A township's area as the cells that lie wholly inside its boundary.
pub struct Area {
    /// Rings of the boundary on the plane (outer rings and holes alike: the even-odd rule decides).
    rings: Vec<Vec<(f64, f64)>>,
    min: (i64, i64),
    max: (i64, i64),
}

impl Area {
    /// The area of a (multi)polygon given as GeoJSON rings of lon/lat positions.
    pub fn new(rings_lonlat: &[Vec<Vec<f64>>]) -> Self {
        let rings: Vec<Vec<(f64, f64)>> = rings_lonlat
            .iter()
            .map(|ring| ring.iter().filter(|p| p.len() >= 2).map(|p| to_plane(p[0], p[1])).collect())
            .collect();
        let (mut lo, mut hi) = ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN));
        for &(x, y) in rings.iter().flatten() {
            lo = (lo.0.min(x), lo.1.min(y));
            hi = (hi.0.max(x), hi.1.max(y));
        }
        Self { rings, min: cell_of(lo.0, lo.1), max: cell_of(hi.0, hi.1) }
    }

    /// Where the line y = `y` is inside the area: sorted pairs of x (even-odd rule).
    fn crossings(&self, y: f64) -> Vec<(f64, f64)> {
        let mut xs = Vec::new();
        for ring in &self.rings {
            for w in ring.windows(2) {
                let ((x1, y1), (x2, y2)) = (w[0], w[1]);
                if (y1 <= y) != (y2 <= y) {
                    xs.push(x1 + (y - y1) / (y2 - y1) * (x2 - x1));
                }
            }
        }
        xs.sort_by(f64::total_cmp);
        xs.chunks_exact(2).map(|c| (c[0], c[1])).collect()
    }

    /// Every cell wholly inside the area (its lower and upper edge inside), row by row.
    pub fn cells(&self) -> Vec<(i64, i64)> {
        let inside = |spans: &[(f64, f64)], x0: f64, x1: f64| spans.iter().any(|&(a, b)| a <= x0 && x1 <= b);
        let mut out = Vec::new();
        let mut below = self.crossings(self.min.1 as f64 * CELL);
        for j in self.min.1..=self.max.1 {
            let above = self.crossings((j + 1) as f64 * CELL);
            for i in self.min.0..=self.max.0 {
                let (x0, x1) = (i as f64 * CELL, (i + 1) as f64 * CELL);
                if inside(&below, x0, x1) && inside(&above, x0, x1) {
                    out.push((i, j));
                }
            }
            below = above;
        }
        out
    }
}

/// The free cells of one area, grouped by block, each block's cells nearest its centre first.
pub struct Blocks {
    pub blocks: Vec<Block>,
}

/// The free cells of one block, nearest its centre first.
pub type Block = Vec<(i64, i64)>;

impl Blocks {
    pub fn new(area: &Area, taken: &HashSet<(i64, i64)>) -> Self {
        let mut by_block = std::collections::BTreeMap::<(i64, i64), Vec<(i64, i64)>>::new();
        for c in area.cells() {
            if !taken.contains(&c) {
                by_block.entry((c.0.div_euclid(BLOCK), c.1.div_euclid(BLOCK))).or_default().push(c);
            }
        }
        let blocks = by_block
            .into_iter()
            .map(|((bi, bj), mut cells)| {
                let centre = ((bi * BLOCK) as f64 + BLOCK as f64 / 2.0, (bj * BLOCK) as f64 + BLOCK as f64 / 2.0);
                let d = |c: &(i64, i64)| (c.0 as f64 + 0.5 - centre.0).powi(2) + (c.1 as f64 + 0.5 - centre.1).powi(2);
                cells.sort_by(|a, b| d(a).total_cmp(&d(b)).then(a.cmp(b)));
                cells
            })
            .collect();
        Self { blocks }
    }

    pub fn free_cells(&self) -> usize {
        self.blocks.iter().map(Vec::len).sum()
    }
}

/// A closed ring of four corners (lon/lat), the first repeated.
pub type Ring = [(f64, f64); 5];

/// A rectangle of `width` × `depth` metres centred at plane point `centre`, turned by `angle` radians,
/// as a closed ring of lon/lat positions (counter-clockwise).
pub fn rectangle(centre: (f64, f64), width: f64, depth: f64, angle: f64) -> Ring {
    let (s, c) = angle.sin_cos();
    let corner = |dx: f64, dy: f64| to_lonlat(centre.0 + dx * c - dy * s, centre.1 + dx * s + dy * c);
    let (w, d) = (width / 2.0, depth / 2.0);
    let first = corner(-w, -d);
    [first, corner(w, -d), corner(w, d), corner(-w, d), first]
}

/// The centre of `cell` on the plane.
pub fn cell_centre(cell: (i64, i64)) -> (f64, f64) {
    ((cell.0 as f64 + 0.5) * CELL, (cell.1 as f64 + 0.5) * CELL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square_km(x0: f64, y0: f64) -> Area {
        let (lon0, lat0) = to_lonlat(x0, y0);
        let (lon1, lat1) = to_lonlat(x0 + 1000.0, y0 + 1000.0);
        Area::new(&[vec![vec![lon0, lat0], vec![lon1, lat0], vec![lon1, lat1], vec![lon0, lat1], vec![lon0, lat0]]])
    }

    #[test]
    fn only_cells_wholly_inside_count() {
        // A 1 km square from (15, 15) m: cells 1..=33 lie inside on each axis (cell 33 ends at 1020 > 1015).
        let cells = square_km(15.0, 15.0).cells();
        assert_eq!(cells.len(), 32 * 32);
        assert!(cells.iter().all(|&(i, j)| (1..=32).contains(&i) && (1..=32).contains(&j)));
    }

    #[test]
    fn taken_cells_are_left_out_and_blocks_start_at_their_centre() {
        let area = square_km(0.0, 0.0);
        let taken: HashSet<(i64, i64)> = [(16, 16)].into_iter().collect();
        let blocks = Blocks::new(&area, &taken);
        assert_eq!(blocks.free_cells(), area.cells().len() - 1);
        assert!(blocks.blocks[0][..3].iter().all(|&(i, j)| (15..=16).contains(&i) && (15..=16).contains(&j)));
    }
}
