# The two set-up commands: `make run` serves the product, `make test` runs every test.
# Both install what is missing first (Debian packages, npm packages).

CARGO ?= cargo

.PHONY: run test deps test-deps build clean fuzz bench-tiles measure-scale

run: deps build
	./target/release/farmhouse serve

test: test-deps
	scripts/test.sh

deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh test

# Tiles against Martin, cold and warm (not part of `make test`; see scripts/bench-tiles.sh).
bench-tiles:
	scripts/install-deps.sh bench
	scripts/bench-tiles.sh

# The measured numbers of docs/SCALING.md: load speed, table sizes per 100k houses, certifications per
# second (not part of `make test`; HOUSES, RUN_SECONDS tune it).
measure-scale:
	scripts/install-deps.sh bench
	scripts/measure-scale.sh

build:
	$(CARGO) build --release --locked

clean:
	$(CARGO) clean

# Fuzz the parsers of user input for FUZZ_SECONDS each (default 60); not part of `make test`.
fuzz:
	scripts/fuzz.sh
