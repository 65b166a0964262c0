//! Reading a footprint from arbitrary GeoJSON never panics, and an accepted polygon survives the trip
//! to the database form and back.
#![no_main]

use farmhouse::geo::shape::{Extent, polygon, to_geojson};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(geometry) = text.parse::<geojson::Geometry>() else { return };
    let extent = Extent { min_lon: 120.6, min_lat: 29.7, max_lon: 121.2, max_lat: 30.3 };
    if let Ok(p) = polygon(&geometry, "geometry", Some(&extent)) {
        let again: geojson::Geometry = to_geojson(&p).parse().expect("our own GeoJSON reads back");
        assert!(polygon(&again, "geometry", Some(&extent)).is_ok());
    }
});
