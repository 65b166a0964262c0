#!/usr/bin/env bash
# The benchmark (`make bench`, not part of `make test`): seeds HOUSES generated houses into a PostgreSQL
# cluster of its own and prints one table on standard output (progress goes to standard error):
#
# - vector tiles: a fixed set of tiles over z8-z16 (the district at low zooms, dense areas at high
#   zooms), cold (each tile once just after a restart) and warm (the same tiles for DURATION s), from
#   this service and from Martin 1.14.0 over the same tables, and their ratio; bytes and time of every
#   tile at each zoom, one request at a time;
# - OGC API - Features: pages of 100 and 1000 houses at page 1, 100 and 1000 (keyset cursors, the pages
#   the `next` links lead to);
# - the stats summary;
# - bulk import of IMPORT_FEATURES houses (GeoJSON in EPSG:4549, after their parcels) against ogr2ogr into a
#   plain table (scripts/bench-import.sh, its own cluster);
# - certifications (鉴证) per second through the API from 8 clients (bench/certify.lua);
# - the service's peak memory (VmHWM) under 64 connections of mixed requests;
# - the targets of docs/BENCHMARKS.md, each with met / NOT MET.
#
#   scripts/bench.sh                                   (make bench: 1,000,000 houses, from scratch)
#   HOUSES=100000 DURATION=5 scripts/bench.sh           (a smaller run)
#   BENCH_DIR=/var/tmp/farmhouse-bench scripts/bench.sh (keep the seeded cluster there; later runs with
#                                                        the same HOUSES reuse it and skip seeding)
#
# Knobs: HOUSES (1000000), DURATION (10 s per warm run), CONNECTIONS (16, tiles), FEATURE_CONNECTIONS (4,
# features and stats), PER_ZOOM (200 tiles per zoom at z13-z16), IMPORT_FEATURES (100000), CERTIFY_CLIENTS (8),
# BENCH_DIR.
# Servers, PostgreSQL and wrk share this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/cluster.sh

HOUSES=${HOUSES:-1000000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
FEATURE_CONNECTIONS=${FEATURE_CONNECTIONS:-4}
PER_ZOOM=${PER_ZOOM:-200}
IMPORT_FEATURES=${IMPORT_FEATURES:-100000}
CERTIFY_CLIENTS=${CERTIFY_CLIENTS:-8}
BENCH_DIR=${BENCH_DIR:-}
MIXED_CONNECTIONS=64
MARTIN_VERSION=1.14.0
tools=$PWD/target/tools
martin=$tools/bin/martin
farmhouse=$PWD/target/release/farmhouse

started=$SECONDS
# Other work on the machine slows every figure; the table says how busy it was when the run began.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
step_started=$SECONDS
step() {
    printf '== [%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
    step_started=$SECONDS
}
took() { echo $((SECONDS - step_started)); }

for tool in wrk curl ogr2ogr psql python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh bench" >&2; exit 1; }
done

martin_build=0
if [[ ! -x $martin ]]; then
    step "installing Martin $MARTIN_VERSION (postgres feature only) under target/tools: 10-15 minutes on 2 cores"
    cargo install "martin@$MARTIN_VERSION" --locked --no-default-features --features postgres --root "$tools"
    martin_build=$(took)
fi
step "building the service (release)"
cargo build --release --locked --quiet
build=$(took)

# --- the cluster -------------------------------------------------------------------------------------
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [[ -n $BENCH_DIR ]]; then
    mkdir -p "$BENCH_DIR"
    dir=$(cd "$BENCH_DIR" && pwd)
else
    dir=$(mktemp -d /tmp/farmhouse-bench.XXXXXX)
fi
work=$(mktemp -d /tmp/farmhouse-bench-run.XXXXXX)
chmod 755 "$dir" "$work"
as_server=()
if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$dir" "$work"
    as_server=(runuser -u postgres --)
    if ! runuser -u postgres -- test -w "$dir"; then
        echo "the postgres user cannot write to $dir (BENCH_DIR): choose a folder it can reach, e.g. under /var/tmp" >&2
        exit 1
    fi
fi
pg_port=$(free_port)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "${as_server[@]}" "$bin/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work"
    [[ -n $BENCH_DIR ]] || rm -rf "$dir"
}
trap cleanup EXIT

