"""The live suite's DAGs (``make live``) pointed at the emulator, so their code is run by ``make test``.

The same DAGs and checks as ``tests/live/test_live.py``; only the connection (the emulator's), the
insight (one of its seed) and the poll interval differ.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from dag_test_runs import run_dag, task_instance, task_states
from live.live_checks import LIVE_QUERY, live_objects, new_run_name, remove_leftovers
from live.live_dags import read_only_dag, write_dag
from saved_query_emulator import JOB_SECONDS

from airflow_provider.hooks.posthog import PostHogHook

CONN_ID = "posthog_default"
SEED_INSIGHT = 101


def _write_dag(run_name: str) -> Any:
    return write_dag(
        CONN_ID,
        run_name,
        SEED_INSIGHT,
        poll_seconds=0.1,
        run_timeout=30,
        dag_id=f"posthog_live_write_{run_name[-6:]}",
    )


def _names_left(hook: PostHogHook) -> set[str]:
    return {found.name for found in live_objects(hook)}


def test_the_read_only_checks_pass_and_send_only_gets(airflow_db: Path, posthog_conn: Any) -> None:
    # PostHog without the user interviews product answers 404: the check reports it, the run passes.
    posthog_conn.add_fault(method="GET", path="user_interviews", status=404)

    dag_run = run_dag(read_only_dag(CONN_ID, dag_id=f"posthog_live_read_only_{new_run_name()[-6:]}"))

    assert task_states(dag_run) == {
        "connection": "success",
        "subscriptions": "success",
        "saved_queries": "success",
        "user_interviews": "success",
        "session_properties": "success",
        "session_recordings": "success",
    }
    seen = posthog_conn.requests()
    assert {request["method"] for request in seen} == {"GET"}
    project = rf"^/api/\w+/{posthog_conn.project_id}/"
    read = {re.sub(project, "", request["path"]).strip("/") for request in seen}
    assert read == {
        "",  # the project: the connection test
        "subscriptions",
        "warehouse_saved_queries",
        "data_modeling_jobs",
        "user_interviews",
        "sessions/property_definitions",
        "sessions/values",
        "session_recordings",
    }
    user_interviews = task_instance(dag_run, "user_interviews")
    assert user_interviews.xcom_pull(task_ids="user_interviews")["available"] is False


def test_the_write_checks_create_run_and_remove_everything_and_sweep_stale_leftovers(
    airflow_db: Path, posthog_conn: Any
) -> None:
    posthog_conn.configure(job_run_seconds=JOB_SECONDS)
    hook = PostHogHook()
    now = dt.datetime.now(dt.timezone.utc)
    stale = new_run_name(now - dt.timedelta(days=2))
    other_run = new_run_name(now - dt.timedelta(hours=2))  # perhaps still going: left alone
    hook.create_saved_query(f"{stale}_view", LIVE_QUERY)
    hook.create_saved_query(f"{other_run}_view", LIVE_QUERY)
    hook.create_subscription(
        insight=SEED_INSIGHT,
        target_type="email",
        target_value="stale@example.com",
        frequency="daily",
        interval=1,
        start_date=now.isoformat(),
        title=stale,
    )
    run_name = new_run_name()

    dag_run = run_dag(_write_dag(run_name))

    assert task_states(dag_run) == {
        "create_view": "success",
        "run_view": "success",
        "wait_for_run": "success",
        "delete_view": "success",
        "create_subscription": "success",
        "read_subscription": "success",
        "delete_subscription": "success",
        "remove_this_run_and_stale_leftovers": "success",
        "watcher": "skipped",
    }
    assert str(dag_run.state) == "success"
    (create,) = posthog_conn.requests(method="POST", path=r"/subscriptions/?$")[-1:]
    assert create["body"]["title"] == run_name
    assert create["body"]["enabled"] is False
    assert len(posthog_conn.requests(method="POST", path=r"/warehouse_saved_queries/[^/]+/run/?$")) == 1
    assert _names_left(hook) == {f"{other_run}_view"}
    assert remove_leftovers(hook, run_name) == []


def test_the_teardowns_remove_everything_when_a_check_fails(airflow_db: Path, posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=JOB_SECONDS, job_outcome="Failed")
    hook = PostHogHook()
    run_name = new_run_name()

    dag_run = run_dag(_write_dag(run_name))

    states = task_states(dag_run)
    assert states["wait_for_run"] == "failed"
    assert states["delete_view"] == "success"
    assert states["delete_subscription"] == "success"
    assert states["remove_this_run_and_stale_leftovers"] == "success"
    assert states["watcher"] == "failed"
    assert str(dag_run.state) == "failed"
    assert len(posthog_conn.requests(method="DELETE", path=r"/warehouse_saved_queries/[^/]+/?$")) == 1
    assert _names_left(hook) == set()
