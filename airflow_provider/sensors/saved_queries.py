"""A sensor that waits for a PostHog saved query's run to end."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException

from airflow_provider._compat import AirflowSensorTimeout, conf
from airflow_provider.api.arguments import require_timestamp
from airflow_provider.links import PostHogSavedQueryLink
from airflow_provider.operators.base import PostHogBaseOperator, checked_at_execute, is_unrendered
from airflow_provider.saved_query_runs import (
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    TRANSIENT_ERRORS,
    SavedQueryRun,
    check_saved_query_id,
    describe_run,
    read_run_state,
    validate_run_event,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["PostHogSavedQuerySensor"]


class PostHogSavedQuerySensor(PostHogBaseOperator, BaseSensorOperator):
    """
    Wait until a saved query's run ends: succeed on ``Completed``, fail on ``Failed``, ``Cancelled``
    or ``Skipped`` with PostHog's error text.

    The run followed is the first data-modeling job created after ``requested_after`` (for instance
    the ``requested_at`` a :class:`~airflow_provider.operators.saved_queries.PostHogRunSavedQueryOperator`
    returned), falling back to the saved query's own ``status``; without ``requested_after`` it is
    the newest run, whenever it started. Works in ``poke`` and ``reschedule`` modes, and deferrable:
    it then checks once and, if the run is still going, waits in the triggerer. The sensor only
    watches: a timeout or kill never cancels the run.

    Returns ``{"saved_query_id", "status", "job_id"}``.

    :param saved_query_id: the saved query's UUID.
    :param requested_after: follow only a run that started after this time (datetime, ISO 8601
        string or epoch seconds; templated).
    :param deferrable: wait in the triggerer instead of a worker slot
        (default ``[operators] default_deferrable``).
    :param posthog_conn_id: Airflow connection id of the PostHog connection.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    template_fields = ("saved_query_id", "requested_after", "posthog_conn_id", "project_id")
    operator_extra_links = (PostHogSavedQueryLink(),)

    def __init__(
        self,
        *,
        saved_query_id: str,
        requested_after: Any = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.saved_query_id = saved_query_id
        self.requested_after = requested_after
        self.deferrable = deferrable
        if not is_unrendered(saved_query_id):
            check_saved_query_id(saved_query_id)  # fail when the DAG is parsed
        if not is_unrendered(requested_after):
            require_timestamp("requested_after", requested_after)

    def _run_followed(self) -> SavedQueryRun:
        # Rendered values, checked before any request; bad ones fail the task without retries.
        return checked_at_execute(
            lambda: SavedQueryRun(
                check_saved_query_id(self.saved_query_id),
                require_timestamp("requested_after", self.requested_after),
            )
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """Check the run once; fail the task if it ended any way but ``Completed``.

        PostHog being unreachable, overloaded or throttling (after the client's retries) counts as
        "not done yet", like in the trigger.
        """
        run = self._run_followed()
        saved_query_id = run.saved_query_id
        try:
            state = read_run_state(self.hook, run)
        except TRANSIENT_ERRORS as error:
            # Already retried by the client; the sensor's timeout bounds how long this can go on.
            self.log.warning("Cannot read the run of saved query %s yet: %s", saved_query_id, error)
            return PokeReturnValue(is_done=False)
        if not state.terminal:
            self.log.info("Saved query %s run: %s.", saved_query_id, state.status or "not started yet")
            return PokeReturnValue(is_done=False)
        if not state.succeeded:
            raise AirflowException(describe_run(saved_query_id, state))
        self.log.info(describe_run(saved_query_id, state))
        return PokeReturnValue(
            is_done=True,
            xcom_value={"saved_query_id": saved_query_id, "status": state.status, "job_id": state.job_id},
        )

    def execute(self, context: Context) -> Any:
        run = self._run_followed()
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
                **run.trigger_kwargs(),
                deadline=time.time() + self.timeout,
                poll_interval=self.poke_interval,
                cancel_on_kill=False,
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
        if checked["status"] == EVENT_TIMEOUT:
            raise AirflowSensorTimeout(checked["message"])
        if checked["status"] != EVENT_SUCCESS:
            raise AirflowException(checked["message"])
        self.log.info(checked["message"])
        return {
            "saved_query_id": checked["saved_query_id"],
            "status": checked["run_status"],
            "job_id": checked["job_id"],
        }
