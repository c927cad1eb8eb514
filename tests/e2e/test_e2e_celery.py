"""CeleryExecutor end to end: PostgreSQL, Redis, two Celery workers and Airflow's four components.

What a production deployment runs, as real processes on loopback: a backfill of seven daily intervals of
the session-summary DAG with several runs at once under PostHog's throttle, a saved-query run that defers
on one worker and resumes on the other, a worker killed in the middle of a summaries task whose retry
on the other worker pays for no session twice, and one killed while it waits for a saved-query run
whose retry asks PostHog for no second run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from e2e_artifacts import artifact_path, keep_airflow_logs
from e2e_rest import AirflowREST
from e2e_stack import ADMIN_PASSWORD, ADMIN_USER, AirflowStack, celery_settings
from helpers import wait_until
from services import PostgresServer, RedisServer

# Seven Airflow processes and two servers on two cores: a step can take minutes.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

WORKERS = ("worker-a", "worker-b")
SUMMARIES_PATH = "session_summaries/create_session_summaries_individually"
BACKFILL_DAYS = 7


@pytest.fixture(scope="module")
def celery_airflow(request: pytest.FixtureRequest) -> Iterator[AirflowStack]:
    """PostgreSQL, Redis and an Airflow on the CeleryExecutor with two workers, for this module."""
    home = Path(tempfile.mkdtemp(prefix="posthog-celery-"))
    postgres = PostgresServer()
    redis = RedisServer(home / "redis")
    stack: AirflowStack | None = None
    try:
        postgres.start()
        redis.start()
        stack = AirflowStack(
            home / "airflow",
            workers=WORKERS,
            settings={
                **celery_settings(postgres.url, redis.url),
                # A killed worker's task is found without a heartbeat after this many seconds.
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            },
        )
        stack.start()
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        redis.stop()
        postgres.stop()
        if request.session.testsfailed and (home / "airflow").exists():
            print(f"\nAirflow logs kept in {keep_airflow_logs(home / 'airflow', 'celery-airflow-logs')}")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def celery_rest(celery_airflow: AirflowStack) -> AirflowREST:
    """The Celery stack's REST API, logged in as the admin."""
    return AirflowREST(celery_airflow.url, ADMIN_USER, ADMIN_PASSWORD)


def summary_requests_per_session(stack: AirflowStack) -> Counter[str]:
    """How many summary requests named each session id (every answer, 429s included)."""
    sent: Counter[str] = Counter()
    for entry in stack.emulator.requests("POST", SUMMARIES_PATH):
        if entry["status"] in {200, 201}:
            sent.update(entry["body"]["session_ids"])
    return sent


