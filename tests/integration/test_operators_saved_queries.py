"""Saved-query operators and the sensor against the emulator, called the way the task runner calls them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.execution_time.context import OutletEventAccessors
from dag_test_runs import run_operators, task_instance, task_states
from helpers import wait_until
from saved_query_emulator import (
    JOB_SECONDS,
    OWN_FAILURE,
    cancel_posts,
    job_polls,
    run_posts,
    suspend,
    wait_for_newest_job_to_end,
)
from structlog.testing import capture_logs

import airflow_provider.operators.saved_queries as saved_queries_module
import airflow_provider.saved_query_runs.io as saved_query_runs_io
from airflow_provider._compat import (
    AIRFLOW_V_3_3_PLUS,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    TaskDeferred,
)
from airflow_provider.api.errors import PostHogServerError, PostHogValidationError
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.saved_queries import (
    PostHogCreateOrUpdateSavedQueryOperator,
    PostHogDeleteSavedQueryOperator,
    PostHogMaterializeSavedQueryOperator,
    PostHogRevertSavedQueryMaterializationOperator,
    PostHogRunSavedQueryOperator,
)
from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor
from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger

URL_KEY = "posthog_saved_query_url"
VIEW = "airflow_operator_test"  # the name of the saved_query fixture's view
SOME_UUID = "0193b5d2-0000-7000-8000-000000000001"


class RunningTaskInstance:
    """Stands in for the task runner's task instance: records XCom pushes, never rescheduled before."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


@pytest.fixture
def ti() -> RunningTaskInstance:
    return RunningTaskInstance()


def task_context(ti: RunningTaskInstance) -> Any:
    """The parts of the task runner's context these operators use: the task instance, outlet events."""
    return {"ti": ti, "outlet_events": OutletEventAccessors()}


# Create or update


def test_create_or_update_creates_a_missing_view_and_pushes_its_link(posthog_conn: Any, ti: Any) -> None:
    result = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert", name="daily_views", query="select count() from events"
    ).execute(task_context(ti))

    assert result["action"] == "created"
    stored = PostHogHook().get_saved_query(result["id"])
    assert stored["query"] == {"kind": "HogQLQuery", "query": "select count() from events"}
    assert ti.pushed[URL_KEY].endswith(f"/project/{posthog_conn.project_id}/sql?open_view={result['id']}")


def test_create_or_update_sends_nothing_when_the_query_is_unchanged(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    result = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert", name=VIEW, query={"kind": "HogQLQuery", "query": "select event from events"}
    ).execute(task_context(ti))

    assert result == {"id": saved_query["id"], "name": VIEW, "action": "unchanged"}
    assert posthog_conn.requests(method="PATCH") == []
    assert len(posthog_conn.requests(method="POST", path="warehouse_saved_queries")) == 1  # the fixture's


def test_create_or_update_sends_the_history_id_it_just_read(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    result = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert", name=VIEW, query="select distinct_id from events"
    ).execute(task_context(ti))

    assert result["action"] == "updated"
    (patch,) = posthog_conn.requests(method="PATCH")
    assert patch["body"]["edited_history_id"] == saved_query["latest_history_id"]
    assert (
        PostHogHook().get_saved_query(saved_query["id"])["query"]["query"] == "select distinct_id from events"
    )


def test_create_or_update_reports_a_concurrent_edit_instead_of_overwriting_it(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    # Hold our PATCH for a second; meanwhile someone else changes the query in PostHog.
    posthog_conn.add_fault(method="PATCH", path="warehouse_saved_queries", kind="delay", delay=1.0)
    operator = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert", name=VIEW, query="select 2 from events"
    )
    failure: list[BaseException] = []
    worker = threading.Thread(target=lambda: _record_failure(failure, operator.execute, task_context(ti)))
    worker.start()
    wait_until(
        lambda: posthog_conn.requests(method="GET", path=f"warehouse_saved_queries/{saved_query['id']}"),
        what="the operator's read of the view",
    )
    PostHogHook().create_saved_query(
        VIEW, "select 'theirs' from events", edited_history_id=saved_query["latest_history_id"]
    )
    worker.join(timeout=10)

    assert len(failure) == 1
    assert isinstance(failure[0], AirflowException)
    assert "edited in PostHog while this task ran" in str(failure[0])
    assert PostHogHook().get_saved_query(saved_query["id"])["query"]["query"] == "select 'theirs' from events"


def test_create_or_update_recovers_when_the_answer_to_its_create_is_lost(posthog_conn: Any, ti: Any) -> None:
    # PostHog creates the view, the answer is lost; the re-sent upsert is refused (stale history id).
    posthog_conn.add_fault(
        method="POST", path=r"/warehouse_saved_queries/?$", kind="after_processing", status=502
    )

    result = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert", name="lost_answer_view", query="select 1 from events"
    ).execute(task_context(ti))

    assert result["action"] == "created"
    creates = posthog_conn.requests(method="POST", path=r"/warehouse_saved_queries/?$")
    assert [entry["status"] for entry in creates] == [502, 400]  # created but answered 502, then refused
    views = [sq for sq in PostHogHook().list_saved_queries(search="lost_answer_view")]
    assert [view["id"] for view in views] == [result["id"]]


def test_create_or_update_recovers_when_the_answer_to_its_update_is_lost(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.add_fault(
        method="PATCH", path="warehouse_saved_queries", kind="after_processing", status=502
    )

    result = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert", name=VIEW, query="select distinct_id from events"
    ).execute(task_context(ti))

    assert result["action"] == "updated"
    assert [entry["status"] for entry in posthog_conn.requests(method="PATCH")] == [502, 400]
    assert (
        PostHogHook().get_saved_query(saved_query["id"])["query"]["query"] == "select distinct_id from events"
    )


