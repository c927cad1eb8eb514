"""The PostHog project the live suite runs against, named by ``POSTHOG_LIVE_*`` variables (docs/live.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

#: The connection id the live suite's DAGs use.
CONN_ID = "posthog_live"
REQUIRED = ("POSTHOG_LIVE_HOST", "POSTHOG_LIVE_API_KEY", "POSTHOG_LIVE_PROJECT_ID")


def missing_variables(environ: Mapping[str, str]) -> list[str]:
    """The required variables that are unset or blank.

    :param environ: the environment.
    """
    return [name for name in REQUIRED if not environ.get(name, "").strip()]


@dataclass(frozen=True)
class LiveTarget:
    """The PostHog project the suite runs against.

    :param host: ``POSTHOG_LIVE_HOST``, e.g. ``https://us.posthog.com``.
    :param api_key: ``POSTHOG_LIVE_API_KEY``, a personal API key.
    :param project_id: ``POSTHOG_LIVE_PROJECT_ID``.
    :param write: ``POSTHOG_LIVE_WRITE=1`` runs the write checks too.
    :param insight_id: ``POSTHOG_LIVE_INSIGHT_ID``, the insight the write checks subscribe to.
    """

    host: str
    api_key: str = field(repr=False)  # never in a test report
    project_id: str
    write: bool
    insight_id: int | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> LiveTarget:
        """Read the variables (the required ones are set: without them ``conftest.py`` skips the tests).

        :param environ: the environment.
        """
        insight = environ.get("POSTHOG_LIVE_INSIGHT_ID", "").strip()
        if insight and not insight.isdigit():
            pytest.fail(f"POSTHOG_LIVE_INSIGHT_ID must be an insight's numeric id; got {insight!r}.")
        return cls(
            host=environ["POSTHOG_LIVE_HOST"].strip(),
            api_key=environ["POSTHOG_LIVE_API_KEY"].strip(),
            project_id=environ["POSTHOG_LIVE_PROJECT_ID"].strip(),
            write=environ.get("POSTHOG_LIVE_WRITE", "").strip() == "1",
            insight_id=int(insight) if insight else None,
        )

    def connection_json(self) -> str:
        """The Airflow connection to this project, for ``AIRFLOW_CONN_POSTHOG_LIVE``."""
        return json.dumps(
            {
                "conn_type": "posthog",
                "host": self.host,
                "password": self.api_key,
                "extra": {"project_id": self.project_id},
            }
        )
