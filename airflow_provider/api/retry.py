"""The one retry policy: which outcomes are retried, how long to wait, and when to give up.

Retried: connection failures, timeouts, 429, 500, 502, 503 and 504 for requests that are safe to
re-send. 429 and 503 are retried for every request, because PostHog refused them before doing
anything. A request that creates something is never re-sent after its answer was lost (read
timeout, dropped connection, 502/504, unreadable success body): that raises
:class:`PostHogResponseLostError`. ``Retry-After`` is honoured first; otherwise the wait is
exponential backoff with full jitter. Each wait is capped and the waits of one request have a total
budget. A DELETE re-sent after its earlier answer was lost and now answered 404 succeeds: the earlier
attempt deleted the object.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_provider.api.connection_fields import DEFAULT_MAX_RETRIES
from airflow_provider.api.errors import PostHogConnectionError, PostHogResponseLostError
from airflow_provider.api.request import ApiRequest
from airflow_provider.api.response import (
    FailureKind,
    Outcome,
    RawResponse,
    TransportFailure,
    error_from_response,
    parse_retry_after,
)

log = logging.getLogger(__name__)

REFUSED_BEFORE_PROCESSING = frozenset({429, 503})
RETRYABLE_IF_IDEMPOTENT = frozenset({500, 502, 504})
ANSWER_MAYBE_LOST = frozenset({502, 504})
FAILURE_ADVICE = {
    FailureKind.CONNECT: "Check the host and that it is reachable from here.",
    FailureKind.CONNECT_TIMEOUT: "Check the host and that it is reachable from here.",
    FailureKind.READ_TIMEOUT: "PostHog did not answer in time: retry later, or raise the connection's "
    "'timeout' extra for slow endpoints.",
    FailureKind.DROPPED: "The connection closed before an answer: retry later.",
    FailureKind.UNREADABLE: "PostHog, or a proxy in front of it, sent an incomplete answer: retry later.",
    FailureKind.TLS: "Check the host, or the connection's 'verify' extra (true, false, or the path of a CA "
    "bundle for a private certificate authority).",
}


def full_jitter(upper: float) -> float:
    """A uniformly random wait in ``[0, upper]`` (AWS's "full jitter").

    :param upper: the backoff ceiling for this attempt.
    """
    return random.uniform(0.0, upper)


def may_have_been_processed(outcome: Outcome) -> bool:
    """True when PostHog may have carried out the request although its answer was lost.

    :param outcome: a failed attempt's answer or failure.
    """
    if isinstance(outcome, RawResponse):
        return outcome.status in ANSWER_MAYBE_LOST
    return outcome.kind.request_was_sent


@dataclass(frozen=True)
class RetryPolicy:
    """Decides, for each outcome of a request, whether to accept it, retry it, or raise.

    :param max_retries: retries after the first attempt.
    :param backoff_base: ceiling of the first backoff wait in seconds; doubles each retry.
    :param max_wait: cap of any single wait; a ``Retry-After`` longer than this is not waited for.
    :param max_total_wait: budget of all waits of one request.
    :param jitter: picks the actual wait below a backoff ceiling (injectable for tests).
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = 1.0
    max_wait: float = 120.0
    max_total_wait: float = 300.0
    jitter: Callable[[float], float] = field(default=full_jitter, compare=False)

    def decide(
        self,
        request: ApiRequest,
        outcome: Outcome,
        retries: int,
        waited: float,
        *,
        resent_after_lost_answer: bool = False,
    ) -> float | None:
        """Return ``None`` to accept the answer, or the seconds to wait before retrying.

        Accepted are success answers, and a 404 answering a DELETE that is a re-send after an earlier
        attempt's answer was lost: that attempt deleted the object.

        :param request: the request that was sent.
        :param outcome: its answer or failure.
        :param retries: retries already made for this request.
        :param waited: seconds already spent waiting between its attempts.
        :param resent_after_lost_answer: an earlier attempt of this request may have been processed
            (see :func:`may_have_been_processed`), so this attempt is a re-send.
        :raises PostHogAPIError: an error answer that is not retried (or no retries are left).
        :raises PostHogResponseLostError: a create's answer was lost; it must not be re-sent.
        :raises PostHogConnectionError: a failure that is not retried (or no retries are left).
        """
        if isinstance(outcome, RawResponse):
            return self._decide_response(request, outcome, retries, waited, resent_after_lost_answer)
        return self._decide_failure(request, outcome, retries, waited)

    def backoff(self, retries: int, retry_after: float | None) -> float | None:
        """The wait before retry number ``retries + 1``, or ``None`` if ``Retry-After`` exceeds the cap.

        :param retries: retries already made.
        :param retry_after: the server's ``Retry-After`` in seconds, if any.
        """
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        return min(self.max_wait, self.jitter(min(self.max_wait, self.backoff_base * 2**retries)))

    def _decide_response(
        self, request: ApiRequest, response: RawResponse, retries: int, waited: float, resent: bool
    ) -> float | None:
        status = response.status
        if 200 <= status < 300:
            return None
        if status == 404 and request.method == "DELETE" and resent:
            log.warning(
                "PostHog DELETE %s: 404 on retry %d; the earlier attempt, whose answer was lost, had "
                "already deleted it.",
                request.path,
                retries,
            )
            return None
        if status in RETRYABLE_IF_IDEMPOTENT and not request.idempotent:
            if status in ANSWER_MAYBE_LOST:
                raise PostHogResponseLostError(
                    request.method, request.path, f"PostHog answered {status}", status
                )
            raise error_from_response(request, response, retries=retries)
        if status in REFUSED_BEFORE_PROCESSING or status in RETRYABLE_IF_IDEMPOTENT:
            wait = self._next_wait(retries, waited, parse_retry_after(response.headers.get("retry-after")))
            if wait is not None:
                return wait
        raise error_from_response(request, response, retries=retries)

    def _decide_failure(
        self, request: ApiRequest, failure: TransportFailure, retries: int, waited: float
    ) -> float:
        where = f"{request.method} {request.path}"
        if failure.kind is FailureKind.TLS:
            raise PostHogConnectionError(
                f"{where}: {failure.kind.value} ({failure.detail}). {FAILURE_ADVICE[failure.kind]}"
            )
        if failure.kind.request_was_sent and not request.idempotent:
            raise PostHogResponseLostError(
                request.method, request.path, f"{failure.kind.value} ({failure.detail})"
            )
        wait = self._next_wait(retries, waited, None)
        if wait is None:
            raise PostHogConnectionError(
                f"{where}: {failure.kind.value} ({failure.detail}); gave up after {retries} "
                f"{'retry' if retries == 1 else 'retries'}. {FAILURE_ADVICE[failure.kind]}"
            )
        return wait

    def _next_wait(self, retries: int, waited: float, retry_after: float | None) -> float | None:
        if retries >= self.max_retries:
            return None
        wait = self.backoff(retries, retry_after)
        if wait is None or waited + wait > self.max_total_wait:
            return None
        return wait
