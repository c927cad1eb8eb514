"""A saved query's run over HTTP: ask for it, read where it stands, cancel it.

Two faces over the one decision of :mod:`airflow_provider.saved_query_runs.state`:
:func:`start_run`, :func:`read_run_state` and :func:`cancel_run` for workers (the run operator and the
sensor, through the sync hook), and :func:`aread_run_state`, :func:`aread_run_states` (the triggerer's
shared walk of many runs) and :func:`acancel_run` for the triggerer (through the async hook). Each
reads only as many jobs as the decision needs, and never re-sends a ``run`` whose answer was lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import replace
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

from airflow_provider.api.arguments import require_timestamp
from airflow_provider.api.errors import (
    PostHogConnectionError,
    PostHogError,
    PostHogPermissionError,
    PostHogRateLimitError,
    PostHogResponseLostError,
    PostHogServerError,
    PostHogValidationError,
)
from airflow_provider.saved_query_runs.state import JobBaseline, RunState, SavedQueryRun, is_running

if TYPE_CHECKING:
    from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook


#: PostHog's largest ``limit`` for ``data_modeling_jobs``: the fewest requests per walk of many runs.
WALK_PAGE_SIZE = 100
#: The most jobs one walk reads (100 pages): enough for thousands of waits begun minutes apart.
MAX_WALK_JOBS = 10_000
#: Seconds a worker's clock may be ahead of PostHog's when a walk compares jobs with ``requested_after``.
WALK_CLOCK_SLACK = 300.0
#: Jobs asked for a page when looking for ours (PostHog's default page size).
JOBS_PAGE_SIZE = 10
#: The most jobs read in one look: a run buried under more later jobs than this is taken to be the
#: oldest of them (one more page per 10 jobs that started after ours).
MAX_JOBS_READ = 100

# Errors after which polling goes on: PostHog unreachable, overloaded or throttling us. The client has
# already retried them; a trigger keeps polling until its deadline instead of failing the task.
TRANSIENT_ERRORS: tuple[type[PostHogError], ...] = (
    PostHogConnectionError,
    PostHogServerError,
    PostHogRateLimitError,
)


def start_run(
    hook: PostHogHook,
    saved_query_id: str,
    log: logging.Logger | Any,
    full_refresh: bool = False,
    follow_preempted: bool = True,
) -> SavedQueryRun:
    """Ask PostHog to run a saved query now, and return the run to wait for.

    The newest job is read first (the baseline). When it is running, and still is the newest job and
    running once PostHog has answered, it was running all through the request: PostHog's ``run``
    joined it (one workflow per view, ``USE_EXISTING``) and it is the job waited for. Otherwise the
    run's job is the first after the baseline; PostHog may list it only some time after answering.
    A lost answer to the ``run`` request is never re-sent (that could start a second run): if
    PostHog shows a run of ours anyway, that run is waited for.

    :param hook: the sync hook of the task's connection and project.
    :param saved_query_id: the saved query's UUID.
    :param log: where a recovered lost answer and a joined refresh are logged (``info``, ``warning``).
    :param full_refresh: ask PostHog to rebuild an incremental view's whole table.
    :param follow_preempted: see :class:`SavedQueryRun`.
    :raises PostHogResponseLostError: when the answer was lost and no run of ours is visible.
    """
    before = newest_job(hook, saved_query_id)
    run = SavedQueryRun(
        saved_query_id, time.time(), JobBaseline.of(before), follow_preempted=follow_preempted
    )
    lost: PostHogResponseLostError | None = None
    try:
        hook.run_saved_query(saved_query_id, full_refresh=full_refresh)
    except PostHogResponseLostError as error:
        lost = error
    if before is not None and is_running(before):
        after = newest_job(hook, saved_query_id)
        if after is not None and after.get("id") == before.get("id") and is_running(after):
            run = replace(run, joined_job_id=str(before["id"]))
            log.info(
                "Saved query %s was already being refreshed (data-modeling job %s): PostHog joins a "
                "run asked for meanwhile to that refresh, so it is the one waited for.",
                saved_query_id,
                run.joined_job_id,
            )
    if lost is not None:
        if read_run_state(hook, run).status is None:
            raise lost
        log.warning("The answer to the run request was lost, but PostHog started the run.")
    return run


def read_run_state(hook: PostHogHook, run: SavedQueryRun) -> RunState:
    """Read where ``run`` stands, from a worker: its job, else the saved query's own status.

    One GET of the saved query's newest jobs (a page of :data:`JOBS_PAGE_SIZE`; more only while
    every job on it started after ours), plus one GET of the saved query when the jobs cannot tell.

    :param hook: the sync hook of the task's connection and project.
    :param run: the run waited for.
    :return: the run's state; ``status`` is ``None`` while no run of ours is visible yet.
    """
    jobs: list[dict[str, Any]] = []
    for job in hook.list_data_modeling_jobs(saved_query_id=run.saved_query_id, page_size=JOBS_PAGE_SIZE):
        jobs.append(job)
        if _read_enough(run, jobs):
            break
    state = run.state_from_jobs(jobs)
    return (
        state if state is not None else run.state_from_saved_query(hook.get_saved_query(run.saved_query_id))
    )


async def aread_run_state(hook: PostHogAsyncHook, run: SavedQueryRun) -> RunState:
    """Read where ``run`` stands, in the triggerer: the same requests and decision as :func:`read_run_state`.

    :param hook: the async hook of the trigger's connection and project.
    :param run: the run waited for.
    """
    listing = cast(
        "AsyncGenerator[dict[str, Any], None]",
        hook.list_data_modeling_jobs(saved_query_id=run.saved_query_id, page_size=JOBS_PAGE_SIZE),
    )
    jobs: list[dict[str, Any]] = []
    async with aclosing(listing):  # closed once enough is read: no further page is asked for
        async for job in listing:
            jobs.append(job)
            if _read_enough(run, jobs):
                break
    state = run.state_from_jobs(jobs)
    if state is None:
        state = run.state_from_saved_query(await hook.get_saved_query(run.saved_query_id))
    return state


async def aread_run_states(hook: PostHogAsyncHook, runs: list[SavedQueryRun]) -> list[RunState]:
    """Where each of many runs stands, from one reading shared by all of them (the triggerer's poller).

    One run: :func:`aread_run_state`. Several: the project's job listing, newest first, in pages of
    :data:`WALK_PAGE_SIZE`, until every run's jobs since it was asked for have been read, and each run
    decided from its own saved query's jobs in it. A run the walk cannot decide (its saved query has no
    job at all yet, or it was asked for before the oldest job read) is read on its own.

    :param hook: the async hook of the triggers' connection and project.
    :param runs: the runs waited for.
    :returns: their states, in the order of ``runs``.
    """
    if len(runs) == 1:
        return [await aread_run_state(hook, runs[0])]
    jobs, complete = await _walk(hook, runs)
    states: list[RunState] = []
    for run in runs:
        state = None
        if complete or _walk_reached(run, jobs[-1]):  # every job since this run was asked for was read
            own = [job for job in jobs if job.get("saved_query_id") == run.saved_query_id]
            state = run.state_from_jobs(own) if own else None
            if state is None and run.baseline is not None and run.baseline.job_id is not None:
                state = RunState(status=None)  # the query has jobs; ours is not listed yet
            if state is None:  # no job of this query: only the query's own status can tell
                state = run.state_from_saved_query(await hook.get_saved_query(run.saved_query_id))
        states.append(state if state is not None else await aread_run_state(hook, run))
    return states


async def _walk(hook: PostHogAsyncHook, runs: list[SavedQueryRun]) -> tuple[list[dict[str, Any]], bool]:
    """The project's jobs, newest first, until every run's jobs since it was asked for have been read.

    At most :data:`MAX_WALK_JOBS`; a run asked for before the oldest job read is then read on its own.

    :returns: the jobs, and whether they are all the project has.
    """
    listing = cast(
        "AsyncGenerator[dict[str, Any], None]",
        hook.list_data_modeling_jobs(page_size=WALK_PAGE_SIZE),
    )
    jobs: list[dict[str, Any]] = []
    async with aclosing(listing):  # closed once enough is read: no further page is asked for
        async for job in listing:
            jobs.append(job)
            if len(jobs) % WALK_PAGE_SIZE == 0 and (
                len(jobs) >= MAX_WALK_JOBS or all(_walk_reached(run, job) for run in runs)
            ):
                return jobs, False
    return jobs, True


def _walk_reached(run: SavedQueryRun, job: dict[str, Any]) -> bool:
    """Whether a walk that got to ``job`` has read every job of ``run`` since it was asked for.

    By PostHog's own order when the run has a baseline job; otherwise once the walk is well before the
    worker's ``requested_after`` (:data:`WALK_CLOCK_SLACK` allows for the clocks differing). A run
    that joined a refresh is reached only at that refresh's job (its baseline), which may have
    started long before the run was asked for.
    """
    if not run.keep_reading_after(job):
        return True
    if run.joined_job_id is not None and run.baseline is not None:
        return not run.baseline.is_followed_by(job)
    moment = require_timestamp("created_at", job.get("created_at"))
    return (
        run.requested_after is not None
        and moment is not None
        and (moment < run.requested_after - WALK_CLOCK_SLACK)
    )


def _read_enough(run: SavedQueryRun, jobs: list[dict[str, Any]]) -> bool:
    return not run.keep_reading_after(jobs[-1]) or len(jobs) >= MAX_JOBS_READ


def cancel_run(hook: PostHogHook, saved_query_id: str, log: logging.Logger | Any) -> None:
    """Ask PostHog to cancel a run from a worker; a refusal (403 for personal keys) is logged, never raised.

    :param hook: the sync hook of the task's connection and project.
    :param saved_query_id: the saved query whose run should stop.
    :param log: where the outcome is logged (anything with ``log(level, msg)``).
    """
    error: PostHogError | None = None
    try:
        hook.cancel_saved_query(saved_query_id)
    except PostHogError as raised:
        error = raised
    log.log(*_describe_cancel(saved_query_id, error))


async def acancel_run(hook: PostHogAsyncHook, saved_query_id: str, log: logging.Logger | Any) -> None:
    """Ask PostHog to cancel a run from the triggerer; logged like :func:`cancel_run`, never raised.

    :param hook: the async hook of the trigger's connection and project.
    :param saved_query_id: the saved query whose run should stop.
    :param log: where the outcome is logged.
    """
    error: PostHogError | None = None
    try:
        await hook.cancel_saved_query(saved_query_id)
    except PostHogError as raised:
        error = raised
    log.log(*_describe_cancel(saved_query_id, error))


def newest_job(hook: PostHogHook, saved_query_id: str) -> dict[str, Any] | None:
    """The saved query's newest data-modeling job, or ``None`` before its first.

    :param hook: a sync hook.
    :param saved_query_id: the saved query.
    """
    return next(iter(hook.list_data_modeling_jobs(saved_query_id=saved_query_id, page_size=1)), None)


def recent_job(hook: PostHogHook, saved_query_id: str, job_id: str) -> dict[str, Any] | None:
    """The job a run ended with (for its ``rows_materialized``), looked for among the newest hundred only.

    :param hook: a sync hook.
    :param saved_query_id: the saved query.
    :param job_id: the job.
    """
    recent = islice(hook.list_data_modeling_jobs(saved_query_id=saved_query_id, page_size=10), 100)
    return next((job for job in recent if job.get("id") == job_id), None)


def _describe_cancel(saved_query_id: str, error: PostHogError | None) -> tuple[int, str]:
    """The log level and message for the outcome of asking PostHog to cancel a run.

    A warning when the run may go on in PostHog (a 403 for personal API keys, or any other
    failure); info when PostHog accepted or had no run to cancel.
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
