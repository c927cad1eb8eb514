"""A deferred saved-query run survives a triggerer restart: it finishes once, and PostHog ran it once."""

from __future__ import annotations

import e2e_routes as routes
import pytest
from e2e_rest import AirflowREST
from e2e_stack import AirflowStack
from helpers import wait_until

from airflow_provider.emulator import EmulatorClient

pytestmark = pytest.mark.e2e

DAG_ID = "posthog_saved_queries"


def test_deferred_run_finishes_once_after_the_triggerer_restarts(
    airflow: AirflowStack, rest: AirflowREST, emulator: EmulatorClient
) -> None:
    emulator.configure(job_run_seconds=25)
    run_id = rest.trigger(DAG_ID)
    rest.wait_for_task_state(DAG_ID, run_id, "run_view", "deferred")
    # The first read of the newest job is the operator's, before it asks for the run; then the triggerer's.
    wait_until(
        lambda: len(emulator.requests("GET", routes.DATA_MODELING_JOBS)) >= 2,
        timeout=60,
        what="the first triggerer to poll the run",
    )

    airflow.stop_component("triggerer")
    polls_while_down = len(emulator.requests("GET", routes.DATA_MODELING_JOBS))
    assert rest.task_states(DAG_ID, run_id)["run_view"] == "deferred"
    airflow.start_component("triggerer")

    assert rest.wait_for_run(DAG_ID, run_id) == "success"
    run_view = rest.task_instances(DAG_ID, run_id)["run_view"]
    assert run_view["state"] == "success"
    assert run_view["try_number"] == 1
    assert len(emulator.requests("POST", routes.SAVED_QUERY_RUN)) == 1
    assert len(emulator.requests("GET", routes.DATA_MODELING_JOBS)) > polls_while_down
    # Each triggerer that ran the trigger wrote its own log; the second one saw it fire.
    trigger_logs = airflow.trigger_log_files(DAG_ID, run_id, "run_view")
    assert len(trigger_logs) == 2
    assert "Trigger fired event" in trigger_logs[-1].read_text()
