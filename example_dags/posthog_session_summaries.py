"""Every day: PostHog's AI summary of each session recorded the day before, as JSON Lines, and a digest.

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
import json
import os
from collections import Counter
from typing import Any, cast

from airflow.sdk import DAG, ObjectStoragePath, task

# airflow.sdk.CronDataIntervalTimetable on Airflow 3.2+; _compat also finds its home on 3.1.
from airflow_provider._compat import CronDataIntervalTimetable
from airflow_provider.assets import storage_folder_asset
from airflow_provider.operators import PostHogSessionSummariesOperator

DEFAULT_OUTPUT_DIR = os.environ.get("POSTHOG_SUMMARIES_DIR", "file:///tmp/posthog-summaries")
OUTPUT_DIR = "{{ var.value.get('posthog_summaries_dir', '" + DEFAULT_OUTPUT_DIR + "') }}"
# The day a scheduled run covers, or, for a run without a data interval, the moment its window ends.
OUTPUT_FILE = (
    "{{ data_interval_start | ds if data_interval_start is defined"
    " else 'until-' ~ dag_run.run_after | ts_nodash }}.jsonl"
)


def digest(path: ObjectStoragePath) -> str:
    """A readable account of one summaries file: counts, then one line per session.

    :param path: a JSON Lines file written by ``PostHogSessionSummariesOperator``.
    """
    with path.open("r", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    failures = Counter(record["error"] for record in records if "error" in record)
    outcomes = [record["summary"].get("session_outcome") or {} for record in records if "summary" in record]
    succeeded = sum(1 for outcome in outcomes if outcome.get("success"))
    lines = [
        f"{len(records)} sessions: {len(outcomes)} summarised ({succeeded} successful journeys, "
        f"{len(outcomes) - succeeded} with problems), {sum(failures.values())} not summarised"
        + (
            f" ({', '.join(f'{error}: {count}' for error, count in sorted(failures.items()))})"
            if failures
            else ""
        )
    ]
    for record in records:
        if "summary" in record:
            outcome = record["summary"].get("session_outcome") or {}
            mark = "ok " if outcome.get("success") else "!! "
            lines.append(f"  {mark}{record['session_id']}: {outcome.get('description', '(no outcome)')}")
        else:
            lines.append(f"  -- {record['session_id']}: {record['error']}")
    return "\n".join(lines)


with DAG(
    dag_id="posthog_session_summaries",
    description="Summarise yesterday's PostHog sessions with AI into a JSON Lines file, then log a digest.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    tags=["posthog", "example"],
) as dag:
    summarise = PostHogSessionSummariesOperator(
        task_id="summarise_sessions",
        focus_area="Where do users get stuck or see errors?",
        batch_size=100,
        lookback=dt.timedelta(days=1),
        output_path=OUTPUT_DIR + "/" + OUTPUT_FILE,
        # Each file is announced as an event of the default folder's asset (what
        # posthog_summaries_digest.py is scheduled on). With the Variable pointing elsewhere, the event
        # still comes, without the file's details.
        outlets=[storage_folder_asset(DEFAULT_OUTPUT_DIR)],
    )

    @task
    def log_digest(result: dict[str, Any]) -> str:
        """Read the file the summaries went to and log what happened in each session."""
        text = digest(ObjectStoragePath(result["path"]))
        print(f"Session summaries digest ({result['path']}):\n{text}")
        return text

    # Airflow passes the operator's XCom value (the dict) at run time.
    log_digest(cast("dict[str, Any]", summarise.output))
