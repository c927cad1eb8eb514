"""One home for a saved query's run: ask for it, find the job that is ours, judge it, cancel it.

PostHog's ``run`` action answers 200 with no run id (``docs/posthog-api.md``, "Saved queries"), so
:func:`start_run` reads the saved query's newest data-modeling job just before asking (a
:class:`JobBaseline`) and the run followed is the first job PostHog lists after it, judged by
PostHog's own ids and timestamps, never by the worker's clock; a later job (a scheduled refresh, a
materialization, someone else's run) is never taken for it. Without a baseline (a sensor given only
``requested_after``) a run is the first job created after that time. While the saved query has no
job at all, its own ``status`` is used (PostHog's v1 backend writes only that). PostHog runs one
refresh of a view at a time, so a run asked for while one was running joins it and that job is
followed (``joined_job_id``); a job PostHog preempted for a newer run is followed on to the job that
took over, unless the task asked to fail (``follow_preempted``).

A :class:`SavedQueryRun` says which run is followed, and its :meth:`~SavedQueryRun.judge_jobs` and
:meth:`~SavedQueryRun.judge_saved_query` are the one decision of where it stands. It has two faces
over that decision: :func:`read_run_state` and :func:`cancel_run` for workers (the run operator and
the sensor, through the sync hook) and :func:`aread_run_state` and :func:`acancel_run` for the
triggerer (through the async hook). A trigger reports through :func:`run_event` or
:func:`stop_event`, and a resumed task trusts the event only after :func:`validate_run_event`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from enum import Enum
from itertools import islice, takewhile
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk.exceptions import AirflowException

from airflow_provider.api.arguments import invalid, require_text, require_timestamp, require_uuid
from airflow_provider.api.errors import (
    PostHogConfigError,
    PostHogConnectionError,
    PostHogError,
    PostHogPermissionError,
    PostHogRateLimitError,
    PostHogResponseLostError,
    PostHogServerError,
    PostHogValidationError,
)

if TYPE_CHECKING:
    from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook


class SavedQueryRunStatus(str, Enum):
    """PostHog's run statuses, Capitalised as PostHog sends them (``docs/posthog-api.md`` §7.5, §9.10).

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

