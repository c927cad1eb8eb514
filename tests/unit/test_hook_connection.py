"""The hook reads both documented connection forms (env JSON and URI) and checks them before any request."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from airflow.sdk import Connection

from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook

KEY = "phx_demo_all_scopes"

JSON_FORM = json.dumps(
    {
        "conn_type": "posthog",
        "host": "https://eu.posthog.com",
        "password": KEY,
        "extra": {"project_id": "12345", "timeout": 45, "max_retries": 2},
    }
)
URI_FORM = f"posthog://https://:{KEY}@eu.posthog.com/?project_id=12345&timeout=45&max_retries=2"


@pytest.mark.parametrize("value", [JSON_FORM, URI_FORM], ids=["json", "uri"])
def test_hook_reads_the_env_var_connection_forms(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", value)
    config = PostHogHook().get_conn().config
    assert (config.host, config.api_key, config.project_id) == ("https://eu.posthog.com", KEY, "12345")
    assert (config.timeout, config.max_retries) == (45.0, 2)


@pytest.mark.parametrize("value", [JSON_FORM, URI_FORM], ids=["json", "uri"])
def test_async_hook_reads_the_same_forms(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", value)

    async def read() -> tuple[str, str | None]:
        async with PostHogAsyncHook() as hook:
            config = (await hook.get_conn()).config
            return config.host, config.project_id

    assert asyncio.run(read()) == ("https://eu.posthog.com", "12345")


@pytest.mark.parametrize(
    ("uri", "host"),
    [
        (f"posthog://https://:{KEY}@us.posthog.com/?project_id=12345", "https://us.posthog.com"),
        (f"posthog://:{KEY}@posthog.example.com/?project_id=12345", "https://posthog.example.com"),
        (f"posthog://http://:{KEY}@127.0.0.1:8010/?project_id=12345", "http://127.0.0.1:8010"),
    ],
)
def test_documented_uri_forms_give_the_expected_host(
    uri: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", uri)
    config = PostHogHook().get_conn().config
    assert (config.host, config.project_id) == (host, "12345")


def test_connection_helpers_round_trip_through_the_uri_form() -> None:
    conn = Connection(
        conn_id="posthog_default",
        conn_type="posthog",
        host="https://eu.posthog.com",
        password="phx_with/odd@chars",
        extra=json.dumps({"project_id": "12345"}),
    )
    back = Connection.from_uri(conn.get_uri(), conn_id="posthog_default")
    assert (back.conn_type, back.host, back.password) == (
        "posthog",
        "https://eu.posthog.com",
        "phx_with/odd@chars",
    )
    assert back.extra_dejson == {"project_id": "12345"}


def test_missing_key_is_reported_naming_the_password_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps({"conn_type": "posthog", "extra": {"project_id": 1}})
    )
    with pytest.raises(
        PostHogConfigError, match=r"^The connection's 'password' must be the PostHog personal"
    ):
        PostHogHook().get_conn()
    ok, message = PostHogHook().test_connection()
    assert not ok
    assert "The connection's 'password' must be the PostHog personal API key" in message


def test_bad_project_id_argument_is_refused_at_construction() -> None:
    with pytest.raises(PostHogConfigError, match=r"^project_id must be the numeric .*; got 'my project'\.$"):
        PostHogHook(project_id="my project")


def test_hook_metadata_matches_the_connection_type() -> None:
    assert PostHogHook.conn_name_attr == "posthog_conn_id"
    assert PostHogHook.default_conn_name == "posthog_default"
    assert PostHogHook.conn_type == "posthog"
    assert PostHogHook.hook_name == "PostHog"
    assert KEY not in repr(PostHogHook(project_id=1))


def test_importing_the_hook_and_building_its_client_loads_no_http_library() -> None:
    script = (
        "import sys, airflow.sdk\n"
        "before = {'requests', 'aiohttp'} & set(sys.modules)\n"
        "from airflow_provider.hooks.posthog import PostHogHook\n"
        "PostHogHook().get_conn()\n"
        "print(sorted(({'requests', 'aiohttp'} & set(sys.modules)) - before))\n"
    )
    env = {**os.environ, "AIRFLOW_CONN_POSTHOG_DEFAULT": JSON_FORM}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
