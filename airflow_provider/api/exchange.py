"""One request from first send to final result, as a generator that does no I/O (sans-I/O).

:func:`exchange` yields :class:`Send` and :class:`Sleep` actions and receives what the send
produced. The sync client runs it with a ``requests`` transport and ``time.sleep``, the async
client with aiohttp and ``asyncio.sleep``: both take the same decisions because the decisions live
here and in :mod:`.retry`.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from airflow_provider.api.ratelimit import RateLimiter
from airflow_provider.api.request import ApiRequest
from airflow_provider.api.response import (
    FailureKind,
    NotJSONError,
    Outcome,
    RawResponse,
    TransportFailure,
    decode_json,
    parse_retry_after,
    redact,
)
from airflow_provider.api.retry import RetryPolicy, may_have_been_processed

log = logging.getLogger(__name__)

_LOG_LIMITER_WAITS_FROM = 1.0


@dataclass(frozen=True)
class Send:
    """Action: send this request and send back its :data:`Outcome`."""

    request: ApiRequest


@dataclass(frozen=True)
class Sleep:
    """Action: wait this many seconds, then send back ``None``."""

    seconds: float


Action = Send | Sleep
Exchange = Generator[Action, Outcome | None, Any]


def exchange(request: ApiRequest, policy: RetryPolicy, limiter: RateLimiter | None) -> Exchange:
    """Drive ``request`` to its decoded JSON result (``None`` for an empty body), retrying per ``policy``.

    Every retry is logged at WARNING with method, path, status (or failure) and wait; never headers.

    :param request: the request to send.
    :param policy: decides retries and raises the final error.
    :param limiter: reserves send slots under PostHog's rate limits; ``None`` sends at once.
    """
    retries = 0
    waited = 0.0
    answer_lost = False
    while True:
        if limiter is not None and request.rate_buckets:
            delay = limiter.reserve(request.rate_buckets)
            if delay > 0:
                if delay >= _LOG_LIMITER_WAITS_FROM:
                    log.warning(
                        "Waiting %.1f s before %s %s to stay under PostHog's rate limits for this key.",
                        delay,
                        request.method,
                        request.path,
                    )
                yield Sleep(delay)
        outcome = yield Send(request)
        assert outcome is not None
        result, outcome = _decode(outcome, request)
        _share_throttling(outcome, request, limiter)
        wait = policy.decide(request, outcome, retries, waited, resent_after_lost_answer=answer_lost)
        if wait is None:
            return result
        retries += 1
        waited += wait
        answer_lost = answer_lost or may_have_been_processed(outcome)
        log.warning(
            "PostHog %s %s: %s; retry %d of %d in %.1f s.",
            request.method,
            request.path,
            _describe(outcome),
            retries,
            policy.max_retries,
            wait,
        )
        yield Sleep(wait)


def _share_throttling(outcome: Outcome, request: ApiRequest, limiter: RateLimiter | None) -> None:
    """A 429 with ``Retry-After`` holds the request's buckets for every caller sharing ``limiter``."""
    if limiter is None or not isinstance(outcome, RawResponse) or outcome.status != 429:
        return
    retry_after = parse_retry_after(outcome.headers.get("retry-after"))
    if retry_after is not None and request.rate_buckets:
        limiter.hold(request.rate_buckets, retry_after)


def _decode(outcome: Outcome, request: ApiRequest) -> tuple[Any, Outcome]:
    # A success answer whose body cannot be read counts as a lost answer: the server did the work.
    if isinstance(outcome, RawResponse) and 200 <= outcome.status < 300:
        try:
            return decode_json(outcome), outcome
        except NotJSONError as exc:
            return None, TransportFailure(FailureKind.UNREADABLE, redact(str(exc), request))
    return None, outcome


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, RawResponse):
        return f"status {outcome.status}"
    return outcome.kind.value
