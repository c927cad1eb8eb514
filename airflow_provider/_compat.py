"""The one home of every Airflow import whose module moved between the lines we support (3.1 to 3.3).

Airflow 3.2 moved configuration, the task exceptions, the timetables DAG authors use, ``TaskInstanceKey``,
serde and the DagBag into the Task SDK (``airflow.sdk...``) or ``airflow.dag_processing``; 3.1 has them in
Airflow core. Everything else in the provider, its example DAGs and its tests imports these names from
here, never from either home (``tests/unit/test_architecture.py`` enforces it), so supporting a new line
means changing this file alone. The choice is made on Airflow's version, not on ``ImportError``, so a
broken install fails loudly instead of silently taking the old home.

Every name is imported on first use, from its home on the running line: ``from airflow_provider._compat
import conf`` loads the configuration module and nothing else, so an operator pays only for the names it
uses (the DAG processor's ``DagBag`` is heavy; no task needs it). One table, ``_HOMES``, says where each
name lives on each line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION_TEXT
from packaging.version import Version

#: The running Airflow's version, without pre-release or local parts.
AIRFLOW_VERSION = Version(Version(AIRFLOW_VERSION_TEXT).base_version)
#: Airflow 3.2 or newer: the Task SDK homes exist.
AIRFLOW_V_3_2_PLUS = Version("3.2.0") <= AIRFLOW_VERSION
#: Airflow 3.3 or newer.
AIRFLOW_V_3_3_PLUS = Version("3.3.0") <= AIRFLOW_VERSION

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.sdk.configuration import conf
    from airflow.sdk.exceptions import (
        AirflowFailException,
        AirflowRescheduleException,
        AirflowSensorTimeout,
        TaskDeferred,
    )
    from airflow.sdk.serde import deserialize, serialize
    from airflow.sdk.types import TaskInstanceKey

#: Each name and its module on each line: (3.2 and newer, 3.1).
_HOMES = {
    "AirflowFailException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowRescheduleException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowSensorTimeout": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "TaskDeferred": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "conf": ("airflow.sdk.configuration", "airflow.configuration"),
    "TaskInstanceKey": ("airflow.sdk.types", "airflow.models.taskinstancekey"),
    "CronDataIntervalTimetable": ("airflow.sdk", "airflow.timetables.interval"),
    "DagBag": ("airflow.dag_processing.dagbag", "airflow.models.dagbag"),
    "sync_bag_to_db": ("airflow.dag_processing.dagbag", "airflow.models.dagbag"),
    "serialize": ("airflow.sdk.serde", "airflow.serialization.serde"),
    "deserialize": ("airflow.sdk.serde", "airflow.serialization.serde"),
}

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "AirflowFailException",
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "CronDataIntervalTimetable",
    "DagBag",
    "TaskDeferred",
    "TaskInstanceKey",
    "conf",
    "deserialize",
    "serialize",
    "sync_bag_to_db",
]


def home_of(name: str) -> str:
    """The module a name comes from on the running line.

    :param name: one of ``__all__``'s names other than the version constants.
    """
    newer, older = _HOMES[name]
    return newer if AIRFLOW_V_3_2_PLUS else older


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home_of(name)), name)
    globals()[name] = value
    return value
