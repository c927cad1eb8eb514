"""Every seeded session in small batches, retried after a second: the CeleryExecutor suite's killed worker.

The example DAG retries after five minutes and sends 100 sessions a request; this one sends two a request,
so a worker killed mid-task leaves a progress folder behind, and retries at once, so the retry on the other
worker is seen within the test.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import DAG

from airflow_provider.operators.session_summaries import PostHogSessionSummariesOperator

OUTPUT_DIR = os.environ.get("POSTHOG_SUMMARIES_DIR", "file:///tmp/posthog-summaries")

with DAG(
    dag_id="e2e_celery_summaries",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    default_args={"retries": 2, "retry_delay": dt.timedelta(seconds=1)},
    tags=["e2e"],
) as dag:
    PostHogSessionSummariesOperator(
        task_id="summarise_sessions",
        focus_area="Where do users get stuck or see errors?",
        batch_size=2,
        # The emulator seeds sessions over the seven days before it starts.
        lookback=dt.timedelta(days=8),
        output_path=OUTPUT_DIR + "/killed-worker/{{ dag_run.run_after | ts_nodash }}.jsonl",
    )
