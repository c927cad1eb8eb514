"""PostHog's rate limits: DRF ``SimpleRateThrottle`` sliding windows, one history per (scope, bucket).

Rates and classes from docs/posthog-api.md section 5.
"""

from __future__ import annotations

import collections
import threading
import time

from .config import DEFAULT_RATES, parse_rate

#: The throttle classes of each kind of view.
DEFAULT_CLASSES = ("burst", "sustained")
CLICKHOUSE_CLASSES = ("clickhouse_burst", "clickhouse_sustained")
#: PostHog's ``SubscriptionTestDeliveryThrottle``: the only throttle of a subscription's test delivery,
#: counted per team (across keys and subscriptions), not per key (``posthog/rate_limit.py``).
SUBSCRIPTION_TEST_DELIVERY = "subscription_test_delivery"
_RATES = {**DEFAULT_RATES, SUBSCRIPTION_TEST_DELIVERY: "10/minute"}


class Throttle:
    """Sliding-window request histories, checked the way DRF's ``check_throttles`` does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: dict[tuple[str, str], collections.deque[float]] = {}

    def check(
        self, scopes: tuple[str, ...], bucket: str, overrides: dict[str, str], time_scale: float = 1.0
    ) -> float | None:
        """Count a request against every scope; the longest wait if any scope is exhausted.

        Like DRF, a scope that allows the request records it even when another scope refuses.

        :param scopes: throttle scopes of the view, e.g. ``("burst", "sustained")``.
        :param bucket: who is counted: the key (hashed), the saved query for per-view scopes, the team
            for the test-delivery scope.
        :param overrides: rates that replace PostHog's for some scopes.
        :param time_scale: how much faster than real time the windows pass (10: a minute lasts 6 s).
        :returns: seconds to wait, or ``None`` when the request is allowed.
        """
        now = time.monotonic()
        waits: list[float] = []
        with self._lock:
            for scope in scopes:
                limit, duration = parse_rate(scope, overrides.get(scope, _RATES[scope]))
                duration /= time_scale
                history = self._history.setdefault((scope, bucket), collections.deque())
                while history and history[-1] <= now - duration:
                    history.pop()
                if len(history) >= limit:
                    remaining = duration - (now - history[-1]) if history else duration
                    available = limit - len(history) + 1
                    waits.append(remaining / available if available > 0 else remaining)
                else:
                    history.appendleft(now)
        return max(waits) if waits else None

    def clear(self) -> None:
        """Forget every history."""
        with self._lock:
            self._history.clear()
