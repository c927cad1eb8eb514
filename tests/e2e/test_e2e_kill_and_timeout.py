"""A deferred saved-query run that is killed, or passes its deadline, asks PostHog to cancel it.

PostHog (and the emulator, by default) refuses cancels from personal API keys with 403; the task's log
must then say clearly that the run goes on in PostHog.
"""

from __future__ import annotations

import e2e_routes as routes
import pytest
from e2e_rest import AirflowREST
from e2e_stack import AirflowStack
from helpers import wait_until

from airflow_provider.emulator import EmulatorClient

pytestmark = pytest.mark.e2e

REFUSED_CANCEL = "PostHog does not let personal API keys cancel runs, so the run goes on in PostHog"


def test_marking_a_deferred_run_failed_asks_posthog_to_cancel_and_logs_the_refusal(
    airflow: AirflowStack, rest: AirflowREST, emulator: EmulatorClient
) -> None:
    dag_id = "posthog_saved_queries"
    emulator.configure(job_run_seconds=300)
    run_id = rest.trigger(dag_id)
    rest.wait_for_task_state(dag_id, run_id, "run_view", "deferred")
    # The first read of the newest job is the operator's, before it asks for the run; then the triggerer's.
    wait_until(
        lambda: len(emulator.requests("GET", routes.DATA_MODELING_JOBS)) >= 2,
        timeout=60,
        what="the triggerer to poll the run",
    )

    rest.mark_task(dag_id, run_id, "run_view", "failed")

    cancels = wait_until(
        lambda: emulator.requests("POST", routes.SAVED_QUERY_CANCEL), timeout=60, what="a cancel request"
    )
    assert len(cancels) == 1
    assert cancels[0]["status"] == 403
    wait_until(
        lambda: any(
            REFUSED_CANCEL in path.read_text()
            for path in airflow.trigger_log_files(dag_id, run_id, "run_view")
        ),
        timeout=60,
        what="the refused cancel to be logged",
    )
    assert REFUSED_CANCEL in rest.task_log(dag_id, run_id, "run_view")
    assert rest.task_states(dag_id, run_id)["run_view"] == "failed"


def test_a_run_past_its_deadline_fails_and_asks_posthog_to_cancel(
    rest: AirflowREST, emulator: EmulatorClient
) -> None:
    dag_id = "e2e_saved_query_deadline"
    emulator.configure(job_run_seconds=300)
    run_id = rest.trigger(dag_id)

    watch = rest.watch_runs({dag_id: run_id})[dag_id]

    assert watch.state == "failed"
    assert "deferred" in watch.seen["run_view"]
    assert rest.task_states(dag_id, run_id)["run_view"] == "failed"
    cancels = emulator.requests("POST", routes.SAVED_QUERY_CANCEL)
    assert len(cancels) == 1
    assert cancels[0]["status"] == 403
    log = rest.task_log(dag_id, run_id, "run_view")
    assert "had not ended by its deadline" in log
    assert REFUSED_CANCEL in log
