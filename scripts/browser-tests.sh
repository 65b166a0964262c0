#!/usr/bin/env bash
# The browser tests (web/tests, Node's test runner + playwright-core driving Debian's Chromium) against
# the real service: a database of their own on the server FARMHOUSE_TEST_DATABASE_URL names (scripts/test.sh
# starts one), the demo district seeded into it, one account per role, the debug binary serving it.
# They save the screenshots under docs/screenshots/.
#
# The tests read the service's address and the accounts from the environment, so they also run against a
# service of your own (`cd web && npm test`): FARMHOUSE_URL, and name:password in FARMHOUSE_INVESTOR,
# FARMHOUSE_OFFICER, FARMHOUSE_OFFICER2 (a second officer), FARMHOUSE_OFFICIAL, FARMHOUSE_ADMIN and
# FARMHOUSE_BANK (an account of role bank acting for the demo's 浙江上虞农村商业银行股份有限公司). The
# two-factor test (web/tests/totp.test.mjs) also needs FARMHOUSE_2FA_URL, a service that requires a second
# factor of officers (the default), and FARMHOUSE_TOTP, an officer without one; without them it is skipped.
#
#   scripts/browser-tests.sh                                  (make test runs it after the Rust tests)
#   scripts/browser-tests.sh web/tests/official.test.mjs      (one file)
set -euo pipefail
cd "$(dirname "$0")/.."

: "${FARMHOUSE_TEST_DATABASE_URL:?set it to an admin URL of a PostgreSQL + PostGIS server (scripts/test.sh does)}"
# FARMHOUSE_BIN: another build of the service to serve (default: the debug build of this tree).
bin=${FARMHOUSE_BIN:-target/debug/farmhouse}
[[ -x $bin ]] || cargo build --locked --quiet
[[ -d web/node_modules/playwright-core ]] || (cd web && npm ci --no-audit --no-fund --loglevel=error)

name="browser_$(date +%s)_$$"
admin=$FARMHOUSE_TEST_DATABASE_URL
url="${admin%/*}/$name"
psql=(psql -X -q -v ON_ERROR_STOP=1)
"${psql[@]}" "$admin" -c "create database $name" >/dev/null
log=$(mktemp /tmp/farmhouse-browser.XXXXXX.log)
# The signing keys of this run only (the service creates one on start).
keys=$(mktemp -d /tmp/farmhouse-browser-keys.XXXXXX)
pid=""
pid2=""
cleanup() {
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    if [[ -n $pid2 ]]; then kill "$pid2" 2>/dev/null || true; wait "$pid2" 2>/dev/null || true; fi
    "${psql[@]}" "$admin" -c "drop database if exists $name with (force)" >/dev/null 2>&1 || true
    rm -rf "$log" "$keys"
}
trap cleanup EXIT

started=$(date +%s)
$bin migrate --database-url "$url"
$bin seed demo --database-url "$url"
accounts=()
# officer2: the second officer who certifies what the first recorded (maker–checker); admin: records a
# listing of the past, the one step of the workflow test an officer may not take.
# totp: an officer who enrols a second factor in the page (web/tests/totp.test.mjs), on the second service.
for account in investor officer officer2:officer official admin totp:officer; do
    name=${account%%:*}
    role=${account#*:}
    user="browser.$name"
    echo "$user-password" | $bin user add "$user" --role "$role" --database-url "$url" >/dev/null
    accounts+=("FARMHOUSE_${name^^}=$user:$user-password")
done
# bank: registers and releases pledges for the demo's bank, the organisation it acts for.
bank=$("${psql[@]}" -At "$url" -c "select id from parties where name = '浙江上虞农村商业银行股份有限公司'")
[[ -n $bank ]] || { echo "the demo district has no bank party" >&2; exit 1; }
echo "browser.bank-password" | $bin user add browser.bank --role bank --party "$bank" --database-url "$url" >/dev/null
accounts+=("FARMHOUSE_BANK=browser.bank:browser.bank-password")

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The accounts sign in with their password alone here (`--require-2fa none`): the tests sign in as each
# role many times a minute, and a code is taken once.
$bin serve --database-url "$url" --bind "127.0.0.1:$port" --web-dir web --signing-keys "$keys/keys" \
    --require-2fa none >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.2
done
echo "service on 127.0.0.1:$port with the demo district (ready in $(($(date +%s) - started)) s)"
# A second service on the same database as a deployment runs it: officers and admins need a second factor.
port2=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$bin serve --database-url "$url" --bind "127.0.0.1:$port2" --web-dir web --signing-keys "$keys/keys" \
    --no-demo >>"$log" 2>&1 &
pid2=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port2/health" 2>/dev/null && break
    kill -0 "$pid2" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.2
done

mkdir -p docs/screenshots
status=0
env "${accounts[@]}" FARMHOUSE_URL="http://127.0.0.1:$port" FARMHOUSE_2FA_URL="http://127.0.0.1:$port2" \
    node --test --test-concurrency=1 --test-reporter=spec "${@:-web/tests/}" || status=$?
if ((status != 0)); then
    echo "--- service log (last 40 lines)" >&2
    tail -n 40 "$log" >&2
fi
exit "$status"
