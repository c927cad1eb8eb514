"""Which sessions a task works on: the window, the recording filters, the sample and the limit.

Shared by the operators that take a set of sessions (``PostHogSessionSummariesOperator``,
``PostHogSessionPatternsOperator``), so both choose sessions the same way from the same arguments.

The API:

- :class:`SessionSelection` is the arguments as the operator got them, for the functions below;
  :meth:`SessionSelectingOperator.check_arguments` refuses bad values before any request
  (``rendered=False`` at DAG parse time skips the values that are still templates).
- :func:`selection_window` turns the run's context into the window ``[start, end)`` (or ``None``
  when ``session_ids`` name the sessions), with the data-interval rules and their error messages.
- :func:`select_sessions` lists the window's recordings through the hook (PostHog applies
  ``recording_filters``), keeps those that start inside the half-open window, drops the shorter than
  ``min_duration``, keeps the deterministic sample, then stops at ``limit``; it returns the chosen ids
  and the counts (:class:`SelectedSessions`).
- :class:`SessionSelectingOperator` is the base of the operators that take these arguments (and a
  ``focus_area``): it keeps them, templates them and checks them.
- :func:`in_sample` is the sample rule: a session is in when the SHA-256 of
  ``"<sample_seed>:<session_id>"``, read as a fraction of 2**64, is below ``sample_rate``. The same
  session, rate and seed always give the same answer, so retries, reruns and backfills choose the same
  sessions, and a higher rate keeps every session a lower one kept.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider._compat import AirflowFailException
from airflow_provider.api.arguments import (
    invalid,
    require_datetime,
    require_int,
    require_str_list,
    require_text,
)
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.limits import MAX_FOCUS_AREA_LENGTH
from airflow_provider.api.recording_filters import require_recording_filters
from airflow_provider.operators.base import PostHogBaseOperator, is_known

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

    from airflow_provider.hooks.posthog import PostHogHook

log = logging.getLogger(__name__)

Window = tuple[dt.datetime, dt.datetime]

EMPTY_INTERVAL_HELP = (
    "Airflow 3 runs a cron schedule such as '@daily' with CronTriggerTimetable, whose runs cover no "
    "interval. Either schedule the DAG with CronDataIntervalTimetable (e.g. "
    "schedule=CronDataIntervalTimetable('0 0 * * *', timezone='UTC'), so each run covers the day "
    "before it), or pass lookback=timedelta(days=1) to take the sessions that started in the "
    "day before each run, or pass date_from and date_to."
)
NO_INTERVAL_HELP = (
    "This run has no data interval: a run triggered without a logical date (Airflow 3's default when "
    "triggering through the REST API or the UI, and for asset-triggered runs) has none. Trigger it with "
    "a logical date, or set lookback (e.g. lookback=timedelta(days=1)) to take the sessions that "
    "started in that time before the run's run_after, or pass date_from and date_to."
)
_SAMPLE_SCALE = 2**64


@dataclasses.dataclass(frozen=True)
class SessionSelection:
    """The session-selection arguments of an operator, as given (values may still be templates).

    :param session_ids: the sessions, given directly (a list, or the text a template renders one to);
        then no recordings are listed and the window arguments are refused.
    :param date_from: start of the window (datetime or ISO-8601), inclusive; default: the run's
        ``data_interval_start``.
    :param date_to: end of the window, exclusive; default: the run's ``data_interval_end`` (with
        ``lookback`` in a run without a data interval: its ``run_after``).
    :param lookback: the window is ``[date_to - lookback, date_to)``; not with ``date_from``.
    :param limit: take at most this many sessions (after the sample; newest first unless
        ``recording_filters`` sets ``order``).
    :param min_duration: skip recordings shorter than this many seconds (a shortcut for a
        ``having_predicates`` duration filter, applied to what PostHog lists).
    :param recording_filters: PostHog's recording filters (``RecordingsQuery`` fields such as
        ``events``, ``properties``, ``console_log_filters``, ``having_predicates``,
        ``filter_test_accounts``), sent with the listing.
    :param sample_rate: keep this fraction of the sessions (0 < rate <= 1), chosen by a hash of the
        session id, applied before ``limit``.
    :param sample_seed: text mixed into the hash, to draw a different (still stable) sample.
    """

    session_ids: Any = None
    date_from: Any = None
    date_to: Any = None
    lookback: Any = None
    limit: Any = None
    min_duration: Any = None
    recording_filters: Any = None
    sample_rate: Any = None
    sample_seed: Any = None


@dataclasses.dataclass(frozen=True)
class SelectedSessions:
    """The sessions chosen, and how many were dropped at each step.

    :param session_ids: the chosen sessions, in listing order (newest first by default), unique.
    :param listed: recordings PostHog listed that started in the window (or the ids given).
    :param filtered_out: of those, shorter than ``min_duration``.
    :param sampled_out: of the rest, outside the sample.
    :param limit_reached: whether ``limit`` stopped the listing (more sessions may have matched).
    :param recordings: the listed recording of each chosen session (empty for ids given directly).
    """

    session_ids: list[str]
    listed: int
    filtered_out: int
    sampled_out: int
    limit_reached: bool
    recordings: Mapping[str, Mapping[str, Any]]

    def counts(self) -> dict[str, int]:
        """``listed``, ``filtered_out`` and ``sampled_out``, for XCom, logs and asset events."""
        return {"listed": self.listed, "filtered_out": self.filtered_out, "sampled_out": self.sampled_out}


class SessionSelectingOperator(PostHogBaseOperator):
    """The base of the operators that work on a selection of sessions and may give PostHog a focus area.

    It keeps the selection's arguments (see :class:`SessionSelection`; the subclasses document them)
    and ``focus_area``, templates ``session_ids``, ``date_from``, ``date_to``, ``recording_filters``
    and ``focus_area``, and checks them in :meth:`check_arguments`.
    """

    template_fields: Sequence[str] = (
        *PostHogBaseOperator.template_fields,
        "session_ids",
        "date_from",
        "date_to",
        "recording_filters",
        "focus_area",
    )

    def __init__(
        self,
        *,
        session_ids: Sequence[str] | str | XComArg | None = None,
        date_from: dt.datetime | str | None = None,
        date_to: dt.datetime | str | None = None,
        lookback: dt.timedelta | None = None,
        recording_filters: Mapping[str, Any] | str | None = None,
        limit: int | None = None,
        min_duration: float | None = None,
        sample_rate: float | None = None,
        sample_seed: str | int | None = None,
        focus_area: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.session_ids = session_ids
        self.date_from = date_from
        self.date_to = date_to
        self.lookback = lookback
        self.recording_filters = recording_filters
        self.limit = limit
        self.min_duration = min_duration
        self.sample_rate = sample_rate
        self.sample_seed = sample_seed
        self.focus_area = focus_area

    @property
    def selection(self) -> SessionSelection:
        """The session-selection arguments."""
        return SessionSelection(
            session_ids=self.session_ids,
            date_from=self.date_from,
            date_to=self.date_to,
            lookback=self.lookback,
            limit=self.limit,
            min_duration=self.min_duration,
            recording_filters=self.recording_filters,
            sample_rate=self.sample_rate,
            sample_seed=self.sample_seed,
        )

    def check_arguments(self, *, rendered: bool) -> None:
        """Check the selection and the focus area; before rendering, templated values are left alone.

        :param rendered: whether templates have been rendered (at ``execute``).
        :raises PostHogConfigError: naming the argument and what is allowed.
        """

        def known(value: Any) -> bool:
            return value is not None and is_known(value, rendered=rendered)

        if known(self.limit):
            require_int("limit", self.limit, minimum=1)
        if self.min_duration is not None and (
            isinstance(self.min_duration, bool)
            or not isinstance(self.min_duration, int | float)
            or self.min_duration < 0
        ):
            invalid("min_duration", "a number of seconds >= 0", self.min_duration)
        if self.lookback is not None and (
            not isinstance(self.lookback, dt.timedelta) or self.lookback <= dt.timedelta(0)
        ):
            invalid("lookback", "a positive datetime.timedelta", self.lookback)
        if self.lookback is not None and self.date_from is not None:
            raise PostHogConfigError(
                "Pass either date_from or lookback, not both: lookback sets the window's start."
            )
        listing_given = [
            name
            for name in ("date_from", "date_to", "lookback", "min_duration", "recording_filters")
            if getattr(self, name) is not None
        ]
        if self.session_ids is not None and listing_given:
            raise PostHogConfigError(
                "session_ids names the sessions; date_from, date_to, lookback, min_duration and "
                f"recording_filters select recordings instead (given: {', '.join(listing_given)}). "
                "Pass one or the other."
            )
        for field in ("date_from", "date_to"):
            if known(getattr(self, field)):
                require_datetime(field, getattr(self, field))
        if known(self.session_ids):
            parse_session_ids(self.session_ids)
        if known(self.recording_filters):
            require_recording_filters("recording_filters", self.recording_filters)
        if known(self.sample_rate):
            _sample_rate(self.sample_rate)
        if self.sample_seed is not None and not isinstance(self.sample_seed, str | int):
            invalid("sample_seed", "a string or an integer", self.sample_seed)
        focus_area = self.focus_area
        if focus_area not in (None, "") and is_known(focus_area, rendered=rendered):
            require_text("focus_area", focus_area, max_length=MAX_FOCUS_AREA_LENGTH)


def sample_rank(session_id: str, sample_seed: str | int | None = None) -> int:
    """Where a session falls in the deterministic sample: the first 8 bytes of SHA-256 of
    ``"<sample_seed>:<session_id>"``. Lower ranks are kept first, by ``sample_rate`` and by any cap.

    :param session_id: the session.
    :param sample_seed: optional text mixed into the hash.
    """
    digest = hashlib.sha256(f"{'' if sample_seed is None else sample_seed}:{session_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def in_sample(session_id: str, sample_rate: float, sample_seed: str | int | None = None) -> bool:
    """Tell whether a session is in the sample (see the module's docstring for the rule).

    :param session_id: the session.
    :param sample_rate: the fraction kept, 0 < rate <= 1.
    :param sample_seed: optional text mixed into the hash.
    """
    return sample_rate >= 1 or sample_rank(session_id, sample_seed) < sample_rate * _SAMPLE_SCALE


def selection_window(selection: SessionSelection, context: Context) -> Window | None:
    """The window ``[start, end)`` whose recordings are listed, or ``None`` when ``session_ids`` are given.

    :param selection: the rendered arguments.
    :param context: the task's context (data interval, ``dag_run.run_after``).
    :raises AirflowFailException: for an empty window or a run without a data interval, saying how to
        fix it (no retry can help).
    """
    if selection.session_ids is not None:
        return None
    end_value = selection.date_to if selection.date_to is not None else context.get("data_interval_end")
    if end_value is None and selection.lookback is not None:
        end_value = context["dag_run"].run_after
        log.info("This run has no data interval; the window ends at its run_after.")
    if end_value is None:
        raise AirflowFailException(NO_INTERVAL_HELP)
    end = require_datetime("date_to", end_value)
    if selection.lookback is not None:
        return end - selection.lookback, end
    start_value = (
        selection.date_from if selection.date_from is not None else context.get("data_interval_start")
    )
    start = require_datetime("date_from", start_value) if start_value is not None else end
    if start >= end:
        raise AirflowFailException(
            f"The window is empty: it starts at {start.isoformat()} and ends at {end.isoformat()}. "
            f"{EMPTY_INTERVAL_HELP}"
        )
    return start, end


def select_sessions(
    hook: PostHogHook, selection: SessionSelection, window: Window | None
) -> SelectedSessions:
    """Choose the sessions: list (or take the given ids), filter, sample, limit.

    :param hook: lists the recordings.
    :param selection: the rendered, checked arguments.
    :param window: from :func:`selection_window`; ``None`` takes ``selection.session_ids``.
    """
    rate = _sample_rate(selection.sample_rate) if selection.sample_rate is not None else 1.0
    limit = require_int("limit", selection.limit, minimum=1) if selection.limit is not None else None
    chosen: dict[str, Mapping[str, Any]] = {}
    listed = filtered_out = sampled_out = 0
    limit_reached = False
    for session_id, recording in _candidates(hook, selection, window):
        if session_id in chosen:
            continue
        listed += 1
        if selection.min_duration is not None and float(recording.get("recording_duration") or 0) < float(
            selection.min_duration
        ):
            filtered_out += 1
            continue
        if not in_sample(session_id, rate, selection.sample_seed):
            sampled_out += 1
            continue
        chosen[session_id] = recording
        if limit is not None and len(chosen) >= limit:
            limit_reached = True
            break
    selected = SelectedSessions(
        session_ids=list(chosen),
        listed=listed,
        filtered_out=filtered_out,
        sampled_out=sampled_out,
        limit_reached=limit_reached,
        recordings={key: value for key, value in chosen.items() if value},
    )
    log.info(
        "Sessions chosen: %d (listed %d, shorter than min_duration %d, outside the sample %d%s).",
        len(selected.session_ids),
        listed,
        filtered_out,
        sampled_out,
        f", stopped at limit={limit}" if limit_reached else "",
    )
    return selected


def parse_session_ids(value: Any) -> list[str]:
    """Session ids from a list, or from the string a template renders a list to (``"['a', 'b']"``).

    :param value: the ``session_ids`` argument.
    :raises PostHogConfigError: for anything else.
    """
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise PostHogConfigError(
                "session_ids must be a list of session ids (or a template or XCom value that gives one); "
                f"got the string {value!r:.80}."
            ) from None
    return list(dict.fromkeys(require_str_list("session_ids", value)))


def _candidates(hook: PostHogHook, selection: SessionSelection, window: Window | None) -> Any:
    """``(session_id, recording)`` pairs: the given ids (no recording), or the window's recordings."""
    if window is None:
        for session_id in parse_session_ids(selection.session_ids):
            yield session_id, {}
        return
    start, end = window
    filters = (
        require_recording_filters("recording_filters", selection.recording_filters)
        if selection.recording_filters is not None
        else {}
    )
    log.info(
        "Listing recordings that started in [%s, %s)%s.",
        start.isoformat(),
        end.isoformat(),
        f" with filters {sorted(filters)}" if filters else "",
    )
    # PostHog's bounds are both inclusive; the window is half-open like Airflow's data intervals.
    for recording in hook.list_session_recordings(date_from=start, date_to=end, **filters):
        started = require_datetime("start_time", recording.get("start_time"))
        if start <= started < end:
            yield str(recording["id"]), recording


def _sample_rate(value: Any) -> float:
    try:
        rate = float(value.strip()) if isinstance(value, str) else value
    except ValueError:
        rate = None
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
        invalid("sample_rate", "a fraction greater than 0 and at most 1, such as 0.25", value)
    return float(rate)
