"""The live suite: the checks of :mod:`live.live_checks` against a real PostHog project (``make live``).

The project comes from ``POSTHOG_LIVE_*`` variables (``tests/live/live_target.py``); without them both
tests skip on one line naming them. Read-only unless ``POSTHOG_LIVE_WRITE=1``. Never part of
``make test`` or CI (marker ``live``). How, when and at what cost to run it: docs/live.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from integration.dag_test_runs import run_dag, task_states
from live.live_checks import new_run_name, remove_leftovers
from live.live_dags import read_only_dag, write_dag
from live.live_target import CONN_ID, LiveTarget

from airflow_provider.hooks.posthog import PostHogHook

#: PostHog runs a saved query in a Temporal workflow: tens of seconds, minutes when it is busy.
POLL_SECONDS = 10.0
RUN_TIMEOUT = 15 * 60.0

# Module-wide marks, not decorators: pytest then folds the two skips into one report line.
pytestmark = [pytest.mark.live, pytest.mark.timeout(RUN_TIMEOUT + 10 * 60)]


def test_read_only_checks(live_target: LiveTarget, airflow_db: Path) -> None:
    dag_run = run_dag(read_only_dag(CONN_ID))

    assert str(dag_run.state) == "success", task_states(dag_run)


def test_write_checks(live_target: LiveTarget, airflow_db: Path) -> None:
    if not live_target.write or live_target.insight_id is None:
        pytest.skip(
            "write checks not run: set POSTHOG_LIVE_WRITE=1 and POSTHOG_LIVE_INSIGHT_ID (an insight's "
            "numeric id) to create, run and remove a saved query and a paused subscription (see docs/live.md)"
        )
    run_name = new_run_name()
    dag = write_dag(
        CONN_ID, run_name, live_target.insight_id, poll_seconds=POLL_SECONDS, run_timeout=RUN_TIMEOUT
    )
    try:
        dag_run = run_dag(dag)
    finally:
        left = remove_leftovers(PostHogHook(posthog_conn_id=CONN_ID), run_name)

    assert left == [], f"The teardowns left these behind (removed now): {left}"
    assert str(dag_run.state) == "success", task_states(dag_run)
