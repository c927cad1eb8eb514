"""Runs each time the ``posthog_saved_queries`` DAG has refreshed the ``daily_pageviews`` view.

Scheduled on the view's asset, ``posthog://<host>/<project>/saved_queries/daily_pageviews``. The
producer's run task emits one event per completed run; its extra says which job refreshed the view,
how many rows it wrote and PostHog's ``last_run_at``.

The file reads no connection when it is parsed: ``POSTHOG_HOST`` and ``POSTHOG_PROJECT_ID`` name the
PostHog host and project that the ``posthog_default`` connection points at (default: the emulator of
the README, ``http://127.0.0.1:8010``, project 1). They must be the connection's, or the asset is
another one and this DAG never runs: the producer's task log names the asset it emitted.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider.assets import posthog_saved_query_asset

# The view posthog_saved_queries.py upserts and runs.
DAILY_PAGEVIEWS = posthog_saved_query_asset(
    "daily_pageviews",
    host=os.environ.get("POSTHOG_HOST", "http://127.0.0.1:8010"),
    project_id=os.environ.get("POSTHOG_PROJECT_ID", "1"),
)

with DAG(
    dag_id="posthog_saved_query_consumer",
    schedule=[DAILY_PAGEVIEWS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["posthog", "example", "assets"],
):

    @task(inlets=[DAILY_PAGEVIEWS])
    def use_fresh_view(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """Stand-in for the work that reads the refreshed view: report what refreshed it."""
        refreshes = [dict(event.extra) for event in triggering_asset_events[DAILY_PAGEVIEWS]]
        for extra in refreshes:
            print(
                f"{extra.get('name')} refreshed by job {extra.get('job_id')} ({extra.get('status')}): "
                f"{extra.get('rows_materialized')} rows, last_run_at {extra.get('last_run_at')}"
            )
        return refreshes

    use_fresh_view()
