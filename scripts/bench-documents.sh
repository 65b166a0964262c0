#!/usr/bin/env bash
# Certificate documents: the release build over the demo district in a throwaway cluster renders the PDF
# of DOCUMENTS (default 100) different certificates, one request at a time, and prints the time to the last
# byte (p50, p90, max, as curl measures it on loopback), the sizes, and one signed JWS checked offline.
#
#   scripts/bench-documents.sh            (make bench-documents)
#   DOCUMENTS=300 scripts/bench-documents.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/cluster.sh

DOCUMENTS=${DOCUMENTS:-100}
step() { printf '\n== %s\n' "$*" >&2; }

step "building the service (release)"
cargo build --release --locked --quiet
farmhouse=./target/release/farmhouse

step "throwaway PostgreSQL cluster with the demo district"
CLUSTER_NAME=documents start_cluster
psql=(psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres)
"${psql[@]}" -d postgres -c "create database documents"
export DATABASE_URL="postgres://postgres@127.0.0.1:$CLUSTER_PORT/documents"
$farmhouse migrate
$farmhouse seed demo
work=$CLUSTER_DIR/documents
mkdir -p "$work"
# Certificates in force, in no particular order, with the codes printed on them.
"${psql[@]}" -d documents -F ' ' -c "select certificate_no, verification_code from certifications
    where revoked_at is null order by md5(certificate_no) limit $DOCUMENTS" > "$work/certificates.txt"

port=$(free_port)
cleanup() { [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true; }
$farmhouse serve --no-demo --rate-limit 0 --bind "127.0.0.1:$port" --signing-keys "$work/keys" >"$work/service.log" 2>&1 &
server_pid=$!
wait_for "http://127.0.0.1:$port/health"
base="http://127.0.0.1:$port"

step "first document (the fonts are read once)"
read -r first_no first_code < "$work/certificates.txt"
curl -fsS -o /dev/null -w '%{time_total} s\n' "$base/api/v1/certifications/$first_no/document?code=$first_code" >&2

step "$DOCUMENTS documents, one at a time"
while read -r no code; do
    curl -fsS -o "$work/last.pdf" -w '%{time_total} %{size_download}\n' "$base/api/v1/certifications/$no/document?code=$code"
done < "$work/certificates.txt" > "$work/times.txt"
# Percentiles by rank over the sorted column (mawk has no sort of its own).
stats() { sort -n | awk -v scale="$1" '{v[NR] = $1 * scale; sum += $1 * scale}
    END {printf "p50 %.1f, p90 %.1f, max %.1f, mean %.1f", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR], sum / NR}'; }
echo "documents: $(wc -l < "$work/times.txt")"
echo "render + serve, ms: $(cut -d' ' -f1 "$work/times.txt" | stats 1000)"
echo "size, bytes: $(cut -d' ' -f2 "$work/times.txt" | stats 1)"
pdfinfo "$work/last.pdf" 2>/dev/null | grep -E "^(Pages|Page size):" || true

step "a signed certificate checked offline"
curl -fsS "$base/api/v1/certifications/$first_no/signed?code=$first_code" > "$work/cert.jws"
curl -fsS "$base/.well-known/jwks.json" > "$work/jwks.json"
$farmhouse certificate verify "$work/cert.jws" --jwks "$work/jwks.json" > /dev/null
