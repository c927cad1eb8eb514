"""Which job is a saved query's run, and where that run stands: a decision from what PostHog listed.

PostHog's ``run`` action answers 200 with no run id (``docs/posthog-api.md``, "Saved queries"), so the
run asked for is told apart from other jobs by a :class:`JobBaseline` (the view's newest job just
before asking): the run is the first job PostHog lists after it, by PostHog's own ids and timestamps,
never by the worker's clock; a later job (a scheduled refresh, a materialization, someone else's run)
is never taken for it. Without a baseline (a sensor given only ``requested_after``) a run is the first
job created after that time. While the saved query has no job at all, its own ``status`` is used
(PostHog's v1 backend writes only that). PostHog runs one refresh of a view at a time, so a run asked
for while one was running joins it (``joined_job_id``); a job PostHog preempted for a newer run is
followed on to the job that took over, unless the task asked to fail (``follow_preempted``).

Nothing here makes a request or imports Airflow: :class:`SavedQueryRun` says which run is waited for,
and its :meth:`~SavedQueryRun.state_from_jobs` and :meth:`~SavedQueryRun.state_from_saved_query` are
the one decision that :mod:`airflow_provider.saved_query_runs.io` feeds with what it read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import takewhile
from typing import Any

from airflow_provider.api.arguments import invalid, require_timestamp
from airflow_provider.api.endpoints import check_saved_query_id


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

#: How PostHog's preempt activity words the error of a job a newer run of the view's DAG took over
#: from (``PREEMPTED_ERROR``, ``posthog/temporal/data_modeling/activities/preempt_dag_run.py``).
PREEMPTED_PREFIX = "Preempted:"
#: How PostHog words the error of a job whose materialization workflow was lost.
ABANDONED_PREFIX = "Abandoned:"


@dataclass(frozen=True)
class RunState:
    """Where a saved query's run stands.

    :param status: PostHog's status string, or ``None`` while no run of ours is visible yet.
    :param job_id: the data-modeling job waited for, if the state came from a job.
    :param error: PostHog's error text for a run that did not complete.
    :param superseded: whether the job waited for is a newer one that took over from a preempted job
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


def is_running(job: dict[str, Any]) -> bool:
    """Whether PostHog lists ``job`` as still going (``Running`` or ``Queued``).

    :param job: a job as PostHog lists it.
    """
    return job.get("status") in (SavedQueryRunStatus.RUNNING.value, SavedQueryRunStatus.QUEUED.value)


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
    job that took over (the next newer one) is waited for instead, and so on.

    :param jobs: the saved query's jobs, newest first, read at least up to ours (see
        :meth:`SavedQueryRun.keep_reading_after`).
    :param requested_after: epoch seconds taken just before the run was asked for; used only without
        a ``baseline``; ``None`` (and no baseline) takes whatever run is newest.
    :param baseline: the newest job before the run was asked for; when given, ours is the oldest
        newer job (see :meth:`JobBaseline.is_followed_by`) and ``requested_after`` is not compared
        with jobs.
    :param joined_job_id: the running job the run joined, if it joined one.
    :param follow_preempted: wait for the job that took over from a preempted one; ``False`` reports
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


#: The keys of :meth:`SavedQueryRun.to_dict`.
RUN_KEYS = frozenset({"saved_query_id", "requested_after", "baseline", "joined_job_id", "follow_preempted"})


@dataclass(frozen=True)
class SavedQueryRun:
    """The run a task waits for: which saved query, and how to tell its job from earlier ones.

    :param saved_query_id: the saved query's UUID.
    :param requested_after: epoch seconds taken just before the run was asked for; ``None`` takes
        the newest run, whenever it started.
    :param baseline: the newest job before the run was asked for, when it was read (see
        :func:`job_state`).
    :param joined_job_id: the job that was running when the run was asked for and still was once
        PostHog answered: the refresh the run joined (PostHog starts one workflow per view and a
        ``run`` during it starts nothing new).
    :param follow_preempted: when PostHog preempts the job waited for, wait for the job that took
        over (``False``: the preempted job is the run's outcome, a failure).
    """

    saved_query_id: str
    requested_after: float | None = None
    baseline: JobBaseline | None = None
    joined_job_id: str | None = None
    follow_preempted: bool = True

    def keep_reading_after(self, job: dict[str, Any]) -> bool:
        """Whether the job listing (newest first) must be read on after ``job`` to find ours.

        :param job: the last job read.
        """
        if self.joined_job_id is not None:
            return str(job.get("id")) != self.joined_job_id
        if self.baseline is None and self.requested_after is None:
            return False  # the newest job is the one waited for
        return _is_after_marker(job, self.requested_after, self.baseline)

    def state_from_jobs(self, jobs: Sequence[dict[str, Any]]) -> RunState | None:
        """Where the run stands from the saved query's jobs; ``None`` when the saved query must tell.

        :param jobs: newest first, read at least up to ours (see :func:`job_state`).
        """
        return job_state(jobs, self.requested_after, self.baseline, self.joined_job_id, self.follow_preempted)

    def state_from_saved_query(self, saved_query: dict[str, Any]) -> RunState:
        """Where the run stands from the saved query itself, when :meth:`state_from_jobs` could not tell.

        :param saved_query: the saved query as ``GET warehouse_saved_queries/{id}/`` returns it.
        """
        return saved_query_state(saved_query, self.requested_after)

    def to_dict(self) -> dict[str, Any]:
        """This run as plain JSON values: a trigger's ``run`` kwarg, and what a task stores to resume.

        :return: ``saved_query_id``, ``requested_after``, ``baseline`` (``None`` or ``{"job_id",
            "created_at"}``), ``joined_job_id`` and ``follow_preempted``.
        """
        baseline = self.baseline
        return {
            "saved_query_id": str(self.saved_query_id),  # a plain str, even for a checked id
            "requested_after": self.requested_after,
            "baseline": None
            if baseline is None
            else {"job_id": baseline.job_id, "created_at": baseline.created_at},
            "joined_job_id": self.joined_job_id,
            "follow_preempted": self.follow_preempted,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedQueryRun:
        """The run :meth:`to_dict` gave (keys it left out take their defaults).

        The id enters here from plain values (a trigger's kwargs, a stored run), so it is checked here,
        once; an id already checked (a :class:`~airflow_provider.api.endpoints.SavedQueryId`) is kept.

        :param data: a dict as :meth:`to_dict` returns it.
        :raises PostHogConfigError: for a key :meth:`to_dict` never writes, or a ``saved_query_id``
            that is missing or not a UUID.
        """
        unknown = data.keys() - RUN_KEYS
        if unknown or data.get("saved_query_id") is None:
            invalid(
                "run", f"a dict with saved_query_id and at most the keys {', '.join(sorted(RUN_KEYS))}", data
            )
        baseline = data.get("baseline")
        return cls(
            saved_query_id=check_saved_query_id(data["saved_query_id"]),
            requested_after=data.get("requested_after"),
            baseline=None
            if baseline is None
            else JobBaseline(baseline.get("job_id"), baseline.get("created_at")),
            joined_job_id=data.get("joined_job_id"),
            follow_preempted=bool(data.get("follow_preempted", True)),
        )


def describe_run(saved_query_id: str, state: RunState) -> str:
    """One line saying how a run ended, with PostHog's error text when it did not complete.

    :param saved_query_id: the saved query whose run ended.
    :param state: the run's terminal state.
    :return: the message logged on success and raised on failure (by the tasks and in trigger events).
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
