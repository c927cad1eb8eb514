"""Fault injection: status, delay, drop, malformed body and "processed, then the answer was lost"."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from emulator_http import api, envelope, session
from helpers import wait_until

SUBSCRIPTION = {
    "insight": 101,
    "target_type": "email",
    "target_value": "a@example.com",
    "frequency": "weekly",
    "interval": 1,
    "start_date": "2025-06-02T09:00:00Z",
}


def test_status_fault_answers_once_with_retry_after_then_normal_service(emulator: Any) -> None:
    emulator.add_fault(method="GET", path=r"/subscriptions/?$", kind="status", status=429, retry_after=7)
    http = session(emulator)
    first = http.get(api(emulator, "subscriptions/"))
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    assert first.json() == envelope(
        "throttled_error", "throttled", "Request was throttled. Expected available in 7 seconds."
    )
    assert http.get(api(emulator, "subscriptions/")).status_code == 200
    assert [entry["fault"] for entry in emulator.requests(path="subscriptions")] == ["status", None]


def test_status_fault_for_gateway_errors_is_an_html_page(emulator: Any) -> None:
    emulator.add_fault(method=None, path="subscriptions", kind="status", status=502, times=2)
    http = session(emulator)
    responses = [http.get(api(emulator, "subscriptions/")) for _ in range(3)]
    assert [response.status_code for response in responses] == [502, 502, 200]
    assert "502 Bad Gateway" in responses[0].text


def test_status_fault_does_not_process_the_request(emulator: Any) -> None:
    emulator.add_fault(method="POST", path="subscriptions", kind="status", status=503)
    response = session(emulator).post(api(emulator, "subscriptions/"), json=SUBSCRIPTION)
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert emulator.counts()["subscriptions"] == 0


def test_delay_fault_waits_then_processes(emulator: Any) -> None:
    emulator.add_fault(method="GET", path="subscriptions", kind="delay", delay=0.3)
    started = time.monotonic()
    response = session(emulator).get(api(emulator, "subscriptions/"))
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_delay_fault_lets_a_client_read_timeout_fire(emulator: Any) -> None:
    emulator.add_fault(method="GET", path="subscriptions", kind="delay", delay=0.5)
    with pytest.raises(requests.ReadTimeout):
        session(emulator).get(api(emulator, "subscriptions/"), timeout=0.1)
    # The emulator logs the request when its delayed answer is done: wait for it, so it cannot land
    # in the next test's request log after that test's reset.
    wait_until(lambda: emulator.requests(method="GET"), what="the delayed request to finish")


def test_drop_fault_closes_the_connection_without_an_answer(emulator: Any) -> None:
    emulator.add_fault(method="POST", path="subscriptions", kind="drop")
    http = session(emulator)
    with pytest.raises(requests.ConnectionError):
        http.post(api(emulator, "subscriptions/"), json=SUBSCRIPTION)
    assert emulator.counts()["subscriptions"] == 0
    assert emulator.requests(method="POST")[0]["status"] is None
    assert http.get(api(emulator, "subscriptions/")).status_code == 200


def test_malformed_fault_answers_200_with_a_body_that_is_not_json(emulator: Any) -> None:
    emulator.add_fault(method="GET", path="subscriptions", kind="malformed")
    response = session(emulator).get(api(emulator, "subscriptions/"))
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_after_processing_fault_creates_the_object_but_answers_502(emulator: Any) -> None:
    emulator.add_fault(method="POST", path=r"/subscriptions/?$", kind="after_processing", status=502)
    http = session(emulator)
    response = http.post(api(emulator, "subscriptions/"), json=SUBSCRIPTION)
    assert response.status_code == 502
    assert emulator.counts()["subscriptions"] == 1
    assert http.get(api(emulator, "subscriptions/1/")).json()["target_value"] == "a@example.com"


def test_after_processing_fault_without_status_drops_after_creating(emulator: Any) -> None:
    emulator.add_fault(method="POST", path=r"/subscriptions/?$", kind="after_processing", status=None)
    with pytest.raises(requests.ConnectionError):
        session(emulator).post(api(emulator, "subscriptions/"), json=SUBSCRIPTION)
    assert emulator.counts()["subscriptions"] == 1
    assert emulator.requests(method="POST")[0]["fault"] == "after_processing"


def test_fault_matches_only_its_method(emulator: Any) -> None:
    emulator.add_fault(method="POST", path="subscriptions", kind="status", status=500)
    http = session(emulator)
    assert http.get(api(emulator, "subscriptions/")).status_code == 200
    response = http.post(api(emulator, "subscriptions/"), json=SUBSCRIPTION)
    assert response.status_code == 500
    assert response.json() == envelope("server_error", "error", "A server error occurred.")


def test_bad_fault_is_refused_with_a_clear_error(emulator: Any) -> None:
    with pytest.raises(ValueError, match="fault kind must be one of"):
        emulator.add_fault(kind="explode")
    with pytest.raises(ValueError, match="needs status between 100 and 599"):
        emulator.add_fault(kind="status", status=None)


def test_reset_clears_faults_log_and_objects(emulator: Any) -> None:
    emulator.add_fault(method="GET", path="subscriptions", kind="status", status=500, times=None)
    session(emulator).post(api(emulator, "subscriptions/"), json=SUBSCRIPTION)
    emulator.reset()
    assert emulator.faults() == []
    assert emulator.requests() == []
    assert emulator.counts()["subscriptions"] == 0
    assert session(emulator).get(api(emulator, "subscriptions/")).status_code == 200


def test_a_402_can_be_injected_in_posthogs_shape(emulator: Any) -> None:
    emulator.add_fault(method="POST", path="session_summaries", kind="status", status=402)
    response = session(emulator).post(
        api(emulator, "session_summaries/create_session_summaries_individually/"), json={"session_ids": ["a"]}
    )
    assert response.status_code == 402
    assert response.json() == envelope(
        "server_error", "quota_limit_exceeded", "Your organization has exceeded its quota for this feature."
    )