def _record_failure(failures: list[BaseException], call: Any, *args: Any) -> None:
    try:
        call(*args)
    except BaseException as error:
        failures.append(error)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"name": "1st view", "query": "select 1"}, "name"),
        ({"name": "ok_view", "query": ""}, "query"),
        ({"name": "ok_view", "query": {"kind": "HogQLQuery"}}, "query"),
    ],
)
def test_create_or_update_refuses_bad_input_when_the_dag_is_parsed(
    arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field} must"):
        PostHogCreateOrUpdateSavedQueryOperator(task_id="upsert", **arguments)


def test_create_or_update_checks_a_rendered_template_before_any_request(posthog_conn: Any, ti: Any) -> None:
    operator = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert", name="{{ params.view_name }}", query="select 1"
    )
    operator.name = "1st view"  # what the template rendered to

    with pytest.raises(AirflowFailException, match=r"^name must"):
        operator.execute(task_context(ti))
    assert posthog_conn.requests() == []


# Run


def test_run_waits_on_a_worker_until_the_job_completes(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    before = time.time()
    result = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=False, check_interval=0.1
    ).execute(task_context(ti))

    newest_job = next(iter(PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query["id"])))
    assert result["status"] == "Completed"
    assert result["job_id"] == newest_job["id"]
    assert result["rows_materialized"] == newest_job["rows_materialized"] > 0
    assert result["full_refresh"] is False
    assert result["requested_at"] >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(before))
    (run_post,) = run_posts(posthog_conn)
    assert run_post["body"] is None  # no full refresh asked for: PostHog's default, no body
    assert ti.pushed[URL_KEY].endswith(f"sql?open_view={saved_query['id']}")


@pytest.mark.parametrize("deferrable", [False, True], ids=["on-a-worker", "deferrable"])
def test_run_of_a_view_posthog_calls_not_set_up_fails_at_once_with_its_text_and_what_to_do(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any, deferrable: bool
) -> None:
    posthog_conn.configure(unready_saved_queries=[VIEW])
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=deferrable
    )
    with pytest.raises(PostHogValidationError) as raised:
        operator.execute(task_context(ti))

    message = str(raised.value)
    assert raised.value.status == 400
    assert "not fully set up" in message  # PostHog's own text
    assert "finish it in PostHog" in message and "retrying as it is will not help" in message
    assert len(run_posts(posthog_conn)) == 1  # a 400 is never re-sent
    assert len(job_polls(posthog_conn)) == 1  # the baseline read only: no wait on a run that never started


def test_run_without_waiting_returns_right_after_asking(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    result = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], wait_for_completion=False
    ).execute(task_context(ti))

    assert result == {
        "saved_query_id": saved_query["id"],
        "requested_at": result["requested_at"],
        "status": "requested",
        "job_id": None,
        "rows_materialized": None,
        "full_refresh": False,
        "joined_running_refresh": False,
        "followed_superseding_run": False,
    }
    (run_post,) = run_posts(posthog_conn)
    # One read of the newest job, the baseline the run is matched against, before asking; no polling.
    (baseline_read,) = posthog_conn.requests(method="GET", path="data_modeling_jobs")
    assert baseline_read["query"] == {"saved_query_id": saved_query["id"], "limit": "1"}
    assert baseline_read["time"] <= run_post["time"]


class ClockAnHourAhead:
    """The run operator's ``time``: a wall clock an hour ahead of PostHog's; sleeping stays real."""

    sleep = staticmethod(time.sleep)

    @staticmethod
    def time() -> float:
        return time.time() + 3600


@pytest.mark.parametrize("deferrable", [False, True], ids=["on-a-worker", "deferred"])
def test_run_follows_its_own_job_when_the_workers_clock_is_an_hour_ahead(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any, monkeypatch: pytest.MonkeyPatch, deferrable: bool
) -> None:
    hook = PostHogHook()
    hook.run_saved_query(saved_query["id"])  # an earlier run, whose job must not be taken for ours
    earlier_job = next(iter(hook.list_data_modeling_jobs(saved_query_id=saved_query["id"])))
    wait_for_newest_job_to_end(saved_query["id"])
    monkeypatch.setattr(saved_queries_module, "time", ClockAnHourAhead)
    monkeypatch.setattr(saved_query_runs_io, "time", ClockAnHourAhead)
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=deferrable, check_interval=0.1, timeout=20
    )

    if deferrable:
        with pytest.raises(TaskDeferred) as deferred:
            operator.execute(task_context(ti))
        trigger = deferred.value.trigger
        assert trigger.requested_after > time.time() + 3000  # the skewed clock went into the trigger
        event = asyncio.run(_first_event(trigger))
        result = operator.execute_complete(task_context(ti), event)
    else:
        result = operator.execute(task_context(ti))

    newest_job = next(iter(hook.list_data_modeling_jobs(saved_query_id=saved_query["id"])))
    assert newest_job["id"] != earlier_job["id"]
    assert result["status"] == "Completed"
    assert result["job_id"] == newest_job["id"]
    assert result["rows_materialized"] == newest_job["rows_materialized"]
    assert len(run_posts(posthog_conn)) == 2


