"""``EmulatorClient``: drive an emulator (faults, request log, counts, config, reset) over its control API."""

from __future__ import annotations

import json
from typing import Any

import requests


class EmulatorClient:
    """Control an emulator running anywhere (another process, a container) through ``/_emulator/...``.

    :param url: the emulator's base URL, e.g. ``http://127.0.0.1:8010``.
    :param timeout: seconds to wait for each control call.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()
        self._info: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @property
    def project_id(self) -> int:
        """The seeded project's id."""
        return int(self._about()["project_id"])

    @property
    def api_key(self) -> str:
        """The seeded personal API key with scope ``*`` (a demo key, not a secret)."""
        return str(self._about()["api_key"])

    @property
    def read_only_key(self) -> str:
        """The seeded personal API key with only ``:read`` scopes."""
        return str(self._about()["read_only_key"])

    @property
    def recordings_only_key(self) -> str:
        """The seeded personal API key with only ``session_recording:read`` (not ``project:read``)."""
        return str(self._about()["recordings_only_key"])

    def airflow_conn_json(self, key: str | None = None) -> str:
        """A JSON connection for ``AIRFLOW_CONN_POSTHOG_DEFAULT`` that points at this emulator.

        :param key: personal API key to use; the all-scopes key by default.
        """
        return connection_json(self.url, self.project_id, key or self.api_key)

    def add_fault(
        self,
        method: str | None = "POST",
        path: str = "",
        *,
        kind: str = "status",
        status: int | None = 502,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> dict[str, Any]:
        """Make the next ``times`` requests matching ``method`` and ``path`` misbehave.

        :param method: HTTP method to match, ``None`` for any.
        :param path: regular expression searched in the request path.
        :param kind: ``status``, ``delay``, ``drop``, ``malformed`` or ``after_processing``.
        :param status: status to answer (``status``); for ``after_processing`` the status sent after
            the work was done, or ``None`` to drop the connection instead.
        :param times: how many matching requests; ``None`` for every one.
        :param retry_after: ``Retry-After`` seconds to send with the status.
        :param delay: seconds to wait before answering (or before processing, for ``delay``).
        :raises ValueError: for an invalid fault.
        """
        spec = {
            "method": method,
            "path": path,
            "kind": kind,
            "status": status,
            "times": times,
            "retry_after": retry_after,
            "delay": delay,
        }
        return dict(self._call("POST", "faults", json=spec))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._call("DELETE", "faults")

    def faults(self) -> list[dict[str, Any]]:
        """Faults not used up yet."""
        return list(self._call("GET", "faults"))

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Requests the emulator saw, oldest first.

        :param method: only this HTTP method.
        :param path: only paths where this regular expression is found.
        """
        params = {name: value for name, value in (("method", method), ("path", path)) if value}
        return list(self._call("GET", "requests", params=params))

    def counts(self) -> dict[str, int]:
        """Live object counts (``subscriptions``, ``saved_queries``, ``summaries_generated``, ...)."""
        return dict(self._call("GET", "counts"))

    def summary_generations(self) -> dict[str, int]:
        """How often each ``"<session id>|<focus area>"`` was summarised; cache hits do not count."""
        return dict(self._call("GET", "summary_generations"))

    def configure(self, **overrides: Any) -> dict[str, Any]:
        """Change settings now (see ``EmulatorConfig``); returns every setting.

        :param overrides: setting names and values.
        :raises ValueError: for an unknown setting or a bad value.
        """
        return dict(self._call("POST", "config", json=overrides))

    def config(self) -> dict[str, Any]:
        """Every setting with its current value."""
        return dict(self._call("GET", "config"))

    def refresh_on_schedule(self, name: str, outcome: str = "Completed") -> dict[str, Any]:
        """Make PostHog's schedule refresh a materialized view now: a job that has already ended.

        :param name: the view's name.
        :param outcome: how the job ends: ``Completed``, ``Failed``, ``Cancelled`` or ``Skipped``.
        :returns: the job as PostHog's API shows it, or ``{"skipped": <PostHog's reason>}`` when the
            view is suspended (PostHog's schedule skips it).
        :raises ValueError: for an unknown or unmaterialized view, or a bad outcome.
        """
        return dict(self._call("POST", "scheduled_refresh", json={"name": name, "outcome": outcome}))

    def preempt(self, name: str) -> dict[str, Any]:
        """Make a new run of a view's DAG preempt the view's running job, as PostHog does.

        :param name: the view's name.
        :returns: ``{"preempted": <job>, "started": <job>}`` as PostHog's API shows them.
        :raises ValueError: for an unknown view or one with no running job.
        """
        return dict(self._call("POST", "preempt", json={"name": name}))

    def reset(self) -> None:
        """State back to the seed, faults and log cleared, settings back to the start-up ones."""
        self._call("POST", "reset")

    def close(self) -> None:
        """Close the control connection."""
        self._http.close()

    def _about(self) -> dict[str, Any]:
        if self._info is None:
            self._info = dict(self._call("GET", "info"))
        return self._info

    def _call(self, method: str, name: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"{self.url}/_emulator/{name}", timeout=self.timeout, **kwargs)
        if response.status_code == 400:
            raise ValueError(response.json().get("error", response.text))
        response.raise_for_status()
        return response.json() if response.content else None


def connection_json(url: str, project_id: int, key: str) -> str:
    """An Airflow connection in JSON form (``AIRFLOW_CONN_POSTHOG_DEFAULT``) for an emulator.

    :param url: the emulator's base URL.
    :param project_id: the project to use.
    :param key: the personal API key to send.
    """
    return json.dumps(
        {"conn_type": "posthog", "host": url, "password": key, "extra": {"project_id": str(project_id)}}
    )
