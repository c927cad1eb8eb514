"""Fixtures of the integration tests (the emulator over loopback, the provider's real hook)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from saved_query_emulator import JOB_SECONDS

from airflow_provider.hooks.posthog import PostHogHook


@pytest.fixture
def hook(posthog_conn: Any) -> Iterator[PostHogHook]:
    """The provider's hook on ``posthog_conn`` (the emulator), closed after the test."""
    posthog = PostHogHook()
    yield posthog
    posthog.close()


@pytest.fixture
def saved_query(posthog_conn: Any) -> dict[str, Any]:
    """A fresh view in the emulator whose runs end after :data:`saved_query_emulator.JOB_SECONDS`."""
    posthog_conn.configure(job_run_seconds=JOB_SECONDS)
    return PostHogHook().create_saved_query("airflow_operator_test", "select event from events")


@pytest.fixture
def saved_query_id(saved_query: dict[str, Any]) -> str:
    """The id of :func:`saved_query`."""
    return str(saved_query["id"])
