"""The hook's stored-summary reads and group summary, against the emulator over loopback."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider.api.errors import PostHogConfigError, PostHogResponseLostError
from airflow_provider.hooks.posthog import PostHogHook

STORED = r"/single_session_summaries/"
GROUP = r"/session_summaries/create_session_summaries/$"


def _recent_ids(hook: PostHogHook) -> list[str]:
    now = dt.datetime.now(dt.timezone.utc)
    return [r["id"] for r in hook.list_session_recordings(date_from=now - dt.timedelta(days=8), date_to=now)]


def test_list_walks_every_page_and_splits_long_id_lists(posthog_conn: Any) -> None:
    posthog_conn.configure(session_count=130)
    hook = PostHogHook()
    ids = _recent_ids(hook)
    summarized = {
        session_id
        for session_id, result in hook.create_session_summaries(ids, batch_size=300).items()
        if "error" not in result
    }
    assert len(summarized) > 100, "more than one page of PostHog's 100"

    every = list(hook.list_stored_session_summaries())
    chosen = list(hook.list_stored_session_summaries([*ids, *ids[:3]], order="-session_duration"))

    assert {row["session_id"] for row in every} == summarized and len(every) == len(summarized)
    assert {row["session_id"] for row in chosen} == summarized
    lists = posthog_conn.requests(method="GET", path=STORED)
    with_ids = [entry["query"]["session_ids"] for entry in lists if "session_ids" in entry["query"]]
    assert len(lists) - len(with_ids) == 2, "two pages for the whole list"
    assert len(with_ids) >= 2 and all(len(text) <= 4000 for text in with_ids), "130 ids in short URLs"
    assert sorted(sid for text in with_ids for sid in text.split(",")) == sorted(ids), "each id asked once"
    assert list(hook.list_stored_session_summaries([])) == []


def test_list_arguments_are_checked_before_any_request(posthog_conn: Any) -> None:
    hook = PostHogHook()
    with pytest.raises(PostHogConfigError, match="order must be one of"):
        hook.list_stored_session_summaries(order="created_by__email")
    with pytest.raises(PostHogConfigError, match="outcome must be one of 'success', 'failure', 'unknown'"):
        hook.list_stored_session_summaries(outcome="ok")
    with pytest.raises(PostHogConfigError, match=r"date_from must be .*relative text such as '-7d'"):
        hook.list_stored_session_summaries(date_from="yesterday")
    assert posthog_conn.requests() == []


def test_filters_reach_posthog_and_get_returns_the_whole_summary_or_none(posthog_conn: Any) -> None:
    hook = PostHogHook()
    ids = _recent_ids(hook)[:10]
    results = hook.create_session_summaries(ids)
    failing = {
        sid for sid, result in results.items() if result.get("session_outcome", {}).get("success") is False
    }

    rows = list(
        hook.list_stored_session_summaries(ids, outcome="failure", has_exceptions=True, date_from="-1d")
    )

    assert {row["session_id"] for row in rows} == failing
    (entry,) = posthog_conn.requests(method="GET", path=STORED)
    assert {key: entry["query"][key] for key in ("outcome", "has_exceptions", "date_from")} == {
        "outcome": "failure",
        "has_exceptions": "true",
        "date_from": "-1d",
    }
    full = hook.get_stored_session_summary(ids[0]) or hook.get_stored_session_summary(ids[1])
    assert full is not None and full["summary"] == results[full["session_id"]]
    assert hook.get_stored_session_summary("never-summarised") is None


def test_group_summary_returns_patterns_and_is_never_resent(posthog_conn: Any) -> None:
    hook = PostHogHook()
    ids = _recent_ids(hook)[:8]
    answer = hook.create_session_group_summary([*ids, ids[0]], focus_area="checkout")

    assert answer["patterns"] and "failed_sessions" in answer
    (entry,) = posthog_conn.requests(method="POST", path=GROUP)
    assert entry["body"] == {"session_ids": ids, "focus_area": "checkout"}

    posthog_conn.configure(summary_latency=0.5, gateway_timeout=0.05)
    with pytest.raises(PostHogResponseLostError):
        hook.create_session_group_summary(ids, focus_area="another")
    assert len(posthog_conn.requests(method="POST", path=GROUP)) == 2, "the 504 was not followed by a re-send"


def test_group_summary_arguments_are_checked_before_any_request(posthog_conn: Any) -> None:
    hook = PostHogHook()
    with pytest.raises(PostHogConfigError, match="session_ids must be 1 to 300 session ids"):
        hook.create_session_group_summary([f"s{i}" for i in range(301)])
    with pytest.raises(PostHogConfigError, match="session_ids must be 1 to 300"):
        hook.create_session_group_summary([])
    with pytest.raises(PostHogConfigError, match="focus_area"):
        hook.create_session_group_summary(["a"], focus_area="x" * 501)
    assert posthog_conn.requests() == []
