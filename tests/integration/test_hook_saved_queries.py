"""The hook's saved-query (warehouse view) methods, sync and async, over real HTTP against the
emulator, asserting on what it saw and holds."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from helpers import wait_until
from structlog.testing import capture_logs

from airflow_provider.api.errors import PostHogConfigError, PostHogPermissionError, PostHogValidationError
from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook


def test_saved_query_lifecycle_runs_and_jobs(hook: PostHogHook, posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=0.2)
    created = hook.create_saved_query("airflow_test_view", "select event from events limit 10")
    view = created["id"]
    again = hook.create_saved_query("airflow_test_view", "select 2", soft_update=True)
    assert again["id"] == view, "POST is an upsert by name"
    assert hook.get_saved_query(view)["query"]["query"] == "select 2"
    hook.update_saved_query(view, query="select 3", soft_update=True)

    assert hook.run_saved_query(view) is None
    jobs = list(hook.list_data_modeling_jobs(saved_query_id=view))
    assert len(jobs) == 1
    assert jobs[0]["saved_query_id"] == view
    with pytest.raises(PostHogPermissionError, match="personal API key"):
        hook.cancel_saved_query(view)

    hook.materialize_saved_query(view, sync_frequency="24hour")
    assert hook.get_saved_query(view)["is_materialized"] is True
    hook.revert_saved_query_materialization(view)
    assert hook.get_saved_query(view)["is_materialized"] is False
    assert isinstance(hook.get_saved_query_run_history(view), list)
    hook.delete_saved_query(view)
    assert view not in {q["id"] for q in hook.list_saved_queries()}


def test_every_saved_query_page_is_walked(hook: PostHogHook, posthog_conn: Any) -> None:
    posthog_conn.configure(saved_query_page_size=1)
    names = [query["name"] for query in hook.list_saved_queries()]
    assert len(names) == posthog_conn.counts()["saved_queries"] == 2
    assert len(posthog_conn.requests(method="GET", path=r"/warehouse_saved_queries/?$")) == 2


def test_every_job_page_is_walked_by_limit_and_offset(hook: PostHogHook, posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=0)  # each run ends at once, so the next one starts a job
    view = next(iter(hook.list_saved_queries()))["id"]
    for _ in range(3):
        hook.run_saved_query(view)
    jobs = list(hook.list_data_modeling_jobs(saved_query_id=view, page_size=2))
    assert len(jobs) == 3
    created = [job["created_at"] for job in jobs]
    assert created == sorted(created, reverse=True), "newest first"
    polls = posthog_conn.requests(method="GET", path=r"/data_modeling_jobs/?$")
    assert len(polls) == 2
    assert polls[1]["query"].get("offset") == "2"


def test_description_and_incremental_reach_posthog_on_create_and_update(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    incremental = {"enabled": True, "incremental_key": "day", "unique_key": ["day"]}
    created = hook.create_saved_query(
        "daily_signups",
        "select toDate(timestamp) as day from events",
        description="Signups",
        incremental=incremental,
    )
    hook.update_saved_query(created["id"], description="Signups a day")
    (post,) = posthog_conn.requests(method="POST", path=r"/warehouse_saved_queries/?$")
    assert (post["body"]["description"], post["body"]["incremental"]) == ("Signups", incremental)
    (patch,) = posthog_conn.requests(method="PATCH", path="warehouse_saved_queries")
    assert patch["body"] == {"description": "Signups a day"}
    stored = hook.get_saved_query(created["id"])
    assert (stored["description"], stored["incremental"]["incremental_key"]) == ("Signups a day", "day")


def test_a_403_on_data_modeling_jobs_says_older_posthog_closes_them_to_personal_keys(
    hook: PostHogHook, posthog_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    posthog_conn.add_fault(method="GET", path="data_modeling_jobs", kind="status", status=403)
    with pytest.raises(PostHogPermissionError) as refused:
        list(hook.list_data_modeling_jobs())
    assert refused.value.status == 403
    assert "closes data-modeling jobs to personal API keys" in str(refused.value)
    assert "Upgrade PostHog" in str(refused.value)
    assert len(posthog_conn.requests(method="GET", path="data_modeling_jobs")) == 1  # never retried
    # A key that only lacks the scope is told to add it, not to upgrade.
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", posthog_conn.airflow_conn_json(key=posthog_conn.recordings_only_key)
    )
    with pytest.raises(PostHogPermissionError) as scoped:
        list(PostHogHook().list_data_modeling_jobs())
    assert "Add the scope 'warehouse_view:read'" in str(scoped.value)
    assert "Upgrade PostHog" not in str(scoped.value)


def test_materialize_refuses_never_before_sending_and_warns_when_posthog_will_raise_the_frequency(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    view = next(iter(hook.list_saved_queries()))["id"]
    with pytest.raises(
        PostHogConfigError, match=r"^sync_frequency must be one of .*; got 'never'\. .*revert"
    ):
        hook.materialize_saved_query(view, sync_frequency="never")
    assert posthog_conn.requests(method="POST") == []

    with capture_logs() as logs:
        hook.materialize_saved_query(view, sync_frequency="5min")
    assert hook.get_saved_query(view)["sync_frequency"] == "15min"
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1 and "'5min' will be stored as '15min'" in str(warnings[0])


def test_async_hook_reads_runs_and_pages_jobs(hook: PostHogHook, posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=0)  # each run ends at once, so the next one starts a job
    view_id = next(iter(hook.list_saved_queries()))["id"]

    async def scenario() -> tuple[bool, str, int, str]:
        async with PostHogAsyncHook() as async_hook:
            ok, _ = await async_hook.test_connection()
            view = await async_hook.get_saved_query(view_id)
            await async_hook.run_saved_query(view["id"])
            await async_hook.run_saved_query(view["id"])
            jobs = [job async for job in async_hook.list_data_modeling_jobs(view["id"], page_size=1)]
            try:
                await async_hook.cancel_saved_query(view["id"])
            except PostHogPermissionError as exc:
                refused = str(exc)
            return ok, view["name"], len(jobs), refused

    ok, name, job_count, refused = asyncio.run(scenario())
    assert ok
    assert name
    assert job_count == 2
    assert "personal API key" in refused
    assert len(posthog_conn.requests(method="GET", path=r"/data_modeling_jobs/?$")) == 2


def test_update_saved_query_sends_the_views_history_id_so_a_new_query_is_taken(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    view = hook.create_saved_query("airflow_update_view", "select 1")
    updated = hook.update_saved_query(view["id"], query="select 2")
    assert updated["query"]["query"] == "select 2"
    (patch,) = posthog_conn.requests(method="PATCH")
    assert patch["body"]["edited_history_id"] == view["latest_history_id"]


def test_an_edit_between_the_read_and_the_write_is_refused_not_overwritten(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    view = hook.create_saved_query("airflow_update_view", "select 1")
    posthog_conn.add_fault(method="PATCH", path="warehouse_saved_queries", kind="delay", delay=1.0, times=1)
    failures: list[BaseException] = []

    def ours() -> None:
        try:
            PostHogHook().update_saved_query(view["id"], query="select 'ours'")
        except BaseException as error:
            failures.append(error)

    worker = threading.Thread(target=ours)
    worker.start()
    wait_until(lambda: posthog_conn.requests(method="GET", path=view["id"]), what="our read of the view")
    hook.create_saved_query(
        "airflow_update_view", "select 'theirs'", edited_history_id=view["latest_history_id"]
    )
    worker.join(timeout=10)

    assert len(failures) == 1 and isinstance(failures[0], PostHogValidationError)
    assert "did not apply this write" in str(failures[0])
    assert hook.get_saved_query(view["id"])["query"]["query"] == "select 'theirs'"


BAD_ID = "daily_views"  # a view's name where its UUID belongs


def test_a_direct_hook_user_gets_a_bad_saved_query_id_refused_before_any_request(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    calls = [
        lambda: hook.get_saved_query(BAD_ID),
        lambda: hook.update_saved_query(BAD_ID, query="select 1"),
        lambda: hook.run_saved_query(BAD_ID),
        lambda: hook.cancel_saved_query(BAD_ID),
        lambda: hook.materialize_saved_query(BAD_ID),
        lambda: list(hook.list_data_modeling_jobs(saved_query_id=BAD_ID)),
    ]
    for call in calls:
        with pytest.raises(
            PostHogConfigError, match=r"^saved_query_id must be a UUID such as .*'daily_views'"
        ):
            call()

    async def async_calls() -> None:
        async with PostHogAsyncHook() as async_hook:
            with pytest.raises(PostHogConfigError, match=r"^saved_query_id must be a UUID"):
                await async_hook.run_saved_query(BAD_ID)
            with pytest.raises(PostHogConfigError, match=r"^saved_query_id must be a UUID"):
                [job async for job in async_hook.list_data_modeling_jobs(BAD_ID)]

    asyncio.run(async_calls())
    assert posthog_conn.requests() == []
