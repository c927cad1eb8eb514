"""The live suite's DAGs, in the shape of Airflow's own provider system tests.

Airflow's providers keep each system test as a DAG that creates what it needs in setup tasks, works
on it with the provider's operators, and removes it in teardown tasks that run whatever happened
before them; pytest runs the DAG with ``dag.test()`` and fails when the DAG run fails. The same here:

- :func:`read_only_dag`: the connection test, then one task per read-only check of
  :mod:`live.live_checks`. It sends only GETs.
- :func:`write_dag`: a saved query (created, run, waited for with the deferrable sensor) and a paused
  subscription (created, read back), each deleted by a teardown task, then a teardown that removes
  whatever of this run is left plus the family's stale leftovers. Airflow leaves teardowns out of a
  DAG run's state, so, as in Airflow's system tests, a ``watcher`` task downstream of every task
  fails the run when any task failed, a teardown included: a live object left behind is a failed check.

Both take the connection id, so the same DAGs run against PostHog (``make live``) and the emulator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from airflow.sdk import DAG, TriggerRule, task
from airflow.sdk.exceptions import AirflowException
from live.live_checks import (
    LIVE_QUERY,
    READ_ONLY_CHECKS,
    check_connection,
    check_subscription,
    remove_run_objects,
)

from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.saved_queries import (
    PostHogCreateOrUpdateSavedQueryOperator,
    PostHogDeleteSavedQueryOperator,
    PostHogRunSavedQueryOperator,
)
from airflow_provider.operators.subscriptions import (
    PostHogCreateSubscriptionOperator,
    PostHogDeleteSubscriptionOperator,
)
from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor

_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _check_task(check: Callable[[PostHogHook], dict[str, Any]], posthog_conn_id: str) -> Any:
    """A task named after ``check`` that runs it with a hook of ``posthog_conn_id``."""

    def run() -> dict[str, Any]:
        return check(PostHogHook(posthog_conn_id=posthog_conn_id))

    return task(task_id=check.__name__.removeprefix("check_"))(run)()


def read_only_dag(posthog_conn_id: str, dag_id: str = "posthog_live_read_only") -> DAG:
    """The read-only checks: the connection first (the others wait for it), then one task per area.

    :param posthog_conn_id: the PostHog connection to check.
    :param dag_id: the DAG's id.
    """
    with DAG(dag_id=dag_id, schedule=None, start_date=_START, catchup=False) as dag:
        connection = _check_task(check_connection, posthog_conn_id)
        for check in READ_ONLY_CHECKS:
            connection >> _check_task(check, posthog_conn_id)
    return dag


def write_dag(
    posthog_conn_id: str,
    run_name: str,
    insight_id: int,
    *,
    poll_seconds: float,
    run_timeout: float,
    dag_id: str = "posthog_live_write",
) -> DAG:
    """The write checks, every object named after ``run_name`` and removed by teardown tasks.

    :param posthog_conn_id: the PostHog connection to write with.
    :param run_name: this run's name (:func:`live.live_checks.new_run_name`).
    :param insight_id: the insight the subscription delivers (PostHog requires an insight, a
        dashboard or an AI prompt; AI prompts need PostHog Cloud, the organization's consent and a
        feature flag, so an insight is the shape every project accepts).
    :param poll_seconds: seconds between checks of the saved query's run.
    :param run_timeout: seconds to wait for the run before failing.
    :param dag_id: the DAG's id.
    """
    with DAG(dag_id=dag_id, schedule=None, start_date=_START, catchup=False) as dag:
        common: dict[str, Any] = {"posthog_conn_id": posthog_conn_id}
        create_view = PostHogCreateOrUpdateSavedQueryOperator(
            task_id="create_view", name=f"{run_name}_view", query=LIVE_QUERY, outlets=[], **common
        )
        # The operators return dicts; a template reads one value of them (``output["id"]`` would name
        # an XCom key, not an item of the returned value).
        view_id = "{{ ti.xcom_pull(task_ids='create_view')['id'] }}"
        run_view = PostHogRunSavedQueryOperator(
            task_id="run_view", saved_query_id=view_id, wait_for_completion=False, outlets=[], **common
        )
        wait_for_run = PostHogSavedQuerySensor(
            task_id="wait_for_run",
            saved_query_id=view_id,
            requested_after="{{ ti.xcom_pull(task_ids='run_view')['requested_at'] }}",
            deferrable=True,
            poke_interval=poll_seconds,
            timeout=run_timeout,
            **common,
        )
        delete_view = PostHogDeleteSavedQueryOperator(
            task_id="delete_view", saved_query_id=view_id, outlets=[], **common
        )
        create_view >> run_view >> wait_for_run >> delete_view.as_teardown(setups=create_view)

        create_subscription = PostHogCreateSubscriptionOperator(
            task_id="create_subscription",
            insight=insight_id,
            target_type="email",
            # A unique address at a domain reserved for examples (RFC 2606): nobody receives mail there.
            target_value=f"{run_name}@example.com",
            frequency="daily",
            interval=1,
            title=run_name,
            # Paused: PostHog then starts no delivery workflow and sends no invitation email.
            enabled=False,
            **common,
        )

        @task
        def read_subscription(subscription_id: Any) -> dict[str, Any]:
            return check_subscription(
                PostHogHook(posthog_conn_id=posthog_conn_id), subscription_id, run_name, insight_id
            )

        delete_subscription = PostHogDeleteSubscriptionOperator(
            task_id="delete_subscription", subscription_id=create_subscription.output, **common
        )
        (
            read_subscription(create_subscription.output)
            >> delete_subscription.as_teardown(setups=create_subscription)
        )

        @task
        def remove_this_run_and_stale_leftovers() -> list[str]:
            return remove_run_objects(PostHogHook(posthog_conn_id=posthog_conn_id), run_name)

        [delete_view, delete_subscription] >> remove_this_run_and_stale_leftovers().as_teardown(
            setups=[create_view, create_subscription]
        )
        _watch(dag)
    return dag


def _watch(dag: DAG) -> None:
    """Add a task that fails when any task of ``dag`` (but a setup) failed or could not run.

    Setups are left out: Airflow allows only ``all_success`` tasks after a setup. A failed setup
    leaves the tasks after it ``upstream_failed``, which ``one_failed`` counts too.
    """

    @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
    def watcher() -> None:
        raise AirflowException("A check or a cleanup of the live suite failed: see the failed tasks.")

    [watched for watched in dag.tasks if not watched.is_setup] >> watcher()
