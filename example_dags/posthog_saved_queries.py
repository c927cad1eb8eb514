"""Refresh a PostHog warehouse view every day and let downstream work wait for it.

upsert the view → run it (deferrable: the wait happens in the triggerer, not a worker slot) →
a sensor in another task waits for that run → a downstream task uses the result.

The connection ``posthog_default`` needs a personal API key with ``warehouse_view:write``. Try it
offline against the bundled emulator:
``python -m airflow_provider.emulator --port 8010 --seed demo`` and point the connection at it.

``POSTHOG_SAVED_QUERIES_DEFERRABLE=false`` builds the same DAG waiting on workers instead (the sensor
then pokes), and ``POSTHOG_SAVED_QUERIES_CHECK_INTERVAL`` sets the seconds between checks; the tests
run it both ways.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider.operators.saved_queries import (
    PostHogCreateOrUpdateSavedQueryOperator,
    PostHogRunSavedQueryOperator,
)
from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor

VIEW_NAME = "daily_pageviews"
VIEW_QUERY = (
    "select toDate(timestamp) as day, count() as pageviews from events where event = '$pageview' group by day"
)


def build_dag(*, deferrable: bool = True, check_interval: float = 30.0) -> DAG:
    """Build the DAG; ``deferrable=False`` runs the same steps on workers (the sensor then pokes).

    :param deferrable: wait in the triggerer (run operator and sensor) or on a worker.
    :param check_interval: seconds between status checks of the run operator and the sensor.
    """
    with DAG(
        dag_id="posthog_saved_queries",
        schedule="@daily",
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["posthog", "example"],
    ) as dag:
        upsert_view = PostHogCreateOrUpdateSavedQueryOperator(
            task_id="upsert_view", name=VIEW_NAME, query=VIEW_QUERY
        )
        run_view = PostHogRunSavedQueryOperator(
            task_id="run_view",
            saved_query_id="{{ ti.xcom_pull(task_ids='upsert_view')['id'] }}",
            check_interval=check_interval,
            timeout=3600,
            deferrable=deferrable,
        )
        wait_for_view = PostHogSavedQuerySensor(
            task_id="wait_for_view",
            saved_query_id="{{ ti.xcom_pull(task_ids='upsert_view')['id'] }}",
            requested_after="{{ ti.xcom_pull(task_ids='run_view')['requested_at'] }}",
            poke_interval=check_interval,
            timeout=3600,
            mode="poke",
            deferrable=deferrable,
        )

        @task
        def report(view: Any, run: Any) -> str:
            """Stand-in for the work that reads the fresh view."""
            return f"{view['name']} refreshed by job {run['job_id']} ({run['status']})"

        upsert_view >> run_view >> wait_for_view
        wait_for_view >> report(upsert_view.output, wait_for_view.output)
    return dag


dag = build_dag(
    deferrable=os.environ.get("POSTHOG_SAVED_QUERIES_DEFERRABLE", "true").lower() != "false",
    check_interval=float(os.environ.get("POSTHOG_SAVED_QUERIES_CHECK_INTERVAL", "30")),
)
