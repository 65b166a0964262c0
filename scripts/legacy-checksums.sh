#!/usr/bin/env bash
# Prints the table `LEGACY` of src/store/legacy.rs from the legacy migrations under
# tests/it/legacy_migrations/: version, description (the file name as sqlx reads it) and the SHA-384 of
# the file, which is sqlx's checksum. The legacy files never change, so neither does the table; the test
# `migrations::the_table_of_legacy_checksums_matches_the_legacy_files` checks the two agree.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in tests/it/legacy_migrations/*.sql; do
    name=$(basename "$f" .sql)
    version=$((10#${name%%_*}))
    description=${name#*_}
    printf '    (%d, "%s", "%s"),\n' "$version" "${description//_/ }" "$(sha384sum "$f" | cut -d' ' -f1)"
done
