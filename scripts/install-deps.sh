#!/usr/bin/env bash
# Installs the Debian packages the project needs, skipping those already installed.
#   scripts/install-deps.sh          what building and running need (and the web map's npm packages)
#   scripts/install-deps.sh test     and what the tests need (GDAL, Chromium, OWSLib, Playwright)
#   scripts/install-deps.sh bench    and what the benchmark needs (wrk, GDAL's ogr2ogr)
#   scripts/install-deps.sh deb      and what `make deb` needs (cargo-deb, dpkg-dev, systemd-analyze)
set -euo pipefail

# fonts-noto-cjk: the Chinese font certificate documents (PDF) are printed with.
packages=(postgresql-15 postgresql-15-postgis-3 postgresql-contrib libclang-dev libproj-dev pkg-config proj-bin
          fonts-noto-cjk)
if [[ "${1:-}" == "test" ]]; then
    # poppler-utils (pdftotext, pdftoppm) and zbar-tools (zbarimg) read certificate documents as a person
    # would: their text, their page as a picture, their QR code.
    packages+=(gdal-bin chromium python3-pip curl poppler-utils zbar-tools)
fi
if [[ "${1:-}" == "bench" ]]; then
    packages+=(wrk curl gdal-bin python3)
fi
# The Debian package (`make deb`, and its test in `make test`): dpkg-shlibdeps finds the libraries it depends
# on, systemd-analyze checks its unit.
if [[ "${1:-}" == "test" || "${1:-}" == "deb" ]]; then
    packages+=(dpkg-dev systemd)
fi

# The web map's packages come from npm: Node.js and npm themselves, if the machine has none.
command -v npm >/dev/null || packages+=(nodejs npm)

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

# cargo-deb makes the Debian package (`make deb`, and the package test of `make test`), at a pinned version.
if [[ "${1:-}" == "test" || "${1:-}" == "deb" ]] && [[ "$(cargo deb --version 2>/dev/null)" != "cargo-deb 3.8.0" ]]; then
    cargo install cargo-deb --locked --version 3.8.0
fi

# The web map's packages, exactly as web/package-lock.json pins them: MapLibre GL JS (served by the
# service) and, for the browser tests, playwright-core (it drives Debian's Chromium; no browser download).
(cd "$(dirname "$0")/../web" && npm ci --no-audit --no-fund --loglevel=error)

# Python tools the tests drive, pinned: OWSLib (a GIS client of OGC API – Features), the OpenAPI
# validator, Schemathesis, joserfc (a JOSE implementation of its own, checking certificate signatures),
# pyotp (two-factor codes computed apart from the service's own), prometheus_client (reads /metrics as
# Prometheus does) and pmtiles (reads the tile export's archive).
# Debian's own Python refuses pip installs into the system unless told to;
# a Python of its own (pyenv, venv) takes them as they are.
if [[ "${1:-}" == "test" ]]; then
    tools=(OWSLib==0.35.0 openapi-spec-validator==0.7.1 schemathesis==4.32.5 joserfc==1.8.0 pyotp==2.9.0
           prometheus_client==0.26.0 pmtiles==3.8.1)
    if ! python3 -m pip install --quiet --disable-pip-version-check "${tools[@]}" 2>/dev/null; then
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${tools[@]}"
    fi
fi
