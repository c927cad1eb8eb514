"""Small helpers for the emulator's contract tests (plain ``requests``, not the provider's client)."""

from __future__ import annotations

from typing import Any

import requests


def api(emulator: Any, path: str, prefix: str = "projects") -> str:
    """The URL of ``path`` under the seeded project.

    :param emulator: the running emulator.
    :param path: e.g. ``subscriptions/``.
    :param prefix: ``projects`` (PostHog's canonical prefix) or ``environments`` (the alias).
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
