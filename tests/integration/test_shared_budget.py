"""The deployment-wide rate budget in a real Redis: processes share one budget, a 429 pauses them all,
and an unreachable store falls back to the process's own limiter, logged once."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from services import RedisServer

from airflow_provider.api.config import ClientConfig
from airflow_provider.api.ratelimit import ARRIVAL_ALLOWANCE, Bucket, RateLimiter
from airflow_provider.api.shared_budget import StoreRateLimiter, redacted

WORKER = Path(__file__).with_name("shared_budget_worker.py")
LIMIT, PERIOD = 5, 2.0


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_two_processes_on_one_store_never_exceed_the_bucket(redis_url: str, tmp_path: Path) -> None:
    outputs = [tmp_path / "a.json", tmp_path / "b.json"]
    workers = [subprocess.Popen([sys.executable, str(WORKER), redis_url, "8", str(out)]) for out in outputs]
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    sent = sorted(t for out in outputs for t in json.loads(out.read_text()))
    assert len(sent) == 16
    # In every window of PERIOD seconds, at most LIMIT sends from both processes together, less a margin
    # for the gap between the store's grant and the moment each process woke up: 0.25 s, since on a
    # busy machine (two matrix cells at once) a wake-up can be that late. Two processes that did not
    # share the budget would send 10 at once, so the margin hides no real excess.
    for index, moment in enumerate(sent):
        in_window = [t for t in sent[index:] if t < moment + PERIOD - 0.25]
        assert len(in_window) <= LIMIT, (index, in_window)
    # Each alone would have sent its 8 in about 2 s; together they took about 3 periods.
    assert sent[-1] - sent[0] >= 2 * PERIOD


async def test_a_429_in_one_process_pauses_the_bucket_for_every_process(redis_url: str) -> None:
    bucket = Bucket(("fingerprint", "https://eu.posthog.com", "default"), ((480, 60.0),))
    one, other = StoreRateLimiter(redis_url, RateLimiter()), StoreRateLimiter(redis_url, RateLimiter())
    await one.apause([bucket], 1.5)
    assert 1.3 < other.reserve([bucket]) <= 1.5  # the other process learns of it from the store
    assert 1.3 < await other.areserve([bucket]) <= 1.6


def test_an_unreachable_store_falls_back_to_the_process_limiter_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider.api.shared_budget")
    fallback = RateLimiter()
    limiter = StoreRateLimiter("redis://:s3cret-password@127.0.0.1:1/0", fallback)
    bucket = Bucket(("fingerprint", "h", "default"), ((2, 60.0),))
    delays = [limiter.reserve([bucket]) for _ in range(3)]
    assert delays[:2] == [0.0, 0.0] and delays[2] > 50  # the process's own budget still holds
    warnings = [r.getMessage() for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert len(warnings) == 1
    assert "s3cret-password" not in caplog.text and "***" in warnings[0]


def test_the_connection_extras_choose_and_size_the_budget() -> None:
    config = ClientConfig.from_connection_fields(
        host="https://us.posthog.com",
        api_key="phx_key",
        extra={"rate_limit_store": "redis://:pw@redis:6379/0", "rate_limit_share": "0.25"},
    )
    assert config.rate_limit_store == "redis://:pw@redis:6379/0"
    assert config.rate_limit_share == 0.25
    assert "pw@" not in repr(config)
    assert redacted("redis://:pw@redis:6379/0") == "redis://:***@redis:6379/0"
    from airflow_provider.api.endpoints import subscriptions
    from airflow_provider.api.request import build_request

    def limits(**extra: Any) -> tuple[tuple[int, float], ...]:
        shared = ClientConfig.from_connection_fields(
            host="https://us.posthog.com", api_key="phx_key", extra={"project_id": "1", **extra}
        )
        (bucket,) = build_request(shared, subscriptions({})).rate_buckets
        return tuple((limit, round(period - ARRIVAL_ALLOWANCE, 6)) for limit, period in bucket.rates)

    assert limits() == ((480, 60.0), (4800, 3600.0))
    assert limits(rate_limit_share=0.25) == ((120, 60.0), (1200, 3600.0))
    # With a store the whole budget is shared: the share does not apply.
    assert limits(rate_limit_share=0.25, rate_limit_store="redis://redis") == ((480, 60.0), (4800, 3600.0))
    for bad in ("0", "1.5", "many", True):
        with pytest.raises(
            ValueError, match=r"^extra 'rate_limit_share' must be a fraction above 0 .*; got "
        ):
            ClientConfig.from_connection_fields(host=None, api_key="phx", extra={"rate_limit_share": bad})
    with pytest.raises(
        ValueError, match=r"^extra 'rate_limit_store' must be a Redis URL .*; got a URL with scheme 'http'\.$"
    ):
        ClientConfig.from_connection_fields(host=None, api_key="phx", extra={"rate_limit_store": "http://x"})


def test_sends_go_out_at_the_reserved_times(redis_url: str) -> None:
    bucket = Bucket(("fingerprint", "https://self.hosted", "default"), ((3, 1.0),))
    limiter = StoreRateLimiter(redis_url, RateLimiter())
    started = time.monotonic()
    for _ in range(6):
        time.sleep(limiter.reserve([bucket]))
    assert 0.95 <= time.monotonic() - started < 1.6  # the 4th to 6th waited one period, not more