#: PostHog's largest ``limit`` for ``data_modeling_jobs``: the fewest requests per walk of many runs.
WALK_PAGE_SIZE = 100
#: The most jobs one walk reads (100 pages): enough for thousands of waits begun minutes apart.
MAX_WALK_JOBS = 10_000
#: Seconds a worker's clock may be ahead of PostHog's when a walk judges by ``requested_after``.
WALK_CLOCK_SLACK = 300.0

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
    :param superseded: whether the job followed is a newer one that took over from a preempted job
        of ours (see :func:`job_state`).
    """

    status: str | None
    job_id: str | None = None
    error: str | None = None
    superseded: bool = False

    @property
    def terminal(self) -> bool:
        """True once the run has ended, whichever way."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        """True only for a run PostHog reports as ``Completed``."""
        return self.status == SavedQueryRunStatus.COMPLETED.value


def check_saved_query_id(value: object) -> str:
    """Return ``saved_query_id`` as a canonical UUID string, or raise naming the argument.

    :param value: the ``saved_query_id`` argument.
    :raises PostHogConfigError: for anything but a string holding a UUID.
    """
    return require_uuid(
        "saved_query_id",
        value,
        hint="View names are not accepted here: to give the view by its name, pass saved_query_name=.",
    )


#: PostHog's longest view name (``DataWarehouseSavedQuery.name``).
SAVED_QUERY_NAME_MAX_LENGTH = 128


def check_saved_query_name(value: object) -> str:
    """Return ``saved_query_name`` if it can be a view's name: a non-empty string of at most 128 characters.

    :param value: the ``saved_query_name`` argument.
    :raises PostHogConfigError: otherwise.
    """
    return require_text("saved_query_name", value, max_length=SAVED_QUERY_NAME_MAX_LENGTH)


def check_saved_query_arguments(
    saved_query_id: object, saved_query_name: object, skip: Callable[[object], bool] = lambda _: False
) -> None:
    """Refuse anything but exactly one of ``saved_query_id`` and ``saved_query_name``, each well formed.

    :param saved_query_id: the ``saved_query_id`` argument, or ``None``.
    :param saved_query_name: the ``saved_query_name`` argument, or ``None``.
    :param skip: values not to check yet (templates, when the DAG is parsed).
    :raises PostHogConfigError: when both or neither are given, or the one given is malformed.
    """
    if (saved_query_id is None) == (saved_query_name is None):
        given = "both" if saved_query_id is not None else "neither"
        raise PostHogConfigError(
            "Give exactly one of saved_query_id (the view's UUID) and saved_query_name (its name in "
            f"PostHog); got {given}."
        )
    if saved_query_id is not None and not skip(saved_query_id):
        check_saved_query_id(saved_query_id)
    if saved_query_name is not None and not skip(saved_query_name):
        check_saved_query_name(saved_query_name)


def saved_query_id_of(hook: PostHogHook, saved_query_id: object, saved_query_name: object) -> str:
    """The view's UUID from the rendered arguments: ``saved_query_id`` as given, or the id of the one
    view PostHog lists under exactly ``saved_query_name`` (one listing, at execute, never at parse time).

    :param hook: the sync hook of the task's connection and project.
    :param saved_query_id: the ``saved_query_id`` argument, or ``None``.
    :param saved_query_name: the ``saved_query_name`` argument, or ``None``.
    :raises PostHogConfigError: for bad arguments, or a name that no view or several views have.
    """
    check_saved_query_arguments(saved_query_id, saved_query_name)
    if saved_query_name is None:
        return check_saved_query_id(saved_query_id)
    name = check_saved_query_name(saved_query_name)
    return _one_named(name, hook.list_saved_queries(search=name))


async def asaved_query_id_named(hook: PostHogAsyncHook, saved_query_name: str) -> str:
    """The id of the one view named exactly ``saved_query_name``, from the triggerer (see
    :func:`saved_query_id_of`).

    :param hook: the async hook of the trigger's connection and project.
    :param saved_query_name: the view's name.
    :raises PostHogConfigError: for a name that no view or several views have.
    """
    name = check_saved_query_name(saved_query_name)
    listing = cast("AsyncGenerator[dict[str, Any], None]", hook.list_saved_queries(search=name))
    async with aclosing(listing):
        views = [view async for view in listing]
    return _one_named(name, views)


def _one_named(name: str, listed: Iterable[dict[str, Any]]) -> str:
    """The id of the one view of ``listed`` (PostHog's ``search``: a substring, any case) named ``name``."""
    listed = list(listed)
    named = [view for view in listed if view.get("name") == name]
    if len(named) == 1:
        return str(named[0]["id"])
    if not named:
        similar = ", ".join(repr(view.get("name")) for view in listed[:5])
        invalid(
            "saved_query_name",
            "the exact name of a saved query PostHog lists",
            name,
            "No view has this name (names match exactly, case included; PostHog does not list the "
            "views it makes for endpoints)" + (f"; views with similar names: {similar}." if similar else "."),
        )
    invalid(
        "saved_query_name",
        "the name of exactly one saved query",
        name,
        f"{len(named)} views have it ({', '.join(str(view.get('id')) for view in named)}): pass "
        "saved_query_id instead.",
    )


def _created_after(obj: dict[str, Any], key: str, requested_after: float | None) -> bool:
    if requested_after is None:
        return True
    moment = require_timestamp(key, obj.get(key))
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
        baseline_created = require_timestamp("created_at", self.created_at)
        if baseline_created is None:
            return True
        created = require_timestamp("created_at", job.get("created_at"))
        return created is not None and created >= baseline_created


#: Jobs asked for a page when looking for ours (PostHog's default page size).
JOBS_PAGE_SIZE = 10
#: The most jobs read in one look: a run buried under more later jobs than this is taken to be the
#: oldest of them (one more page per 10 jobs that started after ours).
MAX_JOBS_READ = 100


#: How PostHog's preempt activity words the error of a job a newer run of the view's DAG took over
#: from (``PREEMPTED_ERROR``, ``posthog/temporal/data_modeling/activities/preempt_dag_run.py``).
PREEMPTED_PREFIX = "Preempted:"
#: How PostHog words the error of a job whose materialization workflow was lost.
ABANDONED_PREFIX = "Abandoned:"


def is_preempted(job: dict[str, Any]) -> bool:
    """Whether PostHog ended ``job`` because a newer run took over from it: ``Failed`` with its
    "Preempted: ..." error, or ``Cancelled`` (how older PostHog versions ended a superseded job).

    Only a job with a newer one listed after it is ever taken as superseded (see :func:`job_state`).

    :param job: a job as PostHog lists it.
    """
    return job.get("status") == SavedQueryRunStatus.CANCELLED.value or _preempted_by_dag_run(job)


def _preempted_by_dag_run(job: dict[str, Any]) -> bool:
    """Whether newest PostHog preempted ``job``: a newer run took over, whose job is sure to follow
    (unlike ``Cancelled``, which may also be a user's cancel)."""
    return job.get("status") == SavedQueryRunStatus.FAILED.value and str(job.get("error") or "").startswith(
        PREEMPTED_PREFIX
    )


def job_state(
    jobs: Sequence[dict[str, Any]],
    requested_after: float | None,
    baseline: JobBaseline | None = None,
    joined_job_id: str | None = None,
    follow_preempted: bool = True,
) -> RunState | None:
    """The run's state from the saved query's data-modeling jobs, if one of them is ours.

    Ours is the job the run joined (``joined_job_id``: a refresh already running when the run was
    asked for), else the **first** job after the marker (the baseline, else ``requested_after``), not
    the newest: a scheduled refresh, a materialization or someone else's run that starts while ours
    is going on is newer, and must not be taken for it. The one exception: when PostHog ended ours
    because a newer run of the view took over (:func:`is_preempted`) and ``follow_preempted``, the
    job that took over (the next newer one) is followed instead, and so on.

    :param jobs: the saved query's jobs, newest first, read at least up to ours (see
        :meth:`SavedQueryRun.reads_past`).
    :param requested_after: epoch seconds taken just before the run was asked for; used only without
        a ``baseline``; ``None`` (and no baseline) follows whatever run is newest.
    :param baseline: the newest job before the run was asked for; when given, ours is the oldest
        newer job (see :meth:`JobBaseline.is_followed_by`) and ``requested_after`` is not compared
        with jobs.
    :param joined_job_id: the running job the run joined, if it joined one.
    :param follow_preempted: follow the job that took over from a preempted one; ``False`` reports
        the preempted job as it ended.
    :return: the state of our job; ``RunState(None)`` while a baseline was taken or a job joined and
        ours is not listed (yet), or while ours was preempted and the job that took over is not
        listed yet; ``None`` when :func:`saved_query_state` must decide: no job at all, or, without
        a baseline, no job created after ``requested_after``.
    """
    if not jobs:
        return None if joined_job_id is None else RunState(status=None)
    if joined_job_id is not None:
        ids = [str(job.get("id")) for job in jobs]
        if joined_job_id not in ids:
            return RunState(status=None)
        index = ids.index(joined_job_id)
    elif baseline is None and requested_after is None:
        index = 0
    else:
        newer = list(takewhile(lambda job: _is_after_marker(job, requested_after, baseline), jobs))
        if not newer:
            return RunState(status=None) if baseline is not None else None
        index = len(newer) - 1
    superseded = False
    while follow_preempted and index > 0 and is_preempted(jobs[index]):
        index -= 1  # the next newer job: the run that took over from ours
        superseded = True
    ours = jobs[index]
    if follow_preempted and index == 0 and _preempted_by_dag_run(ours):
        return RunState(status=None, superseded=superseded)  # the job that took over is not listed yet
    return RunState(
        status=ours.get("status"),
        job_id=None if ours.get("id") is None else str(ours["id"]),
        error=ours.get("error") or None,
        superseded=superseded,
    )


def _is_after_marker(
    job: dict[str, Any], requested_after: float | None, baseline: JobBaseline | None
) -> bool:
    if baseline is not None:
        return baseline.is_followed_by(job)
    return _created_after(job, "created_at", requested_after)


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


@dataclass(frozen=True)
class SavedQueryRun:
    """The run a task follows: which saved query, and how to tell its job from earlier ones.

    :param saved_query_id: the saved query's UUID.
    :param requested_after: epoch seconds taken just before the run was asked for; ``None`` follows
        the newest run, whenever it started.
    :param baseline: the newest job before the run was asked for, when it was read (see
        :func:`job_state`).
    :param joined_job_id: the job that was running when the run was asked for and still was once
        PostHog answered: the refresh the run joined (PostHog starts one workflow per view and a
        ``run`` during it starts nothing new).
    :param follow_preempted: when PostHog preempts the job followed, follow the job that took over
        (``False``: the preempted job is the run's outcome, a failure).
    """

    saved_query_id: str
    requested_after: float | None = None
    baseline: JobBaseline | None = None
    joined_job_id: str | None = None
    follow_preempted: bool = True

    def reads_past(self, job: dict[str, Any]) -> bool:
        """Whether the job listing (newest first) must be read past ``job`` to find ours.

        :param job: the last job read.
        """
        if self.joined_job_id is not None:
            return str(job.get("id")) != self.joined_job_id
        if self.baseline is None and self.requested_after is None:
            return False  # the newest job is the one followed
        return _is_after_marker(job, self.requested_after, self.baseline)

    def judge_jobs(self, jobs: Sequence[dict[str, Any]]) -> RunState | None:
        """Where the run stands from the saved query's jobs; ``None`` when the saved query must tell.

        :param jobs: newest first, as read by :func:`read_run_state` (see :func:`job_state`).
        """
        return job_state(jobs, self.requested_after, self.baseline, self.joined_job_id, self.follow_preempted)

    def judge_saved_query(self, saved_query: dict[str, Any]) -> RunState:
        """Where the run stands from the saved query itself, when :meth:`judge_jobs` could not tell.

        :param saved_query: the saved query as ``GET warehouse_saved_queries/{id}/`` returns it.
        """
        return saved_query_state(saved_query, self.requested_after)

    def trigger_kwargs(self) -> dict[str, Any]:
        """This run as the plain values a trigger is serialised with (and rebuilt from anywhere)."""
        return {
            "saved_query_id": self.saved_query_id,
            "requested_after": self.requested_after,
            "baseline_taken": self.baseline is not None,
            "baseline_job_id": None if self.baseline is None else self.baseline.job_id,
            "baseline_job_created_at": None if self.baseline is None else self.baseline.created_at,
            "joined_job_id": self.joined_job_id,
            "follow_preempted": self.follow_preempted,
        }

    @classmethod
    def from_trigger_kwargs(
        cls,
        saved_query_id: str,
        requested_after: float | None,
        baseline_taken: bool,
        baseline_job_id: str | None,
        baseline_job_created_at: str | None,
        *,
        joined_job_id: str | None = None,
        follow_preempted: bool = True,
    ) -> SavedQueryRun:
        """The run a trigger's kwargs describe (the inverse of :meth:`trigger_kwargs`).

        :param saved_query_id: the saved query's UUID.
        :param requested_after: epoch seconds taken before the run was asked for, or ``None``.
        :param baseline_taken: whether a baseline was read before the run was asked for.
        :param baseline_job_id: the baseline job's id, or ``None``.
        :param baseline_job_created_at: the baseline job's ``created_at``, or ``None``.
        :param joined_job_id: the running job the run joined, or ``None``.
        :param follow_preempted: follow the job that takes over from a preempted one.
        """
        baseline = JobBaseline(baseline_job_id, baseline_job_created_at) if baseline_taken else None
        return cls(saved_query_id, requested_after, baseline, joined_job_id, follow_preempted)


def start_run(
    hook: PostHogHook,
    saved_query_id: str,
    log: logging.Logger | Any,
    full_refresh: bool = False,
    follow_preempted: bool = True,
) -> SavedQueryRun:
    """Ask PostHog to run a saved query now, and return the run to follow.

    The newest job is read first (the baseline). When it is running, and still is the newest job and
    running once PostHog has answered, it was running all through the request: PostHog's ``run``
    joined it (one workflow per view, ``USE_EXISTING``) and it is the job followed. Otherwise the
    run's job is the first after the baseline; PostHog may list it only some time after answering.
    A lost answer to the ``run`` request is never re-sent (that could start a second run): if
    PostHog shows a run of ours anyway, it is followed.

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
    if before is not None and _still_running(before):
        after = newest_job(hook, saved_query_id)
        if after is not None and after.get("id") == before.get("id") and _still_running(after):
            run = replace(run, joined_job_id=str(before["id"]))
            log.info(
                "Saved query %s was already being refreshed (data-modeling job %s): PostHog joins a "
                "run asked for meanwhile to that refresh, so it is the one followed.",
                saved_query_id,
                run.joined_job_id,
            )
    if lost is not None:
        if read_run_state(hook, run).status is None:
            raise lost
        log.warning("The answer to the run request was lost, but PostHog started the run.")
    return run


def _still_running(job: dict[str, Any]) -> bool:
    return job.get("status") in (SavedQueryRunStatus.RUNNING.value, SavedQueryRunStatus.QUEUED.value)


def read_run_state(hook: PostHogHook, run: SavedQueryRun) -> RunState:
    """Read where ``run`` stands, from a worker: its job, else the saved query's own status.

    One GET of the saved query's newest jobs (a page of :data:`JOBS_PAGE_SIZE`; more only while
    every job on it started after ours), plus one GET of the saved query when the jobs cannot tell.

    :param hook: the sync hook of the task's connection and project.
    :param run: the run followed.
    :return: the run's state; ``status`` is ``None`` while no run of ours is visible yet.
    """
    jobs: list[dict[str, Any]] = []
    for job in hook.list_data_modeling_jobs(saved_query_id=run.saved_query_id, page_size=JOBS_PAGE_SIZE):
        jobs.append(job)
        if _read_enough(run, jobs):
            break
    state = run.judge_jobs(jobs)
    return state if state is not None else run.judge_saved_query(hook.get_saved_query(run.saved_query_id))


async def aread_run_state(hook: PostHogAsyncHook, run: SavedQueryRun) -> RunState:
    """Read where ``run`` stands, in the triggerer: the same requests and decision as :func:`read_run_state`.

    :param hook: the async hook of the trigger's connection and project.
    :param run: the run followed.
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
    state = run.judge_jobs(jobs)
    if state is None:
        state = run.judge_saved_query(await hook.get_saved_query(run.saved_query_id))
    return state


