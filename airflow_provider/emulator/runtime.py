"""One running emulator's moving parts: config, objects, faults, request log and throttle histories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import DEFAULT_JOB_ERROR, EmulatorConfig
from .faults import Fault, FaultList
from .requestlog import RequestLog
from .seed import ALL_SCOPES_KEY, PROJECT_ID, READ_ONLY_KEY, RECORDINGS_ONLY_KEY, utc_now
from .state import State
from .throttle import Throttle
from .warehouse import (
    PREEMPTED_ERROR,
    SUSPENDED_SKIP_REASON,
    advance_jobs,
    finish,
    is_suspended,
    new_job,
    public_job,
    resume,
)


class Emulator:
    """Everything one emulator instance holds, shared by its routes and its control API.

    :param seed: seed name (``demo`` or ``empty``).
    :param state_file: JSON file that keeps created objects across restarts, or ``None``.
    :param config: start-up settings; ``reset()`` returns to these.
    """

    project_id = PROJECT_ID
    api_key = ALL_SCOPES_KEY
    read_only_key = READ_ONLY_KEY
    recordings_only_key = RECORDINGS_ONLY_KEY

    def __init__(self, seed: str = "demo", state_file: Path | None = None, **config: Any) -> None:
        self.initial_config = EmulatorConfig().updated(config)
        self.config = self.initial_config
        self.state = State(seed, self.config.session_count, state_file)
        self.faults = FaultList()
        self.log = RequestLog()
        self.throttle = Throttle()

    def configure(self, **overrides: Any) -> dict[str, Any]:
        """Change settings now; a changed ``session_count`` rebuilds the seeded sessions.

        :param overrides: settings and their values (see :class:`EmulatorConfig`).
        :raises ValueError: for unknown names or bad values.
        """
        new = self.config.updated(overrides)
        if new.session_count != self.config.session_count:
            self.state.reseed_sessions(new.session_count)
        self.config = new
        return new.as_dict()

    def reset(self) -> None:
        """State back to the seed, faults and request log cleared, settings back to the start-up ones."""
        self.config = self.initial_config
        self.state.reset(self.config.session_count)
        self.state.save()
        self.faults.clear()
        self.log.clear()
        self.throttle.clear()

    def add_fault(self, **spec: Any) -> dict[str, Any]:
        """Queue a fault (see :class:`Fault` for the fields).

        :param spec: ``kind``, ``method``, ``path``, ``status``, ``times``, ``retry_after``, ``delay``.
        :raises TypeError: for an unknown field.
        :raises ValueError: for a bad value.
        """
        fault = Fault(**spec)
        self.faults.add(fault)
        return fault.as_dict()

    def advance(self) -> None:
        """Finish the data-modeling jobs whose time is up (called before anything reads them)."""
        state = self.state
        with state.lock:
            changed = advance_jobs(
                state.objects["data_modeling_jobs"], state.objects["saved_queries"], utc_now()
            )
        if changed:
            state.save()

    def start_job(
        self,
        saved_query: dict[str, Any],
        *,
        run_seconds: float | None = None,
        outcome: str | None = None,
        joins_running: bool = True,
    ) -> dict[str, Any]:
        """Start a data-modeling job of ``saved_query`` (a ``run``, a materialization's refresh).

        Like PostHog's ``start_node_materialization`` (one workflow per view, started with
        ``USE_EXISTING``), a request while a job of the view is running starts nothing and that job
        is returned. A new job is listed only ``job_start_delay`` seconds later (PostHog's workflow
        writes the job row in its first activity, after the API answered). That request first
        resumes a suspended view: "an explicit run is a request to try again, so it gets a fresh
        failure window".

        :param saved_query: the stored saved query.
        :param run_seconds: how long it runs; default: the ``job_run_seconds`` setting.
        :param outcome: how it ends; default: the ``job_outcome`` setting.
        :param joins_running: join a running job of the view (the API's ``run`` and ``materialize``);
            ``False`` for a job of a DAG run, which PostHog starts as a workflow of its own, listed at once.
        :returns: the stored job.
        """
        config = self.config
        self.advance()
        with self.state.lock:
            all_jobs = self.state.objects["data_modeling_jobs"]
            if joins_running:
                resume(saved_query, utc_now())
                running = self._running_job(saved_query["id"])
                if running is not None:
                    return running
            job = new_job(
                saved_query,
                utc_now(),
                run_seconds=config.job_run_seconds if run_seconds is None else run_seconds,
                outcome=outcome or config.job_outcome,
                error=config.job_error or DEFAULT_JOB_ERROR,
                sequence=len(all_jobs),
                start_delay=config.job_start_delay if joins_running else 0.0,
            )
            all_jobs[job["id"]] = job
        return job

    def _running_job(self, saved_query_id: str) -> dict[str, Any] | None:
        """The view's job still running (or about to be listed), if any; call with the state lock held."""
        return next(
            (
                job
                for job in self.state.objects["data_modeling_jobs"].values()
                if job["saved_query_id"] == saved_query_id and job["status"] == "Running"
            ),
            None,
        )

    def preempt(self, name: str) -> dict[str, Any]:
        """Do what PostHog does when a new run of a view's DAG starts while the view's job is running:
        that job ends ``Failed`` with PostHog's "Preempted: ..." error and the new run's job starts.

        :param name: the view's name.
        :returns: ``{"preempted": <job>, "started": <job>}`` as the API shows them.
        :raises ValueError: when no such view exists or it has no running job.
        """
        saved_query = self._view_named(name)
        self.advance()
        with self.state.lock:
            running = self._running_job(saved_query["id"])
            if running is None:
                raise ValueError(f"view {name!r} has no running job to preempt")
            running["_error"] = PREEMPTED_ERROR
            finish(running, saved_query, "Failed", utc_now())
        started = self.start_job(saved_query, joins_running=False)
        return {"preempted": public_job(running), "started": public_job(started)}

    def _view_named(self, name: str) -> dict[str, Any]:
        with self.state.lock:
            found = [
                saved_query
                for saved_query in self.state.objects["saved_queries"].values()
                if saved_query["name"] == name and not saved_query["deleted"]
            ]
        if not found:
            raise ValueError(f"no view named {name!r}")
        return found[0]

    def refresh_on_schedule(self, name: str, outcome: str = "Completed") -> dict[str, Any]:
        """Do what PostHog's schedule does for a materialized view: a refresh job, ended at once.

        A suspended view is skipped, as PostHog's DAG run skips a suspended node: no job.

        :param name: the view's name.
        :param outcome: ``Completed`` (default), ``Failed``, ``Cancelled`` or ``Skipped``.
        :returns: the job as the API shows it, or ``{"skipped": <PostHog's reason>}`` for a
            suspended view.
        :raises ValueError: when no such view exists or it is not materialized.
        """
        if outcome not in ("Completed", "Failed", "Cancelled", "Skipped"):
            raise ValueError(f"outcome must be Completed, Failed, Cancelled or Skipped; got {outcome!r}")
        saved_query = self._view_named(name)
        if not saved_query["is_materialized"]:
            raise ValueError(f"view {name!r} is not materialized: PostHog refreshes only materialized views")
        self.advance()
        with self.state.lock:
            if is_suspended(saved_query):
                return {"skipped": SUSPENDED_SKIP_REASON}
        job = self.start_job(saved_query, run_seconds=0, outcome=outcome, joins_running=False)
        self.advance()
        return public_job(job)

    def counts(self) -> dict[str, int]:
        """Live object counts (see :meth:`State.counts`)."""
        self.advance()
        return self.state.counts()
