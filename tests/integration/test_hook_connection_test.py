"""The hook's connection test (Airflow's "Test" button) and the connection the emulator hands out,
over real HTTP against the emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider.hooks.posthog import PostHogHook


def test_connection_test_succeeds_and_tells_a_wrong_key_and_project_apart(
    hook: PostHogHook, posthog_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message = hook.test_connection()
    assert ok, message
    assert f"project {posthog_conn.project_id}" in message
    assert [(r["method"], r["path"]) for r in posthog_conn.requests()] == [
        ("GET", f"/api/projects/{posthog_conn.project_id}/")
    ]

    assert PostHogHook(project_id=999).test_connection()[1].startswith("Wrong project")
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", posthog_conn.airflow_conn_json(key="phx_demo_unknown"))
    ok, message = PostHogHook().test_connection()
    assert not ok
    assert message.startswith("Wrong API key for this host/region")


def test_connection_test_names_the_scope_a_key_is_missing(
    posthog_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", posthog_conn.airflow_conn_json(key=posthog_conn.recordings_only_key)
    )
    ok, message = PostHogHook().test_connection()
    assert not ok
    assert message.startswith("Missing scope"), message
    assert "'project:read'" in message
    assert posthog_conn.recordings_only_key not in message


def test_emulator_connection_json_is_what_the_hook_reads(posthog_conn: Any) -> None:
    conn = json.loads(posthog_conn.airflow_conn_json())
    config = PostHogHook().get_conn().config
    assert config.host == conn["host"]
    assert config.project_id == str(posthog_conn.project_id)
