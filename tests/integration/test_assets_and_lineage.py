"""Asset events and OpenLineage events of the operators, from real task runs (``dag.test()``).

The asset events are read back from Airflow's metadata database. The OpenLineage events come from the
file the OpenLineage provider's file transport writes, in a process of its own with the provider on
(``openlineage_runs.py``; ``tests/conftest.py`` says why it is off in the test process).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, ObjectStoragePath
from airflow.utils.state import TaskInstanceState
from dag_test_runs import run_dag, run_operators, task_states

from airflow_provider.assets import posthog_saved_query_asset, storage_folder_asset, uri_host
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.saved_queries import (
    PostHogCreateOrUpdateSavedQueryOperator,
    PostHogMaterializeSavedQueryOperator,
    PostHogRunSavedQueryOperator,
)
from airflow_provider.operators.session_summaries import PostHogSessionSummariesOperator

QUERY = "select event, count() as pageviews from events group by event"


def asset_events(uri: str) -> list[dict[str, Any]]:
    """The extra of every event Airflow recorded for the asset ``uri``, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri)
            .order_by(AssetEvent.id)
        )
        return [dict(row.extra) for row in rows]


def view_asset_uri(posthog_conn: Any, name: str) -> str:
    """The view's URI as a DAG file names it: host and project given, no connection read."""
    return posthog_saved_query_asset(name, host=posthog_conn.url, project_id=posthog_conn.project_id).uri


def namespace(posthog_conn: Any) -> str:
    """OpenLineage's namespace of the emulator: ``posthog://127.0.0.1:<port>``."""
    return f"posthog://{uri_host(posthog_conn.url)}"


@pytest.fixture
def view(posthog_conn: Any, airflow_db: Path) -> dict[str, Any]:
    posthog_conn.configure(job_run_seconds=0.3)
    # A name of its own: the metadata database keeps every test's asset events.
    return PostHogHook().create_saved_query(f"lineage_view_{uuid.uuid4().hex[:8]}", QUERY)


def test_upsert_emits_an_event_for_a_created_view_once(posthog_conn: Any, airflow_db: Path) -> None:
    name = f"upserted_{uuid.uuid4().hex[:6]}"
    run_operators(PostHogCreateOrUpdateSavedQueryOperator(task_id="upsert", name=name, query=QUERY))
    saved = next(sq for sq in PostHogHook().list_saved_queries(search=name) if sq["name"] == name)

    assert asset_events(view_asset_uri(posthog_conn, name)) == [
        {"saved_query_id": saved["id"], "name": name, "action": "created", "last_run_at": None}
    ]
    run_operators(PostHogCreateOrUpdateSavedQueryOperator(task_id="upsert", name=name, query=QUERY))
    assert len(asset_events(view_asset_uri(posthog_conn, name))) == 1  # unchanged: no news


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "on-worker"])
def test_a_completed_run_emits_its_job_rows_and_last_run_at(
    posthog_conn: Any, view: dict[str, Any], deferrable: bool
) -> None:
    dag_run = run_operators(
        PostHogRunSavedQueryOperator(
            task_id="run", saved_query_id=view["id"], check_interval=0.1, deferrable=deferrable
        )
    )
    assert task_states(dag_run) == {"run": TaskInstanceState.SUCCESS}
    hook = PostHogHook()
    job = next(iter(hook.list_data_modeling_jobs(view["id"])))
    refreshed = hook.get_saved_query(view["id"])

    events = asset_events(view_asset_uri(posthog_conn, view["name"]))
    assert events == [
        {
            "saved_query_id": view["id"],
            "name": view["name"],
            "job_id": job["id"],
            "status": "Completed",
            "rows_materialized": job["rows_materialized"],
            "last_run_at": refreshed["last_run_at"],
        }
    ]
    assert job["rows_materialized"] > 0 and refreshed["last_run_at"] is not None


def test_a_failed_run_emits_no_event(posthog_conn: Any, view: dict[str, Any]) -> None:
    posthog_conn.configure(job_outcome="Failed")
    dag_run = run_operators(
        PostHogRunSavedQueryOperator(task_id="run", saved_query_id=view["id"], check_interval=0.1)
    )
    assert task_states(dag_run) == {"run": TaskInstanceState.FAILED}
    assert asset_events(view_asset_uri(posthog_conn, view["name"])) == []


def test_a_declared_asset_gets_the_extra_and_empty_outlets_turn_events_off(
    posthog_conn: Any, view: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    declared = posthog_saved_query_asset(
        view["name"], host=posthog_conn.url, project_id=posthog_conn.project_id
    )
    assert declared == posthog_saved_query_asset(view["name"])  # the older form, reading the connection
    run_operators(
        PostHogRunSavedQueryOperator(
            task_id="run", saved_query_id=view["id"], check_interval=0.1, outlets=[declared]
        )
    )
    (event,) = asset_events(declared.uri)
    assert event["status"] == "Completed" and event["saved_query_id"] == view["id"]
    # The task log names the asset, to compare with the one a DAG is scheduled on.
    logged = capfd.readouterr()
    assert f"Asset event for {declared.uri}." in logged.out + logged.err

    silent = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=view["id"], check_interval=0.1, outlets=[]
    )
    assert silent.outlets == []
    run_operators(silent)
    assert len(asset_events(declared.uri)) == 1


