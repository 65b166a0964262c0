#!/usr/bin/env bash
# Vector tiles: this service against Martin over the same tables, cold (each tile once after a
# restart: built by PostGIS) and warm (the same tiles again and again: from each server's cache).
#
#   scripts/bench-tiles.sh            (make bench-tiles)
#   HOUSES=100000 DURATION=20 CONNECTIONS=32 scripts/bench-tiles.sh
#
# Builds the release binary, installs Martin 1.14.0 (postgres only) under target/tools on first use,
# starts a throwaway PostgreSQL cluster with a synthetic district (bench/district.sql), and loads both
# servers with wrk (bench/tiles.lua) using the same tile list: farmhouses at zooms 11-16 and townships at
# zooms 6-10 over the district, requested with Accept-Encoding: gzip. Servers and load share this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

HOUSES=${HOUSES:-20000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
PER_ZOOM=${PER_ZOOM:-150}
tools=target/tools
martin=$tools/bin/martin

step() { printf '\n== %s\n' "$*" >&2; }

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
if [[ ! -x $martin ]]; then
    step "installing Martin 1.14.0 (postgres feature only; 7-15 minutes on 2 cores)"
    cargo install martin@1.14.0 --locked --no-default-features --features postgres --root "$tools"
fi
step "building the service (release)"
cargo build --release --locked --quiet

step "throwaway PostgreSQL cluster"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/farmhouse-bench.XXXXXX)
chmod 755 "$dir"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
as_server=()
if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$dir"
    as_server=(runuser -u postgres --)
fi
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "${as_server[@]}" "$bin/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
"${as_server[@]}" "$bin/initdb" -D "$dir/pg" -U postgres -A trust -E UTF8 --no-locale >/dev/null
"${as_server[@]}" "$bin/pg_ctl" -D "$dir/pg" -l "$dir/postgres.log" -w -o \
    "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c shared_buffers=256MB -c max_connections=100" \
    start >/dev/null
psql=(psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres)
"${psql[@]}" -d postgres -c "create database bench" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/bench"

step "loading a synthetic district with $HOUSES houses"
./target/release/farmhouse migrate --database-url "$DATABASE_URL"
grep -v '^#' fixtures/shangyu-townships.tsv |
    "${psql[@]}" -d bench -v houses="$HOUSES" -v outline="$(cat fixtures/shangyu-outline.geojson)" -f bench/district.sql

step "choosing tiles"
"${psql[@]}" -d bench -At > "$dir/paths.txt" <<SQL
with occupied as (
    select distinct z, floor((st_x(point_3857) + 20037508.342789244) / (40075016.685578488 / 2 ^ z))::int as x,
                       floor((20037508.342789244 - st_y(point_3857)) / (40075016.685578488 / 2 ^ z))::int as y
    from farmhouses, generate_series(11, 16) z
), sampled as (
    select z, x, y, row_number() over (partition by z order by md5(z || '/' || x || '/' || y)) as n from occupied
), district as (
    select z, x, y from generate_series(6, 10) z,
    lateral (select st_transform(outline, 3857) as o from districts) d,
    lateral generate_series(floor((st_xmin(o) + 20037508.342789244) / (40075016.685578488 / 2 ^ z))::int,
                            floor((st_xmax(o) + 20037508.342789244) / (40075016.685578488 / 2 ^ z))::int) x,
    lateral generate_series(floor((20037508.342789244 - st_ymax(o)) / (40075016.685578488 / 2 ^ z))::int,
                            floor((20037508.342789244 - st_ymin(o)) / (40075016.685578488 / 2 ^ z))::int) y
)
select '/tiles/farmhouses/' || z || '/' || x || '/' || y from sampled where n <= $PER_ZOOM
union all
select '/tiles/townships/' || z || '/' || x || '/' || y from district
order by 1;
SQL
echo "$(wc -l < "$dir/paths.txt") tiles: $(cut -d/ -f3,4 "$dir/paths.txt" | sort | uniq -c | awk '{printf "%s z%s×%s ", $2, "", $1}' | sed 's|/| |g')" >&2

