"""``POST warehouse_saved_queries/check_incremental/`` (docs/posthog-api.md §7.5), every layer in one file.

The emulator's contract over plain HTTP (PostHog's body rules, scope and answer shape), then the
declaration and the hook against it, asserting on what the emulator saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider.api import endpoints
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import PostHogConfigError, PostHogPermissionError
from airflow_provider.api.ratelimit import ARRIVAL_ALLOWANCE
from airflow_provider.api.request import build_request
from airflow_provider.hooks.posthog import PostHogHook

PATH = r"/warehouse_saved_queries/check_incremental/?$"
QUERY = "SELECT toDate(timestamp) AS day, count() AS signups FROM events GROUP BY day"
ANSWER_FIELDS = {
    "eligible",
    "key_candidates",
    "unique_key_candidates",
    "key_candidate_types",
    "blockers",
    "warnings",
}


@pytest.fixture
def hook(posthog_conn: Any) -> Iterator[PostHogHook]:
    posthog = PostHogHook()
    yield posthog
    posthog.close()


def post(emulator: Any, body: Any, key: str | None = None) -> requests.Response:
    """The endpoint over plain HTTP (not the provider's client)."""
    url = f"{emulator.url}/api/projects/{emulator.project_id}/warehouse_saved_queries/check_incremental/"
    headers = {"Authorization": f"Bearer {key or emulator.api_key}"}
    return requests.post(url, json=body, headers=headers, timeout=10)


# The emulator's contract


def test_the_emulator_answers_posthogs_shape_and_says_it_does_not_analyze_the_query(emulator: Any) -> None:
    answer = post(emulator, {"query": QUERY, "incremental_key": "day", "unique_key": ["day"]})
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == ANSWER_FIELDS
    assert answer.json()["eligible"] is False
    assert "does not analyse" in answer.json()["blockers"][0]
    assert emulator.counts()["saved_queries"] == 2  # nothing saved: the seed's views only


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({}, "query", "required"),
        ({"query": "  "}, "query", "blank"),
        ({"query": "x" * (64 * 1024 + 1)}, "query", "max_length"),
        ({"query": QUERY, "unique_key": "day"}, "unique_key", "not_a_list"),
        ({"query": QUERY, "lookback_seconds": -1}, "lookback_seconds", "min_value"),
        ({"query": QUERY, "lookback_seconds": 30 * 24 * 3600 + 1}, "lookback_seconds", "max_value"),
    ],
)
def test_the_emulator_checks_the_body_as_posthogs_serializer_does(
    emulator: Any, body: dict[str, Any], attr: str, code: str
) -> None:
    refused = post(emulator, body)
    assert refused.status_code == 400
    assert (refused.json()["attr"], refused.json()["code"]) == (attr, code)


def test_the_emulator_needs_the_read_scope_of_saved_queries(emulator: Any) -> None:
    refused = post(emulator, {"query": QUERY}, key=emulator.recordings_only_key)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "API key missing required scope 'warehouse_view:read'"
    assert post(emulator, {"query": QUERY}, key=emulator.read_only_key).status_code == 200


# The declaration and the hook


def test_the_declaration_is_a_read_safe_to_resend_under_posthogs_own_throttle() -> None:
    config = ClientConfig(host="https://us.posthog.com", api_key="phx_key", project_id="1")
    sent = build_request(config, endpoints.check_incremental_eligibility(QUERY))
    assert (sent.method, sent.path, sent.idempotent) == (
        "POST",
        "/api/projects/1/warehouse_saved_queries/check_incremental/",
        True,
    )
    (bucket,) = sent.rate_buckets
    assert "check_incremental" in bucket.key
    assert bucket.rates == ((120, 60.0 + ARRIVAL_ALLOWANCE),)  # instead of the default 480 + 4,800


def test_the_hook_sends_only_the_fields_given_and_returns_posthogs_answer(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    answer = hook.check_incremental_eligibility(QUERY)
    assert set(answer) == ANSWER_FIELDS
    full = hook.check_incremental_eligibility(
        QUERY, incremental_key="day", unique_key=("day",), lookback_seconds="3600"
    )
    assert full == answer
    sent = posthog_conn.requests(method="POST", path=PATH)
    assert [entry["body"] for entry in sent] == [
        {"query": QUERY},
        {"query": QUERY, "incremental_key": "day", "unique_key": ["day"], "lookback_seconds": 3600},
    ]


def test_a_lost_answer_is_asked_again_since_the_check_only_reads(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    posthog_conn.add_fault(method="POST", path=PATH, kind="after_processing", status=502, times=1)
    assert set(hook.check_incremental_eligibility(QUERY)) == ANSWER_FIELDS
    assert [entry["status"] for entry in posthog_conn.requests(method="POST", path=PATH)] == [502, 200]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"query": " "}, "query must be a non-empty string"),
        ({"query": "x" * (64 * 1024 + 1)}, "query must be at most 65536 characters"),
        ({"query": QUERY, "unique_key": "day"}, "unique_key must be a list of strings"),
        ({"query": QUERY, "lookback_seconds": 31 * 24 * 3600}, "lookback_seconds must be an integer from 0"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    hook: PostHogHook, posthog_conn: Any, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(PostHogConfigError, match=message):
        hook.check_incremental_eligibility(**arguments)
    assert posthog_conn.requests(path=PATH) == []


def test_a_key_without_the_scope_is_told_which_scope_to_add(posthog_conn: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", posthog_conn.airflow_conn_json(key=posthog_conn.recordings_only_key)
    )
    with pytest.raises(PostHogPermissionError, match="Add the scope 'warehouse_view:read'"):
        PostHogHook().check_incremental_eligibility(QUERY)
    assert len(posthog_conn.requests(method="POST", path=PATH)) == 1  # a 403 is not re-sent
