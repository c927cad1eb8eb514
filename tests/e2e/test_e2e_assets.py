"""Assets on real Airflow processes: a producer's events start its consumer once per success, and the
refresh watcher starts its DAG once per PostHog job, across a triggerer restart.

A LocalExecutor stack of its own (the example DAGs users get), with the scheduler creating runs itself:
the shared stack turns that off so unpausing a scheduled example DAG starts no run, but it also stops
asset-triggered runs. Here the producer's one scheduled run (``catchup=False``) is the warm-up.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_artifacts import keep_airflow_logs
from e2e_rest import AirflowREST
from e2e_stack import ADMIN_PASSWORD, ADMIN_USER, AirflowStack
from helpers import wait_until

from airflow_provider.assets import posthog_saved_query_asset, uri_host
from airflow_provider.emulator import EmulatorClient
from airflow_provider.emulator.seed import PROJECT_ID as SEED_PROJECT_ID
from airflow_provider.hooks.posthog import PostHogHook

pytestmark = pytest.mark.e2e

PRODUCER = "posthog_saved_queries"
CONSUMER = "posthog_saved_query_consumer"
WATCHER_DAG = "posthog_view_refreshed"
WATCHED_VIEW = "daily_signups"
SUMMARIES_DAG = "posthog_session_summaries"
DIGEST_DAG = "posthog_summaries_digest"
#: With nothing more to start, the scheduler has queued every run it will for past events by then.
SETTLE_SECONDS = 12


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[AirflowStack]:
    """Airflow's four components and an emulator, the scheduler creating scheduled and asset runs."""
    home = Path(tempfile.mkdtemp(prefix="posthog-assets-"))
    airflow = AirflowStack(
        home,
        settings={"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True", "POSTHOG_WATCH_POLL_INTERVAL": "1"},
    )
    # The view DAGs name posthog_default's host and project themselves (they read no connection when
    # parsed); the emulator's port is chosen before it starts, its project is the seed's.
    airflow.settings.update(
        {"POSTHOG_HOST": airflow.emulator_url, "POSTHOG_PROJECT_ID": str(SEED_PROJECT_ID)}
    )
    try:
        airflow.start()
        assert airflow.emulator.project_id == SEED_PROJECT_ID
        yield airflow
    finally:
        airflow.stop()
        if request.session.testsfailed:
            print(f"\nAirflow logs kept in {keep_airflow_logs(home, 'assets-airflow-logs')}")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def rest(stack: AirflowStack) -> AirflowREST:
    return AirflowREST(stack.url, ADMIN_USER, ADMIN_PASSWORD)


@pytest.fixture
def emulator(stack: AirflowStack) -> Iterator[EmulatorClient]:
    stack.emulator.reset()
    yield stack.emulator
    stack.emulator.reset()


def view_uri(emulator: EmulatorClient, name: str) -> str:
    return posthog_saved_query_asset(name, host=emulator.url, project_id=emulator.project_id).uri


