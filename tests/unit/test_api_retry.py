"""The retry decisions of the client core, as plain data: outcome in, retry / accept / error out."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from airflow_provider.api import endpoints
from airflow_provider.api.call import ApiCall
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import (
    PostHogConnectionError,
    PostHogNotFoundError,
    PostHogRateLimitError,
    PostHogResponseLostError,
    PostHogServerError,
    PostHogValidationError,
)
from airflow_provider.api.exchange import Reserve, Send, Sleep, exchange
from airflow_provider.api.ratelimit import ARRIVAL_ALLOWANCE, RateLimiter
from airflow_provider.api.request import ApiRequest, build_request
from airflow_provider.api.response import (
    FailureKind,
    Outcome,
    RawResponse,
    TransportFailure,
    parse_retry_after,
)
from airflow_provider.api.retry import RetryPolicy, may_have_been_processed

KEY = "phx_demo_all_scopes"
CONFIG = ClientConfig(host="https://us.posthog.com", api_key=KEY, project_id="1", rate_limit=False)


def request(method: str = "GET", idempotent: bool | None = None) -> ApiRequest:
    return build_request(CONFIG, ApiCall(method, "subscriptions", idempotent=idempotent))


def response(status: int, body: bytes = b"{}", **headers: str) -> RawResponse:
    return RawResponse(status, {name.replace("_", "-"): value for name, value in headers.items()}, body)


def no_jitter(upper: float) -> float:
    return upper


POLICY = RetryPolicy(max_retries=3, backoff_base=1.0, max_wait=10.0, max_total_wait=20.0, jitter=no_jitter)

RETRIED = "retry"
ACCEPTED = "accept"

DECISIONS = [
    # method, idempotent flag, outcome, expected: "retry", "accept" or the exception type
    ("GET", None, response(200), ACCEPTED),
    ("GET", None, response(429), RETRIED),
    ("GET", None, response(500), RETRIED),
    ("GET", None, response(502), RETRIED),
    ("GET", None, response(503), RETRIED),
    ("GET", None, response(504), RETRIED),
    ("GET", None, response(400), PostHogValidationError),
    ("GET", None, response(404), Exception),
    ("PATCH", None, response(502), RETRIED),
    ("DELETE", None, response(504), RETRIED),
    ("POST", None, response(201), ACCEPTED),
    ("POST", None, response(429), RETRIED),
    ("POST", None, response(503), RETRIED),
    ("POST", None, response(502), PostHogResponseLostError),
    ("POST", None, response(504), PostHogResponseLostError),
    ("POST", None, response(500), PostHogServerError),
    ("POST", None, response(400), PostHogValidationError),
    ("POST", True, response(502), RETRIED),
    ("POST", True, response(504), RETRIED),
    ("POST", True, response(500), RETRIED),
    ("GET", None, TransportFailure(FailureKind.CONNECT, "refused"), RETRIED),
    ("GET", None, TransportFailure(FailureKind.CONNECT_TIMEOUT, "slow"), RETRIED),
    ("GET", None, TransportFailure(FailureKind.READ_TIMEOUT, "slow"), RETRIED),
    ("GET", None, TransportFailure(FailureKind.DROPPED, "reset"), RETRIED),
    ("GET", None, TransportFailure(FailureKind.TLS, "bad certificate"), PostHogConnectionError),
    ("POST", None, TransportFailure(FailureKind.CONNECT, "refused"), RETRIED),
    ("POST", None, TransportFailure(FailureKind.CONNECT_TIMEOUT, "slow"), RETRIED),
    ("POST", None, TransportFailure(FailureKind.READ_TIMEOUT, "slow"), PostHogResponseLostError),
    ("POST", None, TransportFailure(FailureKind.DROPPED, "reset"), PostHogResponseLostError),
    ("POST", True, TransportFailure(FailureKind.READ_TIMEOUT, "slow"), RETRIED),
]


@pytest.mark.parametrize(("method", "idempotent", "outcome", "expected"), DECISIONS)
def test_retry_decision_per_method_status_and_failure(
    method: str, idempotent: bool | None, outcome: Outcome, expected: Any
) -> None:
    sent = request(method, idempotent)
    if expected == ACCEPTED:
        assert POLICY.decide(sent, outcome, retries=0, waited=0.0) is None
    elif expected == RETRIED:
        assert POLICY.decide(sent, outcome, retries=0, waited=0.0) == 1.0
    else:
        with pytest.raises(expected):
            POLICY.decide(sent, outcome, retries=0, waited=0.0)


DELETE_404 = [
    # method, retries, resent after a lost answer, expected: "accept" or the exception type
    ("DELETE", 0, False, PostHogNotFoundError),
    ("DELETE", 1, False, PostHogNotFoundError),
    ("DELETE", 1, True, ACCEPTED),
    ("DELETE", 3, True, ACCEPTED),
    ("GET", 1, True, PostHogNotFoundError),
    ("PATCH", 1, True, PostHogNotFoundError),
]


@pytest.mark.parametrize(("method", "retries", "resent", "expected"), DELETE_404)
def test_404_is_success_only_for_a_delete_resent_after_its_answer_was_lost(
    method: str, retries: int, resent: bool, expected: Any
) -> None:
    sent = request(method)
    if expected == ACCEPTED:
        assert POLICY.decide(sent, response(404), retries, 0.0, resent_after_lost_answer=resent) is None
    else:
        with pytest.raises(expected):
            POLICY.decide(sent, response(404), retries, 0.0, resent_after_lost_answer=resent)


@pytest.mark.parametrize(
    ("outcome", "maybe_processed"),
    [
        (response(502), True),
        (response(504), True),
        (TransportFailure(FailureKind.READ_TIMEOUT, "slow"), True),
        (TransportFailure(FailureKind.DROPPED, "reset"), True),
        (TransportFailure(FailureKind.UNREADABLE, "<html>"), True),
        (response(429), False),
        (response(503), False),
        (response(500), False),
        (TransportFailure(FailureKind.CONNECT, "refused"), False),
        (TransportFailure(FailureKind.CONNECT_TIMEOUT, "slow"), False),
    ],
)
def test_which_failures_may_have_been_processed(outcome: Outcome, maybe_processed: bool) -> None:
    assert may_have_been_processed(outcome) is maybe_processed


def test_lost_create_error_says_the_object_may_exist_and_how_to_check() -> None:
    with pytest.raises(PostHogResponseLostError) as caught:
        POLICY.decide(request("POST"), response(504), retries=0, waited=0.0)
    message = str(caught.value)
    assert "may have been created" in message
    assert "GET /api/projects/1/subscriptions/" in message
    assert caught.value.status == 504


NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 62 ", 62.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("Thu, 26 Nov 2026 12:00:05 GMT", 5.0),
        ("soon", None),
        ("-3", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parses_seconds_and_http_dates(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_retry_after_is_honored_before_backoff() -> None:
    assert POLICY.decide(request(), response(429, retry_after="7"), retries=2, waited=0.0) == 7.0
    assert POLICY.decide(request(), response(503, retry_after="1"), retries=0, waited=0.0) == 1.0


def test_retry_after_longer_than_the_cap_is_not_waited_for() -> None:
    with pytest.raises(PostHogRateLimitError) as caught:
        POLICY.decide(request(), response(429, retry_after="3600"), retries=0, waited=0.0)
    assert caught.value.retry_after == 3600.0
    assert "3600 s" in str(caught.value)


def test_backoff_doubles_up_to_the_cap_with_full_jitter() -> None:
    waits = [POLICY.backoff(retries, None) for retries in range(6)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    ceilings: list[float] = []
    jittered = RetryPolicy(max_wait=10.0, jitter=lambda upper: ceilings.append(upper) or upper / 2)
    assert jittered.backoff(5, None) == 5.0
    assert ceilings == [10.0]


def test_full_jitter_stays_within_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(max_wait=8.0)
    waits = [policy.backoff(3, None) for _ in range(200)]
    assert all(0.0 <= wait <= 8.0 for wait in waits)
    assert len(set(waits)) > 1


def test_retries_stop_at_max_retries() -> None:
    assert POLICY.decide(request(), response(503), retries=2, waited=0.0) == 4.0
    with pytest.raises(PostHogServerError) as caught:
        POLICY.decide(request(), response(503), retries=3, waited=0.0)
    assert "Gave up after 3 retries" in str(caught.value)


def test_total_wait_is_bounded() -> None:
    assert POLICY.decide(request(), response(500), retries=2, waited=16.0) == 4.0
    with pytest.raises(PostHogServerError):
        POLICY.decide(request(), response(500), retries=2, waited=16.5)


def test_connection_failures_give_up_with_a_connection_error() -> None:
    with pytest.raises(PostHogConnectionError, match="gave up after 3 retries"):
        POLICY.decide(request(), TransportFailure(FailureKind.CONNECT, "refused"), retries=3, waited=0.0)


def drive(
    sent: ApiRequest, outcomes: Iterable[Outcome], policy: RetryPolicy = POLICY
) -> tuple[Any, list[float]]:
    """Run the sans-I/O exchange against a list of outcomes; return its result and the sleeps it asked for."""
    pending = iter(outcomes)
    sleeps: list[float] = []
    steps = exchange(sent, policy, None)
    action = next(steps)
    try:
        while True:
            if isinstance(action, Send):
                action = steps.send(next(pending))
            else:
                assert isinstance(action, Sleep)
                sleeps.append(action.seconds)
                action = steps.send(None)
    except StopIteration as done:
        return done.value, sleeps


def test_exchange_retries_then_returns_the_decoded_body() -> None:
    outcomes = [response(429, retry_after="2"), response(502), response(200, b'{"id": 5}')]
    result, sleeps = drive(request(), outcomes)
    assert result == {"id": 5}
    assert sleeps == [2.0, 2.0]


def test_exchange_logs_each_retry_at_warning_without_headers_or_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider.api")
    drive(request(), [response(503, retry_after="1"), response(200)])
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert "GET /api/projects/1/subscriptions/" in text
    assert "status 503" in text
    assert "1.0 s" in text
    assert KEY not in text
    assert "Bearer" not in text


def delete_request() -> ApiRequest:
    return build_request(CONFIG, ApiCall("DELETE", "user_interviews/0192f3a0-aaaa-7bbb-8ccc-000000000001"))


@pytest.mark.parametrize(
    "lost", [response(502), response(504), TransportFailure(FailureKind.READ_TIMEOUT, "slow")]
)
def test_exchange_accepts_404_when_a_delete_resent_after_a_lost_answer_finds_it_gone(
    lost: Outcome, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider.api")
    result, sleeps = drive(delete_request(), [lost, response(404, b'{"type": "invalid_request"}')])
    assert result is None
    assert sleeps == [1.0]
    assert "earlier attempt, whose answer was lost, had already deleted it" in caplog.text


def test_exchange_remembers_a_lost_answer_across_later_refusals() -> None:
    result, sleeps = drive(delete_request(), [response(502), response(503), response(404)])
    assert result is None
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    "outcomes",
    [
        [response(404)],
        [response(503), response(404)],
        [TransportFailure(FailureKind.CONNECT, "refused"), response(404)],
        [response(429, retry_after="0"), response(404)],
    ],
)
def test_exchange_raises_not_found_for_a_delete_that_was_never_processed_before(
    outcomes: list[Outcome],
) -> None:
    with pytest.raises(PostHogNotFoundError):
        drive(delete_request(), outcomes)


def test_exchange_returns_none_for_an_empty_success_body() -> None:
    result, _ = drive(request("POST"), [response(200, b"")])
    assert result is None


def test_unreadable_success_body_is_retried_for_reads_and_reported_lost_for_creates() -> None:
    result, sleeps = drive(request(), [response(200, b'{"trunc'), response(200, b"[1]")])
    assert result == [1]
    assert sleeps == [1.0]
    with pytest.raises(PostHogResponseLostError, match="not JSON"):
        drive(request("POST"), [response(201, b"<html>")])


@pytest.mark.parametrize(
    ("kind", "advice"),
    [
        (FailureKind.CONNECT, "reachable"),
        (FailureKind.READ_TIMEOUT, "'timeout' extra"),
        (FailureKind.UNREADABLE, "incomplete answer"),
        (FailureKind.TLS, "'verify' extra"),
    ],
)
def test_connection_errors_say_what_to_check(kind: FailureKind, advice: str) -> None:
    with pytest.raises(PostHogConnectionError, match=advice):
        POLICY.decide(request(), TransportFailure(kind, "detail"), retries=3, waited=0.0)


def test_exchange_waits_for_the_rate_limiter_before_sending() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    config = ClientConfig(host="https://us.posthog.com", api_key=KEY, project_id="1")
    sent = build_request(config, endpoints.run_saved_query("0192f3a0-aaaa-7bbb-8ccc-000000000001"))
    for _ in range(10):
        assert limiter.reserve(sent.rate_buckets) == 0.0
    steps = exchange(sent, POLICY, limiter)
    reserve = next(steps)
    assert reserve == Reserve(limiter, sent.rate_buckets)
    assert steps.send(limiter.reserve(reserve.buckets)) == Sleep(60.0 + ARRIVAL_ALLOWANCE)
    assert isinstance(steps.send(None), Send)
