"""Stored summaries: ``single_session_summaries/`` list and detail, what is stored, filters, refusals.

Contract: docs/posthog-api.md section 7.7 (PostHog's ``SingleSessionSummaryViewSet`` and its tests).
"""

from __future__ import annotations

from typing import Any

import pytest
from emulator_http import api, envelope, session

LIST = "single_session_summaries/"
SUMMARIZE = "session_summaries/create_session_summaries_individually/"
LIGHT_FIELDS = {
    "id", "session_id", "distinct_id", "session_start_time", "session_duration", "session_outcome",
    "exception_count", "has_exceptions", "model_used", "visual_confirmation", "extra_summary_context",
    "created_at", "created_by",
}  # fmt: skip


def summarize(emulator: Any, session_ids: list[str], focus_area: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"session_ids": session_ids}
    if focus_area is not None:
        body["focus_area"] = focus_area
    response = session(emulator).post(api(emulator, SUMMARIZE), json=body, timeout=10)
    assert response.status_code == 200
    return dict(response.json())


def stored(emulator: Any, **params: Any) -> Any:
    return session(emulator).get(api(emulator, LIST), params=params, timeout=10)


@pytest.fixture
def summarized(emulator: Any) -> dict[str, dict[str, Any]]:
    """Twelve recent sessions summarised without a focus area: id -> summary (too-short ones left out)."""
    recordings = session(emulator).get(
        api(emulator, "session_recordings/"), params={"date_from": "-7d", "limit": 12}
    )
    results = summarize(emulator, [recording["id"] for recording in recordings.json()["results"]])
    return {session_id: result for session_id, result in results.items() if "error" not in result}


def test_each_summary_generated_without_a_focus_area_is_listed_in_the_light_shape(
    emulator: Any, summarized: dict[str, dict[str, Any]]
) -> None:
    body = stored(emulator).json()

    assert body["count"] == len(summarized) and body["next"] is None
    rows = {row["session_id"]: row for row in body["results"]}
    assert set(rows) == set(summarized), "too-short sessions have no summary to store"
    row = next(iter(rows.values()))
    assert set(row) == LIGHT_FIELDS, "no summary and no exception_event_ids in the list"
    assert row["session_outcome"] == summarized[row["session_id"]]["session_outcome"]
    assert row["extra_summary_context"] is None
    assert row["visual_confirmation"] is False and row["model_used"]
    exceptions = [
        event
        for segment in summarized[row["session_id"]]["key_actions"]
        for event in segment["events"]
        if event["exception"]
    ]
    assert row["exception_count"] == len(exceptions) and row["has_exceptions"] == bool(exceptions)
    created = [row["created_at"] for row in body["results"]]
    assert created == sorted(created, reverse=True), "newest first by default"


def test_the_detail_is_the_whole_row_and_404_when_nothing_is_stored(
    emulator: Any, summarized: dict[str, dict[str, Any]]
) -> None:
    session_id = next(iter(summarized))
    detail = session(emulator).get(api(emulator, f"{LIST}{session_id}/")).json()

    assert detail["summary"] == summarized[session_id]
    assert detail["exception_event_ids"] == [
        event["event_uuid"]
        for segment in detail["summary"]["key_actions"]
        for event in segment["events"]
        if event["exception"]
    ]
    assert detail["run_metadata"]["visual_confirmation"] is False
    missing = session(emulator).get(api(emulator, f"{LIST}not-summarised/"))
    assert missing.status_code == 404
    assert missing.json() == envelope(
        "invalid_request", "not_found", "No stored summary found for this session."
    )


def test_summaries_made_with_a_focus_area_are_stored_but_never_served(emulator: Any) -> None:
    recordings = session(emulator).get(api(emulator, "session_recordings/"), params={"date_from": "-7d"})
    results = summarize(emulator, [r["id"] for r in recordings.json()["results"]][:6], focus_area="checkout")
    focused = [session_id for session_id, result in results.items() if "error" not in result]

    assert focused
    assert stored(emulator).json()["count"] == 0
    assert session(emulator).get(api(emulator, f"{LIST}{focused[0]}/")).status_code == 404
    assert emulator.counts()["single_session_summaries"] == len(focused), "stored, as PostHog stores them"


