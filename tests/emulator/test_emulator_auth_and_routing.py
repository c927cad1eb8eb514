"""Authentication, scopes, projects, prefixes and the error envelope (docs/posthog-api.md sections 1-4, 9)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from emulator_http import api, envelope, session


def test_missing_credentials_get_401_not_authenticated_with_challenge(emulator: Any) -> None:
    response = requests.get(api(emulator, "subscriptions/"))
    assert response.status_code == 401
    assert response.json() == envelope(
        "authentication_error", "not_authenticated", "Authentication credentials were not provided."
    )
    assert response.headers["WWW-Authenticate"].startswith('Bearer resource_metadata="http://127.0.0.1:')


@pytest.mark.parametrize(
    ("where", "source"),
    [("header", "Authorization header"), ("query", "query string"), ("body", "body")],
)
def test_unknown_key_gets_401_naming_where_it_was_found(emulator: Any, where: str, source: str) -> None:
    url = api(emulator, "subscriptions/")
    if where == "header":
        response = requests.get(url, headers={"Authorization": "Bearer phx_not_a_key"})
    elif where == "query":
        response = requests.get(url, params={"personal_api_key": "phx_not_a_key"})
    else:
        response = requests.post(url, json={"personal_api_key": "phx_not_a_key"})
    assert response.status_code == 401
    assert response.json() == envelope(
        "authentication_error",
        "authentication_failed",
        f"Personal API key found in request {source} is invalid.",
    )


def test_key_in_query_string_is_accepted(emulator: Any) -> None:
    response = requests.get(api(emulator, "subscriptions/"), params={"personal_api_key": emulator.api_key})
    assert response.status_code == 200


def test_read_only_key_cannot_write_and_gets_the_missing_scope_named(emulator: Any) -> None:
    http = session(emulator, emulator.read_only_key)
    assert http.get(api(emulator, "subscriptions/")).status_code == 200
    response = http.post(api(emulator, "subscriptions/"), json={})
    assert response.status_code == 403
    assert response.json() == envelope(
        "authentication_error", "permission_denied", "API key missing required scope 'subscription:write'"
    )
    assert emulator.counts()["subscriptions"] == 0


def test_recordings_only_key_lists_recordings_but_cannot_read_the_project(emulator: Any) -> None:
    http = session(emulator, emulator.recordings_only_key)
    assert http.get(api(emulator, "session_recordings/")).status_code == 200
    response = http.get(f"{emulator.url}/api/projects/{emulator.project_id}/")
    assert response.status_code == 403
    assert response.json() == envelope(
        "authentication_error", "permission_denied", "API key missing required scope 'project:read'"
    )


@pytest.mark.parametrize("project", ["999", "abc"])
def test_unknown_or_non_numeric_project_is_404_project_not_found(emulator: Any, project: str) -> None:
    response = session(emulator).get(f"{emulator.url}/api/environments/{project}/subscriptions/")
    assert response.status_code == 404
    assert response.json() == envelope("invalid_request", "not_found", "Project not found.")


def test_current_project_alias_is_accepted(emulator: Any) -> None:
    assert session(emulator).get(f"{emulator.url}/api/projects/@current/subscriptions/").status_code == 200


@pytest.mark.parametrize("prefix", ["environments", "projects"])
@pytest.mark.parametrize("slash", ["/", ""])
def test_both_prefixes_and_optional_trailing_slash_reach_the_same_view(
    emulator: Any, prefix: str, slash: str
) -> None:
    response = session(emulator).get(api(emulator, "warehouse_saved_queries", prefix) + slash)
    assert response.status_code == 200
    assert response.json()["count"] == 2


def test_project_object_is_served_for_connection_tests(emulator: Any) -> None:
    response = session(emulator).get(f"{emulator.url}/api/projects/{emulator.project_id}/")
    assert response.status_code == 200
    assert response.json()["id"] == emulator.project_id


def test_wrong_method_gets_405_envelope(emulator: Any) -> None:
    response = session(emulator).get(
        api(emulator, "session_summaries/create_session_summaries_individually/")
    )
    assert response.status_code == 405
    assert response.json() == envelope("invalid_request", "method_not_allowed", 'Method "GET" not allowed.')


def test_unknown_route_gets_404_envelope(emulator: Any) -> None:
    response = session(emulator).get(api(emulator, "no_such_thing/"))
    assert response.status_code == 404
    assert response.json() == envelope("invalid_request", "not_found", "Not found.")


def test_broken_json_gets_400_parse_error(emulator: Any) -> None:
    response = session(emulator).post(
        api(emulator, "subscriptions/"), data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["type"], body["code"], body["attr"]) == ("invalid_request", "parse_error", None)
    assert body["detail"].startswith("JSON parse error - ")


def test_request_log_records_auth_presence_but_never_the_key(emulator: Any) -> None:
    session(emulator).get(api(emulator, "subscriptions/"), params={"limit": "5"})
    requests.get(api(emulator, "subscriptions/"))
    entries = emulator.requests(method="GET", path=r"/subscriptions/$")
    assert [(entry["auth_present"], entry["status"], entry["query"]) for entry in entries] == [
        (True, 200, {"limit": "5"}),
        (False, 401, {}),
    ]
    assert emulator.api_key not in repr(entries)
