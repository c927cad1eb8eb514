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


#: A failure of the view's own making: PostHog counts it towards suspending the view.
OWN_FAILURE = "Query failed: Code: 241. DB::Exception: Memory limit (total) exceeded."


def suspend(emulator: Any, saved_query_id: str, name: str) -> dict[str, Any]:
    """Materialize the view and make its refreshes fail until PostHog suspends it (five in a row);
    jobs started afterwards complete at once.

    :param emulator: the emulator.
    :param saved_query_id: the view's id.
    :param name: the view's name.
    :return: the view as PostHog answers it, suspended.
    """
    emulator.configure(job_run_seconds=0, job_outcome="Failed", job_error=OWN_FAILURE)
    PostHogHook().materialize_saved_query(saved_query_id)  # its first refresh fails
    for _ in range(4):
        emulator.refresh_on_schedule(name, outcome="Failed")
    emulator.configure(job_outcome="Completed")
    view = PostHogHook().get_saved_query(saved_query_id)
    assert view["suspended"], "five failed refreshes in a row suspend the view"
    return view
