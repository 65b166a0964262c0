#!/usr/bin/env bash
# The measured numbers of docs/SCALING.md: a registry of HOUSES generated houses on one PostgreSQL
# primary — how fast it loads, what each table takes per 100,000 houses, and how many certifications
# (鉴证) per second the primary takes through the HTTP API from 1 and from 8 concurrent clients, with the
# WAL (what streaming replication ships) each one writes.
#
#   scripts/measure-scale.sh                      (make measure-scale)
#   HOUSES=200000 RUN_SECONDS=10 scripts/measure-scale.sh
#
# Builds the release binary and starts a throwaway PostgreSQL cluster with stock settings (fsync on,
# shared_buffers 128 MB), removed afterwards. The service, PostgreSQL and wrk share this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/cluster.sh

HOUSES=${HOUSES:-200000}
RUN_SECONDS=${RUN_SECONDS:-10}

step() { printf '\n== %s\n' "$*" >&2; }

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
step "building the service (release)"
cargo build --release --locked --quiet
farmhouse=./target/release/farmhouse

step "throwaway PostgreSQL cluster"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
CLUSTER_NAME=measure start_cluster
dir=$CLUSTER_DIR
pg_port=$CLUSTER_PORT
psql=(psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U postgres)
"${psql[@]}" -d postgres -c "create database measure" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/measure"
sql() { "${psql[@]}" -d measure -c "$1"; }

step "loading $HOUSES houses with their records (farmhouse seed scale)"
"$farmhouse" migrate --database-url "$DATABASE_URL" 2>/dev/null
started=$(date +%s.%N)
"$farmhouse" seed scale --houses "$HOUSES" --database-url "$DATABASE_URL" 2>"$dir/seed.log" >/dev/null
load_seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
sql "vacuum analyze" >/dev/null
houses=$(sql "select count(*) from farmhouses")

step "table sizes (pg_total_relation_size: table, indexes and TOAST)"
sizes=$(sql "select c.relname, pg_total_relation_size(c.oid), coalesce(s.n_live_tup, 0)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             left join pg_stat_user_tables s on s.relid = c.oid
             where n.nspname = 'public' and c.relkind = 'r' and c.relname <> 'spatial_ref_sys'
             order by 2 desc")
database_bytes=$(sql "select pg_database_size(current_database())")

step "certifications (鉴证) through the HTTP API"
echo 'a long measuring password' | "$farmhouse" user add measure.officer --role officer >/dev/null 2>&1
token=$("$farmhouse" user token measure.officer 2>/dev/null)
# The deals awaiting certification that the generator leaves (3% of the houses), in a fixed shuffled order.
sql "select t.id from transactions t join farmhouses f on f.id = t.farmhouse_id
     where f.status = 'contracted' and t.status = 'signed'
       and not exists (select 1 from certifications c where c.transaction_id = t.id and c.revoked_at is null)
     order by md5(t.id::text)" >"$dir/ids.all"
awaiting=$(wc -l <"$dir/ids.all")
half=$((awaiting / 2))
head -n "$half" "$dir/ids.all" >"$dir/ids.1"
tail -n +"$((half + 1))" "$dir/ids.all" >"$dir/ids.8"
port=$(free_port)
"$farmhouse" serve --no-demo --database-url "$DATABASE_URL" --bind "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break
    sleep 0.1
done

# One run of RUN_SECONDS with $1 concurrent clients; prints: certificates, per second (from their issue
# times in the database), p50 ms, p99 ms, WAL bytes and history entries per certificate.
certify() {
    local clients=$1 threads=$(($1 < 2 ? 1 : 2))
    local last_cert wal_before history_before result
    last_cert=$(sql "select coalesce(max(id), 0) from certifications")
    wal_before=$(sql "select pg_current_wal_insert_lsn()")
    # History entries are numbered per county chain; `id` numbers them across chains (DESIGN §2.7).
    history_before=$(sql "select coalesce(max(id), 0) from history")
    result=$(IDS="$dir/ids.$clients" TOKEN="$token" THREADS=$threads wrk -t "$threads" -c "$clients" \
        -d "${RUN_SECONDS}s" --timeout 30s -s bench/certify.lua "http://127.0.0.1:$port" | grep '^RESULT')
    sql "select count(*),
                round((count(*) - 1) / nullif(extract(epoch from max(issued_at) - min(issued_at)), 0), 1),
                round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$wal_before') / nullif(count(*), 0)),
                round((select count(*) from history where id > $history_before)::numeric / nullif(count(*), 0), 1)
         from certifications where id > $last_cert" |
        awk -F'|' -v r="$result" 'BEGIN {split(r, w, " ")} {print $1, $2, w[5], w[6], $3, $4, w[7]}'
}
one=$(certify 1)
eight=$(certify 8)

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
memory=$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)
versions=$(sql "select split_part(version(), ' ', 2) || ', PostGIS ' || postgis_lib_version()")
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
printf '\nMachine: %s, %s cores, %s RAM; PostgreSQL %s (stock settings, fsync on); load average now %s\n' \
    "$cpu" "$(nproc)" "$memory" "$versions" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'Loaded %s houses in %s s (%s houses/s, seed scale)\n' "$houses" "$load_seconds" \
    "$(awk -v h="$houses" -v s="$load_seconds" 'BEGIN {printf "%.0f", h / s}')"
printf '\n%-28s %12s %14s %12s\n' "table" "MB" "MB per 100k" "rows"
while IFS='|' read -r name bytes rows; do
    printf '%-28s %12s %14s %12s\n' "$name" "$(mb "$bytes")" "$(mb "$((bytes * 100000 / houses))")" "$rows"
done <<<"$sizes"
printf '%-28s %12s %14s\n' "whole database" "$(mb "$database_bytes")" "$(mb "$((database_bytes * 100000 / houses))")"
printf '\nCertifications through POST /api/v1/transactions/{id}/certify, %s s per run, %s deals awaiting:\n' \
    "$RUN_SECONDS" "$awaiting"
printf '%-10s %8s %10s %8s %8s %12s %16s %8s\n' "clients" "certs" "certs/s" "p50 ms" "p99 ms" "WAL B/cert" "history/cert" "non-2xx"
for row in "1 $one" "8 $eight"; do
    # shellcheck disable=SC2086
    printf '%-10s %8s %10s %8s %8s %12s %16s %8s\n' $row
done
