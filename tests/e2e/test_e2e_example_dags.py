"""Every example DAG, unpaused and triggered through the REST API, succeeds on real Airflow processes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import e2e_routes as routes
import pytest
from e2e_rest import AirflowREST, RunWatch
from e2e_routes import matching
from e2e_stack import AirflowStack

pytestmark = pytest.mark.e2e

EXAMPLE_DAGS = sorted(path.stem for path in (Path(__file__).parents[2] / "example_dags").glob("*.py"))
SAVED_QUERIES_DAG = "posthog_saved_queries"
SUMMARIES_DAG = "posthog_session_summaries"
#: Long enough for the test's polling to see the run task deferred while the triggerer waits.
JOB_RUN_SECONDS = 6
SUMMARIES_DIR_VARIABLE = "posthog_summaries_dir"


@dataclass
class ExampleRuns:
    """One run of every example DAG, started together, and what the emulator saw meanwhile.

    :param watches: by DAG id, the run's final state and the states seen per task.
    :param requests: the emulator's request log after all runs finished.
    """

    watches: dict[str, RunWatch]
    requests: list[dict[str, Any]]


@pytest.fixture(scope="module")
def example_runs(airflow: AirflowStack, rest: AirflowREST) -> ExampleRuns:
    """Trigger every example DAG at once and wait until all have finished."""
    airflow.emulator.reset()
    airflow.emulator.configure(job_run_seconds=JOB_RUN_SECONDS)
    rest.set_variable(SUMMARIES_DIR_VARIABLE, airflow.fresh_summaries_dir("example_runs"))
    watches = rest.watch_runs({dag_id: rest.trigger(dag_id) for dag_id in EXAMPLE_DAGS})
    return ExampleRuns(watches, airflow.emulator.requests())


def test_every_example_dag_run_succeeds(example_runs: ExampleRuns) -> None:
    states = {dag_id: watch.state for dag_id, watch in example_runs.watches.items()}
    assert len(states) >= 4
    assert states == dict.fromkeys(EXAMPLE_DAGS, "success")


def test_saved_query_run_waits_deferred_until_the_triggerer_fires(
    example_runs: ExampleRuns, airflow: AirflowStack, rest: AirflowREST
) -> None:
    run = example_runs.watches[SAVED_QUERIES_DAG]
    assert "deferred" in run.seen["run_view"]
    assert "Trigger fired event" in rest.task_log(SAVED_QUERIES_DAG, run.run_id, "run_view")
    trigger_logs = airflow.trigger_log_files(SAVED_QUERIES_DAG, run.run_id, "run_view")
    assert trigger_logs, "the triggerer wrote no log for the run task"
    assert any("Trigger fired event" in path.read_text() for path in trigger_logs)


def test_the_emulator_saw_one_run_request_and_the_triggerers_polls(example_runs: ExampleRuns) -> None:
    runs = matching(example_runs.requests, "POST", routes.SAVED_QUERY_RUN)
    polls = matching(example_runs.requests, "GET", routes.DATA_MODELING_JOBS)
    assert len(runs) == 1
    # One poll a second while the job runs for JOB_RUN_SECONDS (the sensor polls too, after the run).
    assert len(polls) >= JOB_RUN_SECONDS // 2
    assert all(poll["auth_present"] for poll in polls)


def test_session_summaries_file_holds_one_record_per_session_of_the_interval(
    example_runs: ExampleRuns, rest: AirflowREST
) -> None:
    run_id = example_runs.watches[SUMMARIES_DAG].run_id
    result = rest.xcom(SUMMARIES_DAG, run_id, "summarise_sessions")
    records = Path(result["path"].removeprefix("file://")).read_text().splitlines()
    assert len(records) == result["sessions"] > 0
    assert result["summarised"] > 0
