"""Which data-modeling job is the run we asked for, where it stands, and what a trigger reports about it.

PostHog's ``run`` action answers 200 with no run id (``posthog-api.md`` §7.5, §8), so the run
operator reads the saved query's newest data-modeling job just before asking (a :class:`JobBaseline`)
and follows the newest job PostHog lists after it, judged by PostHog's own ids and timestamps, never
by the worker's clock. Without a baseline (a sensor given only ``requested_after``) a run is the
newest job created after that time. While the saved query has no job at all, its own ``status`` is
used (PostHog's v1 backend writes only that). The run operator, the sensor and the trigger all
decide through :func:`job_state` and :func:`saved_query_state`, report through :func:`run_event`,
and trust an event only after :func:`validate_run_event`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from airflow.sdk.exceptions import AirflowException

from airflow_provider.api.errors import (
    PostHogConnectionError,
    PostHogError,
    PostHogPermissionError,
    PostHogRateLimitError,
    PostHogServerError,
    PostHogValidationError,
)


class SavedQueryRunStatus(str, Enum):
    """PostHog's run statuses, Capitalised as PostHog sends them (``posthog-api.md`` §7.5, §9.10).

    Saved queries use ``Running``/``Completed``/``Failed``/``Cancelled``/``Modified``; data-modeling
    jobs use ``Running``/``Completed``/``Failed``/``Cancelled`` plus ``Queued`` and ``Skipped`` in
    newer PostHog versions.
    """

    QUEUED = "Queued"
    RUNNING = "Running"
    MODIFIED = "Modified"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    SKIPPED = "Skipped"


TERMINAL_STATUSES: frozenset[str] = frozenset(
    status.value
    for status in (
        SavedQueryRunStatus.COMPLETED,
        SavedQueryRunStatus.FAILED,
        SavedQueryRunStatus.CANCELLED,
        SavedQueryRunStatus.SKIPPED,
    )
)

# Errors after which polling goes on: PostHog unreachable, overloaded or throttling us. The client has
# already retried them; a trigger keeps polling until its deadline instead of failing the task.
TRANSIENT_ERRORS: tuple[type[PostHogError], ...] = (
    PostHogConnectionError,
    PostHogServerError,
    PostHogRateLimitError,
)


@dataclass(frozen=True)
class RunState:
    """Where a saved query's run stands.

    :param status: PostHog's status string, or ``None`` while no run of ours is visible yet.
    :param job_id: the data-modeling job followed, if the state came from a job.
    :param error: PostHog's error text for a run that did not complete.
    """

    status: str | None
    job_id: str | None = None
    error: str | None = None

    @property
    def terminal(self) -> bool:
        """True once the run has ended, whichever way."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        """True only for a run PostHog reports as ``Completed``."""
        return self.status == SavedQueryRunStatus.COMPLETED.value


def parse_time(value: object, field: str) -> float | None:
    """Turn a time given as epoch seconds, a datetime or an ISO 8601 string into epoch seconds.

    :param value: the time; ``None`` or ``""`` mean "no time".
    :param field: the argument's name, used in the error message.
    :raises ValueError: naming ``field`` when the value is not a time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a datetime, an ISO 8601 string or epoch seconds, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        # datetime.fromisoformat accepts a trailing "Z" only from Python 3.11 on.
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{field} must be a datetime, an ISO 8601 string or epoch seconds, got {value!r}"
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    raise ValueError(f"{field} must be a datetime, an ISO 8601 string or epoch seconds, got {value!r}")


def _created_after(obj: dict[str, Any], key: str, requested_after: float | None) -> bool:
    if requested_after is None:
        return True
    moment = parse_time(obj.get(key), key)
    return moment is not None and moment >= requested_after