def finished_runs(rest: AirflowREST, dag_id: str, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Every run of ``dag_id`` once none is queued or running and no new one came for a while."""

    def settled() -> tuple[list[dict[str, Any]]] | None:
        before = rest.dag_runs(dag_id)
        if any(run["state"] not in ("success", "failed") for run in before):
            return None
        time.sleep(SETTLE_SECONDS)
        after = rest.dag_runs(dag_id)
        return (after,) if len(after) == len(before) else None

    return wait_until(settled, timeout=timeout, what=f"the runs of {dag_id} to settle", interval=1.0)[0]


def test_the_consumer_runs_once_per_producer_success_with_the_runs_extra(
    rest: AirflowREST, emulator: EmulatorClient
) -> None:
    emulator.configure(job_run_seconds=1)
    rest.set_paused(CONSUMER, False)
    try:
        # Unpaused, the producer makes its one scheduled run, which creates the view (an event of its
        # own) and runs it: settle before counting.
        rest.set_paused(PRODUCER, False)
        wait_until(
            lambda: [run for run in rest.dag_runs(PRODUCER) if run["state"] == "success"],
            timeout=180,
            what="the producer's scheduled run",
            interval=1.0,
        )
        counted = len(finished_runs(rest, CONSUMER))
        assert counted >= 1
        for _ in range(2):
            producer_run = rest.trigger(PRODUCER)
            assert rest.wait_for_run(PRODUCER, producer_run) == "success"
            consumer_runs = finished_runs(rest, CONSUMER)
            assert len(consumer_runs) == counted + 1
            counted += 1
            assert consumer_runs[-1]["state"] == "success"
            run = rest.xcom(PRODUCER, producer_run, "run_view")
            (event,) = rest.upstream_asset_events(CONSUMER, consumer_runs[-1]["dag_run_id"])
            assert event["extra"]["job_id"] == run["job_id"]
            assert event["extra"]["status"] == "Completed"
            assert event["source_dag_id"] == PRODUCER and event["source_task_id"] == "run_view"
    finally:
        rest.set_paused(CONSUMER, True)
        rest.set_paused(PRODUCER, True)

    uri = view_uri(emulator, "daily_pageviews")
    asset = rest.asset(uri)
    assert uri == f"posthog://{uri_host(emulator.url)}/{emulator.project_id}/saved_queries/daily_pageviews"
    events = rest.asset_events(asset["id"])
    latest = events[-1]["extra"]
    assert latest["name"] == "daily_pageviews" and latest["rows_materialized"] > 0
    assert latest["last_run_at"] and latest["saved_query_id"]


def test_the_watcher_starts_its_dag_once_per_refresh_across_a_triggerer_restart(
    stack: AirflowStack, rest: AirflowREST, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.configure(job_run_seconds=0)
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", emulator.airflow_conn_json())
    hook = PostHogHook()
    view = hook.create_saved_query(WATCHED_VIEW, "select count() as signups from persons")
    hook.materialize_saved_query(view["id"])
    rest.set_paused(WATCHER_DAG, False)
    try:
        before = len(finished_runs(rest, WATCHER_DAG))
        # What completed before the watcher first looked is history: refresh only once it watches.
        watcher_polls(emulator, view["id"], at_least=1)
        first = emulator.refresh_on_schedule(WATCHED_VIEW)
        runs = wait_for_run_count(rest, before + 1)
        assert job_ids_of(rest, runs[-1]) == [first["id"]]

        stack.stop_component("triggerer")
        while_down = emulator.refresh_on_schedule(WATCHED_VIEW)
        polls_before_restart = len(watcher_polls(emulator, view["id"]))
        stack.start_component("triggerer")
        watcher_polls(emulator, view["id"], at_least=polls_before_restart + 1)
        runs = wait_for_run_count(rest, before + 2)
        assert job_ids_of(rest, runs[-1]) == [while_down["id"]]

        second = emulator.refresh_on_schedule(WATCHED_VIEW)
        runs = wait_for_run_count(rest, before + 3)
        assert job_ids_of(rest, runs[-1]) == [second["id"]]
        assert all(run["state"] == "success" for run in runs)
        assert len(finished_runs(rest, WATCHER_DAG)) == before + 3  # nothing fired twice
    finally:
        rest.set_paused(WATCHER_DAG, True)

    events = rest.asset_events(rest.asset(view_uri(emulator, WATCHED_VIEW))["id"])
    payloads = [event["extra"]["payload"] for event in events]
    assert [p["job_id"] for p in payloads][-3:] == [first["id"], while_down["id"], second["id"]]
    assert payloads[-1]["rows_materialized"] == second["rows_materialized"]


def watcher_polls(emulator: EmulatorClient, saved_query_id: str, at_least: int = 0) -> list[dict[str, Any]]:
    """The reads of the view's jobs (the watcher's), waiting until there are ``at_least`` of them."""

    def polls() -> list[dict[str, Any]] | None:
        found = [
            entry
            for entry in emulator.requests("GET", r"/data_modeling_jobs/?$")
            if entry["query"].get("saved_query_id") == saved_query_id
        ]
        return found if len(found) >= at_least else None

    if at_least == 0:
        return polls() or []
    return wait_until(polls, timeout=180, what=f"{at_least} reads of the watched view's jobs", interval=1.0)


def wait_for_run_count(rest: AirflowREST, count: int) -> list[dict[str, Any]]:
    runs = wait_until(
        lambda: (
            (found := rest.dag_runs(WATCHER_DAG))
            and len(found) >= count
            and all(run["state"] in ("success", "failed") for run in found)
            and found
        ),
        timeout=120,
        what=f"{count} finished runs of {WATCHER_DAG}",
        interval=1.0,
    )
    assert len(runs) == count
    return list(runs)


def job_ids_of(rest: AirflowREST, run: dict[str, Any]) -> list[str]:
    return [
        event["extra"]["payload"]["job_id"]
        for event in rest.upstream_asset_events(WATCHER_DAG, run["dag_run_id"])
    ]


def test_the_digest_dag_reads_each_summaries_file_the_producer_emits(
    stack: AirflowStack, rest: AirflowREST, emulator: EmulatorClient
) -> None:
    rest.set_paused(DIGEST_DAG, False)
    try:
        before = len(finished_runs(rest, DIGEST_DAG))
        rest.set_paused(SUMMARIES_DAG, False)  # its one scheduled run: yesterday's sessions
        wait_until(lambda: rest.dag_runs(SUMMARIES_DAG), timeout=60, what="the scheduled run", interval=1.0)
        (producer,) = finished_runs(rest, SUMMARIES_DAG, timeout=180)
        assert producer["state"] == "success"
        producer_run = producer["dag_run_id"]
        runs = finished_runs(rest, DIGEST_DAG)
        assert len(runs) == before + 1 and runs[-1]["state"] == "success"
    finally:
        rest.set_paused(DIGEST_DAG, True)
        rest.set_paused(SUMMARIES_DAG, True)
    written = rest.xcom(SUMMARIES_DAG, producer_run, "summarise_sessions")
    (event,) = rest.upstream_asset_events(DIGEST_DAG, runs[-1]["dag_run_id"])
    assert event["extra"]["path"] == written["path"]
    assert event["extra"]["sessions"] == written["sessions"] > 0
    assert event["extra"]["summarised"] == written["summarised"]
    assert event["uri"] == stack.summaries_dir.as_uri()
    problems = rest.xcom(DIGEST_DAG, runs[-1]["dag_run_id"], "sessions_with_problems")
    assert len(problems) >= written["failed"]
