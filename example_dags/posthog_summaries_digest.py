"""Runs each time ``posthog_session_summaries`` writes a file: checks it and logs the sessions with problems.

Scheduled on the summaries folder's asset (``file:///tmp/posthog-summaries`` unless
``POSTHOG_SUMMARIES_DIR`` says otherwise; point the producer's ``posthog_summaries_dir`` Variable at the
same folder if you set it). The event's extra names the file written (``path``), its ``sha256``, the
date window and how many sessions were found, summarised and failed; the file is checked against the
digest before it is read.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider.assets import storage_folder_asset

SUMMARIES = storage_folder_asset(os.environ.get("POSTHOG_SUMMARIES_DIR", "file:///tmp/posthog-summaries"))

with DAG(
    dag_id="posthog_summaries_digest",
    schedule=[SUMMARIES],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["posthog", "example", "assets"],
):

    @task(inlets=[SUMMARIES])
    def sessions_with_problems(triggering_asset_events: Any = None) -> list[str]:
        """Read each new file (checked against its digest) and list the sessions that did not go well."""
        problems = []
        for event in triggering_asset_events[SUMMARIES]:
            if "path" not in event.extra:  # the producer wrote elsewhere (its Variable): nothing here
                print(f"An event without a file ({event.extra}); skipped.")
                continue
            path = ObjectStoragePath(event.extra["path"])
            content = path.read_bytes()
            if hashlib.sha256(content).hexdigest() != event.extra["sha256"]:
                raise ValueError(f"{path} changed since it was written; not reading it.")
            for line in content.decode("utf-8").splitlines():
                record = json.loads(line)
                outcome = (record.get("summary") or {}).get("session_outcome") or {}
                if "error" in record or not outcome.get("success"):
                    problems.append(record["session_id"])
            print(
                f"{path}: {event.extra['summarised']} of {event.extra['sessions']} sessions summarised "
                f"for [{event.extra['date_from']}, {event.extra['date_to']}); "
                f"{len(problems)} with problems so far"
            )
        return problems

    sessions_with_problems()