async def _first_event(trigger: PostHogSavedQueryRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        payload: dict[str, Any] = event.payload
        return payload
    raise AssertionError("the trigger ended without an event")


def test_deferrable_run_pushes_the_link_then_defers_with_plain_kwargs(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=True, check_interval=5, timeout=600
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context(ti))

    trigger = deferred.value.trigger
    assert isinstance(trigger, PostHogSavedQueryRunTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["posthog_conn_id"] == "posthog_default"
    assert kwargs["cancel_on_kill"] is True
    assert time.time() + 590 < kwargs["deadline"] <= time.time() + 600
    assert posthog_conn.api_key not in repr(kwargs)
    assert (
        deferred.value.timeout is None
    )  # the deadline lives in the trigger, so a timeout reaches execute_complete
    assert ti.pushed[URL_KEY].endswith(f"sql?open_view={saved_query['id']}")


def test_run_on_a_worker_cancels_when_the_timeout_passes(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.configure(job_run_seconds=60)
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=False, check_interval=0.1, timeout=0.5
    )
    with capture_logs() as logs, pytest.raises(AirflowException, match="timeout"):
        operator.execute(task_context(ti))

    assert len(cancel_posts(posthog_conn)) == 1
    assert any(entry["log_level"] == "warning" and "goes on in PostHog" in entry["event"] for entry in logs)


def test_killing_a_run_waiting_on_a_worker_cancels_it(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.configure(job_run_seconds=60, allow_cancel_with_personal_key=True)
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=False, check_interval=0.1
    )
    failure: list[BaseException] = []
    worker = threading.Thread(target=lambda: _record_failure(failure, operator.execute, task_context(ti)))
    worker.start()
    # The first jobs GET is the baseline read before the run is asked for; the second is a poll.
    wait_until(lambda: len(job_polls(posthog_conn)) >= 2, what="the operator's first poll of the run")

    operator.on_kill()
    worker.join(timeout=10)

    assert len(cancel_posts(posthog_conn)) == 1
    assert len(failure) == 1
    assert "ended Cancelled" in str(failure[0])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"saved_query_id": SOME_UUID, "check_interval": 0}, "check_interval must be a positive number"),
        ({"saved_query_id": SOME_UUID, "timeout": -1}, "timeout must be a positive number"),
    ],
)
def test_run_refuses_bad_intervals_when_the_dag_is_parsed(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostHogRunSavedQueryOperator(task_id="run", **arguments)


ID_TAKERS = [
    PostHogRunSavedQueryOperator,
    PostHogDeleteSavedQueryOperator,
    PostHogMaterializeSavedQueryOperator,
    PostHogRevertSavedQueryMaterializationOperator,
    PostHogSavedQuerySensor,
]


@pytest.mark.parametrize("task_class", ID_TAKERS, ids=lambda task_class: task_class.__name__)
@pytest.mark.parametrize("bad_id", ["daily_views", "", "0193b5d2-...", 42], ids=repr)
def test_a_saved_query_id_that_is_not_a_uuid_is_refused_when_the_dag_is_parsed(
    task_class: type, bad_id: Any
) -> None:
    with pytest.raises(ValueError, match=r"^saved_query_id must be a UUID such as"):
        task_class(task_id="task", saved_query_id=bad_id)


@pytest.mark.parametrize("task_class", ID_TAKERS, ids=lambda task_class: task_class.__name__)
@pytest.mark.parametrize(
    ("arguments", "given"),
    [({}, "neither"), ({"saved_query_id": SOME_UUID, "saved_query_name": VIEW}, "both")],
    ids=["neither", "both"],
)
def test_exactly_one_of_id_and_name_is_required_when_the_dag_is_parsed(
    posthog_conn: Any, task_class: type, arguments: dict[str, Any], given: str
) -> None:
    with pytest.raises(ValueError, match=f"saved_query_id .* and saved_query_name .*; got {given}"):
        task_class(task_id="task", **arguments)
    assert "saved_query_name" in task_class.template_fields
    task_class(task_id="task", saved_query_name="{{ params.view }}")  # a template: nothing looked up
    task_class(task_id="task", saved_query_name=VIEW)
    assert posthog_conn.requests() == []  # names are never looked up when the DAG is parsed


def test_a_literal_uuid_is_accepted_in_any_spelling_and_sent_canonical(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    spelled = "{" + saved_query["id"].upper() + "}"
    operator = PostHogRevertSavedQueryMaterializationOperator(task_id="revert", saved_query_id=spelled)

    assert operator.execute(task_context(ti)) == {"id": saved_query["id"], "is_materialized": False}
    assert posthog_conn.requests(method="POST")[-1]["path"].endswith(
        f"/warehouse_saved_queries/{saved_query['id']}/revert_materialization/"
    )


@pytest.mark.parametrize("task_class", ID_TAKERS, ids=lambda task_class: task_class.__name__)
def test_a_rendered_id_that_is_not_a_uuid_fails_the_task_without_retries_or_requests(
    airflow_db: Any, posthog_conn: Any, task_class: type
) -> None:
    task = task_class(
        task_id="saved_query_task",
        saved_query_id="{{ params.view }}",
        params={"view": "daily_views"},
        retries=2,
        retry_delay=dt.timedelta(0),
    )
    dag_run = run_operators(task, dag_id_prefix="saved_query_bad_id")

    assert task_states(dag_run) == {"saved_query_task": "failed"}
    assert task_instance(dag_run, "saved_query_task").try_number == 1, "no retry is spent on it"
    assert posthog_conn.requests() == []


def test_a_rendered_id_names_the_field_and_what_is_allowed(posthog_conn: Any, ti: Any) -> None:
    operator = PostHogRunSavedQueryOperator(task_id="run", saved_query_id="{{ params.view }}")
    operator.saved_query_id = "daily_views"  # what the template rendered to

    with pytest.raises(AirflowFailException, match=r"^saved_query_id must be a UUID such as .*'daily_views'"):
        operator.execute(task_context(ti))
    assert posthog_conn.requests() == []


def test_run_with_full_refresh_sends_posthogs_body_and_says_so_in_its_result(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    result = PostHogRunSavedQueryOperator(
        task_id="run",
        saved_query_id=saved_query["id"],
        full_refresh=True,
        deferrable=False,
        check_interval=0.1,
    ).execute(task_context(ti))

    (run_post,) = run_posts(posthog_conn)
    assert run_post["body"] == {"full_refresh": True}
    stored = posthog_conn.emulator.state.objects["data_modeling_jobs"][result["job_id"]]
    assert stored["_full_refresh"] is True  # the job PostHog started is the full refresh
    assert (result["status"], result["full_refresh"]) == ("Completed", True)
    with pytest.raises(ValueError, match=r"^full_refresh must be True or False; got 'yes'"):
        PostHogRunSavedQueryOperator(task_id="run", saved_query_id=SOME_UUID, full_refresh="yes")


@pytest.mark.parametrize("deferrable", [False, True], ids=["on-a-worker", "deferrable"])
def test_run_by_a_templated_name_looks_the_view_up_once_at_execute(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any, deferrable: bool
) -> None:
    seen_before = len(posthog_conn.requests())  # the fixture's create
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_name="{{ params.view }}", deferrable=deferrable, check_interval=0.1
    )
    assert len(posthog_conn.requests()) == seen_before
    operator.saved_query_name = VIEW  # what the template rendered to

    if deferrable:
        with pytest.raises(TaskDeferred) as deferred:
            operator.execute(task_context(ti))
        _, kwargs = deferred.value.trigger.serialize()
        # The name was looked up before deferring: the trigger gets the id, as plain kwargs.
        assert (kwargs["run"]["saved_query_id"], kwargs["saved_query_name"]) == (saved_query["id"], None)
        result = operator.execute_complete(
            task_context(ti), asyncio.run(_first_event(deferred.value.trigger))
        )
    else:
        result = operator.execute(task_context(ti))

    (lookup,) = posthog_conn.requests(method="GET", path=r"/warehouse_saved_queries/?$")
    assert lookup["query"]["search"] == VIEW
    (run_post,) = run_posts(posthog_conn)
    assert f"/warehouse_saved_queries/{saved_query['id']}/run" in run_post["path"]
    assert (result["saved_query_id"], result["status"]) == (saved_query["id"], "Completed")


def test_a_name_no_view_has_fails_the_task_saying_so_without_a_run(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    operator = PostHogRunSavedQueryOperator(task_id="run", saved_query_name="airflow_operator")

    with pytest.raises(AirflowFailException) as refused:
        operator.execute(task_context(ti))

    message = str(refused.value)
    assert message.startswith("saved_query_name must be the exact name of a saved query")
    assert "No view has this name" in message and repr(VIEW) in message  # the near miss is shown
    assert run_posts(posthog_conn) == []


# Delete, materialize, revert


def test_delete_succeeds_again_when_the_view_is_already_gone(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    operator = PostHogDeleteSavedQueryOperator(task_id="delete", saved_query_id=saved_query["id"])

    assert operator.execute(task_context(ti)) == {"id": saved_query["id"], "deleted": True}
    assert operator.execute(task_context(ti)) == {"id": saved_query["id"], "deleted": True}
    assert [entry["status"] for entry in posthog_conn.requests(method="DELETE")] == [204, 404]


def test_materialize_then_revert(posthog_conn: Any, saved_query: dict[str, Any], ti: Any) -> None:
    materialized = PostHogMaterializeSavedQueryOperator(
        task_id="materialize", saved_query_id=saved_query["id"], sync_frequency="1hour"
    ).execute(task_context(ti))
    stored = PostHogHook().get_saved_query(saved_query["id"])
    assert materialized == {"id": saved_query["id"], "sync_frequency": "1hour"}
    assert (stored["is_materialized"], stored["sync_frequency"]) == (True, "1hour")

    PostHogRevertSavedQueryMaterializationOperator(
        task_id="revert", saved_query_id=saved_query["id"]
    ).execute(task_context(ti))
    stored = PostHogHook().get_saved_query(saved_query["id"])
    assert (stored["is_materialized"], stored["sync_frequency"]) == (False, None)
    assert ti.pushed[URL_KEY].endswith(f"sql?open_view={saved_query['id']}")


def test_materialize_refuses_an_unknown_frequency_when_parsed_and_when_rendered(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    with pytest.raises(ValueError, match=r"^sync_frequency must be one of"):
        PostHogMaterializeSavedQueryOperator(
            task_id="materialize", saved_query_id=saved_query["id"], sync_frequency="hourly"
        )
    with pytest.raises(ValueError, match=r"got 'never'\. .*PostHogRevertSavedQueryMaterializationOperator"):
        PostHogMaterializeSavedQueryOperator(
            task_id="materialize", saved_query_id=saved_query["id"], sync_frequency="never"
        )
    templated = PostHogMaterializeSavedQueryOperator(
        task_id="materialize", saved_query_id=saved_query["id"], sync_frequency="{{ params.every }}"
    )
    templated.sync_frequency = "hourly"  # what the template rendered to
    seen_before = len(posthog_conn.requests())

    with pytest.raises(AirflowFailException, match=r"^sync_frequency must be one of.*'1hour'"):
        templated.execute(task_context(ti))
    assert len(posthog_conn.requests()) == seen_before


# Sensor


def make_sensor(saved_query_id: str, requested_after: float | None, **kwargs: Any) -> PostHogSavedQuerySensor:
    return PostHogSavedQuerySensor(
        task_id="wait",
        saved_query_id=saved_query_id,
        requested_after=requested_after,
        **{"poke_interval": 0.1, "timeout": 30, **kwargs},
    )


def test_sensor_pokes_until_the_run_completes(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.configure(job_run_seconds=1.5)  # still Running at the first poke, even on a busy machine
    requested_after = time.time()
    PostHogHook().run_saved_query(saved_query["id"])
    sensor = make_sensor(saved_query["id"], requested_after)

    assert not sensor.poke(task_context(ti)).is_done
    result = sensor.execute(task_context(ti))

    assert result["status"] == "Completed"
    assert len(posthog_conn.requests(method="GET", path="data_modeling_jobs")) >= 2


def test_sensor_is_not_fooled_by_an_earlier_run(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    PostHogHook().run_saved_query(saved_query["id"])
    wait_for_newest_job_to_end(saved_query["id"])  # before the run we wait for was asked for

    assert not make_sensor(saved_query["id"], time.time()).poke(task_context(ti)).is_done
    assert make_sensor(saved_query["id"], None, accept_earlier_runs=True).poke(task_context(ti)).is_done


def test_sensor_waits_for_a_refresh_after_the_data_interval_by_default(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    PostHogHook().run_saved_query(saved_query["id"])
    yesterdays = wait_for_newest_job_to_end(saved_query["id"])
    interval_ended = {**task_context(ti), "data_interval_end": dt.datetime.now(dt.timezone.utc)}
    sensor = make_sensor(saved_query["id"], None, timeout=0.5)

    with pytest.raises(AirflowSensorTimeout):
        sensor.execute(interval_ended)  # the completed refresh predates the interval's end

    PostHogHook().run_saved_query(saved_query["id"])  # today's refresh
    result = make_sensor(saved_query["id"], None).execute(interval_ended)
    assert result["status"] == "Completed" and result["job_id"] != yesterdays["id"]
    earlier_interval = {
        **interval_ended,
        "data_interval_end": dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1),
    }
    assert make_sensor(saved_query["id"], None).execute(earlier_interval)["job_id"] == yesterdays["id"]
    with pytest.raises(ValueError, match="requested_after or accept_earlier_runs=True, not both"):
        make_sensor(saved_query["id"], time.time(), accept_earlier_runs=True)


def test_sensor_by_name_follows_the_named_views_run(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    requested_after = time.time()
    PostHogHook().run_saved_query(saved_query["id"])
    sensor = PostHogSavedQuerySensor(
        task_id="wait", saved_query_name=VIEW, requested_after=requested_after, poke_interval=0.1, timeout=30
    )

    result = sensor.execute(task_context(ti))

    newest_job = next(iter(PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query["id"])))
    assert result == {"saved_query_id": saved_query["id"], "status": "Completed", "job_id": newest_job["id"]}
    assert (
        len(posthog_conn.requests(method="GET", path=r"/warehouse_saved_queries/?$")) == 1
    )  # looked up once


def test_sensor_treats_an_unreachable_posthog_as_not_done_yet(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(posthog_conn.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), "max_retries": 0}
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))
    requested_after = time.time()
    PostHogHook().run_saved_query(saved_query["id"])
    wait_for_newest_job_to_end(saved_query["id"])
    posthog_conn.add_fault(method="GET", path="data_modeling_jobs", kind="drop", times=1)
    sensor = make_sensor(saved_query["id"], requested_after)

    assert not sensor.poke(task_context(ti)).is_done
    assert sensor.poke(task_context(ti)).is_done


def test_sensor_fails_with_posthogs_text_when_the_run_fails(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.configure(job_run_seconds=0.0, job_outcome="Failed", job_error="Division by zero in view")
    requested_after = time.time()
    PostHogHook().run_saved_query(saved_query["id"])

    with pytest.raises(AirflowException, match="ended Failed: Division by zero in view"):
        make_sensor(saved_query["id"], requested_after).execute(task_context(ti))


def test_sensor_in_reschedule_mode_frees_the_slot_while_the_run_goes_on(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.configure(job_run_seconds=60)
    requested_after = time.time()
    PostHogHook().run_saved_query(saved_query["id"])

    with pytest.raises(AirflowRescheduleException):
        make_sensor(saved_query["id"], requested_after, mode="reschedule").execute(task_context(ti))


def test_deferrable_sensor_checks_once_before_deferring(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.configure(job_run_seconds=60)
    requested_after = time.time()
    PostHogHook().run_saved_query(saved_query["id"])

    with pytest.raises(TaskDeferred) as deferred:
        make_sensor(saved_query["id"], requested_after, deferrable=True).execute(task_context(ti))

    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["cancel_on_kill"] is False  # the sensor only watches
    assert kwargs["run"]["requested_after"] == requested_after
    assert len(posthog_conn.requests(method="GET", path="data_modeling_jobs")) == 1


def test_deferrable_sensor_does_not_defer_for_a_finished_run(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    requested_after = time.time()
    PostHogHook().run_saved_query(saved_query["id"])
    wait_for_newest_job_to_end(saved_query["id"])

    result = make_sensor(saved_query["id"], requested_after, deferrable=True).execute(task_context(ti))

    assert result["status"] == "Completed"


def test_sensor_refuses_a_requested_after_that_is_not_a_time(posthog_conn: Any, ti: Any) -> None:
    with pytest.raises(ValueError, match="requested_after must be"):
        PostHogSavedQuerySensor(task_id="wait", saved_query_id=SOME_UUID, requested_after="soon")
    templated = PostHogSavedQuerySensor(
        task_id="wait",
        saved_query_id=SOME_UUID,
        requested_after="{{ ti.xcom_pull(task_ids='run')['requested_at'] }}",
    )
    templated.requested_after = "soon"  # what the template rendered to

    with pytest.raises(AirflowFailException, match=r"^requested_after must be"):
        templated.execute(task_context(ti))
    assert posthog_conn.requests() == []


def test_hook_params_override_the_connections_extras_for_one_task(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.add_fault(method="POST", path="revert_materialization", kind="status", status=503, times=1)
    operator = PostHogRevertSavedQueryMaterializationOperator(
        task_id="revert", saved_query_id=saved_query["id"], hook_params={"max_retries": 0, "timeout": 7}
    )

    with pytest.raises(PostHogServerError):
        operator.execute(task_context(ti))
    assert len(posthog_conn.requests(method="POST", path="revert_materialization")) == 1  # no retry
    assert operator.hook.get_conn().config.timeout == 7


@pytest.mark.parametrize("deferrable", [False, True], ids=["on-a-worker", "deferred"])
def test_a_scheduled_refresh_that_starts_after_the_run_is_not_taken_for_it(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any, deferrable: bool
) -> None:
    posthog_conn.configure(job_run_seconds=0)
    hook = PostHogHook()
    hook.materialize_saved_query(saved_query["id"])  # its first refresh ends at once
    wait_for_newest_job_to_end(saved_query["id"])
    posthog_conn.configure(job_run_seconds=JOB_SECONDS)
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=deferrable, check_interval=1.0, timeout=20
    )

    def refresh_once_ours_ended() -> None:
        wait_until(lambda: len(list(hook.list_data_modeling_jobs(saved_query["id"]))) == 2, what="our job")
        wait_for_newest_job_to_end(saved_query["id"])
        posthog_conn.refresh_on_schedule(VIEW)  # newer than ours, before the next poll

    if deferrable:
        with pytest.raises(TaskDeferred) as deferred:
            operator.execute(task_context(ti))
        refresh_once_ours_ended()
        result = operator.execute_complete(
            task_context(ti), asyncio.run(_first_event(deferred.value.trigger))
        )
    else:
        outcome: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: outcome.update(operator.execute(task_context(ti))))
        worker.start()
        refresh_once_ours_ended()
        worker.join(timeout=20)
        result = outcome

    refresh, ours, _materialized = list(hook.list_data_modeling_jobs(saved_query_id=saved_query["id"]))
    assert refresh["created_at"] > ours["created_at"]  # the refresh is the newest job
    assert result["job_id"] == ours["id"]
    assert result["status"] == "Completed"
    assert result["joined_running_refresh"] is False


def test_a_name_taken_by_a_hidden_view_gets_posthogs_answer_not_a_concurrent_edit(
    posthog_conn: Any, ti: Any
) -> None:
    operator = PostHogCreateOrUpdateSavedQueryOperator(
        task_id="upsert", name="signups_endpoint", query="select 1 from events"
    )  # the emulator's seed has an endpoint's hidden view of this name, as PostHog projects do

    with pytest.raises(AirflowException) as refused:
        operator.execute(task_context(ti))
    message = str(refused.value)
    assert "The query was modified by someone else." in message  # PostHog's own answer
    assert "not listed" in message and "choose another name" in message
    assert "while this task ran" not in message
    assert "signups_endpoint" not in {view["name"] for view in PostHogHook().list_saved_queries()}


# Joined and preempted runs (PostHog runs one refresh of a view at a time)


def _ended_at(job: dict[str, Any]) -> float:
    return dt.datetime.fromisoformat(job["last_run_at"].replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("deferrable", [False, True], ids=["on-a-worker", "deferred"])
def test_materialize_then_run_follows_the_joined_refresh_to_its_end(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any, deferrable: bool
) -> None:
    posthog_conn.configure(job_run_seconds=1.0)
    PostHogMaterializeSavedQueryOperator(task_id="materialize", saved_query_id=saved_query["id"]).execute(
        task_context(ti)
    )
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=deferrable, check_interval=0.1, timeout=5
    )
    if deferrable:
        with pytest.raises(TaskDeferred) as deferred:
            operator.execute(task_context(ti))
        assert json.loads(json.dumps(deferred.value.trigger.serialize()[1]))["run"]["joined_job_id"]
        result = operator.execute_complete(
            task_context(ti), asyncio.run(_first_event(deferred.value.trigger))
        )
    else:
        result = operator.execute(task_context(ti))
    finished = time.time()

    (refresh,) = PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query["id"])  # one job, joined
    assert len(run_posts(posthog_conn)) == 1
    assert result["job_id"] == refresh["id"] and result["status"] == "Completed"
    assert result["joined_running_refresh"] is True and result["followed_superseding_run"] is False
    assert finished - _ended_at(refresh) < 0.1 + 0.5  # within one poll of its end (plus the reads after)


def test_a_job_row_that_appears_after_run_answered_is_followed(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.configure(job_start_delay=0.5)
    result = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=False, check_interval=0.1, timeout=10
    ).execute(task_context(ti))

    (job,) = PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query["id"])
    (run_post,) = run_posts(posthog_conn)
    created = dt.datetime.fromisoformat(job["created_at"].replace("Z", "+00:00")).timestamp()
    assert created >= run_post["time"] + 0.4  # PostHog wrote the row after answering
    polls_before_the_row = [
        poll for poll in job_polls(posthog_conn) if run_post["time"] < poll["time"] < created
    ]
    assert polls_before_the_row  # the operator looked while no job was listed, and went on waiting
    assert result["job_id"] == job["id"] and result["status"] == "Completed"
    assert result["joined_running_refresh"] is False


def _run_preempted_once_listed(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any, **arguments: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run on a worker; once the run's job is listed, a new run of the view's DAG preempts it."""
    posthog_conn.configure(job_run_seconds=1.0)
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], check_interval=0.1, timeout=10, **arguments
    )
    outcome: dict[str, Any] = {}

    def execute() -> None:
        try:
            outcome["result"] = operator.execute(task_context(ti))
        except AirflowException as error:
            outcome["error"] = error

    with capture_logs() as logs:
        worker = threading.Thread(target=execute)
        worker.start()
        hook = PostHogHook()
        wait_until(lambda: list(hook.list_data_modeling_jobs(saved_query["id"])), what="the run's job")
        jobs = posthog_conn.preempt(VIEW)
        worker.join(timeout=20)
    outcome["logs"] = logs
    return outcome, jobs


def test_a_preempted_run_follows_the_run_that_took_over_and_succeeds_with_it(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    outcome, jobs = _run_preempted_once_listed(posthog_conn, saved_query, ti, deferrable=False)

    result = outcome["result"]
    assert jobs["preempted"]["error"] == "Preempted: a new DAG run started before this job completed"
    assert result["job_id"] == jobs["started"]["id"] and result["status"] == "Completed"
    assert result["followed_superseding_run"] is True
    assert any("took over from ours, which PostHog preempted" in entry["event"] for entry in outcome["logs"])
    assert len(run_posts(posthog_conn)) == 1


def test_a_preempted_run_fails_with_posthogs_words_when_asked_to(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    outcome, jobs = _run_preempted_once_listed(
        posthog_conn, saved_query, ti, deferrable=False, fail_on_preempted=True
    )

    message = str(outcome["error"])
    assert jobs["preempted"]["id"] in message
    assert "ended Failed: Preempted: a new DAG run started before this job completed" in message


def test_the_trigger_follows_the_run_that_took_over_from_a_preempted_one(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    posthog_conn.configure(job_run_seconds=1.0)
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=True, check_interval=0.1, timeout=10
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context(ti))
    hook = PostHogHook()
    wait_until(lambda: list(hook.list_data_modeling_jobs(saved_query["id"])), what="the run's job")
    jobs = posthog_conn.preempt(VIEW)
    event = asyncio.run(_first_event(deferred.value.trigger))
    result = operator.execute_complete(task_context(ti), event)

    assert event["status"] == "success" and event["followed_superseding_run"] is True
    assert result["job_id"] == jobs["started"]["id"] and result["followed_superseding_run"] is True


def test_an_abandoned_run_fails_with_posthogs_words_and_says_a_retry_asks_again(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    abandoned = "Abandoned: the materialization workflow is no longer running"
    posthog_conn.configure(job_outcome="Failed", job_error=abandoned)
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], deferrable=False, check_interval=0.1, timeout=10
    )
    with pytest.raises(AirflowException, match="a retry of this task asks PostHog for a new run") as failed:
        operator.execute(task_context(ti))
    assert f"ended Failed: {abandoned}" in str(failed.value)


# A retry resumes the run an earlier try asked for (the task state store, Airflow 3.3+)

with_task_state_store = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS, reason="a retry resumes a run only through the task state store (Airflow 3.3+)"
)
without_task_state_store = pytest.mark.skipif(
    AIRFLOW_V_3_3_PLUS, reason="Airflow 3.3+ has a task state store"
)


def _run_retried_once(saved_query: dict[str, Any], **arguments: Any) -> Any:
    """Run the view in a DAG whose task may be retried once, at once; return the DagRun."""
    return run_operators(
        PostHogRunSavedQueryOperator(
            task_id="run",
            saved_query_id=saved_query["id"],
            check_interval=0.1,
            timeout=20,
            retries=1,
            retry_delay=dt.timedelta(0),
            **arguments,
        ),
        dag_id_prefix="saved_query_resume",
    )


def _first_poll_refused(posthog_conn: Any) -> None:
    """End the first try while its run goes on, as a worker crash would: its first poll is refused (403).

    The first read of the view's jobs (the baseline, before ``run``) passes.
    """
    posthog_conn.add_fault(method="GET", path="data_modeling_jobs", kind="delay", delay=0.01, times=1)
    posthog_conn.add_fault(method="GET", path="data_modeling_jobs", kind="status", status=403, times=1)


def _stored_runs(dag_run: Any) -> list[dict[str, Any]]:
    """The runs the task state store holds for ``dag_run``'s tasks (read from the metadata database)."""
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskStateStoreModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id)
        return [json.loads(row.value) for row in rows if row.key == saved_queries_module.RUN_STATE_KEY]


@with_task_state_store
@pytest.mark.parametrize(
    ("job_run_seconds", "deferrable"),
    [(1.5, False), (0.0, False), (1.5, True)],
    ids=["running-on-a-worker", "completed", "running-deferred"],
)
def test_a_retry_resumes_the_stored_run_without_asking_for_another(
    airflow_db: Any, posthog_conn: Any, saved_query: dict[str, Any], job_run_seconds: float, deferrable: bool
) -> None:
    posthog_conn.configure(job_run_seconds=job_run_seconds)
    _first_poll_refused(posthog_conn)

    dag_run = _run_retried_once(saved_query, deferrable=deferrable)

    assert task_states(dag_run) == {"run": "success"}
    assert task_instance(dag_run, "run").try_number == 2
    assert len(run_posts(posthog_conn)) == 1, "the retry asked PostHog for a second run"
    polls = job_polls(posthog_conn)
    refused = next(index for index, poll in enumerate(polls) if poll["status"] == 403)
    if job_run_seconds == 0:
        assert len(polls) - refused - 1 == 2  # the stored run's state, then its rows: no wait
    else:
        assert len(polls) - refused - 1 > 2  # it waited for the run to end
    (job,) = PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query["id"])
    result = task_instance(dag_run, "run").xcom_pull(task_ids="run")
    assert (result["job_id"], result["status"]) == (job["id"], "Completed")
    assert _stored_runs(dag_run) == []  # a try that succeeded forgets its run: a clear asks anew


@with_task_state_store
def test_a_retry_after_a_run_that_failed_asks_posthog_again(
    airflow_db: Any, posthog_conn: Any, saved_query: dict[str, Any]
) -> None:
    posthog_conn.configure(job_outcome="Failed", job_error="Column `evnt` does not exist")

    dag_run = _run_retried_once(saved_query, deferrable=False)

    assert task_states(dag_run) == {"run": "failed"}
    assert task_instance(dag_run, "run").try_number == 2
    assert len(run_posts(posthog_conn)) == 2
    first, second = reversed(list(PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query["id"])))
    (stored,) = _stored_runs(dag_run)  # stored before the second try waited, kept as it failed
    assert stored["saved_query_id"] == saved_query["id"]
    assert stored["baseline"] == {"job_id": first["id"], "created_at": first["created_at"]}
    assert second["status"] == "Failed"


@without_task_state_store
def test_without_a_task_state_store_a_retry_asks_posthog_for_a_new_run(
    airflow_db: Any, posthog_conn: Any, saved_query: dict[str, Any]
) -> None:
    posthog_conn.configure(job_run_seconds=1.5)
    _first_poll_refused(posthog_conn)

    dag_run = _run_retried_once(saved_query, deferrable=False)

    assert task_states(dag_run) == {"run": "success"}
    assert task_instance(dag_run, "run").try_number == 2
    assert len(run_posts(posthog_conn)) == 2  # as before 0.2 (Airflow 3.1 and 3.2)


# Suspended views


def test_a_run_of_a_suspended_view_resumes_it_and_says_so(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    suspend(posthog_conn, saved_query["id"], VIEW)
    operator = PostHogRunSavedQueryOperator(
        task_id="run", saved_query_id=saved_query["id"], check_interval=0.1, timeout=30
    )

    with capture_logs() as logs:
        result = operator.execute(task_context(ti))

    assert result["status"] == "Completed"
    assert PostHogHook().get_saved_query(saved_query["id"])["suspended"] == {}  # PostHog resumed it
    assert len(run_posts(posthog_conn)) == 1
    (warning,) = [entry for entry in logs if "This run resumes it" in str(entry["event"])]
    said = str(warning)
    assert warning["log_level"] == "warning"
    assert f"PostHog has suspended saved query {saved_query['id']}" in said and OWN_FAILURE in said


@pytest.mark.parametrize("deferrable", [False, True], ids=["poking", "deferrable"])
def test_a_sensor_on_a_suspended_view_fails_at_once_saying_what_to_do(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any, deferrable: bool
) -> None:
    suspend(posthog_conn, saved_query["id"], VIEW)
    sensor = make_sensor(saved_query["id"], time.time(), timeout=60, deferrable=deferrable)
    started = time.monotonic()

    with pytest.raises(AirflowFailException) as failed:  # no retries: a retry would wait in vain too
        sensor.execute(task_context(ti))

    assert time.monotonic() - started < 10  # not its 60 s timeout
    message = str(failed.value)
    assert f"PostHog has suspended saved query {saved_query['id']}" in message and OWN_FAILURE in message
    assert "No refresh will come until it is resumed" in message
    assert "PostHogRunSavedQueryOperator" in message and "PostHogHook.resume_saved_query" in message
    assert run_posts(posthog_conn) == []  # the sensor only watches


def test_a_sensor_following_the_run_that_suspended_the_view_fails_saying_what_to_do(
    posthog_conn: Any, saved_query: dict[str, Any], ti: Any
) -> None:
    suspend(posthog_conn, saved_query["id"], VIEW)

    with pytest.raises(AirflowFailException) as failed:
        make_sensor(saved_query["id"], None, accept_earlier_runs=True).execute(task_context(ti))

    message = str(failed.value)
    assert "This model has been suspended after 5 consecutive failed materializations." in message
    assert "PostHogHook.resume_saved_query" in message


def test_resume_clears_a_suspension_without_a_run_and_is_safe_to_send_again(
    posthog_conn: Any, saved_query: dict[str, Any]
) -> None:
    suspend(posthog_conn, saved_query["id"], VIEW)
    hook = PostHogHook()

    assert hook.resume_saved_query(saved_query["id"]) is True
    assert hook.resume_saved_query(saved_query["id"]) is False  # nothing left to resume

    resumes = posthog_conn.requests(method="POST", path=r"/warehouse_saved_queries/[^/]+/resume/?$")
    assert [entry["path"].rstrip("/").split("/")[-2] for entry in resumes] == [saved_query["id"]] * 2
    assert hook.get_saved_query(saved_query["id"])["suspended"] == {}
    assert run_posts(posthog_conn) == []
    assert posthog_conn.refresh_on_schedule(VIEW)["status"] == "Completed"  # its schedule runs it again
