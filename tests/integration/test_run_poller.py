"""The triggerer's shared poller against the emulator: many waits, one reading per interval."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.triggers.run_poller import shared_run_poller
from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger

INTERVAL = 0.3


def started_run(view_id: str) -> PostHogSavedQueryRunTrigger:
    """Ask for a run the way the run operator does, and the trigger that follows it."""
    from airflow_provider.saved_query_runs.io import start_run

    run = start_run(PostHogHook(), view_id, _quiet)
    return PostHogSavedQueryRunTrigger(run=run.to_dict(), deadline=time.time() + 30, poll_interval=INTERVAL)


class _Quiet:
    def warning(self, *args: Any) -> None:
        pass

    def info(self, *args: Any) -> None:
        pass


_quiet = _Quiet()


async def first_event(trigger: PostHogSavedQueryRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        payload: dict[str, Any] = event.payload
        return payload
    raise AssertionError("no event")


def views(count: int, prefix: str) -> list[str]:
    hook = PostHogHook()
    return [str(hook.create_saved_query(f"{prefix}_{i}", "select 1 from events")["id"]) for i in range(count)]


def listings(posthog_conn: Any) -> list[dict[str, Any]]:
    return posthog_conn.requests(method="GET", path="data_modeling_jobs")


async def test_a_trigger_added_and_one_removed_while_others_wait(posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=1.5)
    first, second, leaving, late = views(4, "poller_join")
    waits = {view: asyncio.ensure_future(first_event(started_run(view))) for view in (first, second, leaving)}
    await asyncio.sleep(INTERVAL * 2)
    waits[leaving].cancel()  # its task was killed: it stops being read for
    waits[late] = asyncio.ensure_future(first_event(started_run(late)))  # joins the running poller
    events = await asyncio.gather(*(waits[view] for view in (first, second, late)))
    assert [event["status"] for event in events] == ["success"] * 3
    assert waits[leaving].cancelled()
    poller = shared_run_poller("posthog_default", None)
    # Every reading was one request for all the waiting triggers, once per interval: three triggers
    # polling on their own would send three per interval (the limit-1 reads are the baselines the
    # run operator takes before asking for each run).
    polls = [entry["time"] for entry in listings(posthog_conn) if entry["query"].get("limit") != "1"]
    assert 3 <= len(polls) <= (polls[-1] - polls[0]) / INTERVAL + 2
    await asyncio.sleep(INTERVAL * 2)
    assert poller._task is None  # no waiter left: the poller stopped


async def test_a_failed_reading_is_seen_by_every_waiting_trigger(posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=30)
    ids = views(3, "poller_fail")
    triggers = [started_run(view) for view in ids]
    waits = [asyncio.ensure_future(first_event(trigger)) for trigger in triggers]
    await asyncio.sleep(INTERVAL * 1.5)
    posthog_conn.add_fault(method="GET", path="data_modeling_jobs", kind="status", status=403, times=1)
    events = await asyncio.wait_for(asyncio.gather(*waits), timeout=10)
    assert [event["status"] for event in events] == ["error"] * 3
    assert len({event["message"].split(": ", 1)[1] for event in events}) == 1  # the same failure
    refused = [entry for entry in listings(posthog_conn) if entry["status"] == 403]
    assert len(refused) == 1  # one reading failed, and every trigger heard of it


async def test_a_run_that_is_not_on_the_first_page_is_found_by_walking_on(posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=3, throttle=False)
    mine, other = views(2, "poller_deep")
    waits = [asyncio.ensure_future(first_event(started_run(view))) for view in (mine, other)]
    # 120 newer jobs of other views push my job to the listing's second page; each ends at once, so
    # the next run of its view starts a job of its own instead of joining it.
    posthog_conn.configure(job_run_seconds=0)
    hook = PostHogHook()
    for view in views(12, "poller_noise"):
        for _ in range(10):
            hook.run_saved_query(view)
    mine_event, other_event = await asyncio.gather(*waits)
    my_job = next(iter(hook.list_data_modeling_jobs(mine)))
    assert mine_event["status"] == "success" and mine_event["job_id"] == my_job["id"]
    assert other_event["status"] == "success"
    pages = [
        entry["query"].get("offset")
        for entry in listings(posthog_conn)
        if "saved_query_id" not in entry["query"]
    ]
    assert "100" in pages  # the walk read on to the second page
    own_reads = [entry for entry in listings(posthog_conn) if entry["query"].get("saved_query_id") == mine]
    assert len(own_reads) <= 2  # the baseline read before the run, no per-trigger polling


async def test_runs_that_joined_running_refreshes_are_answered_by_one_walk(posthog_conn: Any) -> None:
    posthog_conn.configure(job_run_seconds=1.5)
    views_ = views(2, "poller_joined")
    hook = PostHogHook()
    for view in views_:
        hook.run_saved_query(view)  # a refresh someone else started, still running
    refreshes = [next(iter(hook.list_data_modeling_jobs(view)))["id"] for view in views_]
    triggers = [started_run(view) for view in views_]
    events = await asyncio.gather(*(first_event(trigger) for trigger in triggers))

    assert [trigger.saved_query_run.joined_job_id for trigger in triggers] == refreshes
    assert [event["job_id"] for event in events] == refreshes
    assert [event["status"] for event in events] == ["success"] * 2
    assert all(event["joined_running_refresh"] for event in events)
    assert len(posthog_conn.requests(method="POST", path="/run/?$")) == 4  # two for each view
    assert [len(list(hook.list_data_modeling_jobs(view))) for view in views_] == [1, 1]  # one job each
