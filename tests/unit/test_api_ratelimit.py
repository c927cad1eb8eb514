"""The client-side limiter keeps one process under PostHog's per-key limits (fake clock)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider.api import endpoints
from airflow_provider.api.call import ApiCall
from airflow_provider.api.ratelimit import ARRIVAL_ALLOWANCE, Bucket, RateLimiter, buckets_for
from airflow_provider.emulator import throttle as emulator_throttle

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = REPO_ROOT / "tests" / "e2e"
TIME_SCALE_VARIABLE = "POSTHOG_PROVIDER_TESTING_TIME_SCALE"  # tests/e2e/e2e_time_scale.py
KEY = "fingerprint"
HOST = "https://us.posthog.com"
VIEW = "0192f3a0-aaaa-7bbb-8ccc-000000000001"


def throttle_buckets(call: ApiCall, key: str = KEY) -> tuple[Bucket, ...]:
    """The buckets of an endpoint's declared throttle, for one key in project 1."""
    return buckets_for(call.throttle, key, HOST, "1")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_endpoints_declare_posthog_throttles_with_windows_kept_longer_by_the_arrival_allowance() -> None:
    slack = ARRIVAL_ALLOWANCE
    assert slack > 0
    (default,) = throttle_buckets(endpoints.subscriptions({}))
    assert default.rates == ((480, 60.0 + slack), (4800, 3600.0 + slack))
    (clickhouse,) = throttle_buckets(endpoints.create_session_summaries(["a"], None))
    assert clickhouse.rates == ((240, 60.0 + slack), (1200, 3600.0 + slack))
    assert throttle_buckets(endpoints.session_property_values("$channel_type"))[0] == clickhouse
    (run,) = throttle_buckets(endpoints.run_saved_query(VIEW))
    assert run.rates == ((10, 60.0 + slack),)
    assert VIEW in run.key
    (materialize,) = throttle_buckets(endpoints.materialize_saved_query(VIEW, None))
    assert materialize.rates == ((5, 3600.0 + slack),)
    assert throttle_buckets(endpoints.revert_saved_query_materialization(VIEW))[0] == materialize
    assert throttle_buckets(endpoints.saved_query(VIEW))[0] == default


def test_requests_under_the_limit_go_at_once() -> None:
    limiter = RateLimiter(clock=FakeClock())
    bucket = Bucket(("k",), ((3, 60.0),))
    assert [limiter.reserve([bucket]) for _ in range(3)] == [0.0, 0.0, 0.0]


def test_the_request_over_the_limit_waits_until_the_oldest_leaves_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    bucket = Bucket(("k",), ((3, 60.0),))
    for offset in (0.0, 10.0, 20.0):
        clock.now = 1000.0 + offset
        limiter.reserve([bucket])
    clock.now = 1030.0
    assert limiter.reserve([bucket]) == 30.0
    assert limiter.reserve([bucket]) == 40.0


def test_the_hourly_limit_applies_when_the_minute_limit_has_room() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    bucket = Bucket(("k",), ((480, 60.0), (4800, 3600.0)))
    for minute in range(10):
        clock.now = 1000.0 + minute * 60.0
        assert max(limiter.reserve([bucket]) for _ in range(480)) == 0.0
    clock.now = 1000.0 + 600.0
    assert limiter.reserve([bucket]) == 3000.0


def test_buckets_of_other_keys_and_views_are_independent() -> None:
    limiter = RateLimiter(clock=FakeClock())
    view_a = throttle_buckets(endpoints.run_saved_query(VIEW))
    view_b = throttle_buckets(endpoints.run_saved_query("0192f3a0-aaaa-7bbb-8ccc-000000000002"))
    other_key = throttle_buckets(endpoints.run_saved_query(VIEW), key="other")
    for _ in range(10):
        limiter.reserve(view_a)
    assert limiter.reserve(view_a) == 60.0 + ARRIVAL_ALLOWANCE
    assert limiter.reserve(view_b) == 0.0
    assert limiter.reserve(other_key) == 0.0


def test_reservations_from_many_threads_never_exceed_the_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    bucket = Bucket(("k",), ((10, 60.0),))
    waits: list[float] = []
    lock = threading.Lock()

    def reserve() -> None:
        for _ in range(5):
            wait = limiter.reserve([bucket])
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == [0.0] * 10 + [60.0] * 10 + [120.0] * 10 + [180.0] * 10


