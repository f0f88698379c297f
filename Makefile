# Marketline: `make run` for the demo, `make test` for the whole suite, `make bench` for speed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HTMX   := core/web/static/vendor/htmx.min.js
PORT   ?= 5000

.PHONY: install assets run test test-sqlite test-pg chromium bench seed-large clean

install: $(STAMP) $(HTMX)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Front-end assets come from npm and are copied, never committed.
$(HTMX): package.json
	npm install --no-audit --no-fund --loglevel=error
	mkdir -p core/web/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

instance:
	mkdir -p instance

run: install instance
	$(BIN)/flask --app wsgi migrate
	$(BIN)/flask --app wsgi seed --if-empty
	@echo "Storefront: http://127.0.0.1:$(PORT)/   Console: http://127.0.0.1:$(PORT)/agent/   (Ctrl-C stops)"
	@bash -c 'trap "trap - INT TERM EXIT; kill 0" INT TERM EXIT; \
	  TMPDIR=$(CURDIR)/instance $(BIN)/localstripe --port 8420 >instance/localstripe.log 2>&1 & \
	  PORT=$(PORT) SHOP_URL=$${SHOP_URL:-http://127.0.0.1:$(PORT)} $(BIN)/python wsgi.py'

# Debian packages the tests use: Chromium for e2e, pdftotext to read invoice PDFs.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }
	@command -v pdftotext >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq poppler-utils; }

# The import contracts first (pyproject.toml [tool.importlinter]: Flask only in core/web, core's
# layers), then the whole suite on SQLite; again on PostgreSQL when TEST_DATABASE_URL is set. Two
# test processes (pytest-xdist), one per core; TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
test: install chromium
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL ($$TEST_DATABASE_URL) =="; \
	  $(BIN)/python -m pytest -n $(TEST_WORKERS) --db=postgresql tests/unit tests/web tests/pg; \
	else echo "TEST_DATABASE_URL is not set: the PostgreSQL run was skipped."; fi

bench: install
	$(BIN)/python -m bench.run

seed-large: install instance
	$(BIN)/flask --app wsgi migrate
	$(BIN)/flask --app wsgi seed --scale large

clean:
	rm -rf $(VENV) node_modules core/web/static/vendor instance/marketline.db*

# `make bench` with two app servers (and two ceilings) over one database, a Celery worker on
# Redis (redis://127.0.0.1:6379/5, flushed first; BENCH_REDIS_URL), the load split over both,
# shoppers hopping servers, the database and the queue checked after the orders (bench.run).
.PHONY: bench-two
bench-two: install
	BENCH_SERVERS=2 $(BIN)/python -m bench.run
