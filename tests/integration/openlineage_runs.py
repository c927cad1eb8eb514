"""Run the saved-query and summaries operators with the OpenLineage provider on, in a process of its own.

``python openlineage_runs.py <view name> <summaries folder> <result file>`` runs three one-task DAGs
with ``dag.test()`` (upsert the view, run it deferred, summarise four sessions into the folder) against
the emulator named by ``AIRFLOW_CONN_POSTHOG_DEFAULT``, with OpenLineage's file transport set by the
caller, and writes their DAG ids to the result file as JSON so the caller can find each task's events.
Not a test module: ``test_assets_and_lineage.py`` starts it.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dag_test_runs import run_operators

from airflow_provider.operators.saved_queries import (
    PostHogCreateOrUpdateSavedQueryOperator,
    PostHogRunSavedQueryOperator,
)
from airflow_provider.operators.session_summaries import PostHogSessionSummariesOperator

QUERY = "select event, count() as pageviews from events group by event"


def main() -> None:
    view, folder, result = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    upsert = run_operators(
        PostHogCreateOrUpdateSavedQueryOperator(task_id="upsert", name=view, query=QUERY), dag_id_prefix="ol"
    )
    saved_query_id = upsert.get_task_instance("upsert").xcom_pull(task_ids="upsert")["id"]
    run = run_operators(
        PostHogRunSavedQueryOperator(
            task_id="run", saved_query_id=saved_query_id, check_interval=0.1, deferrable=True
        ),
        dag_id_prefix="ol",
    )
    summaries = run_operators(
        PostHogSessionSummariesOperator(
            task_id="summarise",
            date_from=(end - dt.timedelta(days=7)).isoformat(),
            date_to=end.isoformat(),
            limit=4,
            output_path=f"file://{folder}/week-{uuid.uuid4().hex[:6]}.jsonl",
        ),
        dag_id_prefix="ol",
    )
    result.write_text(json.dumps({"upsert": upsert.dag_id, "run": run.dag_id, "summarise": summaries.dag_id}))


if __name__ == "__main__":
    main()
