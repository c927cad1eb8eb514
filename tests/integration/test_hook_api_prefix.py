"""The hook and the API prefix over real HTTP: PostHog's 307 from the alias is followed for reads and
refused for creates, and the alias's deprecation is logged once (docs/connection.md, ``api_prefix``)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from subscription_body import SUBSCRIPTION

from airflow_provider.api.errors import PostHogAPIError
from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook


@pytest.fixture(scope="module")
def own_emulator() -> Iterator[Any]:
    """An emulator of this module's own: its address is new to the process, so the deprecation
    warnings (remembered per host and path family for the life of the process) start unsaid."""
    from airflow_provider.emulator import run_emulator

    with run_emulator(seed="demo") as emulator:
        yield emulator


@pytest.fixture
def alias_conn(own_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``posthog_default`` on the emulator with ``api_prefix`` set to the older ``environments``."""
    own_emulator.reset()
    connection = json.loads(own_emulator.airflow_conn_json())
    connection["extra"]["api_prefix"] = "environments"
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(connection))
    yield own_emulator
    own_emulator.reset()


def test_the_environments_extra_sends_there_and_the_deprecation_is_logged_once(
    alias_conn: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider.api")
    hook = PostHogHook()
    try:
        # data_modeling_jobs: a path family no other test of this module touches (warned once per process).
        for _ in range(3):
            assert list(hook.list_data_modeling_jobs()) == []
    finally:
        hook.close()

    project = alias_conn.project_id
    assert {entry["path"] for entry in alias_conn.requests(method="GET")} == {
        f"/api/environments/{project}/data_modeling_jobs/"
    }
    warnings = [record.getMessage() for record in caplog.records if "deprecated" in record.getMessage()]
    assert len(warnings) == 1
    assert "/api/environments/:id/data_modeling_jobs/" in warnings[0]
    assert "2026-07-31" in warnings[0]
    assert f"/api/projects/{project}/data_modeling_jobs/" in warnings[0]
    assert alias_conn.api_key not in caplog.text


def test_in_the_redirect_period_reads_follow_the_307_and_a_create_is_refused_once(alias_conn: Any) -> None:
    alias_conn.configure(environments_redirect=True)
    project = alias_conn.project_id
    hook = PostHogHook()
    try:
        assert [s["id"] for s in hook.list_subscriptions()] == []
        with pytest.raises(PostHogAPIError) as refused:
            hook.create_subscription(**SUBSCRIPTION)
    finally:
        hook.close()

    listing = alias_conn.requests(method="GET", path="subscriptions")
    assert [(entry["path"], entry["status"]) for entry in listing] == [
        (f"/api/environments/{project}/subscriptions/", 307),
        (f"/api/projects/{project}/subscriptions/", 200),
    ]
    assert all(entry["auth_present"] for entry in listing)
    assert refused.value.status == 307
    assert "'api_prefix'" in str(refused.value) and "was not re-sent" in str(refused.value)
    assert [entry["status"] for entry in alias_conn.requests(method="POST")] == [307]
    assert alias_conn.counts()["subscriptions"] == 0


def test_the_triggerers_client_follows_the_same_redirects(alias_conn: Any) -> None:
    alias_conn.configure(environments_redirect=True)

    async def views() -> list[dict[str, Any]]:
        async with PostHogAsyncHook() as hook:
            return [view async for view in hook.list_saved_queries()]

    assert len(asyncio.run(views())) == 2
    assert [entry["status"] for entry in alias_conn.requests(method="GET")] == [307, 200]
