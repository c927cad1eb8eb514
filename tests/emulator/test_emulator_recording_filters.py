"""Recording filters on ``GET session_recordings/``: PostHog's ``RecordingsQuery``, evaluated on the seed.

Contract: docs/posthog-api.md section 7.6. Each query value is JSON, as PostHog's
``query_as_params_to_dict`` reads it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_http import api, session

ERRORS = [{"type": "recording", "key": "console_error_count", "operator": "gt", "value": 0}]


def listing(emulator: Any, **filters: Any) -> list[dict[str, Any]]:
    """Every recording of the last week matching ``filters`` (each sent JSON-encoded)."""
    params = {"date_from": "-8d", "limit": 500, **{key: json.dumps(value) for key, value in filters.items()}}
    response = session(emulator).get(api(emulator, "session_recordings/"), params=params)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_having_predicates_compare_the_recordings_numbers(emulator: Any) -> None:
    everything = listing(emulator)
    long_ones = listing(
        emulator, having_predicates=[{"type": "recording", "key": "duration", "operator": "gt", "value": 60}]
    )
    with_errors = listing(emulator, having_predicates=ERRORS)

    assert [r["id"] for r in long_ones] == [r["id"] for r in everything if r["recording_duration"] > 60]
    assert [r["id"] for r in with_errors] == [r["id"] for r in everything if r["console_error_count"] > 0]
    assert 0 < len(with_errors) < len(everything) and 0 < len(long_ones) < len(everything)


def test_console_level_filter_finds_the_sessions_with_console_errors(emulator: Any) -> None:
    errors = listing(
        emulator,
        console_log_filters=[{"type": "log_entry", "key": "level", "operator": "exact", "value": ["error"]}],
    )
    assert [r["id"] for r in errors] == [r["id"] for r in listing(emulator, having_predicates=ERRORS)]


def test_events_need_every_named_event_with_and_and_one_with_or(emulator: Any) -> None:
    everything = listing(emulator)
    exceptions = listing(emulator, events=[{"id": "$exception", "type": "events"}])
    submits_and_exceptions = [{"id": "$exception", "type": "events"}, {"id": "$pageview", "type": "events"}]

    assert {r["id"] for r in exceptions} == {r["id"] for r in everything if r["console_error_count"] > 0}
    assert listing(emulator, events=submits_and_exceptions) == exceptions
    assert len(listing(emulator, events=submits_and_exceptions, operand="OR")) == len(everything)


def test_person_email_and_test_accounts(emulator: Any) -> None:
    everything = listing(emulator)
    colleague = [
        r["id"] for r in everything if r["person"]["properties"]["email"].endswith("@hogflix.example")
    ]
    by_email = listing(
        emulator,
        properties=[{"type": "person", "key": "email", "operator": "icontains", "value": "@hogflix.example"}],
    )
    without_test_accounts = listing(emulator, filter_test_accounts=True)

    assert colleague and [r["id"] for r in by_email] == colleague
    assert [r["id"] for r in without_test_accounts] == [
        r["id"] for r in everything if r["id"] not in colleague
    ]
    project = session(emulator).get(f"{emulator.url}/api/projects/{emulator.project_id}/").json()
    assert project["test_account_filters"][0] == {
        "key": "email",
        "operator": "not_icontains",
        "value": "@hogflix.example",
        "type": "person",
    }


@pytest.mark.parametrize(
    ("filters", "attr"),
    [
        ({"actions": [{"id": 7, "type": "actions"}]}, "actions"),
        ({"properties": [{"type": "cohort", "key": "id", "value": 3}]}, "properties__0"),
        (
            {"console_log_filters": [{"type": "log_entry", "key": "message", "value": "x"}]},
            "console_log_filters__0",
        ),
        (
            {"having_predicates": [{"type": "recording", "key": "snapshot_source", "value": "web"}]},
            "having_predicates__0",
        ),
    ],
)
def test_filters_the_emulator_does_not_model_are_refused_not_ignored(
    emulator: Any, filters: dict[str, Any], attr: str
) -> None:
    response = session(emulator).get(
        api(emulator, "session_recordings/"),
        params={key: json.dumps(value) for key, value in filters.items()},
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["type"], body["attr"]) == ("validation_error", attr)
    assert "does not model" in body["detail"]
