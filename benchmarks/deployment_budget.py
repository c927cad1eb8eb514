"""One PostHog key, a whole CeleryExecutor deployment: with and without the shared rate-limit store.

What a platform team runs, on this machine's loopback: PostgreSQL, Redis, Airflow's api-server,
scheduler, dag-processor and triggerer, two ``airflow celery worker`` processes (the set-up of
``tests/e2e/test_e2e_celery.py``, whose helpers this borrows), and the emulator with PostHog's throttle at
its real numbers ten times faster (``--time-scale 10``; every process keeps to the same scaled windows
through the provider's testing setting). Each phase runs three workloads on the one key at once:

* **1,000 saved-query waits in a triggerer process** (``benchmarks/coalesced_polling.py`` as a subprocess:
  it starts 1,000 runs over 100 views, then follows them; jobs run ``--job-seconds``);
* **a seven-day backfill** of the example ``posthog_session_summaries`` DAG (``max_active_runs=4``) into
  a fresh folder;
* **subscription CRUD**: ``--crud-runs`` runs of the example ``posthog_subscriptions`` DAG (create,
  create-or-update, update, delete).

Phases (``--phases``, all four by default; each starts from a reset emulator, an empty store,
restarted workers and no DAG runs, so no phase inherits another's windows or runs):

* ``per-trigger``: the provider before this round: every wait polls on its own, every process keeps to
  its own limiter;
* ``per-trigger+store``: the same waits, every process drawing from one budget in Redis;
* ``poller``: this round's coalesced poller, own limiters;
* ``poller+store``: the poller and the shared store.

Measured per phase: the Celery workloads' wall time, failed and retried task instances, 429 answers to
the workers' requests and to the triggerer's (the emulator's request log, split by path), and the
waits' lateness and requests (as ``coalesced_polling.py`` reports them).

Run: ``.venv/bin/python benchmarks/deployment_budget.py`` (about 6 minutes here; needs PostgreSQL 15 and
Redis: ``bash scripts/install-services.sh``). The table is printed and written to
``artifacts/deployment-budget.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis

REPO_ROOT = Path(__file__).resolve().parents[1]
# The CeleryExecutor suite's stack, REST client and servers: one home for how a deployment is started.
sys.path[:0] = [str(REPO_ROOT / "tests"), str(REPO_ROOT / "tests" / "e2e")]

from coalesced_polling import OWN_PATHS  # noqa: E402
from e2e_rest import AirflowREST  # noqa: E402
from e2e_stack import (  # noqa: E402
    ADMIN_PASSWORD,
    ADMIN_USER,
    AirflowStack,
    base_environment,
    celery_settings,
)
from e2e_time_scale import TIME_SCALE_VARIABLE  # noqa: E402
from helpers import wait_until  # noqa: E402
from services import PostgresServer, RedisServer  # noqa: E402

WORKERS = ("worker-a", "worker-b")
SUMMARIES_DAG = "posthog_session_summaries"
SUBSCRIPTIONS_DAG = "posthog_subscriptions"
BACKFILL_DAYS = 7
PHASES = {
    "per-trigger": ("per-trigger", False),
    "per-trigger+store": ("per-trigger", True),
    "poller": ("coalesced", False),
    "poller+store": ("coalesced", True),
}


def connection(stack: AirflowStack, store_url: str | None) -> str:
    """``posthog_default`` for the emulator, naming the shared store when there is one."""
    conn = json.loads(stack.emulator.airflow_conn_json())
    if store_url:
        conn["extra"]["rate_limit_store"] = store_url
    return json.dumps(conn)


def restart_workers(stack: AirflowStack, conn: str) -> None:
    """Restart both workers with ``conn`` (new processes: no limiter remembers an earlier phase)."""
    stack.env["AIRFLOW_CONN_POSTHOG_DEFAULT"] = conn
    for worker in WORKERS:
        stack.stop_component(worker)
        stack.start_component(worker)


def start_triggerer_waits(
    stack: AirflowStack, conn: str, polling: str, args: argparse.Namespace, out: Path
) -> subprocess.Popen[bytes]:
    """The triggerer's 1,000 waits, in their own process on the same key (its ``--time-scale`` sets the
    provider's testing time scale there)."""
    env = {
        **base_environment(),
        "AIRFLOW_CONN_POSTHOG_DEFAULT": conn,
        "AIRFLOW_HOME": str(out.parent / "triggerer-home"),
    }
    command = [
        sys.executable,
        str(REPO_ROOT / "benchmarks" / "coalesced_polling.py"),
        "--emulator-url",
        stack.emulator_url,
        "--phases",
        polling,
        "--waits",
        str(args.waits),
        "--views",
        str(args.waits // 10),
        "--interval",
        str(args.interval),
        "--job-seconds",
        str(args.job_seconds),
        "--time-scale",
        str(args.time_scale),
        "--json-out",
        str(out),
    ]
    with (out.parent / f"{out.stem}.log").open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)


def start_celery_work(
    stack: AirflowStack, rest: AirflowREST, name: str, crud_runs: int
) -> tuple[int, list[str]]:
    """The backfill and the CRUD runs: the backfill's id and the CRUD run ids."""
    rest.set_variable("posthog_summaries_dir", stack.fresh_summaries_dir(name))
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    backfill_id = rest.backfill(SUMMARIES_DAG, today - timedelta(days=BACKFILL_DAYS), BACKFILL_DAYS)
    return backfill_id, [rest.trigger(SUBSCRIPTIONS_DAG) for _ in range(crud_runs)]


