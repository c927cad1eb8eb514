"""A client-side limiter that keeps one process under PostHog's per-key rate limits.

PostHog counts requests per personal API key in sliding windows (``docs/posthog-api.md`` §5); the
numbers live in :mod:`airflow_provider.api.limits`. The limiter hands out send times: a caller asks
for a slot, gets the seconds to wait, and sleeps that long (``time.sleep`` on a worker,
``asyncio.sleep`` in the triggerer). Reservations are made under a short lock and never block, so
one limiter serves threads and event loops alike. A 429 with ``Retry-After`` pauses its buckets for every
caller of the process (:meth:`RateLimiter.pause`). It is per process: see ``docs/connection.md`` for
sharing a key between processes.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from airflow_provider.api.call import Rates, Throttle


@dataclass(frozen=True)
class Bucket:
    """One throttle PostHog applies: the requests it counts and its (limit, period) pairs.

    :param key: identifies the counted requests (key fingerprint, host, throttle scope, object).
    :param rates: ``(requests, seconds)`` pairs that must all hold.
    """

    key: tuple[str, ...]
    rates: Rates

    def scaled(self, time_scale: float) -> Bucket:
        """This bucket with PostHog's part of each window passing ``time_scale`` times faster.

        For tests and benchmarks against an emulator started with ``--time-scale``. The arrival
        allowance stands for real send delays, so it is not scaled.

        :param time_scale: how many times faster; 1 is PostHog's real time.
        """
        if time_scale == 1.0:
            return self
        return Bucket(
            self.key,
            tuple(
                (limit, (period - ARRIVAL_ALLOWANCE) / time_scale + ARRIVAL_ALLOWANCE)
                for limit, period in self.rates
            ),
        )


#: Seconds a request may reach PostHog later than the slot it was given (event-loop lag in a busy
#: triggerer, a queue for a pooled connection, the network). Every window is kept this much longer than
#: PostHog's, so that a request sent late never lands in the same PostHog window as one sent on time a
#: window later (PostHog would count both and answer 429). Measured in ``docs/benchmarks.md``.
ARRIVAL_ALLOWANCE = 1.0


def buckets_for(
    throttle: Throttle, key_fingerprint: str, host: str, project_id: str, share: float = 1.0
) -> tuple[Bucket, ...]:
    """Return the buckets that count a request under ``throttle`` (the endpoint's declared throttle).

    The buckets do not depend on the path prefix, so ``/api/projects/:id/`` and
    ``/api/environments/:id/`` (the ``api_prefix`` extra, or a redirect from one to the other) count
    against the same buckets, as PostHog serves both through the same views and throttles.

    :param throttle: the endpoint's throttle (scope, rates, whether per project or per object).
    :param key_fingerprint: identifies the personal API key without revealing it.
    :param host: the PostHog base URL (limits are per deployment).
    :param project_id: the project the request goes to.
    :param share: the fraction of each limit this process keeps to (at least one request per period).
    :returns: the buckets, each period lengthened by :data:`ARRIVAL_ALLOWANCE`.
    """
    key: tuple[str, ...] = (key_fingerprint, host, throttle.scope)
    if throttle.per_project:
        key += (project_id,)
    if throttle.object_id is not None:
        key += (throttle.object_id,)
    rates = tuple(
        (max(1, int(limit * share)), period + ARRIVAL_ALLOWANCE) for limit, period in throttle.rates
    )
    return (Bucket(key, rates),)


class Limiter(Protocol):
    """What a client needs of a rate limiter: this process's own, or a deployment-wide shared store."""

    def reserve(self, buckets: Sequence[Bucket]) -> float:
        """Reserve the earliest slot all ``buckets`` allow; the seconds to wait for it."""

    async def areserve(self, buckets: Sequence[Bucket]) -> float:
        """:meth:`reserve` for the triggerer's event loop."""

    def pause(self, buckets: Sequence[Bucket], seconds: float) -> None:
        """Send nothing in ``buckets`` for ``seconds`` (PostHog answered 429 with ``Retry-After``)."""

    async def apause(self, buckets: Sequence[Bucket], seconds: float) -> None:
        """:meth:`pause` for the triggerer's event loop."""


class RateLimiter:
    """Sliding-window request scheduler shared by every client of a process.

    :param clock: monotonic seconds; injectable for tests.
    :param time_scale: how many times faster PostHog's windows pass (see :meth:`Bucket.scaled`): 1
        against PostHog; tests against an emulator started with ``--time-scale`` install a limiter
        with the same number (:func:`install_process_limiter`).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be above 0, got {time_scale!r}")
        self.time_scale = time_scale
        self._clock = clock
        self._lock = threading.Lock()
        self._history: dict[tuple[str, ...], list[float]] = {}
        self._paused_until: dict[tuple[str, ...], float] = {}

    def reserve(self, buckets: Sequence[Bucket]) -> float:
        """Reserve the earliest send time all ``buckets`` allow; return the seconds to wait for it.

        :param buckets: the throttles that count this request.
        """
        buckets = [bucket.scaled(self.time_scale) for bucket in buckets]
        with self._lock:
            now = self._clock()
            send_at = max([now, *(self._paused_until.get(bucket.key, now) for bucket in buckets)])
            moved = True
            while moved:
                moved = False
                for bucket in buckets:
                    history = self._history.setdefault(bucket.key, [])
                    earliest = _earliest_slot(history, bucket.rates, send_at)
                    if earliest > send_at:
                        send_at, moved = earliest, True
            for bucket in buckets:
                history = self._history[bucket.key]
                longest = max(period for _, period in bucket.rates)
                del history[: bisect_right(history, now - longest)]
                history.append(send_at)
            return send_at - now

    async def areserve(self, buckets: Sequence[Bucket]) -> float:
        """:meth:`reserve`, which never blocks (its lock is held for microseconds).

        :param buckets: the throttles that count this request.
        """
        return self.reserve(buckets)

    async def apause(self, buckets: Sequence[Bucket], seconds: float) -> None:
        """:meth:`pause`, which never blocks.

        :param buckets: the throttles of the refused request.
        :param seconds: PostHog's ``Retry-After``.
        """
        self.pause(buckets, seconds)

    def pause(self, buckets: Sequence[Bucket], seconds: float) -> None:
        """Send nothing in ``buckets`` for ``seconds``: PostHog answered 429 with ``Retry-After``.

        Every caller of the process that reserves a slot in these buckets waits until then, instead of
        each finding the 429 out for itself.

        :param buckets: the throttles of the refused request.
        :param seconds: PostHog's ``Retry-After``.
        """
        with self._lock:
            until = self._clock() + seconds
            for bucket in buckets:
                self._paused_until[bucket.key] = max(until, self._paused_until.get(bucket.key, until))


def _earliest_slot(history: list[float], rates: Rates, not_before: float) -> float:
    # Slots are handed out in order (never before the last reservation), so the history stays
    # sorted and the window ending at the new slot holds every earlier reservation.
    send_at = max(not_before, history[-1]) if history else not_before
    for limit, period in rates:
        in_window = len(history) - bisect_right(history, send_at - period)
        if in_window >= limit:
            send_at = max(send_at, history[len(history) - limit] + period)
    return send_at


_process_limiter = RateLimiter()


def process_limiter() -> RateLimiter:
    """The limiter every client in this process uses unless given another one (or a store)."""
    return _process_limiter


def install_process_limiter(limiter: RateLimiter) -> None:
    """Make ``limiter`` the process's limiter, for every client's next request.

    Tests install a fresh one (a whole budget, as the emulator's reset gives), or one with the
    emulator's ``time_scale``.

    :param limiter: the new process limiter.
    """
    global _process_limiter  # noqa: PLW0603 (the one process-wide limiter, replaced as a whole)
    _process_limiter = limiter
