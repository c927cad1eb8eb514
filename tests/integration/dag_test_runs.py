"""Run a DAG defined inside a test with real Airflow (``dag.test()``) and read back its task instances.

``dag.test()`` needs the DAG serialized in the metadata database; DAGs from ``example_dags`` are
synced by Airflow itself, one built in a test is written here first.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from typing import Any

from airflow.sdk import DAG, BaseOperator, chain


def run_dag(dag: DAG, **test_kwargs: Any) -> Any:
    """Serialize ``dag`` into the metadata database and run it once; return the DagRun.

    :param dag: a DAG built in the test.
    :param test_kwargs: passed to ``dag.test()`` (e.g. ``logical_date``).
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    from airflow_provider._compat import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    with tempfile.TemporaryDirectory() as empty_folder:
        bag = DagBag(dag_folder=empty_folder)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test(**test_kwargs)


def run_operators(*operators: BaseOperator, dag_id_prefix: str = "test") -> Any:
    """Run ``operators`` in order, as the tasks of a fresh unscheduled DAG; return the DagRun.

    :param operators: operators built outside any DAG, in the order they should run.
    :param dag_id_prefix: start of the generated DAG id (a random suffix keeps runs apart).
    """
    with DAG(
        dag_id=f"{dag_id_prefix}_{uuid.uuid4().hex[:8]}",
        schedule=None,
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    ) as dag:
        for operator in operators:
            dag.add_task(operator)
        chain(*operators)
    return run_dag(dag)


def task_states(dag_run: Any) -> dict[str, str]:
    """Each task's final state, by task id.

    :param dag_run: what ``dag.test()`` returned.
    """
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def task_instance(dag_run: Any, task_id: str) -> Any:
    """The task instance of ``task_id`` in ``dag_run`` (for ``xcom_pull`` and ``try_number``).

    :param dag_run: what ``dag.test()`` returned.
    :param task_id: the task.
    """
    return next(ti for ti in dag_run.get_task_instances() if ti.task_id == task_id)