def test_a_backfill_of_seven_days_summarizes_every_session_once_under_the_throttle(
    celery_airflow: AirflowStack, celery_rest: AirflowREST
) -> None:
    dag_id = "posthog_session_summaries"
    # The emulator's throttle at PostHog's own rates (docs/posthog-api.md section 5).
    celery_airflow.emulator.reset()
    assert celery_airflow.emulator.config()["throttle"] is True
    celery_rest.wait_for_dag(dag_id)
    celery_rest.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = today - timedelta(days=BACKFILL_DAYS)
    started = time.monotonic()
    backfill_id = celery_rest.backfill(dag_id, first_day, BACKFILL_DAYS)

    def backfill_runs() -> list[dict[str, object]] | None:
        runs = celery_rest.call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]
        mine = [run for run in runs if run.get("run_type") == "backfill"]
        finished = [run for run in mine if run["state"] in {"success", "failed"}]
        return mine if len(mine) == BACKFILL_DAYS and len(finished) == BACKFILL_DAYS else None

    runs = wait_until(backfill_runs, timeout=420.0, what=f"backfill {backfill_id} to finish", interval=3.0)
    wall = time.monotonic() - started

    assert {run["state"] for run in runs} == {"success"}, runs
    tries = {
        run["dag_run_id"]: celery_rest.task_instances(dag_id, str(run["dag_run_id"]))["summarise_sessions"][
            "try_number"
        ]
        for run in runs
    }
    assert set(tries.values()) == {1}, f"a summaries task needed a retry: {tries}"
    summaries_dir = Path(celery_airflow.summaries_dir)
    days = [(first_day + timedelta(days=offset)).strftime("%Y-%m-%d") for offset in range(BACKFILL_DAYS)]
    for day in days:
        assert (summaries_dir / f"{day}.jsonl").exists(), f"no summaries file for {day}"
    summarized = [
        json.loads(line)["session_id"]
        for day in days
        for line in (summaries_dir / f"{day}.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert len(summarized) == len(set(summarized)), "a session landed in two intervals' files"
    per_session = summary_requests_per_session(celery_airflow)
    assert max(per_session.values()) == 1, f"sessions asked for more than once: {per_session.most_common(3)}"
    assert max(celery_airflow.emulator.summary_generations().values()) == 1
    log = celery_airflow.emulator.requests()
    throttled = sum(1 for entry in log if entry["status"] == 429)
    summary = (
        f"backfill of {BACKFILL_DAYS} days on 2 Celery workers, max_active_runs=4: {wall:.0f} s wall, "
        f"{len(log)} requests to the emulator, {len(per_session)} sessions summarised, "
        f"{throttled} answered 429 and waited out, 0 task retries"
    )
    artifact_path("celery-backfill.txt").write_text(summary + "\n")
    print(f"\n{summary}")


def test_a_deferred_saved_query_run_resumes_on_the_other_worker(
    celery_airflow: AirflowStack, celery_rest: AirflowREST
) -> None:
    dag_id = "posthog_saved_queries"
    celery_airflow.emulator.reset()
    # Long enough that the deferring worker is stopped before the run ends.
    celery_airflow.emulator.configure(job_run_seconds=20)
    run_id = celery_rest.trigger(dag_id)
    celery_rest.wait_for_task_state(dag_id, run_id, "run_view", "deferred", timeout=180.0)
    deferred_on = celery_rest.task_instances(dag_id, run_id)["run_view"]["hostname"]
    assert deferred_on in WORKERS

    # The worker that deferred goes away: the task can only resume on the other one.
    celery_airflow.stop_component(deferred_on)
    try:
        assert celery_rest.wait_for_run(dag_id, run_id, timeout=240.0) == "success"
        resumed_on = celery_rest.task_instances(dag_id, run_id)["run_view"]["hostname"]
    finally:
        celery_airflow.start_component(deferred_on)

    assert resumed_on in WORKERS
    assert resumed_on != deferred_on
    assert len(celery_airflow.emulator.requests("POST", r"saved_queries/[^/]+/run/$")) == 1


def test_a_worker_killed_mid_task_is_retried_on_the_other_without_paying_twice(
    celery_airflow: AirflowStack, celery_rest: AirflowREST
) -> None:
    dag_id = "e2e_celery_summaries"
    task_id = "summarise_sessions"
    celery_airflow.emulator.reset()
    celery_airflow.emulator.configure(summary_latency=1.0)
    run_id = celery_rest.trigger(dag_id)
    wait_until(
        lambda: len(celery_airflow.emulator.summary_generations()) >= 6,
        timeout=180.0,
        what="a few batches to be summarised",
    )
    first = celery_rest.task_instances(dag_id, run_id)[task_id]
    assert first["state"] == "running" and first["hostname"] in WORKERS
    killed = first["hostname"]
    os.killpg(celery_airflow.processes[killed].pid, signal.SIGKILL)
    celery_airflow.processes.pop(killed).wait()
    try:
        assert celery_rest.wait_for_run(dag_id, run_id, timeout=300.0) == "success"
        final = celery_rest.task_instances(dag_id, run_id)[task_id]
    finally:
        celery_airflow.start_component(killed)

    assert final["try_number"] >= 2
    assert final["hostname"] != killed
    generations = celery_airflow.emulator.summary_generations()
    assert max(generations.values()) == 1, f"sessions paid for twice: {Counter(generations).most_common(3)}"
    result = celery_rest.xcom(dag_id, run_id, task_id)
    assert result["reused"] >= 6, result
    # Every session with a summary was generated once, by one try or the other (too-short sessions fail).
    assert result["summarised"] == len(generations), result
    assert result["summarised"] + result["failed"] == result["sessions"], result
    print(
        f"\nworker {killed} killed after {result['reused']} sessions; try {final['try_number']} on "
        f"{final['hostname']} finished {result['sessions']} sessions, none generated twice; "
        f"run {quote(run_id)}"
    )


def test_a_worker_killed_while_it_waits_for_a_run_is_retried_without_a_second_run(
    celery_airflow: AirflowStack, celery_rest: AirflowREST
) -> None:
    dag_id = "e2e_celery_saved_query_retry"
    emulator = celery_airflow.emulator
    emulator.reset()
    # Ends before the retry starts (the scheduler finds the killed try after its 30 s heartbeat
    # timeout): the retry finds the stored run completed and returns at once.
    emulator.configure(job_run_seconds=20)
    run_id = celery_rest.trigger(dag_id)

    def waiting() -> bool:
        # The first poll comes after the run was stored: a kill from now on leaves it for the retry.
        posts = emulator.requests("POST", r"saved_queries/[^/]+/run/$")
        return bool(posts) and any(
            entry["time"] > posts[0]["time"] and entry["query"].get("limit") == "10"
            for entry in emulator.requests("GET", "data_modeling_jobs")
        )

    wait_until(waiting, timeout=180.0, what="the task to wait for its run on a worker")
    first = celery_rest.task_instances(dag_id, run_id)["run_view"]
    assert first["state"] == "running" and first["hostname"] in WORKERS
    killed = first["hostname"]
    os.killpg(celery_airflow.processes[killed].pid, signal.SIGKILL)
    celery_airflow.processes.pop(killed).wait()
    try:
        assert celery_rest.wait_for_run(dag_id, run_id, timeout=240.0) == "success"
        final = celery_rest.task_instances(dag_id, run_id)["run_view"]
    finally:
        celery_airflow.start_component(killed)

    assert final["try_number"] == 2 and final["hostname"] != killed
    assert len(emulator.requests("POST", r"saved_queries/[^/]+/run/$")) == 1, "the retry ran the view again"
    result = celery_rest.xcom(dag_id, run_id, "run_view")
    assert result["status"] == "Completed" and result["job_id"], result
