#!/usr/bin/env bash
# Installs the Debian packages the project needs, skipping those already installed.
#   scripts/install-deps.sh          what building and running need
#   scripts/install-deps.sh test     and what the tests need (GDAL, Chromium, OWSLib)
#   scripts/install-deps.sh bench    and what the benchmarks need (wrk)
set -euo pipefail

packages=(postgresql-15 postgresql-15-postgis-3 postgresql-contrib libclang-dev libproj-dev pkg-config proj-bin)
if [[ "${1:-}" == "test" ]]; then
    packages+=(gdal-bin chromium fonts-noto-cjk python3-pip)
fi
if [[ "${1:-}" == "bench" ]]; then
    packages+=(wrk curl)
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

# Python tools the tests drive, pinned: OWSLib (a GIS client of OGC API – Features), the OpenAPI
# validator and Schemathesis. Debian's own Python refuses pip installs into the system unless told to;
# a Python of its own (pyenv, venv) takes them as they are.
if [[ "${1:-}" == "test" ]]; then
    tools=(OWSLib==0.35.0 openapi-spec-validator==0.7.1 schemathesis==4.32.5)
    if ! python3 -m pip install --quiet --disable-pip-version-check "${tools[@]}" 2>/dev/null; then
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${tools[@]}"
    fi
fi