if [[ ! -f $dir/pg/PG_VERSION ]]; then
    step "new PostgreSQL cluster in $dir/pg"
    rm -f "$dir/seeded"
    "${as_server[@]}" "$bin/initdb" -D "$dir/pg" -U postgres -A trust -E UTF8 --no-locale >/dev/null
fi
step "starting PostgreSQL on port $pg_port"
"${as_server[@]}" "$bin/pg_ctl" -D "$dir/pg" -l "$dir/postgres.log" -w -o \
    "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c shared_buffers=512MB \
     -c max_connections=200 -c max_wal_size=4GB" start >/dev/null
psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres)
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/bench"

seed=0
if [[ $(cat "$dir/seeded" 2>/dev/null) == "$HOUSES" ]]; then
    step "reusing the database of $HOUSES houses seeded earlier in $dir"
    "$farmhouse" migrate
else
    step "seeding $HOUSES houses (farmhouse seed scale)"
    rm -f "$dir/seeded"
    "${psql[@]}" -d postgres -c "drop database if exists bench" -c "create database bench"
    "$farmhouse" migrate
    "$farmhouse" seed scale --houses "$HOUSES"
    echo "$HOUSES" > "$dir/seeded"
    seed=$(took)
fi
measuring=$SECONDS
step "vacuum analyze"
"${psql[@]}" -d bench -c "vacuum analyze"

