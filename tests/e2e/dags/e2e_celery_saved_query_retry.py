"""A saved-query run waited for on a worker, retried at once: the CeleryExecutor suite's killed wait.

The example DAG defers; this one waits on the worker (``deferrable=False``), so a worker killed during
the wait takes the try with it, and retries after a second, so the retry on the other worker is seen
within the test.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider.operators.saved_queries import (
    PostHogCreateOrUpdateSavedQueryOperator,
    PostHogRunSavedQueryOperator,
)

with DAG(
    dag_id="e2e_celery_saved_query_retry",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["e2e"],
) as dag:
    upsert_view = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert_view", name="e2e_retried_wait_view", query="select 1 as one"
    )
    PostHogRunSavedQueryOperator(
        task_id="run_view",
        saved_query_id="{{ ti.xcom_pull(task_ids='upsert_view')['id'] }}",
        check_interval=1,
        timeout=300,
        deferrable=False,
        retries=1,
        retry_delay=dt.timedelta(seconds=1),
    ).set_upstream(upsert_view)
