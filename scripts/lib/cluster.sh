# Shell helpers shared by the scripts that need a throwaway PostgreSQL cluster or a server to wait for
# (test.sh, load.sh, bench-import.sh, measure-scale.sh, bench.sh).
# Source it, then `start_cluster [extra postgres -c options…]`: initdb + pg_ctl start of the newest
# installed PostgreSQL in a fresh folder under /tmp, on a free loopback port, trust authentication.
# It sets CLUSTER_DIR, CLUSTER_PORT and CLUSTER_URL (the `postgres` database, superuser `postgres`) and
# stops and removes the cluster when the script exits. As root the server runs as the `postgres` user,
# since initdb refuses root.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# `wait_for URL [SECONDS]`: waits until URL answers 2xx (SECONDS at most, default 10).
wait_for() {
    for _ in $(seq 1 $((${2:-10} * 10))); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

start_cluster() {
    local bin as_server=()
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    CLUSTER_DIR=$(mktemp -d "/tmp/farmhouse-${CLUSTER_NAME:-cluster}.XXXXXX")
    chmod 755 "$CLUSTER_DIR"
    CLUSTER_PORT=$(free_port)
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres "$CLUSTER_DIR"
        as_server=(runuser -u postgres --)
    fi
    CLUSTER_STOP=("${as_server[@]}" "$bin/pg_ctl" -D "$CLUSTER_DIR/pg" -m immediate stop)
    trap stop_cluster EXIT
    "${as_server[@]}" "$bin/initdb" -D "$CLUSTER_DIR/pg" -U postgres -A trust -E UTF8 --no-locale >/dev/null
    local options="-p $CLUSTER_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
    for o in "$@"; do options+=" -c $o"; done
    "${as_server[@]}" "$bin/pg_ctl" -D "$CLUSTER_DIR/pg" -l "$CLUSTER_DIR/postgres.log" -w -o "$options" start >/dev/null
    CLUSTER_URL="postgres://postgres@127.0.0.1:$CLUSTER_PORT/postgres"
}

# Runs the script's own cleanup (a function named `cleanup`, if any), then removes the cluster.
stop_cluster() {
    declare -F cleanup >/dev/null && cleanup
    "${CLUSTER_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$CLUSTER_DIR"
}
