"""What each endpoint call sends, its checks before any request, and session-summary batching."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.api import endpoints
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.request import build_request
from airflow_provider.api.summaries import (
    batch_results,
    split_batches,
    unique_session_ids,
    validate_focus_area,
)

VIEW = "0192f3a0-aaaa-7bbb-8ccc-000000000001"
CONFIG = ClientConfig(host="https://us.posthog.com", api_key="phx_demo_all_scopes", project_id="1")


def test_session_ids_are_deduplicated_in_first_seen_order() -> None:
    assert unique_session_ids(["b", "a", "b", " c ", "a"]) == ["b", "a", "c"]


@pytest.mark.parametrize("ids", ["abc", ["a", ""], ["a", None], ["a", 3]])
def test_bad_session_ids_are_refused(ids: Any) -> None:
    with pytest.raises(PostHogConfigError, match="session_ids"):
        unique_session_ids(ids)


def test_batches_hold_at_most_batch_size_ids() -> None:
    ids = [f"s{n}" for n in range(650)]
    batches = split_batches(ids, 300)
    assert [len(batch) for batch in batches] == [300, 300, 50]
    assert [session for batch in batches for session in batch] == ids
    assert split_batches([], 100) == []


@pytest.mark.parametrize("size", [0, 301, -5, 2.5, True])
def test_batch_size_outside_posthogs_limit_is_refused(size: Any) -> None:
    with pytest.raises(PostHogConfigError, match="batch_size must be an integer from 1 to 300"):
        split_batches(["a"], size)


def test_focus_area_over_500_characters_is_refused() -> None:
    validate_focus_area("x" * 500)
    with pytest.raises(PostHogConfigError, match="focus_area"):
        validate_focus_area("x" * 501)


def test_batch_results_keep_errors_and_flag_sessions_posthog_left_out() -> None:
    answer = {"a": {"segments": []}, "b": {"error": "no_events_or_too_short", "error_message": "short"}}
    merged = batch_results(["a", "b", "c"], answer)
    assert merged["a"] == {"segments": []}
    assert merged["b"]["error"] == "no_events_or_too_short"
    assert merged["c"]["error"] == "not_returned"


def test_summaries_post_is_idempotent_with_a_long_read_timeout() -> None:
    sent = build_request(CONFIG, endpoints.create_session_summaries(["a"], "checkout"))
    assert sent.idempotent
    assert sent.read_timeout >= 300
    assert sent.json == {"session_ids": ["a"], "focus_area": "checkout"}
    assert sent.path == "/api/projects/1/session_summaries/create_session_summaries_individually/"


@pytest.mark.parametrize(
    ("call", "method", "path", "idempotent"),
    [
        (
            endpoints.create_subscription({"insight": 1, "target_type": "email", "interval": 1}),
            "POST",
            "subscriptions/",
            False,
        ),
        (endpoints.delete_subscription(5), "PATCH", "subscriptions/5/", True),
        (
            endpoints.create_saved_query("daily_users", "select 1", {}),
            "POST",
            "warehouse_saved_queries/",
            True,
        ),
        (endpoints.run_saved_query(VIEW), "POST", f"warehouse_saved_queries/{VIEW}/run/", False),
        (endpoints.cancel_saved_query(VIEW), "POST", f"warehouse_saved_queries/{VIEW}/cancel/", True),
        (
            endpoints.materialize_saved_query(VIEW, "1hour"),
            "POST",
            f"warehouse_saved_queries/{VIEW}/materialize/",
            True,
        ),
        (endpoints.delete_user_interview(VIEW), "DELETE", f"user_interviews/{VIEW}/", True),
    ],
)
def test_endpoint_method_path_and_resend_safety(
    call: endpoints.ApiCall, method: str, path: str, idempotent: bool
) -> None:
    sent = build_request(CONFIG, call)
    assert (sent.method, sent.path, sent.idempotent) == (method, f"/api/projects/1/{path}", idempotent)


def test_soft_delete_sends_deleted_true() -> None:
    assert endpoints.delete_subscription(5).json == {"deleted": True}


def test_hogql_text_is_wrapped_and_query_objects_pass_through() -> None:
    assert endpoints.create_saved_query("v", "select 1", {}).json == {
        "name": "v",
        "query": {"kind": "HogQLQuery", "query": "select 1"},
    }
    query = {"kind": "HogQLQuery", "query": "select 2", "values": {}}
    assert endpoints.update_saved_query(VIEW, {"query": query}).json == {"query": query}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: endpoints.create_saved_query("1bad", "select 1", {}), "name must be a view name"),
        (lambda: endpoints.create_saved_query("has space", "select 1", {}), "name must be a view name"),
        (lambda: endpoints.create_saved_query("ok", "  ", {}), "query must be"),
        (lambda: endpoints.create_saved_query("ok", {"kind": "HogQLQuery"}, {}), "query must be"),
        (lambda: endpoints.saved_query("not-a-uuid"), "saved_query_id must be a UUID"),
        (lambda: endpoints.subscription("12a"), "subscription_id must be an integer"),
        (lambda: endpoints.delete_subscription(0), r"subscription_id must be an integer >= 1; got 0\."),
        (lambda: endpoints.materialize_saved_query(VIEW, "hourly"), "sync_frequency must be one of"),
        (lambda: endpoints.data_modeling_jobs(page_size=0), "page_size"),
        (lambda: endpoints.session_property_values(""), "key must be"),
        (lambda: endpoints.create_user_interview(b"x", ["not-an-email"], None), r"interviewee_emails\[0\]"),
        (lambda: endpoints.create_user_interview(b"", [], None), "audio is empty"),
        (lambda: endpoints.create_user_interview("/no/such/file.mp3", [], None), "not a file"),
        (lambda: endpoints.create_user_interview(io.StringIO("text"), [], None), "binary mode"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(build: Any, message: str) -> None:
    with pytest.raises(PostHogConfigError, match=message):
        build()


def test_audio_can_be_a_path_bytes_or_a_binary_file(tmp_path: Path) -> None:
    recording = tmp_path / "call.mp3"
    recording.write_bytes(b"ID3 audio")
    from_path = endpoints.read_audio(recording)
    assert from_path == ("call.mp3", b"ID3 audio", "audio/mpeg")
    assert endpoints.read_audio(str(recording)) == from_path
    with recording.open("rb") as handle:
        assert endpoints.read_audio(handle) == from_path
    assert endpoints.read_audio(b"raw")[1:] == (b"raw", "application/octet-stream")


def test_user_interview_create_is_a_multipart_upload() -> None:
    call = endpoints.create_user_interview(b"audio", "Jane Doe <jane@acme.com>", None)
    sent = build_request(CONFIG, call)
    assert sent.json is None
    assert sent.form == {"interviewee_emails": ["Jane Doe <jane@acme.com>"]}
    assert sent.files is not None and sent.files["audio"][1] == b"audio"
    assert not sent.idempotent


def test_recording_dates_travel_with_their_offset_and_filters_as_json() -> None:
    start = datetime(2026, 11, 25, tzinfo=timezone(timedelta(hours=1)))
    call = endpoints.session_recordings(start, "-1d", {"distinct_ids": ["a", "b"], "limit": 10})
    params = dict(build_request(CONFIG, call).params)
    assert params == {
        "date_from": "2026-11-25T00:00:00+01:00",
        "date_to": "-1d",
        "distinct_ids": '["a", "b"]',
        "limit": "10",
    }


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(PostHogConfigError, match="date_from must be a timezone-aware datetime"):
        build_request(CONFIG, endpoints.session_recordings(datetime(2026, 11, 25), None, {}))
