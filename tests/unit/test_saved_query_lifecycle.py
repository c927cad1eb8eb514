"""The saved-query run lifecycle has one home that the operator, the sensor and the trigger only call."""

from __future__ import annotations

import ast
import inspect
import json
from types import ModuleType

import pytest

import airflow_provider.operators.saved_queries as operator_module
import airflow_provider.sensors.saved_queries as sensor_module
import airflow_provider.triggers.run_poller as run_poller_module
import airflow_provider.triggers.saved_queries as trigger_module
from airflow_provider._compat import AirflowFailException
from airflow_provider.api.endpoints import SavedQueryId, check_saved_query_id
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.operators.base import checked_at_execute
from airflow_provider.saved_query_runs.names import BY_NAME_HINT
from airflow_provider.saved_query_runs.state import JobBaseline, RunState, SavedQueryRun

SOME_ID = "0193b5d2-0000-7000-8000-000000000001"


def _names_used(module: ModuleType) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    return {
        node.attr if isinstance(node, ast.Attribute) else node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name | ast.Attribute)
    }


@pytest.mark.parametrize(
    ("module", "faces"),
    [
        (operator_module, {"start_run", "read_run_state", "cancel_run"}),
        (sensor_module, {"read_run_state"}),
        (trigger_module, {"acancel_run"}),
        (run_poller_module, {"aread_run_states"}),
    ],
)
def test_each_task_asks_the_lifecycle_module_and_never_reads_jobs_itself(
    module: ModuleType, faces: set[str]
) -> None:
    used = _names_used(module)
    assert faces <= used
    # The upsert operator reads a view for its history id; reading a run is the lifecycle's alone.
    assert not {"list_data_modeling_jobs", "job_state", "saved_query_state", "JobBaseline"} & used
    if module is not operator_module:
        assert "get_saved_query" not in used


def test_the_sensor_does_not_import_the_operator_module() -> None:
    tree = ast.parse(inspect.getsource(sensor_module))
    imported_from = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "airflow_provider.operators.saved_queries" not in imported_from


@pytest.mark.parametrize(
    "run",
    [
        SavedQueryRun("0193b5d2-0000-7000-8000-000000000001"),
        SavedQueryRun("0193b5d2-0000-7000-8000-000000000001", 1764158400.5),
        SavedQueryRun("0193b5d2-0000-7000-8000-000000000001", 1764158400.5, JobBaseline()),
        SavedQueryRun(
            "0193b5d2-0000-7000-8000-000000000001", 1.0, JobBaseline("job-1", "2026-11-26T12:00:00Z")
        ),
        SavedQueryRun(
            "0193b5d2-0000-7000-8000-000000000001",
            1.0,
            JobBaseline("job-1", "2026-11-26T12:00:00Z"),
            joined_job_id="job-1",
            follow_preempted=False,
        ),
    ],
)
def test_a_run_survives_the_plain_dict_round_trip(run: SavedQueryRun) -> None:
    as_dict = run.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict  # plain JSON values only
    assert SavedQueryRun.from_dict(as_dict) == run
    assert SavedQueryRun.from_dict({"saved_query_id": run.saved_query_id}) == SavedQueryRun(
        run.saved_query_id
    )


@pytest.mark.parametrize("given", [{}, {"saved_query_id": "x", "baseline_taken": True}])
def test_a_run_dict_without_an_id_or_with_a_key_it_never_has_is_refused(given: dict[str, object]) -> None:
    with pytest.raises(PostHogConfigError, match=r"^run must be a dict with saved_query_id"):
        SavedQueryRun.from_dict(given)


@pytest.mark.parametrize(
    "given",
    [
        "0193B5D2-0000-7000-8000-000000000001",
        " 0193b5d2-0000-7000-8000-000000000001 ",
        "{0193b5d2-0000-7000-8000-000000000001}",
        "0193b5d200007000800000000000000" + "1",
    ],
)
def test_check_saved_query_id_returns_the_canonical_uuid(given: str) -> None:
    checked = check_saved_query_id(given)
    assert checked == "0193b5d2-0000-7000-8000-000000000001"
    assert isinstance(checked, SavedQueryId) and check_saved_query_id(checked) is checked


