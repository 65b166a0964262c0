# The two set-up commands: `make run` serves the product, `make test` runs every test.
# Both install what is missing first (Debian packages, npm packages).

CARGO ?= cargo

.PHONY: run test deps test-deps build deb clean fuzz bench bench-import bench-documents load measure-scale

run: deps build
	./target/release/farmhouse serve

test: test-deps
	scripts/test.sh

deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh test

# The benchmark (not part of `make test`): a million seeded houses; tiles against Martin, OGC API
# pages, the stats summary, bulk import against ogr2ogr, memory. Prints a table; see scripts/bench.sh
# and docs/BENCHMARKS.md for the knobs (HOUSES, DURATION, BENCH_DIR …).
bench:
	@scripts/install-deps.sh bench >&2
	@scripts/bench.sh

# `farmhouse import` of 100,000 houses from an EPSG:4549 GeoJSON next to ogr2ogr loading the same file
# (not part of `make test`; see scripts/bench-import.sh).
bench-import:
	scripts/install-deps.sh bench
	scripts/bench-import.sh

# Certificate documents: the time to render and serve the PDFs of 100 demo certificates (p50, p90), their
# size, and one signed certificate checked offline (not part of `make test`; see scripts/bench-documents.sh).
bench-documents:
	scripts/install-deps.sh bench
	scripts/bench-documents.sh

# The measured numbers of docs/SCALING.md: load speed, table sizes per 100k houses, certifications per
# second (not part of `make test`; HOUSES, RUN_SECONDS tune it).
measure-scale:
	scripts/install-deps.sh bench
	scripts/measure-scale.sh

build:
	$(CARGO) build --release --locked

# The Debian package, target/debian/farmhouse_<version>-1_<arch>.deb: the release binary, the web map, the
# systemd unit and /etc/farmhouse/farmhouse.env (see "Install as a package" in README.md). Then checks it
# as installed in an empty root (scripts/test-deb.sh; `make test` checks one made from the test build).
deb:
	scripts/install-deps.sh deb
	$(CARGO) deb --locked
	scripts/test-deb.sh target/debian/farmhouse_*.deb

clean:
	$(CARGO) clean

# Fuzz the parsers of user input for FUZZ_SECONDS each (default 60); not part of `make test`.
fuzz:
	scripts/fuzz.sh

# 60 s at 64 connections mixing tiles, features, stats and writes; fails on any 5xx, client error,
# lost write or growing memory (not part of `make test`; see scripts/load.sh).
load:
	scripts/install-deps.sh bench
	scripts/load.sh
