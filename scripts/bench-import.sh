#!/usr/bin/env bash
# Bulk import: `farmhouse import farmhouses` of FEATURES (default 100,000) houses from one EPSG:4549
# GeoJSON survey file, next to `ogr2ogr -f PostgreSQL` loading the same file (reprojected to EPSG:4326,
# as the registry stores it) into a plain table of the same cluster, in the same run.
#
#   scripts/bench-import.sh                (make bench-import; also a part of make bench)
#   FEATURES=20000 scripts/bench-import.sh
#
# The survey files are made by the scale generator and the export: `farmhouse seed scale` into a
# scratch database, then `farmhouse export parcels|farmhouses --crs EPSG:4549`. The registry that
# imports them holds the district and nothing else; its parcels are imported first (timed too, since
# a house needs its parcel), then the houses. The import checks every feature (unit number, geometry
# validity, inside the district, footprint within its parcel, no overlap) and writes the history and
# the statistics; ogr2ogr checks nothing. Prints `RESULT import <features> <seconds>` lines as well.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/cluster.sh

FEATURES=${FEATURES:-100000}
step() { printf '\n== %s\n' "$*" >&2; }
command -v ogr2ogr >/dev/null || { echo "ogr2ogr is missing: apt-get install -y gdal-bin" >&2; exit 1; }
step "building the service (release)"
cargo build --release --locked --quiet
farmhouse=$PWD/target/release/farmhouse

CLUSTER_NAME=bench-import start_cluster shared_buffers=256MB max_wal_size=4GB
psql=(psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres)
url() { echo "postgres://postgres@127.0.0.1:$CLUSTER_PORT/$1"; }
files=$CLUSTER_DIR/files
mkdir -p "$files"

step "making the survey files: $FEATURES generated houses, exported in EPSG:4549"
"${psql[@]}" -d postgres -c "create database source" -c "create database registry"
$farmhouse migrate --database-url "$(url source)"
$farmhouse seed scale --houses "$FEATURES" --database-url "$(url source)"
$farmhouse export parcels --crs EPSG:4549 --output "$files/parcels.geojson" --database-url "$(url source)"
$farmhouse export farmhouses --crs EPSG:4549 --output "$files/farmhouses.geojson" --database-url "$(url source)"
"${psql[@]}" -d postgres -c "drop database source"
ls -l "$files" >&2

step "a registry holding the district only"
$farmhouse migrate --database-url "$(url registry)"
$farmhouse seed scale --houses 0 --database-url "$(url registry)" 2>/dev/null
"${psql[@]}" -d registry -c "checkpoint"

# Seconds a command takes (wall clock), its output to the log.
timed() {
    local start end
    start=$(date +%s.%N)
    "$@" >>"$CLUSTER_DIR/commands.log" 2>&1 || { cat "$CLUSTER_DIR/commands.log" >&2; exit 1; }
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}'
}

step "farmhouse import parcels"
parcels_s=$(timed $farmhouse import parcels "$files/parcels.geojson" --database-url "$(url registry)")
"${psql[@]}" -d registry -c "checkpoint"
step "farmhouse import farmhouses"
houses_s=$(timed $farmhouse import farmhouses "$files/farmhouses.geojson" --database-url "$(url registry)")
"${psql[@]}" -d registry -c "checkpoint"
step "ogr2ogr -f PostgreSQL (the same farmhouses file)"
ogr_s=$(timed ogr2ogr -f PostgreSQL "PG:host=127.0.0.1 port=$CLUSTER_PORT dbname=registry user=postgres" \
    "$files/farmhouses.geojson" -nln ogr_farmhouses -t_srs EPSG:4326 -lco SPATIAL_INDEX=GIST)

imported=$("${psql[@]}" -d registry -c "select count(*) from farmhouses")
copied=$("${psql[@]}" -d registry -c "select count(*) from ogr_farmhouses")
((imported == FEATURES && copied == FEATURES)) || {
    echo "expected $FEATURES houses in each, found $imported imported and $copied copied" >&2
    exit 1
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", n / s}'; }
printf '\nMachine: %s cores, %s GB; %s features per file, EPSG:4549 GeoJSON (%s MB of houses)\n' "$(nproc)" \
    "$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)" "$FEATURES" \
    "$(du -m "$files/farmhouses.geojson" | cut -f1)"
printf '%-42s %10s %12s\n' "" "seconds" "features/s"
printf '%-42s %10s %12s\n' "farmhouse import parcels" "$parcels_s" "$(rate "$FEATURES" "$parcels_s")"
printf '%-42s %10s %12s\n' "farmhouse import farmhouses" "$houses_s" "$(rate "$FEATURES" "$houses_s")"
printf '%-42s %10s %12s\n' "ogr2ogr -f PostgreSQL (same houses file)" "$ogr_s" "$(rate "$FEATURES" "$ogr_s")"
printf 'farmhouse / ogr2ogr features/s (houses): %s×\n' "$(awk -v a="$houses_s" -v b="$ogr_s" 'BEGIN {printf "%.2f", b / a}')"
printf 'RESULT import %s %s %s %s\n' "$FEATURES" "$parcels_s" "$houses_s" "$ogr_s"
