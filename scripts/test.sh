#!/usr/bin/env bash
# Every check and test, against a throwaway PostgreSQL + PostGIS cluster that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/cluster.sh

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --check

step "lints"
cargo clippy --all-targets --locked -- -D warnings

step "throwaway PostgreSQL cluster"
CLUSTER_NAME=test start_cluster max_connections=300 fsync=off
export FARMHOUSE_TEST_DATABASE_URL=$CLUSTER_URL
echo "cluster on port $CLUSTER_PORT in $CLUSTER_DIR"

step "tests"
cargo test --locked --all-targets

step "Debian package"
scripts/test-deb.sh

step "browser tests"
scripts/browser-tests.sh
