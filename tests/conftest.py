"""Fixtures shared by every test: a private Airflow home, the emulator on loopback, a connection to it.

Airflow reads its configuration when first imported, so the environment is set here, before any
test module imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="posthog-provider-tests-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "example_dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ.pop("AIRFLOW_CONN_POSTHOG_DEFAULT", None)
# The OpenLineage provider (in the dev extra) forks a process for each task event; forked from this
# process, which serves the emulator from a thread, that stalls the emulator. It is off here; the
# lineage tests run their tasks in a subprocess with it on (tests/integration/openlineage_runs.py).
os.environ["AIRFLOW__OPENLINEAGE__DISABLED"] = "true"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata database in the private Airflow home (needed by ``dag.test()``)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Any]:
    """One emulator with the demo seed on a free loopback port for the whole run."""
    from airflow_provider.emulator import run_emulator

    with run_emulator(seed="demo") as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_server: Any) -> Iterator[Any]:
    """The shared emulator, reset to its seed (state, faults, request log, config) for this test.

    The process gets a fresh client-side rate limiter too, as the emulator's throttle forgets earlier
    tests' requests: each test starts with a whole budget.
    """
    from airflow_provider.api.ratelimit import RateLimiter, install_process_limiter

    install_process_limiter(RateLimiter())
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def posthog_conn(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``posthog_default`` pointing at the emulator with its all-scopes key, as an env var connection."""
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", emulator.airflow_conn_json())
    return emulator
