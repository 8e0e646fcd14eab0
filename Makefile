# dealsight: `make demo` runs the product on a generated demo organisation; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint format postgres chromium wrk install benchmark benchmark-web migration clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# The test suite starts its own throwaway PostgreSQL cluster from the server binaries; install them when missing.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing PostgreSQL server binaries (Debian package postgresql)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "PostgreSQL server binaries missing: sudo apt-get install postgresql"; exit 1; fi

# Browser tests drive Debian's chromium through Playwright (never `playwright install`); install it when missing.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Chromium for the browser tests (Debian package chromium)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium missing: sudo apt-get install chromium"; exit 1; fi

demo: $(STAMP)
	$(BIN)/dealsight db upgrade
	$(BIN)/dealsight demo --replace --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) postgres chromium lint
	$(BIN)/pytest -q

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# A new migration from the changes in src/dealsight/store/schema.py: make migration m="what changed"
migration: $(STAMP)
	$(BIN)/python -c "from alembic import command; from dealsight.store.database import alembic_config, connect, upgrade; \
	import tempfile, os; p = os.path.join(tempfile.mkdtemp(), 'm.db'); e = connect('sqlite:///' + p); upgrade(e); \
	command.revision(alembic_config('sqlite:///' + p), message='$(m)', autogenerate=True)"

benchmark: $(STAMP) postgres
	$(BIN)/python benchmarks/import_speed.py

# The web load benchmark drives the server with wrk (Debian package); install it when missing.
wrk:
	@if command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else echo "wrk missing: sudo apt-get install wrk"; exit 1; fi

benchmark-web: $(STAMP) postgres wrk
	$(BIN)/python benchmarks/web_load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
