"""A saved-query run whose wait ends at a short deadline: the end-to-end tests' timeout case.

The example DAG waits up to an hour; this one gives up after ``RUN_TIMEOUT_SECONDS``, so a run the
emulator keeps ``Running`` longer must end with the trigger's timeout and a cancel request.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider.operators.saved_queries import (
    PostHogCreateOrUpdateSavedQueryOperator,
    PostHogRunSavedQueryOperator,
)

RUN_TIMEOUT_SECONDS = 8

with DAG(
    dag_id="e2e_saved_query_deadline",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["e2e"],
) as dag:
    upsert_view = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert_view", name="e2e_deadline_view", query="select 1 as one"
    )
    PostHogRunSavedQueryOperator(
        task_id="run_view",
        saved_query_id="{{ ti.xcom_pull(task_ids='upsert_view')['id'] }}",
        check_interval=1,
        timeout=RUN_TIMEOUT_SECONDS,
        deferrable=True,
    ).set_upstream(upsert_view)