def test_materialize_emits_the_schedule_and_its_first_refresh(
    posthog_conn: Any, view: dict[str, Any]
) -> None:
    run_operators(
        PostHogMaterializeSavedQueryOperator(
            task_id="materialize", saved_query_id=view["id"], sync_frequency="1hour"
        )
    )
    (event,) = asset_events(view_asset_uri(posthog_conn, view["name"]))
    job = next(iter(PostHogHook().list_data_modeling_jobs(view["id"])))
    assert event | {"last_run_at": None} == {
        "saved_query_id": view["id"],
        "name": view["name"],
        "is_materialized": True,
        "sync_frequency": "1hour",
        "job_id": job["id"],
        "status": "Running",
        "last_run_at": None,
    }


def test_default_outlets_an_alias_for_views_and_the_folder_when_it_is_known(airflow_db: Path) -> None:
    with DAG(dag_id="aliases", schedule=None, start_date=dt.datetime(2026, 1, 1)):
        run = PostHogRunSavedQueryOperator(task_id="run", saved_query_id="{{ params.view }}")
        summaries = PostHogSessionSummariesOperator(
            task_id="summarise", output_path="{{ var.value.dir }}/{{ ds }}.jsonl"
        )
        literal_folder = PostHogSessionSummariesOperator(
            task_id="summarise_to_folder", output_path="file:///data/summaries/{{ ds }}.jsonl"
        )
    assert [alias.name for alias in run.outlets] == ["posthog-saved-query:aliases.run"]
    assert summaries.outlets == []  # a templated folder: declared by the DAG author, or nothing
    assert literal_folder.outlets == [storage_folder_asset("file:///data/summaries")]


def test_summaries_emit_the_file_with_its_digest_window_and_counts(
    posthog_conn: Any, airflow_db: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "summaries"
    end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = end - dt.timedelta(days=7)
    with DAG(
        dag_id=f"summaries_{uuid.uuid4().hex[:8]}", schedule=None, start_date=dt.datetime(2026, 1, 1)
    ) as dag:
        PostHogSessionSummariesOperator(
            task_id="summarise",
            date_from=start.isoformat(),
            date_to=end.isoformat(),
            limit=4,
            output_path=f"file://{folder}/week.jsonl",
        )
    run_dag(dag)
    written = ObjectStoragePath(f"file://{folder}/week.jsonl")

    records = [json.loads(line) for line in written.read_text().splitlines()]
    summarized = sum(1 for record in records if "summary" in record)
    (event,) = asset_events(f"file://{folder}")
    assert event == {
        "path": str(written),
        "sha256": hashlib.sha256(written.read_bytes()).hexdigest(),
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "sessions": 4,
        "summarised": summarized,
        "failed": 4 - summarized,
        "listed": 4,
        "filtered_out": 0,
        "sampled_out": 0,
        "reused_stored": 0,
        "reused_progress": 0,
        "generated": summarized,
        "summary_requests_sent": 1,
    }


def test_openlineage_events_name_the_view_its_schema_and_sql_and_the_summaries_files(
    posthog_conn: Any, airflow_db: Path, tmp_path: Path
) -> None:
    events_file = tmp_path / "openlineage.jsonl"
    view = f"lineage_view_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__DISABLED": "false",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
    }
    finished = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("openlineage_runs.py")),
            view,
            str(tmp_path),
            str(tmp_path / "dag_ids.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    dag_ids = json.loads((tmp_path / "dag_ids.json").read_text())
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]

    def complete(task_id: str) -> dict[str, Any]:
        (found,) = [
            e
            for e in events
            if e["job"]["name"] == f"{dag_ids[task_id]}.{task_id}" and e["eventType"] == "COMPLETE"
        ]
        return found

    for task_id in ("upsert", "run"):
        (output,) = complete(task_id)["outputs"]
        assert (output["namespace"], output["name"]) == (
            namespace(posthog_conn),
            f"{posthog_conn.project_id}.saved_queries.{view}",
        )
        assert [(f["name"], f["type"]) for f in output["facets"]["schema"]["fields"]] == [
            ("event", "string"),
            ("pageviews", "integer"),
        ]
        assert complete(task_id)["job"]["facets"]["sql"]["query"] == QUERY
    summaries = complete("summarise")
    assert [(d["namespace"], d["name"]) for d in summaries["inputs"]] == [
        (namespace(posthog_conn), f"{posthog_conn.project_id}.session_recordings")
    ]
    (output,) = summaries["outputs"]
    assert output["namespace"] == "file" and output["name"].startswith(f"{tmp_path}/week-")
    assert Path(output["name"]).exists()
