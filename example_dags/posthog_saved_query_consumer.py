"""Runs each time the ``posthog_saved_queries`` DAG has refreshed the ``daily_pageviews`` view.

Scheduled on the view's asset, ``posthog://<host>/<project>/saved_queries/daily_pageviews``, which
``posthog_saved_query_asset`` builds from the ``posthog_default`` connection when the file is parsed.
The producer's run task emits one event per completed run; its extra says which job refreshed the
view, how many rows it wrote and PostHog's ``last_run_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider.assets import posthog_saved_query_asset

# The view posthog_saved_queries.py upserts and runs.
DAILY_PAGEVIEWS = posthog_saved_query_asset("daily_pageviews")

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
