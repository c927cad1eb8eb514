"""Throttling: PostHog's scopes per key and per view, sliding windows, 429 with Retry-After (5, 9.4)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from emulator_http import api, envelope, session


def statuses(emulator: Any, path: str, count: int, key: str | None = None, method: str = "GET") -> list[int]:
    http = session(emulator, key)
    return [http.request(method, api(emulator, path)).status_code for _ in range(count)]


def test_burst_limit_answers_429_throttled_with_retry_after(emulator: Any) -> None:
    emulator.configure(throttle_rates={"burst": "3/minute"})
    assert statuses(emulator, "subscriptions/", 3) == [200, 200, 200]
    response = session(emulator).get(api(emulator, "subscriptions/"))
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 58 <= retry_after <= 60
    assert response.json() == envelope(
        "throttled_error", "throttled", f"Request was throttled. Expected available in {retry_after} seconds."
    )


def test_each_key_has_its_own_bucket(emulator: Any) -> None:
    emulator.configure(throttle_rates={"burst": "2/minute"})
    assert statuses(emulator, "subscriptions/", 3) == [200, 200, 429]
    assert statuses(emulator, "subscriptions/", 1, key=emulator.read_only_key) == [200]


def test_sustained_limit_applies_alongside_burst(emulator: Any) -> None:
    emulator.configure(throttle_rates={"sustained": "2/hour"})
    codes = statuses(emulator, "subscriptions/", 3)
    assert codes == [200, 200, 429]
    assert int(session(emulator).get(api(emulator, "subscriptions/")).headers["Retry-After"]) > 3500


def test_clickhouse_endpoints_use_their_own_scopes(emulator: Any) -> None:
    emulator.configure(throttle_rates={"clickhouse_burst": "2/minute"})
    assert statuses(emulator, "sessions/property_definitions/", 3) == [200, 200, 429]
    assert statuses(emulator, "session_recordings/", 1) == [429]
    assert statuses(emulator, "subscriptions/", 1) == [200]


def test_window_slides_so_requests_are_allowed_again(emulator: Any) -> None:
    emulator.configure(throttle_rates={"burst": "2/second"})
    assert statuses(emulator, "subscriptions/", 3) == [200, 200, 429]
    time.sleep(1.05)
    assert statuses(emulator, "subscriptions/", 1) == [200]


def test_saved_query_run_is_limited_per_view_not_per_key(emulator: Any) -> None:
    # Each run ends at once, so the next run of the view starts a job instead of joining the running one.
    emulator.configure(throttle_rates={"saved_query": "2/minute"}, job_run_seconds=0)
    http = session(emulator)
    first, second = [
        item["id"] for item in http.get(api(emulator, "warehouse_saved_queries/")).json()["results"]
    ]
    assert statuses(emulator, f"warehouse_saved_queries/{first}/run/", 3, method="POST") == [200, 200, 429]
    assert statuses(emulator, f"warehouse_saved_queries/{second}/run/", 1, method="POST") == [200]
    assert emulator.counts()["data_modeling_jobs"] == 3


def test_materialization_is_limited_per_view(emulator: Any) -> None:
    emulator.configure(throttle_rates={"materialization": "1/hour"})
    saved_query_id = (
        session(emulator).get(api(emulator, "warehouse_saved_queries/")).json()["results"][0]["id"]
    )
    codes = [
        session(emulator)
        .post(api(emulator, f"warehouse_saved_queries/{saved_query_id}/{action}/"))
        .status_code
        for action in ("materialize", "revert_materialization")
    ]
    assert codes == [200, 429]


def test_throttle_can_be_switched_off(emulator: Any) -> None:
    emulator.configure(throttle=False, throttle_rates={"burst": "1/minute"})
    assert statuses(emulator, "subscriptions/", 3) == [200, 200, 200]


def test_bad_throttle_rate_is_refused_naming_the_scope(emulator: Any) -> None:
    with pytest.raises(ValueError, match="throttle rate for 'burst'"):
        emulator.configure(throttle_rates={"burst": "lots"})
    with pytest.raises(ValueError, match="unknown scope 'bursty'"):
        emulator.configure(throttle_rates={"bursty": "1/minute"})


def test_time_scale_makes_a_minute_pass_faster(emulator: Any) -> None:
    emulator.configure(throttle_rates={"burst": "3/minute"}, time_scale=60)  # a minute lasts 1 s
    assert statuses(emulator, "subscriptions/", 4) == [200, 200, 200, 429]
    time.sleep(1.05)
    assert statuses(emulator, "subscriptions/", 1) == [200]
    with pytest.raises(ValueError, match="time_scale must be above 0"):
        emulator.configure(time_scale=0)
