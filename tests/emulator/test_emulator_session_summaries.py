"""Session summaries: shape, per-session errors, limits, cache, latency, gateway 504.

Contract: docs/posthog-api.md sections 7.1 and 9.7.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import requests
from emulator_http import api, envelope, session
from helpers import wait_until

PATH = "session_summaries/create_session_summaries_individually/"


def recent_session_ids(emulator: Any, limit: int = 20) -> list[str]:
    response = session(emulator).get(
        api(emulator, "session_recordings/"), params={"date_from": "-7d", "limit": limit}
    )
    return [recording["id"] for recording in response.json()["results"]]


def summarize(emulator: Any, body: dict[str, Any], timeout: float = 10) -> requests.Response:
    return session(emulator).post(api(emulator, PATH), json=body, timeout=timeout)


def summarizable_and_too_short(emulator: Any) -> tuple[list[str], list[str]]:
    results = summarize(emulator, {"session_ids": recent_session_ids(emulator, 14)}).json()
    good = [session_id for session_id, result in results.items() if "error" not in result]
    short = [
        session_id
        for session_id, result in results.items()
        if result.get("error") == "no_events_or_too_short"
    ]
    return good, short


def test_answer_is_a_dict_keyed_by_session_id_in_posthogs_summary_shape(emulator: Any) -> None:
    session_ids = recent_session_ids(emulator, 3)
    response = summarize(emulator, {"session_ids": session_ids})
    assert response.status_code == 200
    results = response.json()
    assert set(results) == set(session_ids)
    summary = next(result for result in results.values() if "error" not in result)
    assert set(summary) == {"segments", "key_actions", "segment_outcomes", "session_outcome"}
    segment = summary["segments"][0]
    assert set(segment) == {"index", "name", "start_event_id", "end_event_id", "meta"}
    assert set(segment["meta"]) == {
        "duration", "duration_percentage", "events_count", "events_percentage", "key_action_count",
        "failure_count", "abandonment_count", "confusion_count", "exception_count",
    }  # fmt: skip
    action = summary["key_actions"][0]["events"][0]
    assert len(action["event_id"]) == 8
    assert action["exception"] in (None, "blocking", "non-blocking")
    assert action["session_id"] in session_ids
    assert {"summary", "success", "segment_index"} == set(summary["segment_outcomes"][0])
    assert isinstance(summary["session_outcome"]["success"], bool)


def test_unknown_and_too_short_sessions_get_per_session_errors(emulator: Any) -> None:
    good, short = summarizable_and_too_short(emulator)
    assert good and short
    results = summarize(emulator, {"session_ids": [good[0], short[0], "not-a-recorded-session"]}).json()
    assert "segments" in results[good[0]]
    assert results[short[0]] == {
        "error": "no_events_or_too_short",
        "error_message": "Recording has no usable events to summarize (typically because it is too short).",
    }
    assert results["not-a-recorded-session"]["error"] == "recording_not_found"


def test_summaries_are_deterministic_and_focus_area_changes_them(emulator: Any) -> None:
    good, _ = summarizable_and_too_short(emulator)
    first = summarize(emulator, {"session_ids": good[:1]}).json()
    emulator.reset()
    again = summarize(emulator, {"session_ids": good[:1]}).json()
    focused = summarize(emulator, {"session_ids": good[:1], "focus_area": "checkout"}).json()
    assert first == again
    assert "(focus: checkout)" in focused[good[0]]["session_outcome"]["description"]


def test_repeated_request_is_served_from_the_cache(emulator: Any) -> None:
    good, _ = summarizable_and_too_short(emulator)
    generated = emulator.counts()["summaries_generated"]
    summarize(emulator, {"session_ids": good[:2]})
    summarize(emulator, {"session_ids": good[:2]})
    assert emulator.counts()["summaries_generated"] == generated
    summarize(emulator, {"session_ids": good[:2], "focus_area": "errors"})
    assert emulator.counts()["summaries_generated"] == generated + 2
    assert emulator.summary_generations()[f"{good[0]}|errors"] == 1


@pytest.mark.parametrize(
    ("body", "attr", "code", "detail"),
    [
        ({}, "session_ids", "required", "This field is required."),
        ({"session_ids": "abc"}, "session_ids", "not_a_list", 'Expected a list of items but got type "str".'),
        ({"session_ids": []}, "session_ids", "min_length", "Ensure this field has at least 1 elements."),
        (
            {"session_ids": [f"s{i}" for i in range(301)]},
            "session_ids",
            "max_length",
            "Ensure this field has no more than 300 elements.",
        ),
        ({"session_ids": ["a", ""]}, "session_ids__1", "blank", "This field may not be blank."),
        (
            {"session_ids": ["a"], "focus_area": "x" * 501},
            "focus_area",
            "max_length",
            "Ensure this field has no more than 500 characters.",
        ),
    ],
)
def test_invalid_bodies_get_the_first_field_error(
    emulator: Any, body: dict[str, Any], attr: str, code: str, detail: str
) -> None:
    response = summarize(emulator, body)
    assert response.status_code == 400
    assert response.json() == envelope("validation_error", code, detail, attr)


def test_three_hundred_ids_and_a_500_character_focus_area_are_accepted(emulator: Any) -> None:
    response = summarize(emulator, {"session_ids": [f"s{i}" for i in range(300)], "focus_area": "x" * 500})
    assert response.status_code == 200
    assert len(response.json()) == 300


def test_self_hosted_instance_refuses_summaries(emulator: Any) -> None:
    emulator.configure(self_hosted=True)
    response = summarize(emulator, {"session_ids": ["a"]})
    assert response.status_code == 400
    assert response.json() == envelope(
        "validation_error", "invalid_input", "Session summaries are only supported in PostHog Cloud"
    )


def test_summary_latency_applies_only_when_something_is_generated(emulator: Any) -> None:
    good, _ = summarizable_and_too_short(emulator)
    emulator.configure(summary_latency=0.4)
    started = time.monotonic()
    summarize(emulator, {"session_ids": good[:1], "focus_area": "slow"})
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    summarize(emulator, {"session_ids": good[:1], "focus_area": "slow"})
    assert time.monotonic() - started < 0.4


def test_gateway_answers_504_while_the_work_finishes_and_a_retry_gets_the_cached_result(
    emulator: Any,
) -> None:
    good, _ = summarizable_and_too_short(emulator)
    emulator.configure(summary_latency=0.5, gateway_timeout=0.1)
    body = {"session_ids": good[:2], "focus_area": "gateway"}
    first = summarize(emulator, body)
    assert first.status_code == 504
    assert "504 Gateway Time-out" in first.text
    wait_until(
        lambda: emulator.counts()["summaries_generated"] >= 2 + len(good),
        what="the emulator to finish the summaries the gateway gave up on",
    )
    started = time.monotonic()
    retry = summarize(emulator, body)
    assert retry.status_code == 200
    assert time.monotonic() - started < 0.5
    assert set(retry.json()) == set(good[:2])
    assert emulator.summary_generations()[f"{good[0]}|gateway"] == 1


def test_read_only_key_may_summarize_with_session_recording_read(emulator: Any) -> None:
    response = session(emulator, emulator.read_only_key).post(
        api(emulator, PATH), json={"session_ids": ["a"]}
    )
    assert response.status_code == 200


def test_retry_while_the_first_request_still_works_waits_for_it_instead_of_summarizing_again(
    emulator: Any,
) -> None:
    good, _ = summarizable_and_too_short(emulator)
    emulator.configure(summary_latency=0.6, gateway_timeout=0.1)
    body = {"session_ids": good[:1], "focus_area": "in flight"}
    assert summarize(emulator, body).status_code == 504
    emulator.configure(gateway_timeout=None)
    retry = summarize(emulator, body)
    assert retry.status_code == 200
    assert "segments" in retry.json()[good[0]]
    assert emulator.summary_generations()[f"{good[0]}|in flight"] == 1


def test_a_reset_rebuilds_the_same_sessions_and_summaries_whatever_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider.emulator import state as state_module
    from airflow_provider.emulator.summaries import summarize

    state = state_module.State("demo", 20)
    session_id = next(sid for sid, seeded in state.sessions.items() if not seeded["too_short"])
    first = summarize(state.sessions[session_id], "")
    hours_later = state_module.utc_now() + dt.timedelta(hours=5, microseconds=600_000)
    monkeypatch.setattr(state_module, "utc_now", lambda: hours_later)  # the clock moves on
    state.reset(20)

    assert summarize(state.sessions[session_id], "") == first


# The group summary: POST session_summaries/create_session_summaries/ (docs/posthog-api.md §7.8).

GROUP_PATH = "session_summaries/create_session_summaries/"
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def summarize_group(emulator: Any, body: dict[str, Any]) -> requests.Response:
    return session(emulator).post(api(emulator, GROUP_PATH), json=body, timeout=10)


def test_group_summary_answers_patterns_by_severity_with_stats_and_example_events(emulator: Any) -> None:
    good, short = summarizable_and_too_short(emulator)
    emulator.reset()
    body = {"session_ids": [*good, short[0]]}
    response = summarize_group(emulator, body)

    assert response.status_code == 200
    answer = response.json()
    assert answer["failed_sessions"] == [
        {
            "session_id": short[0],
            "category": "skipped",
            "reason": "Recording is too short or has no usable events",
        }
    ]
    patterns = answer["patterns"]
    assert patterns and [SEVERITY_RANK[p["severity"]] for p in patterns] == sorted(
        SEVERITY_RANK[p["severity"]] for p in patterns
    )
    for pattern in patterns:
        assert {
            "pattern_id",
            "pattern_name",
            "pattern_description",
            "severity",
            "indicators",
            "events",
            "stats",
        } == set(pattern)
        affected = {event["target_event"]["session_id"] for event in pattern["events"]}
        assert affected <= set(good)
        assert pattern["stats"]["occurences"] == len(pattern["events"])
        assert pattern["stats"]["sessions_affected"] == len(affected)
        assert pattern["stats"]["sessions_affected_ratio"] == round(len(affected) / len(good), 2)
        event = pattern["events"][0]
        assert set(event) == {
            "segment_name", "segment_outcome", "segment_success", "segment_index",
            "previous_events_in_segment", "target_event", "next_events_in_segment",
        }  # fmt: skip
        assert len(event["target_event"]["event_id"]) == 8
    assert summarize_group(emulator, body).json()["patterns"] == patterns, "deterministic"
    assert emulator.counts()["single_session_summaries"] == len(good), (
        "the group call summarises each session once and stores it, as PostHog's workflow does"
    )


def test_group_summary_refuses_unknown_sessions_and_the_individual_limits(emulator: Any) -> None:
    good, _ = summarizable_and_too_short(emulator)
    unknown = summarize_group(emulator, {"session_ids": [good[0], "not-recorded"]})
    too_many = summarize_group(emulator, {"session_ids": [good[0]] * 301})
    too_long = summarize_group(emulator, {"session_ids": good[:1], "focus_area": "x" * 501})

    assert unknown.status_code == 400
    assert unknown.json()["attr"] is None
    assert unknown.json()["detail"].startswith("Session recordings not found for the following IDs")
    assert unknown.json()["detail"].endswith(": not-recorded")
    assert (too_many.status_code, too_many.json()["attr"]) == (400, "session_ids")
    assert (too_long.status_code, too_long.json()["attr"]) == (400, "focus_area")


def test_group_summary_of_only_too_short_sessions_is_a_server_error(emulator: Any) -> None:
    _, short = summarizable_and_too_short(emulator)
    response = summarize_group(emulator, {"session_ids": short[:2]})

    assert response.status_code == 500
    assert response.json()["detail"].startswith(
        "Failed to generate session summaries for sessions Session IDs:"
    )
    assert response.json()["detail"].endswith("Please try again later.")