@dataclass(frozen=True)
class JobBaseline:
    """The saved query's newest data-modeling job just before its run was asked for.

    Only PostHog's data is kept (the job's id and ``created_at`` as PostHog sent them), so matching
    a run against it does not depend on the worker's clock.

    :param job_id: that job's id, or ``None`` when the saved query had no job yet.
    :param created_at: its ``created_at`` (ISO 8601, as PostHog sent it), or ``None``.
    """

    job_id: str | None = None
    created_at: str | None = None

    @classmethod
    def of(cls, newest_job: dict[str, Any] | None) -> JobBaseline:
        """The baseline for the first item of ``data_modeling_jobs/?saved_query_id=...``, or for none.

        :param newest_job: the saved query's newest job, or ``None`` when it has none.
        """
        if newest_job is None:
            return cls()
        job_id = newest_job.get("id")
        return cls(job_id=None if job_id is None else str(job_id), created_at=newest_job.get("created_at"))

    def is_followed_by(self, job: dict[str, Any]) -> bool:
        """Whether ``job`` is a newer job than this baseline: another job, created at or after it.

        :param job: a job as PostHog lists it.
        """
        if self.job_id is not None and str(job.get("id")) == self.job_id:
            return False
        baseline_created = parse_time(self.created_at, "created_at")
        if baseline_created is None:
            return True
        created = parse_time(job.get("created_at"), "created_at")
        return created is not None and created >= baseline_created


def job_state(
    newest_job: dict[str, Any] | None, requested_after: float | None, baseline: JobBaseline | None = None
) -> RunState | None:
    """The run's state from the saved query's newest data-modeling job, if that job is ours.

    :param newest_job: the first item of ``data_modeling_jobs/?saved_query_id=...`` (newest first).
    :param requested_after: epoch seconds taken just before the run was asked for; used only without
        a ``baseline``; ``None`` follows whatever run is newest.
    :param baseline: the newest job before the run was asked for; when given, ours is a newer job
        (see :meth:`JobBaseline.is_followed_by`) and ``requested_after`` is not compared with jobs.
    :return: the state of our job; ``RunState(None)`` while a baseline was taken and the newest job
        is not ours yet (PostHog records jobs for this query, so ours will show up as one);
        ``None`` when :func:`saved_query_state` must decide: no job at all, or, without a
        baseline, no job created after ``requested_after``.
    """
    if newest_job is None:
        return None
    if baseline is not None:
        if not baseline.is_followed_by(newest_job):
            return RunState(status=None)
    elif not _created_after(newest_job, "created_at", requested_after):
        return None
    return RunState(
        status=newest_job.get("status"),
        job_id=None if newest_job.get("id") is None else str(newest_job["id"]),
        error=newest_job.get("error") or None,
    )


def saved_query_state(saved_query: dict[str, Any], requested_after: float | None) -> RunState:
    """The run's state from the saved query itself, for when no job of ours exists (yet).

    A terminal ``status`` counts only when ``last_run_at`` is after ``requested_after``, so an earlier
    run's outcome is never taken for ours; ``Running`` is reported as it is.

    :param saved_query: the saved query as ``GET warehouse_saved_queries/{id}/`` returns it.
    :param requested_after: as for :func:`job_state`.
    """
    status = saved_query.get("status")
    if status in TERMINAL_STATUSES and not _created_after(saved_query, "last_run_at", requested_after):
        return RunState(status=None)
    return RunState(status=status, error=saved_query.get("latest_error") or None)


# Statuses of the events PostHogSavedQueryRunTrigger yields.
EVENT_SUCCESS = "success"
EVENT_FAILED = "failed"
EVENT_CANCELLED = "cancelled"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"
EVENT_STATUSES = frozenset({EVENT_SUCCESS, EVENT_FAILED, EVENT_CANCELLED, EVENT_TIMEOUT, EVENT_ERROR})


def describe_run(saved_query_id: str, state: RunState) -> str:
    """One line saying how a run ended, with PostHog's error text when it did not complete.

    :param saved_query_id: the saved query whose run ended.
    :param state: the run's terminal state.
    :return: the message logged on success and raised on failure.
    """
    job = f" (data-modeling job {state.job_id})" if state.job_id else ""
    if state.succeeded:
        return f"Saved query {saved_query_id} run{job} completed."
    error = state.error or "PostHog gave no error text"
    return f"Saved query {saved_query_id} run{job} ended {state.status}: {error}"


