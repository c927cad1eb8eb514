"""One request from first send to final result, as a generator that does no I/O (sans-I/O).

:func:`exchange` yields :class:`Send`, :class:`Sleep`, :class:`Reserve` and :class:`Pause` actions and
receives what each produced. The sync client runs it with a ``requests`` transport, ``time.sleep`` and
the limiter's blocking calls, the async client with aiohttp, ``asyncio.sleep`` and the limiter's
awaitable ones (a shared store is reached over the network): both take the same decisions because the
decisions live here, in :mod:`.retry`, in :mod:`.redirects` (which redirects are followed) and in
:mod:`.deprecation` (PostHog's ``Deprecation``/``Sunset`` headers, logged once per path family).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from airflow_provider.api.deprecation import PROCESS_NOTICES, deprecation_notice
from airflow_provider.api.ratelimit import Bucket, Limiter
from airflow_provider.api.redirects import follow_redirect
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


@dataclass(frozen=True)
class Reserve:
    """Action: reserve a send slot in ``buckets`` with ``limiter``; send back the seconds to wait."""

    limiter: Limiter
    buckets: tuple[Bucket, ...]


@dataclass(frozen=True)
class Pause:
    """Action: pause ``buckets`` for ``seconds`` in ``limiter`` (PostHog answered 429); send back ``None``."""

    limiter: Limiter
    buckets: tuple[Bucket, ...]
    seconds: float


Action = Send | Sleep | Reserve | Pause
Exchange = Generator[Action, Outcome | float | None, Any]


def exchange(request: ApiRequest, policy: RetryPolicy, limiter: Limiter | None) -> Exchange:
    """Drive ``request`` to its decoded JSON result (``None`` for an empty body), retrying per ``policy``.

    Every retry is logged at WARNING with method, path, status (or failure) and wait; never headers.
    A same-origin 307/308 of a request that is safe to re-send is followed (:func:`.follow_redirect`);
    a redirect is not a retry. An answer marked deprecated is logged at WARNING, once per process
    and path family.

    :param request: the request to send.
    :param policy: decides retries and raises the final error.
    :param limiter: reserves send slots under PostHog's rate limits; ``None`` sends at once.
    """
    retries = 0
    waited = 0.0
    answer_lost = False
    redirects = 0
    while True:
        if limiter is not None and request.rate_buckets:
            delay = yield Reserve(limiter, request.rate_buckets)
            assert isinstance(delay, float | int)
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
        assert isinstance(outcome, RawResponse | TransportFailure)
        if isinstance(outcome, RawResponse):
            _warn_if_deprecated(request, outcome)
            redirected = follow_redirect(request, outcome, redirects)
            if redirected is not None:
                redirects += 1
                log.info(
                    "PostHog redirected %s %s to %s (%d); following it on the same host.",
                    request.method,
                    request.path,
                    redirected.path,
                    outcome.status,
                )
                request = redirected
                continue
        result, outcome = _decode(outcome, request)
        pause = _throttled_for(outcome, request, limiter)
        if limiter is not None and pause is not None:
            yield Pause(limiter, request.rate_buckets, pause)
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


def _warn_if_deprecated(request: ApiRequest, response: RawResponse) -> None:
    notice = deprecation_notice(request, response)
    if notice is not None and PROCESS_NOTICES.first(request):
        log.warning("%s", notice)


def _throttled_for(outcome: Outcome, request: ApiRequest, limiter: Limiter | None) -> float | None:
    """Seconds every caller of the request's buckets must pause for: a 429's ``Retry-After``."""
    if limiter is None or not request.rate_buckets:
        return None
    if not isinstance(outcome, RawResponse) or outcome.status != 429:
        return None
    return parse_retry_after(outcome.headers.get("retry-after"))


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