def test_a_429_pauses_its_buckets_for_every_caller_until_retry_after_passes() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    (default,) = throttle_buckets(endpoints.subscriptions({}))
    (clickhouse,) = throttle_buckets(endpoints.session_property_values("$channel_type"))
    limiter.pause([default], 7.0)
    assert limiter.reserve([default]) == 7.0  # another caller of the refused bucket waits it out
    assert limiter.reserve([clickhouse]) == 0.0  # other throttles are not held
    clock.now += 7.0
    assert limiter.reserve([default]) == 0.0  # waits only as long as PostHog said (the slot is booked)
    limiter.pause([default], 2.0)
    limiter.pause([default], 1.0)  # a shorter pause never shortens a longer one
    assert limiter.reserve([default]) == 2.0


def test_a_limiter_with_a_time_scale_shortens_posthogs_part_of_every_window() -> None:
    (default,) = throttle_buckets(endpoints.subscriptions({}))
    # PostHog's windows scaled; the allowance is for real send delays, so it is not.
    assert default.scaled(10).rates == ((480, 6.0 + ARRIVAL_ALLOWANCE), (4800, 360.0 + ARRIVAL_ALLOWANCE))
    limiter = RateLimiter(FakeClock(), time_scale=10)
    assert max(limiter.reserve([default]) for _ in range(480)) == 0.0
    assert limiter.reserve([default]) == 6.0 + ARRIVAL_ALLOWANCE
    with pytest.raises(ValueError, match="must be above 0"):
        RateLimiter(time_scale=0)


def test_processes_the_e2e_stack_starts_install_the_time_scale_their_environment_names() -> None:
    """``tests/e2e/sitecustomize.py`` runs in every process with ``tests/e2e`` on its path (the e2e
    stack's Airflow processes); a process without the variable keeps PostHog's real windows."""
    child = (
        "from airflow_provider.api.ratelimit import Bucket, process_limiter\n"
        "limiter = process_limiter()\n"
        "bucket = Bucket(('k',), ((480, 60.0 + 1.0),))\n"
        "waits = [limiter.reserve([bucket]) for _ in range(481)]\n"
        "print(limiter.time_scale, max(waits[:480]), waits[480])\n"
    )
    path = os.pathsep.join([str(E2E_DIR), str(REPO_ROOT)])

    def run(time_scale: str | None) -> list[float]:
        env = {name: value for name, value in os.environ.items() if name != TIME_SCALE_VARIABLE}
        env["PYTHONPATH"] = path
        if time_scale is not None:
            env[TIME_SCALE_VARIABLE] = time_scale
        done = subprocess.run(
            [sys.executable, "-c", child], env=env, capture_output=True, text=True, check=True
        )
        return [float(word) for word in done.stdout.split()]

    scale, first, scaled_wait = run("10")
    assert (scale, first) == (10.0, 0.0)
    assert 6.0 < scaled_wait <= 6.0 + ARRIVAL_ALLOWANCE  # a 60 s window passes in 6 s (+ the allowance)
    scale, _, real_wait = run(None)
    assert scale == 1.0 and real_wait > 60.0


def _refused_by_posthog(buckets: tuple[Bucket, ...], delays: list[float], monkeypatch: Any) -> int:
    """Reserve a slot for each request at once, send each ``delays[i]`` late; how many PostHog refuses.

    PostHog's side is the emulator's DRF-style throttle at PostHog's default rates, fed the arrivals in
    order on a fake clock.
    """
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    arrivals = sorted(clock.now + limiter.reserve(buckets) + delay for delay in delays)
    now = [0.0]
    monkeypatch.setattr(emulator_throttle, "time", SimpleNamespace(monotonic=lambda: now[0]))
    posthog = emulator_throttle.Throttle()
    refused = 0
    for arrival in arrivals:
        now[0] = arrival
        refused += posthog.check(emulator_throttle.DEFAULT_CLASSES, "key", {}) is not None
    return refused


def test_requests_sent_up_to_the_arrival_allowance_late_are_never_refused(monkeypatch: Any) -> None:
    rng = random.Random(14)
    # Three windows' worth of requests, each reaching PostHog up to (not quite) the allowance late.
    delays = [rng.uniform(0.0, ARRIVAL_ALLOWANCE * 0.99) for _ in range(1500)]
    buckets = throttle_buckets(endpoints.subscriptions({}))
    assert _refused_by_posthog(buckets, delays, monkeypatch) == 0
    # The same delays with windows exactly PostHog's: late requests crowd the next window.
    exact = tuple(
        Bucket(bucket.key, tuple((limit, period - ARRIVAL_ALLOWANCE) for limit, period in bucket.rates))
        for bucket in buckets
    )
    assert _refused_by_posthog(exact, delays, monkeypatch) > 0
