"""Every Monday: the patterns PostHog's AI finds across last week's sessions, as a JSON and a Markdown report.

The schedule is a ``CronDataIntervalTimetable``: each run covers the week before it
(``data_interval_start`` .. ``data_interval_end``) and writes ``<first day>.json`` and ``<first day>.md``.
``lookback=timedelta(days=7)`` makes a run triggered without a logical date cover the seven days before
its ``run_after`` (``until-<run_after>.json``); for scheduled runs it changes nothing.

Half of the sessions longer than ten seconds are taken, by a stable hash of the session id, so a rerun
or a backfill sends the same ones. PostHog's group summary takes at most 300 sessions: with more, the
operator sends a stable sample of 300 and says so in the log, the XCom value and the report.

Where the reports go: ``patterns/`` under the Airflow Variable ``posthog_summaries_dir``, else under
the environment variable ``POSTHOG_SUMMARIES_DIR``, else under ``file:///tmp/posthog-summaries``.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, cast

from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider._compat import CronDataIntervalTimetable
from airflow_provider.operators.session_patterns import PostHogSessionPatternsOperator

DEFAULT_OUTPUT_DIR = os.environ.get("POSTHOG_SUMMARIES_DIR", "file:///tmp/posthog-summaries")
OUTPUT_DIR = "{{ var.value.get('posthog_summaries_dir', '" + DEFAULT_OUTPUT_DIR + "') }}/patterns"
OUTPUT_FILE = (
    "{{ data_interval_start | ds if data_interval_start is defined"
    " else 'until-' ~ dag_run.run_after | ts_nodash }}.json"
)

with DAG(
    dag_id="posthog_session_patterns",
    description="Find the patterns across last week's PostHog sessions and write a report.",
    schedule=CronDataIntervalTimetable("0 6 * * 1", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc),
    catchup=False,
    default_args={"retries": 1, "retry_delay": dt.timedelta(minutes=10)},
    tags=["posthog", "example"],
) as dag:
    patterns = PostHogSessionPatternsOperator(
        task_id="find_patterns",
        lookback=dt.timedelta(days=7),
        min_duration=10,
        sample_rate=0.5,
        focus_area="What stops users from finishing signup or checkout?",
        output_path=OUTPUT_DIR + "/" + OUTPUT_FILE,
    )

    @task
    def print_report(result: dict[str, Any]) -> str:
        """Print the Markdown report, for the task log."""
        text = ObjectStoragePath(result["markdown_path"]).read_text(encoding="utf-8")
        print(text)
        return str(result["markdown_path"])

    # Airflow passes the operator's XCom value (the dict) at run time.
    print_report(cast("dict[str, Any]", patterns.output))
