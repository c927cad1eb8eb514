"""A sensor that waits for a PostHog saved query's run to end."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException

from airflow_provider._compat import AirflowFailException, AirflowSensorTimeout, conf
from airflow_provider.api.arguments import invalid, require_timestamp
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.links import PostHogSavedQueryLink
from airflow_provider.operators.base import PostHogBaseOperator, checked_at_execute, is_known
from airflow_provider.saved_query_runs.io import TRANSIENT_ERRORS, read_run_state
from airflow_provider.saved_query_runs.names import check_saved_query_arguments, saved_query_id_of
from airflow_provider.saved_query_runs.state import SavedQueryRun, describe_run
from airflow_provider.saved_query_runs.suspension import (
    WHAT_TO_DO,
    is_suspension_error,
    read_suspension,
)
from airflow_provider.triggers.run_events import (
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    is_suspended_event,
    validate_run_event,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["PostHogSavedQuerySensor"]


class PostHogSavedQuerySensor(PostHogBaseOperator, BaseSensorOperator):
    """
    Wait until a saved query's run ends: succeed on ``Completed``, fail on ``Failed``, ``Cancelled``
    or ``Skipped`` with PostHog's error text.

    The run waited for is the first data-modeling job created at or after ``requested_after`` (for
    instance the ``requested_at`` a
    :class:`~airflow_provider.operators.saved_queries.PostHogRunSavedQueryOperator` returned), falling
    back to the saved query's own ``status``. Without ``requested_after`` the sensor waits for a new
    refresh: one that started at or after the end of the DAG run's data interval
    (``data_interval_end``) or, for a run without a data interval, after the sensor started (its
    first try; the first poke of a rescheduled sensor). A refresh that started before then, such as
    yesterday's, never satisfies it. ``accept_earlier_runs=True`` follows the newest run instead,
    whenever it started (the behaviour before 0.2.0). Works in ``poke`` and ``reschedule`` modes,
    and deferrable: it then checks once and, if the run is still going, waits in the triggerer. The
    sensor only watches: a timeout or kill never cancels the run.

    A view PostHog has suspended (after repeated failed runs its schedule skips it) fails the sensor
    at once, without retries, with PostHog's reason and what to do, while no run of ours has started:
    the refresh waited for would never come. A run that fails with PostHog's words that it suspended
    the view fails it the same way.

    Returns ``{"saved_query_id", "status", "job_id"}``.

    :param saved_query_id: the saved query's UUID (templated).
    :param saved_query_name: the saved query's name as in PostHog (templated), instead of its id;
        exactly one of the two. Looked up once at execute, never when the DAG is parsed.
    :param requested_after: follow only a run that started at or after this time (datetime, ISO 8601
        string or epoch seconds; templated).
    :param accept_earlier_runs: without ``requested_after``, follow the newest run whenever it
        started, even one that completed before this DAG run (default ``False``).
    :param deferrable: wait in the triggerer instead of a worker slot
        (default ``[operators] default_deferrable``).
    :param posthog_conn_id: Airflow connection id of the PostHog connection.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    template_fields = (
        "saved_query_id",
        "saved_query_name",
        "requested_after",
        "posthog_conn_id",
        "project_id",
    )
    operator_extra_links = (PostHogSavedQueryLink(),)

    def __init__(
        self,
        *,
        saved_query_id: str | None = None,
        saved_query_name: str | None = None,
        requested_after: Any = None,
        accept_earlier_runs: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.saved_query_id = saved_query_id
        self.saved_query_name = saved_query_name
        self.requested_after = requested_after
        self.accept_earlier_runs = accept_earlier_runs
        self.deferrable = deferrable
        self._run: SavedQueryRun | None = None

    def check_arguments(self, *, rendered: bool) -> None:
        # No request here: a name is looked up at execute (_saved_query_run).
        saved_query_id = check_saved_query_arguments(
            self.saved_query_id,
            self.saved_query_name,
            skip=lambda value: not is_known(value, rendered=rendered),
        )
        requested_after = (
            require_timestamp("requested_after", self.requested_after)
            if is_known(self.requested_after, rendered=rendered)
            else self.requested_after
        )
        if not isinstance(self.accept_earlier_runs, bool):
            invalid("accept_earlier_runs", "True or False", self.accept_earlier_runs)
        if self.accept_earlier_runs and self.requested_after is not None:
            raise PostHogConfigError(
                "Give requested_after or accept_earlier_runs=True, not both: requested_after already "
                "says which runs count."
            )
        if rendered:  # checked and converted: _saved_query_run reads them as they are
            self.saved_query_id = saved_query_id
            self.requested_after = requested_after

    def _saved_query_run(self, context: Context) -> SavedQueryRun:
        """The run this sensor waits for, worked out once per execute (a name is looked up then)."""
        if self._run is None:
            requested_after = self.requested_after
            if requested_after is None and not self.accept_earlier_runs:
                requested_after = _new_refresh_marker(context)
            # A name no view has, or several have, fails the task without retries.
            saved_query_id = checked_at_execute(
                lambda: saved_query_id_of(self.hook, self.saved_query_id, self.saved_query_name)
            )
            self._run = SavedQueryRun(saved_query_id, requested_after)
        return self._run

    def poke(self, context: Context) -> PokeReturnValue:
        """Check the run once; fail the task if it ended any way but ``Completed``.

        PostHog being unreachable, overloaded or throttling (after the client's retries) counts as
        "not done yet", like in the trigger.
        """
        run = self._saved_query_run(context)
        saved_query_id = run.saved_query_id
        try:
            state = read_run_state(self.hook, run)
        except TRANSIENT_ERRORS as error:
            # Already retried by the client; the sensor's timeout bounds how long this can go on.
            self.log.warning("Cannot read the run of saved query %s yet: %s", saved_query_id, error)
            return PokeReturnValue(is_done=False)
        if state.status is None:
            # No run of ours yet: one comes only if PostHog's schedule refreshes the view, which it
            # never does for a suspended view.
            suspension = read_suspension(self.hook, saved_query_id)
            if suspension is not None:
                raise AirflowFailException(suspension.waiting_in_vain(saved_query_id))
        if not state.terminal:
            self.log.info("Saved query %s run: %s.", saved_query_id, state.status or "not started yet")
            return PokeReturnValue(is_done=False)
        if is_suspension_error(state.error):
            raise AirflowFailException(f"{describe_run(saved_query_id, state)} {WHAT_TO_DO}")
        if not state.succeeded:
            raise AirflowException(describe_run(saved_query_id, state))
        self.log.info(describe_run(saved_query_id, state))
        return PokeReturnValue(
            is_done=True,
            xcom_value={
                "saved_query_id": str(saved_query_id),
                "status": state.status,
                "job_id": state.job_id,
            },
        )

    def execute(self, context: Context) -> Any:
        run = self._saved_query_run(context)
        PostHogSavedQueryLink.push(context, self.hook, run.saved_query_id)
        if not self.deferrable:
            return super().execute(context)
        checked = self.poke(context)
        if checked.is_done:
            return checked.xcom_value
        # Imported here: the trigger pulls in Airflow's trigger machinery, which DAG parsing never needs.
        from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger

        self.defer(
            trigger=PostHogSavedQueryRunTrigger(
                run=run.to_dict(),
                deadline=time.time() + self.timeout,
                poll_interval=self.poke_interval,
                cancel_on_kill=False,
                stop_when_suspended=True,
                posthog_conn_id=self.posthog_conn_id,
                project_id=self.project_id,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: succeed only on a validated ``success`` event.

        :param event: the trigger's event; a missing or unknown one fails the task.
        """
        checked = validate_run_event(event)
        if is_suspended_event(checked):
            raise AirflowFailException(checked["message"])
        if checked["status"] == EVENT_TIMEOUT:
            raise AirflowSensorTimeout(checked["message"])
        if checked["status"] != EVENT_SUCCESS:
            if is_suspension_error(checked["message"]):
                raise AirflowFailException(f"{checked['message']} {WHAT_TO_DO}")
            raise AirflowException(checked["message"])
        self.log.info(checked["message"])
        return {
            "saved_query_id": checked["saved_query_id"],
            "status": checked["run_status"],
            "job_id": checked["job_id"],
        }


def _new_refresh_marker(context: Context) -> float:
    """When a run must have started to be new for this DAG run: the end of its data interval, else
    when the sensor started (the first poke of a rescheduled sensor, so a reschedule never moves it).

    :param context: the task's context.
    """
    interval_end = context.get("data_interval_end")
    if interval_end is not None:
        marker = require_timestamp("data_interval_end", interval_end)
        if marker is not None:
            return marker
    ti = context.get("ti")
    first_try = ti.get_first_reschedule_date(context) if ti is not None else None
    return first_try.timestamp() if first_try is not None else time.time()
