"""Airflow's connection tests (in the api-server and on a worker) tell a good key from each kind of mistake.

Both run ``PostHogHook.test_connection()`` (one authenticated GET of the project) in real Airflow with
``[core] test_connection = Enabled``: the REST test in the api-server, the enqueued one in a task
process started by the scheduler's executor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from e2e_rest import AirflowREST

from airflow_provider.emulator import EmulatorClient

pytestmark = pytest.mark.e2e

WRONG_KEY = "phx_demo_not_a_key"
UNKNOWN_PROJECT = "999"


def connection(emulator: EmulatorClient, key: str, project_id: object) -> dict[str, Any]:
    """A PostHog connection body as the UI's form sends it.

    :param emulator: the emulator it points at.
    :param key: the personal API key.
    :param project_id: the ``project_id`` extra.
    """
    return {
        "connection_id": "posthog_connection_test",
        "conn_type": "posthog",
        "host": emulator.url,
        "password": key,
        "extra": json.dumps({"project_id": str(project_id)}),
    }


@pytest.fixture(params=["api_server", "worker"])
def connection_test(request: pytest.FixtureRequest, rest: AirflowREST) -> Callable[[dict[str, Any]], Any]:
    """Airflow's connection test, run in the api-server or enqueued for a worker."""
    return rest.test_connection if request.param == "api_server" else rest.test_connection_on_worker


def test_a_good_key_and_project_pass(
    connection_test: Callable[[dict[str, Any]], tuple[bool, str]], emulator: EmulatorClient
) -> None:
    ok, message = connection_test(connection(emulator, emulator.api_key, emulator.project_id))

    assert ok, message
    assert f"project {emulator.project_id}" in message
    assert [
        r["auth_present"] for r in emulator.requests("GET", rf"/api/projects/{emulator.project_id}/?$")
    ] == [True]


def test_a_wrong_key_fails_saying_the_key_is_wrong(
    connection_test: Callable[[dict[str, Any]], tuple[bool, str]], emulator: EmulatorClient
) -> None:
    ok, message = connection_test(connection(emulator, WRONG_KEY, emulator.project_id))

    assert not ok
    assert message.startswith("Wrong API key for this host/region."), message
    assert WRONG_KEY not in message


def test_a_wrong_project_fails_saying_the_project_was_not_found(
    connection_test: Callable[[dict[str, Any]], tuple[bool, str]], emulator: EmulatorClient
) -> None:
    ok, message = connection_test(connection(emulator, emulator.api_key, UNKNOWN_PROJECT))

    assert not ok
    assert message.startswith("Wrong project: the project was not found."), message


def test_a_key_missing_a_scope_fails_naming_the_scope(
    connection_test: Callable[[dict[str, Any]], tuple[bool, str]], emulator: EmulatorClient
) -> None:
    key = emulator.recordings_only_key  # session_recording:read only, so not project:read
    ok, message = connection_test(connection(emulator, key, emulator.project_id))

    assert not ok
    assert message.startswith("Missing scope"), message
    assert "'project:read'" in message
    assert key not in message


def test_a_key_without_access_to_the_project_fails_saying_so(
    connection_test: Callable[[dict[str, Any]], tuple[bool, str]], emulator: EmulatorClient
) -> None:
    # PostHog answers 403 permission_denied when the key's organisation cannot see the project.
    emulator.add_fault("GET", rf"/api/projects/{emulator.project_id}/?$", kind="status", status=403)

    ok, message = connection_test(connection(emulator, emulator.api_key, emulator.project_id))

    assert not ok
    assert message.startswith("No access to this project with this key."), message
