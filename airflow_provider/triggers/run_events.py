"""What :class:`~airflow_provider.triggers.saved_queries.PostHogSavedQueryRunTrigger` sends back: its
events, and the check a resumed task makes before trusting one.

Every way out of the trigger yields exactly one event: :func:`run_event` once the run has ended,
:func:`stop_event` when the wait stopped first (deadline, PostHog refusing, a name no view has). The
run operator and the sensor resume only through :func:`validate_run_event`, so a missing or unknown
event never lets a task succeed by accident. Nothing here imports the trigger's machinery: a task
resuming on a worker loads only this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk.exceptions import AirflowException

from airflow_provider.saved_query_runs.state import RunState, SavedQueryRunStatus, describe_run

EVENT_SUCCESS = "success"
EVENT_FAILED = "failed"
EVENT_CANCELLED = "cancelled"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"
EVENT_STATUSES = frozenset({EVENT_SUCCESS, EVENT_FAILED, EVENT_CANCELLED, EVENT_TIMEOUT, EVENT_ERROR})


def run_event(
    saved_query_id: str,
    state: RunState,
    requested_after: float | None,
    joined_running_refresh: bool = False,
) -> dict[str, Any]:
    """The event payload for a run that has ended.

    :param saved_query_id: the saved query whose run ended.
    :param state: the run's terminal state; ``Completed`` gives ``success``, ``Cancelled`` gives
        ``cancelled``, anything else ``failed``.
    :param requested_after: when the run was asked for (epoch seconds), echoed for the task's XCom.
    :param joined_running_refresh: whether the run joined a refresh already running, for the XCom.
    :return: the payload, with the keys :func:`validate_run_event` requires, plus
        ``followed_superseding_run`` and ``joined_running_refresh``.
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
        "saved_query_id": str(saved_query_id),  # plain: msgpack takes no str subclass (SavedQueryId)
        "run_status": state.status,
        "job_id": state.job_id,
        "requested_after": requested_after,
        "followed_superseding_run": state.superseded,
        "joined_running_refresh": joined_running_refresh,
    }


def stop_event(
    status: str, saved_query_id: str | None, message: str, requested_after: float | None
) -> dict[str, Any]:
    """The event payload for a wait that stopped before the run ended (``timeout`` or ``error``).

    :param status: :data:`EVENT_TIMEOUT` or :data:`EVENT_ERROR`.
    :param saved_query_id: the saved query whose run was waited for; ``None`` when a trigger given a
        name could not find the view.
    :param message: what happened, for the task's log and failure.
    :param requested_after: when the run was asked for (epoch seconds), echoed for the task's XCom.
    :return: the payload, with ``run_status`` and ``job_id`` set to ``None``.
    """
    return {
        "status": status,
        "message": message,
        "saved_query_id": None if saved_query_id is None else str(saved_query_id),
        "run_status": None,
        "job_id": None,
        "requested_after": requested_after,
    }


_EVENT_KEYS = frozenset(stop_event(EVENT_ERROR, "", "", None))
#: Marks a ``failed`` event that ends the wait because PostHog suspended the view.
_SUSPENDED_KEY = "suspended"


def suspended_event(saved_query_id: str, message: str, requested_after: float | None) -> dict[str, Any]:
    """The trigger's event when the view it waits on is suspended: ``failed``, marked ``suspended``
    so the sensor fails without retries (a retry would wait for the same refresh that never comes).

    :param saved_query_id: the suspended view.
    :param message: :meth:`~airflow_provider.saved_query_runs.suspension.Suspension.waiting_in_vain`'s text.
    :param requested_after: echoed, as in every event.
    """
    return {**stop_event(EVENT_FAILED, saved_query_id, message, requested_after), _SUSPENDED_KEY: True}


def is_suspended_event(event: Mapping[str, Any]) -> bool:
    """Whether a (validated) trigger event says the view is suspended.

    :param event: the event.
    """
    return event.get(_SUSPENDED_KEY) is True


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
