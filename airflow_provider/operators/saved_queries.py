"""Operators for PostHog data-warehouse saved queries (views): upsert, run, delete, materialize."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk.exceptions import AirflowException

from airflow_provider._compat import conf
from airflow_provider.api import endpoints
from airflow_provider.api.arguments import invalid, require_seconds
from airflow_provider.api.errors import PostHogConfigError, PostHogNotFoundError, PostHogValidationError
from airflow_provider.assets import create_asset, require_view_name
from airflow_provider.links import PostHogSavedQueryLink
from airflow_provider.operators.asset_events import default_outlets, emit_asset_event, task_alias
from airflow_provider.operators.base import PostHogBaseOperator, checked_at_execute, is_known
from airflow_provider.saved_query_runs.io import (
    TRANSIENT_ERRORS,
    cancel_run,
    newest_job,
    read_run_state,
    recent_job,
    start_run,
)
from airflow_provider.saved_query_runs.names import check_saved_query_arguments, saved_query_id_of
from airflow_provider.saved_query_runs.state import RunState, SavedQueryRun, describe_run
from airflow_provider.saved_query_runs.suspension import log_if_suspended
from airflow_provider.triggers.run_events import EVENT_SUCCESS, EVENT_TIMEOUT, validate_run_event

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

__all__ = [
    "PostHogCreateOrUpdateSavedQueryOperator",
    "PostHogDeleteSavedQueryOperator",
    "PostHogMaterializeSavedQueryOperator",
    "PostHogRevertSavedQueryMaterializationOperator",
    "PostHogRunSavedQueryOperator",
]


class _SavedQueryOperator(PostHogBaseOperator):
    """What the saved-query operators share: the "View in PostHog" link, the view's asset and lineage.

    By default the operator's outlet is an alias (``posthog-saved-query:<dag_id>.<task_id>``) to which it
    adds the view's ``posthog://`` asset when it succeeds (see :mod:`airflow_provider.assets`), so a DAG
    scheduled on ``posthog_saved_query_asset("<view>", host=..., project_id=...)`` runs after it.
    ``outlets=[...]`` replaces that (the event's extra is set on a declared asset of the same view);
    ``outlets=[]`` emits nothing.

    :param posthog_conn_id: Airflow connection id of the PostHog connection.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    operator_extra_links: tuple[PostHogSavedQueryLink, ...] = (PostHogSavedQueryLink(),)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlets = default_outlets(kwargs, task_alias("posthog-saved-query", self))
        self._lineage_of: dict[str, Any] | None = None

    def _emit_asset_event(self, context: Context, saved_query: dict[str, Any], extra: dict[str, Any]) -> None:
        """Emit the view's asset event with ``extra`` and keep the view for OpenLineage.

        :param context: the task's context.
        :param saved_query: the view as PostHog returned it after the operator's change.
        :param extra: what the operator did (job, status, rows, ...); the view's id, name and
            ``last_run_at`` are added.
        """
        host, project = self._keep_for_lineage(saved_query)
        extra = {
            "saved_query_id": str(saved_query["id"]),
            "name": saved_query["name"],
            **extra,
            "last_run_at": saved_query.get("last_run_at"),
        }
        emit_asset_event(
            self, context, create_asset(host=host, project_id=project, name=saved_query["name"]), extra
        )

    def _keep_for_lineage(self, saved_query: dict[str, Any]) -> tuple[str, str]:
        host, project = self.hook.asset_location()
        self._lineage_of = {"host": host, "project": project, "saved_query": saved_query}
        return host, project

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """The view as output dataset (schema from PostHog's columns) and its HogQL as the job's SQL.

        :param task_instance: the finished task instance (unused: the operator kept what it read).
        """
        if self._lineage_of is None:
            return None
        from airflow_provider.lineage import saved_query_lineage

        return saved_query_lineage(
            self._lineage_of["host"], self._lineage_of["project"], self._lineage_of["saved_query"]
        )


class _OneSavedQueryOperator(_SavedQueryOperator):
    """Base of the operators that act on one existing saved query, given by ``saved_query_id`` or
    ``saved_query_name`` (exactly one of them).

    :param saved_query_id: the saved query's UUID (templated). A literal that is not a UUID fails
        when the DAG is parsed; a rendered one fails the task at execute, before any request and
        without retries.
    :param saved_query_name: the saved query's name as in PostHog (templated), instead of its id.
        It is looked up once at execute (one listing of the views whose name contains it, then an
        exact match), never when the DAG is parsed; a name no view has (or several have) fails the
        task without retries.
    """

    def __init__(
        self, *, saved_query_id: str | None = None, saved_query_name: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.saved_query_id = saved_query_id
        self.saved_query_name = saved_query_name

    def check_arguments(self, *, rendered: bool) -> None:
        # No request here: a name is looked up at execute (_resolved_id).
        saved_query_id = check_saved_query_arguments(
            self.saved_query_id,
            self.saved_query_name,
            skip=lambda value: not is_known(value, rendered=rendered),
        )
        if rendered:
            self.saved_query_id = saved_query_id  # checked and canonical: no layer below checks it again

    def _resolved_id(self) -> str:
        """The view's UUID from the checked arguments, looking a name up in PostHog (once per execute);
        a name no view has, or several have, fails the task without retries."""
        return checked_at_execute(
            lambda: saved_query_id_of(self.hook, self.saved_query_id, self.saved_query_name)
        )


class PostHogCreateOrUpdateSavedQueryOperator(_SavedQueryOperator):
    """
    Create a saved query (view) by name, or update its query if it changed.

    An existing view is read fresh and updated only when its query differs, sending PostHog the
    ``edited_history_id`` it just returned: if someone edits the view in PostHog meanwhile, PostHog
    refuses and the task fails saying so; their edit is never overwritten.

    Returns ``{"id", "name", "action"}`` with ``action`` one of ``created``, ``updated``, ``unchanged``.

    :param name: the view's name (letters, digits, ``_``, ``.``, ``$``; at most 128 characters).
    :param query: a HogQL string, or a query object such as ``{"kind": "HogQLQuery", "query": "..."}``.
    :param posthog_conn_id: Airflow connection id of the PostHog connection.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    template_fields = ("name", "query", "posthog_conn_id", "project_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"query": "sql"}

    def __init__(self, *, name: str, query: str | dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.query = query

    def check_arguments(self, *, rendered: bool) -> None:
        if is_known(self.name, rendered=rendered):
            require_view_name(self.name)
        if is_known(self.query, rendered=rendered):
            endpoints.hogql_query(self.query)

    def execute(self, context: Context) -> dict[str, Any]:
        query = endpoints.hogql_query(self.query)
        name = self.name
        existing = self._find(name)
        if existing is None:
            saved, action = self._create(name, query), "created"
        else:
            saved, action = self._update(self.hook.get_saved_query(existing["id"]), query)
        saved_query_id = str(saved["id"])
        self.log.info("Saved query %s (%s): %s.", name, saved_query_id, action)
        PostHogSavedQueryLink.push(context, self.hook, saved_query_id)
        if action == "unchanged":  # not news to the DAGs scheduled on the view: no event
            self._keep_for_lineage(saved)
        else:
            self._emit_asset_event(context, saved, {"action": action})
        return {"id": saved_query_id, "name": name, "action": action}

    def _find(self, name: str) -> dict[str, Any] | None:
        return next((sq for sq in self.hook.list_saved_queries(search=name) if sq.get("name") == name), None)

    def _create(self, name: str, query: dict[str, Any]) -> dict[str, Any]:
        return self._write(name, query, lambda: self.hook.create_saved_query(name, query))

    def _update(self, current: dict[str, Any], query: dict[str, Any]) -> tuple[dict[str, Any], str]:
        if _has_query(current, query):
            return current, "unchanged"
        updated = self._write(
            current["name"],
            query,
            lambda: self.hook.update_saved_query(
                current["id"], query=query, edited_history_id=current.get("latest_history_id")
            ),
        )
        return updated, "updated"

    def _write(self, name: str, query: dict[str, Any], send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Send a create or update; PostHog refusing a stale history id is checked against the view.

        The refusal means either that the client re-sent our own write after its answer was lost (the
        first one went through and moved the view's history on), or that someone edited the view. If
        the view now has our query, the write is done; otherwise the other edit is reported, never
        overwritten.
        """
        try:
            return send()
        except PostHogValidationError as error:
            if endpoints.CONCURRENT_EDIT_DETAIL not in (error.detail or "").lower():
                raise
            existing = self._find(name)
            if existing is None:
                # PostHog's upsert found a view by this name that its list does not show (a view it
                # made for an endpoint): nobody edited anything; the name is taken.
                raise AirflowException(
                    f"PostHog refused saved query {name}: {error.detail} A view named {name} exists in "
                    "PostHog but is not listed (PostHog hides the views it makes for endpoints), so this "
                    "name is taken: choose another name."
                ) from error
            current = self.hook.get_saved_query(existing["id"])
            if not _has_query(current, query):
                raise AirflowException(
                    f"Saved query {name} was edited in PostHog while this task ran, so its query was not "
                    f"overwritten ({error.detail}). Check the edit in PostHog, then run the task again."
                ) from error
            self.log.warning(
                "PostHog refused a re-sent write to saved query %s, but the view has this query: "
                "the answer to the first write was lost.",
                name,
            )
            return current


def _has_query(saved_query: dict[str, Any], query: dict[str, Any]) -> bool:
    """Whether ``saved_query`` already has ``query`` (every key we send; PostHog may add others)."""
    stored = saved_query.get("query") or {}
    return all(stored.get(key) == value for key, value in query.items())


#: The task state store key (Airflow 3.3+) under which the run operator keeps the run it waits for
#: (:meth:`SavedQueryRun.to_dict`), so a retry resumes it instead of asking PostHog for another.
#: Renaming it breaks the resumption of tries in flight during an upgrade.
RUN_STATE_KEY = "posthog_saved_query_run"


def _requested_at(requested_after: float | None) -> str | None:
    """``requested_after`` (epoch seconds) as ISO 8601 in UTC, as the XCom result says it."""
    if requested_after is None:
        return None
    return datetime.fromtimestamp(requested_after, timezone.utc).isoformat()


def _run_result(
    saved_query_id: str,
    requested_after: float | None,
    status: str | None,
    job_id: str | None,
    *,
    full_refresh: bool,
    rows_materialized: int | None = None,
    joined_running_refresh: bool = False,
    followed_superseding_run: bool = False,
) -> dict[str, Any]:
    """The run operator's XCom result: the run asked for and, once it ended, what it produced.

    :param job_id: the data-modeling job waited for (``None`` when not waiting, or when the run's
        outcome came from the view's own status).
    :param rows_materialized: the rows that job wrote, as PostHog lists it.
    :param joined_running_refresh: whether the run joined a refresh of the view already running.
    :param followed_superseding_run: whether the job waited for is a newer run that took over from a
        preempted job of ours.
    """
    return {
        "saved_query_id": str(saved_query_id),  # plain str in XCom, whatever checked it
        "requested_at": _requested_at(requested_after),
        "status": status,
        "job_id": job_id,
        "rows_materialized": rows_materialized,
        "full_refresh": full_refresh,
        "joined_running_refresh": joined_running_refresh,
        "followed_superseding_run": followed_superseding_run,
    }


class PostHogRunSavedQueryOperator(_OneSavedQueryOperator):
    """
    Ask PostHog to run a saved query now and, by default, wait until the run ends.

    PostHog's ``run`` returns no run id, so just before asking the operator reads the saved query's
    newest data-modeling job and then follows the first job after that one, by PostHog's own ids
    and timestamps (so the worker's clock does not matter, and a refresh or run that starts later is
    never taken for it); while the saved query has no job at
    all, it follows the saved query's ``status``. When a refresh of the view is already running
    (a materialization's first refresh, a schedule), PostHog's ``run`` joins it instead of starting
    another, and the operator follows that refresh. When PostHog ends the job followed ``Failed``
    with "Preempted: ..." (a newer run of the view's DAG took over; older PostHog versions said
    ``Cancelled``), the operator follows the newer job and succeeds when it completes, unless
    ``fail_on_preempted``. ``Completed`` succeeds; ``Failed``, ``Cancelled``
    and ``Skipped`` fail the task with PostHog's error text. When the wait passes ``timeout`` (or
    ``execution_timeout``), or the task is killed, the operator asks PostHog to cancel the run;
    PostHog refuses that to personal API keys, which is logged as a warning (the run goes on in
    PostHog).

    On Airflow 3.3, a task that waits keeps the run in its task state store (key
    ``posthog_saved_query_run``) before it waits or defers, so a retry after a worker crash (or after
    a deferred wait ended in an error) asks PostHog for no second run: it waits for that run again
    (on the worker, or deferred) while it is going, and returns at once when it has completed; a run
    that ended any other way is asked for afresh. Each try waits at most ``timeout``. A try that
    succeeds forgets the run, so clearing the task asks for a new one. On Airflow 3.1 and 3.2 (no task
    state store) every try asks for a new run.

    Returns ``{"saved_query_id", "requested_at", "status", "job_id", "rows_materialized",
    "full_refresh", "joined_running_refresh", "followed_superseding_run"}``: the data-modeling job
    followed, PostHog's status of it, the rows it wrote, whether the run joined a refresh already
    running and whether the job is a newer one that took over from a preempted one; ``status`` is
    ``requested`` (and the job keys ``None``) when not waiting.

    :param saved_query_id: the saved query's UUID.
    :param saved_query_name: the saved query's name, instead of its id (looked up at execute).
    :param full_refresh: ask PostHog to rebuild an incremental view's whole table instead of
        updating it (PostHog's ``run`` body ``{"full_refresh": true}``; no effect on a view that is
        not incremental).
    :param fail_on_preempted: fail when PostHog preempts the run's job, instead of following the
        newer job that took over.
    :param wait_for_completion: wait for the run to end; ``False`` returns right after asking.
    :param check_interval: seconds between status checks.
    :param timeout: seconds to wait for the run before cancelling it and failing.
    :param deferrable: wait in the triggerer instead of a worker slot
        (default ``[operators] default_deferrable``).
    :param posthog_conn_id: Airflow connection id of the PostHog connection.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    template_fields = ("saved_query_id", "saved_query_name", "posthog_conn_id", "project_id")

    def __init__(
        self,
        *,
        full_refresh: bool = False,
        fail_on_preempted: bool = False,
        wait_for_completion: bool = True,
        check_interval: float = 30.0,
        timeout: float = 7 * 24 * 3600.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.full_refresh = full_refresh
        self.fail_on_preempted = fail_on_preempted
        self.wait_for_completion = wait_for_completion
        self.check_interval = check_interval
        self.timeout = timeout
        self.deferrable = deferrable
        self._waiting_for: str | None = None

    def check_arguments(self, *, rendered: bool) -> None:
        super().check_arguments(rendered=rendered)
        for flag in ("full_refresh", "fail_on_preempted"):
            if not isinstance(getattr(self, flag), bool):
                invalid(flag, "True or False", getattr(self, flag))
        require_seconds("check_interval", self.check_interval)
        require_seconds("timeout", self.timeout)

    def execute(self, context: Context) -> dict[str, Any]:
        saved_query_id = self._resolved_id()
        PostHogSavedQueryLink.push(context, self.hook, saved_query_id)
        store = context.get("task_state_store") if self.wait_for_completion else None
        resumed = self._resume(store, saved_query_id)
        state: RunState | None = None
        if resumed is None:
            log_if_suspended(self.hook, saved_query_id, self.log)
            run = start_run(
                self.hook,
                saved_query_id,
                self.log,
                full_refresh=self.full_refresh,
                follow_preempted=not self.fail_on_preempted,
            )
            if not self.wait_for_completion:
                return _run_result(
                    saved_query_id,
                    run.requested_after,
                    "requested",
                    None,
                    full_refresh=self.full_refresh,
                    joined_running_refresh=run.joined_job_id is not None,
                )
            if store is not None:  # before waiting: a retry after a crash reconnects to this run
                store.set(RUN_STATE_KEY, run.to_dict())
            deadline = self._deadline(run.requested_after)
        else:
            run, state = resumed
            deadline = self._deadline(None)  # each try waits at most ``timeout``, as a fresh one would
        if state is None or not state.succeeded:
            state = self._wait_to_end(run, deadline)
        return self._succeeded(
            context,
            saved_query_id,
            run.requested_after,
            state,
            joined_running_refresh=run.joined_job_id is not None,
        )

    def _wait_to_end(self, run: SavedQueryRun, deadline: float) -> RunState:
        """Wait for ``run`` until ``deadline``: deferred to the triggerer, or polling on the worker.

        :return: the run's ``Completed`` state (a deferred task resumes in ``execute_complete``).
        :raises AirflowException: when the run ended any other way.
        """
        if self.deferrable:
            # Imported here: the trigger pulls in Airflow's trigger machinery, which DAG parsing never needs.
            from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger

            self.defer(
                trigger=PostHogSavedQueryRunTrigger(
                    run=run.to_dict(),
                    deadline=deadline,
                    poll_interval=self.check_interval,
                    cancel_on_kill=True,
                    posthog_conn_id=self.posthog_conn_id,
                    project_id=self.project_id,
                ),
                method_name="execute_complete",
            )
        self._waiting_for = run.saved_query_id
        try:
            state = self._wait(run, deadline)
        finally:
            self._waiting_for = None
        if not state.succeeded:
            raise AirflowException(describe_run(run.saved_query_id, state))
        return state

    def _resume(self, store: Any, saved_query_id: str) -> tuple[SavedQueryRun, RunState] | None:
        """The run an earlier try of this task instance stored, and where it stands, if it is to be
        resumed: still going (this try waits for it) or completed (this try returns at once).

        Airflow 3.3's ``ResumableJobMixin`` makes this decision for a synchronous wait over the same
        task state store; this operator makes it itself, with the mixin's semantics (a stored job that
        is active is reconnected to, a succeeded one returns its result, a failed one is submitted
        afresh, and the id is stored right after submitting, before waiting), because the mixin does
        not fit here: it does not exist on Airflow 3.1 and 3.2, so the operator's bases and its
        arguments (the mixin's ``durable``) would differ by line; it covers only the synchronous
        wait, while the deferrable path must resume on the same decision (defer on the stored run),
        and two implementations of one decision would drift. The "job id" stored is the run's plain
        dict (:meth:`SavedQueryRun.to_dict`), as the trigger gets it. Unlike the mixin, a try that
        succeeds deletes the stored run, so clearing the task later asks PostHog for a new run, as
        a user clearing it means to (Airflow keeps task state across clears).

        :param store: the task state store (``context["task_state_store"]``, Airflow 3.3+), or
            ``None`` (older Airflow, or not waiting): nothing is resumed, as before 0.2.
        :param saved_query_id: the view this try is to run.
        :return: the run and its state; ``None`` when a new run must be asked for: nothing stored,
            a run of another view or with other options, or one that ended without completing.
        """
        stored = None if store is None else store.get(RUN_STATE_KEY)
        if stored is None:
            return None
        try:
            run = SavedQueryRun.from_dict(stored)
        except (PostHogConfigError, AttributeError, TypeError):
            self.log.warning("An earlier try stored a run this version cannot read; asking for a new run.")
            return None
        if run.saved_query_id != saved_query_id or run.follow_preempted == self.fail_on_preempted:
            self.log.info("An earlier try ran another view or with other options; asking for a new run.")
            return None
        try:
            state = read_run_state(self.hook, run)
        except TRANSIENT_ERRORS as error:  # waited out like any poll: the run is taken as going
            self.log.warning("Cannot read the run an earlier try asked for yet: %s", error)
            state = RunState(status=None)
        if state.terminal and not state.succeeded:
            self.log.warning(
                "The run an earlier try asked for did not complete: %s Asking PostHog for a new run.",
                describe_run(saved_query_id, state),
            )
            return None
        self.log.info(
            "Resuming the run of saved query %s an earlier try asked for (requested at %s): %s.",
            saved_query_id,
            _requested_at(run.requested_after),
            "it has completed" if state.succeeded else "waiting for it to end",
        )
        return run, state

    def _succeeded(
        self,
        context: Context,
        saved_query_id: str,
        requested_after: float | None,
        state: RunState,
        *,
        joined_running_refresh: bool,
    ) -> dict[str, Any]:
        """Log a run that completed, emit its asset event, return it and forget it in the task state store.

        :param context: the task's context.
        :param saved_query_id: the view that ran.
        :param requested_after: when the run was asked for (epoch seconds).
        :param state: the run's ``Completed`` state.
        :param joined_running_refresh: whether the run joined a refresh already running.
        """
        self.log.info(describe_run(saved_query_id, state))
        rows = self._emit_run_event(context, saved_query_id, state.status, state.job_id)
        store = context.get("task_state_store")
        if store is not None:
            store.delete(RUN_STATE_KEY)
        return _run_result(
            saved_query_id,
            requested_after,
            state.status,
            state.job_id,
            full_refresh=self.full_refresh,
            rows_materialized=rows,
            joined_running_refresh=joined_running_refresh,
            followed_superseding_run=state.superseded,
        )

    def _emit_run_event(
        self, context: Context, saved_query_id: str, status: str | None, job_id: str | None
    ) -> int | None:
        """Emit the view's event for a completed run: its job, status, rows and ``last_run_at``.

        :return: the ``rows_materialized`` of the job followed, as PostHog lists it now (``None``
            without a job, or when it is no longer among the newest hundred).
        """
        job = recent_job(self.hook, saved_query_id, job_id) if job_id else None
        rows: int | None = job.get("rows_materialized") if job else None
        self._emit_asset_event(
            context,
            self.hook.get_saved_query(saved_query_id),
            {"job_id": job_id, "status": status, "rows_materialized": rows},
        )
        return rows

    def _deadline(self, requested_after: float | None) -> float:
        deadline = (requested_after or time.time()) + self.timeout
        if isinstance(self.execution_timeout, timedelta):
            deadline = min(deadline, time.time() + self.execution_timeout.total_seconds())
        return deadline

    def _wait(self, run: SavedQueryRun, deadline: float) -> RunState:
        """Poll on this worker until the run ends, or cancel it and fail once ``deadline`` has passed.

        The hook has no per-call timeout, so a poll in flight is not cut off at the deadline: the
        deadline is checked as soon as each poll returns, and the timeout can come up to one poll late
        (one or two GETs, each bounded by the connection's ``timeout`` per attempt plus the client's
        retries and retry waits). ``execution_timeout`` is the hard bound: Airflow kills the task and
        :meth:`on_kill` asks PostHog to cancel the run. The deferred path has no such lag.
        """
        while True:
            try:
                state = read_run_state(self.hook, run)
            except TRANSIENT_ERRORS as error:
                self.log.warning("Cannot read the run of saved query %s yet: %s", run.saved_query_id, error)
            else:
                if state.terminal:
                    return state
            remaining = deadline - time.time()
            if remaining <= 0:
                cancel_run(self.hook, run.saved_query_id, self.log)
                raise AirflowException(
                    f"Saved query {run.saved_query_id} run had not ended after the timeout "
                    f"({self.timeout:g} s or execution_timeout); PostHog was asked to cancel it."
                )
            time.sleep(min(self.check_interval, remaining))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: succeed only on a validated ``success`` event.

        :param event: the trigger's event; a missing or unknown one fails the task.
        """
        checked = validate_run_event(event)
        saved_query_id = checked["saved_query_id"]
        if checked["status"] == EVENT_TIMEOUT:
            cancel_run(self.hook, saved_query_id, self.log)
            raise AirflowException(f"{checked['message']} PostHog was asked to cancel it.")
        if checked["status"] != EVENT_SUCCESS:
            raise AirflowException(checked["message"])
        state = RunState(
            checked["run_status"], checked["job_id"], superseded=bool(checked.get("followed_superseding_run"))
        )
        return self._succeeded(
            context,
            saved_query_id,
            checked["requested_after"],
            state,
            joined_running_refresh=bool(checked.get("joined_running_refresh")),
        )

    def on_kill(self) -> None:
        """Ask PostHog to cancel the run this task is waiting for (sync path)."""
        if self._waiting_for is not None:
            cancel_run(self.hook, self._waiting_for, self.log)


class PostHogDeleteSavedQueryOperator(_OneSavedQueryOperator):
    """
    Delete a saved query (PostHog soft-deletes it and reverts its materialization).

    A saved query that is already gone counts as deleted, so a retry succeeds.
    Returns ``{"id", "deleted": True}``.

    :param saved_query_id: the saved query's UUID.
    :param saved_query_name: the saved query's name, instead of its id (looked up at execute).
    :param posthog_conn_id: Airflow connection id of the PostHog connection.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    template_fields = ("saved_query_id", "saved_query_name", "posthog_conn_id", "project_id")
    operator_extra_links = ()

    def execute(self, context: Context) -> dict[str, Any]:
        saved_query_id = self._resolved_id()
        try:
            self.hook.delete_saved_query(saved_query_id)
        except PostHogNotFoundError:
            self.log.info("Saved query %s does not exist (already deleted).", saved_query_id)
        else:
            self.log.info("Deleted saved query %s.", saved_query_id)
        return {"id": str(saved_query_id), "deleted": True}


class PostHogMaterializeSavedQueryOperator(_OneSavedQueryOperator):
    """
    Materialize a saved query: PostHog stores it as a table and refreshes it on a schedule.

    Returns ``{"id", "sync_frequency"}``.

    :param saved_query_id: the saved query's UUID.
    :param saved_query_name: the saved query's name, instead of its id (looked up at execute).
    :param sync_frequency: refresh schedule: ``15min``, ``30min``, ``1hour``, ``6hour``, ``12hour``,
        ``24hour``, ``7day`` or ``30day``; ``1min`` and ``5min`` are accepted but PostHog raises them to
        ``15min``. ``None`` leaves PostHog's default (``24hour``). PostHog refuses ``never``: to stop the
        schedule, use :class:`PostHogRevertSavedQueryMaterializationOperator`. PostHog also refreshes
        the view once at once.
    :param posthog_conn_id: Airflow connection id of the PostHog connection.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    template_fields = (
        "saved_query_id",
        "saved_query_name",
        "sync_frequency",
        "posthog_conn_id",
        "project_id",
    )

    def __init__(self, *, sync_frequency: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sync_frequency = sync_frequency

    def check_arguments(self, *, rendered: bool) -> None:
        super().check_arguments(rendered=rendered)
        if self.sync_frequency is not None and is_known(self.sync_frequency, rendered=rendered):
            endpoints.check_sync_frequency(self.sync_frequency)

    def execute(self, context: Context) -> dict[str, Any]:
        sync_frequency = self.sync_frequency
        saved_query_id = self._resolved_id()
        PostHogSavedQueryLink.push(context, self.hook, saved_query_id)
        self.hook.materialize_saved_query(saved_query_id, sync_frequency=sync_frequency)
        self.log.info("Materialized saved query %s (sync_frequency=%s).", saved_query_id, sync_frequency)
        saved = self.hook.get_saved_query(saved_query_id)
        refresh = newest_job(self.hook, saved_query_id)
        self._emit_asset_event(
            context,
            saved,
            {
                "is_materialized": True,
                "sync_frequency": saved.get("sync_frequency"),
                "job_id": refresh.get("id") if refresh else None,
                "status": refresh.get("status") if refresh else saved.get("status"),
            },
        )
        return {"id": str(saved_query_id), "sync_frequency": sync_frequency}


class PostHogRevertSavedQueryMaterializationOperator(_OneSavedQueryOperator):
    """
    Revert a saved query's materialization: PostHog drops its table and schedule; the view stays.

    Returns ``{"id", "is_materialized": False}``.

    :param saved_query_id: the saved query's UUID.
    :param saved_query_name: the saved query's name, instead of its id (looked up at execute).
    :param posthog_conn_id: Airflow connection id of the PostHog connection.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    template_fields = ("saved_query_id", "saved_query_name", "posthog_conn_id", "project_id")

    def execute(self, context: Context) -> dict[str, Any]:
        saved_query_id = self._resolved_id()
        PostHogSavedQueryLink.push(context, self.hook, saved_query_id)
        self.hook.revert_saved_query_materialization(saved_query_id)
        self.log.info("Reverted the materialization of saved query %s.", saved_query_id)
        return {"id": str(saved_query_id), "is_materialized": False}
