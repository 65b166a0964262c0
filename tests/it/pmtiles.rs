//! The PMTiles export: `farmhouse export tiles --format pmtiles` writes the tiles the live service gives
//! the anonymous public, and an independent reader (Python's `pmtiles`, `scripts/install-deps.sh test`)
//! finds them in the archive byte for byte (after gzip), with nothing of the staff's tiles.

use std::process::Command;

use crate::common::TestDb;
use crate::common::map_fixtures::{houses_grid, leased_house, spawn_with, tile_at};
use farmhouse::domain::roles::Role;
use farmhouse::http::AppState;

/// Runs `python3 -c script`; panics with its output unless it succeeds.
fn python(script: &str) -> String {
    let out = Command::new("python3").args(["-c", script]).output().expect("python3");
    assert!(
        out.status.success(),
        "python3 failed (scripts/install-deps.sh test installs pmtiles):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pmtiles_export_holds_the_public_tiles_of_the_live_service() {
    let db = TestDb::with_district().await;
    leased_house(&db.pool).await; // a house with staff-only facts (its contract)
    houses_grid(&db.pool, 1, 40, 40.0, 2000.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("map.pmtiles");

    let out = Command::new(env!("CARGO_BIN_EXE_farmhouse"))
        .args(["export", "tiles", "--format", "pmtiles", "--max-zoom", "15", "--output"])
        .arg(&archive)
        .args(["--database-url", &db.url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("exported") && stderr.contains("tiles"), "progress and the summary on stderr: {stderr}");

    // Tiles of every band: townships alone, clusters, footprints and parcels, and an empty one.
    let mut addresses: Vec<String> = Vec::new();
    for (z, east) in [(0, 100.0), (8, 100.0), (11, 100.0), (13, 2100.0), (14, 100.0), (15, 100.0), (15, 2100.0)] {
        addresses.push(tile_at(z, east, 0.0));
    }
    addresses.push(tile_at(15, 60_000.0, 0.0));
    let script = format!(
        r#"
import gzip
from pmtiles.reader import Reader, MmapSource, all_tiles
from pmtiles.tile import Compression, TileType
with open("{path}", "rb") as f:
    src = MmapSource(f)
    r = Reader(src)
    h = r.header()
    print("header", h["tile_type"] == TileType.MVT, h["tile_compression"] == Compression.GZIP, h["min_zoom"], h["max_zoom"])
    print("layers", ",".join(l["id"] for l in r.metadata()["vector_layers"]))
    print("count", sum(1 for _ in all_tiles(src)))
    for zxy in "{addresses}".split():
        z, x, y = map(int, zxy.split("/"))
        data = r.get(z, x, y)
        print("tile", zxy, gzip.decompress(data).hex() if data else "none")
"#,
        path = archive.display(),
        addresses = addresses.join(" "),
    );
    let read = python(&script);
    assert!(read.contains("header True True 0 15"), "{read}");
    assert!(read.contains("layers farmhouses,parcels,townships,villages"), "{read}");

    let public = spawn_with(AppState::new(db.pool.clone()), Role::Public).await;
    let staff = spawn_with(AppState::new(db.pool.clone()), Role::Official).await;
    let mut compared = 0;
    for address in &addresses {
        let p: Vec<&str> = address.split('/').collect();
        let (z, x, y) = (p[0], p[1], p[2]);
        let live = |addr| async move {
            let res = reqwest::get(format!("http://{addr}/tiles/WebMercatorQuad/{z}/{y}/{x}")).await.unwrap();
            (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
        };
        let (status, body) = live(public).await;
        let line = read.lines().find(|l| l.starts_with(&format!("tile {address} "))).unwrap();
        let stored = line.rsplit(' ').next().unwrap();
        if status == 204 {
            assert_eq!(stored, "none", "{address}: empty live, stored in the archive");
        } else {
            assert_eq!(status, 200);
            assert_eq!(stored, hex::encode(&body), "{address}: the archive's tile is the live public one");
            compared += 1;
        }
        if *address == tile_at(15, 100.0, 0.0) {
            let (_, staff_body) = live(staff).await;
            assert_ne!(stored, hex::encode(&staff_body), "the staff's tile has the contract, the archive not");
        }
    }
    assert!(compared >= 7, "{compared} tiles compared:\n{read}");
    let count: u64 = read.lines().find_map(|l| l.strip_prefix("count ")).unwrap().parse().unwrap();
    // The summary line names as many tiles as the reader found (the log may be coloured).
    let plain: String =
        stderr.split('\u{1b}').map(|part| part.split_once('m').map_or(part, |(_, rest)| rest)).collect();
    assert!(plain.contains(&format!("tiles={count} ")), "{plain}");
}
