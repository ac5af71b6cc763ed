# Two commands: `make run` (the product, embedded defaults) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The test suite runs against real PostgreSQL and Redis (started by .ci/services if they are down), then
# again on SQLite — the database of `make run` — minus the tests marked postgres_only (PostgreSQL features)
# and those that run once, in the PostgreSQL pass: postgres_pass_only (independent of the test database, or a
# slow real-MLflow integration whose database side other tests cover on both). The SQLite test database
# is a file (test_<name> beside this one), so the Celery workers that tests start share it.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/registry_governance
TEST_SQLITE_DATABASE_URL ?= sqlite:///$(CURDIR)/var/registry-tests.sqlite3
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Browser and real-MLflow tests run on both: the pages a `make run` user sees sit on SQLite.
SQLITE_PASS_SKIPS := not postgres_only and not postgres_pass_only
# Each pass runs on TEST_WORKERS pytest-xdist processes (2: the machine's cores), each test sent to whichever is
# free; TEST_WORKERS=0 runs in one process, one test after the other, in collection order. A worker has its own
# test database (pytest-django suffixes the name: test_<name>_gw0, ...; the SQLite file too), MEDIA_ROOT and
# temporary directories; Celery queues are per test; the fault suite's scenarios take turns through a lock
# (tests/faults/conftest.py). Measured 2026-12-01 on a clean clone: `make test` 17 min 20 s with 2 workers
# (PostgreSQL pass 10 min 18 s, SQLite 4 min 54 s), about 27 min with 0 (14 min 20 s and 6 min 40 s).
TEST_WORKERS ?= 2
PYTEST_XDIST := -n $(TEST_WORKERS)

.PHONY: run test test-postgres test-sqlite venv services lint typecheck bench-firstview bench-sync bench-webhook bench-pages bench-audit bench-compare bench-cards bench-promotion bench-lineage bench-packaging bench-load bench-reconcile clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,demo,torch,tensorflow,boosting]'
	@touch $@

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py devstack

services:
	bash .ci/services

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# mypy --strict on the pure modules listed in pyproject's [tool.mypy] (gates, policy parsing, card sections,
# rendering and completeness, the chart builders).
typecheck: venv
	$(VENV)/bin/mypy

test: venv services
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(MAKE) --no-print-directory typecheck
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory test-postgres test-sqlite

test-postgres: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

test-sqlite: venv services
	@mkdir -p var
	DATABASE_URL=$(TEST_SQLITE_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest $(PYTEST_XDIST) -m "$(SQLITE_PASS_SKIPS)" $(PYTEST_ARGS)

bench-firstview: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/firstview.py $(BENCH_ARGS)

bench-sync: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/sync.py $(BENCH_ARGS)

bench-webhook: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/webhook.py $(BENCH_ARGS)

bench-pages: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/pages.py $(BENCH_ARGS)

bench-audit: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/audit.py $(BENCH_ARGS)

bench-compare: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/compare.py $(BENCH_ARGS)

bench-cards: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/cards.py $(BENCH_ARGS)

bench-promotion: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/promotion.py $(BENCH_ARGS)

bench-lineage: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/lineage.py $(BENCH_ARGS)

# locust (50 users, 2 minutes) against gunicorn, two Celery workers, Redis, PostgreSQL and a real mlflow server;
# a mirror of 500 models and 10,000 versions (bench/load_world.py says what is real and what is bulk-written).
bench-load: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/load.py $(BENCH_ARGS)

bench-reconcile: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/reconcile.py $(BENCH_ARGS)

# No database, no MLflow server: a forest converted and validated in the sandbox, and hashing against sha256sum.
bench-packaging: venv
	$(PY) bench/packages.py $(BENCH_ARGS)

# Every bench-* target above, one after the other, judged and written to docs/performance.md (bench/report.py):
# `make bench-report BENCH_ARGS="--quick"` for each one's quick arguments, `--only pages,audit` for some.
bench-report: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) VENV=$(VENV) $(PY) bench/report.py $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache
