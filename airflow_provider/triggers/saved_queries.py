"""A trigger that waits in the triggerer for a saved query's run to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider.api.errors import PostHogError
from airflow_provider.hooks.posthog import PostHogAsyncHook
from airflow_provider.saved_query_runs.io import TRANSIENT_ERRORS, acancel_run
from airflow_provider.saved_query_runs.names import asaved_query_id_named, check_saved_query_arguments
from airflow_provider.saved_query_runs.state import SavedQueryRun
from airflow_provider.saved_query_runs.suspension import aread_suspension
from airflow_provider.triggers.run_events import (
    EVENT_ERROR,
    EVENT_TIMEOUT,
    run_event,
    stop_event,
    suspended_event,
)
from airflow_provider.triggers.run_poller import shared_run_poller

T = TypeVar("T")


class PostHogSavedQueryRunTrigger(BaseTrigger):
    """
    Poll a saved query's run until it ends, its deadline passes, or PostHog cannot be read.

    A poll still in flight at the deadline (slow answers, retry waits, the rate limiter) is cut off,
    so the ``timeout`` event comes at the deadline, not after the poll; a deadline already past when
    the trigger starts (say, after a triggerer outage) yields ``timeout`` without polling.

    Every way out yields exactly one event (``success``, ``failed``, ``cancelled``, ``timeout`` or
    ``error``, each with a ``message``); check it with
    :func:`airflow_provider.triggers.run_events.validate_run_event`. Lost connections, 5xx and 429 answers
    are logged once per outage and polling goes on until the deadline. The triggers of one connection
    and project in one triggerer do not poll on their own: one poller
    (:mod:`airflow_provider.triggers.run_poller`) reads once per interval, one request for a trigger
    alone and one walk of the project's job listing for many, and answers each of them.

    :param run: the run waited for, as
        :meth:`~airflow_provider.saved_query_runs.state.SavedQueryRun.to_dict` gives it (plain JSON
        values): ``saved_query_id``; ``requested_after`` (epoch seconds taken just before the run was
        asked for: without a baseline, the first job created after it is the run's; ``None``: the
        newest run, whenever it started); ``baseline`` (``{"job_id", "created_at"}`` of the view's
        newest job just before the run was asked for, as PostHog sent them; the run is then the first
        job after it, whatever the worker's clock said); ``joined_job_id`` (the job that was running
        when the run was asked for, which the run joined); ``follow_preempted`` (when PostHog
        preempts the job, wait for the job that took over; ``False``: the preempted job ends the wait,
        a failure). Leave ``saved_query_id`` out when giving ``saved_query_name``.
    :param saved_query_name: the view's name instead of ``run["saved_query_id"]`` (exactly one of the
        two), for a trigger used on its own: it is looked up once when the trigger starts, in the
        triggerer. The provider's run operator and sensor look names up before deferring and pass the id.
    :param deadline: absolute epoch seconds (``time.time()``) after which the trigger yields ``timeout``.
    :param poll_interval: seconds between polls.
    :param cancel_on_kill: ask PostHog to cancel the run when a user kills the deferred task (the run
        operator's own run); ``False`` for a sensor watching someone else's run.
    :param stop_when_suspended: while no run of ours has started, read the view too and stop with a
        ``failed`` event marked ``suspended`` (see :mod:`airflow_provider.saved_query_runs.suspension`)
        when PostHog has suspended it, since its schedule then never refreshes it; for a sensor
        waiting for someone else's run (a run operator's own ``run`` resumed the view).
    :param posthog_conn_id: the Airflow connection id; the key itself never enters the kwargs.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    :param flat_kwargs_of_0_1: the flat kwargs 0.1 serialised this trigger with (``saved_query_id``,
        ``requested_after``, ``baseline_taken``, ``baseline_job_id``, ``baseline_job_created_at``),
        accepted instead of ``run`` so that a task deferred under 0.1 resumes after an upgrade.
    """

    def __init__(
        self,
        *,
        run: dict[str, Any] | None = None,
        deadline: float,
        poll_interval: float = 30.0,
        cancel_on_kill: bool = True,
        stop_when_suspended: bool = False,
        posthog_conn_id: str = "posthog_default",
        project_id: int | str | None = None,
        saved_query_name: str | None = None,
        **flat_kwargs_of_0_1: Any,
    ) -> None:
        super().__init__()
        if flat_kwargs_of_0_1:
            if run is not None:
                raise TypeError("Give the run as run={...}, not also as flat keyword arguments.")
            run = _run_of_0_1(flat_kwargs_of_0_1)
        self._run_fields: dict[str, Any] = dict(run or {})
        # The one check of the id on the trigger's path: the run holds the checked id from here on.
        saved_query_id = check_saved_query_arguments(self._run_fields.get("saved_query_id"), saved_query_name)
        self.saved_query_name = saved_query_name
        self._run = (
            None
            if saved_query_id is None
            else SavedQueryRun.from_dict({**self._run_fields, "saved_query_id": saved_query_id})
        )
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.cancel_on_kill = cancel_on_kill
        self.stop_when_suspended = stop_when_suspended
        self.posthog_conn_id = posthog_conn_id
        self.project_id = project_id
        self._outage_since: float | None = None

    @property
    def saved_query_run(self) -> SavedQueryRun:
        """The run waited for; known once a name given instead of an id has been looked up."""
        if self._run is None:
            raise RuntimeError(f"Saved query {self.saved_query_name!r} has not been looked up yet.")
        return self._run

    @property
    def saved_query_id(self) -> str | None:
        """The saved query whose run is waited for (``None`` while a name is not looked up yet)."""
        return None if self._run is None else self._run.saved_query_id

    @property
    def requested_after(self) -> float | None:
        """When the run was asked for (epoch seconds), echoed in every event."""
        requested_after: float | None = self._run_fields.get("requested_after")
        return requested_after

    @property
    def _label(self) -> str:
        return self.saved_query_id or repr(self.saved_query_name)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the plain-value kwargs that rebuild this trigger anywhere."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                # As given: a name is looked up again by a trigger rebuilt from these kwargs.
                "run": self._run_fields
                if self.saved_query_name is not None
                else self.saved_query_run.to_dict(),
                "saved_query_name": self.saved_query_name,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "cancel_on_kill": self.cancel_on_kill,
                "stop_when_suspended": self.stop_when_suspended,
                "posthog_conn_id": self.posthog_conn_id,
                "project_id": self.project_id,
            },
        )

    def _hook(self) -> PostHogAsyncHook:
        return PostHogAsyncHook(posthog_conn_id=self.posthog_conn_id, project_id=self.project_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the run ends or the deadline passes, then yield one event.

        The hook is released before the event is yielded, so the shared session's last user closes it
        on every way out, cancellation included.
        """
        try:
            payload = await self._look_up_name() if self._run is None else None
            if payload is None:
                payload = await self._wait()
        except Exception as error:
            payload = stop_event(
                EVENT_ERROR,
                self.saved_query_id,
                f"Waiting for saved query {self._label} failed unexpectedly: {type(error).__name__}: {error}",
                self.requested_after,
            )
        yield TriggerEvent(payload)

    async def _look_up_name(self) -> dict[str, Any] | None:
        """Find the id of the view named ``saved_query_name``; an event when that cannot be done.

        Lost connections, 5xx and 429 answers are waited out until the deadline, as polls are.
        """
        name = str(self.saved_query_name)
        while True:
            hook = self._hook()
            try:
                saved_query_id = await _cut_off_after(
                    self.deadline - time.time(), asaved_query_id_named(hook, name)
                )
            except asyncio.TimeoutError:
                return self._timeout_event()
            except TRANSIENT_ERRORS as error:
                self._note_outage(error)
            except (PostHogError, ValueError) as error:
                return stop_event(
                    EVENT_ERROR, None, f"Could not find saved query {name!r}: {error}", self.requested_after
                )
            else:
                self._note_recovery()
                self._run = SavedQueryRun.from_dict({**self._run_fields, "saved_query_id": saved_query_id})
                return None
            finally:
                await hook.close()
            await asyncio.sleep(max(0.0, min(self.poll_interval, self.deadline - time.time())))

    async def _wait(self) -> dict[str, Any]:
        # The connection's poller reads every waiting run of this triggerer once per interval; it paces
        # the loop, so a trigger never polls PostHog on its own.
        poller = shared_run_poller(
            self.posthog_conn_id, None if self.project_id is None else str(self.project_id)
        )
        while True:
            try:
                # A reading can take minutes (read timeouts, retry waits, the rate limiter's queue): the
                # wait for it is cut off at the deadline, so the timeout event is never late.
                state = await _cut_off_after(
                    self.deadline - time.time(), poller.next_state(self.saved_query_run, self.poll_interval)
                )
                suspended = None
                if self.stop_when_suspended and state.status is None:
                    suspended = await _cut_off_after(self.deadline - time.time(), self._suspended_event())
            except asyncio.TimeoutError:
                return self._timeout_event()
            except TRANSIENT_ERRORS as error:
                self._note_outage(error)
            except PostHogError as error:
                return stop_event(
                    EVENT_ERROR,
                    self.saved_query_id,
                    f"Could not read saved query {self._label}: {error}",
                    self.requested_after,
                )
            else:
                self._note_recovery()
                if suspended is not None:
                    return suspended
                if state.terminal:
                    run = self.saved_query_run
                    return run_event(
                        run.saved_query_id,
                        state,
                        self.requested_after,
                        joined_running_refresh=run.joined_job_id is not None,
                    )
            if self.deadline - time.time() <= 0:
                return self._timeout_event()

    async def _suspended_event(self) -> dict[str, Any] | None:
        """The ``suspended`` event when PostHog has suspended the view, else ``None`` (one GET)."""
        saved_query_id = self.saved_query_run.saved_query_id
        hook = self._hook()
        try:
            suspension = await aread_suspension(hook, saved_query_id)
        finally:
            await hook.close()
        if suspension is None:
            return None
        return suspended_event(
            saved_query_id, suspension.waiting_in_vain(saved_query_id), self.requested_after
        )

    def _timeout_event(self) -> dict[str, Any]:
        return stop_event(
            EVENT_TIMEOUT,
            self.saved_query_id,
            f"Saved query {self._label} run had not ended by its deadline "
            f"({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self.deadline))}).",
            self.requested_after,
        )

    def _note_outage(self, error: PostHogError) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            self.log.warning(
                "Cannot reach PostHog for saved query %s (%s); polling goes on until the deadline.",
                self._label,
                error,
            )

    def _note_recovery(self) -> None:
        if self._outage_since is not None:
            self.log.info(
                "Reached PostHog again for saved query %s after %.1f s.",
                self._label,
                time.monotonic() - self._outage_since,
            )
            self._outage_since = None

    async def on_kill(self) -> None:
        """Ask PostHog to cancel the run when a user kills the deferred task (Airflow 3.3+).

        Older Airflow versions never call this; the run then goes on in PostHog. PostHog refuses the
        cancel to personal API keys (403): that is logged as a warning saying the run goes on.
        """
        if not self.cancel_on_kill:
            return
        if self.saved_query_id is None:  # killed before its name was looked up: no run yet
            return
        hook = self._hook()
        try:
            await acancel_run(hook, self.saved_query_id, self.log)
        finally:
            await hook.close()


