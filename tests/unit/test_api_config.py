"""Connection settings are validated before any request, naming the field to fix; the key never shows."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider.api.client import PostHogClient
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.connection_fields import normalize_host
from airflow_provider.api.endpoints import project
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.request import USER_AGENT, build_request

KEY = "phx_demo_all_scopes"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://us.posthog.com"),
        ("", None, "https://us.posthog.com"),
        ("https://eu.posthog.com/", None, "https://eu.posthog.com"),
        ("eu.posthog.com", None, "https://eu.posthog.com"),
        ("https://posthog.example.com/analytics/", None, "https://posthog.example.com/analytics"),
        ("http://127.0.0.1:8010", None, "http://127.0.0.1:8010"),
        ("http://localhost", 8010, "http://localhost:8010"),
        ("http://[::1]:9000", None, "http://[::1]:9000"),
        ("posthog.example.com", 8443, "https://posthog.example.com:8443"),
    ],
)
def test_host_is_normalized(host: str | None, port: int | None, expected: str) -> None:
    assert normalize_host(host, port=port) == expected


def test_plain_http_to_a_remote_host_is_refused_unless_allowed() -> None:
    with pytest.raises(
        PostHogConfigError,
        match=r"^The connection's 'host' must be an https:// URL .*; got 'http://posthog.internal'\. .*"
        r"allow_insecure_http",
    ):
        normalize_host("http://posthog.internal")
    assert normalize_host("http://posthog.internal", allow_insecure_http=True) == "http://posthog.internal"


@pytest.mark.parametrize(
    "host", ["ftp://us.posthog.com", "https://user:pw@us.posthog.com", "https://x.com/?a=1"]
)
def test_host_that_is_not_a_plain_base_url_is_refused(host: str) -> None:
    with pytest.raises(
        PostHogConfigError, match=r"^The connection's 'host' must be an? .*; got .*\.$"
    ) as refused:
        normalize_host(host)
    assert "pw" not in str(refused.value)  # credentials never reach a message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"api_key": ""}, r"The connection's 'password' must be the PostHog personal API key .*; got ''\."),
        (
            {"api_key": None},
            r"The connection's 'password' must be the PostHog personal API key .*; got None\.",
        ),
        ({"extra": {"project_id": "my-project"}}, r"project_id must be the numeric .*; got 'my-project'\."),
        ({"extra": {"project_id": True}}, r"project_id must be the numeric .* or '@current'; got True\."),
        ({"extra": {"timeout": "soon"}}, r"timeout must be a number of seconds greater than 0; got 'soon'\."),
        ({"extra": {"timeout": 0}}, r"timeout must be a number of seconds greater than 0; got 0\."),
        ({"extra": {"max_retries": -1}}, r"max_retries must be an integer from 0 to 20; got -1\."),
        ({"extra": {"max_retries": 99}}, r"max_retries must be an integer from 0 to 20; got 99\."),
        ({"extra": {"api_prefix": "env"}}, r"extra 'api_prefix' must be one of 'projects', .*; got 'env'\."),
        (
            {"extra": {"allow_insecure_http": "maybe"}},
            r"extra 'allow_insecure_http' must be true or false; got 'maybe'\.",
        ),
        (
            {"extra": {"rate_limit": "sometimes"}},
            r"extra 'rate_limit' must be true or false; got 'sometimes'\.",
        ),
    ],
)
def test_bad_connection_fields_name_the_field(fields: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"host": "https://us.posthog.com", "api_key": KEY, "extra": {}, **fields}
    # The one format of every argument check: "<field> must be <what is allowed>; got <value>."
    with pytest.raises(PostHogConfigError, match=f"^{message}$"):
        ClientConfig.from_connection_fields(**arguments)


def test_extras_arrive_as_text_from_the_ui_and_uris() -> None:
    config = ClientConfig.from_connection_fields(
        host="https://eu.posthog.com",
        api_key=KEY,
        extra={
            "project_id": "12345",
            "timeout": "45",
            "max_retries": "2",
            "verify": "false",
            "rate_limit": "0",
        },
    )
    assert (config.project_id, config.timeout, config.max_retries) == ("12345", 45.0, 2)
    assert config.verify is False
    assert config.rate_limit is False
    assert ClientConfig.from_connection_fields(
        host=None, api_key=KEY, extra={"verify": "/etc/ca.pem"}
    ).verify == ("/etc/ca.pem")


def test_arguments_override_extras() -> None:
    config = ClientConfig.from_connection_fields(
        host=None, api_key=KEY, extra={"project_id": 1, "timeout": 5}, project_id=2, timeout=60, max_retries=0
    )
    assert (config.project_id, config.timeout, config.max_retries) == ("2", 60.0, 0)


def test_missing_project_id_is_reported_before_any_request() -> None:
    config = ClientConfig.from_connection_fields(host="https://us.posthog.com", api_key=KEY, extra={})
    with pytest.raises(PostHogConfigError, match="extra 'project_id'"):
        PostHogClient(config).call(project())


def test_requests_carry_bearer_auth_and_a_user_agent_naming_the_provider() -> None:
    config = ClientConfig.from_connection_fields(host="eu.posthog.com", api_key=KEY, extra={"project_id": 7})
    sent = build_request(config, project())
    assert sent.url == "https://eu.posthog.com/api/projects/7/"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("airflow-provider-posthog/")
    assert KEY not in USER_AGENT


def test_key_is_in_no_repr() -> None:
    config = ClientConfig.from_connection_fields(host=None, api_key=KEY, extra={"project_id": 7})
    client = PostHogClient(config)
    sent = build_request(config, project())
    for text in (repr(config), repr(client), repr(client.transport), repr(sent), str(config)):
        assert KEY not in text
    assert config.key_fingerprint not in KEY
