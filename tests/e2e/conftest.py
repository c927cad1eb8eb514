"""One real Airflow 3 (api-server, scheduler, dag-processor, triggerer) and one emulator for the session.

Every test module here sets ``pytestmark = pytest.mark.e2e``: ``make e2e`` runs them, ``make test`` leaves
them out. When a test fails, the components' output and all task logs are kept under ``artifacts/e2e/``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from e2e_artifacts import PHASE_REPORTS, keep_airflow_logs
from e2e_rest import AirflowREST
from e2e_stack import ADMIN_PASSWORD, ADMIN_USER, AirflowStack

from airflow_provider.emulator import EmulatorClient

AFTER_ALL_RUNS = "after_all_runs"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of tests that must see every other test's DAG runs."""
    config.addinivalue_line(
        "markers", f"{AFTER_ALL_RUNS}: run after every other test (e.g. to scan all logs)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the tests marked ``after_all_runs`` to the end, keeping the order of the rest."""
    items.sort(key=lambda item: item.get_closest_marker(AFTER_ALL_RUNS) is not None)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so a fixture's teardown can tell the test failed."""
    report = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def airflow(request: pytest.FixtureRequest) -> Iterator[AirflowStack]:
    """Airflow's four components and the emulator, running for the whole session."""
    home = Path(tempfile.mkdtemp(prefix="posthog-e2e-"))
    stack = AirflowStack(home)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        if request.session.testsfailed:
            print(f"\nAirflow logs kept in {keep_airflow_logs(home)}")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def rest(airflow: AirflowStack) -> AirflowREST:
    """The api-server's REST API, logged in as the admin."""
    return AirflowREST(airflow.url, ADMIN_USER, ADMIN_PASSWORD)


@pytest.fixture
def emulator(airflow: AirflowStack) -> Iterator[EmulatorClient]:
    """The stack's emulator (another process), back at its seed with an empty request log and no faults."""
    airflow.emulator.reset()
    yield airflow.emulator
    airflow.emulator.reset()
