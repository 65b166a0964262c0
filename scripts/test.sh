#!/usr/bin/env bash
# Every check and test, against a throwaway PostgreSQL + PostGIS cluster that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --check

step "lints"
cargo clippy --all-targets --locked -- -D warnings

step "throwaway PostgreSQL cluster"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/farmhouse-test.XXXXXX)
chmod 755 "$dir"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_server=()
if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$dir"
    as_server=(runuser -u postgres --)
fi
cleanup() {
    "${as_server[@]}" "$bin/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
"${as_server[@]}" "$bin/initdb" -D "$dir/pg" -U postgres -A trust -E UTF8 --no-locale >/dev/null
"${as_server[@]}" "$bin/pg_ctl" -D "$dir/pg" -l "$dir/postgres.log" -w -o \
    "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300 -c fsync=off" \
    start >/dev/null
export FARMHOUSE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "cluster on port $port in $dir"

step "tests"
cargo test --locked --all-targets

step "browser tests"
scripts/browser-tests.sh
