"""What the saved-query tests read from the emulator: the requests it saw, and runs that have ended."""

from __future__ import annotations

from typing import Any

from helpers import wait_until

from airflow_provider.hooks.posthog import PostHogHook

#: How long an emulated data-modeling job runs in these tests.
JOB_SECONDS = 0.3


def run_posts(emulator: Any) -> list[dict[str, Any]]:
    """The ``run`` requests the emulator received, for any saved query."""
    return emulator.requests(method="POST", path=r"/warehouse_saved_queries/[^/]+/run/?$")


def cancel_posts(emulator: Any) -> list[dict[str, Any]]:
    """The ``cancel`` requests the emulator received, for any saved query."""
    return emulator.requests(method="POST", path=r"/warehouse_saved_queries/[^/]+/cancel/?$")


def job_polls(emulator: Any) -> list[dict[str, Any]]:
    """The reads of ``data_modeling_jobs`` the emulator received (baseline reads and polls)."""
    return emulator.requests(method="GET", path="data_modeling_jobs")


def wait_for_newest_job_to_end(saved_query_id: str) -> dict[str, Any]:
    """Wait until the saved query's newest job has ended (an earlier run, before the one under test).

    :param saved_query_id: the saved query whose newest job is watched.
    :return: that job as PostHog lists it.
    """

    def ended() -> dict[str, Any] | None:
        newest = next(
            iter(PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query_id, page_size=1)), None
        )
        return newest if newest is not None and newest["status"] != "Running" else None

    return wait_until(ended, what=f"the newest job of saved query {saved_query_id} to end")
