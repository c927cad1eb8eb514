"""Many saved-query waits in one triggerer: the shared poller against each trigger polling on its own.

The emulator runs in its own process with PostHog's throttle on (its default). This process plays the
triggerer: one event loop in which ``--waits`` runs are followed, in two phases of the same run:

* ``per-trigger``: what the provider did before the poller: every wait reads its own view's jobs
  (``aread_run_state``) every ``--interval`` seconds, first after a random 50-100% of it;
* ``coalesced``: every wait is a ``PostHogSavedQueryRunTrigger``, all served by the connection's one
  ``RunPoller``.

Runs are spread over ``--views`` views (PostHog allows 10 runs a minute per view) and started one after
another; each job runs ``--job-seconds``, so with jobs longer than the starts take, the runs finish at
different times while the waits go on. Measured per phase, from the emulator's request log: GETs of
``data_modeling_jobs`` while waiting, per reading interval (the first reading is at once, then one per
interval), against one listing walk (the pages needed to cover every run, down to the newest job before
the oldest one: ceil((jobs since the oldest run + 1) / 100)); how late each run's end was noticed, in
intervals: event time minus the later of the job's ``last_run_at`` and the start of the waits (a run
that ended before anyone waited for it cannot be noticed earlier; how many did is reported); 429
answers to this process's requests.

Run: ``.venv/bin/python benchmarks/coalesced_polling.py --waits 200 --views 20 --interval 2``, or at
PostHog's rates ten times faster (the emulator's ``--time-scale`` and the provider's matching testing
setting): ``--waits 1000 --views 100 --interval 2 --job-seconds 20 --time-scale 10``.

With ``--emulator-url`` it uses a running emulator and the connection ``AIRFLOW_CONN_POSTHOG_DEFAULT``
already in the environment (``benchmarks/deployment_budget.py`` runs it that way, as the triggerer of a
CeleryExecutor deployment). The results are printed as JSON, and written to ``--json-out`` when given
(stdout also carries the provider's log lines).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_provider.api.arguments import require_timestamp
from airflow_provider.api.ratelimit import RateLimiter, install_process_limiter
from airflow_provider.emulator import EmulatorClient
from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook
from airflow_provider.saved_query_runs.io import aread_run_state, start_run
from airflow_provider.saved_query_runs.state import SavedQueryRun
from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Paths this process sends to (the runs it starts and follows), to tell its 429s from other processes'.
OWN_PATHS = r"/(data_modeling_jobs|warehouse_saved_queries)/"


def start_emulator(time_scale: float) -> tuple[subprocess.Popen[bytes], EmulatorClient]:
    port = free_port()
    command = [sys.executable, "-m", "airflow_provider.emulator", "--port", str(port), "--seed", "demo"]
    command += ["--time-scale", str(time_scale)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = EmulatorClient(f"http://127.0.0.1:{port}")
    for _ in range(100):
        try:
            client.config()
            os.environ["AIRFLOW_CONN_POSTHOG_DEFAULT"] = client.airflow_conn_json()
            return server, client
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("the emulator did not start")


class _Quiet:
    def warning(self, *args: Any) -> None:
        pass


def start_runs(views: list[str], waits: int) -> list[SavedQueryRun]:
    hook = PostHogHook()
    return [start_run(hook, views[index % len(views)], _Quiet()) for index in range(waits)]


async def per_trigger(run: SavedQueryRun, interval: float) -> tuple[str | None, float, float]:
    """Follow ``run`` as each trigger did before the poller; its job, when waiting began, when it ended."""
    waiting_since = time.time()
    async with PostHogAsyncHook() as hook:
        await asyncio.sleep(interval * random.uniform(0.5, 1.0))
        while True:
            state = await aread_run_state(hook, run)
            if state.terminal:
                return state.job_id, waiting_since, time.time()
            await asyncio.sleep(interval)


async def coalesced(run: SavedQueryRun, interval: float) -> tuple[str | None, float, float]:
    """Follow ``run`` with the provider's trigger (and so its connection's one poller)."""
    waiting_since = time.time()
    trigger = PostHogSavedQueryRunTrigger(
        run=run.to_dict(), deadline=time.time() + 3600, poll_interval=interval
    )
    async for event in trigger.run():
        return event.payload["job_id"], waiting_since, time.time()
    raise AssertionError("no event")


PHASES = ("per-trigger", "coalesced")


def phase(name: str, emulator: EmulatorClient, views: list[str], args: argparse.Namespace) -> dict[str, Any]:
    emulator.configure(job_run_seconds=args.job_seconds)
    runs = start_runs(views, args.waits)
    follow = per_trigger if name == "per-trigger" else coalesced
    started = time.time()

    async def all_waits() -> list[tuple[str | None, float, float]]:
        return await asyncio.gather(*(follow(run, args.interval) for run in runs))

    ended = asyncio.run(all_waits())
    duration = time.time() - started
    log = emulator.requests("GET", r"/data_modeling_jobs/?$")
    polls = [entry for entry in log if entry["time"] >= started]
    finished = {job["id"]: job for job in PostHogHook().list_data_modeling_jobs(page_size=100)}
    job_ends = {
        job_id: require_timestamp("last_run_at", job["last_run_at"]) for job_id, job in finished.items()
    }
    lateness = [
        (noticed - max(job_ends[job_id] or noticed, waiting_since)) / args.interval
        for job_id, waiting_since, noticed in ended
        if job_id in job_ends
    ]
    ended_before_waiting = sum(
        1 for job_id, waiting_since, _ in ended if (job_ends.get(job_id) or waiting_since) < waiting_since
    )
    oldest = min(run.requested_after or started for run in runs)
    jobs_since = sum(
        1
        for job in finished.values()
        if (require_timestamp("created_at", job["created_at"]) or 0) >= oldest - 1
    )
    # A walk must also read the newest job from before the oldest run, to know it has seen them all.
    walk_pages = math.ceil((jobs_since + 1) / 100)
    # Readings: one at once when the waits start, then one per interval.
    intervals = duration / args.interval + 1
    throttled = [
        entry
        for entry in emulator.requests(path=OWN_PATHS)
        if entry["status"] == 429 and entry["time"] >= started
    ]
    return {
        "phase": name,
        "waits": len(runs),
        "seconds": round(duration, 1),
        "job_gets": len(polls),
        "gets_per_interval": round(len(polls) / intervals, 2),
        "one_walk_pages": walk_pages,
        "gets_per_interval_per_walk": round(len(polls) / intervals / walk_pages, 2),
        "ended_before_waiting": ended_before_waiting,
        "noticed_late_p50_intervals": round(statistics.median(lateness), 2),
        "noticed_late_p99_intervals": round(sorted(lateness)[max(0, math.ceil(0.99 * len(lateness)) - 1)], 2),
        "answers_429": len(throttled),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waits", type=int, default=200)
    parser.add_argument("--views", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--job-seconds", type=float, default=8.0)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="PostHog's windows pass this much faster (10: a minute is 6 s)",
    )
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument(
        "--emulator-url",
        help="use this running emulator and the connection already in AIRFLOW_CONN_POSTHOG_DEFAULT",
    )
    parser.add_argument("--json-out", help="also write the results to this file")
    args = parser.parse_args()
    # The provider's limiter keeps to the emulator's scaled windows (a testing setting, docs/emulator.md).
    install_process_limiter(RateLimiter(time_scale=args.time_scale))
    server: subprocess.Popen[bytes] | None = None
    if args.emulator_url:
        emulator = EmulatorClient(args.emulator_url)
    else:
        server, emulator = start_emulator(args.time_scale)
    try:
        hook = PostHogHook()
        views = [
            str(hook.create_saved_query(f"bench_view_{i}", "select 1 from events")["id"])
            for i in range(args.views)
        ]
        results: list[dict[str, Any]] = []
        for name in args.phases:
            if results:  # 10 runs a minute per view: the next phase starts afresh
                time.sleep(60 / args.time_scale + 1)
            results.append(phase(name, emulator, views, args))
        print(json.dumps(results, indent=2))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n")
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