@pytest.mark.parametrize("given", ["daily_views", "", "   ", None, 42, "0193b5d2-0000-7000-8000"])
def test_a_bad_rendered_saved_query_id_fails_the_task_for_good_naming_the_field(given: object) -> None:
    with pytest.raises(
        AirflowFailException, match=r"^saved_query_id must be a UUID such as .*names are not accepted"
    ):
        checked_at_execute(lambda: check_saved_query_id(given, hint=BY_NAME_HINT))


BASELINE = JobBaseline("old", "2026-11-26T12:00:00Z")


def _job(job_id: str, status: str, created_at: str, error: str | None = None) -> dict[str, object]:
    return {"id": job_id, "status": status, "created_at": created_at, "error": error}


PREEMPTED = "Preempted: a new DAG run started before this job completed"


@pytest.mark.parametrize(
    ("ours", "follow_preempted", "expected"),
    [
        # Preempted by newest PostHog: the job that took over is followed, a later one never.
        (_job("ours", "Failed", "2026-11-26T12:01:00Z", PREEMPTED), True, ("took-over", "Running", True)),
        (_job("ours", "Failed", "2026-11-26T12:01:00Z", PREEMPTED), False, ("ours", "Failed", False)),
        # Older PostHog ended a superseded job Cancelled: the same, where a newer job is there.
        (_job("ours", "Cancelled", "2026-11-26T12:01:00Z"), True, ("took-over", "Running", True)),
        # Any other failure is ours.
        (_job("ours", "Failed", "2026-11-26T12:01:00Z", "Query failed"), True, ("ours", "Failed", False)),
    ],
)
def test_a_preempted_job_is_followed_by_the_job_that_took_over(
    ours: dict[str, object], follow_preempted: bool, expected: tuple[str, str, bool]
) -> None:
    jobs = [
        _job("took-over", "Running", "2026-11-26T12:02:00Z"),
        ours,
        _job("old", "Completed", "2026-11-26T12:00:00Z"),
    ]
    for run in (
        SavedQueryRun(SOME_ID, 1.0, BASELINE, follow_preempted=follow_preempted),
        SavedQueryRun(SOME_ID, 1.0, BASELINE, joined_job_id="ours", follow_preempted=follow_preempted),
    ):
        state = run.state_from_jobs(jobs)
        assert state is not None
        assert (state.job_id, state.status, state.superseded) == expected


def test_a_preempted_job_waits_for_the_job_that_took_over_and_a_lone_cancel_is_ours() -> None:
    run = SavedQueryRun(SOME_ID, 1.0, BASELINE)
    preempted = [_job("ours", "Failed", "2026-11-26T12:01:00Z", PREEMPTED), _job("old", "Completed", "x")]
    assert run.state_from_jobs(preempted) == RunState(status=None)
    cancelled = [_job("ours", "Cancelled", "2026-11-26T12:01:00Z"), _job("old", "Completed", "x")]
    assert run.state_from_jobs(cancelled) == RunState("Cancelled", "ours")


def test_a_joined_run_is_the_running_job_it_joined_never_the_one_before_or_after() -> None:
    run = SavedQueryRun(SOME_ID, 1.0, JobBaseline("joined", "2026-11-26T12:01:00Z"), joined_job_id="joined")
    jobs = [
        _job("later", "Running", "2026-11-26T12:05:00Z"),
        _job("joined", "Completed", "2026-11-26T12:01:00Z"),
        _job("before", "Completed", "2026-11-26T12:00:00Z"),
    ]
    assert [run.keep_reading_after(job) for job in jobs] == [True, False, True]
    assert run.state_from_jobs(jobs) == RunState("Completed", "joined")
    assert run.state_from_jobs(jobs[:1]) == RunState(status=None)  # not read far enough: not ours yet


def test_a_walk_reaches_a_joined_run_only_at_the_refresh_it_joined() -> None:
    from airflow_provider.saved_query_runs.io import _walk_reached

    # Joined a refresh that started an hour before the run was asked for (2026-11-26T12:00:00Z + 1 h).
    joined = JobBaseline("joined", "2026-11-26T12:00:00Z")
    run = SavedQueryRun(SOME_ID, 1795698000.0, joined, joined_job_id="joined")
    ten_minutes_before_the_request = _job("other", "Completed", "2026-11-26T12:50:00Z")
    assert not _walk_reached(run, ten_minutes_before_the_request)
    assert _walk_reached(run, _job("joined", "Running", "2026-11-26T12:00:00Z"))
    assert _walk_reached(run, _job("older", "Completed", "2026-11-26T11:59:00Z"))
