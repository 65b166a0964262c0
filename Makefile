# The two set-up commands: `make run` serves the product, `make test` runs every test.
# Both install what is missing first (Debian packages, npm packages).

CARGO ?= cargo

.PHONY: run test deps test-deps build clean fuzz bench

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

build:
	$(CARGO) build --release --locked

clean:
	$(CARGO) clean

# Fuzz the parsers of user input for FUZZ_SECONDS each (default 60); not part of `make test`.
fuzz:
	scripts/fuzz.sh
