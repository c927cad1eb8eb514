"""PostHogSavedQueryRefreshedTrigger against the emulator: one event per newly completed job, never twice.

The trigger runs as the triggerer runs it (its async generator, rebuilt from its serialised kwargs).
Airflow 3.3's asset state store is reached through the triggerer's supervisor, which a test has not:
``StateStore`` stands in for it with the same ``aget``/``aset`` interface; the real store is used in
the real-process suite (``tests/e2e/test_e2e_assets.py``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from saved_query_emulator import OWN_FAILURE
from structlog.testing import capture_logs

from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.triggers.saved_query_refreshes import PostHogSavedQueryRefreshedTrigger

VIEW = "daily_signups"
POLL = 0.1


class StateStore:
    """Airflow 3.3's per-asset state accessor, as the trigger uses it (JSON values by key)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)


@pytest.fixture
def materialized_view(posthog_conn: Any) -> dict[str, Any]:
    """A materialized view whose first refresh (started by materialize) has completed."""
    posthog_conn.configure(job_run_seconds=0)
    hook = PostHogHook()
    view = hook.create_saved_query(VIEW, "select count() as signups from persons")
    hook.materialize_saved_query(view["id"], sync_frequency="24hour")
    return view


def rebuilt(trigger: PostHogSavedQueryRefreshedTrigger, store: StateStore | None) -> Any:
    """The trigger as the triggerer makes it: from its classpath and serialised kwargs, state injected."""
    _, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain values only
    copy = PostHogSavedQueryRefreshedTrigger(**kwargs)
    copy.asset_state_store = store  # what Airflow 3.3's triggerer sets before run()
    return copy


class Watch:
    """Runs one trigger in the background and collects its events."""

    def __init__(self, trigger: Any) -> None:
        self.events: list[dict[str, Any]] = []
        self.task = asyncio.ensure_future(self._collect(trigger.run()))

    async def _collect(self, events: AsyncIterator[Any]) -> None:
        async for event in events:
            self.events.append(event.payload)

    async def settle(self, polls: int = 5) -> None:
        await asyncio.sleep(POLL * polls)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def make_trigger() -> PostHogSavedQueryRefreshedTrigger:
    return PostHogSavedQueryRefreshedTrigger(saved_query_name=VIEW, poll_interval=POLL)


async def test_one_event_per_scheduled_refresh_and_none_for_the_past(
    posthog_conn: Any, materialized_view: dict[str, Any]
) -> None:
    watch = Watch(rebuilt(make_trigger(), None))
    try:
        await watch.settle()
        assert watch.events == []  # the refresh that materialize started was before the watcher
        first = posthog_conn.refresh_on_schedule(VIEW)
        await watch.settle()
        assert [e["job_id"] for e in watch.events] == [first["id"]]
        assert watch.events[0] | {"rows_materialized": None} == {
            "saved_query_id": materialized_view["id"],
            "name": VIEW,
            "job_id": first["id"],
            "status": "Completed",
            "rows_materialized": None,
            "created_at": first["created_at"],
            "last_run_at": first["last_run_at"],
        }
        assert watch.events[0]["rows_materialized"] == first["rows_materialized"] > 0
        posthog_conn.refresh_on_schedule(VIEW, outcome="Failed")
        second = posthog_conn.refresh_on_schedule(VIEW)
        await watch.settle()
        assert [e["job_id"] for e in watch.events] == [first["id"], second["id"]]
    finally:
        await watch.stop()


async def test_a_suspended_view_is_logged_once_and_watching_goes_on(
    posthog_conn: Any, materialized_view: dict[str, Any]
) -> None:
    watch = Watch(rebuilt(make_trigger(), None))
    try:
        with capture_logs() as logs:
            await watch.settle()
            posthog_conn.configure(job_outcome="Failed", job_error=OWN_FAILURE)
            for _ in range(5):
                posthog_conn.refresh_on_schedule(VIEW, outcome="Failed")
            await watch.settle()
            assert posthog_conn.refresh_on_schedule(VIEW) == {"skipped": "Node is suspended for clickhouse"}
            await watch.settle()  # polls go on while it stays suspended: still one warning
            suspended = [entry for entry in logs if "No refresh of it will come" in str(entry["event"])]
            PostHogHook().resume_saved_query(materialized_view["id"])
            await watch.settle()
            resumed = posthog_conn.refresh_on_schedule(VIEW)
            await watch.settle()
        (warning,) = suspended
        assert warning["log_level"] == "warning"
        assert f"PostHog has suspended saved query {VIEW}" in str(warning) and OWN_FAILURE in str(warning)
        assert any("PostHog has resumed view" in str(entry["event"]) for entry in logs)
        assert [event["job_id"] for event in watch.events] == [resumed["id"]]  # it kept watching
    finally:
        await watch.stop()


