"""PostHogSavedQueryRunTrigger against the emulator: outcomes, lost connections, deadlines, kills."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from helpers import await_until
from saved_query_emulator import OWN_FAILURE, cancel_posts, job_polls, suspend, wait_for_newest_job_to_end
from structlog.testing import capture_logs

import airflow_provider.triggers.run_poller as run_poller_module
from airflow_provider._compat import AIRFLOW_V_3_3_PLUS, AirflowFailException
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.saved_queries import PostHogRunSavedQueryOperator
from airflow_provider.saved_query_runs.state import RunState
from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor
from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger


def start_run(saved_query_id: str) -> float:
    requested_after = time.time()
    PostHogHook().run_saved_query(saved_query_id)
    return requested_after


def make_trigger(saved_query_id: str, requested_after: float | None, *, deadline_in: float = 20.0) -> Any:
    return PostHogSavedQueryRunTrigger(
        run={"saved_query_id": saved_query_id, "requested_after": requested_after},
        deadline=time.time() + deadline_in,
        poll_interval=0.1,
    )


async def first_event(trigger: PostHogSavedQueryRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        payload: dict[str, Any] = event.payload
        return payload
    raise AssertionError("the trigger ended without an event")


async def test_trigger_yields_success_once_the_job_completes(posthog_conn: Any, saved_query_id: str) -> None:
    posthog_conn.configure(job_run_seconds=1.5)  # long enough for the first poll to see it Running
    event = await first_event(make_trigger(saved_query_id, start_run(saved_query_id)))
    newest_job = next(iter(PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query_id)))

    assert event["status"] == "success"
    assert event["run_status"] == "Completed"
    assert event["job_id"] == newest_job["id"]
    assert len(job_polls(posthog_conn)) >= 2  # it saw the job Running before it saw it Completed


async def test_a_trigger_given_a_name_looks_it_up_in_the_triggerer_and_follows_that_views_run(
    posthog_conn: Any, saved_query: dict[str, Any]
) -> None:
    requested_after = start_run(saved_query["id"])
    trigger = PostHogSavedQueryRunTrigger(
        saved_query_name=saved_query["name"],
        run={"requested_after": requested_after},
        deadline=time.time() + 20,
        poll_interval=0.1,
    )
    _, kwargs = trigger.serialize()
    assert (kwargs["run"], kwargs["saved_query_name"]) == (
        {"requested_after": requested_after},
        saved_query["name"],
    )

    event = await first_event(trigger)
    missing = await first_event(
        PostHogSavedQueryRunTrigger(
            saved_query_name="no_such_view", deadline=time.time() + 20, poll_interval=0.1
        )
    )

    newest_job = next(iter(PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query["id"])))
    assert (event["status"], event["saved_query_id"], event["job_id"]) == (
        "success",
        saved_query["id"],
        newest_job["id"],
    )
    assert missing["status"] == "error" and missing["saved_query_id"] is None
    assert "Could not find saved query 'no_such_view'" in missing["message"]
    assert "No view has this name" in missing["message"]
    with pytest.raises(ValueError, match="got both"):
        PostHogSavedQueryRunTrigger(
            run={"saved_query_id": saved_query["id"]}, saved_query_name="x", deadline=time.time()
        )


@pytest.mark.parametrize("earlier_run", [False, True], ids=["first-run", "after-an-earlier-run"])
async def test_trigger_follows_the_job_after_its_baseline_when_requested_after_is_an_hour_ahead(
    posthog_conn: Any, saved_query_id: str, earlier_run: bool
) -> None:
    hook = PostHogHook()
    if earlier_run:
        hook.run_saved_query(saved_query_id)
        wait_for_newest_job_to_end(saved_query_id)
    baseline = next(iter(hook.list_data_modeling_jobs(saved_query_id=saved_query_id, page_size=1)), None)
    hook.run_saved_query(saved_query_id)
    trigger = PostHogSavedQueryRunTrigger(
        run={
            "saved_query_id": saved_query_id,
            "requested_after": time.time() + 3600,  # what a worker clock an hour ahead of PostHog's noted
            "baseline": {
                "job_id": None if baseline is None else baseline["id"],
                "created_at": None if baseline is None else baseline["created_at"],
            },
        },
        deadline=time.time() + 20,
        poll_interval=0.1,
    )

    event = await first_event(trigger)

    newest_job = next(iter(hook.list_data_modeling_jobs(saved_query_id=saved_query_id)))
    assert event["status"] == "success"
    assert event["job_id"] == newest_job["id"]
    assert baseline is None or baseline["id"] != newest_job["id"]


async def test_a_trigger_serialized_by_0_1_with_flat_kwargs_resumes_after_an_upgrade(
    posthog_conn: Any, saved_query_id: str
) -> None:
    hook = PostHogHook()
    hook.run_saved_query(saved_query_id)
    wait_for_newest_job_to_end(saved_query_id)
    baseline = next(iter(hook.list_data_modeling_jobs(saved_query_id=saved_query_id, page_size=1)))
    requested_after = start_run(saved_query_id)
    flat_kwargs_of_0_1 = {  # what 0.1's serialize() wrote into the trigger table
        "saved_query_id": saved_query_id,
        "deadline": time.time() + 20,
        "requested_after": requested_after,
        "baseline_taken": True,
        "baseline_job_id": baseline["id"],
        "baseline_job_created_at": baseline["created_at"],
        "poll_interval": 0.1,
        "cancel_on_kill": True,
        "posthog_conn_id": "posthog_default",
        "project_id": None,
    }

    trigger = PostHogSavedQueryRunTrigger(**flat_kwargs_of_0_1)
    event = await first_event(trigger)

    ours = next(iter(hook.list_data_modeling_jobs(saved_query_id=saved_query_id)))
    assert ours["id"] != baseline["id"]
    assert (event["status"], event["job_id"]) == ("success", ours["id"])
    _, kwargs = trigger.serialize()
    assert kwargs["run"] == {
        "saved_query_id": saved_query_id,
        "requested_after": requested_after,
        "baseline": {"job_id": baseline["id"], "created_at": baseline["created_at"]},
        "joined_job_id": None,
        "follow_preempted": True,
    }
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['saved_query'\\]"):
        PostHogSavedQueryRunTrigger(saved_query=saved_query_id, deadline=time.time())


@pytest.mark.parametrize(
    ("outcome", "event_status"), [("Failed", "failed"), ("Cancelled", "cancelled"), ("Skipped", "failed")]
)
def test_a_run_that_does_not_complete_fails_the_task_with_posthogs_text(
    posthog_conn: Any, saved_query_id: str, outcome: str, event_status: str
) -> None:
    posthog_conn.configure(job_outcome=outcome, job_error="Column `evnt` does not exist in table events")
    event = asyncio.run(first_event(make_trigger(saved_query_id, start_run(saved_query_id))))
    operator = PostHogRunSavedQueryOperator(task_id="run_view", saved_query_id=saved_query_id)

    assert event["status"] == event_status
    with pytest.raises(AirflowException, match=f"ended {outcome}") as failure:
        operator.execute_complete(context={}, event=event)
    if outcome == "Failed":
        assert "Column `evnt` does not exist in table events" in str(failure.value)
    assert cancel_posts(posthog_conn) == []


async def test_trigger_rides_out_a_lost_connection_and_recovers(
    posthog_conn: Any, saved_query_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(posthog_conn.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), "max_retries": 0}
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))
    requested_after = start_run(saved_query_id)
    posthog_conn.add_fault(method="GET", path=r"/data_modeling_jobs", kind="drop", times=4)

    with capture_logs() as logs:
        event = await first_event(make_trigger(saved_query_id, requested_after))

    assert event["status"] == "success"
    assert len(job_polls(posthog_conn)) >= 5  # four dropped, then answered
    assert [entry["log_level"] for entry in logs if "Cannot reach PostHog" in entry["event"]] == ["warning"]
    assert any("Reached PostHog again" in entry["event"] for entry in logs)


def test_an_expired_deadline_fails_the_task_and_asks_posthog_to_cancel(
    posthog_conn: Any, saved_query_id: str
) -> None:
    posthog_conn.configure(job_run_seconds=60)
    requested_after = start_run(saved_query_id)
    event = asyncio.run(first_event(make_trigger(saved_query_id, requested_after, deadline_in=0.4)))
    operator = PostHogRunSavedQueryOperator(task_id="run_view", saved_query_id=saved_query_id)

    assert event["status"] == "timeout"
    with capture_logs() as logs, pytest.raises(AirflowException, match="deadline"):
        operator.execute_complete(context={}, event=event)

    assert len(cancel_posts(posthog_conn)) == 1
    assert [entry["log_level"] for entry in logs if "the run goes on in PostHog" in entry["event"]] == [
        "warning"
    ]


async def test_a_poll_still_in_flight_at_the_deadline_does_not_delay_the_timeout_event(
    posthog_conn: Any, saved_query_id: str
) -> None:
    posthog_conn.configure(job_run_seconds=60)
    requested_after = start_run(saved_query_id)
    posthog_conn.add_fault(method="GET", path="data_modeling_jobs", kind="delay", delay=6, times=1)
    started = time.monotonic()

    event = await first_event(make_trigger(saved_query_id, requested_after, deadline_in=1.0))

    elapsed = time.monotonic() - started
    assert event["status"] == "timeout"
    assert "deadline" in event["message"]
    assert elapsed < 1.0 + 2.0  # the delayed answer would only come after 6 s
    # The server did get the poll that was cut off; wait for its late answer so no later test sees it.
    await await_until(lambda: job_polls(posthog_conn), what="the late answer to the poll cut off")
    assert [poll["fault"] for poll in job_polls(posthog_conn)] == ["delay"]


@pytest.mark.parametrize("cancel_allowed", [False, True], ids=["personal-key-403", "cancel-allowed"])
async def test_killing_the_deferred_task_asks_posthog_to_cancel_the_run(
    posthog_conn: Any, saved_query_id: str, cancel_allowed: bool
) -> None:
    posthog_conn.configure(job_run_seconds=60, allow_cancel_with_personal_key=cancel_allowed)
    trigger = make_trigger(saved_query_id, start_run(saved_query_id))
    waiting = asyncio.create_task(first_event(trigger))
    await await_until(lambda: job_polls(posthog_conn), what="the trigger's first poll")

    # What the triggerer does when a user marks the deferred task failed: cancel, then on_kill().
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with capture_logs() as logs:
        await trigger.on_kill()

    assert len(cancel_posts(posthog_conn)) == 1
    refused = [
        entry
        for entry in logs
        if entry["log_level"] == "warning" and "the run goes on in PostHog" in entry["event"]
    ]
    newest_job = next(iter(PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query_id)))
    if cancel_allowed:
        assert refused == []
        assert newest_job["status"] == "Cancelled"
    else:
        assert len(refused) == 1
        assert newest_job["status"] == "Running"


async def test_a_sensors_trigger_never_cancels_the_run_it_watches(
    posthog_conn: Any, saved_query_id: str
) -> None:
    posthog_conn.configure(job_run_seconds=60, allow_cancel_with_personal_key=True)
    trigger = PostHogSavedQueryRunTrigger(
        run={"saved_query_id": saved_query_id, "requested_after": start_run(saved_query_id)},
        deadline=time.time() + 20,
        poll_interval=0.1,
        cancel_on_kill=False,
    )

    await trigger.on_kill()

    assert cancel_posts(posthog_conn) == []


async def test_a_deleted_saved_query_ends_the_wait_with_an_error_event(
    posthog_conn: Any, saved_query_id: str
) -> None:
    requested_after = time.time()
    PostHogHook().delete_saved_query(saved_query_id)

    event = await first_event(make_trigger(saved_query_id, requested_after))

    assert event["status"] == "error"
    assert saved_query_id in event["message"]


@pytest.mark.parametrize("user_action", [True, False], ids=["user-marks-task-failed", "triggerer-restarts"])
async def test_airflows_trigger_runner_cancels_the_run_only_on_a_user_action(
    posthog_conn: Any, saved_query_id: str, user_action: bool
) -> None:
    from airflow.jobs.triggerer_job_runner import TriggerRunner

    posthog_conn.configure(job_run_seconds=60, allow_cancel_with_personal_key=True)
    runner = TriggerRunner()
    trigger = make_trigger(saved_query_id, start_run(saved_query_id))
    # Registered the way TriggerRunner.create_triggers does, before the task first runs.
    task = asyncio.create_task(runner.run_trigger(1, trigger))
    runner.triggers[1] = {"task": task, "name": "saved-query-run", "events": 0, "is_watcher": False}
    await await_until(lambda: job_polls(posthog_conn), what="the trigger's first poll")

    if user_action:
        runner.to_cancel.append(1)
        await runner.cancel_triggers()
    else:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Airflow calls a trigger's on_kill on a user action from 3.3 on; before, it only cancels the trigger,
    # which never tells a user action from a triggerer restart, so the run is left alone.
    cancelled = user_action and AIRFLOW_V_3_3_PLUS
    assert len(cancel_posts(posthog_conn)) == (1 if cancelled else 0)
    newest_job = next(iter(PostHogHook().list_data_modeling_jobs(saved_query_id=saved_query_id)))
    assert newest_job["status"] == ("Cancelled" if cancelled else "Running")


async def test_a_missing_connection_ends_the_wait_with_an_error_event(posthog_conn: Any) -> None:
    trigger = PostHogSavedQueryRunTrigger(
        run={"saved_query_id": "0193b5d2-0000-7000-8000-000000000001"},
        deadline=time.time() + 20,
        posthog_conn_id="posthog_nowhere",
    )

    event = await first_event(trigger)

    assert event["status"] == "error"
    assert "posthog_nowhere" in event["message"]
    assert posthog_conn.requests() == []


async def test_triggers_of_one_connection_share_one_pool(posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=1.0)
    hook = PostHogHook()
    views = [
        str(hook.create_saved_query(f"airflow_shared_{i}", "select 1 from events")["id"]) for i in range(10)
    ]
    requested = {view: start_run(view) for view in views}
    loop = asyncio.get_running_loop()
    opened = 0
    create_connection = loop.create_connection

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal opened
        opened += 1
        return await create_connection(*args, **kwargs)

    async def staggered(index: int, view: str) -> dict[str, Any]:
        await asyncio.sleep(index * 0.03)  # triggers that arrive one after another, rarely polling at once
        trigger = PostHogSavedQueryRunTrigger(
            run={"saved_query_id": view, "requested_after": requested[view]},
            deadline=time.time() + 20,
            poll_interval=0.3,
        )
        return await first_event(trigger)

    loop.create_connection = counted  # type: ignore[method-assign]
    try:
        events = await asyncio.gather(*(staggered(index, view) for index, view in enumerate(views)))
    finally:
        loop.create_connection = create_connection  # type: ignore[method-assign]

    assert [event["status"] for event in events] == ["success"] * 10
    # One poller read for all ten: each reading is one page of the project's job listing.
    listings = posthog_conn.requests(method="GET", path="data_modeling_jobs")
    walks = [entry for entry in listings if "saved_query_id" not in entry["query"]]
    assert walks and all(entry["query"]["limit"] == "100" for entry in walks)
    # About 1 s of jobs at a 0.3 s interval: a handful of readings, where ten triggers polling on
    # their own sent three or more each.
    assert len(listings) <= 10, [entry["query"] for entry in listings]
    # One session per trigger would open at least one connection each; the shared pool reuses a few.
    assert opened < len(views)


async def test_a_cancel_that_arrives_as_a_poll_finishes_is_never_lost(
    posthog_conn: Any, saved_query_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The exact timing cannot be made real: the poll itself cancels the trigger's task and then
    # finishes in the same loop step, as when Airflow cancels a trigger just as an answer arrives.
    # asyncio.wait_for (before Python 3.12) returns the poll's result then, and the trigger went
    # on polling to its deadline.
    waiting: asyncio.Task[dict[str, Any]]

    async def polls_that_finish_as_it_is_cancelled(hook: Any, runs: Any) -> list[RunState]:
        waiting.cancel()
        return [RunState("Running") for _ in runs]

    monkeypatch.setattr(run_poller_module, "aread_run_states", polls_that_finish_as_it_is_cancelled)
    trigger = make_trigger(saved_query_id, start_run(saved_query_id), deadline_in=5.0)
    waiting = asyncio.create_task(first_event(trigger))
    started = time.monotonic()

    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert time.monotonic() - started < 1.0  # cancelled at once, not at the deadline


async def test_a_sensors_trigger_stops_at_once_on_a_suspended_view_and_the_sensor_fails_saying_what_to_do(
    posthog_conn: Any, saved_query: dict[str, Any]
) -> None:
    suspend(posthog_conn, saved_query["id"], saved_query["name"])
    requested_after = time.time()
    sensors = PostHogSavedQueryRunTrigger(
        saved_query_id=saved_query["id"],
        deadline=time.time() + 60,
        requested_after=requested_after,
        poll_interval=0.1,
        cancel_on_kill=False,
        stop_when_suspended=True,
    )
    _, kwargs = sensors.serialize()
    assert kwargs["stop_when_suspended"] is True
    started = time.monotonic()

    event = await first_event(PostHogSavedQueryRunTrigger(**kwargs))  # as the triggerer rebuilds it

    assert time.monotonic() - started < 10  # not its 60 s deadline
    assert (event["status"], event["suspended"], event["saved_query_id"]) == (
        "failed",
        True,
        saved_query["id"],
    )
    assert OWN_FAILURE in event["message"]
    sensor = PostHogSavedQuerySensor(task_id="wait", saved_query_id=saved_query["id"], deferrable=True)
    with pytest.raises(AirflowFailException, match=r"PostHogHook\.resume_saved_query"):
        sensor.execute_complete({}, event)
    # A run operator's trigger does not read the view: its own run resumed it.
    timed_out = await first_event(make_trigger(saved_query["id"], requested_after, deadline_in=0.5))
    assert timed_out["status"] == "timeout"


@pytest.mark.parametrize(
    "kwargs",
    [{"run": {"saved_query_id": "daily_views"}}, {"saved_query_id": "daily_views"}],
    ids=["run", "flat-kwargs-of-0.1"],
)
def test_a_trigger_refuses_a_saved_query_id_that_is_not_a_uuid_before_any_request(
    posthog_conn: Any, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=r"^saved_query_id must be a UUID such as .*names are not accepted"):
        PostHogSavedQueryRunTrigger(**kwargs, deadline=time.time() + 20)
    assert posthog_conn.requests() == []
