"""Which of a view's data-modeling jobs are newly completed: the watermark behind the refresh watcher.

PostHog lists a view's jobs newest first, by ``created_at``; a job is created ``Running`` (or
``Queued``) and later ends ``Completed``, ``Failed``, ``Cancelled`` or ``Skipped``. Jobs do not end in
the order they were created, so "the newest job seen" is not enough to know what has been reported.
A :class:`RefreshWatermark` keeps:

- ``since``: every job created before it has ended and was dealt with, so only jobs created at or
  after it are read again (the oldest job still running, else the newest job seen);
- ``reported``: the ids of the completed jobs created at or after ``since`` already reported.

:meth:`RefreshWatermark.take` turns one reading into the jobs to report (oldest first, each once) and
the next watermark. The watermark is plain JSON (:meth:`~RefreshWatermark.to_state`), so it can live in
Airflow's asset state store and survive a triggerer restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider.api.arguments import require_timestamp
from airflow_provider.saved_query_runs.state import TERMINAL_STATUSES, SavedQueryRunStatus

_COMPLETED = SavedQueryRunStatus.COMPLETED.value


def _created(job: dict[str, Any]) -> float:
    return require_timestamp("created_at", job.get("created_at")) or 0.0


@dataclass(frozen=True)
class RefreshWatermark:
    """Where the watcher of one view stands.

    :param since: ``created_at`` (as PostHog sent it) from which jobs must be read again; ``None``
        while the view has had no job, so every job is read.
    :param reported: ids of the completed jobs created at or after ``since`` that were reported.
    """

    since: str | None = None
    reported: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def starting_from(cls, jobs: list[dict[str, Any]]) -> RefreshWatermark:
        """The watermark of a watcher that starts now: what has completed so far is not news.

        :param jobs: the view's jobs created since the oldest one still running (any order).
        """
        return cls(reported=tuple(job["id"] for job in jobs if job.get("status") == _COMPLETED))._settle(jobs)

    @classmethod
    def from_state(cls, state: Any) -> RefreshWatermark | None:
        """Rebuild a watermark saved by :meth:`to_state`; ``None`` for anything else.

        :param state: the stored value.
        """
        if not isinstance(state, dict) or not isinstance(state.get("reported"), list):
            return None
        since = state.get("since")
        return cls(
            since=since if isinstance(since, str) else None, reported=tuple(map(str, state["reported"]))
        )

    def to_state(self) -> dict[str, Any]:
        """The watermark as plain JSON."""
        return {"since": self.since, "reported": list(self.reported)}

    def covers(self, job: dict[str, Any]) -> bool:
        """Whether ``job`` is created at or after ``since``, so it must be read.

        :param job: one job from PostHog's list.
        """
        return self.since is None or _created(job) >= (require_timestamp("since", self.since) or 0.0)

    def take(self, jobs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], RefreshWatermark]:
        """The newly completed jobs, oldest first, and the watermark after reporting them.

        :param jobs: every job of the view created at or after ``since`` (:meth:`covers`), any order.
        """
        fresh = sorted(
            (job for job in jobs if job.get("status") == _COMPLETED and job["id"] not in self.reported),
            key=_created,
        )
        reported = (*self.reported, *(job["id"] for job in fresh))
        return fresh, RefreshWatermark(self.since, reported)._settle(jobs)

    def _settle(self, jobs: list[dict[str, Any]]) -> RefreshWatermark:
        """Move ``since`` to the oldest job still running (else the newest job) and forget older ids."""
        if not jobs:
            return self
        running = [job for job in jobs if job.get("status") not in TERMINAL_STATUSES]
        anchor = min(running, key=_created) if running else max(jobs, key=_created)
        since = str(anchor["created_at"])
        moment = _created(anchor)
        kept = {job["id"] for job in jobs if _created(job) >= moment}
        return RefreshWatermark(since, tuple(job_id for job_id in self.reported if job_id in kept))
