# `make demo` and `make test` each create .venv and install what they need, pinned by the default
# cell's constraints file (Airflow 3.3 on Python 3.11). `make matrix` runs every supported cell.
HOST_PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
CONSTRAINTS := constraints/airflow-3.3-py3.11.txt
STAMP := $(VENV)/.installed-stamp
# `make matrix AIRFLOW=3.1 PYTHON=3.10` narrows the matrix; empty means every line / every Python.
# `make matrix CELLS=edges` runs each line on its oldest and newest Python only; `CELLS=diagonal` (what CI
# runs) each line once on a different Python, so that with `make test` every line and Python is run;
# `JOBS=2` runs two cells at once (each keeps about one core busy).
AIRFLOW ?=
PYTHON ?=
CELLS ?= all
JOBS ?= 1

.PHONY: install lint test e2e live demo matrix lock clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(HOST_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	UV_PYTHON_DOWNLOADS=never $(UV) pip install --quiet --python $(PY) -c $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The shared rate-budget tests start a Redis server (Debian's; installed when missing).
test: lint
	bash scripts/install-services.sh redis
	$(VENV)/bin/pytest -m "not e2e and not live"

# Real Airflow processes (api-server, scheduler, dag-processor, triggerer) and headless Chromium, then
# the same on the CeleryExecutor with two workers, PostgreSQL and Redis (Debian's, started by the tests).
e2e: install
	bash scripts/install-chromium.sh
	bash scripts/install-services.sh
	$(VENV)/bin/pytest -m e2e tests/e2e

# The system tests against a real PostHog project named by POSTHOG_LIVE_* variables (docs/live.md);
# without them it skips. Never part of `make test` or CI.
live: install
	$(VENV)/bin/pytest -m live tests/live

demo: install
	$(PY) scripts/demo.py

# Each Airflow line on each Python it supports, in .venvs/<cell>: the suites and every example DAG.
matrix: install
	$(PY) scripts/matrix.py run --airflow "$(AIRFLOW)" --python "$(PYTHON)" --cells $(CELLS) --jobs $(JOBS)

# Re-resolve constraints/airflow-<line>-py<python>.txt (keeps the pins that still fit).
lock: install
	$(PY) scripts/matrix.py lock --airflow "$(AIRFLOW)" --python "$(PYTHON)"

clean:
	rm -rf $(VENV) .venvs .mypy_cache .ruff_cache .pytest_cache
