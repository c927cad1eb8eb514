"""Which job is ours, when a run has ended, what the trigger reports, and how that report is checked."""

from __future__ import annotations

import importlib
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException

from airflow_provider._compat import deserialize, serialize
from airflow_provider.api.endpoints import check_saved_query_id
from airflow_provider.saved_query_runs.state import (
    TERMINAL_STATUSES,
    JobBaseline,
    RunState,
    job_state,
    saved_query_state,
)
from airflow_provider.triggers.run_events import (
    EVENT_CANCELLED,
    EVENT_ERROR,
    EVENT_FAILED,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    run_event,
    stop_event,
    suspended_event,
    validate_run_event,
)
from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger

T0 = datetime(2026, 11, 26, 12, 0, 0, 500000, tzinfo=timezone.utc).timestamp()
BEFORE = "2026-11-26T12:00:00.100000Z"
AFTER = "2026-11-26T12:00:00.900000Z"


def job(
    status: str, created_at: str = AFTER, error: str | None = None, job_id: str = "job-1"
) -> dict[str, Any]:
    return {"id": job_id, "status": status, "created_at": created_at, "error": error}


@pytest.mark.parametrize(
    ("newest", "requested_after", "expected"),
    [
        (None, T0, None),
        (job("Completed", created_at=BEFORE), T0, None),
        (job("Running"), T0, RunState("Running", "job-1")),
        (job("Completed"), T0, RunState("Completed", "job-1")),
        (job("Failed", error="Table missing"), T0, RunState("Failed", "job-1", "Table missing")),
        (job("Skipped"), T0, RunState("Skipped", "job-1")),
        (job("Completed", created_at=BEFORE), None, RunState("Completed", "job-1")),
    ],
    ids=["no-job", "only-older-job", "running", "completed", "failed", "skipped", "any-run"],
)
def test_without_a_baseline_job_state_follows_only_a_job_created_after_the_request(
    newest: dict[str, Any] | None, requested_after: float | None, expected: RunState | None
) -> None:
    assert job_state([] if newest is None else [newest], requested_after) == expected


EARLIER_JOB = job("Completed", created_at=BEFORE, job_id="job-0")
AN_HOUR_AHEAD = T0 + 3600  # a worker clock an hour ahead of PostHog's, at the moment it asked for the run


@pytest.mark.parametrize(
    ("newest", "baseline", "expected"),
    [
        (None, JobBaseline(), None),
        (job("Running"), JobBaseline(), RunState("Running", "job-1")),
        (EARLIER_JOB, JobBaseline.of(EARLIER_JOB), RunState(None)),
        (job("Completed"), JobBaseline.of(EARLIER_JOB), RunState("Completed", "job-1")),
        (job("Running", created_at=BEFORE), JobBaseline.of(EARLIER_JOB), RunState("Running", "job-1")),
        (
            job("Completed", created_at="2026-11-26T11:00:00Z", job_id="job-older"),
            JobBaseline.of(EARLIER_JOB),
            RunState(None),
        ),
    ],
    ids=[
        "no-job-at-all",
        "first-job-ever",
        "newest-is-the-baseline",
        "newer-job",
        "same-created-at-other-id",
        "older-than-baseline",
    ],
)
def test_with_a_baseline_job_state_follows_the_first_job_after_it_whatever_the_workers_clock(
    newest: dict[str, Any] | None, baseline: JobBaseline, expected: RunState | None
) -> None:
    jobs = [] if newest is None else [newest]
    assert job_state(jobs, AN_HOUR_AHEAD, baseline) == expected
    assert job_state(jobs, None, baseline) == expected  # requested_after plays no part for jobs


def test_a_worker_clock_an_hour_ahead_misses_the_run_by_time_but_not_by_baseline() -> None:
    ours = job("Running")

    assert job_state([ours], AN_HOUR_AHEAD) is None  # the old, clock-based match never finds it
    assert job_state([ours], AN_HOUR_AHEAD, JobBaseline.of(EARLIER_JOB)) == RunState("Running", "job-1")


LATER = "2026-11-26T12:00:05Z"


@pytest.mark.parametrize(
    ("jobs", "baseline", "requested_after", "expected"),
    [
        # A materialization (or a schedule) started a job after ours: the newest is not ours.
        (
            [job("Running", LATER, job_id="refresh"), job("Completed", job_id="ours"), EARLIER_JOB],
            JobBaseline.of(EARLIER_JOB),
            None,
            RunState("Completed", "ours"),
        ),
        (
            [job("Running", LATER, job_id="refresh"), job("Failed", error="boom", job_id="ours")],
            None,
            T0,
            RunState("Failed", "ours", "boom"),
        ),
        # Without any marker, the newest job is followed.
        (
            [job("Running", LATER, job_id="refresh"), job("Completed", job_id="ours")],
            None,
            None,
            RunState("Running", "refresh"),
        ),
    ],
    ids=["later-job-after-baseline", "later-job-after-requested-after", "no-marker-follows-newest"],
)
def test_ours_is_the_first_job_after_the_marker_not_a_later_one(
    jobs: list[dict[str, Any]],
    baseline: JobBaseline | None,
    requested_after: float | None,
    expected: RunState,
) -> None:
    assert job_state(jobs, requested_after, baseline) == expected