async def _cut_off_after(seconds: float, poll: Coroutine[Any, Any, T]) -> T:
    """Await ``poll`` for at most ``seconds``, then cancel it and raise :class:`asyncio.TimeoutError`.

    Not ``asyncio.wait_for``: before Python 3.12 it returns the result and drops the caller's
    cancellation when the awaited call finishes in the same loop step as the cancel arrives, so a
    trigger Airflow cancels (the task was killed, the triggerer moves it) could go on polling to
    its deadline. Here a cancellation always propagates, after the poll has wound down.

    :param seconds: the time left; at or below zero the poll is not started at all.
    :param poll: the coroutine to await.
    """
    if seconds <= 0:
        poll.close()
        raise asyncio.TimeoutError
    task = asyncio.ensure_future(poll)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.wait({task})  # let the poll close its page walk before the hook is closed
        raise
    if not done:
        task.cancel()
        await asyncio.wait({task})
        raise asyncio.TimeoutError
    return task.result()


#: The kwargs 0.1 serialised this trigger with, besides those it still takes.
_FLAT_KWARGS_OF_0_1 = frozenset(
    {"saved_query_id", "requested_after", "baseline_taken", "baseline_job_id", "baseline_job_created_at"}
)


def _run_of_0_1(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The ``run`` dict for a trigger 0.1 serialised with flat kwargs (a task deferred before an upgrade).

    :param kwargs: the flat kwargs.
    :raises TypeError: for any other keyword, as for an unknown argument.
    """
    unknown = kwargs.keys() - _FLAT_KWARGS_OF_0_1
    if unknown:
        raise TypeError(f"PostHogSavedQueryRunTrigger got unexpected keyword arguments {sorted(unknown)}.")
    baseline = None
    if kwargs.get("baseline_taken"):
        baseline = {
            "job_id": kwargs.get("baseline_job_id"),
            "created_at": kwargs.get("baseline_job_created_at"),
        }
    return {
        "saved_query_id": kwargs.get("saved_query_id"),
        "requested_after": kwargs.get("requested_after"),
        "baseline": baseline,
    }
