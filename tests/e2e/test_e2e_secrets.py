"""The personal API key appears nowhere Airflow keeps things: logs, XCom, rendered fields, trigger rows.

Runs after every other end-to-end test (marker ``after_all_runs``) so it searches what all of their DAG
runs, connection tests and UI actions left behind, and starts one deferred run of its own so that the
metadata database holds a live trigger row to check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import e2e_routes as routes
import pytest
from e2e_rest import AirflowREST
from e2e_secrets import files_containing, trigger_rows
from e2e_stack import FERNET_KEY, AirflowStack
from helpers import wait_until

from airflow_provider.emulator import EmulatorClient

pytestmark = [pytest.mark.e2e, pytest.mark.after_all_runs]

DAG_ID = "posthog_saved_queries"


@pytest.fixture
def keys(emulator: EmulatorClient) -> list[str]:
    """The emulator's personal API keys, as they would have to appear if leaked."""
    return [emulator.api_key, emulator.read_only_key]


@pytest.fixture
def deferred_run(airflow: AirflowStack, rest: AirflowREST, emulator: EmulatorClient) -> Iterator[str]:
    """A saved-query run waiting in the triggerer; it is marked failed (killed) after the test."""
    emulator.configure(job_run_seconds=300)
    run_id = rest.trigger(DAG_ID)
    rest.wait_for_task_state(DAG_ID, run_id, "run_view", "deferred")
    wait_until(
        lambda: emulator.requests("GET", routes.DATA_MODELING_JOBS), timeout=60, what="the trigger to poll"
    )
    yield run_id
    rest.mark_task(DAG_ID, run_id, "run_view", "failed")


def test_trigger_rows_hold_no_key_as_stored_or_decrypted(
    airflow: AirflowStack, deferred_run: str, keys: list[str]
) -> None:
    rows = trigger_rows(airflow.db_path, FERNET_KEY)

    ours = [row for row in rows if row["classpath"].startswith("airflow_provider.")]
    assert ours, f"no trigger of ours in the database: {rows}"
    assert any("posthog_default" in json.dumps(row["plain"]) for row in ours), "decryption gave no kwargs"
    for row in rows:
        for key in keys:
            assert key not in row["stored"]
            assert key not in json.dumps(row["plain"])


def test_no_task_trigger_or_component_log_holds_a_key(airflow: AirflowStack, keys: list[str]) -> None:
    searched, hits = files_containing(airflow.home / "logs", keys)
    trigger_logs = list((airflow.home / "logs").rglob("*.log.trigger.*.log"))

    assert searched > 0 and trigger_logs, "no task or trigger logs to search"
    assert hits == []
    # The emulator prints its demo keys on start; it stands for PostHog, not for Airflow.
    airflow_output = [
        path for path in files_containing(airflow.component_logs, keys)[1] if "emulator" not in path
    ]
    assert airflow_output == []


def test_no_xcom_value_holds_a_key(rest: AirflowREST, keys: list[str]) -> None:
    entries = rest.paged("/dags/~/dagRuns/~/taskInstances/~/xcomEntries", "xcom_entries")
    assert entries, "no XCom to search"

    for entry in entries:
        value = rest.call(
            "GET",
            f"/dags/{entry['dag_id']}/dagRuns/{quote(entry['run_id'])}/taskInstances/{entry['task_id']}"
            f"/xcomEntries/{entry['key']}",
            params={"map_index": entry["map_index"]},
        )
        for key in keys:
            assert key not in json.dumps(value), entry


def test_no_rendered_template_field_holds_a_key(rest: AirflowREST, keys: list[str]) -> None:
    task_instances = rest.paged("/dags/~/dagRuns/~/taskInstances", "task_instances")
    rendered = [ti["rendered_fields"] for ti in task_instances if ti.get("rendered_fields")]
    assert rendered, "no rendered fields to search"

    for fields in rendered:
        for key in keys:
            assert key not in json.dumps(fields)
