"""Every day: PostHog's AI summary of the sessions that matter from the day before, and a digest to read.

Only the sessions worth reading are summarised: ``recording_filters`` (PostHog's own recording
filters, checked before sending) keeps the recordings with some activity and leaves out the team's test
accounts. Summaries PostHog already stored are reused, so a rerun or backfill pays only for what is
new. Beside the JSON Lines file goes a Markdown digest (``<day>.md``): counts, outcomes and the sessions
with problems first, each with a link to its replay in PostHog.

The schedule is a ``CronDataIntervalTimetable``: each run covers the previous UTC day
(``data_interval_start`` .. ``data_interval_end``) and writes ``<that day>.jsonl``. A plain ``"@daily"``
would not: in Airflow 3 it gives runs with an empty interval, and the operator refuses those unless told
a ``lookback``.

A run triggered without a logical date (Airflow 3's default in the REST API and the UI) has no data
interval. ``lookback=timedelta(days=1)`` makes it cover the day before its ``run_after`` and it writes
``until-<run_after>.jsonl`` (e.g. ``until-20261126T143000.jsonl``), never a scheduled run's file. For
scheduled runs the lookback changes nothing: the day before the interval's end is the interval.

Where the files go: the Airflow Variable ``posthog_summaries_dir``, else the environment variable
``POSTHOG_SUMMARIES_DIR``, else ``file:///tmp/posthog-summaries``. Any ``ObjectStoragePath`` URL works
(``s3://aws_default@my-bucket/posthog/summaries``).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, cast

from airflow.sdk import DAG, ObjectStoragePath, task

# airflow.sdk.CronDataIntervalTimetable on Airflow 3.2+; _compat also finds its home on 3.1.
from airflow_provider._compat import CronDataIntervalTimetable
from airflow_provider.assets import storage_folder_asset
from airflow_provider.operators.session_summaries import PostHogSessionSummariesOperator

DEFAULT_OUTPUT_DIR = os.environ.get("POSTHOG_SUMMARIES_DIR", "file:///tmp/posthog-summaries")
OUTPUT_DIR = "{{ var.value.get('posthog_summaries_dir', '" + DEFAULT_OUTPUT_DIR + "') }}"
# The day a scheduled run covers, or, for a run without a data interval, the moment its window ends.
OUTPUT_NAME = (
    "{{ data_interval_start | ds if data_interval_start is defined"
    " else 'until-' ~ dag_run.run_after | ts_nodash }}"
)
# PostHog's RecordingsQuery filters: at least 5 active seconds, no test accounts (the team's filter).
RECORDING_FILTERS = {
    "having_predicates": [{"type": "recording", "key": "active_seconds", "operator": "gt", "value": 5}],
    "filter_test_accounts": True,
}


with DAG(
    dag_id="posthog_session_summaries",
    description="Summarise yesterday's PostHog sessions with AI into JSON Lines and a Markdown digest.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    tags=["posthog", "example"],
) as dag:
    summarize = PostHogSessionSummariesOperator(
        task_id="summarise_sessions",
        # No focus_area: PostHog stores the summaries it makes without one and serves them again, so a
        # rerun reuses them; a focus area would cost a fresh summary every time.
        recording_filters=RECORDING_FILTERS,
        batch_size=100,
        lookback=dt.timedelta(days=1),
        output_path=OUTPUT_DIR + "/" + OUTPUT_NAME + ".jsonl",
        report_path=OUTPUT_DIR + "/" + OUTPUT_NAME + ".md",
        # Each file is emitted as an event of the default folder's asset (what
        # posthog_summaries_digest.py is scheduled on). With the Variable pointing elsewhere, the event
        # still comes, without the file's details.
        outlets=[storage_folder_asset(DEFAULT_OUTPUT_DIR)],
    )

    @task
    def log_digest(result: dict[str, Any]) -> str:
        """Log the Markdown digest the operator wrote beside the summaries."""
        text = ObjectStoragePath(result["report_path"]).read_text(encoding="utf-8")
        print(f"Session summaries digest ({result['report_path']}):\n{text}")
        return text

    # Airflow passes the operator's XCom value (the dict) at run time.
    log_digest(cast("dict[str, Any]", summarize.output))
