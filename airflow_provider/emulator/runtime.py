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
from .warehouse import advance_jobs, new_job, public_job


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
        self, saved_query: dict[str, Any], *, run_seconds: float | None = None, outcome: str | None = None
    ) -> dict[str, Any]:
        """Start a data-modeling job of ``saved_query`` now (a ``run``, a materialization's refresh).

        :param saved_query: the stored saved query.
        :param run_seconds: how long it runs; default: the ``job_run_seconds`` setting.
        :param outcome: how it ends; default: the ``job_outcome`` setting.
        :returns: the stored job.
        """
        config = self.config
        with self.state.lock:
            all_jobs = self.state.objects["data_modeling_jobs"]
            job = new_job(
                saved_query,
                utc_now(),
                run_seconds=config.job_run_seconds if run_seconds is None else run_seconds,
                outcome=outcome or config.job_outcome,
                error=config.job_error or DEFAULT_JOB_ERROR,
                sequence=len(all_jobs),
            )
            all_jobs[job["id"]] = job
        return job

    def refresh_on_schedule(self, name: str, outcome: str = "Completed") -> dict[str, Any]:
        """Do what PostHog's schedule does for a materialized view: a refresh job, ended at once.

        :param name: the view's name.
        :param outcome: ``Completed`` (default), ``Failed``, ``Cancelled`` or ``Skipped``.
        :returns: the job as the API shows it.
        :raises ValueError: when no such view exists or it is not materialized.
        """
        if outcome not in ("Completed", "Failed", "Cancelled", "Skipped"):
            raise ValueError(f"outcome must be Completed, Failed, Cancelled or Skipped; got {outcome!r}")
        with self.state.lock:
            found = [
                saved_query
                for saved_query in self.state.objects["saved_queries"].values()
                if saved_query["name"] == name and not saved_query["deleted"]
            ]
        if not found:
            raise ValueError(f"no view named {name!r}")
        if not found[0]["is_materialized"]:
            raise ValueError(f"view {name!r} is not materialized: PostHog refreshes only materialized views")
        job = self.start_job(found[0], run_seconds=0, outcome=outcome)
        self.advance()
        return public_job(job)

    def counts(self) -> dict[str, int]:
        """Live object counts (see :meth:`State.counts`)."""
        self.advance()
        return self.state.counts()
