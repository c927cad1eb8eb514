"""Every hook method over real HTTP against the emulator, asserting on what the server saw and holds."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_until
from structlog.testing import capture_logs

from airflow_provider.api import endpoints
from airflow_provider.api.client import AsyncPostHogClient
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import (
    PostHogConfigError,
    PostHogNotFoundError,
    PostHogPaymentRequiredError,
    PostHogPermissionError,
    PostHogResponseLostError,
    PostHogValidationError,
)
from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook

DEMO_INSIGHT = 101  # an insight of the emulator's demo seed
SUBSCRIPTION = {
    "insight": DEMO_INSIGHT,
    "target_type": "email",
    "target_value": "team@example.com",
    "frequency": "weekly",
    "interval": 1,
    "byweekday": ["monday"],
    "start_date": "2026-12-07T09:00:00Z",
}


@pytest.fixture
def hook(posthog_conn: Any) -> Any:
    posthog = PostHogHook()
    yield posthog
    posthog.close()


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


def test_subscription_lifecycle_with_soft_delete(hook: PostHogHook, posthog_conn: Any) -> None:
    created = hook.create_subscription(**SUBSCRIPTION, title="Weekly KPIs")
    assert hook.get_subscription(created["id"])["title"] == "Weekly KPIs"
    assert hook.update_subscription(created["id"], interval=2)["interval"] == 2
    hook.delete_subscription(created["id"])

    patches = posthog_conn.requests(method="PATCH")
    assert [patch["body"] for patch in patches] == [{"interval": 2}, {"deleted": True}]
    assert posthog_conn.requests(method="DELETE") == []
    assert [s["id"] for s in hook.list_subscriptions()] == []
    assert [s["id"] for s in hook.list_subscriptions(deleted=True)] == [created["id"]]


def test_every_subscription_page_is_walked(hook: PostHogHook, posthog_conn: Any) -> None:
    created = [hook.create_subscription(**SUBSCRIPTION)["id"] for _ in range(5)]
    assert sorted(s["id"] for s in hook.list_subscriptions(limit=2)) == sorted(created)
    pages = posthog_conn.requests(method="GET", path=r"/subscriptions/?$")
    assert len(pages) == 3


def test_create_subscription_is_not_duplicated_when_the_answer_is_lost(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    posthog_conn.add_fault(method="POST", path=r"/subscriptions/?$", kind="after_processing", status=502)
    with pytest.raises(PostHogResponseLostError, match="may have been created"):
        hook.create_subscription(**SUBSCRIPTION)
    assert len(posthog_conn.requests(method="POST", path=r"/subscriptions/?$")) == 1
    assert posthog_conn.counts()["subscriptions"] == 1


def test_a_field_posthog_refuses_comes_back_named(hook: PostHogHook) -> None:
    with pytest.raises(PostHogValidationError) as caught:
        hook.create_subscription(**{**SUBSCRIPTION, "insight": 999_999})  # not an insight of the project
    assert caught.value.attr == "insight"
    assert "field 'insight'" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "frequency",
            "fortnightly",
            r"^frequency must be one of 'daily', 'weekly', 'monthly', 'yearly'; got",
        ),
        ("interval", 0, r"^interval must be an integer >= 1; got 0"),
        ("byweekday", ["funday"], r"^byweekday\[0\] must be one of 'monday'"),
        (
            "target_type",
            "carrier-pigeon",
            r"^target_type must be one of 'email', 'slack', 'webhook', 'teams'",
        ),
        ("title", "x" * 101, r"^title must be at most 100 characters"),
        ("start_date", "next week", r"^start_date must be an ISO-8601 datetime"),
    ],
)
def test_enumerated_subscription_fields_are_checked_before_sending(
    hook: PostHogHook, posthog_conn: Any, field: str, value: Any, message: str
) -> None:
    with pytest.raises(PostHogConfigError, match=message):
        hook.create_subscription(**{**SUBSCRIPTION, field: value})
    with pytest.raises(PostHogConfigError, match=message):
        hook.update_subscription(1, **{field: value})
    assert posthog_conn.requests(path="subscriptions") == []


def test_subscription_text_is_sent_trimmed_as_posthog_stores_it(hook: PostHogHook, posthog_conn: Any) -> None:
    created = hook.create_subscription(
        **{**SUBSCRIPTION, "target_value": " team@example.com ", "title": " KPIs "}
    )
    assert (created["target_value"], created["title"]) == ("team@example.com", "KPIs")
    (sent,) = posthog_conn.requests(method="POST", path="subscriptions")
    assert (sent["body"]["target_value"], sent["body"]["title"]) == ("team@example.com", "KPIs")


def test_user_interview_upload_and_lifecycle(hook: PostHogHook, posthog_conn: Any, tmp_path: Path) -> None:
    recording = tmp_path / "call.mp3"
    recording.write_bytes(b"ID3" + b"\x00" * 2048)
    created = hook.create_user_interview(recording, interviewee_emails=["Jane Doe <jane@acme.com>"])
    assert created["interviewee_emails"] == ["Jane Doe <jane@acme.com>"]
    assert "audio" not in created
    (upload,) = posthog_conn.requests(method="POST", path=r"/user_interviews/?$")
    assert upload["status"] == 201

    assert hook.update_user_interview(created["id"], summary="Short")["summary"] == "Short"
    assert [i["id"] for i in hook.list_user_interviews()] == [created["id"]]
    assert hook.get_user_interview(created["id"])["id"] == created["id"]
    hook.delete_user_interview(created["id"])
    assert posthog_conn.counts()["user_interviews"] == 0
    with pytest.raises(PostHogNotFoundError):
        hook.get_user_interview(created["id"])


def test_async_client_uploads_multipart_like_the_sync_one(posthog_conn: Any) -> None:
    config = ClientConfig.from_connection_fields(
        host=posthog_conn.url, api_key=posthog_conn.api_key, extra={"project_id": posthog_conn.project_id}
    )

    async def upload() -> dict[str, Any]:
        async with AsyncPostHogClient(config) as client:
            call = endpoints.create_user_interview(b"ID3 audio", ["jane@acme.com"], None)
            return dict(await client.call(call))

    created = asyncio.run(upload())
    assert created["interviewee_emails"] == ["jane@acme.com"]
    (upload_request,) = posthog_conn.requests(method="POST", path=r"/user_interviews/?$")
    assert upload_request["status"] == 201
    assert posthog_conn.counts()["user_interviews"] == 1


def test_no_session_ids_means_no_request(hook: PostHogHook, posthog_conn: Any) -> None:
    assert hook.create_session_summaries([]) == {}
    assert posthog_conn.requests() == []


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


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "session_summaries", lambda hook: hook.create_session_summaries(["s1"])),
        ("GET", "warehouse_saved_queries", lambda hook: list(hook.list_saved_queries())),
    ],
    ids=["summaries", "warehouse"],
)
def test_a_402_is_a_billing_error_that_is_never_retried(
    hook: PostHogHook, posthog_conn: Any, method: str, path: str, call: Any
) -> None:
    posthog_conn.add_fault(method=method, path=path, kind="status", status=402, times=None)
    with pytest.raises(PostHogPaymentRequiredError, match="plan or quota") as raised:
        call(hook)
    assert raised.value.status == 402
    assert len(posthog_conn.requests(method=method, path=path)) == 1


def test_session_properties_and_values(hook: PostHogHook) -> None:
    definitions = hook.get_session_property_definitions(search="entry url")
    assert "$entry_current_url" in {d["name"] for d in definitions}
    assert all("entry" in d["name"] and "url" in d["name"] for d in definitions)
    channels = hook.get_session_property_values("$channel_type", value="Paid")
    assert channels and all("Paid" in value["name"] for value in channels)


def test_recordings_of_an_interval_are_summarised_in_batches(hook: PostHogHook, posthog_conn: Any) -> None:
    now = datetime.now(timezone.utc)
    recordings = list(hook.list_session_recordings(date_from=now - timedelta(days=8), date_to=now, limit=10))
    ids = [recording["id"] for recording in recordings]
    assert len(ids) == posthog_conn.counts()["sessions"]
    assert len(posthog_conn.requests(method="GET", path=r"/session_recordings/?$")) == math.ceil(
        len(ids) / 10
    )

    batches: list[dict[str, Any]] = []
    results = hook.create_session_summaries(
        ids + ids[:5], batch_size=15, max_concurrency=2, on_batch=batches.append
    )
    assert list(results) == ids
    posts = posthog_conn.requests(method="POST", path=r"/create_session_summaries_individually/?$")
    assert sorted(len(post["body"]["session_ids"]) for post in posts) == sorted([15, 15, len(ids) - 30])
    assert sum(len(batch) for batch in batches) == len(ids)
    assert any("error" in entry for entry in results.values()), "the seed has sessions too short to summarise"
    assert any("segments" in entry for entry in results.values())


def test_summaries_are_resent_after_a_gateway_timeout_without_redoing_work(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    ids = [recording["id"] for recording in hook.list_session_recordings(date_from="-8d", limit=5)][:3]
    posthog_conn.add_fault(
        path=r"/create_session_summaries_individually/?$", kind="after_processing", status=504
    )
    results = hook.create_session_summaries(ids)
    assert list(results) == ids
    assert len(posthog_conn.requests(method="POST", path=r"/create_session_summaries_individually/?$")) == 2


def test_a_failed_batch_keeps_the_batches_in_flight_and_starts_no_new_one(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    summaries = r"/create_session_summaries_individually/?$"
    recordings = hook.list_session_recordings(date_from="-8d")
    ids = [recording["id"] for recording in recordings if recording["recording_duration"] > 5][:12]
    assert len(ids) == 12, "the demo seed has enough sessions long enough to summarise"
    # The first batch to arrive is refused at once (400 is not retried); the others take a while.
    posthog_conn.configure(summary_latency=0.3)
    posthog_conn.add_fault(method="POST", path=summaries, kind="status", status=400, times=1)
    batches: list[dict[str, Any]] = []

    with pytest.raises(PostHogValidationError):
        hook.create_session_summaries(ids, batch_size=2, max_concurrency=4, on_batch=batches.append)

    posts = posthog_conn.requests(method="POST", path=summaries)
    assert sorted(post["status"] for post in posts) == [200, 200, 200, 400], "no batch started after the 400"
    (refused,) = [post["body"]["session_ids"] for post in posts if post["status"] == 400]
    answered = [post["body"]["session_ids"] for post in posts if post["status"] == 200]
    assert sorted(list(batch) for batch in batches) == sorted(answered)
    assert all("segments" in entry for batch in batches for entry in batch.values())
    assert posthog_conn.counts()["summaries_generated"] == 6
    sent = [session_id for post in posts for session_id in post["body"]["session_ids"]]
    assert sorted(sent) == sorted(ids[:8]), "the first four batches, in order"
    assert set(refused).isdisjoint(session_id for batch in batches for session_id in batch)


def test_escape_hatch_request_reaches_unwrapped_endpoints(hook: PostHogHook, posthog_conn: Any) -> None:
    hook.create_subscription(**SUBSCRIPTION)
    page = hook.request("GET", "subscriptions", params={"limit": 1})
    assert page["count"] == 1
    assert (
        hook.ui_url("data-warehouse")
        == f"{posthog_conn.url}/project/{posthog_conn.project_id}/data-warehouse"
    )


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


def test_emulator_connection_json_is_what_the_hook_reads(posthog_conn: Any) -> None:
    conn = json.loads(posthog_conn.airflow_conn_json())
    config = PostHogHook().get_conn().config
    assert config.host == conn["host"]
    assert config.project_id == str(posthog_conn.project_id)


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


@pytest.mark.parametrize("is_numerical", [True, False])
def test_is_numerical_reaches_posthog_and_filters_both_ways(
    hook: PostHogHook, posthog_conn: Any, is_numerical: bool
) -> None:
    definitions = hook.get_session_property_definitions(is_numerical=is_numerical)
    assert definitions and {d["is_numerical"] for d in definitions} == {is_numerical}
    (sent,) = posthog_conn.requests(path="property_definitions")
    assert sent["query"]["is_numerical"] == str(is_numerical).lower()


def test_session_property_search_ignores_case(hook: PostHogHook) -> None:
    names = {d["name"] for d in hook.get_session_property_definitions(search="ENTRY Url")}
    assert "$entry_current_url" in names
    assert {v["name"] for v in hook.get_session_property_values("$channel_type", value="paid")} >= {
        "Paid Search"
    }


def test_every_recording_carries_the_fields_posthogs_schema_requires(hook: PostHogHook) -> None:
    required = {
        "id",
        "distinct_id",
        "viewed",
        "viewers",
        "recording_duration",
        "start_time",
        "end_time",
        "storage",
    }
    recordings = list(hook.list_session_recordings(date_from="-7d"))
    assert recordings and all(required <= set(recording) for recording in recordings)


def test_a_bad_recordings_filter_comes_back_as_posthogs_error(hook: PostHogHook) -> None:
    with pytest.raises(PostHogValidationError) as refused:
        list(hook.list_session_recordings(date_from="-7d", no_such_filter=1))
    assert (refused.value.type, refused.value.code) == ("validation_error", "invalid_input")
    assert "extra_forbidden" in (refused.value.detail or "")