async def test_explicit_runs_are_refreshes_too_and_count_when_they_complete(
    posthog_conn: Any, materialized_view: dict[str, Any]
) -> None:
    posthog_conn.configure(job_run_seconds=1.0)
    watch = Watch(rebuilt(make_trigger(), None))
    try:
        await watch.settle()
        PostHogHook().run_saved_query(materialized_view["id"])
        await watch.settle()
        assert watch.events == []  # still running
        await asyncio.sleep(1.2)
        await watch.settle()
        assert [e["status"] for e in watch.events] == ["Completed"]
    finally:
        await watch.stop()


async def test_a_restart_with_the_state_store_neither_repeats_nor_misses(
    posthog_conn: Any, materialized_view: dict[str, Any]
) -> None:
    store = StateStore()
    watch = Watch(rebuilt(make_trigger(), store))
    await watch.settle()
    first = posthog_conn.refresh_on_schedule(VIEW)
    await watch.settle()
    await watch.stop()  # the triggerer goes away ...
    missed = posthog_conn.refresh_on_schedule(VIEW)  # ... while PostHog refreshes the view
    restarted = Watch(rebuilt(make_trigger(), store))
    try:
        await restarted.settle()
        assert [e["job_id"] for e in watch.events] == [first["id"]]
        assert [e["job_id"] for e in restarted.events] == [missed["id"]]
    finally:
        await restarted.stop()


async def test_without_a_state_store_a_restart_starts_from_now(
    posthog_conn: Any, materialized_view: dict[str, Any]
) -> None:
    watch = Watch(rebuilt(make_trigger(), None))
    await watch.settle()
    first = posthog_conn.refresh_on_schedule(VIEW)
    await watch.settle()
    await watch.stop()
    posthog_conn.refresh_on_schedule(VIEW)  # missed: Airflow before 3.3 keeps no watermark
    restarted = Watch(rebuilt(make_trigger(), None))
    try:
        await restarted.settle()
        third = posthog_conn.refresh_on_schedule(VIEW)
        await restarted.settle()
        assert [e["job_id"] for e in watch.events] == [first["id"]]
        assert [e["job_id"] for e in restarted.events] == [third["id"]]
    finally:
        await restarted.stop()


async def test_a_view_created_later_and_an_outage_are_waited_out(posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=0)
    watch = Watch(rebuilt(make_trigger(), None))
    try:
        await watch.settle()
        hook = PostHogHook()
        view = hook.create_saved_query(VIEW, "select 1 as one")
        hook.materialize_saved_query(view["id"])
        await watch.settle()
        posthog_conn.add_fault(kind="status", status=503, path="data_modeling_jobs", times=20)
        job = posthog_conn.refresh_on_schedule(VIEW)
        await asyncio.sleep(1.5)
        posthog_conn.clear_faults()
        await watch.settle(10)
        job_ids = [e["job_id"] for e in watch.events]
        # the first refresh (by materialize) came after the watcher started: it counts too
        assert job_ids[-1] == job["id"] and len(job_ids) == len(set(job_ids)) == 2
    finally:
        await watch.stop()


def test_kwargs_are_stable_so_airflow_keeps_one_watcher() -> None:
    from airflow.triggers.base import BaseEventTrigger

    first = make_trigger().serialize()
    again = PostHogSavedQueryRefreshedTrigger(
        saved_query_name=VIEW, poll_interval=int(POLL * 10) / 10
    ).serialize()
    assert first == again
    assert BaseEventTrigger.hash(*first) == BaseEventTrigger.hash(*again)
    assert "api_key" not in json.dumps(first[1]) and "phx_" not in json.dumps(first[1])


def test_the_asset_state_store_holds_the_watermark_from_airflow_3_3_on() -> None:
    """Airflow 3.3 gives event triggers an asset state store; before it the watermark lives in memory
    and a restart starts from the newest job (``test_without_a_state_store_a_restart_starts_from_now``)."""
    from airflow_provider._compat import AIRFLOW_V_3_3_PLUS

    assert hasattr(make_trigger(), "asset_state_store") is AIRFLOW_V_3_3_PLUS
