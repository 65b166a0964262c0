//! Web Mercator (EPSG:3857) tile arithmetic: tile addresses, their extents, and which tiles a changed
//! box touches. Plain numbers, no database.

/// Half the width of the Web Mercator world, metres.
pub const WORLD_HALF: f64 = 20_037_508.342_789_244;

/// The deepest zoom served.
pub const MAX_ZOOM: u8 = 22;

/// The extent of a tile in MVT coordinates, and the buffer drawn around it (64/4096: a symbol on a tile's
/// edge is drawn whole in both neighbours).
pub const EXTENT: u32 = 4096;
pub const BUFFER: u32 = 64;

/// A rectangle in Web Mercator metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
}

impl Bbox {
    pub const WORLD: Bbox = Bbox { min_x: -WORLD_HALF, min_y: -WORLD_HALF, max_x: WORLD_HALF, max_y: WORLD_HALF };

    pub fn new(min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> Self {
        Self { min_x, min_y, max_x, max_y }
    }

    /// The Web Mercator box of a longitude/latitude box (EPSG:4326, degrees).
    pub fn from_lonlat(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Self {
        let (min_x, min_y) = to_mercator(min_lon, min_lat);
        let (max_x, max_y) = to_mercator(max_lon, max_lat);
        Self { min_x, min_y, max_x, max_y }
    }

    /// Whether the two boxes share any point (touching edges count).
    pub fn intersects(&self, other: &Bbox) -> bool {
        self.min_x <= other.max_x && other.min_x <= self.max_x && self.min_y <= other.max_y && other.min_y <= self.max_y
    }

    /// Reads `x0,y0,x1,y1`, as the database's change notifications write it.
    pub fn parse(text: &str) -> Option<Self> {
        let mut n = text.split(',').map(|s| s.trim().parse::<f64>().ok());
        let b = Bbox::new(n.next()??, n.next()??, n.next()??, n.next()??);
        (n.next().is_none() && b.min_x <= b.max_x && b.min_y <= b.max_y).then_some(b)
    }
}

/// Longitude/latitude (degrees) to Web Mercator metres; latitudes are clamped to the projection's limit.
pub fn to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_779_806_59, 85.051_128_779_806_59);
    let x = lon.to_radians() * 6_378_137.0;
    let y = (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln() * 6_378_137.0;
    (x, y)
}

/// Web Mercator metres to longitude/latitude (degrees).
pub fn to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = (x / 6_378_137.0).to_degrees();
    let lat = (2.0 * (y / 6_378_137.0).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    (lon, lat)
}

/// The address of one tile (XYZ scheme: y grows southwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Why a tile address is refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTile {
    pub field: &'static str,
    pub message: String,
    /// The address is well-formed but outside the grid of its zoom (404 rather than 400).
    pub outside: bool,
}

impl TileId {
    /// Reads a tile address from its URL parts; `y` may carry an extension (`.pbf`, `.mvt`).
    pub fn parse(z: &str, x: &str, y: &str) -> Result<Self, BadTile> {
        let bad = |field, message: String| BadTile { field, message, outside: false };
        let y = y.strip_suffix(".pbf").or_else(|| y.strip_suffix(".mvt")).unwrap_or(y);
        let z: u8 = z
            .parse()
            .ok()
            .filter(|z| *z <= MAX_ZOOM)
            .ok_or_else(|| bad("z", format!("must be a zoom from 0 to {MAX_ZOOM}, not {z:?}")))?;
        let x: u32 = x.parse().map_err(|_| bad("x", format!("must be a tile column (a whole number), not {x:?}")))?;
        let y: u32 = y.parse().map_err(|_| bad("y", format!("must be a tile row (a whole number), not {y:?}")))?;
        let side = 1u32 << z;
        for (field, v) in [("x", x), ("y", y)] {
            if v >= side {
                return Err(BadTile {
                    field,
                    message: format!("must be below {side} at zoom {z}, not {v}"),
                    outside: true,
                });
            }
        }
        Ok(Self { z, x, y })
    }

    /// The width of a tile of zoom `z`, metres.
    pub fn size(z: u8) -> f64 {
        2.0 * WORLD_HALF / f64::from(1u32 << z)
    }

