"""Runs when PostHog itself refreshes a materialized view: no Airflow task asks for the refresh.

PostHog refreshes a materialized view on its own schedule (``sync_frequency``). An ``AssetWatcher``
with :class:`PostHogSavedQueryRefreshedTrigger` polls the view's jobs in the triggerer and emits one
asset event per newly completed job; this DAG is scheduled on that asset. The event's extra holds the
job id, its status, rows materialized and ``last_run_at``.

Watch a view here or run it from a DAG with outlets, not both: the watcher reports every completed
job, explicit runs included, so the same refresh would be emitted twice.

``POSTHOG_WATCH_POLL_INTERVAL`` (seconds, default 60) sets how often the watcher looks.

The file reads no connection when it is parsed: ``POSTHOG_HOST`` and ``POSTHOG_PROJECT_ID`` name the
PostHog host and project that the ``posthog_default`` connection points at (default: the emulator of
the README, ``http://127.0.0.1:8010``, project 1), for the asset's URI. The watcher's trigger reads the
connection in the triggerer and emits on this asset whatever its URI, so this DAG runs either way; the
URI is what lineage and the UI show, and what a DAG that runs the view emits.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, AssetWatcher, task

from airflow_provider.assets import posthog_saved_query_asset
from airflow_provider.triggers.saved_query_refreshes import PostHogSavedQueryRefreshedTrigger

VIEW_NAME = "daily_signups"

daily_signups = posthog_saved_query_asset(
    VIEW_NAME,
    host=os.environ.get("POSTHOG_HOST", "http://127.0.0.1:8010"),
    project_id=os.environ.get("POSTHOG_PROJECT_ID", "1"),
)
daily_signups.watchers = [
    AssetWatcher(
        name=f"{VIEW_NAME}_refreshed",
        trigger=PostHogSavedQueryRefreshedTrigger(
            saved_query_name=VIEW_NAME,
            poll_interval=float(os.environ.get("POSTHOG_WATCH_POLL_INTERVAL", "60")),
        ),
    )
]

with DAG(
    dag_id="posthog_view_refreshed",
    schedule=[daily_signups],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["posthog", "example", "assets"],
):

    @task
    def react_to_refresh(triggering_asset_events: Any = None) -> list[str]:
        """Stand-in for the work that follows PostHog's refresh: log each job that refreshed the view."""
        jobs = []
        for event in triggering_asset_events[daily_signups]:
            extra = event.extra.get("payload", event.extra)
            print(f"{VIEW_NAME} refreshed by PostHog: job {extra.get('job_id')} ({extra.get('status')})")
            jobs.append(str(extra.get("job_id")))
        return jobs

    react_to_refresh()