def test_filters_by_session_ids_outcome_exceptions_and_distinct_id(
    emulator: Any, summarized: dict[str, dict[str, Any]]
) -> None:
    rows = stored(emulator).json()["results"]
    two = [rows[0]["session_id"], rows[1]["session_id"]]

    def ids(**params: Any) -> set[str]:
        return {row["session_id"] for row in stored(emulator, **params).json()["results"]}

    assert ids(session_ids=f" {two[0]} ,{two[1]},") == set(two)
    assert ids(outcome="success") == {r["session_id"] for r in rows if r["session_outcome"]["success"]}
    assert ids(outcome="failure") == {r["session_id"] for r in rows if not r["session_outcome"]["success"]}
    assert ids(has_exceptions="TRUE") == {r["session_id"] for r in rows if r["has_exceptions"]}
    assert ids(has_exceptions="false") == {r["session_id"] for r in rows if not r["has_exceptions"]}
    assert ids(has_exceptions="maybe") == set(summarized), "an unknown value is ignored, as PostHog does"
    assert ids(distinct_id=rows[0]["distinct_id"]) == {
        r["session_id"] for r in rows if r["distinct_id"] == rows[0]["distinct_id"]
    }


def test_date_bounds_are_inclusive_and_take_relative_dates(
    emulator: Any, summarized: dict[str, dict[str, Any]]
) -> None:
    rows = stored(emulator, order="created_at").json()["results"]
    first, last = rows[0]["created_at"], rows[-1]["created_at"]

    assert stored(emulator, date_from=first, date_to=last).json()["count"] == len(rows)
    assert stored(emulator, date_from=last).json()["count"] >= 1
    assert stored(emulator, date_from="-30d").json()["count"] == len(rows)
    assert stored(emulator, date_to="-1dStart").json()["count"] == 0
    assert stored(emulator, date_from="2099-1-1").json()["count"] == 0, "an unpadded ISO date is accepted"


@pytest.mark.parametrize(
    ("params", "attr", "detail"),
    [
        ({"date_from": "yesterday"}, "date_from", "Invalid date value 'yesterday'."),
        ({"date_to": "2026-13-01"}, "date_to", "Invalid date value '2026-13-01'."),
        ({"order": "created_by__email"}, "order", "Invalid order field. Allowed values: -created_at,"),
        ({"created_by": "not-a-uuid"}, "created_by", "Must be a valid UUID."),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(
    emulator: Any, params: dict[str, str], attr: str, detail: str
) -> None:
    response = stored(emulator, **params)

    assert response.status_code == 400
    assert response.json()["attr"] == attr
    assert response.json()["detail"].startswith(detail)


def test_order_on_an_allowed_field_and_limit_offset_pages(
    emulator: Any, summarized: dict[str, dict[str, Any]]
) -> None:
    by_duration = stored(emulator, order="-session_duration").json()["results"]
    durations = [row["session_duration"] for row in by_duration]
    assert durations == sorted(durations, reverse=True)

    page = stored(emulator, order="-session_duration", limit=2).json()
    assert page["count"] == len(by_duration)
    assert [row["session_id"] for row in page["results"]] == [row["session_id"] for row in by_duration[:2]]
    following = session(emulator).get(page["next"]).json()
    assert [row["session_id"] for row in following["results"]] == [r["session_id"] for r in by_duration[2:4]]


def test_writes_are_refused_and_a_read_key_may_list(
    emulator: Any, summarized: dict[str, dict[str, Any]]
) -> None:
    session_id = next(iter(summarized))
    refusal = envelope(
        "authentication_error", "permission_denied", "This action does not support personal API key access"
    )

    create = session(emulator).post(api(emulator, LIST), json={"session_id": session_id})
    delete = session(emulator).delete(api(emulator, f"{LIST}{session_id}/"))
    assert (create.status_code, create.json()) == (403, refusal)
    assert (delete.status_code, delete.json()) == (403, refusal)
    assert stored(emulator).json()["count"] == len(summarized), "nothing was deleted"
    read_only = session(emulator, emulator.read_only_key).get(api(emulator, LIST))
    assert read_only.status_code == 200
