# twostep: `make run` serves the demo on SQLite, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-deps postgres-up lint migrate demo worker bench bench-deps bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput -v0

demo: migrate
	$(BIN)/python manage.py seed_demo

# The worker, started again whenever it fails or is killed; it exits 0 only when asked to
# stop (SIGINT, SIGTERM). In production a supervisor does this (README, "Production").
WORKER_FOREVER := until $(BIN)/python manage.py worker --loop; do \
	echo "worker exited (status $$?); restarting in 5 s" >&2; sleep 5; done

# Serves the app with the mail worker beside it; Ctrl-C stops both.
run: demo
	@echo "Serving http://localhost:$(PORT)/  (emails are printed here by the worker)"
	@echo "(http://$(HOST):$(PORT)/ works too, except for security keys and passkeys:"
	@echo " browsers refuse WebAuthn on an IP address)"
	@export TWOSTEP_SITE_URL="$${TWOSTEP_SITE_URL:-http://localhost:$(PORT)}"; \
	trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	( $(WORKER_FOREVER) ) & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: migrate
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; $(WORKER_FOREVER)

lint: install
	$(BIN)/ruff check twostep tests bench
	$(BIN)/ruff format --check twostep tests bench
	$(BIN)/mypy twostep

# The Debian packages the tests drive: Chromium (browser tests), oathtool (the phone's app),
# a font for screenshots. Installed when we are root with apt-get; otherwise named, and the
# run stops: a browser test that skipped would pass as green and prove nothing.
test-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v oathtool >/dev/null || missing="$$missing oathtool"; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing the Debian packages the tests need:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "make test needs these Debian packages:$$missing"; \
	    echo "Install them (sudo apt-get install$$missing), then run make test again."; \
	    exit 1; \
	  fi; \
	fi

# PostgreSQL on 127.0.0.1:5432: started if this machine has a cluster that is down.
postgres-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || ! command -v pg_ctlcluster >/dev/null || \
	  pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | sort -V | tail -1)" main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
	  (echo "make test needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth)"; exit 1)

# The whole suite on the database DATABASE_URL names (SQLite by default). On SQLite, a second
# pass runs the tests only PostgreSQL can stage (marked `postgres`) on TEST_POSTGRES_URL.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
test: lint test-deps postgres-up
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@case "$${DATABASE_URL:-}" in postgres*) ;; *) \
	  echo "=== the tests that need PostgreSQL, on $(TEST_POSTGRES_URL) ==="; \
	  DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/python -m pytest -m postgres -p no:cacheprovider $(PYTEST_ARGS);; \
	esac

# Benchmarks: PostgreSQL must run (started here if it is down) and wrk must be installed.
bench-deps: install postgres-up
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

bench: bench-deps
	$(BIN)/python bench/run.py

bench-quick: bench-deps
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) var bench/.peer-venv bench/out
