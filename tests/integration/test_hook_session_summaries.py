"""The hook's session summaries (batches, re-sends, a failed batch) over real HTTP against the
emulator; stored summaries are in ``test_hook_stored_summaries.py``."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider.api.errors import PostHogValidationError
from airflow_provider.hooks.posthog import PostHogHook


def test_no_session_ids_means_no_request(hook: PostHogHook, posthog_conn: Any) -> None:
    assert hook.create_session_summaries([]) == {}
    assert posthog_conn.requests() == []


def test_recordings_of_an_interval_are_summarized_in_batches(hook: PostHogHook, posthog_conn: Any) -> None:
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
