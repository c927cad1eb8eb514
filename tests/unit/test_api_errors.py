"""Error answers become the right exception with PostHog's fields and a message that says what to do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider.api.call import ApiCall
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import (
    PostHogAPIError,
    PostHogAuthenticationError,
    PostHogNotFoundError,
    PostHogPermissionError,
    PostHogRateLimitError,
    PostHogServerError,
    PostHogValidationError,
)
from airflow_provider.api.request import build_request
from airflow_provider.api.response import RawResponse, error_from_response

KEY = "phx_demo_all_scopes"
CONFIG = ClientConfig(host="https://eu.posthog.com", api_key=KEY, project_id="42", rate_limit=False)
REQUEST = build_request(CONFIG, ApiCall("POST", "subscriptions"))


def envelope(type_: str, code: str, detail: str, attr: str | None = None) -> bytes:
    return json.dumps({"type": type_, "code": code, "detail": detail, "attr": attr}).encode()


def error_for(status: int, body: bytes, **headers: str) -> PostHogAPIError:
    return error_from_response(REQUEST, RawResponse(status, headers, body))


@pytest.mark.parametrize(
    ("status", "body", "error_class", "fields", "advice"),
    [
        (
            400,
            envelope("validation_error", "required", "This field is required.", "target_type"),
            PostHogValidationError,
            {"type": "validation_error", "code": "required", "attr": "target_type"},
            "Fix the field 'target_type'",
        ),
        (
            401,
            envelope(
                "authentication_error",
                "authentication_failed",
                "Personal API key found in request Authorization header is invalid.",
            ),
            PostHogAuthenticationError,
            {"code": "authentication_failed"},
            "region",
        ),
        (
            403,
            envelope(
                "authentication_error",
                "permission_denied",
                "API key missing required scope 'subscription:write'",
            ),
            PostHogPermissionError,
            {"code": "permission_denied"},
            "Add the scope 'subscription:write' to the personal API key",
        ),
        (
            403,
            envelope(
                "authentication_error",
                "permission_denied",
                "API key does not have access to the requested project: ID 42.",
            ),
            PostHogPermissionError,
            {},
            "project",
        ),
        (
            403,
            envelope(
                "authentication_error",
                "permission_denied",
                "This action does not support personal API key access",
            ),
            PostHogPermissionError,
            {},
            "does not allow this action with a personal API key",
        ),
        (
            404,
            envelope("invalid_request", "not_found", "Project not found."),
            PostHogNotFoundError,
            {"code": "not_found"},
            "Check the project_id",
        ),
        (
            404,
            envelope("invalid_request", "not_found", "Not found."),
            PostHogNotFoundError,
            {},
            "does not exist in this project",
        ),
        (
            405,
            b"",
            PostHogValidationError,
            {"detail": "Method Not Allowed", "code": None},
            "does not allow POST",
        ),
        (
            415,
            envelope(
                "invalid_request", "unsupported_media_type", 'Unsupported media type "application/json".'
            ),
            PostHogValidationError,
            {"code": "unsupported_media_type"},
            "Fix the request",
        ),
        (
            429,
            envelope(
                "throttled_error", "throttled", "Request was throttled. Expected available in 62 seconds."
            ),
            PostHogRateLimitError,
            {"retry_after": 62.0},
            "asked to wait 62 s",
        ),
        (
            500,
            json.dumps({"error": "Materialization failed. Please try again or contact support."}).encode(),
            PostHogServerError,
            {"detail": "Materialization failed. Please try again or contact support.", "type": None},
            "retry later",
        ),
        (
            409,
            json.dumps({"detail": "Delivery already in progress"}).encode(),
            PostHogValidationError,
            {"detail": "Delivery already in progress", "code": None},
            "",
        ),
        (
            400,
            json.dumps({"dashboard": ["This dashboard does not belong to your team."]}).encode(),
            PostHogValidationError,
            {"attr": "dashboard", "detail": "This dashboard does not belong to your team."},
            "Fix the field 'dashboard'",
        ),
    ],
)
def test_error_answer_maps_to_class_fields_and_advice(
    status: int, body: bytes, error_class: type[PostHogAPIError], fields: dict[str, Any], advice: str
) -> None:
    error = error_for(status, body, **({"retry-after": "62"} if status == 429 else {}))
    assert type(error) is error_class
    assert error.status == status
    assert error.method == "POST"
    assert error.path == "/api/projects/42/subscriptions/"
    for name, value in fields.items():
        assert getattr(error, name) == value
    assert advice in str(error)


def test_unauthorized_message_points_at_the_us_and_eu_hosts() -> None:
    message = str(error_for(401, envelope("authentication_error", "not_authenticated", "No credentials.")))
    assert "https://eu.posthog.com" in message
    assert "https://us.posthog.com" in message


def test_html_from_a_proxy_gives_a_readable_error() -> None:
    html = (
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1> nginx</body></html>"
    )
    error = error_for(502, html, **{"content-type": "text/html"})
    assert isinstance(error, PostHogServerError)
    assert "not JSON (text/html)" in error.detail
    assert "502 Bad Gateway" in error.detail
    assert "<h1>" not in str(error)


def test_truncated_json_body_is_described_not_raised() -> None:
    error = error_for(400, b'{"type": "validation_error", "detail": "cut')
    assert isinstance(error, PostHogValidationError)
    assert "not JSON" in error.detail


def test_a_key_echoed_by_the_server_is_redacted() -> None:
    error = error_for(400, json.dumps({"detail": f"bad key {KEY}"}).encode())
    assert KEY not in str(error)
    assert KEY not in error.detail


def test_redirect_says_where_to_point_the_host() -> None:
    error = error_for(301, b"", location="https://us.posthog.com/api/projects/42/subscriptions/")
    assert type(error) is PostHogAPIError
    assert "set the connection's host" in str(error)


def test_delete_refused_with_an_empty_405_points_at_the_soft_delete() -> None:
    request = build_request(CONFIG, ApiCall("DELETE", "subscriptions/5"))
    error = error_from_response(request, RawResponse(405, {}, b""))
    assert isinstance(error, PostHogValidationError)
    assert error.detail == "Method Not Allowed"
    assert 'PATCH {"deleted": true}' in str(error)