# --- the servers -------------------------------------------------------------------------------------
ours_port=$(free_port)
martin_port=$(free_port)
ours=http://127.0.0.1:$ours_port
theirs=http://127.0.0.1:$martin_port
start_ours() {
    # No request budget: the benchmark measures the service, not its per-address limit.
    "$farmhouse" serve --bind "127.0.0.1:$ours_port" --no-demo --rate-limit 0 >>"$work/ours.log" 2>&1 &
    ours_pid=$!
    pids+=("$ours_pid")
    wait_for "$ours/health" 30
}
start_martin() {
    "$martin" --config bench/martin.yaml --route-prefix /tiles --listen-addresses "127.0.0.1:$martin_port" \
        >>"$work/martin.log" 2>&1 &
    martin_pid=$!
    pids+=("$martin_pid")
    wait_for "$theirs/tiles/health" 30
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
restart_ours() { [[ -z ${ours_pid:-} ]] || stop "$ours_pid"; start_ours; }
restart_martin() { [[ -z ${martin_pid:-} ]] || stop "$martin_pid"; start_martin; }
peak_rss() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# load BASE PATHS ONCE CONNECTIONS [ENCODING]: one pass of the list (ONCE=1) or DURATION seconds of it;
# prints wrk's RESULT line. wrk runs for its whole -d even when every thread is through, so a one-pass
# run is interrupted (SIGINT, on which wrk reports) as soon as the threads say they are done.
load() {
    local base=$1 paths=$2 once=$3 connections=$4 encoding=${5:-}
    local threads=2
    ((connections >= threads)) || threads=1
    rm -f "$work"/done.*
    local env=(PATHS="$paths" THREADS="$threads" DONE_DIR="$work" ACCEPT_ENCODING="$encoding")
    if [[ $once == 0 ]]; then
        env "${env[@]}" ONCE=0 wrk -t "$threads" -c "$connections" -d "${DURATION}s" --timeout 30s \
            -s bench/requests.lua "$base" | grep '^RESULT'
        return
    fi
    env "${env[@]}" ONCE=1 wrk -t "$threads" -c "$connections" -d 1200s --timeout 60s -s bench/requests.lua "$base" \
        >"$work/wrk.out" &
    local wrk_pid=$!
    while (($(find "$work" -maxdepth 1 -name 'done.*' | wc -l) < threads)); do
        kill -0 "$wrk_pid" 2>/dev/null || break
        sleep 0.02
    done
    kill -INT "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" || true
    grep '^RESULT' "$work/wrk.out"
}

# --- tiles -------------------------------------------------------------------------------------------
step "choosing tiles"
# The district's tiles at z8-z10 (townships, which carry the houses' figures at those zooms); at z11 and
# z12 every tile with houses; at z13-z16 PER_ZOOM tiles chosen by a hash among the denser half of the
# tiles with houses. Fixed for a given seeded database.
"${psql[@]}" -d bench -At > "$work/tiles.txt" <<SQL
with params as (
    select 20037508.342789244 as w
), occupied as (
    select z, floor((st_x(f.point_3857) + w) / (2 * w / 2 ^ z))::int as x,
              floor((w - st_y(f.point_3857)) / (2 * w / 2 ^ z))::int as y, count(*) as n
    from farmhouses f, params, generate_series(11, 16) z
    group by 1, 2, 3
), ranked as (
    select z, x, y, n, percent_rank() over (partition by z order by n) as density,
           row_number() over (partition by z order by md5(z || '/' || x || '/' || y)) as pick
    from occupied
), dense as (
    select z, x, y, row_number() over (partition by z order by md5(z || '/' || x || '/' || y)) as pick
    from ranked where z >= 13 and density >= 0.5
), district as (
    select z, x, y
    from (select st_transform(outline, 3857) as o from districts) d, params, generate_series(8, 10) z,
         generate_series(floor((st_xmin(o) + w) / (2 * w / 2 ^ z))::int, floor((st_xmax(o) + w) / (2 * w / 2 ^ z))::int) x,
         generate_series(floor((w - st_ymax(o)) / (2 * w / 2 ^ z))::int, floor((w - st_ymin(o)) / (2 * w / 2 ^ z))::int) y
    where st_intersects(st_tileenvelope(z, x, y), o)
)
select path from (
    select z, x, y, '/tiles/townships/' || z || '/' || x || '/' || y as path from district
    union all
    select z, x, y, '/tiles/farmhouses/' || z || '/' || x || '/' || y from ranked where z <= 12
    union all
    select z, x, y, '/tiles/farmhouses/' || z || '/' || x || '/' || y from dense where pick <= $PER_ZOOM
) t order by z, x, y;
SQL
# What each server draws of the houses layer itself where the service draws townships.
grep '^/tiles/townships/' "$work/tiles.txt" | sed 's|/townships/|/farmhouses/|' > "$work/low-houses.txt"
grep -E '^/tiles/farmhouses/1[56]/' "$work/tiles.txt" > "$work/footprints.txt"
tiles=$(wc -l < "$work/tiles.txt")
zooms_line=$(awk -F/ '{n[$4]++} END {for (z = 8; z <= 16; z++) if (n[z]) printf "z%d×%d ", z, n[z]}' "$work/tiles.txt")
printf '%s tiles: %s\n' "$tiles" "$zooms_line" >&2

# Each tile once, one at a time, without compression: status, bytes and seconds per tile.
one_by_one() {
    local base=$1 list=$2 out=$3
    : > "$out"
    while read -r path; do
        printf '%s %s\n' "$path" "$(curl -sS -o /dev/null --max-time 300 -w '%{http_code} %{size_download} %{time_total}' "$base$path")" >> "$out"
    done < "$list"
}

step "tiles one at a time, uncached, from each server (bytes and time per tile)"
start_ours
start_martin
one_by_one "$ours" "$work/tiles.txt" "$work/ours.sizes"
one_by_one "$theirs" "$work/tiles.txt" "$work/martin.sizes"
step "the houses layer at z8-z10 from each server, one at a time"
one_by_one "$ours" "$work/low-houses.txt" "$work/ours.low"
one_by_one "$theirs" "$work/low-houses.txt" "$work/martin.low"

step "cold: footprint tiles (z15-z16) once each, just after a restart"
restart_martin
martin_cold_fp=$(load "$theirs" "$work/footprints.txt" 1 "$CONNECTIONS" gzip)
restart_ours
ours_cold_fp=$(load "$ours" "$work/footprints.txt" 1 "$CONNECTIONS" gzip)
step "cold: every tile once, just after a restart"
restart_martin
martin_cold=$(load "$theirs" "$work/tiles.txt" 1 "$CONNECTIONS" gzip)
restart_ours
ours_cold=$(load "$ours" "$work/tiles.txt" 1 "$CONNECTIONS" gzip)
step "warm: every tile again and again for ${DURATION}s, then the footprint tiles"
martin_warm=$(load "$theirs" "$work/tiles.txt" 0 "$CONNECTIONS" gzip)
ours_warm=$(load "$ours" "$work/tiles.txt" 0 "$CONNECTIONS" gzip)
martin_warm_fp=$(load "$theirs" "$work/footprints.txt" 0 "$CONNECTIONS" gzip)
ours_warm_fp=$(load "$ours" "$work/footprints.txt" 0 "$CONNECTIONS" gzip)
# The houses' tiles under a CQL2 filter (drawn from the rows, clusters counted on the fly), cold then warm.
tile_filter="status = 'listed' AND floors >= 2"
filter_query="filter=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$tile_filter")"
grep '^/tiles/farmhouses/' "$work/tiles.txt" | sed "s|\$|?$filter_query|" > "$work/filtered-tiles.txt"
step "filtered tiles ($tile_filter): every tile once just after a restart, then ${DURATION}s warm"
restart_ours
ours_cold_filtered=$(load "$ours" "$work/filtered-tiles.txt" 1 "$CONNECTIONS" gzip)
ours_warm_filtered=$(load "$ours" "$work/filtered-tiles.txt" 0 "$CONNECTIONS" gzip)
martin_rss=$(peak_rss "$martin_pid")
stop "$martin_pid"

