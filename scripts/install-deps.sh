#!/usr/bin/env bash
# Installs the Debian packages the project needs, skipping those already installed.
#   scripts/install-deps.sh          what building and running need
#   scripts/install-deps.sh test     and what the tests need (GDAL, Chromium)
set -euo pipefail

packages=(postgresql-15 postgresql-15-postgis-3 postgresql-contrib libclang-dev libproj-dev pkg-config proj-bin)
if [[ "${1:-}" == "test" ]]; then
    packages+=(gdal-bin chromium fonts-noto-cjk python3-pip)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
    echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2
    exit 1
fi

# Python tools the tests drive (pinned): the OpenAPI validator.
if [[ "${1:-}" == "test" ]] && ! python3 -c "import openapi_spec_validator" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "openapi-spec-validator==0.7.1" 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages "openapi-spec-validator==0.7.1"
fi

# Schemathesis (pinned) for the hostile-input test.
if [[ "${1:-}" == "test" ]] && ! command -v st >/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "schemathesis==4.32.5" 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages "schemathesis==4.32.5"
fi
