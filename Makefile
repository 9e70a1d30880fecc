# The front door: `make demo` and `make test` do all the set-up they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BROKER := deploy/kafka/broker.sh
PG := deploy/postgres/pg.sh
# Tests get their own broker and PostgreSQL (ports and state) so they never touch a
# developer's; the test PostgreSQL skips fsync (its data is thrown away).
TEST_ENV := PANTAU_KAFKA_PORT=19092 PANTAU_KAFKA_CONTROLLER_PORT=19093 \
	PANTAU_KAFKA_BOOTSTRAP=127.0.0.1:19092 PANTAU_KAFKA_DIR=$(CURDIR)/var/kafka-test \
	PANTAU_PG_PORT=15432 PANTAU_PG_DIR=$(CURDIR)/var/postgres-test PANTAU_PG_DURABLE=0 \
	PANTAU_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:15432/pantau \
	PANTAU_REQUIRE_BROKER=1

.PHONY: install system-deps demo test test-fast lint typecheck bench broker-start broker-stop pg-start pg-stop clean

install: $(STAMP)

# Every step says what it does; pip shows what it fetches and installs (minutes the first time).
$(STAMP): pyproject.toml
	@echo "== install 1/3: Python virtual environment in $(VENV)"
	test -d $(VENV) || python3 -m venv $(VENV)
	@echo "== install 2/3: pip"
	$(VENV)/bin/pip install --upgrade pip
	@echo "== install 3/3: Pantau with its train and dev extras (a few minutes the first time)"
	$(VENV)/bin/pip install -e '.[train,dev]'
	touch $(STAMP)
	@echo "== installed: $(VENV)/bin/pantau"

# Debian packages the tests use for real: promtool/prometheus, headless Chromium and
# PostgreSQL (its server binaries live under /usr/lib/postgresql/<version>/bin).
system-deps:
	@if ! command -v promtool >/dev/null || ! command -v chromium >/dev/null \
		|| ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus chromium postgresql >/dev/null; \
		else \
			echo "install the Debian packages prometheus, chromium and postgresql (needs root)"; exit 1; \
		fi; \
	fi

# The API and seller page port: make demo PORT=8123
PORT ?= 8000
demo: install
	$(VENV)/bin/pantau demo --port $(PORT)

# The gate: lint, then the type checker, then the (long) tests; the first failure stops it.
# Tests run in PYTEST_WORKERS processes (pytest-xdist): many wait on brokers, services and
# receivers, so two workers use both cores. PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist worksteal)
test: lint typecheck system-deps
	$(TEST_ENV) $(BROKER) start
	set +e; $(TEST_ENV) $(PG) start && $(TEST_ENV) $(PY) -m pytest $(XDIST) $(PYTEST_ARGS); rc=$$?; \
	$(TEST_ENV) $(PG) stop; $(TEST_ENV) $(BROKER) stop; exit $$rc

# The inner loop: the same lint and type gate, then no broker, browser or slow tests.
test-fast: lint typecheck
	$(PY) -m pytest $(XDIST) -m "not kafka and not slow and not browser" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy, strict on shared/ and services/ ([tool.mypy] in pyproject.toml).
typecheck: install
	$(VENV)/bin/mypy

bench: install
	$(BROKER) start
	$(PY) -m bench.ingest --json bench/results/ingest.json

broker-start:
	$(BROKER) start

broker-stop:
	$(BROKER) stop

pg-start:
	$(PG) start

pg-stop:
	$(PG) stop

clean:
	rm -rf $(VENV) var