# --- OGC API - Features and the stats summary --------------------------------------------------------
step "OGC API - Features: pages 1, 100 and 1000 of 100 and of 1000 houses, ${DURATION}s each"
houses_in_db=$("${psql[@]}" -d bench -At -c "select count(*) from farmhouses")
# The cursor of page `page` of `limit` houses: the id of the last house of the page before, which is
# what that page's `next` link carries (checked below by following the links).
cursor() {
    local limit=$1 page=$2
    "${psql[@]}" -d bench -At -c "select id from farmhouses order by id offset $(((page - 1) * limit - 1)) limit 1"
}
items=/collections/farmhouses/items
: > "$work/feature-rows.txt"
for limit in 100 1000; do
    for page in 1 100 1000; do
        last=$(((houses_in_db + limit - 1) / limit))
        p=$((page < last ? page : last))
        if ((p == 1)); then path="$items?limit=$limit"; else path="$items?limit=$limit&after=$(cursor "$limit" "$p")"; fi
        echo "$path" > "$work/page.txt"
        echo "$limit $page $p $path" >> "$work/feature-rows.txt"
    done
done
# The links lead to the same pages: follow `next` from page 1 to page 100 of 100 houses (or the last
# page, with fewer houses).
hops=$(awk '$1 == 100 && $2 == 100 {print $3 - 1}' "$work/feature-rows.txt")
if ((hops > 0)); then
    followed=$(python3 - "$ours$items?limit=100" "$hops" <<'PY'
import json, sys, urllib.request
url, hops = sys.argv[1], int(sys.argv[2])
for _ in range(hops):
    with urllib.request.urlopen(url) as r:
        links = json.load(r)["links"]
    url = next(l["href"] for l in links if l["rel"] == "next")
print(url.split("after=")[1])
PY
    )
    expected=$(awk '$1 == 100 && $2 == 100 {print $4}' "$work/feature-rows.txt" | sed 's/.*after=//')
    if [[ $followed != "$expected" ]]; then
        echo "page $((hops + 1)) by next links has cursor $followed, by the ids $expected" >&2
        exit 1
    fi
