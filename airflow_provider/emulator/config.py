"""The emulator's tunable behaviour (latencies, job outcomes, throttling, page sizes) and its validation."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

JOB_OUTCOMES = ("Completed", "Failed", "Cancelled", "Skipped")
RATE_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
#: PostHog's throttle scopes and rates (docs/posthog-api.md section 5).
DEFAULT_RATES = {
    "burst": "480/minute",
    "sustained": "4800/hour",
    "clickhouse_burst": "240/minute",
    "clickhouse_sustained": "1200/hour",
    "saved_query": "10/minute",
    "materialization": "5/hour",
}
DEFAULT_JOB_ERROR = "Query failed: Code: 60. DB::Exception: Unknown table expression identifier."


@dataclasses.dataclass
class EmulatorConfig:
    """Behaviour switches, settable at start (``run_emulator(**config)``, CLI flags) or live (``configure``).

    :param summary_latency: seconds each session-summary request that generates something takes.
    :param gateway_timeout: seconds after which a summary request is answered 504 while its work
        finishes and is cached (PostHog's ~120 s gateway cut-off); ``None`` turns it off.
    :param job_run_seconds: seconds a data-modeling job stays ``Running``.
    :param job_start_delay: seconds between the answer to ``run`` or ``materialize`` and the new
        job's row being listed (PostHog's workflow writes it in its first activity).
    :param job_outcome: terminal status of every job started from now on.
    :param job_error: error text of a ``Failed`` job (a ClickHouse-like message when ``None``).
    :param saved_query_page_size: page size of the saved-query list (PostHog: 1000).
    :param throttle: apply PostHog's rate limits.
    :param throttle_rates: per-scope overrides, e.g. ``{"burst": "5/minute"}``.
    :param time_scale: the throttle's windows pass this many times faster than real time (``10``: a
        minute lasts 6 s), so tests and benchmarks at PostHog's real rates run in minutes. Pair it with
        a provider rate limiter of the same scale (``docs/emulator.md``).
    :param allow_cancel_with_personal_key: let ``cancel`` through for personal API keys
        (PostHog answers 403).
    :param self_hosted: act as a self-hosted instance (summaries answer 400).
    :param session_count: number of seeded sessions.
    :param unready_saved_queries: names of views that are not fully set up: their ``run`` is
        refused with a 400 that says so, as PostHog refuses such a view.
    :param environments_redirect: answer the ``/api/environments/`` alias with a 307 to the same URL
        under ``/api/projects/``, as PostHog's ``EnvironmentsRedirectMiddleware`` did for some teams in
        mid-2026; session summaries, which then existed only under ``/api/environments/``, are served
        there and are a 404 under ``/api/projects/``.
    """

    summary_latency: float = 0.0
    gateway_timeout: float | None = None
    job_run_seconds: float = 1.0
    job_start_delay: float = 0.0
    job_outcome: str = "Completed"
    job_error: str | None = None
    saved_query_page_size: int = 1000
    throttle: bool = True
    throttle_rates: dict[str, str] = dataclasses.field(default_factory=dict)
    time_scale: float = 1.0
    allow_cancel_with_personal_key: bool = False
    self_hosted: bool = False
    session_count: int = 40
    unready_saved_queries: list[str] = dataclasses.field(default_factory=list)
    environments_redirect: bool = False

    def updated(self, overrides: dict[str, Any]) -> EmulatorConfig:
        """A validated copy with ``overrides`` applied.

        :param overrides: config names and their new values.
        :raises ValueError: an unknown name or a value out of range, naming the setting.
        """
        known = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown emulator setting(s) {unknown}; allowed: {sorted(known)}")
        new = dataclasses.replace(self, **overrides)
        new.validate()
        return new

    def validate(self) -> None:
        """Check every value.

        :raises ValueError: naming the setting and what is allowed.
        """
        for name in ("summary_latency", "job_run_seconds", "job_start_delay"):
            _require_number(name, getattr(self, name), allow_none=False)
        _require_number("gateway_timeout", self.gateway_timeout, allow_none=True)
        _require_number("time_scale", self.time_scale, allow_none=False)
        if self.time_scale <= 0:
            raise ValueError(f"time_scale must be above 0, got {self.time_scale!r}")
        if self.job_outcome not in JOB_OUTCOMES:
            raise ValueError(f"job_outcome must be one of {list(JOB_OUTCOMES)}, got {self.job_outcome!r}")
        if self.job_error is not None and not isinstance(self.job_error, str):
            raise ValueError(f"job_error must be a string or None, got {self.job_error!r}")
        _require_integer("saved_query_page_size", self.saved_query_page_size, minimum=1)
        _require_integer("session_count", self.session_count, minimum=0)
        for name in ("throttle", "allow_cancel_with_personal_key", "self_hosted", "environments_redirect"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.throttle_rates, dict):
            raise ValueError(
                f"throttle_rates must be a dict of scope -> 'N/period', got {self.throttle_rates!r}"
            )
        if not isinstance(self.unready_saved_queries, list) or not all(
            isinstance(name, str) for name in self.unready_saved_queries
        ):
            raise ValueError(
                f"unready_saved_queries must be a list of view names, got {self.unready_saved_queries!r}"
            )
        for scope, rate in self.throttle_rates.items():
            if scope not in DEFAULT_RATES:
                raise ValueError(f"throttle_rates: unknown scope {scope!r}; allowed: {sorted(DEFAULT_RATES)}")
            parse_rate(scope, rate)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able data."""
        return dataclasses.asdict(self)


def parse_rate(scope: str, rate: str) -> tuple[int, float]:
    """Turn DRF's ``"N/period"`` into ``(N, seconds)``.

    :param scope: the throttle scope the rate is for (named in errors).
    :param rate: e.g. ``"480/minute"``, ``"5/hour"``, ``"10/s"``.
    :raises ValueError: when the rate cannot be read.
    """
    match = RATE_PATTERN.match(rate) if isinstance(rate, str) else None
    if match is None:
        raise ValueError(
            f"throttle rate for {scope!r} must look like 'N/second|minute|hour|day' "
            f"(e.g. '5/minute'), got {rate!r}"
        )
    seconds = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}[match.group(2)[0]]
    return int(match.group(1)), seconds


def _require_integer(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _require_number(name: str, value: Any, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        allowed = "a non-negative number" + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
