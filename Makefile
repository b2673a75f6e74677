# proctor — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PROCTOR_PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/proctor_test
export PROCTOR_REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
# two workers (the machine's two cores), a test file's tests kept on one worker
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: install run test test-fast bench lint services browser paperwork sdk migrate demo clean fuzz faults

# the rule engine's modules that setup.py compiles with mypyc: an edit compiles them again
COMPILED := $(addprefix src/,$(shell grep -v '^\#' src/proctor/domain/COMPILED))

$(STAMP): pyproject.toml requirements/face.txt setup.py mypyc.ini src/proctor/domain/COMPILED $(COMPILED)
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"
	# editable, the engine compiled in place (src/proctor/**/*.so; PROCTOR_PURE_PYTHON=1: none)
	$(BIN)/pip install -q -e '.[dev]'
	# face_recognition without its "dlib" requirement: dlib-bin (pinned in pyproject) provides it
	$(BIN)/pip install -q --no-deps -r requirements/face.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/proctor db upgrade

## make run: install, migrate the embedded SQLite database under var/, serve on 127.0.0.1:8000
run: install sdk
	@mkdir -p var
	$(BIN)/proctor db upgrade && $(BIN)/proctor demo --if-empty
	@echo "proctor: API docs at http://127.0.0.1:8000/docs  (portal: http://127.0.0.1:8000/portal)"
	@echo "proctor: the example course page (browser SDK): http://127.0.0.1:8000/demo/player"
	@echo "proctor: make a platform key with: $(BIN)/proctor platform create --institution NAME --county 410102"
	$(BIN)/uvicorn proctor.main:create_app --factory --host 127.0.0.1 --port 8000

## the real PostgreSQL and Redis of this machine, started when down
services:
	@bash scripts/services.sh

## Debian's Chinese TrueType font (e-archive PDF) and pdftoppm
paperwork:
	@bash scripts/paperwork.sh

## Debian's Chromium for the portal's browser tests
browser:
	@bash scripts/browser.sh

## the browser SDK (sdk/js): npm install from the registry, build (ESM + script tag)
sdk:
	@bash scripts/sdk.sh

## make test: the whole suite, on SQLite and on the real PostgreSQL and Redis; the SDK's vitest
## unit tests and size budget; its Playwright tests in Chromium are part of pytest (tests/sdk)
test: install services browser paperwork sdk
	@bash scripts/sdk.sh test
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

## make fuzz: schemathesis over the OpenAPI document, much longer than in `make test` (fresh
## randomness each run; FUZZ_EXAMPLES per operation); prints requests fuzzed and 5xx
FUZZ_EXAMPLES ?= 300
fuzz: install services
	PROCTOR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) PROCTOR_FUZZ_RANDOM=1 \
	  $(BIN)/python -m pytest -p no:cacheprovider -q tests/fuzz

## make faults: the kill -9 fault tests (also in `make test`), FAULT_ROUNDS times over
FAULT_ROUNDS ?= 5
faults: install services
	for i in $$(seq 1 $(FAULT_ROUNDS)); do \
	  $(BIN)/python -m pytest -p no:cacheprovider -q tests/faults || exit 1; done

## make lint: ruff, the layer contracts (import-linter) and mypy
lint: install
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports
	$(BIN)/mypy src

## make bench: benchmark report in docs/benchmarks.md and docs/benchmarks.json
bench: install services
	$(BIN)/python -m proctor.bench

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info src/proctor_domain__mypyc.*.so \
	  src/proctor/domain/_compiled.json
	find src/proctor -name '*.so' -delete