fi
feature_results=()
while read -r limit page p path; do
    echo "$path" > "$work/page.txt"
    feature_results+=("$limit $page $p $(load "$ours" "$work/page.txt" 0 "$FEATURE_CONNECTIONS")")
done < "$work/feature-rows.txt"

step "OGC API - Features: page 1 of 100 houses under a CQL2 filter, ${DURATION}s"
echo "$items?limit=100&$filter_query" > "$work/page.txt"
cql_items=$(load "$ours" "$work/page.txt" 0 "$FEATURE_CONNECTIONS")

step "stats summary, ${DURATION}s"
echo /api/v1/stats/summary > "$work/stats.txt"
stats=$(load "$ours" "$work/stats.txt" 0 "$FEATURE_CONNECTIONS")

# --- memory under 64 connections ---------------------------------------------------------------------
step "peak memory under $MIXED_CONNECTIONS connections: tiles, feature pages and the summary, ${DURATION}s"
{
    cat "$work/tiles.txt"
    awk '{print $4}' "$work/feature-rows.txt"
    echo /api/v1/stats/summary
} | awk 'NR % 7 == 0 {print "/api/v1/stats/summary"} {print}' > "$work/mixed.txt"
restart_ours
mixed=$(load "$ours" "$work/mixed.txt" 0 "$MIXED_CONNECTIONS" gzip)
ours_rss=$(peak_rss "$ours_pid")
stop "$ours_pid"

# --- certifications ----------------------------------------------------------------------------------
# CERTIFY_CLIENTS officers' clients certify (鉴证) the deals the generator leaves awaiting certification, for
# DURATION seconds, through POST /api/v1/transactions/{id}/certify; counted from the certificates' issue times
# in the database. This changes the seeded registry: a reused BENCH_DIR has fewer deals awaiting each run.
step "certifications: $CERTIFY_CLIENTS clients for ${DURATION}s"
echo 'a long benchmarking password' | "$farmhouse" user add bench.officer --role officer >/dev/null 2>&1 || true
certify_token=$("$farmhouse" user token bench.officer 2>/dev/null)
"${psql[@]}" -d bench -At > "$work/certify-ids.txt" <<SQL
select t.id from transactions t join farmhouses f on f.id = t.farmhouse_id
where f.status = 'contracted' and t.status = 'signed'
  and not exists (select 1 from certifications c where c.transaction_id = t.id and c.revoked_at is null)
order by md5(t.id::text);
SQL
awaiting=$(wc -l < "$work/certify-ids.txt")
last_certificate=$("${psql[@]}" -d bench -At -c "select coalesce(max(id), 0) from certifications")
restart_ours
certify_threads=$((CERTIFY_CLIENTS < 2 ? 1 : 2))
certify_run=$(IDS="$work/certify-ids.txt" TOKEN="$certify_token" THREADS=$certify_threads wrk -t "$certify_threads" \
    -c "$CERTIFY_CLIENTS" -d "${DURATION}s" --timeout 30s -s bench/certify.lua "$ours" | grep '^RESULT' || true)
