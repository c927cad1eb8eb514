"""One poller per connection and project in a triggerer: every waiting saved-query run, one listing walk.

Each :class:`~airflow_provider.triggers.saved_queries.PostHogSavedQueryRunTrigger` asks
:func:`shared_run_poller` for the next reading of its run. The poller of its connection and project (one
per event loop, started by the first waiter, gone after the last) reads at once when it starts, then
once per interval (the shortest ``poll_interval`` among its waiters), and answers every waiter from that
one reading:

- one waiter: the saved query's own jobs (``data_modeling_jobs?saved_query_id=...``), one request, as a
  trigger polling alone always did;
- several: the project's job listing, newest first, page by page (PostHog's largest page, 100 jobs),
  until every waiter has seen all jobs created since its run was asked for. Each waiter's run is then
  decided from its own saved query's jobs in that reading, by the same decision as a lone poll
  (:class:`~airflow_provider.saved_query_runs.state.SavedQueryRun`). A run with no job at all yet (PostHog's
  v1 backend) is read from its saved query, one GET each.

A reading that fails (PostHog unreachable, throttling, refusing) is handed to every waiter of that
round as the same exception, so each trigger decides as it would on its own poll failing. A waiter
that goes away (its task was killed, its deadline passed) simply stops being read for.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field

from airflow_provider.hooks.posthog import PostHogAsyncHook
from airflow_provider.saved_query_runs.io import aread_run_states
from airflow_provider.saved_query_runs.state import RunState, SavedQueryRun


def _new_future() -> asyncio.Future[RunState]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Waiter:
    run: SavedQueryRun
    poll_interval: float
    answer: asyncio.Future[RunState] = field(default_factory=_new_future)


class RunPoller:
    """Reads the runs of every waiting trigger of one connection and project, once per interval.

    :param posthog_conn_id: the connection.
    :param project_id: the project, or ``None`` for the connection's.
    """

    def __init__(self, posthog_conn_id: str, project_id: str | None) -> None:
        self.posthog_conn_id = posthog_conn_id
        self.project_id = project_id
        self._waiters: list[_Waiter] = []
        self._task: asyncio.Task[None] | None = None

    async def next_state(self, run: SavedQueryRun, poll_interval: float) -> RunState:
        """Where ``run`` stands at the poller's next reading (after at most ``poll_interval`` seconds).

        :param run: the run waited for.
        :param poll_interval: the longest this caller wants to wait for a reading.
        :raises PostHogError: what that reading failed with.
        """
        waiter = _Waiter(run, poll_interval)
        self._waiters.append(waiter)
        if self._task is None:
            self._task = asyncio.ensure_future(self._poll())
        try:
            return await waiter.answer
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def _poll(self) -> None:
        hook = PostHogAsyncHook(posthog_conn_id=self.posthog_conn_id, project_id=self.project_id)
        try:
            pause = 0.0  # the first reading at once: a run that ended already is seen without waiting
            while True:
                await asyncio.sleep(pause)
                # Triggers answered last round asked again meanwhile; none left means none is waiting.
                waiters = [waiter for waiter in self._waiters if not waiter.answer.done()]
                if not waiters:
                    break
                # Readings start once per interval: a long walk shortens the pause after it.
                round_started = time.monotonic()
                await self._round(hook, waiters)
                interval = min(waiter.poll_interval for waiter in waiters)
                pause = max(0.0, interval - (time.monotonic() - round_started))
                self._waiters = [waiter for waiter in self._waiters if not waiter.answer.done()]
        finally:
            self._task = None  # before any await: a waiter arriving from now on starts a new poll loop
            await hook.close()

    async def _round(self, hook: PostHogAsyncHook, waiters: list[_Waiter]) -> None:
        if not waiters:
            return
        try:
            states = await aread_run_states(hook, [waiter.run for waiter in waiters])
        except Exception as error:  # every waiter of the round sees the same failure
            for waiter in waiters:
                if not waiter.answer.done():
                    waiter.answer.set_exception(error)
            return
        for waiter, state in zip(waiters, states, strict=True):
            if not waiter.answer.done():
                waiter.answer.set_result(state)


_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str | None], RunPoller]] = (
    weakref.WeakKeyDictionary()
)


def shared_run_poller(posthog_conn_id: str, project_id: str | None) -> RunPoller:
    """The poller of this connection and project in the running event loop (made on first use).

    :param posthog_conn_id: the connection.
    :param project_id: the project, or ``None`` for the connection's.
    """
    pollers = _POLLERS.setdefault(asyncio.get_running_loop(), {})
    key = (posthog_conn_id, project_id)
    if key not in pollers:
        pollers[key] = RunPoller(posthog_conn_id, project_id)
    return pollers[key]
