"""Small helpers for the emulator's contract tests (plain ``requests``, not the provider's client)."""

from __future__ import annotations

import time
from typing import Any

import requests


def api(emulator: Any, path: str, prefix: str = "environments") -> str:
    """The URL of ``path`` under the seeded project.

    :param emulator: the running emulator.
    :param path: e.g. ``subscriptions/``.
    :param prefix: ``environments`` or ``projects``.
    """
    return f"{emulator.url}/api/{prefix}/{emulator.project_id}/{path}"


def session(emulator: Any, key: str | None = None) -> requests.Session:
    """A keep-alive session sending ``key`` (the all-scopes key by default) as a Bearer token.

    :param emulator: the running emulator.
    :param key: personal API key.
    """
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key or emulator.api_key}"
    return http


def envelope(error_type: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    """PostHog's error body.

    :param error_type: ``type``.
    :param code: ``code``.
    :param detail: ``detail``.
    :param attr: ``attr``.
    """
    return {"type": error_type, "code": code, "detail": detail, "attr": attr}


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; that value.

    :param predicate: a function of no arguments.
    :param timeout: seconds before giving up.
    :param interval: seconds between polls.
    :raises AssertionError: when it never became truthy.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value {value!r})")
        time.sleep(interval)