def delete_runs(rest: AirflowREST) -> None:
    """Delete the earlier phases' runs: every phase's runs are new, and start at try 1."""
    for dag_id in (SUMMARIES_DAG, SUBSCRIPTIONS_DAG):
        for run in rest.dag_runs(dag_id):
            rest.call("DELETE", f"/dags/{dag_id}/dagRuns/{quote(str(run['dag_run_id']))}", expect=204)


def celery_runs(rest: AirflowREST, backfill_id: int, crud_run_ids: list[str]) -> list[dict[str, Any]] | None:
    """Every run of the phase, once the backfill is complete and every CRUD run has ended; else ``None``."""
    if not rest.call("GET", f"/backfills/{backfill_id}").get("completed_at"):
        return None
    crud = [run for run in rest.dag_runs(SUBSCRIPTIONS_DAG) if run["dag_run_id"] in crud_run_ids]
    if len(crud) < len(crud_run_ids) or any(run["state"] not in {"success", "failed"} for run in crud):
        return None
    backfill = [run for run in rest.dag_runs(SUMMARIES_DAG) if run.get("run_type") == "backfill"]
    return backfill + crud


def task_outcomes(rest: AirflowREST, runs: list[dict[str, Any]]) -> tuple[int, int]:
    """Failed task instances, and those that needed more than one try."""
    failed = retried = 0
    for run in runs:
        for task in rest.task_instances(str(run["dag_id"]), str(run["dag_run_id"])).values():
            failed += task["state"] == "failed"
            retried += int(task["try_number"] or 0) > 1
    return failed, retried


def run_phase(
    stack: AirflowStack, rest: AirflowREST, redis_url: str, name: str, *, args: argparse.Namespace, out: Path
) -> dict[str, Any]:
    """One phase from a clean start: its Celery runs and the triggerer's waits at once; what they met.

    :param redis_url: the deployment's Redis (Celery's broker); the store is its database 1.
    :param name: a key of :data:`PHASES`.
    """
    polling, shared = PHASES[name]
    store_url = redis_url.rsplit("/", 1)[0] + "/1"  # beside Celery's broker (db 0), emptied each phase
    redis.Redis.from_url(store_url).flushdb()
    stack.emulator.reset()
    delete_runs(rest)
    conn = connection(stack, store_url if shared else None)
    restart_workers(stack, conn)
    started = time.time()
    result_file = out / f"{name}.json"
    waits = start_triggerer_waits(stack, conn, polling, args, result_file)
    try:
        backfill_id, crud_run_ids = start_celery_work(stack, rest, name.replace("+", "-"), args.crud_runs)
        runs = wait_until(
            lambda: celery_runs(rest, backfill_id, crud_run_ids),
            timeout=1200.0,
            what=f"the {name} phase's DAG runs to finish",
            interval=3.0,
        )
        celery_wall = time.time() - started
        if waits.wait(timeout=1200) != 0:
            raise RuntimeError(f"the triggerer's waits failed: see {result_file.with_suffix('.log')}")
    finally:
        if waits.poll() is None:
            waits.kill()
    failed, retried = task_outcomes(rest, runs)
    log = [entry for entry in stack.emulator.requests() if entry["time"] >= started]
    # The triggerer's requests (its runs and waits); every other request to the emulator is a worker's.
    triggerer = [entry for entry in log if re.search(OWN_PATHS, entry["path"])]
    workers = [entry for entry in log if not re.search(OWN_PATHS, entry["path"])]
    (wait_results,) = json.loads(result_file.read_text())
    return {
        "phase": name,
        "celery_wall_s": round(celery_wall, 1),
        "dag_runs": len(runs),
        "dag_runs_failed": sum(run["state"] == "failed" for run in runs),
        "tasks_failed": failed,
        "tasks_retried": retried,
        "worker_requests": len(workers),
        "worker_429s": sum(entry["status"] == 429 for entry in workers),
        "worker_429_paths": sorted({entry["path"] for entry in workers if entry["status"] == 429}),
        "triggerer_requests": len(triggerer),
        "triggerer_429s": sum(entry["status"] == 429 for entry in triggerer),
        "waits_noticed_late_p99_intervals": wait_results["noticed_late_p99_intervals"],
        "waits_gets_per_interval_per_walk": wait_results["gets_per_interval_per_walk"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phases", nargs="+", choices=list(PHASES), default=list(PHASES))
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--job-seconds", type=float, default=30.0)
    parser.add_argument("--crud-runs", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=10.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="posthog-deployment-budget-"))
    postgres = PostgresServer()
    redis_server = RedisServer(home / "redis")
    stack: AirflowStack | None = None
    try:
        postgres.start()
        redis_server.start()
        stack = AirflowStack(
            home / "airflow",
            workers=WORKERS,
            settings={
                **celery_settings(postgres.url, redis_server.url),
                # Read by tests/e2e/sitecustomize.py in every Airflow process of the stack.
                TIME_SCALE_VARIABLE: str(args.time_scale),
            },
            emulator_args=("--time-scale", str(args.time_scale)),
        )
        stack.start()
        rest = AirflowREST(stack.url, ADMIN_USER, ADMIN_PASSWORD)
        for dag_id in (SUMMARIES_DAG, SUBSCRIPTIONS_DAG):
            rest.wait_for_dag(dag_id)
            rest.set_paused(dag_id, False)
        results = []
        for name in args.phases:
            results.append(run_phase(stack, rest, redis_server.url, name, args=args, out=home))
            print(json.dumps(results[-1]), flush=True)
        artifact = REPO_ROOT / "artifacts" / "deployment-budget.json"
        artifact.parent.mkdir(exist_ok=True)
        artifact.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
    finally:
        if stack is not None:
            stack.stop()
        redis_server.stop()
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
