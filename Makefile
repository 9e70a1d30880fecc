# The front door: `make demo` and `make test` do all the set-up they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BROKER := deploy/kafka/broker.sh
# Tests get their own broker port and state so they never touch a developer's broker.
TEST_ENV := PANTAU_KAFKA_PORT=19092 PANTAU_KAFKA_CONTROLLER_PORT=19093 \
	PANTAU_KAFKA_BOOTSTRAP=127.0.0.1:19092 PANTAU_KAFKA_DIR=$(CURDIR)/var/kafka-test \
	PANTAU_REQUIRE_BROKER=1

.PHONY: install system-deps demo test lint bench broker-start broker-stop clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

# Debian packages the tests use for real: promtool/prometheus and headless Chromium.
system-deps:
	@if ! command -v promtool >/dev/null || ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus chromium >/dev/null; \
		else \
			echo "install the Debian packages prometheus and chromium (needs root)"; exit 1; \
		fi; \
	fi

demo: install
	$(VENV)/bin/pantau demo

test: install system-deps
	$(TEST_ENV) $(BROKER) start
	set +e; $(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	$(TEST_ENV) $(BROKER) stop; exit $$rc

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check services/ingest shared

bench: install
	$(BROKER) start
	$(PY) -m bench.ingest --json bench/results/ingest.json

broker-start:
	$(BROKER) start

broker-stop:
	$(BROKER) stop

clean:
	rm -rf $(VENV) var
