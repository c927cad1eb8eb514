"""The example DAG posthog_saved_queries runs end to end with ``dag.test()`` against the emulator.

Deferrable: Airflow runs the trigger inline (its kwargs through serde, the class rebuilt from its
classpath). On workers: the run operator polls and the sensor pokes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.utils.state import DagRunState, TaskInstanceState
from dag_test_runs import task_states

from airflow_provider._compat import DagBag

DAG_FILE = Path(__file__).resolve().parents[2] / "example_dags" / "posthog_saved_queries.py"
DAG_ID = "posthog_saved_queries"


@pytest.fixture
def load_example_dag(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], Any]:
    """Parse the example file the way Airflow does, in the requested mode, with fast status checks."""

    def load(deferrable: bool) -> Any:
        monkeypatch.setenv("POSTHOG_SAVED_QUERIES_DEFERRABLE", str(deferrable).lower())
        monkeypatch.setenv("POSTHOG_SAVED_QUERIES_CHECK_INTERVAL", "0.2")
        bag = DagBag(dag_folder=str(DAG_FILE))
        assert bag.import_errors == {}
        return bag.get_dag(DAG_ID)

    return load


def xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    return dag_run.get_task_instance(task_id).xcom_pull(task_ids=task_id, key=key)


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "on-workers"])
def test_example_dag_runs_green(
    posthog_conn: Any,
    load_example_dag: Callable[[bool], Any],
    caplog: pytest.LogCaptureFixture,
    deferrable: bool,
) -> None:
    posthog_conn.configure(job_run_seconds=0.5)
    dag = load_example_dag(deferrable)
    assert dag.task_dict["run_view"].deferrable is deferrable
    assert dag.task_dict["wait_for_view"].deferrable is deferrable

    dag_run = dag.test()

    assert task_states(dag_run) == dict.fromkeys(
        ["upsert_view", "run_view", "wait_for_view", "report"], TaskInstanceState.SUCCESS
    )
    assert dag_run.state == DagRunState.SUCCESS
    inline_trigger_runs = [r for r in caplog.records if "running trigger in line" in r.getMessage()]
    assert len(inline_trigger_runs) == (1 if deferrable else 0)
    runs = posthog_conn.requests(method="POST", path=r"/warehouse_saved_queries/[^/]+/run/?$")
    assert len(runs) == 1
    assert len(posthog_conn.requests(method="GET", path="data_modeling_jobs")) >= 2
    view_id = xcom(dag_run, "upsert_view")["id"]
    assert runs[0]["path"].rstrip("/").endswith(f"/warehouse_saved_queries/{view_id}/run")
    for task_id in ("upsert_view", "run_view", "wait_for_view"):
        assert xcom(dag_run, task_id, "_link_PostHogSavedQueryLink").endswith(f"/sql?open_view={view_id}")
    assert xcom(dag_run, "report").startswith("daily_pageviews refreshed by job ")
    assert xcom(dag_run, "report").endswith("(Completed)")


@pytest.mark.parametrize(
    ("deferrable", "outcome"),
    [(True, "Failed"), (False, "Cancelled")],
    ids=["failed-deferrable", "cancelled-on-workers"],
)
def test_a_run_that_does_not_complete_fails_the_run_task_with_posthogs_text(
    posthog_conn: Any,
    load_example_dag: Callable[[bool], Any],
    capfd: pytest.CaptureFixture[str],
    deferrable: bool,
    outcome: str,
) -> None:
    posthog_conn.configure(job_run_seconds=0.3, job_outcome=outcome, job_error="Unknown table `events_v2`")
    dag = load_example_dag(deferrable)

    dag_run = dag.test()

    states = task_states(dag_run)
    assert states["upsert_view"] == TaskInstanceState.SUCCESS
    assert states["run_view"] == TaskInstanceState.FAILED
    assert states["wait_for_view"] != TaskInstanceState.SUCCESS
    assert dag_run.state == DagRunState.FAILED
    output = capfd.readouterr()
    expected = "ended Failed: Unknown table `events_v2`" if outcome == "Failed" else "ended Cancelled"
    assert expected in output.out + output.err
