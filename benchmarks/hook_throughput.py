"""GET throughput of ``PostHogHook`` against a bare ``requests.Session`` loop, on a local uvicorn app.

Both sides fetch the same saved query from the same server, sequentially, in alternating rounds;
the report gives the median requests per second of each side and their ratio. The hook pays for
what the bare loop skips (request building, retry decision, JSON decoding, error checks), but
neither side looks the connection up per call or opens a connection per call.

The hook's client-side rate limiter is switched off (extra ``rate_limit: false``) because it would
hold the hook to PostHog's 480 requests/minute: that is its job in production, not a cost of the
HTTP path measured here.

Usage: ``.venv/bin/python benchmarks/hook_throughput.py [--requests 2000] [--rounds 5]``.
Target: the hook reaches at least 0.9x the bare loop.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import requests

TARGET_RATIO = 0.9
KEY = "phx_demo_all_scopes"
PROJECT_ID = 1
VIEW = "0192f3a0-aaaa-7bbb-8ccc-000000000001"
PATH = f"/api/projects/{PROJECT_ID}/warehouse_saved_queries/{VIEW}/"
BODY = json.dumps(
    {
        "id": VIEW,
        "name": "daily_active_users",
        "query": {"kind": "HogQLQuery", "query": "select count() from events"},
        "status": "Completed",
        "last_run_at": "2026-11-26T10:00:00Z",
        "latest_error": None,
        "is_materialized": True,
        "sync_frequency": "24hour",
    }
).encode()

NOT_FOUND = b'{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}'


async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """A minimal ASGI app: the saved query for an authorised GET of its path, else 404."""
    if scope["type"] != "http":
        return
    authorized = (b"authorization", f"Bearer {KEY}".encode()) in scope["headers"]
    found = scope["path"] == PATH and authorized
    body = (
        BODY if found else b'{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve(port: int) -> None:
    """Run the app with uvicorn (httptools) in this process."""
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, http="httptools")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"the benchmark server at {url} did not start")


def bare_loop(base_url: str, count: int) -> float:
    """Requests per second of a bare ``requests.Session`` doing the same GETs and JSON decoding."""
    with requests.Session() as session:
        headers = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}
        started = time.perf_counter()
        for _ in range(count):
            response = session.get(f"{base_url}{PATH}", headers=headers, timeout=(10, 30))
            response.raise_for_status()
            response.json()
        return count / (time.perf_counter() - started)


def hook_loop(count: int) -> float:
    """Requests per second of ``PostHogHook.get_saved_query`` (connection from the environment)."""
    from airflow_provider.hooks.posthog import PostHogHook

    hook = PostHogHook()
    try:
        hook.get_saved_query(VIEW)  # the one connection lookup, done before timing as for the bare loop
        started = time.perf_counter()
        for _ in range(count):
            hook.get_saved_query(VIEW)
        return count / (time.perf_counter() - started)
    finally:
        hook.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="GETs per round and side (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve)
        return
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        wait_until_up(base_url)
        os.environ["AIRFLOW_CONN_POSTHOG_DEFAULT"] = json.dumps(
            {
                "conn_type": "posthog",
                "host": base_url,
                "password": KEY,
                "extra": {"project_id": str(PROJECT_ID), "rate_limit": False},
            }
        )
        bare_loop(base_url, 200)  # warm up both paths (imports, first connection)
        hook_loop(200)
        bare: list[float] = []
        hook: list[float] = []
        for round_number in range(arguments.rounds):
            if round_number % 2:
                hook.append(hook_loop(arguments.requests))
                bare.append(bare_loop(base_url, arguments.requests))
            else:
                bare.append(bare_loop(base_url, arguments.requests))
                hook.append(hook_loop(arguments.requests))
    finally:
        server.terminate()
        server.wait(timeout=10)
    ratio = statistics.median(hook) / statistics.median(bare)
    report = {
        "requests_per_round": arguments.requests,
        "rounds": arguments.rounds,
        "bare_requests_session_rps": [round(value) for value in bare],
        "hook_rps": [round(value) for value in hook],
        "bare_median_rps": round(statistics.median(bare)),
        "hook_median_rps": round(statistics.median(hook)),
        "ratio": round(ratio, 3),
        "target": f">= {TARGET_RATIO}x",
        "meets_target": ratio >= TARGET_RATIO,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
