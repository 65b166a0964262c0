//! Reading survey files never panics, whatever their bytes: a shapefile (the input is split into its
//! .shp, .dbf and .prj parts), a GeoJSON file and a CSV file with WKT.
#![no_main]

use farmhouse::import::{Format, Source, read::read};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let source = |format, main: &[u8], dbf: Option<&[u8]>, prj: Option<&[u8]>| Source {
        name: "fuzz".into(),
        format,
        main: main.to_vec(),
        dbf: dbf.map(<[u8]>::to_vec),
        prj: prj.map(<[u8]>::to_vec),
        cpg: None,
    };
    match selector % 3 {
        0 => {
            // Two cut points, from the next bytes, split the rest into .shp, .dbf and .prj.
            if rest.len() < 4 {
                return;
            }
            let (cuts, files) = rest.split_at(4);
            let a = usize::from(u16::from_le_bytes([cuts[0], cuts[1]])) % (files.len() + 1);
            let b = a + usize::from(u16::from_le_bytes([cuts[2], cuts[3]])) % (files.len() - a + 1);
            let _ = read(&source(Format::Shapefile, &files[..a], Some(&files[a..b]), Some(&files[b..])));
        }
        1 => {
            let _ = read(&source(Format::GeoJson, rest, None, None));
        }
        _ => {
            let _ = read(&source(Format::Csv, rest, None, None));
        }
    }
});