stop "$ours_pid"
read -r certified certify_rate < <("${psql[@]}" -d bench -At -F ' ' -c "
    select count(*), coalesce(round((count(*) - 1) / nullif(extract(epoch from max(issued_at) - min(issued_at)), 0), 1), 0)
    from certifications where id > $last_certificate")

# --- bulk import -------------------------------------------------------------------------------------
step "bulk import: $IMPORT_FEATURES houses as GeoJSON (EPSG:4549), farmhouse import against ogr2ogr (scripts/bench-import.sh)"
FEATURES=$IMPORT_FEATURES scripts/bench-import.sh > "$work/import.out"
read -r _ _ import_features import_parcels_s import_houses_s ogr_import < <(grep '^RESULT import' "$work/import.out")
measurement=$((SECONDS - measuring))

# --- the table ---------------------------------------------------------------------------------------
field() { echo "$1" | awk -v i="$2" '{print $i}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
pg_version=$("${psql[@]}" -d bench -At -c "select split_part(version(), ' ', 2) || ', PostGIS ' || postgis_lib_version()")

echo "farmhouse benchmark: $houses_in_db houses (farmhouse seed scale), $(date -u +%Y-%m-%d)"
echo "Machine: $cpu, $(nproc) cores, $memory; PostgreSQL $pg_version; wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}')"
echo "Servers, PostgreSQL and wrk share the $(nproc) cores; load average when the run began: $load_before."
echo
echo "Vector tiles: $tiles tiles ($zooms_line), Accept-Encoding: gzip, $CONNECTIONS connections"
printf '%-22s %10s %10s %10s %8s\n' "" "req/s" "p50 ms" "p99 ms" "errors"
row() { printf '%-22s %10s %10s %10s %8s\n' "$1" "$(field "$2" 4)" "$(field "$2" 5)" "$(field "$2" 6)" "$(field "$2" 7)"; }
row "farmhouse cold" "$ours_cold"
row "martin cold" "$martin_cold"
row "farmhouse warm" "$ours_warm"
row "martin warm" "$martin_warm"
row "farmhouse cold z15-16" "$ours_cold_fp"
row "martin cold z15-16" "$martin_cold_fp"
row "farmhouse warm z15-16" "$ours_warm_fp"
row "martin warm z15-16" "$martin_warm_fp"
row "farmhouse cold filter" "$ours_cold_filtered"
row "farmhouse warm filter" "$ours_warm_filtered"
cold_ratio=$(ratio "$(field "$ours_cold" 4)" "$(field "$martin_cold" 4)")
warm_ratio=$(ratio "$(field "$ours_warm" 4)" "$(field "$martin_warm" 4)")
fp_cold_ratio=$(ratio "$(field "$ours_cold_fp" 4)" "$(field "$martin_cold_fp" 4)")
fp_warm_ratio=$(ratio "$(field "$ours_warm_fp" 4)" "$(field "$martin_warm_fp" 4)")
printf 'farmhouse / martin req/s: cold %s×, warm %s×; footprints only (z15-16): cold %s×, warm %s×\n' \
    "$cold_ratio" "$warm_ratio" "$fp_cold_ratio" "$fp_warm_ratio"
echo
echo "Tiles one at a time, uncached (uncompressed MVT): tiles, KB mean / max, ms mean / max"
printf '%-16s %6s | %-30s | %-30s\n' "layer zoom" "tiles" "farmhouse" "martin"
# per_zoom FILE: "layer z count mean_kb max_kb mean_ms max_ms" per layer and zoom.
per_zoom() {
    awk '{split($1, p, "/"); k = p[3] " " p[4]; n[k]++; b[k] += $3; t[k] += $4
          if ($3 > mb[k]) mb[k] = $3; if ($4 > mt[k]) mt[k] = $4}
         END {for (k in n) printf "%s %d %.1f %.1f %.1f %.1f\n", k, n[k], b[k] / n[k] / 1024, mb[k] / 1024,
                                  t[k] / n[k] * 1000, mt[k] * 1000}' "$1" | sort -k2,2n -k1,1
}
per_zoom "$work/ours.sizes" > "$work/ours.zooms"
per_zoom "$work/martin.sizes" > "$work/martin.zooms"
per_zoom "$work/ours.low" > "$work/ours.lowzooms"
per_zoom "$work/martin.low" > "$work/martin.lowzooms"
cell() { printf '%7s / %-7s %6s / %-6s' "$1" "$2" "$3" "$4"; }
show_zooms() {
    join -j 1 <(awk '{print $1 "_" $2, $3, $4, $5, $6, $7}' "$1" | sort) \
              <(awk '{print $1 "_" $2, $4, $5, $6, $7}' "$2" | sort) |
        sort -t_ -k2,2n -k1,1 |
        while read -r key n a b c d e f g h; do
            printf '%-16s %6s | %s | %s\n' "${key/_/ z}" "$n" "$(cell "$a" "$b" "$c" "$d")" "$(cell "$e" "$f" "$g" "$h")"
        done
}
show_zooms "$work/ours.zooms" "$work/martin.zooms"
show_zooms "$work/ours.lowzooms" "$work/martin.lowzooms"
z8_slowest=$(awk '$1 ~ /\/8\// && $4 > t {t = $4; b = $3; p = $1} END {printf "%.1f ms, %.1f KB (%s)", t * 1000, b / 1024, p}' \
    "$work/ours.sizes" "$work/ours.low")
z8_largest=$(awk '$1 ~ /\/8\// && $3 > b {b = $3} END {printf "%.1f", b / 1024}' "$work/ours.sizes" "$work/ours.low")
echo "slowest farmhouse z8 tile: $z8_slowest; largest: $z8_largest KB"
echo
echo "OGC API - Features: $items, $FEATURE_CONNECTIONS connections, ${DURATION}s each"
printf '%-6s %-6s %10s %10s %10s %8s\n' "limit" "page" "req/s" "p50 ms" "p99 ms" "errors"
worst_page_p99=0
worst_1000_p99=0
for r in "${feature_results[@]}"; do
    read -r limit page p _ requests seconds rps p50 p99 errors <<<"$r"
    label=$page
    ((p == page)) || label="$page→$p"
    printf '%-6s %-6s %10s %10s %10s %8s\n' "$limit" "$label" "$rps" "$p50" "$p99" "$errors"
    worst_page_p99=$(awk -v a="$worst_page_p99" -v b="$p99" 'BEGIN {print (b > a) ? b : a}')
    ((limit != 1000)) || worst_1000_p99=$(awk -v a="$worst_1000_p99" -v b="$p99" 'BEGIN {print (b > a) ? b : a}')
done
printf '%-6s %-6s %10s %10s %10s %8s\n' "100" "cql2" "$(field "$cql_items" 4)" "$(field "$cql_items" 5)" \
    "$(field "$cql_items" 6)" "$(field "$cql_items" 7)"
echo "(cql2: page 1 under filter=$tile_filter; the filter rows of the tile table: the houses' tiles under it)"
echo
echo "Stats summary: /api/v1/stats/summary, $FEATURE_CONNECTIONS connections, ${DURATION}s"
printf '%-13s %10s %10s %10s %8s\n' "" "req/s" "p50 ms" "p99 ms" "errors"
printf '%-13s %10s %10s %10s %8s\n' "summary" "$(field "$stats" 4)" "$(field "$stats" 5)" "$(field "$stats" 6)" "$(field "$stats" 7)"
echo
echo "Bulk import: $import_features houses, GeoJSON in EPSG:4549, stored in EPSG:4326 (their parcels first:" \
    "${import_parcels_s} s)"
printf '%-22s %10s %12s\n' "" "seconds" "features/s"
printf '%-22s %10s %12s\n' "farmhouse import" "$import_houses_s" "$(awk -v n="$import_features" -v s="$import_houses_s" 'BEGIN {printf "%.0f", n / s}')"
printf '%-22s %10s %12s\n' "ogr2ogr (plain table)" "$ogr_import" "$(awk -v n="$import_features" -v s="$ogr_import" 'BEGIN {printf "%.0f", n / s}')"
import_ratio=$(ratio "$ogr_import" "$import_houses_s")
echo "farmhouse / ogr2ogr features/s: ${import_ratio}×"
echo
echo "Certifications: $CERTIFY_CLIENTS clients for ${DURATION}s, $awaiting deals awaiting: $certified certificates," \
    "$certify_rate/s (p50 $(field "$certify_run" 5) ms, p99 $(field "$certify_run" 6) ms, $(field "$certify_run" 7) non-2xx)"
echo
echo "Memory: $MIXED_CONNECTIONS connections of tiles, feature pages and summaries for ${DURATION}s:" \
    "$(field "$mixed" 4) req/s, p99 $(field "$mixed" 6) ms, $(field "$mixed" 7) errors"
echo "peak RSS (VmHWM): farmhouse $ours_rss MB; martin $martin_rss MB after its tile runs ($CONNECTIONS connections)"
echo
check() { if awk "BEGIN {exit !($2)}"; then echo "  met      $1"; else echo "  NOT MET  $1"; fi; }
# Every tile of ours, one at a time and uncached (z8-z16, both layers): the largest and the 99th percentile.
all_largest=$(awk '$3 > b {b = $3} END {printf "%.1f", b / 1024}' "$work/ours.sizes" "$work/ours.low")
all_p99=$(awk '{print $4 * 1000}' "$work/ours.sizes" "$work/ours.low" | sort -n |
    awk '{v[NR] = $1} END {i = int(NR * 0.99 + 0.999); if (i < 1) i = 1; printf "%.1f", v[i]}')
echo "Targets:"
check "z15-16 footprint tiles, uncached, ≥ 1.5× Martin's req/s (${fp_cold_ratio}×)" "$fp_cold_ratio >= 1.5"
check "z15-16 footprint tiles, cached, ≥ 5× Martin's req/s (${fp_warm_ratio}×)" "$fp_warm_ratio >= 5"
check "every tile z8-z16 uncached ≤ 500 KB and p99 ≤ 100 ms, one at a time (largest $all_largest KB, p99 $all_p99 ms)" \
    "$all_largest <= 500 && $all_p99 <= 100"
check "OGC items, 1,000 per page, p99 < 35 ms at page 1, 100 and 1000 (worst $worst_1000_p99 ms)" "$worst_1000_p99 < 35"
check "bulk import of $import_features houses ≥ 1.0× ogr2ogr's features/s (${import_ratio}×)" "$import_ratio >= 1.0"
if ((seed > 0)); then
    check "seed scale --houses $HOUSES ≤ 3 min per million houses ($seed s)" "$seed * 1000000 / $HOUSES <= 180"
else
    echo "  -        seed scale ≤ 3 min per million houses: not measured (the seeded cluster was reused)"
fi
check "certifications ≥ 500/s from $CERTIFY_CLIENTS clients ($certify_rate/s)" "$certify_rate >= 500"
check "mixed tiles, uncached, ≥ 1.5× Martin's req/s (${cold_ratio}×)" "$cold_ratio >= 1.5"
check "OGC pages p99 < 50 ms (worst $worst_page_p99 ms)" "$worst_page_p99 < 50"
check "stats summary p99 < 20 ms ($(field "$stats" 6) ms)" "$(field "$stats" 6) < 20"
check "peak RSS < 200 MB ($ours_rss MB)" "$ours_rss < 200"
echo
echo "Run time: seeding $((seed / 60)) min $((seed % 60)) s$( ((seed > 0)) || echo ' (reused)'), Martin build $((martin_build / 60)) min $((martin_build % 60)) s$( ((martin_build > 0)) || echo ' (installed already)'), service build $build s, measurement $((measurement / 60)) min $((measurement % 60)) s; total $(((SECONDS - started) / 60)) min"
