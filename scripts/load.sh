#!/usr/bin/env bash
# Load: LOAD_SECONDS (default 60) at CONNECTIONS (default 64) open connections mixing vector tiles,
# OGC API Features pages, the stats summary, house records and writes (an officer recording appraisals,
# one request in ten), against the release build over the demo district in a throwaway cluster.
#
#   scripts/load.sh                         (make load)
#   LOAD_SECONDS=20 CONNECTIONS=32 scripts/load.sh
#
# Passes (exit 0) only if no response was a 5xx or 4xx (the report counts apart the 429s of the
# service's request budget, which this load must not reach), the client saw no socket error or timeout,
# every appraisal acknowledged with 201 is in the database, and the service's memory stayed flat: its
# RSS at the end is within 20% (and 16 MB) of its RSS a third of the way in. The service runs with its
# defaults (a pool of 16 connections); wrk and PostgreSQL share the machine with it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/cluster.sh

SECONDS_=${LOAD_SECONDS:-60}
CONNECTIONS=${CONNECTIONS:-64}
step() { printf '\n== %s\n' "$*" >&2; }

command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh bench" >&2; exit 1; }
step "building the service (release)"
cargo build --release --locked --quiet
farmhouse=./target/release/farmhouse

step "throwaway PostgreSQL cluster with the demo district"
CLUSTER_NAME=load start_cluster shared_buffers=256MB
psql=(psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres)
"${psql[@]}" -d postgres -c "create database load"
export DATABASE_URL="postgres://postgres@127.0.0.1:$CLUSTER_PORT/load"
$farmhouse migrate
$farmhouse seed demo
echo "load-test-password" | $farmhouse user add load-officer --role officer >/dev/null
token=$($farmhouse user token load-officer --label load 2>/dev/null)

step "choosing requests"
work=$CLUSTER_DIR/load
mkdir -p "$work"
"${psql[@]}" -d load -c "select id from farmhouses order by md5(id::text) limit 500" > "$work/houses.txt"
"${psql[@]}" -d load > "$work/reads.txt" <<'SQL'
with tiles as (
    select distinct z, floor((st_x(c) + 20037508.342789244) / (40075016.685578488 / 2 ^ z))::int as x,
                       floor((20037508.342789244 - st_y(c)) / (40075016.685578488 / 2 ^ z))::int as y
    from (select st_centroid(footprint_3857) as c from farmhouses) h, generate_series(8, 16) z
), tile_paths as (
    select format('/tiles/%s/%s/%s/%s', layer, z, x, y) as path
    from tiles, unnest(array['farmhouses', 'parcels', 'townships', 'villages']) layer
    where layer = 'farmhouses' or (layer = 'parcels' and z >= 14) or (layer = 'townships' and z <= 12)
          or (layer = 'villages' and z between 11 and 14)
    order by md5(z || '/' || x || '/' || y || layer) limit 1500
), feature_paths as (
    select format('/collections/farmhouses/items?limit=100&bbox=%s,%s,%s,%s',
                  st_xmin(b), st_ymin(b), st_xmax(b), st_ymax(b)) as path
    from (select st_envelope(boundary) as b from townships) t
    union all select '/collections/farmhouses/items?limit=1000'
    union all select '/collections/farmhouses/items?limit=100&status=listed'
    union all select format('/collections/townships/items/%s', code) from townships
), record_paths as (
    select format('/api/v1/farmhouses/%s', id) as path from farmhouses order by md5(id::text) limit 200
)
select path from tile_paths
union all select path from feature_paths, generate_series(1, 10)
union all select '/api/v1/stats/summary' from generate_series(1, 200)
union all select path from record_paths
SQL
echo "$(wc -l < "$work/reads.txt") read paths ($(grep -c '^/tiles' "$work/reads.txt") tiles), $(wc -l < "$work/houses.txt") houses to appraise" >&2

port=$(free_port)
cleanup() { [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true; }
$farmhouse serve --no-demo --bind "127.0.0.1:$port" >"$work/service.log" 2>&1 &
server_pid=$!
wait_for "http://127.0.0.1:$port/health"
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$server_pid/status"; }
peak() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$server_pid/status"; }
before_rss=$(rss)

step "load: ${SECONDS_}s at $CONNECTIONS connections"
(
    while kill -0 "$server_pid" 2>/dev/null; do
        echo "$(date +%s) $(rss)"
        sleep 5
    done
) >"$work/rss.txt" 2>/dev/null &
sampler=$!
READS="$work/reads.txt" HOUSES="$work/houses.txt" TOKEN=$token WRITE_EVERY=10 \
    wrk -t 2 -c "$CONNECTIONS" -d "${SECONDS_}s" --timeout 10s -s bench/load.lua "http://127.0.0.1:$port" >"$work/wrk.out"
kill "$sampler" 2>/dev/null || true
after_peak=$(peak)

value() { awk -v k="$1" -v f="$2" '$1 == k {print $f}' "$work/wrk.out"; }
s4=$(grep '^STATUS 4xx' "$work/wrk.out" | awk '{print $3}')
s5=$(grep '^STATUS 5xx' "$work/wrk.out" | awk '{print $3}')
limited=$(value RATE_LIMITED 2)
created=$(value WRITES 3)
sent=$(value WRITES 2)
client_errors=$(grep '^CLIENT_ERRORS' "$work/wrk.out" | awk '{print $3 + $5 + $7 + $9}')
stored=$("${psql[@]}" -d load -c "select count(*) from appraisals where report_no like 'LOAD-%'")
samples=($(awk '{print $2}' "$work/rss.txt"))
third=${samples[$(( ${#samples[@]} / 3 ))]}
last=$(rss)
"${psql[@]}" -d load -c "select count(*) from pg_stat_activity where datname = 'load'" >"$work/connections.txt"

printf '\nMachine: %s cores, %s GB; the service, PostgreSQL and wrk share them\n' "$(nproc)" \
    "$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
grep -E '^(LATENCY|STATUS|CLIENT_ERRORS)' "$work/wrk.out" | grep -v '^STATUS 3xx'
printf 'refused by the request budget (429): %s\n' "$limited"
printf 'writes: %s sent, %s acknowledged (201), %s in the database\n' "$sent" "$created" "$stored"
printf 'service RSS MB: %s before, %s a third of the way in, %s at the end, peak %s; samples every 5 s: %s\n' \
    "$before_rss" "$third" "$last" "$after_peak" "${samples[*]}"
printf 'database connections open at the end: %s\n' "$(cat "$work/connections.txt")"

failed=0
if ((s5 > 0)); then
    echo "FAIL: $s5 responses were 5xx; the service's warnings and errors, last 20:" >&2
    grep -E 'WARN|ERROR' "$work/service.log" | tail -n 20 >&2
    failed=1
fi
((s4 == 0)) || { echo "FAIL: $s4 responses were 4xx ($limited of them 429: the request budget)" >&2; failed=1; }
((client_errors == 0)) || { echo "FAIL: the client saw $client_errors socket errors or timeouts" >&2; failed=1; }
((stored >= created)) || { echo "FAIL: $created appraisals acknowledged but only $stored stored" >&2; failed=1; }
((created > 0)) || { echo "FAIL: no write was acknowledged" >&2; failed=1; }
if ((last > third * 12 / 10 && last - third > 16)); then
    echo "FAIL: memory grew from $third MB to $last MB" >&2
    failed=1
fi
((failed == 0)) && echo "PASS: no 5xx, no 4xx, no client errors, every acknowledged write stored, memory flat"
exit $failed