def test_job_baseline_keeps_posthogs_id_and_created_at_as_plain_strings() -> None:
    assert JobBaseline.of(None) == JobBaseline(None, None)
    assert JobBaseline.of({"id": 7, "created_at": BEFORE}) == JobBaseline("7", BEFORE)


@pytest.mark.parametrize(
    ("saved_query", "expected_status"),
    [
        ({"status": "Completed", "last_run_at": BEFORE}, None),
        ({"status": "Failed", "last_run_at": None, "latest_error": "old"}, None),
        ({"status": "Running", "last_run_at": BEFORE}, "Running"),
        ({"status": "Completed", "last_run_at": AFTER}, "Completed"),
        ({"status": None, "last_run_at": None}, None),
        ({"status": "Modified", "last_run_at": BEFORE}, "Modified"),
    ],
    ids=["earlier-outcome", "earlier-failure", "running", "completed-now", "never-run", "modified"],
)
def test_saved_query_state_never_takes_an_earlier_runs_outcome_for_ours(
    saved_query: dict[str, Any], expected_status: str | None
) -> None:
    state = saved_query_state(saved_query, T0)
    assert state.status == expected_status
    assert not state.terminal or state.status in TERMINAL_STATUSES


def test_run_event_reports_failure_with_posthogs_error_text() -> None:
    event = run_event("sq-1", RunState("Failed", "job-1", "Column foo does not exist"), T0)
    assert event["status"] == EVENT_FAILED
    assert "Column foo does not exist" in event["message"]
    assert event["requested_after"] == T0
    assert run_event("sq-1", RunState("Cancelled", "job-1"), T0)["status"] == EVENT_CANCELLED
    assert run_event("sq-1", RunState("Skipped", "job-1"), T0)["status"] == EVENT_FAILED
    assert run_event("sq-1", RunState("Completed", "job-1"), T0)["status"] == EVENT_SUCCESS


def test_events_about_a_checked_id_are_plain_values_the_triggerers_msgpack_takes() -> None:
    # The triggerer sends events to its supervisor as msgpack, which refuses a str subclass such as
    # the SavedQueryId a checked id is: such an event failed every deferred run in a real triggerer.
    import msgspec

    checked = check_saved_query_id("0193B5D2-0000-7000-8000-000000000001")
    events = [
        run_event(checked, RunState("Completed", "job-1"), T0),
        stop_event(EVENT_TIMEOUT, checked, "why", T0),
        suspended_event(checked, "suspended", T0),
    ]
    for event in events:
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(event)) == event
        assert type(event["saved_query_id"]) is str


@pytest.mark.parametrize(
    "event",
    [
        None,
        "success",
        {},
        {"status": "succeeded", "message": "", "saved_query_id": "sq", "run_status": None, "job_id": None},
        {"status": "success"},
    ],
    ids=["missing", "not-a-dict", "empty", "unknown-status", "missing-fields"],
)
def test_a_missing_or_unknown_event_is_refused(event: object) -> None:
    with pytest.raises(AirflowException, match="outcome is unknown"):
        validate_run_event(event)


@pytest.mark.parametrize("status", [EVENT_TIMEOUT, EVENT_ERROR])
def test_stop_events_are_accepted_as_they_are(status: str) -> None:
    event = stop_event(status, "sq-1", "why", None)
    assert validate_run_event(event) is event


def test_trigger_round_trips_through_airflow_serde_with_plain_kwargs() -> None:
    trigger = PostHogSavedQueryRunTrigger(
        run={
            "saved_query_id": "0193b5d2-0000-7000-8000-000000000001",
            "requested_after": T0,
            "baseline": {"job_id": "0193b5d2-0000-7000-8000-0000000000aa", "created_at": BEFORE},
            "joined_job_id": None,
            "follow_preempted": False,
        },
        deadline=T0 + 3600,
        poll_interval=5.0,
        cancel_on_kill=False,
        posthog_conn_id="posthog_eu",
        project_id=42,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider.triggers.saved_queries.PostHogSavedQueryRunTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain JSON values only
    assert not any("key" in name or "password" in name for name in kwargs)

    restored_kwargs = deserialize(serialize(kwargs))
    assert isinstance(restored_kwargs, dict)
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**restored_kwargs)

    assert restored_kwargs == kwargs
    assert rebuilt.serialize() == (classpath, kwargs)


@pytest.mark.parametrize("event", [None, {"status": "done"}], ids=["missing", "unknown"])
def test_run_operator_and_sensor_fail_on_a_missing_or_unknown_event(event: object) -> None:
    from airflow_provider.operators.saved_queries import PostHogRunSavedQueryOperator
    from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor

    view = "0193b5d2-0000-7000-8000-000000000001"
    operator = PostHogRunSavedQueryOperator(task_id="run_view", saved_query_id=view)
    sensor = PostHogSavedQuerySensor(task_id="wait_for_view", saved_query_id=view)

    with pytest.raises(AirflowException, match="outcome is unknown"):
        operator.execute_complete(context={}, event=event)  # type: ignore[arg-type]
    with pytest.raises(AirflowException, match="outcome is unknown"):
        sensor.execute_complete(context={}, event=event)  # type: ignore[arg-type]
