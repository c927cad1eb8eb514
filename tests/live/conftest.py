"""The live suite's skip and connection: without the ``POSTHOG_LIVE_*`` variables every ``live`` test
is skipped, reported on one line that names them (pytest's own "skip unless configured" pattern), so
``make live`` exits 0 on a machine that has no PostHog project.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from live.live_target import CONN_ID, LiveTarget, missing_variables


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = missing_variables(os.environ)
    if not missing:
        return
    skip = pytest.mark.skip(
        reason=f"live suite not run: set {', '.join(missing)} to name the PostHog project (see docs/live.md)"
    )
    for item in items:
        if item.get_closest_marker("live"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def live_target() -> Iterator[LiveTarget]:
    """The project, reachable as the Airflow connection :data:`CONN_ID` while the module's tests run."""
    target = LiveTarget.from_environ(os.environ)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", target.connection_json())
        yield target