def run_event(saved_query_id: str, state: RunState, requested_after: float | None) -> dict[str, Any]:
    """The event payload for a run that has ended.

    :param saved_query_id: the saved query whose run ended.
    :param state: the run's terminal state; ``Completed`` gives ``success``, ``Cancelled`` gives
        ``cancelled``, anything else ``failed``.
    :param requested_after: when the run was asked for (epoch seconds), echoed for the task's XCom.
    :return: the payload, with the keys :func:`validate_run_event` requires.
    """
    if state.succeeded:
        status = EVENT_SUCCESS
    elif state.status == SavedQueryRunStatus.CANCELLED.value:
        status = EVENT_CANCELLED
    else:
        status = EVENT_FAILED
    return {
        "status": status,
        "message": describe_run(saved_query_id, state),
        "saved_query_id": saved_query_id,
        "run_status": state.status,
        "job_id": state.job_id,
        "requested_after": requested_after,
    }


def stop_event(
    status: str, saved_query_id: str, message: str, requested_after: float | None
) -> dict[str, Any]:
    """The event payload for a wait that stopped before the run ended (``timeout`` or ``error``).

    :param status: :data:`EVENT_TIMEOUT` or :data:`EVENT_ERROR`.
    :param saved_query_id: the saved query whose run was followed.
    :param message: what happened, for the task's log and failure.
    :param requested_after: when the run was asked for (epoch seconds), echoed for the task's XCom.
    :return: the payload, with ``run_status`` and ``job_id`` set to ``None``.
    """
    return {
        "status": status,
        "message": message,
        "saved_query_id": saved_query_id,
        "run_status": None,
        "job_id": None,
        "requested_after": requested_after,
    }


_EVENT_KEYS = frozenset(stop_event(EVENT_ERROR, "", "", None))


def validate_run_event(event: object) -> dict[str, Any]:
    """Return the trigger's event if it is one this provider yields; otherwise fail the task.

    A resumed task must never succeed by accident: a missing event (the trigger ended without one),
    a payload that is not a dict, or an unknown ``status`` all raise.

    :param event: what the trigger sent (``None`` when the task resumed without an event).
    :return: the event, unchanged.
    :raises AirflowException: for anything but a known event.
    """
    if not isinstance(event, dict):
        raise AirflowException(
            f"The saved-query trigger resumed the task without a valid event (got {event!r}); "
            "the run's outcome is unknown, so the task fails."
        )
    status = event.get("status")
    missing = _EVENT_KEYS - event.keys()
    if status not in EVENT_STATUSES or missing:
        raise AirflowException(
            f"The saved-query trigger sent an event with status {status!r} "
            f"(known: {', '.join(sorted(EVENT_STATUSES))}) and missing fields {sorted(missing)}; "
            "the run's outcome is unknown, so the task fails."
        )
    return event


def describe_cancel(saved_query_id: str, error: PostHogError | None) -> tuple[int, str]:
    """The log level and message for the outcome of asking PostHog to cancel a run.

    :param saved_query_id: the saved query whose run was to be cancelled.
    :param error: what the cancel request raised, or ``None`` if PostHog accepted it.
    :return: ``(level, message)``: a warning when the run may go on in PostHog (a 403 for personal
        API keys, or any other failure), info when PostHog accepted or had no run to cancel.
    """
    if error is None:
        return logging.INFO, f"Asked PostHog to cancel the run of saved query {saved_query_id}."
    if isinstance(error, PostHogPermissionError):
        return logging.WARNING, (
            f"PostHog refused to cancel the run of saved query {saved_query_id} ({error.detail or error}). "
            "PostHog does not let personal API keys cancel runs, so the run goes on in PostHog; "
            "cancel it in the PostHog UI if it must stop."
        )
    if isinstance(error, PostHogValidationError):
        return logging.INFO, (
            f"Saved query {saved_query_id} has no run to cancel in PostHog ({error.detail or error})."
        )
    return logging.WARNING, (
        f"Could not ask PostHog to cancel the run of saved query {saved_query_id}: {error}. "
        "The run may go on in PostHog."
    )