    /// The tile's extent, metres.
    pub fn bounds(&self) -> Bbox {
        let size = Self::size(self.z);
        let min_x = -WORLD_HALF + f64::from(self.x) * size;
        let max_y = WORLD_HALF - f64::from(self.y) * size;
        Bbox::new(min_x, max_y - size, min_x + size, max_y)
    }

    /// Whether a change inside `changed` can alter this tile: the box meets the tile or its buffer.
    pub fn touches(&self, changed: &Bbox) -> bool {
        let b = self.bounds();
        let margin = Self::size(self.z) * f64::from(BUFFER) / f64::from(EXTENT);
        let widened = Bbox::new(b.min_x - margin, b.min_y - margin, b.max_x + margin, b.max_y + margin);
        widened.intersects(changed)
    }

    /// The tile of zoom `z` holding point (`x`, `y`) in metres.
    pub fn containing(z: u8, x: f64, y: f64) -> Self {
        let size = Self::size(z);
        let last = (1u32 << z) - 1;
        let col = ((x + WORLD_HALF) / size).floor().clamp(0.0, f64::from(last)) as u32;
        let row = ((WORLD_HALF - y) / size).floor().clamp(0.0, f64::from(last)) as u32;
        Self { z, x: col, y: row }
    }

    /// Every tile of zoom `z` that meets `area`.
    pub fn covering(z: u8, area: &Bbox) -> impl Iterator<Item = TileId> + use<> {
        let top_left = Self::containing(z, area.min_x, area.max_y);
        let bottom_right = Self::containing(z, area.max_x, area.min_y);
        (top_left.y..=bottom_right.y).flat_map(move |y| (top_left.x..=bottom_right.x).map(move |x| TileId { z, x, y }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_address_takes_an_extension_and_names_the_bad_part() {
        assert_eq!(TileId::parse("3", "4", "5.pbf").unwrap(), TileId { z: 3, x: 4, y: 5 });
        assert_eq!(TileId::parse("3", "4", "5.mvt").unwrap(), TileId { z: 3, x: 4, y: 5 });
        assert_eq!(TileId::parse("23", "0", "0").unwrap_err().field, "z");
        assert_eq!(TileId::parse("a", "0", "0").unwrap_err().field, "z");
        assert_eq!(TileId::parse("1", "-1", "0").unwrap_err().field, "x");
        let outside = TileId::parse("1", "0", "2").unwrap_err();
        assert_eq!((outside.field, outside.outside), ("y", true));
    }

    #[test]
    fn tiles_cut_the_world_without_gaps() {
        let t = TileId { z: 1, x: 1, y: 0 };
        assert_eq!(t.bounds(), Bbox::new(0.0, 0.0, WORLD_HALF, WORLD_HALF));
        let (x, y) = to_mercator(120.9, 30.0);
        let z14 = TileId::containing(14, x, y);
        assert!(z14.bounds().intersects(&Bbox::new(x, y, x, y)));
        let (lon, lat) = to_lonlat(x, y);
        assert!((lon - 120.9).abs() < 1e-9 && (lat - 30.0).abs() < 1e-9);
    }

    #[test]
    fn a_change_touches_the_tiles_whose_buffer_it_meets() {
        let t = TileId { z: 10, x: 500, y: 300 };
        let b = t.bounds();
        let just_outside = b.max_x + TileId::size(10) * 0.01;
        assert!(t.touches(&Bbox::new(just_outside, b.min_y, just_outside + 1.0, b.min_y + 1.0)));
        let far = b.max_x + TileId::size(10) * 0.5;
        assert!(!t.touches(&Bbox::new(far, b.min_y, far + 1.0, b.min_y + 1.0)));
        assert!(TileId::covering(10, &b).any(|c| c == t));
    }

    #[test]
    fn notification_boxes_read_back() {
        assert_eq!(Bbox::parse("1,2,3,4"), Some(Bbox::new(1.0, 2.0, 3.0, 4.0)));
        assert_eq!(Bbox::parse("3,2,1,4"), None);
        assert_eq!(Bbox::parse("1,2,3"), None);
    }
}