ours_port=$(free_port)
martin_port=$(free_port)
start_ours() {
    ./target/release/farmhouse serve --database-url "$DATABASE_URL" --bind "127.0.0.1:$ours_port" >"$dir/ours.log" 2>&1 &
    ours_pid=$!
    pids+=("$ours_pid")
    wait_for "http://127.0.0.1:$ours_port/health"
}
start_martin() {
    "$martin" --config bench/martin.yaml --route-prefix /tiles --listen-addresses "127.0.0.1:$martin_port" >"$dir/martin.log" 2>&1 &
    martin_pid=$!
    pids+=("$martin_pid")
    wait_for "http://127.0.0.1:$martin_port/tiles/health"
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wait_for() {
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    exit 1
}
# One pass of the tile list (once=1) or DURATION seconds of it; prints wrk's RESULT line. wrk runs for
# its whole -d even when every thread is through, so a one-pass run is interrupted (SIGINT, on which wrk
# reports) as soon as the threads say they are done; the poll adds at most ~20 ms to its duration.
load() {
    local url=$1 once=$2
    local threads=2
    rm -f "$dir"/done.*
    if [[ $once == 0 ]]; then
        PATHS="$dir/paths.txt" ONCE=0 THREADS=$threads DONE_DIR="$dir" wrk -t "$threads" -c "$CONNECTIONS" \
            -d "${DURATION}s" --timeout 30s -s bench/tiles.lua "$url" | grep '^RESULT'
        return
    fi
    PATHS="$dir/paths.txt" ONCE=1 THREADS=$threads DONE_DIR="$dir" wrk -t "$threads" -c "$CONNECTIONS" \
        -d 600s --timeout 30s -s bench/tiles.lua "$url" >"$dir/wrk.out" &
    local wrk_pid=$!
    while (($(find "$dir" -maxdepth 1 -name 'done.*' | wc -l) < threads)); do
        kill -0 "$wrk_pid" 2>/dev/null || break
        sleep 0.02
    done
    kill -INT "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" || true
    grep '^RESULT' "$dir/wrk.out"
}

step "priming PostgreSQL's buffers (one pass through each server, not measured)"
start_ours
start_martin
load "http://127.0.0.1:$ours_port" 1 >/dev/null
load "http://127.0.0.1:$martin_port" 1 >/dev/null
stop "$ours_pid"
stop "$martin_pid"

step "cold: each tile once, just after a restart"
start_martin
martin_cold=$(load "http://127.0.0.1:$martin_port" 1)
start_ours
ours_cold=$(load "http://127.0.0.1:$ours_port" 1)
step "warm: the same tiles for ${DURATION}s"
martin_warm=$(load "http://127.0.0.1:$martin_port" 0)
ours_warm=$(load "http://127.0.0.1:$ours_port" 0)

rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
ours_rss=$(rss "$ours_pid")
martin_rss=$(rss "$martin_pid")

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
printf '\nMachine: %s, %s cores (servers, PostgreSQL and wrk share them); %s houses; %s tiles; %s connections\n' \
    "$cpu" "$(nproc)" "$HOUSES" "$(wc -l < "$dir/paths.txt")" "$CONNECTIONS"
printf '%-18s %10s %10s %10s %8s\n' "" "req/s" "p50 ms" "p99 ms" "errors"
row_named() { local name=$1; shift; set -- $1; printf '%-18s %10s %10s %10s %8s\n' "$name" "$4" "$5" "$6" "$7"; }
row_named "farmhouse cold" "$ours_cold"
row_named "martin cold" "$martin_cold"
row_named "farmhouse warm" "$ours_warm"
row_named "martin warm" "$martin_warm"
ratio() { awk -v a="$(echo "$1" | awk '{print $4}')" -v b="$(echo "$2" | awk '{print $4}')" 'BEGIN {printf "%.2f", a / b}'; }
printf 'farmhouse / martin req/s: cold %s×, warm %s×\n' "$(ratio "$ours_cold" "$martin_cold")" "$(ratio "$ours_warm" "$martin_warm")"
printf 'RSS after the run: farmhouse %s, martin %s\n' "$ours_rss" "$martin_rss"
