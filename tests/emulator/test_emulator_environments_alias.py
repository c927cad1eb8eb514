"""The ``/api/environments/`` alias as PostHog answers it: three deprecation headers on every answer, none
on the canonical ``/api/projects/``; and, in ``environments_redirect`` mode, a 307 to the canonical URL
(docs/posthog-api.md section 1, docs/fidelity.md)."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_http import api, session

from airflow_provider.emulator.cli import _config, _parser

SUNSET = "Fri, 31 Jul 2026 00:00:00 GMT"  # http_date of API_ENVIRONMENTS_SUNSET_DATE "2026-07-31"


def test_every_answer_of_the_alias_names_its_successor_and_sunset(emulator: Any) -> None:
    project = emulator.project_id
    answered = session(emulator).get(api(emulator, "subscriptions/", "environments"), params={"limit": 1})
    refused = session(emulator, "phx_not_a_key").get(
        api(emulator, "warehouse_saved_queries/", "environments")
    )

    assert answered.status_code == 200
    assert answered.headers["Deprecation"] == "true"
    assert (
        answered.headers["Link"]
        == f'</api/projects/{project}/subscriptions/?limit=1>; rel="successor-version"'
    )
    assert answered.headers["Sunset"] == SUNSET
    assert refused.status_code == 401
    assert (
        refused.headers["Link"]
        == f'</api/projects/{project}/warehouse_saved_queries/>; rel="successor-version"'
    )


def test_the_canonical_prefix_carries_no_deprecation(emulator: Any) -> None:
    for path in ("subscriptions/", ""):
        response = session(emulator).get(api(emulator, path))
        assert response.status_code == 200
        assert not {"Deprecation", "Sunset", "Link"} & set(response.headers)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_in_redirect_mode_the_alias_answers_307_to_the_canonical_url_and_does_nothing(
    emulator: Any, method: str
) -> None:
    emulator.configure(environments_redirect=True)
    project = emulator.project_id
    response = session(emulator).request(
        method,
        api(emulator, "subscriptions/", "environments"),
        params={"limit": 1},
        json={"target_type": "email"} if method == "POST" else None,
        allow_redirects=False,
    )

    assert response.status_code == 307
    assert response.headers["Location"] == f"/api/projects/{project}/subscriptions/?limit=1"
    assert response.headers["Deprecation"] == "true"
    assert response.headers["Sunset"] == SUNSET
    assert [entry["status"] for entry in emulator.requests(method=method)] == [307]
    assert emulator.counts()["subscriptions"] == 0
    # Followed (as requests follows a 307: same method and body), the canonical URL answers.
    followed = session(emulator).get(api(emulator, "subscriptions/", "environments"))
    assert followed.status_code == 200
    assert [entry["path"] for entry in emulator.requests(method="GET")][-2:] == [
        f"/api/environments/{project}/subscriptions/",
        f"/api/projects/{project}/subscriptions/",
    ]


def test_in_redirect_mode_session_summaries_exist_only_under_the_alias(emulator: Any) -> None:
    emulator.configure(environments_redirect=True)
    path = "session_summaries/create_session_summaries_individually/"
    alias = session(emulator).post(api(emulator, path, "environments"), json={}, allow_redirects=False)
    canonical = session(emulator).post(api(emulator, path), json={})

    assert alias.status_code == 400  # served by the view (an empty body is refused), not redirected
    assert "Deprecation" not in alias.headers
    assert canonical.status_code == 404


def test_the_redirect_mode_is_a_command_line_flag() -> None:
    parser = _parser()
    assert _config(parser, parser.parse_args(["--environments-redirect"])) == {"environments_redirect": True}
    assert "environments_redirect" not in _config(parser, parser.parse_args([]))
