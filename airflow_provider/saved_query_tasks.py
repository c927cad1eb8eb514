"""What the saved-query operators and the sensor share on a worker, through the sync hook.

Checking arguments at execute time (the ``saved_query_id`` above all), reading where a run stands,
pushing the "View in PostHog" link and asking PostHog to cancel a run. Kept apart from
:mod:`airflow_provider.saved_query_runs`, which the trigger imports in the triggerer and which
therefore stays free of hooks and links.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider.api.errors import PostHogError
from airflow_provider.links import PostHogSavedQueryLink
from airflow_provider.saved_query_runs import (
    JobBaseline,
    RunState,
    describe_cancel,
    job_state,
    saved_query_state,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider.hooks.posthog import PostHogHook

T = TypeVar("T")

_UUID_EXAMPLE = "0192f3a0-aaaa-7bbb-8ccc-000000000001"


def check_saved_query_id(value: object) -> str:
    """Return ``saved_query_id`` as a canonical UUID string, or raise naming the argument.

    Operators call this at construction for a value that is not a template.

    :param value: the ``saved_query_id`` argument.
    :raises ValueError: for anything but a string holding a UUID.
    """
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    raise ValueError(
        f"saved_query_id must be the saved query's UUID, such as {_UUID_EXAMPLE}; got {value!r}. "
        "Saved query names are not accepted: use PostHogCreateOrUpdateSavedQueryOperator's 'id' result."
    )


def checked_at_execute(check: Callable[[], T]) -> T:
    """Run an argument check on rendered values at the start of ``execute``, before any request.

    Bad input cannot get better on a retry, so the check's ``ValueError`` (which names the argument
    and what is allowed) fails the task at once, without retries.

    :param check: the check; returns the checked value or raises ``ValueError``.
    :raises AirflowFailException: with the check's message, when it raises ``ValueError``.
    """
    try:
        return check()
    except ValueError as error:
        raise AirflowFailException(str(error)) from None


def require_saved_query_id(value: object) -> str:
    """Return the rendered ``saved_query_id`` as a canonical UUID string, or fail the task for good.

    :param value: the ``saved_query_id`` argument after rendering.
    :raises AirflowFailException: for anything but a string holding a UUID (see :func:`checked_at_execute`).
    """
    return checked_at_execute(lambda: check_saved_query_id(value))


def _newest_job(hook: PostHogHook, saved_query_id: str) -> dict[str, Any] | None:
    return next(iter(hook.list_data_modeling_jobs(saved_query_id=saved_query_id, page_size=1)), None)


def read_job_baseline(hook: PostHogHook, saved_query_id: str) -> JobBaseline:
    """Read the saved query's newest data-modeling job, to be taken just before asking for a run.

    :param hook: the sync hook of the task's connection and project.
    :param saved_query_id: the saved query's UUID.
    :return: the baseline a run is matched against (see :func:`~airflow_provider.saved_query_runs.job_state`).
    """
    return JobBaseline.of(_newest_job(hook, saved_query_id))


def poll_run_state(
    hook: PostHogHook,
    saved_query_id: str,
    requested_after: float | None,
    baseline: JobBaseline | None = None,
) -> RunState:
    """Read where a saved query's run stands: its newest job, else the saved query's own status.

    One GET of the newest data-modeling job, plus one GET of the saved query when the job alone
    cannot tell (see :func:`~airflow_provider.saved_query_runs.job_state`).

    :param hook: the sync hook of the task's connection and project.
    :param saved_query_id: the saved query's UUID.
    :param requested_after: epoch seconds taken before the run was asked for, or ``None`` for the
        newest run whenever it started.
    :param baseline: the newest job before the run was asked for, if it was read.
    :return: the run's state; ``status`` is ``None`` while no run of ours is visible yet.
    """
    state = job_state(_newest_job(hook, saved_query_id), requested_after, baseline)
    if state is None:
        state = saved_query_state(hook.get_saved_query(saved_query_id), requested_after)
    return state


def push_saved_query_url(context: Context, hook: PostHogHook, saved_query_id: str) -> None:
    """Push the saved query's PostHog URL to XCom for the "View in PostHog" link (before any deferral).

    :param context: the running task's context.
    :param hook: the sync hook, which knows the host and project for the URL.
    :param saved_query_id: the saved query's UUID.
    """
    PostHogSavedQueryLink.persist(context, hook.ui_url(PostHogSavedQueryLink.ui_path(saved_query_id)))


def cancel_run(hook: PostHogHook, saved_query_id: str, log: Any) -> None:
    """Ask PostHog to cancel a run; a refusal (403 for personal API keys) is logged, never raised.

    :param hook: the sync hook of the task's connection and project.
    :param saved_query_id: the saved query whose run should stop.
    :param log: where the outcome is logged: the operator's ``log`` (anything with ``log(level, msg)``).
    """
    error: PostHogError | None = None
    try:
        hook.cancel_saved_query(saved_query_id)
    except PostHogError as raised:
        error = raised
    level, message = describe_cancel(saved_query_id, error)
    log.log(level, message)