async def aread_run_states(hook: PostHogAsyncHook, runs: list[SavedQueryRun]) -> list[RunState]:
    """Where each of many runs stands, from one reading shared by all of them (the triggerer's poller).

    One run: :func:`aread_run_state`. Several: the project's job listing, newest first, in pages of
    :data:`WALK_PAGE_SIZE`, until every run's jobs since it was asked for have been read, and each run
    judged from its own saved query's jobs in it. A run the walk cannot judge (its saved query has no
    job at all yet, or it was asked for before the oldest job read) is read on its own.

    :param hook: the async hook of the triggers' connection and project.
    :param runs: the runs followed.
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
            state = run.judge_jobs(own) if own else None
            if state is None and run.baseline is not None and run.baseline.job_id is not None:
                state = RunState(status=None)  # the query has jobs; ours is not listed yet
            if state is None:  # no job of this query: only the query's own status can tell
                state = run.judge_saved_query(await hook.get_saved_query(run.saved_query_id))
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
    if not run.reads_past(job):
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
    return not run.reads_past(jobs[-1]) or len(jobs) >= MAX_JOBS_READ


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
    """A job just followed (for its ``rows_materialized``), looked for among the newest hundred only.

    :param hook: a sync hook.
    :param saved_query_id: the saved query.
    :param job_id: the job.
    """
    recent = islice(hook.list_data_modeling_jobs(saved_query_id=saved_query_id, page_size=10), 100)
    return next((job for job in recent if job.get("id") == job_id), None)


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
    took_over = (
        " This is the newer run that took over from ours, which PostHog preempted (a new run of the "
        "view's DAG started before it completed)."
        if state.superseded
        else ""
    )
    if state.succeeded:
        return f"Saved query {saved_query_id} run{job} completed.{took_over}"
    error = state.error or "PostHog gave no error text"
    message = f"Saved query {saved_query_id} run{job} ended {state.status}: {error}{took_over}"
    if error.startswith(ABANDONED_PREFIX):
        message += " PostHog lost the run's workflow; a retry of this task asks PostHog for a new run."
    return message


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
        "saved_query_id": saved_query_id,
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
    :param saved_query_id: the saved query whose run was followed; ``None`` when a trigger given a
        name could not find the view.
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
