"""1,000 PostHogSavedQueryRunTriggers waiting at once in one event loop, against the emulator.

Method of ``docs/trigger-scaling.md`` (the dbt-cloud / HttpSensorTrigger measurements): the emulator runs
in its own process; this process is the "triggerer": one ``asyncio.run`` loop, every trigger task
calls ``greenback.ensure_portal()`` first as ``TriggerRunner.run_trigger`` does, then runs
``trigger.run()`` to its first event. Measured:

* detect delay: each wait's event time minus its job's end;
* requests: every ``data_modeling_jobs`` GET the emulator received (the provider's trigger: the readings
  of its connection's one poller; the bare poller: one per run per interval);
* where runs poll on their own (``--poller aiohttp``): poll lateness (gaps between the server-side arrival
  times of consecutive polls of one run, minus the interval) and polls made / polls an ideal poller makes;
* CPU (getrusage user+sys of this process) per wait per poll interval while the triggers run;
* TCP connections opened (every ``loop.create_connection``) and most open at once (``/proc/net/tcp``);
* memory per trigger: (peak RSS while waiting - RSS before the triggers start) / N;
* garbage-collection pauses while the triggers run (``gc.callbacks``): the triggerer does not call
  ``gc.freeze()``, so neither does this script, and a full collection walks Airflow's whole heap.

``--poller aiohttp`` runs the same schedule with a bare shared ``aiohttp.ClientSession`` (no Airflow,
no provider) as the same-run baseline for what the emulator and the machine allow.

Run: ``.venv/bin/python benchmarks/trigger_scale.py --triggers 1000 --run-seconds 15``. The emulator
keeps the last 20,000 requests, so keep triggers x (run seconds + 2) below that.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import greenback

from airflow_provider.api.arguments import require_timestamp
from airflow_provider.emulator import EmulatorClient
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_emulator(port: int) -> tuple[subprocess.Popen[bytes], EmulatorClient]:
    command = [sys.executable, "-m", "airflow_provider.emulator", "--port", str(port), "--seed", "demo"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = EmulatorClient(f"http://127.0.0.1:{port}")
    for _ in range(200):
        try:
            client.config()
            return server, client
        except Exception:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("the emulator did not start")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def established_to(port: int) -> int:
    """Client sockets ESTABLISHED to the server port (state 01 in /proc/net/tcp)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[2].endswith(f":{port:04X}") and row.split()[3] == "01")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """user+sys CPU of another process (the emulator), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_runs(count: int) -> dict[str, float]:
    """Create ``count`` views and ask each to run; returns view id -> time just before its run request."""
    hook = PostHogHook()
    ids = [
        str(hook.create_saved_query(f"bench_view_{i:04d}", "select event from events")["id"])
        for i in range(count)
    ]
    requested = {}
    for saved_query_id in ids:
        requested[saved_query_id] = time.time()
        hook.run_saved_query(saved_query_id)
    return requested


# A poller waits for one run: (saved query id, requested_after, interval), returns once it completed.
Poller = Callable[[str, float, float], Coroutine[Any, Any, None]]


async def trigger_poller(saved_query_id: str, requested_after: float, interval: float) -> None:
    """Run one PostHogSavedQueryRunTrigger to its event, which must be ``success``."""
    trigger = PostHogSavedQueryRunTrigger(
        saved_query_id=saved_query_id,
        deadline=time.time() + 3600,
        requested_after=requested_after,
        poll_interval=interval,
    )
    async for event in trigger.run():
        if event.payload["status"] != "success":
            raise RuntimeError(f"{saved_query_id}: {event.payload}")
        return
    raise RuntimeError(f"trigger for {saved_query_id} ended without an event")


def bare_aiohttp_poller(url: str, project_id: int, api_key: str) -> tuple[Poller, Callable[[], Any]]:
    """The same poll loop on one shared session: GET, check, sleep."""
    session: aiohttp.ClientSession | None = None

    async def poll(saved_query_id: str, requested_after: float, interval: float) -> None:
        nonlocal session
        if session is None:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100), headers={"Authorization": f"Bearer {api_key}"}
            )
        jobs_url = f"{url}/api/projects/{project_id}/data_modeling_jobs/"
        while True:
            async with session.get(
                jobs_url, params={"saved_query_id": saved_query_id, "limit": "1"}
            ) as answer:
                jobs = (await answer.json())["results"]
            if jobs and jobs[0]["status"] == "Completed":
                created = require_timestamp("created_at", jobs[0]["created_at"])
                if created is not None and created >= requested_after:
                    return
            await asyncio.sleep(interval)

    async def close() -> None:
        if session is not None:
            await session.close()

    return poll, close


async def measure(
    args: argparse.Namespace, waits: dict[str, Callable[[], Awaitable[None]]]
) -> dict[str, Any]:
    """Run every wait at once in this loop, as the triggerer would, and measure the process meanwhile.

    :param args: ``spread``, ``port`` (the server's) and ``server_pid``.
    :param waits: by run key, a coroutine function that returns once that run has ended.
    """
    loop = asyncio.get_running_loop()
    connections = 0
    create_connection = loop.create_connection

    async def counted_create_connection(*a: Any, **kw: Any) -> Any:
        nonlocal connections
        connections += 1
        return await create_connection(*a, **kw)

    loop.create_connection = counted_create_connection  # type: ignore[method-assign]
    events: dict[str, float] = {}

    async def one(key: str) -> None:
        await greenback.ensure_portal()
        if args.spread:
            await asyncio.sleep(random.random())
        await waits[key]()
        events[key] = time.time()

    samples = {"rss_peak_kib": rss_kib(), "open_max": 0}
    rss_before = samples["rss_peak_kib"]

    async def sample() -> None:
        tick = 0
        while True:
            samples["rss_peak_kib"] = max(samples["rss_peak_kib"], rss_kib())
            if tick % 5 == 0:
                samples["open_max"] = max(samples["open_max"], established_to(args.port))
            tick += 1
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    cpu_start, server_cpu_start, wall_start = cpu_seconds(), process_cpu_seconds(args.server_pid), time.time()
    with GCPauses() as collections:
        await asyncio.gather(*(one(key) for key in waits))
    cpu, wall = cpu_seconds() - cpu_start, time.time() - wall_start
    server_cpu = process_cpu_seconds(args.server_pid) - server_cpu_start
    sampler.cancel()
    return {
        "cpu_s": cpu,
        "server_cpu_s": server_cpu,
        "wall_s": wall,
        "events": events,
        "connections_opened": connections,
        "open_max": samples["open_max"],
        "rss_before_mib": rss_before / 1024,
        "rss_peak_mib": samples["rss_peak_kib"] / 1024,
        "rss_per_trigger_kib": (samples["rss_peak_kib"] - rss_before) / len(waits),
        **collections.summary(),
    }


class GCPauses:
    """Times every garbage collection while installed (``gc.callbacks``), by generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __enter__(self) -> GCPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)

    def summary(self) -> dict[str, Any]:
        full = self.pauses[2]
        return {
            "gc_full_collections": len(full),
            "gc_full_longest_ms": round(max(full, default=0.0) * 1000),
            "gc_total_ms": round(sum(sum(pauses) for pauses in self.pauses.values()) * 1000),
        }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarize(
    args: argparse.Namespace,
    arrivals: dict[str, list[float]],
    ends: dict[str, float],
    measured: dict[str, Any],
    requests: int,
) -> dict[str, Any]:
    """Detect delay, requests and cost per wait-interval; lateness and polls share where runs poll alone.

    :param arrivals: by run key, the server-side arrival times of its own polls (none for the provider's
        trigger, whose runs are read by their connection's one poller).
    :param ends: by run key, when the run ended on the server.
    :param measured: what :func:`measure` returned.
    :param requests: every jobs GET the emulator received while the waits ran.
    """
    lateness: list[float] = []
    made, ideal = 0, 0
    for key, times in arrivals.items():
        times.sort()
        lateness += [(later - earlier - args.interval) * 1000 for earlier, later in itertools.pairwise(times)]
        made += len(times)
        ideal += max(1, -(-(ends[key] - times[0]) // args.interval) + 1)
    detect = [measured["events"][key] - ends[key] for key in measured["events"]]
    # What one wait costs per poll interval, however its run is read (alone or in a shared reading).
    wait_intervals = args.triggers * measured["wall_s"] / args.interval
    return {
        "poller": args.poller,
        "start": "spread" if args.spread else "sync",
        "gc_freeze": args.gc_freeze,
        "triggers": args.triggers,
        "run_seconds": args.run_seconds,
        "wall_s": round(measured["wall_s"], 1),
        "lateness_ms_p50_p99_max": [round(percentile(lateness, q)) for q in (0.5, 0.99, 1.0)]
        if lateness
        else None,
        "polls_share_of_ideal": round(made / ideal, 3) if ideal else None,
        "detect_delay_s_p50_max": [round(statistics.median(detect), 2), round(max(detect), 2)],
        "requests": requests,
        "requests_per_s": round(requests / measured["wall_s"]),
        "cpu_s": round(measured["cpu_s"], 2),
        "cpu_ms_per_wait_interval": round(measured["cpu_s"] * 1000 / wait_intervals, 3),
        "server_cpu_s": round(measured["server_cpu_s"], 1),
        "connections_opened": measured["connections_opened"],
        "connections_open_max": measured["open_max"],
        "rss_before_mib": round(measured["rss_before_mib"]),
        "rss_peak_mib": round(measured["rss_peak_mib"]),
        "rss_per_trigger_kib": round(measured["rss_per_trigger_kib"], 1),
        **{key: value for key, value in measured.items() if key.startswith("gc_")},
    }


def emulator_arrivals(emulator: EmulatorClient, keys: dict[str, Any]) -> tuple[dict[str, list[float]], int]:
    """By saved query id, when the emulator received each poll of its own jobs; and all jobs GETs."""
    arrivals: dict[str, list[float]] = defaultdict(list)
    listed = emulator.requests(method="GET", path="data_modeling_jobs")
    for entry in listed:
        if entry["query"].get("saved_query_id") in keys:
            arrivals[entry["query"]["saved_query_id"]].append(entry["time"])
    return arrivals, len(listed)


def job_ends(keys: dict[str, Any]) -> dict[str, float]:
    """By saved query id, when its job ended (``last_run_at``)."""
    ends = {}
    for job in PostHogHook().list_data_modeling_jobs():
        if job["saved_query_id"] in keys:
            ends[job["saved_query_id"]] = require_timestamp("last_run_at", job["last_run_at"]) or 0.0
    return ends


async def wait_for_runs(
    args: argparse.Namespace, requested: dict[str, float], emulator: EmulatorClient
) -> dict[str, Any]:
    """Measure the chosen poller over every requested run."""
    if args.poller == "trigger":
        return await measure(
            args,
            {key: partial(trigger_poller, key, after, args.interval) for key, after in requested.items()},
        )
    poll, close = bare_aiohttp_poller(emulator.url, emulator.project_id, emulator.api_key)
    try:
        return await measure(
            args, {key: partial(poll, key, after, args.interval) for key, after in requested.items()}
        )
    finally:
        await close()


def common_arguments(description: str) -> argparse.ArgumentParser:
    """The arguments every scale benchmark takes."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--run-seconds", type=float, default=15.0, help="how long each run stays Running")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--spread", action="store_true", help="start each poller after U[0, 1) s")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() before the triggers start (Airflow's triggerer does not; shows what it would gain)",
    )
    return parser


def main() -> None:
    parser = common_arguments(__doc__ or "")
    parser.add_argument("--poller", choices=["trigger", "aiohttp"], default="trigger")
    args = parser.parse_args()
    args.port = free_port()
    server, emulator = start_emulator(args.port)
    args.server_pid = server.pid
    try:
        emulator.configure(throttle=False, job_run_seconds=args.run_seconds)
        # The emulator's throttle is off, so the client's PostHog-rate limiter (480/min a key) is too.
        conn = json.loads(emulator.airflow_conn_json())
        conn["extra"] = {**conn.get("extra", {}), "rate_limit": False}
        os.environ["AIRFLOW_CONN_POSTHOG_DEFAULT"] = json.dumps(conn)
        requested = start_runs(args.triggers)
        if args.gc_freeze:
            gc.freeze()
        measured = asyncio.run(wait_for_runs(args, requested, emulator))
        arrivals, requests = emulator_arrivals(emulator, measured["events"])
        ends = job_ends(measured["events"])
        print(json.dumps(summarize(args, arrivals, ends, measured, requests)))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
