"""How many small GETs a second the emulator answers to one keep-alive client (target: at least 1,000).

Starts ``python -m airflow_provider.emulator`` as a separate process (throttling off), then sends
GETs from one ``requests.Session`` for a fixed time per endpoint and prints requests per second
and latency percentiles. The first row is a bare uvicorn app answering ``{}`` the same way: the
ceiling a single ``requests`` client reaches on this machine, whatever the server does.

Usage: ``.venv/bin/python benchmarks/emulator_throughput.py [--seconds 5] [--warmup 1]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

TARGET_PER_SECOND = 1000
KEY = "phx_demo_all_scopes"
ENDPOINTS = {
    "project": "/api/projects/1/",
    "subscription": "/api/projects/1/subscriptions/1/",
    "saved query list": "/api/projects/1/warehouse_saved_queries/",
}


BARE_SERVER = """
import socket, sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] == "http":
        headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(128)
print("bare uvicorn listening on http://127.0.0.1:%d" % sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")).run(sockets=[sock])
"""


@contextmanager
def server_process(command: list[str]) -> Iterator[str]:
    """Run a server that prints ``... listening on <url>`` first; its URL."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        if "listening on" not in first_line:
            raise RuntimeError(f"the server did not start: {first_line!r}")
        yield first_line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure(http: requests.Session, url: str, seconds: float) -> tuple[float, list[float]]:
    """Send GETs for ``seconds``; requests a second and each latency in milliseconds."""
    latencies = []
    started = time.perf_counter()
    deadline = started + seconds
    now = started
    while now < deadline:
        response = http.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:200]}")
        after = time.perf_counter()
        latencies.append((after - now) * 1000)
        now = after
    return len(latencies) / (now - started), latencies


def report(name: str, rate: float, latencies: list[float]) -> None:
    """Print one result row."""
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(f"{name:<18} {rate:>8.0f} {statistics.median(latencies):>8.2f} {p99:>8.2f}")


def main() -> int:
    """Measure every endpoint; exit 1 if any falls below the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per endpoint")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured time per endpoint")
    args = parser.parse_args()
    below_target = False
    print(f"{'endpoint':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    with server_process([sys.executable, "-c", BARE_SERVER]) as bare_url, requests.Session() as http:
        measure(http, bare_url, args.warmup)
        report("(bare uvicorn)", *measure(http, bare_url, args.seconds))
    command = [sys.executable, "-m", "airflow_provider.emulator", "--port", "0", "--no-throttle"]
    with server_process(command) as base_url, requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {KEY}"
        created = http.post(
            f"{base_url}/api/projects/1/subscriptions/",
            json={"insight": 101, "target_type": "email", "target_value": "a@example.com",
                  "frequency": "daily", "interval": 1, "start_date": "2025-06-02T09:00:00Z"},
        )  # fmt: skip
        created.raise_for_status()
        for name, path in ENDPOINTS.items():
            measure(http, base_url + path, args.warmup)
            rate, latencies = measure(http, base_url + path, args.seconds)
            report(name, rate, latencies)
            below_target |= rate < TARGET_PER_SECOND
    print(f"target: at least {TARGET_PER_SECOND} GETs/s per endpoint: {'NOT MET' if below_target else 'met'}")
    return 1 if below_target else 0


if __name__ == "__main__":
    sys.exit(main())
