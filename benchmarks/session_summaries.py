"""Summarise 3,000 sessions with ``PostHogSessionSummariesOperator`` on an emulator set up like PostHog Cloud.

The emulator runs in its own process (``python -m airflow_provider.emulator --port 0``) with PostHog's
throttle on (``clickhouse_burst`` 240/minute, ``clickhouse_sustained`` 1200/hour), a latency per summary
request and a gateway that answers 504 after ``--gateway`` seconds while the work goes on and is
cached. PostHog's times are scaled down (PostHog: a batch of new sessions takes tens of seconds to
minutes, the gateway cuts at about 120 s); ``--latency`` and ``--gateway`` set the scaled values.

The operator writes a JSON Lines file (with its progress file) like the example DAG; the sessions are
listed first (not timed) and passed as ``session_ids``. Reported: wall time of ``execute``, the
requests the emulator saw (by status), 429s, summaries generated, and the floor:

- fewest requests: ``ceil(sessions / 300)`` batches, one request each when the latency is below the
  gateway timeout; when it is not, each batch needs a second request for the cached answer;
- floor wall time: ``ceil(batches / max_concurrency)`` rounds of one latency each (the work of a batch
  cannot be answered sooner), or, if longer, the wait PostHog's sliding 240/minute window imposes:
  ``(ceil(fewest / 240) - 1)`` minutes. For 3,000 sessions: 10 batches, one round, no throttle wait,
  so the floor is one latency.

Then the cost checks of issue 24, on the same emulator:

- reuse: a second run over ``--reuse-sessions`` of the summarised sessions (into a new file, so only
  PostHog's stored summaries can be reused) must send no summary request and take at most 1.2x the time
  of the same reads done directly (list the stored summaries, then read each, ``max_concurrency`` at a
  time). Kept below PostHog's 480/minute default throttle, so neither waits for the other's budget;
- sample: ``sample_rate=0.5`` (with a focus area, so nothing stored is reused) must summarise
  50% +- 5% of the sessions, and a dry run of the same arguments must choose the same ones;
- dry run: it must send no summary request.

Usage: ``.venv/bin/python benchmarks/session_summaries.py [--sessions 3000] [--latency 2] [--gateway 10]``.
Targets (issue 4): every session summarised, no 429 reaches the task, requests <= 1.2x the fewest,
wall time <= 1.5x the floor. Issue 24: the reuse, sample and dry-run targets above.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SUMMARIES_PATH = r"/session_summaries/create_session_summaries_individually"
MAX_BATCH = 300
MAX_CONCURRENCY = 10
BURST_PER_MINUTE = 240


def main() -> int:
    """Run the benchmark and print the report; exit status 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds a summary request takes")
    parser.add_argument("--gateway", type=float, default=10.0, help="gateway timeout in seconds")
    parser.add_argument("--batch-size", type=int, default=MAX_BATCH)
    parser.add_argument("--max-concurrency", type=int, default=MAX_CONCURRENCY)
    parser.add_argument("--reuse-sessions", type=int, default=200, help="sessions of the reuse check")
    parser.add_argument(
        "--read-latency", type=float, default=0.1, help="seconds a stored-summary read takes (reuse check)"
    )
    args = parser.parse_args()

    # One in seven seeded sessions is too short to summarise; seed enough for the requested count.
    seeded = math.ceil(args.sessions * 7 / 6) + 7
    command = [
        sys.executable, "-m", "airflow_provider.emulator", "--port", "0", "--seed", "demo",
        "--session-count", str(seeded), "--summary-latency", str(args.latency),
        "--gateway-timeout", str(args.gateway),
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        url = _wait_for_url(server)
        return _measure(url, args)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for_url(server: subprocess.Popen[str]) -> str:
    assert server.stdout is not None
    for line in server.stdout:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return found.group(1)
    raise RuntimeError("the emulator exited before it listened")


def _measure(url: str, args: argparse.Namespace) -> int:
    from airflow_provider.emulator import EmulatorClient

    emulator = EmulatorClient(url)
    os.environ["AIRFLOW_CONN_POSTHOG_DEFAULT"] = emulator.airflow_conn_json()
    from airflow_provider.hooks.posthog import PostHogHook

    now = dt.datetime.now(dt.timezone.utc)
    recordings = PostHogHook().list_session_recordings(date_from=now - dt.timedelta(days=8), date_to=now)
    session_ids = [r["id"] for r in recordings if r["recording_duration"] > 5][: args.sessions]
    if len(session_ids) < args.sessions:
        raise RuntimeError(f"only {len(session_ids)} summarisable sessions seeded")
    listing_requests = len(emulator.requests())

    with tempfile.TemporaryDirectory() as folder:
        result, wall = _run_operator(args, folder, "summaries", session_ids)
        records = [json.loads(line) for line in Path(folder, "summaries.jsonl").read_text().splitlines()]

    summary_requests = emulator.requests(method="POST", path=SUMMARIES_PATH)
    statuses = Counter(entry["status"] for entry in summary_requests)
    throttled = sum(1 for entry in emulator.requests()[listing_requests:] if entry["status"] == 429)
    generated = emulator.counts()["summaries_generated"]
    batches = math.ceil(args.sessions / args.batch_size)
    fewest = batches * (1 if args.latency < args.gateway else 2)
    waves = math.ceil(batches / args.max_concurrency)
    # The sliding 240/minute window lets 240 requests through at once; each further 240 wait a minute.
    floor = max(waves * args.latency, (math.ceil(fewest / BURST_PER_MINUTE) - 1) * 60.0)
    summarized = sum(1 for record in records if "summary" in record)

    print(f"sessions {args.sessions}, batch {args.batch_size}, max_concurrency {args.max_concurrency}, ")
    print(f"latency {args.latency:g} s, gateway {args.gateway:g} s, throttle 240/minute + 1200/hour")
    print(f"  wall time                 {wall:7.2f} s   floor {floor:.2f} s   ratio {wall / floor:.2f}")
    ratio = len(summary_requests) / fewest
    print(f"  summary requests          {len(summary_requests):7d}     fewest {fewest}   ratio {ratio:.2f}")
    print(f"  answers by status         {dict(sorted(statuses.items()))}")
    print(f"  429 answers (any request) {throttled:7d}")
    print(f"  summarised / generated    {summarized} / {generated}   (XCom: {result})")
    checks = {
        "every session summarised": summarized == args.sessions and generated == args.sessions,
        "no 429 reached the task": isinstance(result, dict) and result["failed"] == 0,
        "requests <= 1.2x fewest": len(summary_requests) <= 1.2 * fewest,
        "wall <= 1.5x floor": wall <= 1.5 * floor,
    }
    checks.update(_cost_checks(emulator, session_ids, args))
    for name, met in checks.items():
        print(f"  {name:26s}{'met' if met else 'MISSED'}")
    return 0 if all(checks.values()) else 1


def _run_operator(
    args: argparse.Namespace, folder: str, name: str, ids: list[str], **arguments: Any
) -> tuple[dict[str, Any], float]:
    """Run the summaries operator over ``ids`` into ``<folder>/<name>.jsonl``: its XCom value, wall time."""
    from airflow_provider.operators.session_summaries import PostHogSessionSummariesOperator

    operator = PostHogSessionSummariesOperator(
        task_id=name,
        session_ids=ids,
        batch_size=args.batch_size,
        max_concurrency=args.max_concurrency,
        output_path=f"file://{folder}/{name}.jsonl",
        outlets=[],
        **arguments,
    )
    started = time.monotonic()
    result = operator.execute({})
    return result, time.monotonic() - started  # type: ignore[return-value]


def _cost_checks(emulator: Any, session_ids: list[str], args: argparse.Namespace) -> dict[str, bool]:
    """Issue 24's measurements: stored summaries reused, a stable 50% sample, a dry run sending nothing."""
    from concurrent.futures import ThreadPoolExecutor

    from airflow_provider.hooks.posthog import PostHogHook

    def summary_posts() -> int:
        return len(emulator.requests(method="POST", path=SUMMARIES_PATH))

    reuse = session_ids[: args.reuse_sessions]
    # Reads of stored summaries take --read-latency, as over the internet, for the direct reads and
    # the operator alike (on loopback they take a few ms, and any fixed cost would dominate).
    emulator.add_fault("GET", "single_session_summaries", kind="delay", times=None, delay=args.read_latency)
    hook = PostHogHook()
    started = time.monotonic()
    stored = [row["session_id"] for row in hook.list_stored_session_summaries(session_ids=reuse)]
    with ThreadPoolExecutor(args.max_concurrency) as pool:
        read = [summary for summary in pool.map(hook.get_stored_session_summary, stored) if summary]
    direct = time.monotonic() - started
    with tempfile.TemporaryDirectory() as folder:
        posts = summary_posts()
        second, second_wall = _run_operator(args, folder, "second", reuse)
        second_posts = summary_posts() - posts

        posts = summary_posts()
        _run_operator(args, folder, "sampled", session_ids, sample_rate=0.5, focus_area="checkout")
        sample_posts = summary_posts() - posts
        lines = Path(folder, "sampled.jsonl").read_text().splitlines()
        sampled_ids = [json.loads(line)["session_id"] for line in lines]

        posts = summary_posts()
        dry, _ = _run_operator(
            args, folder, "sampled", session_ids, sample_rate=0.5, focus_area="checkout", dry_run=True
        )
        dry_posts = summary_posts() - posts
    share = len(sampled_ids) / len(session_ids)
    rerun_ids = dry["session_ids"]["reuse_progress"] + dry["session_ids"]["generate"]
    print(f"reuse: a second run over {len(reuse)} summarised sessions (stored in PostHog)")
    print(f"  direct list + {len(read)} reads   {direct:7.2f} s")
    print(
        f"  second run                {second_wall:7.2f} s   ratio {second_wall / direct:.2f}   "
        f"summary requests {second_posts}   reused_stored {second['reused_stored']}"
    )
    print(
        f"sample 0.5 of {len(session_ids)}: {len(sampled_ids)} summarised ({share:.1%}), "
        f"{sample_posts} requests"
    )
    print(
        f"dry run of the same: {dry['sessions']} chosen, {dry['would_reuse_progress']} reusable, "
        f"{dry['would_generate']} to generate, {dry_posts} summary requests sent"
    )
    return {
        "2nd run: 0 generations": second_posts == 0 and second["reused_stored"] == len(reuse),
        "2nd run <= 1.2x reads": second_wall <= 1.2 * direct,
        "sample 50% +- 5%": abs(share - 0.5) <= 0.05,
        "sample same on rerun": sorted(rerun_ids) == sorted(sampled_ids),
        "dry run: 0 requests": dry_posts == 0,
    }


if __name__ == "__main__":
    sys.exit(main())
